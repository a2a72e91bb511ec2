/*
 * NAME
 *	proxy - the diverted paths: a connect() or a lookup through Tor
 * DESCRIPTION
 *	onionshim_proxy_connect() runs the SOCKS5 CONNECT on the program's
 *	own socket, records what the program believes it connected to (for
 *	getpeername), and logs one line: at info when it worked, at notice
 *	when it did not, with the destination, the onion, Tor's reply code
 *	and its meaning (or what else went wrong), the errno text the
 *	program sees, the SOCKS server and the time taken. A failover to a
 *	later SOCKS server adds a warning that names each server that failed
 *	and why; the first attempt on an onion outside onion_map adds a
 *	warning, once per onion and process, whatever the outcome.
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
#include <sys/stat.h>

#include "onionshim/log.h"
#include "onionshim/shim.h"
#include "onionshim/socks5_io.h"

/*
 * describe_failure - what went wrong, in words, for the log line: Tor's
 * code and its meaning, or what the exchange saw, then the errno text
 * that the program (and so the MTA's own log) shows.
 */
static void
describe_failure(int rc, const struct onionshim_socks5_trace *tr, char *out, size_t outlen)
{
	if (tr->rep > 0)
		snprintf(out, outlen, "Tor reply 0x%02X (%s) -> %s", tr->rep,
			 onionshim_socks5_strreply((uint8_t)tr->rep), strerror(-rc));
	else if (rc == -EINTR)
		snprintf(out, outlen, "interrupted by a signal -> %s", strerror(-rc));
	else if (tr->why.buf[0])
		snprintf(out, outlen, "%s -> %s", tr->why.buf, strerror(-rc));
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

/* sa_host - the bare address of SA ("240.1.2.3", "2001:db8::1"). */
static void
sa_host(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *a = sa->sa_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
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

/* warn_unmapped - once per onion and process, whatever the outcome. */
/* describe_dest - "name[addr]:port -> onion:port" (Postfix's own form
 * first), or the address, for a log line. Only called when one is written. */
static void
describe_dest(struct onionshim_ctx *ctx, const struct sockaddr *sa,
	      const struct onionshim_plan *plan, char *out, size_t outlen)
{
	struct onionshim_name name;
	char host[64];

	if (plan->verdict != ONIONSHIM_PROXY_NAME) {
		onionshim_sockaddr_text(sa, out, outlen);
		return;
	}
	onionshim_shim_name_of(ctx, plan->slot, &plan->target, &name);
	sa_host(sa, host, sizeof(host));
	snprintf(out, outlen, "%s[%s]:%u -> %s:%u", name.buf, host, sa_port(sa),
		 plan->dst.name, plan->dst.port);
}

static void
warn_unmapped(struct onionshim_ctx *ctx, const struct sockaddr *sa,
	      const struct onionshim_plan *plan)
{
	char where[96];

	if (plan->verdict == ONIONSHIM_PROXY_NAME && plan->target.kind == ONIONSHIM_NAME_ONION &&
	    onionshim_shim_warn_once(ctx, plan->slot)) {
		onionshim_sockaddr_text(sa, where, sizeof(where));
		onionshim_log(ONIONSHIM_LOG_WARNING, "%s is not in onion_map: its fake address "
			      "%s is only known to this process; list every onion destination "
			      "in onion_map", plan->dst.name, where);
	}
}

int
onionshim_proxy_connect(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa,
			socklen_t len, const struct onionshim_plan *plan)
{
	struct onionshim_socks5_trace tr;
	struct stat st;
	char where[96], dest[400], via[80], why[640];
	const char *isolate = NULL;
	int rc;

	/* text is built only for lines that are written: this is the hot path */
	if (ctx->cfg.isolation == ONIONSHIM_ISOLATION_DESTINATION) {
		if (plan->verdict == ONIONSHIM_PROXY_NAME) {
			isolate = plan->dst.name;
		} else {
			onionshim_sockaddr_text(sa, where, sizeof(where));
			isolate = where;
		}
	}
	warn_unmapped(ctx, sa, plan);
	rc = onionshim_socks5_connect_fd(&ctx->cfg, fd, &plan->dst, isolate, &tr);
	if (tr.failed.buf[0] && tr.server >= 0)
		onionshim_log(ONIONSHIM_LOG_WARNING, "SOCKS server failed over: %s; using %s",
			      tr.failed.buf, ctx->cfg.socks[tr.server].text);
	if (rc < 0) {
		describe_dest(ctx, sa, plan, dest, sizeof(dest));
		via_text(ctx, &tr, via, sizeof(via));
		describe_failure(rc, &tr, why, sizeof(why));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "connect to %s failed%s after %u ms: %s",
			      dest, via, tr.ms_total, why);
		return rc;
	}
	if (fstat(fd, &st) == 0)
		onionshim_shim_sock_record(ctx, &st, sa, len);
	if (onionshim_log_enabled(ONIONSHIM_LOG_INFO)) {
		describe_dest(ctx, sa, plan, dest, sizeof(dest));
		via_text(ctx, &tr, via, sizeof(via));
		onionshim_log(ONIONSHIM_LOG_INFO, "connect to %s%s: connected in %u ms%s", dest,
			      via, tr.ms_total, tr.replaced ?
			      " (socket replaced to reach the SOCKS server)" : "");
	}
	return 0;
}

int
onionshim_proxy_resolve(struct onionshim_ctx *ctx, const char *name, int family, int *af,
			uint8_t addr[16])
{
	struct onionshim_socks5_addr dst = { .atyp = ONIONSHIM_SOCKS5_ATYP_NAME };
	struct onionshim_socks5_reply reply;
	struct onionshim_socks5_trace tr;
	char via[80], why[640];
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
			describe_failure(rc, &tr, why, sizeof(why));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "lookup of %s through Tor failed%s after "
			      "%u ms: %s", name, via, tr.ms_total, why);
		return -EAGAIN;
	}
	onionshim_log(ONIONSHIM_LOG_INFO, "lookup of %s through Tor%s: done in %u ms", name, via,
		      tr.ms_total);
	return 0;
}
