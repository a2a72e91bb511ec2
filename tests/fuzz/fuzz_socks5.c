/*
 * NAME
 *	fuzz_socks5 - fuzz target for the SOCKS5 reply decoders
 * DESCRIPTION
 *	The input is what a SOCKS server sent. For every prefix length
 *	(each placed at the very end of an allocation, so that ASan sees
 *	a read past the bytes the caller has), the decoders are held to
 *	socks5.h and RFC 1928:
 *
 *	- reply_size is -EPROTO or 5..262; with fewer than 5 bytes it asks
 *	  for 5 unless VER is already wrong; once it knows the size (or
 *	  that the bytes are garbage) more bytes never change its mind,
 *	  and the size is what ATYP and the name length say (ATYP 0, tor's
 *	  failed RESOLVE, sized as IPv4 when REP is an error);
 *	- reply_decode is -EAGAIN below that size, -EPROTO above it, and at
 *	  exactly that size fills REP, ATYP, address and port from the
 *	  right bytes;
 *	- the reader loop that socks5_io runs (read what reply_size asks
 *	  for, until it is satisfied) stops exactly at the end of the reply;
 *	- method and RFC 1929 replies: 0 exactly for 05 00 / 05 02 (as
 *	  offered) and 01 00, -EACCES exactly for 05 FF and 01 xx, else
 *	  -EPROTO; every reply code has an errno and a text.
 *
 *	The input is also encoded as a request (as an ATYP 3 name, and as
 *	IPv4 and IPv6 bytes; CONNECT, RESOLVE or RESOLVE_PTR) and as an
 *	RFC 1929 login, and the bytes on the wire are checked; a bad ATYP
 *	or command, and a buffer without room, are refused with nothing
 *	written.
 * NEVER
 *	does I/O beyond an abort message.
 */
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz.h"
#include "onionshim/socks5.h"

#define PROBE 5

/*
 * What reply_size must say, written from RFC 1928 section 6, and from
 * socks5.c for tor's failed RESOLVE: an error code with ATYP 0 and an
 * IPv4-sized address (a success with ATYP 0 is garbage).
 */
static ssize_t
ref_size(const uint8_t *b, size_t have)
{
	if (have == 0)
		return PROBE;
	if (b[0] != 0x05)
		return -EPROTO;
	if (have < 4)
		return PROBE;
	if (b[3] != 0x01 && b[3] != 0x03 && b[3] != 0x04 && !(b[3] == 0x00 && b[1] != 0x00))
		return -EPROTO;
	if (have < PROBE)
		return PROBE;
	switch (b[3]) {
	case 0x00:
	case 0x01:
		return 4 + 4 + 2;
	case 0x04:
		return 4 + 16 + 2;
	default:
		return b[4] == 0 ? -EPROTO : 4 + 1 + b[4] + 2;
	}
}

static void
check_decoded(const uint8_t *b, size_t len, const struct onionshim_socks5_reply *r)
{
	size_t addr = len - 2 - 4;

	FUZZ_CHECK(r->rep == b[1]);
	FUZZ_CHECK(r->bound.atyp == b[3]);
	FUZZ_CHECK(r->bound.port == (uint16_t)(b[len - 2] << 8 | b[len - 1]));
	switch (b[3]) {
	case 0x00:
	case 0x01:
		/* ATYP 0 only with an error code, sized and read as IPv4 */
		FUZZ_CHECK(b[3] == 0x01 || r->rep != 0);
		FUZZ_CHECK(addr == 4 && memcmp(r->bound.ip, b + 4, 4) == 0);
		break;
	case 0x04:
		FUZZ_CHECK(addr == 16 && memcmp(r->bound.ip, b + 4, 16) == 0);
		break;
	default:
		FUZZ_CHECK(r->bound.namelen == b[4] && addr == 1u + b[4]);
		FUZZ_CHECK(memcmp(r->bound.name, b + 5, b[4]) == 0);
		FUZZ_CHECK(r->bound.name[b[4]] == '\0');
		break;
	}
}

/*
 * One prefix of HAVE bytes, placed at the very end of AREA (an allocation
 * of AREA_LEN bytes), so that a read past HAVE leaves the allocation.
 */
static void
check_prefix(const uint8_t *data, size_t have, uint8_t *area, size_t area_len,
	     ssize_t *settled)
{
	struct onionshim_socks5_reply r;
	uint8_t *b = area + area_len - have;
	ssize_t size, want;
	int rc;

	memcpy(b, data, have);
	size = onionshim_socks5_reply_size(b, have);
	want = ref_size(b, have);
	FUZZ_CHECK(size == want);
	FUZZ_CHECK(size == -EPROTO || (size >= PROBE && size <= ONIONSHIM_SOCKS5_REPLY_MAX));
	/* Once known (garbage, or a size from 5 bytes on), it never changes. */
	if (*settled != 0)
		FUZZ_CHECK(size == *settled);
	else if (size < 0 || have >= PROBE)
		*settled = size;

	memset(&r, 0xA5, sizeof(r));
	rc = onionshim_socks5_reply_decode(b, have, &r);
	if (size < 0)
		FUZZ_CHECK(rc == size);
	else if (have < (size_t)size)
		FUZZ_CHECK(rc == -EAGAIN);
	else if (have > (size_t)size)
		FUZZ_CHECK(rc == -EPROTO);
	else {
		FUZZ_CHECK(rc == 0);
		check_decoded(b, have, &r);
		FUZZ_CHECK(onionshim_socks5_strreply(r.rep) != NULL);
	}
}

/* socks5_io's loop: read what reply_size asks for until it is satisfied. */
static void
check_reader(const uint8_t *data, size_t size)
{
	size_t have = 0;
	ssize_t want;
	int rounds = 0;

	for (;;) {
		want = onionshim_socks5_reply_size(data, have);
		if (want < 0 || (size_t)want <= have)
			break;
		FUZZ_CHECK(++rounds <= 3);
		if ((size_t)want > size)
			return;		/* the server has not sent it all: EAGAIN */
		have = (size_t)want;
	}
	if (want < 0)
		return;
	FUZZ_CHECK((size_t)want == have);
	FUZZ_CHECK(have == (size_t)ref_size(data, size));
}

static void
check_two_byte_replies(const uint8_t *data, size_t size)
{
	uint8_t two[2];
	int with_auth, rc, want;

	if (size < 2)
		return;
	memcpy(two, data, 2);
	for (with_auth = 0; with_auth <= 1; with_auth++) {
		rc = onionshim_socks5_method_reply(two, with_auth);
		if (two[0] == 0x05 && two[1] == 0xFF)
			want = -EACCES;
		else if (two[0] == 0x05 && two[1] == (with_auth ? 0x02 : 0x00))
			want = 0;
		else
			want = -EPROTO;
		FUZZ_CHECK(rc == want);
	}
	rc = onionshim_socks5_auth_reply(two);
	FUZZ_CHECK(rc == (two[0] != 0x01 ? -EPROTO : two[1] == 0 ? 0 : -EACCES));
	rc = onionshim_socks5_errno(two[1]);
	FUZZ_CHECK(rc >= 0 && (rc == 0) == (two[1] == 0));
	FUZZ_CHECK(onionshim_socks5_strreply(two[1]) != NULL);
}

static const uint8_t commands[] = {
	ONIONSHIM_SOCKS5_CONNECT, ONIONSHIM_SOCKS5_RESOLVE, ONIONSHIM_SOCKS5_RESOLVE_PTR,
};

/* What follows VER CMD RSV ATYP: the address, then the port. */
static void
check_wire(const struct onionshim_socks5_buf *b, uint8_t cmd,
	   const struct onionshim_socks5_addr *a, const uint8_t *addr, size_t addrlen)
{
	FUZZ_CHECK(b->len == 4 + addrlen + 2);
	FUZZ_CHECK(b->buf[0] == 5 && b->buf[1] == cmd && b->buf[2] == 0 && b->buf[3] == a->atyp);
	FUZZ_CHECK(memcmp(b->buf + 4, addr, addrlen) == 0);
	FUZZ_CHECK(b->buf[4 + addrlen] == a->port >> 8 && b->buf[5 + addrlen] == (a->port & 0xFF));
}

/* The input as a host name, and as IPv4 and IPv6 bytes, in a request. */
static void
check_request(const uint8_t *data, size_t size)
{
	struct onionshim_socks5_addr a;
	struct onionshim_socks5_buf b;
	uint8_t cmd = commands[size % 3], wire[1 + 256];
	size_t n = size < sizeof(a.name) ? size : sizeof(a.name);
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.atyp = ONIONSHIM_SOCKS5_ATYP_NAME;
	memcpy(a.name, data, n);
	a.port = (uint16_t)(size * 257);
	n = strnlen(a.name, sizeof(a.name));
	rc = onionshim_socks5_request(&b, cmd, &a);
	if (n == 0) {
		FUZZ_CHECK(rc == -EINVAL && b.len == 0);
	} else if (n > 255) {
		FUZZ_CHECK(rc == -ENOSPC && b.len == 0);
	} else {
		FUZZ_CHECK(rc == 0);
		wire[0] = (uint8_t)n;
		memcpy(wire + 1, a.name, n);
		check_wire(&b, cmd, &a, wire, 1 + n);
	}
	/* The same bytes as addresses: no length byte, exactly 4 or 16. */
	memset(a.ip, 0, sizeof(a.ip));
	memcpy(a.ip, data, size < sizeof(a.ip) ? size : sizeof(a.ip));
	a.atyp = size % 2 ? ONIONSHIM_SOCKS5_ATYP_IPV4 : ONIONSHIM_SOCKS5_ATYP_IPV6;
	b.len = 0;
	FUZZ_CHECK(onionshim_socks5_request(&b, cmd, &a) == 0);
	check_wire(&b, cmd, &a, a.ip, a.atyp == ONIONSHIM_SOCKS5_ATYP_IPV4 ? 4 : 16);
	/* Anything else is refused and writes nothing. */
	b.len = 0;
	a.atyp = size > 0 && data[0] != 1 && data[0] != 3 && data[0] != 4 ? data[0] : 2;
	FUZZ_CHECK(onionshim_socks5_request(&b, cmd, &a) == -EINVAL && b.len == 0);
	a.atyp = ONIONSHIM_SOCKS5_ATYP_IPV4;
	cmd = size > 0 && data[0] != 0x01 && data[0] != 0xF0 && data[0] != 0xF1 ? data[0] : 0x02;
	FUZZ_CHECK(onionshim_socks5_request(&b, cmd, &a) == -EINVAL && b.len == 0);
	/* A full buffer takes no part of a message. */
	b.len = sizeof(b.buf) - 9;
	FUZZ_CHECK(onionshim_socks5_request(&b, ONIONSHIM_SOCKS5_CONNECT, &a) == -ENOSPC);
	FUZZ_CHECK(b.len == sizeof(b.buf) - 9);
}

static void
check_greeting(void)
{
	struct onionshim_socks5_buf b;
	int with_auth;

	for (with_auth = 0; with_auth <= 1; with_auth++) {
		memset(&b, 0, sizeof(b));
		FUZZ_CHECK(onionshim_socks5_greeting(&b, with_auth) == 0 && b.len == 3);
		FUZZ_CHECK(b.buf[0] == 5 && b.buf[1] == 1 && b.buf[2] == (with_auth ? 2 : 0));
		b.len = sizeof(b.buf) - 2;
		FUZZ_CHECK(onionshim_socks5_greeting(&b, with_auth) == -ENOSPC);
		FUZZ_CHECK(b.len == sizeof(b.buf) - 2);
	}
}

/* The input split in two as an RFC 1929 login. */
static void
check_auth(const uint8_t *data, size_t size)
{
	struct onionshim_socks5_buf b;
	size_t ulen = size / 2, plen = size - size / 2;
	const char *user = (const char *)data, *pass = user + ulen;
	int rc;

	memset(&b, 0, sizeof(b));
	rc = onionshim_socks5_auth(&b, user, ulen, pass, plen);
	if (ulen == 0 || plen == 0) {
		FUZZ_CHECK(rc == -EINVAL && b.len == 0);
		return;
	}
	if (ulen > 255 || plen > 255) {
		FUZZ_CHECK(rc == -ENOSPC && b.len == 0);
		return;
	}
	FUZZ_CHECK(rc == 0 && b.len == 3 + ulen + plen);
	FUZZ_CHECK(b.buf[0] == 1 && b.buf[1] == ulen && memcmp(b.buf + 2, user, ulen) == 0);
	FUZZ_CHECK(b.buf[2 + ulen] == plen && memcmp(b.buf + 3 + ulen, pass, plen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Past the longest reply plus one byte, nothing new can happen. */
	size_t max = size < ONIONSHIM_SOCKS5_REPLY_MAX + 1 ? size : ONIONSHIM_SOCKS5_REPLY_MAX + 1;
	uint8_t *area = malloc(max > 0 ? max : 1);
	ssize_t settled = 0;
	size_t have;

	FUZZ_CHECK(area != NULL);
	for (have = 0; have <= max; have++)
		check_prefix(data, have, area, max > 0 ? max : 1, &settled);
	free(area);
	check_reader(data, size);
	check_two_byte_replies(data, size);
	check_request(data, size);
	check_auth(data, size);
	check_greeting();
	return 0;
}
