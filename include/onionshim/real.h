/*
 * real - the libc functions that the hooks stand in front of, each resolved
 * with dlsym(RTLD_NEXT) on its first call. A resolution that finds this
 * library's own code (loaded twice, or a broken link order) is refused, so
 * a hook can never call itself.
 *
 * Every pointer is valid at any time, even before the constructor: it
 * starts as a trampoline that resolves the function and calls it, and a
 * missing function is replaced by a stub that fails with ENOSYS, so
 * callers need no checks. Call through ONIONSHIM_REAL(name): the pointer
 * may change once, under other threads' feet.
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

/* ONIONSHIM_REAL(name) - the real NAME, to call. */
#define ONIONSHIM_REAL(name) (__atomic_load_n(&onionshim_real.name, __ATOMIC_ACQUIRE))

/*
 * onionshim_real_set_reporter - FN(name) is called once for each function
 * that turns out to be missing (its stub is in place by then).
 */
void onionshim_real_set_reporter(void (*fn)(const char *name));

#endif
