/*
 * NAME
 *	hook_res - the res_* family, in both spellings
 * DESCRIPTION
 *	res_query, res_search, res_querydomain, res_send and their res_n*
 *	forms. Programs built on glibc 2.34 or later import the plain names
 *	(Postfix 3.7: res_nsearch, res_nsend; Exim 4.96: res_search); older
 *	ones import __res_*, which glibc keeps only as compat symbols that
 *	dlsym cannot find, so both spellings are exported here and the real
 *	functions are looked up by the plain name.
 *
 *	Onion and mapped names are answered by the library (MX names the
 *	onion, A/AAAA the fake address, other types NODATA). Other names go
 *	to libc under route = onion and fail closed under route = all (no
 *	DNS packet leaves: Tor cannot carry MX queries). Errors land where
 *	callers read them: statp->res_h_errno (Postfix) and h_errno.
 * RETURNS
 *	As libc: the answer's length, or -1 with h_errno set. Like libc, an
 *	answer longer than ANSLEN is truncated and its full length returned.
 * NEVER
 *	sends a DNS query for a diverted name, or sets the AD bit.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "onionshim/dnsmsg.h"
#include "onionshim/hooks.h"
#include "onionshim/log.h"
#include "onionshim/real.h"

/* The __res_* aliases, which no header declares any more. */
int __res_query(const char *, int, int, unsigned char *, int);
int __res_search(const char *, int, int, unsigned char *, int);
int __res_querydomain(const char *, const char *, int, int, unsigned char *, int);
int __res_send(const unsigned char *, int, unsigned char *, int);
int __res_nquery(res_state, const char *, int, int, unsigned char *, int);
int __res_nsearch(res_state, const char *, int, int, unsigned char *, int);
int __res_nquerydomain(res_state, const char *, const char *, int, int, unsigned char *, int);
int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int);

static void
set_herr(res_state statp, int e)
{
	if (statp != NULL)
		statp->res_h_errno = e;
	h_errno = e;
}

/*
 * answer - the common body. Returns the answer length or -1 when the
 * call is handled here (*HANDLED = 1), or leaves it to libc.
 */
static int
answer(res_state statp, const char *name, int qclass, int qtype,
       const struct onionshim_dns_query *q, unsigned char *ans, int anslen, int is_send,
       int *handled)
{
	struct onionshim_ctx *ctx = onionshim_ready();
	size_t len = 0;
	int rc;

	*handled = 1;
	if (name == NULL || ans == NULL || anslen < 0) {
		set_herr(statp, NO_RECOVERY);
		return -1;
	}
	rc = onionshim_shim_dns_answer(ctx, name, qclass, qtype, q, ans, (size_t)anslen, &len);
	if (rc < 0) {
		set_herr(statp, TRY_AGAIN);
		return -1;
	}
	if (rc == 1) {
		int answered = qclass == C_IN &&
			       (qtype == T_A || qtype == T_AAAA || qtype == T_MX);

		onionshim_log(ONIONSHIM_LOG_DEBUG, "DNS query %s type %d answered by the "
			      "library%s", name, qtype, answered ? "" : " (no data)");
		if (!answered && !is_send) {
			/* libc's res_query reports an empty answer as NO_DATA */
			set_herr(statp, NO_DATA);
			return -1;
		}
		set_herr(statp, NETDB_SUCCESS);
		return (int)len;
	}
	if (ctx->ok && ctx->cfg.route == ONIONSHIM_ROUTE_ONION) {
		*handled = 0;
		return 0;
	}
	onionshim_log(ONIONSHIM_LOG_NOTICE, "DNS query %s type %d refused: %s", name, qtype,
		      ctx->ok ? "route = all sends no DNS (Tor cannot carry it)" : ctx->why.buf);
	set_herr(statp, TRY_AGAIN);
	return -1;
}

/*
 * search_candidate - the name res_search would try that the library
 * diverts: NAME itself, or NAME.DOMAIN for a domain of the search list when
 * NAME has fewer dots than ndots. Writes it to OUT. Returns 1 if one is
 * diverted (or deferred), else 0.
 */
static int
search_candidate(res_state statp, const char *name, struct onionshim_name *out)
{
	struct onionshim_ctx *ctx = onionshim_ready();
	struct onionshim_target t;
	size_t len = strlen(name), dots = 0, i;
	int rc;

	snprintf(out->buf, sizeof(out->buf), "%s", name);
	if (len == 0 || name[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++)
		dots += name[i] == '.';
	if (statp == NULL || dots >= statp->ndots)
		return 0;
	for (i = 0; i < MAXDNSRCH && statp->dnsrch[i] != NULL; i++) {
		snprintf(out->buf, sizeof(out->buf), "%s.%s", name, statp->dnsrch[i]);
		rc = onionshim_shim_resolve(ctx, out->buf, &t);
		if (rc < 0 || t.kind != ONIONSHIM_NAME_OTHER)
			return 1;
	}
	snprintf(out->buf, sizeof(out->buf), "%s", name);
	return 0;
}

ONIONSHIM_EXPORT int
res_nquery(res_state statp, const char *name, int qclass, int qtype, unsigned char *ans,
	   int anslen)
{
	int handled, n = answer(statp, name, qclass, qtype, NULL, ans, anslen, 0, &handled);

	return handled ? n : ONIONSHIM_REAL(res_nquery)(statp, name, qclass, qtype, ans, anslen);
}

ONIONSHIM_EXPORT int
res_nsearch(res_state statp, const char *name, int qclass, int qtype, unsigned char *ans,
	    int anslen)
{
	struct onionshim_name cand;
	int handled, n;

	if (name != NULL && search_candidate(statp, name, &cand))
		name = cand.buf;
	n = answer(statp, name, qclass, qtype, NULL, ans, anslen, 0, &handled);
	return handled ? n : ONIONSHIM_REAL(res_nsearch)(statp, name, qclass, qtype, ans, anslen);
}

ONIONSHIM_EXPORT int
res_nquerydomain(res_state statp, const char *name, const char *domain, int qclass, int qtype,
		 unsigned char *ans, int anslen)
{
	struct onionshim_name full;
	int handled, n;

	if (name == NULL)
		return res_nquery(statp, name, qclass, qtype, ans, anslen);
	if (domain == NULL)
		snprintf(full.buf, sizeof(full.buf), "%s", name);
	else
		snprintf(full.buf, sizeof(full.buf), "%s.%s", name, domain);
	n = answer(statp, full.buf, qclass, qtype, NULL, ans, anslen, 0, &handled);
	return handled ? n : ONIONSHIM_REAL(res_nquerydomain)(statp, name, domain, qclass, qtype,
							      ans, anslen);
}

ONIONSHIM_EXPORT int
res_nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *ans, int anslen)
{
	struct onionshim_ctx *ctx = onionshim_ready();
	struct onionshim_dns_query q;
	int handled, n;

	if (msg == NULL || msglen < 0 ||
	    onionshim_dns_parse_query(msg, (size_t)msglen, &q) < 0) {
		if (ctx->ok && ctx->cfg.route == ONIONSHIM_ROUTE_ONION)
			return ONIONSHIM_REAL(res_nsend)(statp, msg, msglen, ans, anslen);
		onionshim_log(ONIONSHIM_LOG_NOTICE, "DNS message of %d bytes refused: %s",
			      msglen, ctx->ok ? "route = all sends no DNS, and it is no query "
			      "the library can answer" : ctx->why.buf);
		set_herr(statp, TRY_AGAIN);
		return -1;
	}
	n = answer(statp, q.qname.buf, q.qclass, q.qtype, &q, ans, anslen, 1, &handled);
	return handled ? n : ONIONSHIM_REAL(res_nsend)(statp, msg, msglen, ans, anslen);
}

/* The forms without a resolver state use the thread's own, like libc. */

ONIONSHIM_EXPORT int
res_query(const char *name, int qclass, int qtype, unsigned char *ans, int anslen)
{
	int handled, n = answer(&_res, name, qclass, qtype, NULL, ans, anslen, 0, &handled);

	return handled ? n : ONIONSHIM_REAL(res_query)(name, qclass, qtype, ans, anslen);
}

ONIONSHIM_EXPORT int
res_search(const char *name, int qclass, int qtype, unsigned char *ans, int anslen)
{
	struct onionshim_name cand;
	int handled, n;

	if (name != NULL && search_candidate(&_res, name, &cand))
		name = cand.buf;
	n = answer(&_res, name, qclass, qtype, NULL, ans, anslen, 0, &handled);
	return handled ? n : ONIONSHIM_REAL(res_search)(name, qclass, qtype, ans, anslen);
}

ONIONSHIM_EXPORT int
res_querydomain(const char *name, const char *domain, int qclass, int qtype,
		unsigned char *ans, int anslen)
{
	struct onionshim_name full;
	int handled, n;

	if (name == NULL)
		return res_query(name, qclass, qtype, ans, anslen);
	if (domain == NULL)
		snprintf(full.buf, sizeof(full.buf), "%s", name);
	else
		snprintf(full.buf, sizeof(full.buf), "%s.%s", name, domain);
	n = answer(&_res, full.buf, qclass, qtype, NULL, ans, anslen, 0, &handled);
	return handled ? n : ONIONSHIM_REAL(res_querydomain)(name, domain, qclass, qtype, ans,
							     anslen);
}

ONIONSHIM_EXPORT int
res_send(const unsigned char *msg, int msglen, unsigned char *ans, int anslen)
{
	struct onionshim_ctx *ctx = onionshim_ready();

	if (ctx->ok && ctx->cfg.route == ONIONSHIM_ROUTE_ONION) {
		struct onionshim_dns_query q;

		if (msg == NULL || msglen < 0 ||
		    onionshim_dns_parse_query(msg, (size_t)msglen, &q) < 0)
			return ONIONSHIM_REAL(res_send)(msg, msglen, ans, anslen);
		int handled, n = answer(&_res, q.qname.buf, q.qclass, q.qtype, &q, ans, anslen,
					1, &handled);

		return handled ? n : ONIONSHIM_REAL(res_send)(msg, msglen, ans, anslen);
	}
	return res_nsend(&_res, msg, msglen, ans, anslen);
}

/* Binaries built before glibc 2.34 import these names. */

ONIONSHIM_EXPORT int
__res_query(const char *n, int c, int t, unsigned char *a, int l)
{
	return res_query(n, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_search(const char *n, int c, int t, unsigned char *a, int l)
{
	return res_search(n, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_querydomain(const char *n, const char *d, int c, int t, unsigned char *a, int l)
{
	return res_querydomain(n, d, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_send(const unsigned char *m, int ml, unsigned char *a, int l)
{
	return res_send(m, ml, a, l);
}

ONIONSHIM_EXPORT int
__res_nquery(res_state s, const char *n, int c, int t, unsigned char *a, int l)
{
	return res_nquery(s, n, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_nsearch(res_state s, const char *n, int c, int t, unsigned char *a, int l)
{
	return res_nsearch(s, n, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_nquerydomain(res_state s, const char *n, const char *d, int c, int t, unsigned char *a,
		   int l)
{
	return res_nquerydomain(s, n, d, c, t, a, l);
}

ONIONSHIM_EXPORT int
__res_nsend(res_state s, const unsigned char *m, int ml, unsigned char *a, int l)
{
	return res_nsend(s, m, ml, a, l);
}
