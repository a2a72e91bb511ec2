/*
 * resolver - call one libc resolver entry point the way an MTA does and
 * print what came back as key=value lines, for the resolver and leak tests.
 *
 * usage: resolver FUNC NAME [TYPE]
 *   FUNC: res_query res_search res_querydomain res_send res_nquery res_nsearch
 *         res_nquerydomain res_nsend, the same with a "__" prefix (looked up
 *         with dlsym: glibc keeps those only as compat symbols), getaddrinfo
 *         (with -f unspec|inet|inet6|null|numeric|canon), gethostbyname,
 *         gethostbyname2, gethostbyname_r, gethostbyname2_r, gethostbyaddr,
 *         getnameinfo (NAME is then an address), getaddrinfo_a
 *   TYPE: a, aaaa, mx, txt (default mx)
 * res_querydomain splits NAME at its first dot into name and domain;
 * res_send builds the query with res_mkquery (id 0x4242, with an EDNS0 OPT
 * record when TYPE ends in "+edns").
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dlfcn.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*query_fn)(const char *, int, int, unsigned char *, int);
typedef int (*nquery_fn)(res_state, const char *, int, int, unsigned char *, int);
typedef int (*qdom_fn)(const char *, const char *, int, int, unsigned char *, int);
typedef int (*nqdom_fn)(res_state, const char *, const char *, int, int, unsigned char *, int);
typedef int (*send_fn)(const unsigned char *, int, unsigned char *, int);
typedef int (*nsend_fn)(res_state, const unsigned char *, int, unsigned char *, int);

static const char *
herr_name(int e)
{
	switch (e) {
	case NETDB_SUCCESS: return "0";
	case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
	case TRY_AGAIN: return "TRY_AGAIN";
	case NO_RECOVERY: return "NO_RECOVERY";
	case NO_DATA: return "NO_DATA";
	default: return "OTHER";
	}
}

static void
print_answer(const unsigned char *ans, int len)
{
	ns_msg msg;
	ns_rr rr;
	char name[NS_MAXDNAME], a[INET6_ADDRSTRLEN];
	int i;

	printf("len=%d\n", len);
	if (len < NS_HFIXEDSZ)
		return;
	printf("id=%u\n", (ans[0] << 8) | ans[1]);
	printf("ad=%d\n", (ans[3] >> 5) & 1);
	printf("rcode=%d\n", ans[3] & 15);
	if (ns_initparse(ans, len, &msg) < 0) {
		printf("parse=bad\n");
		return;
	}
	printf("ancount=%d\n", ns_msg_count(msg, ns_s_an));
	if (ns_parserr(&msg, ns_s_qd, 0, &rr) == 0)
		printf("question=%s\n", ns_rr_name(rr));
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		switch ((int)ns_rr_type(rr)) {
		case ns_t_mx:
			dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, name,
				  sizeof(name));
			printf("mx=%s\n", name);
			break;
		case ns_t_a:
			printf("a=%s\n", inet_ntop(AF_INET, ns_rr_rdata(rr), a, sizeof(a)));
			break;
		case ns_t_aaaa:
			printf("aaaa=%s\n", inet_ntop(AF_INET6, ns_rr_rdata(rr), a, sizeof(a)));
			break;
		default:
			break;
		}
	}
	printf("arcount=%d\n", ns_msg_count(msg, ns_s_ar));
}

static int
qtype(const char *t)
{
	if (strncmp(t, "aaaa", 4) == 0) return ns_t_aaaa;
	if (strncmp(t, "a", 1) == 0) return ns_t_a;
	if (strncmp(t, "txt", 3) == 0) return ns_t_txt;
	return ns_t_mx;
}

static void *
sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	if (p == NULL) {
		printf("symbol=missing\n");
		exit(3);
	}
	return p;
}

static int
res_family(const char *fn, const char *name, const char *type)
{
	unsigned char ans[2048], q[512];
	const char *f = fn[0] == '_' ? fn + 2 : fn;
	int t = qtype(type), n = -1, qlen;
	struct __res_state st;
	char buf[256], *dom;

	res_init();
	memset(&st, 0, sizeof(st));
	res_ninit(&st);
	st.res_h_errno = -1;
	h_errno = -1;
	snprintf(buf, sizeof(buf), "%s", name);
	dom = strchr(buf, '.');
	if (dom)
		*dom++ = '\0';
	if (strcmp(f, "res_query") == 0)
		n = ((query_fn)sym(fn))(name, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_search") == 0)
		n = ((query_fn)sym(fn))(name, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_querydomain") == 0)
		n = ((qdom_fn)sym(fn))(buf, dom, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_nquery") == 0)
		n = ((nquery_fn)sym(fn))(&st, name, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_nsearch") == 0)
		n = ((nquery_fn)sym(fn))(&st, name, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_nquerydomain") == 0)
		n = ((nqdom_fn)sym(fn))(&st, buf, dom, ns_c_in, t, ans, sizeof(ans));
	else if (strcmp(f, "res_send") == 0 || strcmp(f, "res_nsend") == 0) {
		qlen = res_mkquery(ns_o_query, name, ns_c_in, t, NULL, 0, NULL, q, sizeof(q));
		if (qlen < 0)
			return 2;
		q[0] = 0x42;
		q[1] = 0x42;
		if (strstr(type, "+edns") && qlen + 11 <= (int)sizeof(q)) {
			static const unsigned char opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };

			memcpy(q + qlen, opt, sizeof(opt));
			qlen += sizeof(opt);
			q[11] = 1;	/* ARCOUNT */
		}
		if (strcmp(f, "res_send") == 0)
			n = ((send_fn)sym(fn))(q, qlen, ans, sizeof(ans));
		else
			n = ((nsend_fn)sym(fn))(&st, q, qlen, ans, sizeof(ans));
	} else {
		return 2;
	}
	printf("rc=%d\n", n < 0 ? -1 : 0);
	printf("h_errno=%s\n", herr_name(h_errno));
	if (f[4] == 'n')
		printf("res_h_errno=%s\n", herr_name(st.res_h_errno));
	if (n > 0)
		print_answer(ans, n);
	return 0;
}

static int
addrinfo_family(const char *name, const char *mode)
{
	struct addrinfo h, *res, *ai;
	char a[INET6_ADDRSTRLEN];
	int rc, n = 0;

	memset(&h, 0, sizeof(h));
	h.ai_socktype = SOCK_STREAM;
	if (strcmp(mode, "inet") == 0) h.ai_family = AF_INET;
	if (strcmp(mode, "inet6") == 0) h.ai_family = AF_INET6;
	if (strcmp(mode, "numeric") == 0) h.ai_flags = AI_NUMERICHOST;
	if (strcmp(mode, "canon") == 0) h.ai_flags = AI_CANONNAME;
	rc = getaddrinfo(name, "25", strcmp(mode, "null") == 0 ? NULL : &h, &res);
	printf("rc=%s\n", rc == 0 ? "0" : rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_NONAME ?
	       "EAI_NONAME" : rc == EAI_FAIL ? "EAI_FAIL" : gai_strerror(rc));
	if (rc != 0)
		return 0;
	for (ai = res; ai; ai = ai->ai_next, n++) {
		const void *p = ai->ai_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		printf("addr=%s\n", inet_ntop(ai->ai_family, p, a, sizeof(a)));
	}
	if (res->ai_canonname)
		printf("canon=%s\n", res->ai_canonname);
	printf("count=%d\n", n);
	freeaddrinfo(res);
	return 0;
}

static int
hostent_family(const char *fn, const char *name)
{
	struct hostent he, *hp = NULL;
	char buf[2048], a[INET6_ADDRSTRLEN];
	int herr = 0;

	h_errno = 0;
	if (strcmp(fn, "gethostbyname") == 0) {
		hp = gethostbyname(name);
		herr = h_errno;
	} else if (strcmp(fn, "gethostbyname2") == 0) {
		hp = gethostbyname2(name, AF_INET);
		herr = h_errno;
	} else if (strcmp(fn, "gethostbyname_r") == 0) {
		gethostbyname_r(name, &he, buf, sizeof(buf), &hp, &herr);
	} else if (strcmp(fn, "gethostbyname2_r") == 0) {
		gethostbyname2_r(name, AF_INET6, &he, buf, sizeof(buf), &hp, &herr);
	} else if (strcmp(fn, "gethostbyaddr") == 0) {
		unsigned char addr[16];
		int af = strchr(name, ':') ? AF_INET6 : AF_INET;

		inet_pton(af, name, addr);
		hp = gethostbyaddr(addr, af == AF_INET ? 4 : 16, af);
		herr = h_errno;
	} else {
		return 2;
	}
	printf("h_errno=%s\n", hp ? "0" : herr_name(herr));
	if (hp) {
		printf("h_name=%s\n", hp->h_name);
		printf("addr=%s\n", inet_ntop(hp->h_addrtype, hp->h_addr_list[0], a, sizeof(a)));
	}
	return 0;
}

static int
nameinfo(const char *addr, const char *mode)
{
	struct sockaddr_storage ss;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t len;
	int rc, flags = 0;
	size_t hostlen = sizeof(host);

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(25);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(25);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if (strcmp(mode, "numeric") == 0) flags = NI_NUMERICHOST;
	if (strcmp(mode, "namereqd") == 0) flags = NI_NAMEREQD;
	if (strcmp(mode, "small") == 0) hostlen = 10;
	rc = getnameinfo((struct sockaddr *)&ss, len, host, hostlen, serv, sizeof(serv),
			 flags | NI_NUMERICSERV);
	printf("rc=%s\n", rc == 0 ? "0" : rc == EAI_OVERFLOW ? "EAI_OVERFLOW" : rc == EAI_AGAIN ?
	       "EAI_AGAIN" : rc == EAI_NONAME ? "EAI_NONAME" : gai_strerror(rc));
	if (rc == 0)
		printf("host=%s\nserv=%s\n", host, serv);
	return 0;
}

static int
addrinfo_a(const char *name)
{
	struct gaicb cb = { .ar_name = name, .ar_service = "25" }, *list[1] = { &cb };
	int rc = getaddrinfo_a(GAI_WAIT, list, 1, NULL);

	printf("rc=%s\n", rc == 0 ? "0" : rc == EAI_AGAIN ? "EAI_AGAIN" : gai_strerror(rc));
	if (rc == 0) {
		rc = gai_error(&cb);
		printf("gai_error=%s\n", rc == 0 ? "0" : rc == EAI_AGAIN ? "EAI_AGAIN" :
		       gai_strerror(rc));
		if (rc == 0)
			freeaddrinfo(cb.ar_result);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *fn, *name, *arg;

	if (argc < 3)
		return 2;
	fn = argv[1];
	name = argv[2];
	arg = argc > 3 ? argv[3] : "";
	if (strstr(fn, "res_"))
		return res_family(fn, name, argc > 3 ? arg : "mx");
	if (strcmp(fn, "getaddrinfo") == 0)
		return addrinfo_family(name, argc > 3 ? arg : "unspec");
	if (strcmp(fn, "getnameinfo") == 0)
		return nameinfo(name, arg);
	if (strcmp(fn, "getaddrinfo_a") == 0)
		return addrinfo_a(name);
	return hostent_family(fn, name);
}
