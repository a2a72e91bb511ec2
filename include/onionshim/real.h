/*
 * real - the libc functions that the hooks stand in front of, resolved once
 * with dlsym(RTLD_NEXT). A resolution that finds this library's own code
 * (loaded twice, or a broken link order) is refused, so a hook can never
 * call itself.
 *
 * onionshim_real_init() runs from the constructor (and from the first hook
 * if another library's constructor calls one earlier); it is idempotent
 * and thread-safe. After it, every pointer is valid: a missing one is
 * replaced by a stub that fails with ENOSYS, so callers need no checks.
 */
#ifndef ONIONSHIM_REAL_H
#define ONIONSHIM_REAL_H

#include <netdb.h>
#include <sys/socket.h>

struct onionshim_real_fns {
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t,
			       struct hostent **, int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
				struct hostent **, int *);
};

extern struct onionshim_real_fns onionshim_real;

/*
 * onionshim_real_init - resolve every function once. Returns 0, or -ENOSYS
 * when one could not be resolved (its stub fails with ENOSYS); the names
 * that failed are written to WHY (may be NULL).
 */
int onionshim_real_init(char *why, size_t whylen);

/* onionshim_real_connect - connect() of libc, resolving it if needed. */
int onionshim_real_connect(int fd, const struct sockaddr *sa, socklen_t len);

#endif
