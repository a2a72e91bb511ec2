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
#include <resolv.h>
#include <sys/socket.h>

struct onionshim_real_fns {
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*shutdown)(int, int);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t,
			       struct hostent **, int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
				struct hostent **, int *);
	struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
	int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t,
			       struct hostent **, int *);
	int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *,
			   socklen_t, int);
	int (*getaddrinfo_a)(int, struct gaicb **, int, struct sigevent *);
	int (*res_nquery)(res_state, const char *, int, int, unsigned char *, int);
	int (*res_nsearch)(res_state, const char *, int, int, unsigned char *, int);
	int (*res_nquerydomain)(res_state, const char *, const char *, int, int,
				unsigned char *, int);
	int (*res_nsend)(res_state, const unsigned char *, int, unsigned char *, int);
	int (*res_query)(const char *, int, int, unsigned char *, int);
	int (*res_search)(const char *, int, int, unsigned char *, int);
	int (*res_querydomain)(const char *, const char *, int, int, unsigned char *, int);
	int (*res_send)(const unsigned char *, int, unsigned char *, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
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
