/*
 * NAME
 *	hook_resolve - getaddrinfo() and the gethostbyname family
 * DESCRIPTION
 *	Onion names and mapped domains resolve to their fake addresses and
 *	never reach libc's resolver. Under route = all, other names are
 *	resolved through Tor; under route = onion they go to libc. Numeric
 *	names always go to libc, which resolves them without a lookup.
 *
 *	getaddrinfo() builds its answer with libc's own getaddrinfo on the
 *	numeric address, so that libc's freeaddrinfo frees it; AF_UNSPEC
 *	gets the IPv4 fake address only (a failing onion then costs one
 *	attempt, not two), AF_INET6 the IPv6 one.
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

ONIONSHIM_EXPORT int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
	    struct addrinfo **res)
{
	struct addrinfo h;
	char text[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	int family = hints ? hints->ai_family : AF_UNSPEC, af, rc, saved = errno;

	onionshim_ready();
	if (node == NULL || onionshim_name_is_numeric(node))
		return onionshim_real.getaddrinfo(node, service, hints, res);
	if (hints && (hints->ai_flags & AI_NUMERICHOST))
		return EAI_NONAME;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return EAI_FAMILY;
	rc = divert(node, family, &af, addr);
	if (rc == 0)
		return onionshim_real.getaddrinfo(node, service, hints, res);
	if (rc < 0)
		return EAI_AGAIN;
	inet_ntop(af, addr, text, sizeof(text));
	memset(&h, 0, sizeof(h));
	if (hints) {
		h.ai_socktype = hints->ai_socktype;
		h.ai_protocol = hints->ai_protocol;
		h.ai_flags = hints->ai_flags & AI_NUMERICSERV;
	}
	h.ai_family = af;
	h.ai_flags |= AI_NUMERICHOST;
	rc = onionshim_real.getaddrinfo(text, service, &h, res);
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
		return onionshim_real.gethostbyname2_r(name, af, ret, buf, buflen, result,
						       h_errnop);
	return rc;
}

ONIONSHIM_EXPORT int
gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
		struct hostent **result, int *h_errnop)
{
	int rc = lookup_r(name, AF_INET, ret, buf, buflen, result, h_errnop);

	if (rc < 0)
		return onionshim_real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
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
		return onionshim_real.gethostbyname2(name, af);
	return lookup_static(name, af);
}

ONIONSHIM_EXPORT struct hostent *
gethostbyname(const char *name)
{
	onionshim_ready();
	if (name == NULL || onionshim_name_is_numeric(name))
		return onionshim_real.gethostbyname(name);
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
	return onionshim_real.getaddrinfo_a(mode, list, nitems, sevp);
}
