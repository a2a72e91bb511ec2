/*
 * NAME
 *	hook_resolve - getaddrinfo() and the gethostbyname family
 * DESCRIPTION
 *	Onion names and mapped domains resolve to their fake addresses and
 *	never reach libc's resolver. Under route = all, other names are
 *	resolved through Tor; under route = onion they go to libc. Numeric
 *	names always go to libc, which resolves them without a lookup.
 *
 *	getaddrinfo() answers with what libc's own getaddrinfo gives for the
 *	numeric address, laid out as glibc lays it out (each entry one block
 *	with its address right after it, the canonical name a block of its
 *	own), so that libc's freeaddrinfo frees it. The common requests (no
 *	service or a decimal port; TCP, UDP or any socket type) are built
 *	here; the others (a service name, other protocols) are passed to
 *	libc's getaddrinfo on the numeric address. AF_UNSPEC gets the IPv4
 *	fake address only (a failing onion then costs one attempt, not two),
 *	AF_INET6 the IPv6 one.
 *
 *	Every refusal is a temporary failure (EAI_AGAIN, TRY_AGAIN), so that
 *	an MTA defers the mail instead of bouncing it.
 * RETURNS
 *	As libc.
 * NEVER
 *	passes an onion or mapped name to libc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onionshim/hooks.h"
#include "onionshim/log.h"
#include "onionshim/real.h"

/*
 * divert - what NAME resolves to for FAMILY. Returns 1 with *AF and ADDR
 * set (the fake or Tor-resolved address), 0 when libc should answer, or
 * -EAGAIN to defer.
 */
static int
divert(const char *name, int family, int *af, uint8_t addr[16])
{
	struct onionshim_ctx *ctx = onionshim_ready();
	struct onionshim_target t;
	int rc;

	if ((rc = onionshim_shim_resolve(ctx, name, &t)) < 0)
		return rc;
	if (t.kind == ONIONSHIM_NAME_OTHER) {
		if (ctx->cfg.route == ONIONSHIM_ROUTE_ONION)
			return 0;
		if ((rc = onionshim_proxy_resolve(ctx, name, family, af, addr)) < 0)
			return rc;
		return 1;
	}
	if (family == AF_INET6) {
		struct in6_addr a6;

		*af = AF_INET6;
		onionshim_fake_addr6(&ctx->cfg, t.slot, &a6);
		memcpy(addr, &a6, sizeof(a6));
	} else {
		struct in_addr a4;

		*af = AF_INET;
		onionshim_fake_addr4(&ctx->cfg, t.slot, &a4);
		memcpy(addr, &a4, sizeof(a4));
	}
	return 1;
}

/*
 * decimal_port - SERVICE as a port when it is NULL (0) or 1 to 5 decimal
 * digits up to 65535, which libc reads the same way; -1 for anything else
 * (a name, a sign, a blank, an overflow: libc's own rules decide those).
 */
static int
decimal_port(const char *service)
{
	unsigned v = 0;
	size_t i;

	if (service == NULL)
		return 0;
	for (i = 0; service[i] != '\0'; i++) {
		if (i == 5 || service[i] < '0' || service[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(service[i] - '0');
	}
	return i == 0 || v > 65535 ? -1 : (int)v;
}

/*
 * build - the list libc's getaddrinfo gives for the numeric address ADDR
 * of family AF with FLAGS, SOCKTYPE and PROTOCOL, for PORT (-1: no
 * service): one entry per socket type, stream then datagram then raw
 * (raw only when no socket type is asked), each allocated as glibc does. Returns 0,
 * EAI_MEMORY, or -1 when the request is not one of those (libc answers).
 */
static int
build(int af, const uint8_t *addr, int port, int flags, int socktype, int protocol,
      struct addrinfo **res)
{
	static const struct { int socktype, protocol; } kinds[] = {
		{ SOCK_STREAM, IPPROTO_TCP }, { SOCK_DGRAM, IPPROTO_UDP }, { SOCK_RAW, 0 },
	};
	socklen_t salen = af == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct addrinfo *head = NULL, **tail = &head, *ai;
	size_t i;

	if ((socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM) ||
	    (protocol != 0 && protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((socktype != 0 && socktype != kinds[i].socktype) ||
		    (protocol != 0 && protocol != kinds[i].protocol) ||
		    (kinds[i].socktype == SOCK_RAW && socktype != 0))
			continue;
		ai = calloc(1, sizeof(*ai) + salen);
		if (ai == NULL) {
			freeaddrinfo(head);
			return EAI_MEMORY;
		}
		ai->ai_flags = flags;
		ai->ai_family = af;
		ai->ai_socktype = kinds[i].socktype;
		ai->ai_protocol = kinds[i].protocol;
		ai->ai_addrlen = salen;
		ai->ai_addr = (struct sockaddr *)(ai + 1);
		if (af == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ai->ai_addr;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)(port > 0 ? port : 0));
			memcpy(&s6->sin6_addr, addr, 16);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)ai->ai_addr;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)(port > 0 ? port : 0));
			memcpy(&s4->sin_addr, addr, 4);
		}
		*tail = ai;
		tail = &ai->ai_next;
	}
	if (head == NULL)
		return -1;	/* a combination libc answers with its own error */
	*res = head;
	return 0;
}

/* getaddrinfo_name - getaddrinfo() for a NODE that is a name, out of line
 * so that a numeric lookup costs the hook little more than a look at it. */
static __attribute__((noinline)) int
getaddrinfo_name(const char *node, const char *service, const struct addrinfo *hints,
		 struct addrinfo **res)
{
	struct addrinfo h;
	char text[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	int family = hints ? hints->ai_family : AF_UNSPEC, af, port, rc, saved = errno;

	if (hints && (hints->ai_flags & AI_NUMERICHOST))
		return EAI_NONAME;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return EAI_FAMILY;
	rc = divert(node, family, &af, addr);
	if (rc == 0)
		return ONIONSHIM_REAL(getaddrinfo)(node, service, hints, res);
	if (rc < 0)
		return EAI_AGAIN;
	memset(&h, 0, sizeof(h));
	if (hints) {
		h.ai_socktype = hints->ai_socktype;
		h.ai_protocol = hints->ai_protocol;
		h.ai_flags = hints->ai_flags & AI_NUMERICSERV;
	}
	h.ai_family = af;
	h.ai_flags |= AI_NUMERICHOST;
	port = decimal_port(service);
	rc = port < 0 ? -1 : build(af, addr, service ? port : -1, h.ai_flags, h.ai_socktype,
				   h.ai_protocol, res);
	if (rc < 0) {
		inet_ntop(af, addr, text, sizeof(text));
		rc = ONIONSHIM_REAL(getaddrinfo)(text, service, &h, res);
	}
	if (rc == 0 && hints && (hints->ai_flags & AI_CANONNAME)) {
		free((*res)->ai_canonname);
		(*res)->ai_canonname = strdup(node);
		if ((*res)->ai_canonname == NULL) {
			freeaddrinfo(*res);
			*res = NULL;
			return EAI_MEMORY;
		}
	}
	errno = saved;
	return rc;
}

ONIONSHIM_EXPORT int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
	    struct addrinfo **res)
{
	if (node == NULL || onionshim_name_is_numeric(node))
		return ONIONSHIM_REAL(getaddrinfo)(node, service, hints, res);
	return getaddrinfo_name(node, service, hints, res);
}

/*
 * lookup_r - the shared body of the _r functions. Returns -1 when libc
 * must answer, otherwise the value the _r function returns.
 */
static int
lookup_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
	 struct hostent **result, int *h_errnop)
{
	uint8_t addr[16];
	int got, rc;

	if (name == NULL || onionshim_name_is_numeric(name))
		return -1;
	if (af != AF_INET && af != AF_INET6) {
		*result = NULL;
		*h_errnop = NETDB_INTERNAL;
		errno = EAFNOSUPPORT;
		return EAFNOSUPPORT;
	}
	rc = divert(name, af, &got, addr);
	if (rc == 0)
		return -1;
	*result = NULL;
	if (rc < 0) {
		*h_errnop = TRY_AGAIN;
		return EAGAIN;
	}
	if (got != af) {
		*h_errnop = TRY_AGAIN;
		return EAGAIN;
	}
	if ((rc = onionshim_hostent_fill(name, af, addr, af == AF_INET6 ? 16 : 4, ret, buf,
					   buflen)) != 0) {
		*h_errnop = NETDB_INTERNAL;
		errno = rc;
		return rc;
	}
	*result = ret;
	*h_errnop = 0;
	return 0;
}

ONIONSHIM_EXPORT int
gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
		 struct hostent **result, int *h_errnop)
{
	int rc = lookup_r(name, af, ret, buf, buflen, result, h_errnop);

	if (rc < 0)
		return ONIONSHIM_REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result,
						       h_errnop);
	return rc;
}

ONIONSHIM_EXPORT int
gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
		struct hostent **result, int *h_errnop)
{
	int rc = lookup_r(name, AF_INET, ret, buf, buflen, result, h_errnop);

	if (rc < 0)
		return ONIONSHIM_REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
	return rc;
}

/* Like libc's, the non-reentrant forms share one buffer (per thread here). */
static __thread struct {
	struct hostent he;
	char buf[512];
} static_host;

static struct hostent *
lookup_static(const char *name, int af)
{
	struct hostent *result;
	int herr = 0;

	if (lookup_r(name, af, &static_host.he, static_host.buf, sizeof(static_host.buf),
		     &result, &herr) != 0 || result == NULL) {
		h_errno = herr;
		return NULL;
	}
	return result;
}

ONIONSHIM_EXPORT struct hostent *
gethostbyname2(const char *name, int af)
{
	onionshim_ready();
	if (name == NULL || onionshim_name_is_numeric(name))
		return ONIONSHIM_REAL(gethostbyname2)(name, af);
	return lookup_static(name, af);
}

ONIONSHIM_EXPORT struct hostent *
gethostbyname(const char *name)
{
	onionshim_ready();
	if (name == NULL || onionshim_name_is_numeric(name))
		return ONIONSHIM_REAL(gethostbyname)(name);
	return lookup_static(name, AF_INET);
}

/*
 * getaddrinfo_a - libc resolves these requests with its internal
 * getaddrinfo, which no hook sees. So a batch that holds a name the library
 * must divert (or any name under route = all) is refused as a whole with
 * EAI_AGAIN, before anything is queued; a batch of names libc may resolve
 * goes through.
 */
ONIONSHIM_EXPORT int
getaddrinfo_a(int mode, struct gaicb *list[], int nitems, struct sigevent *sevp)
{
	struct onionshim_ctx *ctx = onionshim_ready();
	struct onionshim_target t;
	const char *name;
	int i;

	for (i = 0; list != NULL && i < nitems; i++) {
		if (list[i] == NULL || (name = list[i]->ar_name) == NULL ||
		    onionshim_name_is_numeric(name))
			continue;
		if (!ctx->ok || ctx->cfg.route == ONIONSHIM_ROUTE_ALL ||
		    onionshim_shim_resolve(ctx, name, &t) < 0 || t.kind != ONIONSHIM_NAME_OTHER) {
			onionshim_log(ONIONSHIM_LOG_WARNING, "getaddrinfo_a() for %s refused: "
				      "asynchronous lookups bypass the library; use getaddrinfo()",
				      name);
			return EAI_AGAIN;
		}
	}
	return ONIONSHIM_REAL(getaddrinfo_a)(mode, list, nitems, sevp);
}
