/*
 * NAME
 *	real - resolve the real libc functions behind the hooks
 * DESCRIPTION
 *	Each function is looked up with dlsym(RTLD_NEXT) on its first call,
 *	not at start-up: a process pays only for what it uses (a lookup
 *	costs some 800 instructions, and most programs call a handful of
 *	the 27). Until then its pointer holds a trampoline that looks it up,
 *	stores the address (an atomic store: threads may race to do it, and
 *	store the same value) and calls it. An address inside this library
 *	is our own hook, found because the library is loaded twice or
 *	preloaded in an odd order, and is refused. Refused or missing
 *	functions get a stub that fails with ENOSYS, and the reporter set
 *	with onionshim_real_set_reporter() is told once: a hook must never
 *	call itself, and never fall through to an unknown function.
 * NEVER
 *	allocates; calls no hooked function.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "onionshim/real.h"

/*
 * The stubs for missing functions. Those that read no argument serve every
 * function of their return type: the trampolines call them through the
 * real function's pointer (see LAZY below).
 */
static int stub_gethostbyname_r(const char *n, struct hostent *h, char *b, size_t bl,
				struct hostent **r, int *e)
{
	(void)n, (void)h, (void)b, (void)bl;
	*r = NULL;
	*e = NO_RECOVERY;
	return ENOSYS;
}

static int stub_gethostbyname2_r(const char *n, int af, struct hostent *h, char *b,
				 size_t bl, struct hostent **r, int *e)
{
	(void)af;
	return stub_gethostbyname_r(n, h, b, bl, r, e);
}

static int stub_int(void)
{
	errno = ENOSYS;
	return -1;
}

static struct hostent *stub_hostent(void)
{
	h_errno = NO_RECOVERY;
	return NULL;
}

static int stub_eai(void)
{
	errno = ENOSYS;
	return EAI_SYSTEM;
}

static int stub_r(void)
{
	return ENOSYS;
}

static void (*reporter)(const char *name);

/* <resolv.h>, through real.h, defines p_type as a function name */
#undef p_type

/* Where this library's own code lies: found once, then a comparison. */
static uintptr_t self_lo, self_hi;

static int
find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (me < lo || me >= hi)
		return 0;
	self_lo = lo;
	self_hi = hi;
	return 1;
}

/*
 * resolve - dlsym NAME, refusing an address inside this very library.
 * (dladdr per symbol would cost some 50,000 instructions each.)
 */
static void
find_self_once(void)
{
	dl_iterate_phdr(find_self, (void *)(uintptr_t)find_self_once);
}

static void *
resolve(const char *name)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uintptr_t p;

	pthread_once(&once, find_self_once);
	p = (uintptr_t)dlsym(RTLD_NEXT, name);
	if (p == 0 || (p >= self_lo && p < self_hi))
		return NULL;
	return (void *)p;
}

/*
 * settle - look NAME up and store it in *SLOT, or STUB when it is missing
 * or our own (and tell the reporter). Keeps errno.
 */
static void
settle(void **slot, const char *name, void (*stub)(void))
{
	int saved = errno;
	void *p = resolve(name);

	if (p == NULL) {
		p = (void *)stub;
		if (reporter != NULL)
			reporter(name);
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	errno = saved;
}

/*
 * LAZY(ret, name, params, args, stub) - the trampoline first_NAME: settle
 * the pointer, then call through it. A stub of another signature is
 * called through the pointer: every caller in this library passes the
 * real arguments and reads only the return value and errno, which the
 * x86-64 and aarch64 calling conventions keep safe; the stubs never read
 * their arguments.
 */
#define LAZY(ret, name, params, args, stub)					\
static ret first_##name params							\
{										\
	settle((void **)&onionshim_real.name, #name, (void (*)(void))(stub));	\
	return ONIONSHIM_REAL(name) args;					\
}

LAZY(int, connect, (int fd, const struct sockaddr *sa, socklen_t l), (fd, sa, l),
     stub_int)
LAZY(int, getpeername, (int fd, struct sockaddr *sa, socklen_t *l), (fd, sa, l),
     stub_int)
LAZY(int, shutdown, (int fd, int how), (fd, how), stub_int)
LAZY(int, getaddrinfo, (const char *n, const char *s, const struct addrinfo *h,
			struct addrinfo **r), (n, s, h, r), stub_eai)
LAZY(struct hostent *, gethostbyname, (const char *n), (n), stub_hostent)
LAZY(struct hostent *, gethostbyname2, (const char *n, int af), (n, af), stub_hostent)
LAZY(int, gethostbyname_r, (const char *n, struct hostent *h, char *b, size_t bl,
			    struct hostent **r, int *e), (n, h, b, bl, r, e), stub_gethostbyname_r)
LAZY(int, gethostbyname2_r, (const char *n, int af, struct hostent *h, char *b, size_t bl,
			     struct hostent **r, int *e), (n, af, h, b, bl, r, e),
     stub_gethostbyname2_r)
LAZY(struct hostent *, gethostbyaddr, (const void *a, socklen_t l, int t), (a, l, t),
     stub_hostent)
LAZY(int, gethostbyaddr_r, (const void *a, socklen_t l, int t, struct hostent *h, char *b,
			    size_t bl, struct hostent **r, int *e), (a, l, t, h, b, bl, r, e), stub_r)
LAZY(int, getnameinfo, (const struct sockaddr *sa, socklen_t l, char *h, socklen_t hl,
			char *s, socklen_t sl, int f), (sa, l, h, hl, s, sl, f), stub_eai)
LAZY(int, getaddrinfo_a, (int m, struct gaicb **list, int n, struct sigevent *sev),
     (m, list, n, sev), stub_eai)
LAZY(int, res_nquery, (res_state st, const char *d, int c, int t, unsigned char *a, int al),
     (st, d, c, t, a, al), stub_int)
LAZY(int, res_nsearch, (res_state st, const char *d, int c, int t, unsigned char *a, int al),
     (st, d, c, t, a, al), stub_int)
LAZY(int, res_nquerydomain, (res_state st, const char *n, const char *d, int c, int t,
			     unsigned char *a, int al), (st, n, d, c, t, a, al), stub_int)
LAZY(int, res_nsend, (res_state st, const unsigned char *m, int ml, unsigned char *a, int al),
     (st, m, ml, a, al), stub_int)
LAZY(int, res_query, (const char *d, int c, int t, unsigned char *a, int al),
     (d, c, t, a, al), stub_int)
LAZY(int, res_search, (const char *d, int c, int t, unsigned char *a, int al),
     (d, c, t, a, al), stub_int)
LAZY(int, res_querydomain, (const char *n, const char *d, int c, int t, unsigned char *a,
			    int al), (n, d, c, t, a, al), stub_int)
LAZY(int, res_send, (const unsigned char *m, int ml, unsigned char *a, int al),
     (m, ml, a, al), stub_int)
LAZY(ssize_t, sendto, (int fd, const void *b, size_t n, int f, const struct sockaddr *sa,
		       socklen_t l), (fd, b, n, f, sa, l), stub_int)
LAZY(ssize_t, sendmsg, (int fd, const struct msghdr *m, int f), (fd, m, f), stub_int)
LAZY(int, sendmmsg, (int fd, struct mmsghdr *v, unsigned int n, int f), (fd, v, n, f),
     stub_int)
LAZY(int, listen, (int fd, int n), (fd, n), stub_int)
LAZY(int, accept, (int fd, struct sockaddr *sa, socklen_t *l), (fd, sa, l), stub_int)
LAZY(int, accept4, (int fd, struct sockaddr *sa, socklen_t *l, int f), (fd, sa, l, f),
     stub_int)

struct onionshim_real_fns onionshim_real = {
	.connect = first_connect,
	.getpeername = first_getpeername,
	.shutdown = first_shutdown,
	.getaddrinfo = first_getaddrinfo,
	.gethostbyname = first_gethostbyname,
	.gethostbyname2 = first_gethostbyname2,
	.gethostbyname_r = first_gethostbyname_r,
	.gethostbyname2_r = first_gethostbyname2_r,
	.gethostbyaddr = first_gethostbyaddr,
	.gethostbyaddr_r = first_gethostbyaddr_r,
	.getnameinfo = first_getnameinfo,
	.getaddrinfo_a = first_getaddrinfo_a,
	.res_nquery = first_res_nquery,
	.res_nsearch = first_res_nsearch,
	.res_nquerydomain = first_res_nquerydomain,
	.res_nsend = first_res_nsend,
	.res_query = first_res_query,
	.res_search = first_res_search,
	.res_querydomain = first_res_querydomain,
	.res_send = first_res_send,
	.sendto = first_sendto,
	.sendmsg = first_sendmsg,
	.sendmmsg = first_sendmmsg,
	.listen = first_listen,
	.accept = first_accept,
	.accept4 = first_accept4,
};

void
onionshim_real_set_reporter(void (*fn)(const char *name))
{
	reporter = fn;
}
