/*
 * NAME
 *	resanswer - DNS answers for onion and mapped names (the res_* family)
 * DESCRIPTION
 *	An MTA with DNS on asks for MX, then A/AAAA, through res_query or
 *	res_send. For a diverted name the library answers itself: MX names
 *	the onion as exchanger (or the mapped domain itself when its entry
 *	carries a port, since only the domain's fake address remembers the
 *	port), A and AAAA carry the fake address, other types are NODATA.
 * RETURNS
 *	1 answered, 0 not diverted, -EAGAIN defer.
 * NEVER
 *	sets the AD bit, or lets a diverted name reach a DNS server.
 */
#include <errno.h>
#include <string.h>

#include "onionshim/dnsmsg.h"
#include "onionshim/shim.h"

/* Short: a fake address is only as good as the process's map. */
#define ANSWER_TTL 60

int
onionshim_shim_dns_answer(struct onionshim_ctx *ctx, const char *name, int qclass, int qtype,
			  const void *query, uint8_t *out, size_t outlen, size_t *len)
{
	struct onionshim_target t;
	struct onionshim_dns_query q;
	struct onionshim_dns_answer a;
	struct in_addr a4;
	struct in6_addr a6;
	uint8_t buf[1024];
	int n;

	if (onionshim_shim_resolve(ctx, name, &t) < 0)
		return -EAGAIN;
	if (t.kind == ONIONSHIM_NAME_OTHER)
		return 0;
	if (query != NULL)
		q = *(const struct onionshim_dns_query *)query;
	else if (onionshim_dns_query_init(&q, name, (uint16_t)qclass, (uint16_t)qtype) < 0)
		return -EAGAIN;
	memset(&a, 0, sizeof(a));
	a.ttl = ANSWER_TTL;
	switch (q.qtype) {
	case ONIONSHIM_DNS_A:
		a.type = ONIONSHIM_DNS_A;
		onionshim_fake_addr4(&ctx->cfg, t.slot, &a4);
		memcpy(a.addr, &a4, sizeof(a4));
		break;
	case ONIONSHIM_DNS_AAAA:
		a.type = ONIONSHIM_DNS_AAAA;
		onionshim_fake_addr6(&ctx->cfg, t.slot, &a6);
		memcpy(a.addr, &a6, sizeof(a6));
		break;
	case ONIONSHIM_DNS_MX:
		a.type = ONIONSHIM_DNS_MX;
		a.preference = 10;
		a.exchange = t.kind == ONIONSHIM_NAME_MAPPED && t.port != 0 ? q.qname.buf :
			     t.onion.buf;
		break;
	default:
		break;		/* NODATA */
	}
	n = onionshim_dns_build_answer(buf, sizeof(buf), &q, &a);
	if (n < 0)
		return -EAGAIN;
	memcpy(out, buf, (size_t)n < outlen ? (size_t)n : outlen);
	*len = (size_t)n;
	return 1;
}
