/*
 * NAME
 *	fuzz_dnsmsg - fuzz target for the DNS messages of the res_* hooks
 * DESCRIPTION
 *	The input is a raw query, as a program hands it to res_send.
 *
 *	onionshim_dns_parse_query must agree with a second parser written
 *	here from RFC 1035 and RFC 6891 and from dnsmsg.h's rules (header
 *	QR 0, opcode 0, one question, no answers, at most one OPT record;
 *	uncompressed labels of 1..63 of [A-Za-z0-9_-], 253 characters in
 *	all; nothing after the last record), field by field, and must
 *	leave Q untouched when it refuses.
 *
 *	A parsed query is answered four ways (A, AAAA, MX, NODATA; the
 *	address, TTL and preference come from the input) into buffers of
 *	0, 1, 11, 12, exactly the size needed minus one, exactly, plus one,
 *	and 512 bytes, each its own allocation of exactly that size:
 *	-EMSGSIZE below the size, the size itself from there on, the same
 *	bytes every time. Each answer is decoded by the decoder here and
 *	by glibc's ns_initparse and ns_parserr: id, QR, RA, RD as asked, no
 *	AD, the question echoed, one answer record exactly when its type
 *	was asked for in class IN, the record's data, and an OPT record
 *	with payload size 1232 and the DO bit when the query had one.
 *	The NODATA answer turned back into a query (QR and RA cleared)
 *	parses to the same question.
 *
 *	The input up to its first NUL is also a name for
 *	onionshim_dns_query_init, which must accept exactly the names the
 *	rules above allow.
 * NEVER
 *	does I/O beyond an abort message.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <arpa/nameser.h>
#include <resolv.h>

#include "fuzz.h"
#include "onionshim/dnsmsg.h"

#define HDR		12
#define EDNS_UDP	1232
#define BIG		2048
#define EXCHANGE	"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"

/* --- a reader for what we check ------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static unsigned
r8(struct rd *r)
{
	if (r->bad || r->off >= r->len) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->off++];
}

static unsigned
r16(struct rd *r)
{
	unsigned hi = r8(r);

	return hi << 8 | r8(r);
}

static uint32_t
r32(struct rd *r)
{
	uint32_t hi = r16(r);

	return hi << 16 | r16(r);
}

static int
label_char(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* An uncompressed name into TEXT (dots between labels, none at the end). */
static void
rname(struct rd *r, char text[256])
{
	size_t n = 0;
	unsigned len, i;

	text[0] = '\0';
	while (!r->bad && (len = r8(r)) != 0) {
		if (len > 63 || n + (n > 0) + len > 253) {
			r->bad = 1;
			return;
		}
		if (n > 0)
			text[n++] = '.';
		for (i = 0; i < len; i++) {
			unsigned c = r8(r);

			if (!label_char(c))
				r->bad = 1;
			text[n++] = (char)c;
		}
		text[n] = '\0';
	}
}

/* --- the reference parser --------------------------------------------------- */

struct ref_query {
	unsigned id, flags, qtype, qclass, arcount;
	char qname[256];
	unsigned opt_udp;
	int opt_do;
};

static int
ref_parse(const uint8_t *msg, size_t len, struct ref_query *q)
{
	struct rd r = { msg, len, 0, 0 };
	unsigned qd, an, ns, owner, type, rdlen;
	uint32_t ttl;

	memset(q, 0, sizeof(*q));
	q->id = r16(&r);
	q->flags = r16(&r);
	qd = r16(&r);
	an = r16(&r);
	ns = r16(&r);
	q->arcount = r16(&r);
	if (r.bad || (q->flags & 0x8000) || ((q->flags >> 11) & 0xF) != 0 || qd != 1 ||
	    an != 0 || ns != 0 || q->arcount > 1)
		return -1;
	rname(&r, q->qname);
	q->qtype = r16(&r);
	q->qclass = r16(&r);
	if (q->arcount == 1) {
		owner = r8(&r);
		type = r16(&r);
		q->opt_udp = r16(&r);
		ttl = r32(&r);
		rdlen = r16(&r);
		if (r.bad || owner != 0 || type != ONIONSHIM_DNS_OPT || len - r.off < rdlen)
			return -1;
		r.off += rdlen;
		q->opt_do = (ttl & 0x8000) != 0;
	}
	return r.bad || r.off != len ? -1 : 0;
}

static void
check_parse_agrees(const uint8_t *data, size_t size, int rc,
		   const struct onionshim_dns_query *q)
{
	struct ref_query ref;
	int want = ref_parse(data, size, &ref);

	FUZZ_CHECK((rc == 0) == (want == 0));
	if (rc != 0)
		return;
	FUZZ_CHECK(q->id == ref.id);
	FUZZ_CHECK(q->rd == ((ref.flags & 0x0100) != 0));
	FUZZ_CHECK(strcmp(q->qname.buf, ref.qname) == 0);
	FUZZ_CHECK(q->qtype == ref.qtype && q->qclass == ref.qclass);
	FUZZ_CHECK(q->has_opt == (ref.arcount == 1));
	if (q->has_opt)
		FUZZ_CHECK(q->opt_udp_size == ref.opt_udp && q->opt_do == ref.opt_do);
}

/* --- checking an answer ------------------------------------------------------- */

static int
answered(const struct onionshim_dns_query *q, const struct onionshim_dns_answer *a)
{
	return a->type != 0 && a->type == q->qtype && q->qclass == ONIONSHIM_DNS_IN;
}

static void
check_rdata(struct rd *r, const struct onionshim_dns_answer *a)
{
	char name[256];
	unsigned rdlen;
	size_t start;

	FUZZ_CHECK(r16(r) == 0xC00C);
	FUZZ_CHECK(r16(r) == a->type);
	FUZZ_CHECK(r16(r) == ONIONSHIM_DNS_IN);
	FUZZ_CHECK(r32(r) == a->ttl);
	rdlen = r16(r);
	start = r->off;
	switch (a->type) {
	case ONIONSHIM_DNS_A:
		FUZZ_CHECK(rdlen == 4 && r->len - r->off >= 4);
		FUZZ_CHECK(memcmp(r->p + r->off, a->addr, 4) == 0);
		r->off += 4;
		break;
	case ONIONSHIM_DNS_AAAA:
		FUZZ_CHECK(rdlen == 16 && r->len - r->off >= 16);
		FUZZ_CHECK(memcmp(r->p + r->off, a->addr, 16) == 0);
		r->off += 16;
		break;
	default:
		FUZZ_CHECK(a->type == ONIONSHIM_DNS_MX);
		FUZZ_CHECK(r16(r) == a->preference);
		rname(r, name);
		FUZZ_CHECK(!r->bad && strcmp(name, a->exchange) == 0);
		break;
	}
	FUZZ_CHECK(!r->bad && r->off - start == rdlen);
}

/* The answer decoded here: header, question, answer record, OPT record. */
static void
check_answer(const uint8_t *msg, size_t len, const struct onionshim_dns_query *q,
	     const struct onionshim_dns_answer *a)
{
	struct rd r = { msg, len, 0, 0 };
	char qname[256];
	unsigned flags;
	int an = answered(q, a);

	FUZZ_CHECK(r16(&r) == q->id);
	flags = r16(&r);
	FUZZ_CHECK((flags & 0x8000) != 0);		/* QR */
	FUZZ_CHECK((flags & 0x7800) == 0);		/* opcode QUERY */
	FUZZ_CHECK((flags & 0x0400) == 0);		/* AA */
	FUZZ_CHECK((flags & 0x0200) == 0);		/* TC */
	FUZZ_CHECK(((flags & 0x0100) != 0) == (q->rd != 0));
	FUZZ_CHECK((flags & 0x0080) != 0);		/* RA */
	FUZZ_CHECK((flags & 0x0020) == 0);		/* AD, never */
	FUZZ_CHECK((flags & 0x000F) == 0);		/* NOERROR */
	FUZZ_CHECK(r16(&r) == 1);
	FUZZ_CHECK(r16(&r) == (unsigned)an);
	FUZZ_CHECK(r16(&r) == 0);
	FUZZ_CHECK(r16(&r) == (q->has_opt ? 1u : 0u));
	rname(&r, qname);
	FUZZ_CHECK(!r.bad && strcmp(qname, q->qname.buf) == 0);
	FUZZ_CHECK(r16(&r) == q->qtype);
	FUZZ_CHECK(r16(&r) == q->qclass);
	if (an)
		check_rdata(&r, a);
	if (q->has_opt) {
		FUZZ_CHECK(r8(&r) == 0);
		FUZZ_CHECK(r16(&r) == ONIONSHIM_DNS_OPT);
		FUZZ_CHECK(r16(&r) == EDNS_UDP);
		FUZZ_CHECK(r32(&r) == (q->opt_do ? 0x8000u : 0u));
		FUZZ_CHECK(r16(&r) == 0);
	}
	FUZZ_CHECK(!r.bad && r.off == len);
}

/* glibc's parser must read the answer the same way. */
static void
check_with_glibc(const uint8_t *msg, size_t len, const struct onionshim_dns_query *q,
		 const struct onionshim_dns_answer *a)
{
	char name[NS_MAXDNAME];
	ns_msg h;
	ns_rr rr;
	int an = answered(q, a);

	FUZZ_CHECK(ns_initparse(msg, (int)len, &h) == 0);
	FUZZ_CHECK(ns_msg_id(h) == q->id);
	FUZZ_CHECK(ns_msg_getflag(h, ns_f_qr) == 1 && ns_msg_getflag(h, ns_f_ad) == 0);
	FUZZ_CHECK(ns_msg_getflag(h, ns_f_rcode) == ns_r_noerror);
	FUZZ_CHECK(ns_msg_count(h, ns_s_qd) == 1);
	FUZZ_CHECK(ns_msg_count(h, ns_s_an) == an);
	FUZZ_CHECK(ns_parserr(&h, ns_s_qd, 0, &rr) == 0);
	/* glibc writes the root as "." and every other name without one. */
	FUZZ_CHECK(strcasecmp(ns_rr_name(rr), q->qname.buf[0] ? q->qname.buf : ".") == 0);
	FUZZ_CHECK(ns_rr_type(rr) == q->qtype && ns_rr_class(rr) == q->qclass);
	if (an) {
		FUZZ_CHECK(ns_parserr(&h, ns_s_an, 0, &rr) == 0);
		FUZZ_CHECK(strcasecmp(ns_rr_name(rr), q->qname.buf[0] ? q->qname.buf : ".") == 0);
		FUZZ_CHECK(ns_rr_type(rr) == a->type && ns_rr_ttl(rr) == a->ttl);
		if (a->type == ONIONSHIM_DNS_MX) {
			FUZZ_CHECK(ns_rr_rdlen(rr) >= 3);
			FUZZ_CHECK(ns_get16(ns_rr_rdata(rr)) == a->preference);
			FUZZ_CHECK(ns_name_uncompress(ns_msg_base(h), ns_msg_end(h),
						      ns_rr_rdata(rr) + 2, name, sizeof(name)) > 0);
			FUZZ_CHECK(strcmp(name, a->exchange) == 0);
		} else {
			FUZZ_CHECK(memcmp(ns_rr_rdata(rr), a->addr, ns_rr_rdlen(rr)) == 0);
		}
	}
	if (q->has_opt) {
		FUZZ_CHECK(ns_parserr(&h, ns_s_ar, 0, &rr) == 0);
		FUZZ_CHECK((int)ns_rr_type(rr) == ONIONSHIM_DNS_OPT && ns_rr_class(rr) == EDNS_UDP);
	}
}

/* The NODATA answer as a query again: the same question comes out. */
static void
check_round_trip(uint8_t *msg, size_t len, const struct onionshim_dns_query *q)
{
	struct onionshim_dns_query back;

	FUZZ_CHECK(onionshim_dns_parse_query(msg, len, &back) == -EBADMSG);
	msg[2] = q->rd ? 0x01 : 0x00;
	msg[3] = 0x00;
	FUZZ_CHECK(onionshim_dns_parse_query(msg, len, &back) == 0);
	FUZZ_CHECK(back.id == q->id && back.rd == q->rd);
	FUZZ_CHECK(strcmp(back.qname.buf, q->qname.buf) == 0);
	FUZZ_CHECK(back.qtype == q->qtype && back.qclass == q->qclass);
	FUZZ_CHECK(back.has_opt == q->has_opt);
	if (q->has_opt)
		FUZZ_CHECK(back.opt_udp_size == EDNS_UDP && back.opt_do == q->opt_do);
}

/* Build ANS into buffers of many sizes; each of exactly its size. */
static void
check_build(const struct onionshim_dns_query *q, const struct onionshim_dns_answer *a)
{
	uint8_t big[BIG];
	size_t sizes[8], i;
	int need, rc;

	need = onionshim_dns_build_answer(big, sizeof(big), q, a);
	FUZZ_CHECK(need >= HDR && need < BIG);
	check_answer(big, (size_t)need, q, a);
	check_with_glibc(big, (size_t)need, q, a);
	sizes[0] = 0;
	sizes[1] = 1;
	sizes[2] = HDR - 1;
	sizes[3] = HDR;
	sizes[4] = (size_t)need - 1;
	sizes[5] = (size_t)need;
	sizes[6] = (size_t)need + 1;
	sizes[7] = 512;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *out = malloc(sizes[i] > 0 ? sizes[i] : 1);

		FUZZ_CHECK(out != NULL);
		rc = onionshim_dns_build_answer(sizes[i] > 0 ? out : NULL, sizes[i], q, a);
		if (sizes[i] < (size_t)need)
			FUZZ_CHECK(rc == -EMSGSIZE);
		else
			FUZZ_CHECK(rc == need && memcmp(out, big, (size_t)need) == 0);
		free(out);
	}
	if (a->type == 0)
		check_round_trip(big, (size_t)need, q);
}

static uint32_t
take32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Answer Q every way the hooks do, with values from the input. */
static void
check_answers(const struct onionshim_dns_query *q, const uint8_t *data, size_t size)
{
	struct onionshim_dns_answer a;
	uint8_t pad[24];

	memset(pad, 0, sizeof(pad));
	memcpy(pad, data, size < sizeof(pad) ? size : sizeof(pad));
	memset(&a, 0, sizeof(a));
	memcpy(a.addr, pad, sizeof(a.addr));
	a.ttl = take32(pad + 16);
	a.preference = (uint16_t)(pad[20] << 8 | pad[21]);

	a.type = ONIONSHIM_DNS_A;
	check_build(q, &a);
	a.type = ONIONSHIM_DNS_AAAA;
	check_build(q, &a);
	a.type = ONIONSHIM_DNS_MX;
	a.exchange = EXCHANGE;
	check_build(q, &a);
	if (q->qname.buf[0] != '\0') {
		a.exchange = q->qname.buf;
		check_build(q, &a);
	}
	/* A null MX would tell the MTA to bounce: refused as an argument. */
	a.exchange = "";
	FUZZ_CHECK(onionshim_dns_build_answer(pad, sizeof(pad), q, &a) == -EINVAL);
	a.exchange = NULL;
	a.type = 0;
	check_build(q, &a);
}

/* --- names for res_query-style calls -------------------------------------- */

static int
ref_name_ok(const char *name)
{
	size_t len = strnlen(name, 300), i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (!label_char((unsigned char)name[i]) || ++label > 63) {
			return 0;
		}
	}
	return len == 0 || label > 0;
}

static void
check_query_init(const uint8_t *data, size_t size)
{
	struct onionshim_dns_query q;
	char name[300];
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	uint16_t type = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : ONIONSHIM_DNS_MX;
	int rc;

	memcpy(name, data, n);
	name[n] = '\0';
	rc = onionshim_dns_query_init(&q, name, ONIONSHIM_DNS_IN, type);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK((rc == 0) == ref_name_ok(name));
	if (rc != 0)
		return;
	FUZZ_CHECK(q.id == 0 && q.rd == 1 && !q.has_opt);
	FUZZ_CHECK(q.qtype == type && q.qclass == ONIONSHIM_DNS_IN);
	FUZZ_CHECK(strncmp(q.qname.buf, name, strlen(q.qname.buf)) == 0);
	check_answers(&q, data, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct onionshim_dns_query q, untouched;
	int rc;

	memset(&q, 0x5A, sizeof(q));
	untouched = q;
	rc = onionshim_dns_parse_query(data, size, &q);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	check_parse_agrees(data, size, rc, &q);
	if (rc != 0)
		FUZZ_CHECK(memcmp(&q, &untouched, sizeof(q)) == 0);
	else
		check_answers(&q, data, size);
	check_query_init(data, size);
	return 0;
}
