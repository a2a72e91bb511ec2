/*
 * NAME
 *	dnsmsg - DNS queries read and answers written for the res_* family
 * SYNOPSIS
 *	#include "onionshim/dnsmsg.h"
 *
 *	int onionshim_dns_parse_query(msg, len, q)
 *	int onionshim_dns_build_answer(out, outlen, q, ans)
 *	int onionshim_dns_query_init(q, name, qclass, qtype)
 * DESCRIPTION
 *	The res_* hooks answer onion and mapped names themselves, so that
 *	such names never reach a DNS server. onionshim_dns_parse_query()
 *	reads the raw query a program hands to res_send: one question with
 *	an uncompressed name, and at most one EDNS0 OPT record.
 *	onionshim_dns_query_init() describes the same question for the
 *	res_query-style calls that pass a name instead of a packet.
 *	onionshim_dns_build_answer() writes the response: the question
 *	echoed, one A, AAAA or MX record or none (NODATA), and an OPT record
 *	when the query carried one.
 *
 *	Names follow one rule everywhere: labels of 1..63 bytes from
 *	[A-Za-z0-9-_], at most 253 characters in text form, case kept as
 *	written. The root name is the empty string.
 *
 *	The OPT record of a response advertises a UDP payload size of 1232
 *	whatever the query said: the field states what the responder itself
 *	can receive (RFC 6891 6.2.3), not a limit on this message, and 1232
 *	is the size DNS Flag Day 2020 settled on. The DO bit is copied
 *	(RFC 3225 3). AA is clear: these answers come from no zone.
 * RETURNS
 *	0 or a length on success; -EBADMSG for a query that is not
 *	well-formed, -EMSGSIZE when the output buffer is too small, -EINVAL
 *	for a bad argument. The query is left untouched on failure.
 * NEVER
 *	allocates, does I/O, touches errno, follows a compression pointer
 *	inside a query, writes past the caller's buffer, or sets the AD bit.
 */
#include <errno.h>
#include <string.h>

#include "onionshim/dnsmsg.h"

#define DNS_HEADER_LEN	12
#define DNS_LABEL_MAX	63
#define DNS_NAME_MAX	253		/* text form, no trailing dot */
#define DNS_EDNS_UDP	1232

#define DNS_F_QR	0x8000
#define DNS_F_OPCODE	0x7800
#define DNS_F_RD	0x0100
#define DNS_F_RA	0x0080
#define DNS_EDNS_DO	0x8000		/* in the OPT record's TTL field */

/* The answer's owner is the question's name, right after the header. */
#define DNS_PTR_QNAME	(0xc000 | DNS_HEADER_LEN)

struct dns_reader {
	const uint8_t *p;
	size_t len, off;
	int err;
};

struct dns_writer {
	uint8_t *p;
	size_t len, off;
	int err;
};

/* --- reading ----------------------------------------------------------- */

static uint8_t
get_u8(struct dns_reader *r)
{
	if (r->err)
		return 0;
	if (r->off >= r->len) {
		r->err = -EBADMSG;
		return 0;
	}
	return r->p[r->off++];
}

static uint16_t
get_u16(struct dns_reader *r)
{
	uint16_t hi = get_u8(r);

	return (uint16_t)(hi << 8 | get_u8(r));
}

static uint32_t
get_u32(struct dns_reader *r)
{
	uint32_t hi = get_u16(r);

	return hi << 16 | get_u16(r);
}

static void
get_skip(struct dns_reader *r, size_t n)
{
	if (r->err)
		return;
	if (r->len - r->off < n) {
		r->err = -EBADMSG;
		return;
	}
	r->off += n;
}

static void
get_fail(struct dns_reader *r)
{
	r->err = -EBADMSG;
}

/*
 * Only what a host name or a mail domain needs: anything else (a dot or a
 * NUL inside a label, a space, a high byte) would change meaning when the
 * name is turned into text and compared with the map.
 */
static int
label_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * A question name in text form. A length byte above 63 is a compression
 * pointer (0xc0) or an extended label type (0x40, 0x80): a lone question
 * has nothing to point back to, so both are malformed here.
 */
static void
get_name(struct dns_reader *r, struct onionshim_name *out)
{
	size_t n = 0, i;
	uint8_t llen;

	while (!r->err && (llen = get_u8(r)) != 0) {
		if (llen > DNS_LABEL_MAX || n + (n > 0) + llen > DNS_NAME_MAX) {
			get_fail(r);
			break;
		}
		if (n > 0)
			out->buf[n++] = '.';
		for (i = 0; i < llen && !r->err; i++) {
			uint8_t c = get_u8(r);

			if (!label_byte_ok(c))
				get_fail(r);
			out->buf[n++] = (char)c;
		}
	}
	out->buf[n] = '\0';
}

/* The one additional record a query may carry: EDNS0's OPT (RFC 6891). */
static void
get_opt(struct dns_reader *r, struct onionshim_dns_query *q)
{
	uint8_t owner = get_u8(r);
	uint16_t type = get_u16(r);
	uint16_t udp_size = get_u16(r);
	uint32_t ttl = get_u32(r);

	/* Options (cookies, padding) change nothing in what we answer. */
	get_skip(r, get_u16(r));
	if (owner != 0 || type != ONIONSHIM_DNS_OPT)
		get_fail(r);
	q->has_opt = 1;
	q->opt_udp_size = udp_size;
	q->opt_do = (ttl & DNS_EDNS_DO) != 0;
}

int
onionshim_dns_parse_query(const uint8_t *msg, size_t len, struct onionshim_dns_query *q)
{
	struct dns_reader r = { msg, len, 0, 0 };
	struct onionshim_dns_query tmp;
	uint16_t flags, qdcount, ancount, nscount, arcount;

	if (q == NULL || (msg == NULL && len > 0))
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	tmp.id = get_u16(&r);
	flags = get_u16(&r);
	qdcount = get_u16(&r);
	ancount = get_u16(&r);
	nscount = get_u16(&r);
	arcount = get_u16(&r);
	if ((flags & (DNS_F_QR | DNS_F_OPCODE)) != 0 || qdcount != 1 ||
	    ancount != 0 || nscount != 0 || arcount > 1)
		get_fail(&r);
	tmp.rd = (flags & DNS_F_RD) != 0;
	get_name(&r, &tmp.qname);
	tmp.qtype = get_u16(&r);
	tmp.qclass = get_u16(&r);
	if (arcount == 1)
		get_opt(&r, &tmp);
	if (!r.err && r.off != r.len)
		get_fail(&r);
	if (r.err)
		return r.err;
	*q = tmp;
	return 0;
}

/* --- names in text form ------------------------------------------------ */

/*
 * Checks NAME against the label rules and stores in *LENP its length
 * without the one trailing dot an absolute name may carry. The root name
 * ("" or ".") has length 0.
 */
static int
name_check(const char *name, size_t *lenp)
{
	size_t len, i, label = 0;

	if (name == NULL)
		return -EINVAL;
	len = strnlen(name, DNS_NAME_MAX + 2);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > DNS_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
		} else if (!label_byte_ok((unsigned char)name[i]) || ++label > DNS_LABEL_MAX) {
			return -EINVAL;
		}
	}
	if (len > 0 && label == 0)
		return -EINVAL;
	*lenp = len;
	return 0;
}

/* Wire length of a checked name of LEN text characters. */
static size_t
name_wire_len(size_t len)
{
	return len == 0 ? 1 : len + 2;
}

/* --- writing ----------------------------------------------------------- */

static void
put_bytes(struct dns_writer *w, const void *src, size_t n)
{
	if (w->err)
		return;
	if (w->len - w->off < n) {
		w->err = -EMSGSIZE;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->off, src, n);
	w->off += n;
}

static void
put_u8(struct dns_writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void
put_u16(struct dns_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put_bytes(w, b, sizeof(b));
}

static void
put_u32(struct dns_writer *w, uint32_t v)
{
	put_u16(w, (uint16_t)(v >> 16));
	put_u16(w, (uint16_t)v);
}

/* NAME has passed name_check(); LEN is the length it reported. */
static void
put_name(struct dns_writer *w, const char *name, size_t len)
{
	while (len > 0) {
		const char *dot = memchr(name, '.', len);
		size_t llen = dot ? (size_t)(dot - name) : len;

		put_u8(w, (uint8_t)llen);
		put_bytes(w, name, llen);
		name += llen;
		len -= llen;
		if (dot) {
			name++;
			len--;
		}
	}
	put_u8(w, 0);
}

/*
 * What we can answer: the three types the library knows, or none. An MX
 * needs a real exchanger: the root name would be a null MX (RFC 7505),
 * which tells the MTA to bounce instead of delivering over Tor.
 */
static int
answer_check(const struct onionshim_dns_answer *ans, size_t *xlenp)
{
	switch (ans->type) {
	case 0:
	case ONIONSHIM_DNS_A:
	case ONIONSHIM_DNS_AAAA:
		return 0;
	case ONIONSHIM_DNS_MX:
		if (name_check(ans->exchange, xlenp) < 0 || *xlenp == 0)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

static int
answers_question(const struct onionshim_dns_query *q, const struct onionshim_dns_answer *ans)
{
	return ans->type != 0 && ans->type == q->qtype && q->qclass == ONIONSHIM_DNS_IN;
}

static void
put_header(struct dns_writer *w, const struct onionshim_dns_query *q, int answered)
{
	uint16_t flags = DNS_F_QR | DNS_F_RA | (q->rd ? DNS_F_RD : 0);

	put_u16(w, q->id);
	put_u16(w, flags);
	put_u16(w, 1);
	put_u16(w, answered ? 1 : 0);
	put_u16(w, 0);
	put_u16(w, q->has_opt ? 1 : 0);
}

static void
put_answer(struct dns_writer *w, const struct onionshim_dns_answer *ans, size_t xlen)
{
	put_u16(w, DNS_PTR_QNAME);
	put_u16(w, ans->type);
	put_u16(w, ONIONSHIM_DNS_IN);
	put_u32(w, ans->ttl);
	switch (ans->type) {
	case ONIONSHIM_DNS_A:
		put_u16(w, 4);
		put_bytes(w, ans->addr, 4);
		break;
	case ONIONSHIM_DNS_AAAA:
		put_u16(w, 16);
		put_bytes(w, ans->addr, 16);
		break;
	case ONIONSHIM_DNS_MX:
		put_u16(w, (uint16_t)(2 + name_wire_len(xlen)));
		put_u16(w, ans->preference);
		put_name(w, ans->exchange, xlen);
		break;
	}
}

static void
put_opt(struct dns_writer *w, int dnssec_ok)
{
	put_u8(w, 0);
	put_u16(w, ONIONSHIM_DNS_OPT);
	put_u16(w, DNS_EDNS_UDP);
	put_u32(w, dnssec_ok ? DNS_EDNS_DO : 0);
	put_u16(w, 0);
}

int
onionshim_dns_build_answer(uint8_t *out, size_t outlen, const struct onionshim_dns_query *q,
			   const struct onionshim_dns_answer *ans)
{
	struct dns_writer w = { out, outlen, 0, 0 };
	size_t qlen, xlen = 0;
	int answered;

	/* Arguments first, so that a short buffer is the only later error. */
	if (q == NULL || ans == NULL || (out == NULL && outlen > 0) ||
	    name_check(q->qname.buf, &qlen) < 0 || answer_check(ans, &xlen) < 0)
		return -EINVAL;
	answered = answers_question(q, ans);
	put_header(&w, q, answered);
	put_name(&w, q->qname.buf, qlen);
	put_u16(&w, q->qtype);
	put_u16(&w, q->qclass);
	if (answered)
		put_answer(&w, ans, xlen);
	if (q->has_opt)
		put_opt(&w, q->opt_do);
	return w.err ? w.err : (int)w.off;
}

/* --- res_query-style questions ------------------------------------------ */

int
onionshim_dns_query_init(struct onionshim_dns_query *q, const char *name, uint16_t qclass,
			 uint16_t qtype)
{
	size_t len;

	if (q == NULL || name_check(name, &len) < 0)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	memcpy(q->qname.buf, name, len);
	q->qname.buf[len] = '\0';
	q->rd = 1;
	q->qclass = qclass;
	q->qtype = qtype;
	return 0;
}
