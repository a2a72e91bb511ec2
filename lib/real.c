/*
 * NAME
 *	real - resolve the real libc functions behind the hooks
 * DESCRIPTION
 *	Each function is looked up once with dlsym(RTLD_NEXT). dladdr()
 *	tells which object the address lives in; an address inside this
 *	library is our own hook, found because the library is loaded twice
 *	or preloaded in an odd order, and is refused. Refused or missing
 *	functions get a stub that fails with ENOSYS: a hook must never call
 *	itself, and never fall through to an unknown function.
 * RETURNS
 *	onionshim_real_init: 0, or -ENOSYS naming what is missing.
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

struct onionshim_real_fns onionshim_real;

static int stub_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	(void)fd, (void)sa, (void)len;
	errno = ENOSYS;
	return -1;
}

static int stub_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	(void)fd, (void)sa, (void)len;
	errno = ENOSYS;
	return -1;
}

static int stub_getaddrinfo(const char *n, const char *s, const struct addrinfo *h,
			    struct addrinfo **r)
{
	(void)n, (void)s, (void)h, (void)r;
	return EAI_SYSTEM;
}

static struct hostent *stub_gethostbyname(const char *n)
{
	(void)n;
	h_errno = NO_RECOVERY;
	return NULL;
}

static struct hostent *stub_gethostbyname2(const char *n, int af)
{
	(void)n, (void)af;
	h_errno = NO_RECOVERY;
	return NULL;
}

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

static int real_status;
static char real_missing[256];

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
 * (dladdr per symbol would cost some 50,000 instructions each at start-up.)
 */
static void *
resolve(const char *name)
{
	uintptr_t p = (uintptr_t)dlsym(RTLD_NEXT, name);

	if (p == 0 || (p >= self_lo && p < self_hi))
		return NULL;
	return (void *)p;
}

/*
 * A stub of another signature is called through the pointer: every caller
 * in this library passes the real arguments and reads only the return
 * value and errno, which the x86-64 and aarch64 calling conventions keep
 * safe; the stubs never read their arguments.
 */
#define RESOLVE_ANY(field, stub) RESOLVE(field, (__typeof__(onionshim_real.field))(void (*)(void))(stub))

#define RESOLVE(field, stub) do {					\
	void *p_ = resolve(#field);					\
	if (p_ == NULL) {						\
		size_t l_ = strlen(real_missing);			\
		snprintf(real_missing + l_, sizeof(real_missing) - l_,	\
			 "%s%s", l_ ? " " : "", #field);		\
		onionshim_real.field = stub;				\
	} else {							\
		*(void **)&onionshim_real.field = p_;			\
	}								\
} while (0)

static void
real_init_once(void)
{
	dl_iterate_phdr(find_self, (void *)(uintptr_t)resolve);
	RESOLVE(connect, stub_connect);
	RESOLVE(getpeername, stub_getpeername);
	RESOLVE_ANY(shutdown, stub_int);
	RESOLVE(getaddrinfo, stub_getaddrinfo);
	RESOLVE(gethostbyname, stub_gethostbyname);
	RESOLVE(gethostbyname2, stub_gethostbyname2);
	RESOLVE(gethostbyname_r, stub_gethostbyname_r);
	RESOLVE(gethostbyname2_r, stub_gethostbyname2_r);
	RESOLVE_ANY(gethostbyaddr, stub_hostent);
	RESOLVE_ANY(gethostbyaddr_r, stub_r);
	RESOLVE_ANY(getnameinfo, stub_eai);
	RESOLVE_ANY(getaddrinfo_a, stub_eai);
	RESOLVE_ANY(res_nquery, stub_int);
	RESOLVE_ANY(res_nsearch, stub_int);
	RESOLVE_ANY(res_nquerydomain, stub_int);
	RESOLVE_ANY(res_nsend, stub_int);
	RESOLVE_ANY(res_query, stub_int);
	RESOLVE_ANY(res_search, stub_int);
	RESOLVE_ANY(res_querydomain, stub_int);
	RESOLVE_ANY(res_send, stub_int);
	RESOLVE_ANY(sendto, stub_int);
	RESOLVE_ANY(sendmsg, stub_int);
	RESOLVE_ANY(sendmmsg, stub_int);
	RESOLVE_ANY(listen, stub_int);
	RESOLVE_ANY(accept, stub_int);
	RESOLVE_ANY(accept4, stub_int);
	real_status = real_missing[0] ? -ENOSYS : 0;
}

int
onionshim_real_init(char *why, size_t whylen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int saved = errno;

	pthread_once(&once, real_init_once);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", real_missing);
	errno = saved;
	return real_status;
}

int
onionshim_real_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (onionshim_real.connect == NULL)
		onionshim_real_init(NULL, 0);
	return onionshim_real.connect(fd, sa, len);
}
