/*
 * gaicmp - onionshim's getaddrinfo() answer for a diverted name, set
 * against libc's own answer for the fake address, across every
 * combination of family, socket type, protocol, service and flags an MTA
 * (or anything else) might pass.
 *
 * usage: gaicmp NAME		(run with libonionshim.so preloaded)
 *
 * For each combination, the expected answer is libc's getaddrinfo (found
 * with dlopen, past the preload) on the numeric fake address with
 * AI_NUMERICHOST (and the caller's AI_NUMERICSERV), its canonical name
 * replaced by NAME when AI_CANONNAME was asked: the library's contract.
 * Both lists are compared entry by entry (flags, family, socket type,
 * protocol, address length and bytes, canonical name) and both are freed
 * with freeaddrinfo. Prints one line per difference and a summary
 * "compared=N differ=M"; exits 0 when nothing differed.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static gai_fn libc_gai;
static unsigned compared, differ;

static const char *
show(const char *s)
{
	return s ? s : "(null)";
}

static void
report(const char *what, int family, int socktype, int protocol, const char *svc, int flags)
{
	differ++;
	printf("differ: %s (family %d socktype %d protocol %d service %s%s%s flags %#x)\n", what,
	       family, socktype, protocol, svc ? "\"" : "", show(svc), svc ? "\"" : "", flags);
}

static int
same_entry(const struct addrinfo *a, const struct addrinfo *b)
{
	return a->ai_flags == b->ai_flags && a->ai_family == b->ai_family &&
	       a->ai_socktype == b->ai_socktype && a->ai_protocol == b->ai_protocol &&
	       a->ai_addrlen == b->ai_addrlen && memcmp(a->ai_addr, b->ai_addr, a->ai_addrlen) == 0 &&
	       (a->ai_canonname == NULL) == (b->ai_canonname == NULL) &&
	       (a->ai_canonname == NULL || strcmp(a->ai_canonname, b->ai_canonname) == 0);
}

static void
compare(const char *name, const char *fake4, const char *fake6, int family, int socktype,
	int protocol, const char *svc, int flags)
{
	struct addrinfo h = { .ai_family = family, .ai_socktype = socktype,
			      .ai_protocol = protocol, .ai_flags = flags };
	struct addrinfo x = { .ai_family = family == AF_INET6 ? AF_INET6 : AF_INET,
			      .ai_socktype = socktype, .ai_protocol = protocol,
			      .ai_flags = AI_NUMERICHOST | (flags & AI_NUMERICSERV) };
	struct addrinfo *got = NULL, *want = NULL, *g, *w;
	char *canon = NULL;
	int rg, rw;

	compared++;
	rg = getaddrinfo(name, svc, &h, &got);
	rw = libc_gai(family == AF_INET6 ? fake6 : fake4, svc, &x, &want);
	if (rw == 0 && (flags & AI_CANONNAME)) {
		canon = want->ai_canonname;
		want->ai_canonname = (char *)name;
	}
	if (rg != rw) {
		char what[96];

		snprintf(what, sizeof(what), "return %d, libc %d", rg, rw);
		report(what, family, socktype, protocol, svc, flags);
	} else if (rg == 0) {
		for (g = got, w = want; g && w; g = g->ai_next, w = w->ai_next)
			if (!same_entry(g, w))
				break;
		if (g || w)
			report("the lists differ", family, socktype, protocol, svc, flags);
	}
	if (rw == 0 && (flags & AI_CANONNAME))
		want->ai_canonname = canon;
	if (rg == 0)
		freeaddrinfo(got);
	if (rw == 0)
		freeaddrinfo(want);
}

/* fake - the library's numeric answer for NAME in FAMILY. */
static int
fake(const char *name, int family, char *out, size_t outlen)
{
	struct addrinfo h = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *r;
	const void *a;

	if (getaddrinfo(name, NULL, &h, &r) != 0)
		return -1;
	a = family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)r->ai_addr)->sin6_addr :
				 (const void *)&((struct sockaddr_in *)r->ai_addr)->sin_addr;
	inet_ntop(family, a, out, (socklen_t)outlen);
	freeaddrinfo(r);
	return 0;
}

int
main(int argc, char **argv)
{
	static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6 };
	static const int socktypes[] = { 0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
	static const int protocols[] = { 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	static const char *const services[] = { NULL, "0", "25", "65535", "65536", "smtp", "",
						" 25", "-1", "025", "123456", "25x" };
	static const int flagsets[] = { 0, AI_CANONNAME, AI_NUMERICSERV,
					AI_CANONNAME | AI_NUMERICSERV, AI_ADDRCONFIG | AI_V4MAPPED,
					AI_PASSIVE | AI_ALL };
	char fake4[INET6_ADDRSTRLEN], fake6[INET6_ADDRSTRLEN];
	void *libc;
	size_t f, t, p, s, g;

	if (argc != 2) {
		fprintf(stderr, "usage: gaicmp NAME\n");
		return 2;
	}
	libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	libc_gai = libc ? (gai_fn)(void (*)(void))dlsym(libc, "getaddrinfo") : NULL;
	if (libc_gai == NULL || (void *)libc_gai == (void *)getaddrinfo) {
		printf("error=cannot find libc's own getaddrinfo\n");
		return 1;
	}
	if (fake(argv[1], AF_INET, fake4, sizeof(fake4)) < 0 ||
	    fake(argv[1], AF_INET6, fake6, sizeof(fake6)) < 0) {
		printf("error=%s does not resolve\n", argv[1]);
		return 1;
	}
	printf("fake4=%s\nfake6=%s\n", fake4, fake6);
	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (t = 0; t < sizeof(socktypes) / sizeof(socktypes[0]); t++)
			for (p = 0; p < sizeof(protocols) / sizeof(protocols[0]); p++)
				for (s = 0; s < sizeof(services) / sizeof(services[0]); s++)
					for (g = 0; g < sizeof(flagsets) / sizeof(flagsets[0]); g++)
						compare(argv[1], fake4, fake6, families[f],
							socktypes[t], protocols[p], services[s],
							flagsets[g]);
	printf("compared=%u differ=%u\n", compared, differ);
	return differ == 0 ? 0 : 1;
}
