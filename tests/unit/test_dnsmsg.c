/*
 * test_dnsmsg - the DNS messages the res_* hooks parse and build.
 *
 * Queries come from glibc's own res_mkquery where it can make them, and
 * otherwise from a small builder below. Answers are checked byte for byte
 * where the layout is short, and otherwise decoded by an independent decoder
 * in this file whose names go through glibc's dn_expand (ns_initparse lives
 * in libresolv, which the unit test link line does not have).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/nameser.h>
#include <resolv.h>

#include <cmocka.h>

#include "onionshim/dnsmsg.h"

#define ONION56 "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"

enum { DNS_TXT = 16, DNS_CHAOS = 3 };

/* --- building queries by hand ------------------------------------------- */

struct tmsg {
	uint8_t b[1024];
	size_t n;
};

static void
t_bytes(struct tmsg *m, const void *src, size_t n)
{
	assert_true(n <= sizeof(m->b) - m->n);
	memcpy(m->b + m->n, src, n);
	m->n += n;
}

static void
t_u8(struct tmsg *m, uint8_t v)
{
	t_bytes(m, &v, 1);
}

static void
t_u16(struct tmsg *m, uint16_t v)
{
	t_u8(m, (uint8_t)(v >> 8));
	t_u8(m, (uint8_t)v);
}

static void
t_u32(struct tmsg *m, uint32_t v)
{
	t_u16(m, (uint16_t)(v >> 16));
	t_u16(m, (uint16_t)v);
}

static void
t_header(struct tmsg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
	 uint16_t ar)
{
	t_u16(m, id);
	t_u16(m, flags);
	t_u16(m, qd);
	t_u16(m, an);
	t_u16(m, ns);
	t_u16(m, ar);
}

/* One label of LEN copies of FILL. */
static void
t_label(struct tmsg *m, size_t len, char fill)
{
	t_u8(m, (uint8_t)len);
	while (len-- > 0)
		t_u8(m, (uint8_t)fill);
}

/* TEXT as uncompressed labels, split at dots; "" is the root. */
static void
t_name(struct tmsg *m, const char *text)
{
	while (*text != '\0') {
		size_t len = strcspn(text, ".");

		t_u8(m, (uint8_t)len);
		t_bytes(m, text, len);
		text += len;
		if (*text == '.')
			text++;
	}
	t_u8(m, 0);
}

static void
t_opt(struct tmsg *m, uint16_t udp_size, uint32_t ttl)
{
	t_u8(m, 0);
	t_u16(m, ONIONSHIM_DNS_OPT);
	t_u16(m, udp_size);
	t_u32(m, ttl);
	t_u16(m, 0);
}

/* An A record for 192.0.2.1 owned by the question's name. */
static void
t_a_record(struct tmsg *m)
{
	static const uint8_t addr[4] = { 192, 0, 2, 1 };

	t_u16(m, 0xc00c);
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
	t_u32(m, 60);
	t_u16(m, 4);
	t_bytes(m, addr, 4);
}

static void
t_question(struct tmsg *m)
{
	t_name(m, "mail.example.org");
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

/* The valid query every malformed one below differs from in one way. */
static void
t_base(struct tmsg *m)
{
	t_header(m, 0x1234, 0x0100, 1, 0, 0, 0);
	t_question(m);
}

static void
t_base_with_opt(struct tmsg *m)
{
	t_header(m, 0x1234, 0x0100, 1, 0, 0, 1);
	t_question(m);
	t_opt(m, 1232, 0x8000);
}

/* --- decoding answers independently ------------------------------------- */

struct drr {
	char name[NS_MAXDNAME];
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdoff;
};

struct decoded {
	uint16_t id, flags, qd, an, ns, ar;
	char qname[NS_MAXDNAME];
	uint16_t qtype, qclass;
	struct drr rr[4];
	size_t nrr;
};

static uint16_t
d_u16(const uint8_t *msg, size_t len, size_t *off)
{
	assert_true(*off + 2 <= len);
	*off += 2;
	return (uint16_t)(msg[*off - 2] << 8 | msg[*off - 1]);
}

/* glibc's own name decoder: it follows pointers and checks bounds. */
static void
d_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsize)
{
	int n = dn_expand(msg, msg + len, msg + *off, out, (int)outsize);

	assert_true(n > 0);
	*off += (size_t)n;
}

static void
decode(const uint8_t *msg, size_t len, struct decoded *d)
{
	size_t off = 0, i;

	memset(d, 0, sizeof(*d));
	d->id = d_u16(msg, len, &off);
	d->flags = d_u16(msg, len, &off);
	d->qd = d_u16(msg, len, &off);
	d->an = d_u16(msg, len, &off);
	d->ns = d_u16(msg, len, &off);
	d->ar = d_u16(msg, len, &off);
	assert_int_equal(d->qd, 1);
	d_name(msg, len, &off, d->qname, sizeof(d->qname));
	d->qtype = d_u16(msg, len, &off);
	d->qclass = d_u16(msg, len, &off);
	d->nrr = (size_t)d->an + d->ns + d->ar;
	assert_true(d->nrr <= 4);
	for (i = 0; i < d->nrr; i++) {
		struct drr *rr = &d->rr[i];

		d_name(msg, len, &off, rr->name, sizeof(rr->name));
		rr->type = d_u16(msg, len, &off);
		rr->class = d_u16(msg, len, &off);
		rr->ttl = (uint32_t)d_u16(msg, len, &off) << 16;
		rr->ttl |= d_u16(msg, len, &off);
		rr->rdlen = d_u16(msg, len, &off);
		rr->rdoff = off;
		assert_true(off + rr->rdlen <= len);
		off += rr->rdlen;
	}
	assert_int_equal(off, len);
}

/* --- helpers ------------------------------------------------------------ */

static struct onionshim_dns_query
query_for(const char *name, uint16_t qclass, uint16_t qtype)
{
	struct onionshim_dns_query q;

	assert_int_equal(onionshim_dns_query_init(&q, name, qclass, qtype), 0);
	q.id = 0xbeef;
	return q;
}

static struct onionshim_dns_answer
a_answer(void)
{
	static const uint8_t addr[4] = { 240, 1, 2, 3 };
	struct onionshim_dns_answer ans = { .type = ONIONSHIM_DNS_A, .ttl = 300 };

	memcpy(ans.addr, addr, sizeof(addr));
	return ans;
}

static struct onionshim_dns_answer
mx_answer(void)
{
	struct onionshim_dns_answer ans = {
		.type = ONIONSHIM_DNS_MX,
		.exchange = ONION56 ".onion",
		.preference = 10,
		.ttl = 3600,
	};

	return ans;
}

static int
build(uint8_t *out, size_t outlen, const struct onionshim_dns_query *q,
      const struct onionshim_dns_answer *ans)
{
	return onionshim_dns_build_answer(out, outlen, q, ans);
}

/* --- parsing: accepted queries ------------------------------------------ */

static void
test_parses_query_built_by_glibc_res_mkquery(void **state)
{
	struct onionshim_dns_query q;
	uint8_t buf[512];
	int n;

	(void)state;
	n = res_mkquery(ns_o_query, "Mail.Example.ORG", ns_c_in, ns_t_mx, NULL, 0, NULL, buf,
			sizeof(buf));
	assert_true(n > 12);
	assert_int_equal(onionshim_dns_parse_query(buf, (size_t)n, &q), 0);
	assert_int_equal(q.id, buf[0] << 8 | buf[1]);
	assert_int_equal(q.rd, (buf[2] & 0x01) != 0);
	assert_string_equal(q.qname.buf, "Mail.Example.ORG");
	assert_int_equal(q.qtype, ONIONSHIM_DNS_MX);
	assert_int_equal(q.qclass, ONIONSHIM_DNS_IN);
	assert_int_equal(q.has_opt, 0);
}

static void
test_parses_opt_udp_size_and_do_bit(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_base_with_opt(&m);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.rd, 1);
	assert_string_equal(q.qname.buf, "mail.example.org");
	assert_int_equal(q.qtype, ONIONSHIM_DNS_A);
	assert_int_equal(q.qclass, ONIONSHIM_DNS_IN);
	assert_int_equal(q.has_opt, 1);
	assert_int_equal(q.opt_udp_size, 1232);
	assert_int_equal(q.opt_do, 1);
}

static void
test_parses_opt_with_options_and_do_clear(void **state)
{
	static const uint8_t cookie[12] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_header(&m, 7, 0x0100, 1, 0, 0, 1);
	t_question(&m);
	t_u8(&m, 0);
	t_u16(&m, ONIONSHIM_DNS_OPT);
	t_u16(&m, 4096);
	t_u32(&m, 0);
	t_u16(&m, sizeof(cookie));
	t_bytes(&m, cookie, sizeof(cookie));
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_int_equal(q.has_opt, 1);
	assert_int_equal(q.opt_udp_size, 4096);
	assert_int_equal(q.opt_do, 0);
}

static void
test_preserves_case_of_qname(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_header(&m, 1, 0x0100, 1, 0, 0, 0);
	t_name(&m, "MaIl.ExAmPlE.oRg");
	t_u16(&m, ONIONSHIM_DNS_MX);
	t_u16(&m, ONIONSHIM_DNS_IN);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_string_equal(q.qname.buf, "MaIl.ExAmPlE.oRg");
}

static void
test_parses_root_name_as_empty(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_header(&m, 1, 0x0100, 1, 0, 0, 0);
	t_name(&m, "");
	t_u16(&m, 2);
	t_u16(&m, ONIONSHIM_DNS_IN);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_string_equal(q.qname.buf, "");
	assert_int_equal(q.qtype, 2);
}

static void
test_parses_rd_clear(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_header(&m, 1, 0x0000, 1, 0, 0, 0);
	t_question(&m);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_int_equal(q.rd, 0);
}

/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters, with '-' and '_'. */
static void
test_accepts_longest_name_and_label(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	(void)state;
	t_header(&m, 1, 0x0100, 1, 0, 0, 0);
	t_label(&m, 63, 'a');
	t_label(&m, 63, '-');
	t_label(&m, 63, '_');
	t_label(&m, 61, '9');
	t_u8(&m, 0);
	t_u16(&m, ONIONSHIM_DNS_A);
	t_u16(&m, ONIONSHIM_DNS_IN);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_int_equal(strlen(q.qname.buf), 253);
	assert_int_equal(q.qname.buf[63], '.');
	assert_int_equal(q.qname.buf[64], '-');
	assert_int_equal(q.qname.buf[252], '9');
}

/* --- parsing: malformed queries, one table entry each ------------------- */

struct bad_query {
	void (*make)(struct tmsg *m);
};

static void
test_rejects_bad_query(void **state)
{
	const struct bad_query *c = *state;
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };

	memset(&q, 0x5a, sizeof(q));
	c->make(&m);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), -EBADMSG);
	assert_int_equal(q.id, 0x5a5a);
}

static void
bad_truncated_header(struct tmsg *m)
{
	t_base(m);
	m->n = 11;
}

static void
bad_truncated_question_name(struct tmsg *m)
{
	t_base(m);
	m->n = 12 + 3;
}

static void
bad_truncated_question_class(struct tmsg *m)
{
	t_base(m);
	m->n -= 1;
}

static void
bad_qr_set(struct tmsg *m)
{
	t_header(m, 1, 0x8100, 1, 0, 0, 0);
	t_question(m);
}

static void
bad_opcode_iquery(struct tmsg *m)
{
	t_header(m, 1, 0x0900, 1, 0, 0, 0);
	t_question(m);
}

static void
bad_qdcount_0(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 0, 0, 0, 0);
	t_question(m);
}

static void
bad_qdcount_2(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 2, 0, 0, 0);
	t_question(m);
	t_question(m);
}

/* The count alone: nothing else about the message is wrong. */
static void
bad_qdcount_2_one_question(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 2, 0, 0, 0);
	t_question(m);
}

static void
bad_ancount_1(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 1, 0, 0);
	t_question(m);
}

static void
bad_ancount_1_with_record(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 1, 0, 0);
	t_question(m);
	t_a_record(m);
}

static void
bad_nscount_1(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 1, 0);
	t_question(m);
}

static void
bad_arcount_2(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 2);
	t_question(m);
	t_opt(m, 1232, 0);
	t_opt(m, 1232, 0);
}

static void
bad_pointer_in_qname(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 0);
	t_label(m, 4, 'm');
	t_u16(m, 0xc00c);
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

static void
bad_extended_label_type(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 0);
	t_u8(m, 0x41);
	t_u8(m, 8);
	t_u8(m, 0xff);
	t_u8(m, 0);
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

static void
bad_label_64(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 0);
	t_label(m, 64, 'a');
	t_name(m, "org");
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

/* 63 + 1 + 63 + 1 + 63 + 1 + 62 = 254 characters. */
static void
bad_name_254(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 0);
	t_label(m, 63, 'a');
	t_label(m, 63, 'b');
	t_label(m, 63, 'c');
	t_label(m, 62, 'd');
	t_u8(m, 0);
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

static void
t_question_with_label_byte(struct tmsg *m, uint8_t c)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 0);
	t_u8(m, 3);
	t_u8(m, 'a');
	t_u8(m, c);
	t_u8(m, 'b');
	t_name(m, "org");
	t_u16(m, ONIONSHIM_DNS_A);
	t_u16(m, ONIONSHIM_DNS_IN);
}

static void
bad_space_in_label(struct tmsg *m)
{
	t_question_with_label_byte(m, ' ');
}

static void
bad_dot_in_label(struct tmsg *m)
{
	t_question_with_label_byte(m, '.');
}

static void
bad_nul_in_label(struct tmsg *m)
{
	t_question_with_label_byte(m, 0);
}

static void
bad_high_byte_in_label(struct tmsg *m)
{
	t_question_with_label_byte(m, 0xc3);
}

static void
bad_star_in_label(struct tmsg *m)
{
	t_question_with_label_byte(m, '*');
}

static void
bad_trailing_garbage(struct tmsg *m)
{
	t_base(m);
	t_u8(m, 0);
}

static void
bad_trailing_garbage_after_opt(struct tmsg *m)
{
	t_base_with_opt(m);
	t_u8(m, 0);
}

static void
bad_arcount_1_non_opt(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 1);
	t_question(m);
	t_a_record(m);
}

static void
bad_opt_with_non_root_name(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 1);
	t_question(m);
	t_name(m, "x");
	t_u16(m, ONIONSHIM_DNS_OPT);
	t_u16(m, 1232);
	t_u32(m, 0);
	t_u16(m, 0);
}

/* Every OPT field where it belongs, only the owner byte is not root. */
static void
bad_opt_owner_not_root(struct tmsg *m)
{
	t_base_with_opt(m);
	m->b[m->n - 11] = 1;
}

static void
bad_opt_rdata_past_end(struct tmsg *m)
{
	t_header(m, 1, 0x0100, 1, 0, 0, 1);
	t_question(m);
	t_u8(m, 0);
	t_u16(m, ONIONSHIM_DNS_OPT);
	t_u16(m, 1232);
	t_u32(m, 0);
	t_u16(m, 4);
	t_u16(m, 0);
}

#define BAD(tag) \
	static struct bad_query case_##tag = { bad_##tag }
BAD(truncated_header);
BAD(truncated_question_name);
BAD(truncated_question_class);
BAD(qr_set);
BAD(opcode_iquery);
BAD(qdcount_0);
BAD(qdcount_2);
BAD(qdcount_2_one_question);
BAD(ancount_1);
BAD(ancount_1_with_record);
BAD(nscount_1);
BAD(arcount_2);
BAD(pointer_in_qname);
BAD(extended_label_type);
BAD(label_64);
BAD(name_254);
BAD(space_in_label);
BAD(dot_in_label);
BAD(nul_in_label);
BAD(high_byte_in_label);
BAD(star_in_label);
BAD(trailing_garbage);
BAD(trailing_garbage_after_opt);
BAD(arcount_1_non_opt);
BAD(opt_with_non_root_name);
BAD(opt_owner_not_root);
BAD(opt_rdata_past_end);

/* Each case is its own test, so that the runner names the one that fails. */
#define REJECTS(tag) \
	{ "test_rejects_" #tag, test_rejects_bad_query, NULL, NULL, &case_##tag }

static void
test_rejects_every_truncation(void **state)
{
	struct onionshim_dns_query q;
	struct tmsg m = { .n = 0 };
	size_t n;

	(void)state;
	t_base_with_opt(&m);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	for (n = 0; n < m.n; n++)
		assert_int_equal(onionshim_dns_parse_query(m.b, n, &q), -EBADMSG);
}

/* --- building answers --------------------------------------------------- */

static void
test_builds_a_answer_byte_exact(void **state)
{
	static const uint8_t want[] = {
		0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'o', 'r', 'g', 0, 0, 1, 0, 1,
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 240, 1, 2, 3,
	};
	struct onionshim_dns_query q = query_for("mail.example.org", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	uint8_t out[512];

	(void)state;
	assert_int_equal(build(out, sizeof(out), &q, &ans), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_builds_aaaa_answer(void **state)
{
	static const uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					  0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78 };
	struct onionshim_dns_query q = query_for("mail.example.org", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_AAAA);
	struct onionshim_dns_answer ans = { .type = ONIONSHIM_DNS_AAAA, .ttl = 60 };
	struct decoded d;
	uint8_t out[512];
	int n;

	(void)state;
	memcpy(ans.addr, addr, sizeof(addr));
	n = build(out, sizeof(out), &q, &ans);
	assert_int_equal(n, 12 + 22 + 12 + 16);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.an, 1);
	assert_string_equal(d.rr[0].name, "mail.example.org");
	assert_int_equal(d.rr[0].type, ONIONSHIM_DNS_AAAA);
	assert_int_equal(d.rr[0].class, ONIONSHIM_DNS_IN);
	assert_int_equal(d.rr[0].ttl, 60);
	assert_int_equal(d.rr[0].rdlen, 16);
	assert_memory_equal(out + d.rr[0].rdoff, addr, 16);
}

static void
test_builds_mx_answer_with_onion_exchange(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, ONIONSHIM_DNS_MX);
	struct onionshim_dns_answer ans = mx_answer();
	char exchange[NS_MAXDNAME];
	struct decoded d;
	uint8_t out[512];
	int n;

	(void)state;
	n = build(out, sizeof(out), &q, &ans);
	assert_true(n > 0);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.an, 1);
	assert_string_equal(d.rr[0].name, "example.org");
	assert_int_equal(d.rr[0].type, ONIONSHIM_DNS_MX);
	assert_int_equal(d.rr[0].ttl, 3600);
	assert_int_equal(d.rr[0].rdlen, 2 + 1 + 56 + 1 + 5 + 1);
	assert_int_equal(out[d.rr[0].rdoff] << 8 | out[d.rr[0].rdoff + 1], 10);
	assert_int_equal(dn_expand(out, out + n, out + d.rr[0].rdoff + 2, exchange,
				   sizeof(exchange)),
			 d.rr[0].rdlen - 2);
	assert_string_equal(exchange, ONION56 ".onion");
}

/* A, MX and OPT records of our answers, read back by glibc's dn_expand. */
static void
test_answers_decode_with_glibc_name_parser(void **state)
{
	struct onionshim_dns_query q = query_for("Example.ORG", ONIONSHIM_DNS_IN, ONIONSHIM_DNS_MX);
	struct onionshim_dns_answer mx = mx_answer(), a = a_answer();
	struct decoded d;
	uint8_t out[512];
	int n;

	(void)state;
	q.has_opt = 1;
	q.opt_udp_size = 4096;
	q.opt_do = 1;
	n = build(out, sizeof(out), &q, &mx);
	assert_true(n > 0);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.id, 0xbeef);
	assert_int_equal(d.flags, 0x8180);
	assert_string_equal(d.qname, "Example.ORG");
	assert_int_equal(d.qtype, ONIONSHIM_DNS_MX);
	assert_int_equal(d.qclass, ONIONSHIM_DNS_IN);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.ns, 0);
	assert_int_equal(d.ar, 1);
	assert_string_equal(d.rr[0].name, "Example.ORG");
	assert_int_equal(d.rr[0].type, ONIONSHIM_DNS_MX);
	assert_string_equal(d.rr[1].name, "");
	assert_int_equal(d.rr[1].type, ONIONSHIM_DNS_OPT);

	q.qtype = ONIONSHIM_DNS_A;
	q.has_opt = 0;
	n = build(out, sizeof(out), &q, &a);
	assert_true(n > 0);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.ar, 0);
	assert_string_equal(d.rr[0].name, "Example.ORG");
	assert_int_equal(d.rr[0].type, ONIONSHIM_DNS_A);
	assert_int_equal(d.rr[0].rdlen, 4);
	assert_memory_equal(out + d.rr[0].rdoff, ((const uint8_t[]){ 240, 1, 2, 3 }), 4);
}

static void
test_answers_nodata_when_type_differs(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, DNS_TXT);
	struct onionshim_dns_answer ans = mx_answer();
	struct decoded d;
	uint8_t out[512];
	int n;

	(void)state;
	n = build(out, sizeof(out), &q, &ans);
	assert_int_equal(n, 12 + 13 + 4);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.flags, 0x8180);
	assert_int_equal(d.an, 0);
	assert_int_equal(d.qtype, DNS_TXT);
}

static void
test_answers_nodata_when_class_is_chaos(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", DNS_CHAOS, ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	struct decoded d;
	uint8_t out[512];
	int n;

	(void)state;
	n = build(out, sizeof(out), &q, &ans);
	assert_int_equal(n, 12 + 13 + 4);
	decode(out, (size_t)n, &d);
	assert_int_equal(d.flags, 0x8180);
	assert_int_equal(d.an, 0);
	assert_int_equal(d.qclass, DNS_CHAOS);
}

static void
test_answers_nodata_for_type_zero(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, 0);
	struct onionshim_dns_answer ans = { .type = 0 };
	uint8_t out[512];

	(void)state;
	assert_int_equal(build(out, sizeof(out), &q, &ans), 12 + 13 + 4);
	assert_int_equal(out[7], 0);
}

/* RFC 6891: our own size, not the query's; RFC 3225: DO copied. */
static void
test_echoes_opt_record_with_do_bit(void **state)
{
	static const uint8_t opt_do[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
	static const uint8_t opt_plain[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	struct onionshim_dns_query q = query_for("mail.example.org", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	uint8_t out[512];
	int n;

	(void)state;
	q.has_opt = 1;
	q.opt_udp_size = 4096;
	q.opt_do = 1;
	n = build(out, sizeof(out), &q, &ans);
	assert_int_equal(n, 50 + 11);
	assert_int_equal(out[11], 1);
	assert_memory_equal(out + 50, opt_do, sizeof(opt_do));

	q.opt_udp_size = 512;
	q.opt_do = 0;
	n = build(out, sizeof(out), &q, &ans);
	assert_int_equal(n, 50 + 11);
	assert_memory_equal(out + 50, opt_plain, sizeof(opt_plain));
}

/* RFC 6840 lets a query set AD; our answers never do, nor AA, TC or CD. */
static void
test_never_sets_ad_bit(void **state)
{
	struct onionshim_dns_query q;
	struct onionshim_dns_answer ans = a_answer();
	struct tmsg m = { .n = 0 };
	uint8_t out[512];

	(void)state;
	t_header(&m, 1, 0x0130, 1, 0, 0, 1);
	t_question(&m);
	t_opt(&m, 1232, 0x8000);
	assert_int_equal(onionshim_dns_parse_query(m.b, m.n, &q), 0);
	assert_true(build(out, sizeof(out), &q, &ans) > 0);
	assert_int_equal(out[2] << 8 | out[3], 0x8180);
}

static void
test_copies_rd_bit(void **state)
{
	struct onionshim_dns_query q = query_for("mail.example.org", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	uint8_t out[512];

	(void)state;
	q.rd = 0;
	assert_true(build(out, sizeof(out), &q, &ans) > 0);
	assert_int_equal(out[2] << 8 | out[3], 0x8080);
	q.rd = 1;
	assert_true(build(out, sizeof(out), &q, &ans) > 0);
	assert_int_equal(out[2] << 8 | out[3], 0x8180);
}

static void
test_copies_id(void **state)
{
	struct onionshim_dns_query q = query_for("mail.example.org", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	uint8_t out[512];

	(void)state;
	q.id = 0xa55a;
	assert_true(build(out, sizeof(out), &q, &ans) > 0);
	assert_int_equal(out[0], 0xa5);
	assert_int_equal(out[1], 0x5a);
}

static void
test_echoes_question_exactly(void **state)
{
	static const uint8_t want[] = {
		4, 'M', 'a', 'I', 'l', 2, 'E', 'x', 3, 'o', 'R', 'g', 0, 0, 15, 0, 1,
	};
	struct onionshim_dns_query q = query_for("MaIl.Ex.oRg", ONIONSHIM_DNS_IN,
						 ONIONSHIM_DNS_MX);
	struct onionshim_dns_answer ans = mx_answer();
	uint8_t out[512];

	(void)state;
	assert_true(build(out, sizeof(out), &q, &ans) > 0);
	assert_int_equal(out[4] << 8 | out[5], 1);
	assert_memory_equal(out + 12, want, sizeof(want));
}

struct build_case {
	const char *qname;
	uint16_t qtype;
	int has_opt;
	struct onionshim_dns_answer (*answer)(void);
};

static const struct build_case short_buffer_cases[] = {
	{ "mail.example.org", ONIONSHIM_DNS_A, 0, a_answer },
	{ "example.org", ONIONSHIM_DNS_MX, 1, mx_answer },
	{ "example.org", DNS_TXT, 1, mx_answer },
};

/* Every length short of the answer fails, and nothing past it is touched. */
static void
test_reports_emsgsize_for_every_short_buffer(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(short_buffer_cases) / sizeof(short_buffer_cases[0]); i++) {
		const struct build_case *c = &short_buffer_cases[i];
		struct onionshim_dns_query q = query_for(c->qname, ONIONSHIM_DNS_IN, c->qtype);
		struct onionshim_dns_answer ans = c->answer();
		uint8_t full[512], out[512 + 16];
		int exact;

		q.has_opt = c->has_opt;
		exact = build(full, sizeof(full), &q, &ans);
		assert_true(exact > 12);
		for (n = 0; n < (size_t)exact; n++) {
			size_t j;

			memset(out, 0xa5, sizeof(out));
			assert_int_equal(build(out, n, &q, &ans), -EMSGSIZE);
			for (j = n; j < sizeof(out); j++)
				assert_int_equal(out[j], 0xa5);
		}
	}
}

static void
test_exact_length_succeeds(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(short_buffer_cases) / sizeof(short_buffer_cases[0]); i++) {
		const struct build_case *c = &short_buffer_cases[i];
		struct onionshim_dns_query q = query_for(c->qname, ONIONSHIM_DNS_IN, c->qtype);
		struct onionshim_dns_answer ans = c->answer();
		uint8_t full[512], out[512];
		int exact;

		q.has_opt = c->has_opt;
		exact = build(full, sizeof(full), &q, &ans);
		assert_true(exact > 12);
		assert_int_equal(build(out, (size_t)exact, &q, &ans), exact);
		assert_memory_equal(out, full, (size_t)exact);
	}
}

static const char *const bad_exchanges[] = {
	NULL,
	"",
	".",
	"bad name.onion",
	"a..onion",
	".a.onion",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion",
	ONION56 "." ONION56 "." ONION56 "." ONION56 "." ONION56 ".onion",
};

/* "." would be a null MX (RFC 7505): the MTA would bounce, not defer. */
static void
test_rejects_bad_mx_exchange(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, ONIONSHIM_DNS_MX);
	struct onionshim_dns_answer ans = mx_answer();
	uint8_t out[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_exchanges) / sizeof(bad_exchanges[0]); i++) {
		ans.exchange = bad_exchanges[i];
		assert_int_equal(build(out, sizeof(out), &q, &ans), -EINVAL);
	}
}

static void
test_rejects_unknown_answer_type(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, DNS_TXT);
	struct onionshim_dns_answer ans = { .type = DNS_TXT };
	uint8_t out[512];

	(void)state;
	assert_int_equal(build(out, sizeof(out), &q, &ans), -EINVAL);
}

static void
test_rejects_bad_stored_qname(void **state)
{
	struct onionshim_dns_query q = query_for("example.org", ONIONSHIM_DNS_IN, ONIONSHIM_DNS_A);
	struct onionshim_dns_answer ans = a_answer();
	uint8_t out[512];

	(void)state;
	memcpy(q.qname.buf, "a b.org", sizeof("a b.org"));
	assert_int_equal(build(out, sizeof(out), &q, &ans), -EINVAL);
	memset(q.qname.buf, 'a', sizeof(q.qname.buf));
	assert_int_equal(build(out, sizeof(out), &q, &ans), -EINVAL);
}

/* --- res_query-style questions ------------------------------------------ */

static void
test_query_init_fills_res_query_defaults(void **state)
{
	struct onionshim_dns_query q;

	(void)state;
	memset(&q, 0x5a, sizeof(q));
	assert_int_equal(onionshim_dns_query_init(&q, "Example.ORG", ONIONSHIM_DNS_IN,
						  ONIONSHIM_DNS_MX),
			 0);
	assert_int_equal(q.id, 0);
	assert_int_equal(q.rd, 1);
	assert_string_equal(q.qname.buf, "Example.ORG");
	assert_int_equal(q.qclass, ONIONSHIM_DNS_IN);
	assert_int_equal(q.qtype, ONIONSHIM_DNS_MX);
	assert_int_equal(q.has_opt, 0);
	assert_int_equal(q.opt_udp_size, 0);
	assert_int_equal(q.opt_do, 0);
}

static void
test_query_init_drops_one_trailing_dot(void **state)
{
	struct onionshim_dns_query q;

	(void)state;
	assert_int_equal(onionshim_dns_query_init(&q, "Mail.Example.org.", 1, 1), 0);
	assert_string_equal(q.qname.buf, "Mail.Example.org");
	assert_int_equal(onionshim_dns_query_init(&q, ".", 1, 2), 0);
	assert_string_equal(q.qname.buf, "");
	assert_int_equal(onionshim_dns_query_init(&q, "", 1, 2), 0);
	assert_string_equal(q.qname.buf, "");
}

static const char *const bad_names[] = {
	NULL,
	"..",
	"a..b",
	".a",
	"a b",
	"a*.b",
	"caf\xc3\xa9.example",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	ONION56 "." ONION56 "." ONION56 "." ONION56 ".abcdefghijklmnopqrstuvwxyz",
};

static void
test_query_init_rejects_bad_names(void **state)
{
	struct onionshim_dns_query q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		memset(&q, 0x5a, sizeof(q));
		assert_int_equal(onionshim_dns_query_init(&q, bad_names[i], 1, 1), -EINVAL);
		assert_int_equal(q.id, 0x5a5a);
	}
}

static void
test_query_init_accepts_253_characters(void **state)
{
	/* 56*4 + 4 dots + 25 = 253 */
	static const char name[] =
		ONION56 "." ONION56 "." ONION56 "." ONION56 ".abcdefghijklmnopqrstuvwxy";
	struct onionshim_dns_query q;

	(void)state;
	assert_int_equal(strlen(name), 253);
	assert_int_equal(onionshim_dns_query_init(&q, name, 1, 1), 0);
	assert_string_equal(q.qname.buf, name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_query_built_by_glibc_res_mkquery),
		cmocka_unit_test(test_parses_opt_udp_size_and_do_bit),
		cmocka_unit_test(test_parses_opt_with_options_and_do_clear),
		cmocka_unit_test(test_preserves_case_of_qname),
		cmocka_unit_test(test_parses_root_name_as_empty),
		cmocka_unit_test(test_parses_rd_clear),
		cmocka_unit_test(test_accepts_longest_name_and_label),
		REJECTS(truncated_header),
		REJECTS(truncated_question_name),
		REJECTS(truncated_question_class),
		REJECTS(qr_set),
		REJECTS(opcode_iquery),
		REJECTS(qdcount_0),
		REJECTS(qdcount_2),
		REJECTS(qdcount_2_one_question),
		REJECTS(ancount_1),
		REJECTS(ancount_1_with_record),
		REJECTS(nscount_1),
		REJECTS(arcount_2),
		REJECTS(pointer_in_qname),
		REJECTS(extended_label_type),
		REJECTS(label_64),
		REJECTS(name_254),
		REJECTS(space_in_label),
		REJECTS(dot_in_label),
		REJECTS(nul_in_label),
		REJECTS(high_byte_in_label),
		REJECTS(star_in_label),
		REJECTS(trailing_garbage),
		REJECTS(trailing_garbage_after_opt),
		REJECTS(arcount_1_non_opt),
		REJECTS(opt_with_non_root_name),
		REJECTS(opt_owner_not_root),
		REJECTS(opt_rdata_past_end),
		cmocka_unit_test(test_rejects_every_truncation),
		cmocka_unit_test(test_builds_a_answer_byte_exact),
		cmocka_unit_test(test_builds_aaaa_answer),
		cmocka_unit_test(test_builds_mx_answer_with_onion_exchange),
		cmocka_unit_test(test_answers_decode_with_glibc_name_parser),
		cmocka_unit_test(test_answers_nodata_when_type_differs),
		cmocka_unit_test(test_answers_nodata_when_class_is_chaos),
		cmocka_unit_test(test_answers_nodata_for_type_zero),
		cmocka_unit_test(test_echoes_opt_record_with_do_bit),
		cmocka_unit_test(test_never_sets_ad_bit),
		cmocka_unit_test(test_copies_rd_bit),
		cmocka_unit_test(test_copies_id),
		cmocka_unit_test(test_echoes_question_exactly),
		cmocka_unit_test(test_reports_emsgsize_for_every_short_buffer),
		cmocka_unit_test(test_exact_length_succeeds),
		cmocka_unit_test(test_rejects_bad_mx_exchange),
		cmocka_unit_test(test_rejects_unknown_answer_type),
		cmocka_unit_test(test_rejects_bad_stored_qname),
		cmocka_unit_test(test_query_init_fills_res_query_defaults),
		cmocka_unit_test(test_query_init_drops_one_trailing_dot),
		cmocka_unit_test(test_query_init_rejects_bad_names),
		cmocka_unit_test(test_query_init_accepts_253_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
