/*
 * NAME
 *	reverse - reverse lookups through Tor (RESOLVE_PTR), route = all
 * DESCRIPTION
 *	A reverse lookup of a plain address would otherwise be a PTR query
 *	to the local resolver: under route = all it goes to Tor instead.
 * RETURNS
 *	0 or -EAGAIN.
 * NEVER
 *	sends a DNS query.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "onionshim/log.h"
#include "onionshim/shim.h"
#include "onionshim/socks5_io.h"

int
onionshim_proxy_resolve_ptr(struct onionshim_ctx *ctx, const struct sockaddr *sa,
			    struct onionshim_name *out)
{
	struct onionshim_socks5_addr dst;
	struct onionshim_socks5_reply reply;
	struct onionshim_socks5_trace tr;
	char text[80];
	int rc;

	memset(&dst, 0, sizeof(dst));
	if (sa->sa_family == AF_INET) {
		dst.atyp = ONIONSHIM_SOCKS5_ATYP_IPV4;
		memcpy(dst.ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		dst.atyp = ONIONSHIM_SOCKS5_ATYP_IPV6;
		memcpy(dst.ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	onionshim_sockaddr_text(sa, text, sizeof(text));
	rc = onionshim_socks5_query(&ctx->cfg, ONIONSHIM_SOCKS5_RESOLVE_PTR, &dst, NULL, &reply,
				    &tr);
	if (rc == 0 && reply.bound.atyp == ONIONSHIM_SOCKS5_ATYP_NAME &&
	    onionshim_name_norm(reply.bound.name, reply.bound.namelen, out) > 0)
		return 0;
	onionshim_log(ONIONSHIM_LOG_INFO, "reverse lookup of %s through Tor failed after %u ms: "
		      "%s", text, tr.ms_total, rc == 0 ? "Tor answered with no name" :
		      tr.rep > 0 ? onionshim_socks5_strreply((uint8_t)tr.rep) : strerror(-rc));
	return -EAGAIN;
}
