/*
 * test_socks5 - the SOCKS5 codec byte for byte: what goes on the wire
 * (greeting, RFC 1929 login, requests) and how replies are sized and
 * taken apart, down to one byte short and one byte over.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onionshim/socks5.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
assert_bytes(const struct onionshim_socks5_buf *b, const uint8_t *expect, size_t len)
{
	assert_int_equal(b->len, len);
	assert_memory_equal(b->buf, expect, len);
}

static struct onionshim_socks5_addr
name_addr(const char *name, uint16_t port)
{
	struct onionshim_socks5_addr a;

	memset(&a, 0, sizeof(a));
	a.atyp = ONIONSHIM_SOCKS5_ATYP_NAME;
	a.namelen = (uint8_t)strlen(name);
	memcpy(a.name, name, strlen(name) + 1);
	a.port = port;
	return a;
}

static struct onionshim_socks5_addr
ip_addr(uint8_t atyp, const uint8_t *ip, uint16_t port)
{
	struct onionshim_socks5_addr a;

	memset(&a, 0, sizeof(a));
	a.atyp = atyp;
	memcpy(a.ip, ip, atyp == ONIONSHIM_SOCKS5_ATYP_IPV4 ? 4 : 16);
	a.port = port;
	return a;
}

/* ---- greeting ---------------------------------------------------------- */

static void
test_greeting_without_auth_offers_no_auth_only(void **state)
{
	static const uint8_t expect[] = { 0x05, 0x01, 0x00 };
	struct onionshim_socks5_buf b = { .len = 0 };

	(void)state;
	assert_int_equal(onionshim_socks5_greeting(&b, 0), 0);
	assert_bytes(&b, expect, sizeof(expect));
}

static void
test_greeting_with_auth_offers_userpass_only(void **state)
{
	static const uint8_t expect[] = { 0x05, 0x01, 0x02 };
	struct onionshim_socks5_buf b = { .len = 0 };

	(void)state;
	assert_int_equal(onionshim_socks5_greeting(&b, 1), 0);
	assert_bytes(&b, expect, sizeof(expect));
}

/* ---- RFC 1929 login ------------------------------------------------------ */

static void
test_auth_encodes_rfc1929_request(void **state)
{
	static const uint8_t expect[] = {
		0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x02, 'p', 'w',
	};
	struct onionshim_socks5_buf b = { .len = 0 };

	(void)state;
	assert_int_equal(onionshim_socks5_auth(&b, "alice", 5, "pw", 2), 0);
	assert_bytes(&b, expect, sizeof(expect));
}

static void
test_auth_accepts_255_byte_fields(void **state)
{
	static struct onionshim_socks5_buf b;
	char field[255];

	(void)state;
	memset(&b, 0, sizeof(b));
	memset(field, 'u', sizeof(field));
	assert_int_equal(onionshim_socks5_auth(&b, field, 255, field, 255), 0);
	assert_int_equal(b.len, 3 + 255 + 255);
	assert_int_equal(b.buf[1], 255);
	assert_int_equal(b.buf[2 + 255], 255);
}

static const struct {
	const char *what;
	size_t ulen;
	size_t plen;
	int err;
} bad_auth_fields[] = {
	{ "empty user", 0, 2, -EINVAL },
	{ "empty password", 5, 0, -EINVAL },
	{ "user of 256 bytes", 256, 2, -ENOSPC },
	{ "password of 256 bytes", 5, 256, -ENOSPC },
};

static void
test_auth_rejects_fields_outside_1_to_255(void **state)
{
	static struct onionshim_socks5_buf b;
	char field[256];
	size_t i;

	(void)state;
	memset(field, 'x', sizeof(field));
	for (i = 0; i < NELEM(bad_auth_fields); i++) {
		memset(&b, 0, sizeof(b));
		print_message("case: %s\n", bad_auth_fields[i].what);
		assert_int_equal(onionshim_socks5_auth(&b, field, bad_auth_fields[i].ulen,
						       field, bad_auth_fields[i].plen),
				 bad_auth_fields[i].err);
		assert_int_equal(b.len, 0);
	}
}

/* ---- requests ------------------------------------------------------------ */

static const uint8_t ip4_1[4] = { 192, 0, 2, 1 };
static const uint8_t ip6_1[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				   0, 0, 0, 0, 0, 0, 0, 0x25 };

static const struct {
	const char *what;
	uint8_t cmd;
	uint8_t atyp;
	const char *name;
	const uint8_t *ip;
	uint16_t port;
	size_t len;
	uint8_t expect[32];
} request_cases[] = {
	{ "CONNECT ipv4", ONIONSHIM_SOCKS5_CONNECT, ONIONSHIM_SOCKS5_ATYP_IPV4, NULL, ip4_1,
	  25, 10, { 0x05, 0x01, 0x00, 0x01, 192, 0, 2, 1, 0x00, 0x19 } },
	{ "CONNECT name", ONIONSHIM_SOCKS5_CONNECT, ONIONSHIM_SOCKS5_ATYP_NAME, "ab.onion",
	  NULL, 587, 15,
	  { 0x05, 0x01, 0x00, 0x03, 0x08, 'a', 'b', '.', 'o', 'n', 'i', 'o', 'n', 0x02, 0x4b } },
	{ "CONNECT ipv6", ONIONSHIM_SOCKS5_CONNECT, ONIONSHIM_SOCKS5_ATYP_IPV6, NULL, ip6_1,
	  0xfffe, 22,
	  { 0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0x25, 0xff, 0xfe } },
	{ "RESOLVE name", ONIONSHIM_SOCKS5_RESOLVE, ONIONSHIM_SOCKS5_ATYP_NAME, "x.org", NULL,
	  0, 12, { 0x05, 0xf0, 0x00, 0x03, 0x05, 'x', '.', 'o', 'r', 'g', 0x00, 0x00 } },
	{ "RESOLVE_PTR ipv4", ONIONSHIM_SOCKS5_RESOLVE_PTR, ONIONSHIM_SOCKS5_ATYP_IPV4, NULL,
	  ip4_1, 0, 10, { 0x05, 0xf1, 0x00, 0x01, 192, 0, 2, 1, 0x00, 0x00 } },
	{ "RESOLVE_PTR ipv6", ONIONSHIM_SOCKS5_RESOLVE_PTR, ONIONSHIM_SOCKS5_ATYP_IPV6, NULL,
	  ip6_1, 0, 22,
	  { 0x05, 0xf1, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0x25, 0x00, 0x00 } },
};

static void
test_request_bytes_are_exact_for_each_command_and_atyp(void **state)
{
	struct onionshim_socks5_buf b;
	struct onionshim_socks5_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(request_cases); i++) {
		print_message("case: %s\n", request_cases[i].what);
		if (request_cases[i].name != NULL)
			a = name_addr(request_cases[i].name, request_cases[i].port);
		else
			a = ip_addr(request_cases[i].atyp, request_cases[i].ip,
				    request_cases[i].port);
		b.len = 0;
		assert_int_equal(onionshim_socks5_request(&b, request_cases[i].cmd, &a), 0);
		assert_bytes(&b, request_cases[i].expect, request_cases[i].len);
	}
}

static void
test_request_accepts_255_byte_name(void **state)
{
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a;

	(void)state;
	a = name_addr("", 25);
	memset(a.name, 'n', 255);
	a.name[255] = '\0';
	assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a), 0);
	assert_int_equal(b.len, ONIONSHIM_SOCKS5_REPLY_MAX);
	assert_int_equal(b.buf[4], 255);
	assert_int_equal(b.buf[4 + 255], 'n');
	assert_int_equal(b.buf[5 + 255], 0x00);
	assert_int_equal(b.buf[6 + 255], 0x19);
}

static void
test_request_rejects_256_byte_name(void **state)
{
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a;

	(void)state;
	a = name_addr("", 25);
	memset(a.name, 'n', sizeof(a.name));	/* no room left for the NUL */
	assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a), -ENOSPC);
	assert_int_equal(b.len, 0);
}

static void
test_request_rejects_empty_name(void **state)
{
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a = name_addr("", 25);

	(void)state;
	assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a), -EINVAL);
	assert_int_equal(b.len, 0);
}

static void
test_request_takes_name_length_from_nul_not_namelen(void **state)
{
	static const uint8_t expect[] = {
		0x05, 0x01, 0x00, 0x03, 0x03, 'a', '.', 'b', 0x00, 0x19,
	};
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a = name_addr("a.b", 25);

	(void)state;
	a.namelen = 200;
	assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a), 0);
	assert_bytes(&b, expect, sizeof(expect));
}

static void
test_request_rejects_unknown_atyp(void **state)
{
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0xff };
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a = ip_addr(ONIONSHIM_SOCKS5_ATYP_IPV4, ip4_1, 25);
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(atyps); i++) {
		a.atyp = atyps[i];
		assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a),
				 -EINVAL);
		assert_int_equal(b.len, 0);
	}
}

static void
test_request_rejects_unknown_command(void **state)
{
	static const uint8_t cmds[] = { 0x00, 0x02, 0x03, 0xef, 0xf2 };
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a = ip_addr(ONIONSHIM_SOCKS5_ATYP_IPV4, ip4_1, 25);
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cmds); i++) {
		assert_int_equal(onionshim_socks5_request(&b, cmds[i], &a), -EINVAL);
		assert_int_equal(b.len, 0);
	}
}

static void
test_encoders_append_so_messages_share_one_write(void **state)
{
	static const uint8_t expect[] = {
		0x05, 0x01, 0x02,
		0x01, 0x01, 'u', 0x01, 'p',
		0x05, 0x01, 0x00, 0x03, 0x01, 'h', 0x00, 0x19,
	};
	struct onionshim_socks5_buf b = { .len = 0 };
	struct onionshim_socks5_addr a = name_addr("h", 25);

	(void)state;
	assert_int_equal(onionshim_socks5_greeting(&b, 1), 0);
	assert_int_equal(onionshim_socks5_auth(&b, "u", 1, "p", 1), 0);
	assert_int_equal(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a), 0);
	assert_bytes(&b, expect, sizeof(expect));
}

/* ---- a full buffer ------------------------------------------------------- */

enum encoder { ENC_GREETING, ENC_AUTH, ENC_REQUEST };

static const struct {
	const char *what;
	enum encoder enc;
	size_t need;		/* bytes the message takes */
} full_cases[] = {
	{ "greeting", ENC_GREETING, 3 },
	{ "auth", ENC_AUTH, 3 + 4 + 6 },
	{ "request", ENC_REQUEST, 4 + 1 + 8 + 2 },
};

static int
encode(struct onionshim_socks5_buf *b, enum encoder enc)
{
	struct onionshim_socks5_addr a = name_addr("ab.onion", 25);

	switch (enc) {
	case ENC_GREETING:
		return onionshim_socks5_greeting(b, 0);
	case ENC_AUTH:
		return onionshim_socks5_auth(b, "user", 4, "secret", 6);
	case ENC_REQUEST:
		return onionshim_socks5_request(b, ONIONSHIM_SOCKS5_CONNECT, &a);
	}
	return -1;
}

static void
test_full_buffer_is_enospc_and_left_untouched(void **state)
{
	static struct onionshim_socks5_buf b, before;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(full_cases); i++) {
		print_message("case: %s\n", full_cases[i].what);
		memset(b.buf, 0xAA, sizeof(b.buf));
		b.len = sizeof(b.buf) - full_cases[i].need + 1;
		before = b;
		assert_int_equal(encode(&b, full_cases[i].enc), -ENOSPC);
		assert_int_equal(b.len, before.len);
		assert_memory_equal(b.buf, before.buf, sizeof(b.buf));
	}
}

static void
test_buffer_with_exact_room_takes_the_message(void **state)
{
	static struct onionshim_socks5_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(full_cases); i++) {
		print_message("case: %s\n", full_cases[i].what);
		b.len = sizeof(b.buf) - full_cases[i].need;
		assert_int_equal(encode(&b, full_cases[i].enc), 0);
		assert_int_equal(b.len, sizeof(b.buf));
	}
}

/* ---- method and login replies ---------------------------------------------- */

static const struct {
	uint8_t reply[2];
	int with_auth;
	int expect;
} method_cases[] = {
	{ { 0x05, 0x00 }, 0, 0 },
	{ { 0x05, 0x02 }, 1, 0 },
	{ { 0x05, 0xff }, 0, -EACCES },
	{ { 0x05, 0xff }, 1, -EACCES },
	{ { 0x05, 0x02 }, 0, -EPROTO },	/* a method we did not offer */
	{ { 0x05, 0x00 }, 1, -EPROTO },	/* would skip the isolation login */
	{ { 0x05, 0x01 }, 0, -EPROTO },	/* GSSAPI */
	{ { 0x04, 0x00 }, 0, -EPROTO },
	{ { 0x00, 0x5a }, 0, -EPROTO },	/* a SOCKS4 reply */
	{ { 'H', 'T' }, 1, -EPROTO },
};

static void
test_method_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(method_cases); i++) {
		print_message("case: %02x %02x auth=%d\n", method_cases[i].reply[0],
			      method_cases[i].reply[1], method_cases[i].with_auth);
		assert_int_equal(onionshim_socks5_method_reply(method_cases[i].reply,
							       method_cases[i].with_auth),
				 method_cases[i].expect);
	}
}

static const struct {
	uint8_t reply[2];
	int expect;
} auth_reply_cases[] = {
	{ { 0x01, 0x00 }, 0 },
	{ { 0x01, 0x01 }, -EACCES },
	{ { 0x01, 0xff }, -EACCES },
	{ { 0x05, 0x00 }, -EPROTO },
	{ { 0x00, 0x00 }, -EPROTO },
	{ { 0x02, 0x00 }, -EPROTO },
};

static void
test_auth_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(auth_reply_cases); i++) {
		print_message("case: %02x %02x\n", auth_reply_cases[i].reply[0],
			      auth_reply_cases[i].reply[1]);
		assert_int_equal(onionshim_socks5_auth_reply(auth_reply_cases[i].reply),
				 auth_reply_cases[i].expect);
	}
}

/* ---- reply sizes ----------------------------------------------------------- */

static const uint8_t reply4[] = { 0x05, 0x00, 0x00, 0x01, 10, 1, 2, 3, 0x01, 0xbb };
static const uint8_t reply3[] = { 0x05, 0x00, 0x00, 0x03, 0x04, 'h', '.', 'i', 'o', 0x00,
				  0x19 };
static const uint8_t reply6[] = { 0x05, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0,
				  0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0x34 };

static const struct {
	const char *what;
	const uint8_t *reply;
	size_t len;
} replies[] = {
	{ "ipv4", reply4, sizeof(reply4) },
	{ "name", reply3, sizeof(reply3) },
	{ "ipv6", reply6, sizeof(reply6) },
};

static void
test_reply_size_follows_atyp(void **state)
{
	size_t i, have;

	(void)state;
	for (i = 0; i < NELEM(replies); i++) {
		print_message("case: %s\n", replies[i].what);
		/* Any prefix of five bytes or more tells the same size. */
		for (have = 5; have <= replies[i].len; have++)
			assert_int_equal(onionshim_socks5_reply_size(replies[i].reply, have),
					 (ssize_t)replies[i].len);
	}
}

static void
test_reply_size_asks_for_five_bytes_first(void **state)
{
	size_t i, have;

	(void)state;
	for (i = 0; i < NELEM(replies); i++)
		for (have = 0; have < 5; have++)
			assert_int_equal(onionshim_socks5_reply_size(replies[i].reply, have), 5);
}

static void
test_reply_size_of_longest_name_is_reply_max(void **state)
{
	static const uint8_t head[] = { 0x05, 0x00, 0x00, 0x03, 0xff };

	(void)state;
	assert_int_equal(onionshim_socks5_reply_size(head, sizeof(head)),
			 ONIONSHIM_SOCKS5_REPLY_MAX);
}

static const struct {
	const char *what;
	uint8_t bytes[5];
	size_t have;
} garbage_heads[] = {
	{ "version 4, one byte", { 0x04 }, 1 },
	{ "version 4, five bytes", { 0x04, 0x00, 0x00, 0x01, 0x00 }, 5 },
	{ "an HTTP answer", { 'H', 'T', 'T', 'P', '/' }, 5 },
	{ "ATYP 0", { 0x05, 0x00, 0x00, 0x00, 0x00 }, 5 },
	{ "ATYP 2", { 0x05, 0x00, 0x00, 0x02, 0x00 }, 5 },
	{ "ATYP 9, four bytes", { 0x05, 0x00, 0x00, 0x09 }, 4 },
	{ "ATYP 0xff", { 0x05, 0x00, 0x00, 0xff, 0x00 }, 5 },
	{ "ATYP 3, empty name", { 0x05, 0x00, 0x00, 0x03, 0x00 }, 5 },
};

static void
test_reply_size_rejects_bad_version_and_atyp(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(garbage_heads); i++) {
		print_message("case: %s\n", garbage_heads[i].what);
		assert_int_equal(onionshim_socks5_reply_size(garbage_heads[i].bytes,
							     garbage_heads[i].have),
				 -EPROTO);
	}
}

/* ---- reply decoding -------------------------------------------------------- */

static void
test_decode_ipv4_reply(void **state)
{
	static const uint8_t ip[4] = { 10, 1, 2, 3 };
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_decode(reply4, sizeof(reply4), &r), 0);
	assert_int_equal(r.rep, 0x00);
	assert_int_equal(r.bound.atyp, ONIONSHIM_SOCKS5_ATYP_IPV4);
	assert_memory_equal(r.bound.ip, ip, 4);
	assert_int_equal(r.bound.port, 443);
}

static void
test_decode_name_reply(void **state)
{
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_decode(reply3, sizeof(reply3), &r), 0);
	assert_int_equal(r.rep, 0x00);
	assert_int_equal(r.bound.atyp, ONIONSHIM_SOCKS5_ATYP_NAME);
	assert_int_equal(r.bound.namelen, 4);
	assert_string_equal(r.bound.name, "h.io");
	assert_int_equal(r.bound.port, 25);
}

static void
test_decode_ipv6_reply(void **state)
{
	static const uint8_t ip[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_decode(reply6, sizeof(reply6), &r), 0);
	assert_int_equal(r.rep, 0x00);
	assert_int_equal(r.bound.atyp, ONIONSHIM_SOCKS5_ATYP_IPV6);
	assert_memory_equal(r.bound.ip, ip, 16);
	assert_int_equal(r.bound.port, 0x1234);
}

static void
test_decode_longest_name_reply(void **state)
{
	uint8_t b[ONIONSHIM_SOCKS5_REPLY_MAX];
	struct onionshim_socks5_reply r;

	(void)state;
	b[0] = 0x05;
	b[1] = 0x00;
	b[2] = 0x00;
	b[3] = 0x03;
	b[4] = 255;
	memset(b + 5, 'z', 255);
	b[260] = 0x00;
	b[261] = 0x19;
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), 0);
	assert_int_equal(r.bound.namelen, 255);
	assert_int_equal(strlen(r.bound.name), 255);
	assert_int_equal(r.bound.port, 25);
}

static void
test_decode_one_byte_short_is_eagain(void **state)
{
	struct onionshim_socks5_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(replies); i++) {
		print_message("case: %s\n", replies[i].what);
		assert_int_equal(onionshim_socks5_reply_decode(replies[i].reply,
							       replies[i].len - 1, &r),
				 -EAGAIN);
	}
}

static void
test_decode_fewer_than_five_bytes_is_eagain(void **state)
{
	struct onionshim_socks5_reply r;
	size_t len;

	(void)state;
	for (len = 0; len < 5; len++)
		assert_int_equal(onionshim_socks5_reply_decode(reply4, len, &r), -EAGAIN);
}

static void
test_decode_one_extra_byte_is_eproto(void **state)
{
	uint8_t b[32];
	struct onionshim_socks5_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(replies); i++) {
		print_message("case: %s\n", replies[i].what);
		memcpy(b, replies[i].reply, replies[i].len);
		b[replies[i].len] = '2';	/* the first byte of "220 ..." */
		assert_int_equal(onionshim_socks5_reply_decode(b, replies[i].len + 1, &r),
				 -EPROTO);
	}
}

static void
test_decode_rejects_bad_version(void **state)
{
	static const uint8_t versions[] = { 0x00, 0x04, 0x06, 0xff };
	uint8_t b[sizeof(reply4)];
	struct onionshim_socks5_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(versions); i++) {
		memcpy(b, reply4, sizeof(b));
		b[0] = versions[i];
		assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), -EPROTO);
	}
}

static void
test_decode_rejects_bad_atyp(void **state)
{
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0x09, 0xff };
	uint8_t b[sizeof(reply4)];
	struct onionshim_socks5_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(atyps); i++) {
		memcpy(b, reply4, sizeof(b));
		b[3] = atyps[i];
		assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), -EPROTO);
	}
}

/* tor answers a failed RESOLVE with ATYP 0 and an IPv4-sized address */
static void
test_decode_reads_tor_failed_resolve_with_atyp_0(void **state)
{
	static const uint8_t b[] = { 0x05, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0 };
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_size(b, 5), (ssize_t)sizeof(b));
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), 0);
	assert_int_equal(r.rep, 0x04);
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b) - 1, &r), -EAGAIN);
}

static void
test_decode_rejects_empty_name(void **state)
{
	static const uint8_t b[] = { 0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x19 };
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), -EPROTO);
}

static void
test_decode_accepts_nonzero_rsv(void **state)
{
	uint8_t b[sizeof(reply4)];
	struct onionshim_socks5_reply r;

	(void)state;
	memcpy(b, reply4, sizeof(b));
	b[2] = 0x7f;
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), 0);
	assert_int_equal(r.rep, 0x00);
	assert_int_equal(r.bound.port, 443);
}

static void
test_decode_returns_error_codes_in_rep(void **state)
{
	static const uint8_t b[] = { 0x05, 0xf0, 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	struct onionshim_socks5_reply r;

	(void)state;
	assert_int_equal(onionshim_socks5_reply_decode(b, sizeof(b), &r), 0);
	assert_int_equal(r.rep, 0xf0);
}

static void
test_decode_leaves_out_untouched_on_error(void **state)
{
	struct onionshim_socks5_reply r, before;

	(void)state;
	memset(&r, 0x5a, sizeof(r));
	before = r;
	assert_int_equal(onionshim_socks5_reply_decode(reply3, sizeof(reply3) - 1, &r),
			 -EAGAIN);
	assert_memory_equal(&r, &before, sizeof(r));
}

/* ---- reply codes ------------------------------------------------------------ */

static const struct {
	uint8_t rep;
	int err;
	const char *text;
} code_cases[] = {
	{ 0x00, 0, "succeeded" },
	{ 0x01, ECONNABORTED, "general SOCKS server failure" },
	{ 0x02, EACCES, "connection not allowed by ruleset" },
	{ 0x03, ENETUNREACH, "network unreachable" },
	{ 0x04, EHOSTUNREACH, "host unreachable" },
	{ 0x05, ECONNREFUSED, "connection refused" },
	{ 0x06, ETIMEDOUT, "TTL expired" },
	{ 0x07, EOPNOTSUPP, "command not supported" },
	{ 0x08, EAFNOSUPPORT, "address type not supported" },
	{ 0xF0, EHOSTUNREACH, "onion service descriptor can not be found" },
	{ 0xF1, EBADMSG, "onion service descriptor is invalid" },
	{ 0xF2, EHOSTDOWN, "onion service introduction failed" },
	{ 0xF3, ECONNRESET, "onion service rendezvous failed" },
	{ 0xF4, ENOKEY, "onion service missing client authorization" },
	{ 0xF5, EKEYREJECTED, "onion service wrong client authorization" },
	{ 0xF6, EINVAL, "onion service invalid address" },
	{ 0xF7, ETIMEDOUT, "onion service introduction timed out" },
	/* anything else */
	{ 0x09, EPROTO, "unknown reply code" },
	{ 0x7F, EPROTO, "unknown reply code" },
	{ 0xEF, EPROTO, "unknown reply code" },
	{ 0xF8, EPROTO, "unknown reply code" },
	{ 0xFF, EPROTO, "unknown reply code" },
};

static void
test_reply_code_errno_and_text_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(code_cases); i++) {
		print_message("case: %02X\n", code_cases[i].rep);
		assert_int_equal(onionshim_socks5_errno(code_cases[i].rep), code_cases[i].err);
		assert_string_equal(onionshim_socks5_strreply(code_cases[i].rep),
				    code_cases[i].text);
	}
}

static void
test_every_code_has_errno_and_text(void **state)
{
	unsigned rep;

	(void)state;
	for (rep = 0; rep < 256; rep++) {
		assert_non_null(onionshim_socks5_strreply((uint8_t)rep));
		assert_true((rep == 0) == (onionshim_socks5_errno((uint8_t)rep) == 0));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_without_auth_offers_no_auth_only),
		cmocka_unit_test(test_greeting_with_auth_offers_userpass_only),
		cmocka_unit_test(test_auth_encodes_rfc1929_request),
		cmocka_unit_test(test_auth_accepts_255_byte_fields),
		cmocka_unit_test(test_auth_rejects_fields_outside_1_to_255),
		cmocka_unit_test(test_request_bytes_are_exact_for_each_command_and_atyp),
		cmocka_unit_test(test_request_accepts_255_byte_name),
		cmocka_unit_test(test_request_rejects_256_byte_name),
		cmocka_unit_test(test_request_rejects_empty_name),
		cmocka_unit_test(test_request_takes_name_length_from_nul_not_namelen),
		cmocka_unit_test(test_request_rejects_unknown_atyp),
		cmocka_unit_test(test_request_rejects_unknown_command),
		cmocka_unit_test(test_encoders_append_so_messages_share_one_write),
		cmocka_unit_test(test_full_buffer_is_enospc_and_left_untouched),
		cmocka_unit_test(test_buffer_with_exact_room_takes_the_message),
		cmocka_unit_test(test_method_reply_table),
		cmocka_unit_test(test_auth_reply_table),
		cmocka_unit_test(test_reply_size_follows_atyp),
		cmocka_unit_test(test_reply_size_asks_for_five_bytes_first),
		cmocka_unit_test(test_reply_size_of_longest_name_is_reply_max),
		cmocka_unit_test(test_reply_size_rejects_bad_version_and_atyp),
		cmocka_unit_test(test_decode_ipv4_reply),
		cmocka_unit_test(test_decode_name_reply),
		cmocka_unit_test(test_decode_ipv6_reply),
		cmocka_unit_test(test_decode_longest_name_reply),
		cmocka_unit_test(test_decode_one_byte_short_is_eagain),
		cmocka_unit_test(test_decode_fewer_than_five_bytes_is_eagain),
		cmocka_unit_test(test_decode_one_extra_byte_is_eproto),
		cmocka_unit_test(test_decode_rejects_bad_version),
		cmocka_unit_test(test_decode_rejects_bad_atyp),
		cmocka_unit_test(test_decode_reads_tor_failed_resolve_with_atyp_0),
		cmocka_unit_test(test_decode_rejects_empty_name),
		cmocka_unit_test(test_decode_accepts_nonzero_rsv),
		cmocka_unit_test(test_decode_returns_error_codes_in_rep),
		cmocka_unit_test(test_decode_leaves_out_untouched_on_error),
		cmocka_unit_test(test_reply_code_errno_and_text_table),
		cmocka_unit_test(test_every_code_has_errno_and_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
