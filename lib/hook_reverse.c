/*
 * NAME
 *	hook_reverse - getnameinfo(), gethostbyaddr(), gethostbyaddr_r()
 * DESCRIPTION
 *	A fake address maps back to its onion name. Under route = all, other
 *	addresses are looked up through Tor (RESOLVE_PTR); when Tor has no
 *	name, the numeric form is the answer, as libc gives for an address
 *	without PTR. Under route = onion they go to libc. NI_NUMERICHOST
 *	gives the numeric fake address and touches nothing.
 * RETURNS
 *	As libc; EAI_OVERFLOW when the caller's buffer is too small.
 * NEVER
 *	sends a PTR query for a fake address, or any under route = all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "onionshim/hooks.h"
#include "onionshim/real.h"

/*
 * reverse - the name of SA. Returns 1 with OUT set, 0 when libc may
 * answer (route = onion, not a fake address), -1 when the answer is "no
 * name" (numeric, or NI_NAMEREQD failing with EAI_AGAIN).
 */
static int
reverse(const struct sockaddr *sa, socklen_t len, struct onionshim_name *out)
{
	struct onionshim_ctx *ctx = onionshim_ready();
	int rc = onionshim_shim_reverse(ctx, sa, len, out);

	if (rc != 0)
		return rc > 0 ? 1 : -1;
	if (!ctx->ok)
		return -1;
	if (ctx->cfg.route == ONIONSHIM_ROUTE_ONION)
		return 0;
	return onionshim_proxy_resolve_ptr(ctx, sa, out) == 0 ? 1 : -1;
}

ONIONSHIM_EXPORT int
getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
	    char *serv, socklen_t servlen, int flags)
{
	struct onionshim_name name;
	size_t n;
	int rc;

	onionshim_ready();
	if (sa == NULL || host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    salen < (sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
		     sizeof(struct sockaddr_in6)))
		return ONIONSHIM_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	rc = reverse(sa, salen, &name);
	if (rc == 0)
		return ONIONSHIM_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	if (rc < 0) {
		if (flags & NI_NAMEREQD)
			return EAI_AGAIN;
		return ONIONSHIM_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen,
						  flags | NI_NUMERICHOST);
	}
	/* NI_NOFQDN is ignored: an onion's first label alone names nothing */
	n = strlen(name.buf);
	if (n + 1 > hostlen)
		return EAI_OVERFLOW;
	memcpy(host, name.buf, n);
	host[n] = '\0';
	if (serv != NULL && servlen > 0)
		return ONIONSHIM_REAL(getnameinfo)(sa, salen, NULL, 0, serv, servlen, flags);
	return 0;
}

static int
to_sockaddr(const void *addr, socklen_t len, int type, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (type == AF_INET && len == 4) {
		ss->ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
		return sizeof(struct sockaddr_in);
	}
	if (type == AF_INET6 && len == 16) {
		ss->ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
		return sizeof(struct sockaddr_in6);
	}
	return -1;
}

/* addr_reverse - reverse() for a gethostbyaddr-style address. */
static int
addr_reverse(const void *addr, socklen_t len, int type, struct onionshim_name *name)
{
	struct sockaddr_storage ss;
	int sl;

	onionshim_ready();
	sl = addr ? to_sockaddr(addr, len, type, &ss) : -1;
	return sl < 0 ? 0 : reverse((struct sockaddr *)&ss, (socklen_t)sl, name);
}

ONIONSHIM_EXPORT int
gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf,
		size_t buflen, struct hostent **result, int *h_errnop)
{
	struct onionshim_name name;
	int rc = addr_reverse(addr, len, type, &name);

	if (rc == 0)
		return ONIONSHIM_REAL(gethostbyaddr_r)(addr, len, type, ret, buf, buflen, result,
						      h_errnop);
	*result = NULL;
	if (rc < 0) {
		*h_errnop = TRY_AGAIN;
		return EAGAIN;
	}
	if ((rc = onionshim_hostent_fill(name.buf, type, addr, len, ret, buf, buflen)) != 0) {
		*h_errnop = NETDB_INTERNAL;
		errno = rc;
		return rc;
	}
	*result = ret;
	*h_errnop = 0;
	return 0;
}

ONIONSHIM_EXPORT struct hostent *
gethostbyaddr(const void *addr, socklen_t len, int type)
{
	static __thread struct {
		struct hostent he;
		char buf[512];
	} st;
	struct onionshim_name name;
	int rc = addr_reverse(addr, len, type, &name);

	if (rc == 0)
		return ONIONSHIM_REAL(gethostbyaddr)(addr, len, type);
	if (rc < 0 ||
	    onionshim_hostent_fill(name.buf, type, addr, len, &st.he, st.buf, sizeof(st.buf))) {
		h_errno = TRY_AGAIN;
		return NULL;
	}
	return &st.he;
}
