/*
 * NAME
 *	proxy - the diverted paths: a connect() or a lookup through Tor
 * DESCRIPTION
 *	onionshim_proxy_connect() runs the SOCKS5 CONNECT on the program's
 *	own socket, records what the program believes it connected to (for
 *	getpeername), and logs one line: at info when it worked, at notice
 *	when it did not, with the destination, the onion, Tor's reply code
 *	and its meaning, the SOCKS server and the time taken.
 *
 *	onionshim_proxy_resolve() asks Tor to resolve a name (route = all).
 * RETURNS
 *	0 or -errno.
 * NEVER
 *	falls back to a direct connection or a DNS query.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "onionshim/log.h"
#include "onionshim/shim.h"
#include "onionshim/socks5_io.h"

/* describe_failure - what went wrong, in words, for the log line. */
static void
describe_failure(const struct onionshim_ctx *ctx, int rc,
		 const struct onionshim_socks5_trace *tr, char *out, size_t outlen)
{
	if (tr->rep > 0)
		snprintf(out, outlen, "Tor reply 0x%02X (%s)", tr->rep,
			 onionshim_socks5_strreply((uint8_t)tr->rep));
	else if (rc == -ENETDOWN)
		snprintf(out, outlen, "no SOCKS server answered (%s)", tr->failed.buf);
	else if (rc == -ETIMEDOUT)
		snprintf(out, outlen, "no answer within connect_timeout (%u s)",
			 ctx->cfg.connect_timeout_ms / 1000);
	else if (rc == -EINTR)
		snprintf(out, outlen, "interrupted by a signal");
	else if (tr->why.buf[0])
		snprintf(out, outlen, "%s", tr->why.buf);
	else if (rc == -EPROTO)
		snprintf(out, outlen, "SOCKS server closed the connection or sent a "
			 "malformed reply");
	else
		snprintf(out, outlen, "%s", strerror(-rc));
}

static unsigned
sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void
via_text(const struct onionshim_ctx *ctx, const struct onionshim_socks5_trace *tr,
	 char *out, size_t outlen)
{
	if (tr->server >= 0)
		snprintf(out, outlen, " via %s", ctx->cfg.socks[tr->server].text);
	else
		out[0] = '\0';
}

int
onionshim_proxy_connect(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa,
			socklen_t len, const struct onionshim_plan *plan)
{
	struct onionshim_socks5_trace tr;
	struct onionshim_name name;
	struct sockaddr_storage local;
	socklen_t locallen = sizeof(local);
	char where[96], dest[320], via[80], why[400], user[300];
	const char *isolate = NULL;
	int rc;

	onionshim_sockaddr_text(sa, where, sizeof(where));
	if (plan->verdict == ONIONSHIM_PROXY_NAME) {
		/* Postfix's own form: name[addr]:port, then where it really goes */
		onionshim_shim_name_of(ctx, plan->slot, &plan->target, &name);
		snprintf(dest, sizeof(dest), "%s[%.*s]:%u -> %s:%u", name.buf,
			 (int)(strrchr(where, ':') - where), where, sa_port(sa), plan->dst.name,
			 plan->dst.port);
		snprintf(user, sizeof(user), "%s", plan->dst.name);
	} else {
		snprintf(dest, sizeof(dest), "%s", where);
		snprintf(user, sizeof(user), "%s", where);
	}
	if (ctx->cfg.isolation == ONIONSHIM_ISOLATION_DESTINATION)
		isolate = user;
	rc = onionshim_socks5_connect_fd(&ctx->cfg, fd, &plan->dst, isolate, &tr);
	via_text(ctx, &tr, via, sizeof(via));
	if (tr.failed.buf[0] && tr.server >= 0)
		onionshim_log(ONIONSHIM_LOG_NOTICE, "SOCKS server failed over: %s; using %s",
			      tr.failed.buf, ctx->cfg.socks[tr.server].text);
	if (rc < 0) {
		describe_failure(ctx, rc, &tr, why, sizeof(why));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "connect to %s failed%s after %u ms: %s",
			      dest, via, tr.ms_total, why);
		return rc;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &locallen) == 0)
		onionshim_shim_sock_record(ctx, (struct sockaddr *)&local, locallen, sa, len);
	onionshim_log(ONIONSHIM_LOG_INFO, "connect to %s%s: connected in %u ms", dest, via,
		      tr.ms_total);
	if (plan->verdict == ONIONSHIM_PROXY_NAME && plan->target.kind == ONIONSHIM_NAME_ONION &&
	    onionshim_shim_warn_once(ctx, plan->slot))
		onionshim_log(ONIONSHIM_LOG_WARNING, "%s is not in onion_map: its fake address "
			      "%s is only known to this process; list every onion destination "
			      "in onion_map", plan->dst.name, where);
	return 0;
}

int
onionshim_proxy_resolve(struct onionshim_ctx *ctx, const char *name, int family, int *af,
			uint8_t addr[16])
{
	struct onionshim_socks5_addr dst = { .atyp = ONIONSHIM_SOCKS5_ATYP_NAME };
	struct onionshim_socks5_reply reply;
	struct onionshim_socks5_trace tr;
	char via[80], why[400];
	size_t len = strlen(name);
	int rc;

	if (len == 0 || len > 255)
		return -EAGAIN;
	dst.namelen = (uint8_t)len;
	memcpy(dst.name, name, len + 1);
	rc = onionshim_socks5_query(&ctx->cfg, ONIONSHIM_SOCKS5_RESOLVE, &dst,
				    ctx->cfg.isolation == ONIONSHIM_ISOLATION_DESTINATION ?
				    name : NULL, &reply, &tr);
	via_text(ctx, &tr, via, sizeof(via));
	if (rc == 0 && reply.bound.atyp == ONIONSHIM_SOCKS5_ATYP_IPV4 && family != AF_INET6) {
		*af = AF_INET;
		memcpy(addr, reply.bound.ip, 4);
	} else if (rc == 0 && reply.bound.atyp == ONIONSHIM_SOCKS5_ATYP_IPV6 &&
		   family != AF_INET) {
		*af = AF_INET6;
		memcpy(addr, reply.bound.ip, 16);
	} else {
		if (rc == 0)
			snprintf(why, sizeof(why), "Tor answered with no %s address",
				 family == AF_INET6 ? "IPv6" : "IPv4");
		else
			describe_failure(ctx, rc, &tr, why, sizeof(why));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "lookup of %s through Tor failed%s after "
			      "%u ms: %s", name, via, tr.ms_total, why);
		return -EAGAIN;
	}
	onionshim_log(ONIONSHIM_LOG_INFO, "lookup of %s through Tor%s: done in %u ms", name, via,
		      tr.ms_total);
	return 0;
}
