/*
 * NAME
 *	socks5 - SOCKS5 codec for talking to Tor's SocksPort
 * SYNOPSIS
 *	#include "onionshim/socks5.h"
 *
 *	int onionshim_socks5_greeting(b, with_auth);
 *	int onionshim_socks5_auth(b, user, ulen, pass, plen);
 *	int onionshim_socks5_request(b, cmd, addr);
 *	int onionshim_socks5_method_reply(reply, with_auth);
 *	int onionshim_socks5_auth_reply(reply);
 *	ssize_t onionshim_socks5_reply_size(b, have);
 *	int onionshim_socks5_reply_decode(b, len, out);
 *	int onionshim_socks5_errno(rep);
 *	const char *onionshim_socks5_strreply(rep);
 * DESCRIPTION
 *	The encoders append one message (RFC 1928 greeting, RFC 1929 login,
 *	RFC 1928 request or Tor's RESOLVE / RESOLVE_PTR) to a fixed buffer,
 *	so that the caller can put several messages into one write.
 *
 *	The decoders look at bytes already read. A request's reply is sized
 *	by its ATYP (reply_size) before it is taken apart (reply_decode), so
 *	that the caller reads exactly the reply and never a byte of the
 *	server's banner behind it.
 *
 *	Decisions where RFC 1928 leaves room:
 *	- RSV in a reply is not checked. Tor sends 0; a non-zero RSV changes
 *	  nothing about where the reply ends or what it means, so failing the
 *	  connection over it would only turn a harmless byte into a deferral.
 *	- A reply with ATYP 3 and a zero name length is garbage (-EPROTO):
 *	  no SOCKS server means an empty name.
 *	- A name in a reply is copied as it came, NUL-terminated; it is not
 *	  validated here (a caller that uses it as a host name checks it).
 *	- An error reply with ATYP 0 is sized as an IPv4 one (4 zero address
 *	  bytes and a port): tor answers a failed RESOLVE that way. A success
 *	  with ATYP 0 is garbage.
 *	- reply_size checks VER and ATYP as soon as the bytes are there, so
 *	  garbage is refused after the first byte where possible.
 *	- Requests take ATYP 3 names from NAME up to its NUL; NAMELEN is not
 *	  read, so it cannot disagree with the name.
 * RETURNS
 *	0 (or a size) on success; -ENOSPC for a buffer or field that is too
 *	long, -EINVAL for a bad argument, -EPROTO for bytes that are not
 *	SOCKS5, -EACCES for a refusal, -EAGAIN when more bytes are needed.
 * NEVER
 *	does I/O, allocates, keeps state, or leaves part of a message in a
 *	buffer that cannot hold all of it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "onionshim/socks5.h"

#define SOCKS5_VERSION		0x05
#define USERPASS_VERSION	0x01	/* RFC 1929 subnegotiation version */
#define METHOD_NONE		0x00
#define METHOD_USERPASS		0x02
#define METHOD_REFUSED		0xFF

/* VER REP RSV ATYP: what every reply starts with. */
#define REPLY_HEAD	4
/* The head and the first address byte: enough to size any reply. */
#define REPLY_PROBE	5

/* Room for N more bytes, checked before anything is written. */
static int
room(const struct onionshim_socks5_buf *b, size_t n)
{
	if (b->len > sizeof(b->buf))
		return -EINVAL;
	if (n > sizeof(b->buf) - b->len)
		return -ENOSPC;
	return 0;
}

/* Callers have checked room() for everything they put. */
static void
put8(struct onionshim_socks5_buf *b, uint8_t v)
{
	b->buf[b->len++] = v;
}

static void
put(struct onionshim_socks5_buf *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

int
onionshim_socks5_greeting(struct onionshim_socks5_buf *b, int with_auth)
{
	int err;

	if (b == NULL)
		return -EINVAL;
	if ((err = room(b, 3)) != 0)
		return err;
	put8(b, SOCKS5_VERSION);
	put8(b, 1);
	put8(b, with_auth ? METHOD_USERPASS : METHOD_NONE);
	return 0;
}

/* RFC 1929 fields are one length byte and 1..255 bytes. */
static int
check_field(const char *p, size_t n)
{
	if (p == NULL || n == 0)
		return -EINVAL;
	if (n > 255)
		return -ENOSPC;
	return 0;
}

int
onionshim_socks5_auth(struct onionshim_socks5_buf *b, const char *user, size_t ulen,
		      const char *pass, size_t plen)
{
	int err;

	if (b == NULL)
		return -EINVAL;
	if ((err = check_field(user, ulen)) != 0 || (err = check_field(pass, plen)) != 0)
		return err;
	if ((err = room(b, 3 + ulen + plen)) != 0)
		return err;
	put8(b, USERPASS_VERSION);
	put8(b, (uint8_t)ulen);
	put(b, user, ulen);
	put8(b, (uint8_t)plen);
	put(b, pass, plen);
	return 0;
}

/* The bytes ADDR takes on the wire before the port, or -errno. */
static ssize_t
addr_size(const struct onionshim_socks5_addr *addr, size_t *namelen)
{
	switch (addr->atyp) {
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		return 4;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		return 16;
	case ONIONSHIM_SOCKS5_ATYP_NAME:
		*namelen = strnlen(addr->name, sizeof(addr->name));
		if (*namelen == 0)
			return -EINVAL;
		/* A name that fills the whole field has no room for its NUL. */
		if (*namelen > 255)
			return -ENOSPC;
		return 1 + (ssize_t)*namelen;
	default:
		return -EINVAL;
	}
}

int
onionshim_socks5_request(struct onionshim_socks5_buf *b, uint8_t cmd,
			 const struct onionshim_socks5_addr *addr)
{
	size_t namelen = 0;
	ssize_t asize;
	int err;

	if (b == NULL || addr == NULL)
		return -EINVAL;
	if (cmd != ONIONSHIM_SOCKS5_CONNECT && cmd != ONIONSHIM_SOCKS5_RESOLVE &&
	    cmd != ONIONSHIM_SOCKS5_RESOLVE_PTR)
		return -EINVAL;
	if ((asize = addr_size(addr, &namelen)) < 0)
		return (int)asize;
	if ((err = room(b, REPLY_HEAD + (size_t)asize + 2)) != 0)
		return err;
	put8(b, SOCKS5_VERSION);
	put8(b, cmd);
	put8(b, 0);
	put8(b, addr->atyp);
	if (addr->atyp == ONIONSHIM_SOCKS5_ATYP_NAME) {
		put8(b, (uint8_t)namelen);
		put(b, addr->name, namelen);
	} else {
		put(b, addr->ip, (size_t)asize);
	}
	put8(b, (uint8_t)(addr->port >> 8));
	put8(b, (uint8_t)(addr->port & 0xFF));
	return 0;
}

int
onionshim_socks5_method_reply(const uint8_t reply[2], int with_auth)
{
	if (reply == NULL || reply[0] != SOCKS5_VERSION)
		return -EPROTO;
	if (reply[1] == METHOD_REFUSED)
		return -EACCES;
	/* A method we did not offer would leave us speaking the wrong protocol. */
	if (reply[1] != (with_auth ? METHOD_USERPASS : METHOD_NONE))
		return -EPROTO;
	return 0;
}

int
onionshim_socks5_auth_reply(const uint8_t reply[2])
{
	if (reply == NULL || reply[0] != USERPASS_VERSION)
		return -EPROTO;
	return reply[1] == 0 ? 0 : -EACCES;
}

ssize_t
onionshim_socks5_reply_size(const uint8_t *b, size_t have)
{
	if (have == 0)
		return REPLY_PROBE;
	if (b == NULL)
		return -EINVAL;
	if (b[0] != SOCKS5_VERSION)
		return -EPROTO;
	if (have < REPLY_HEAD)
		return REPLY_PROBE;
	switch (b[3]) {
	case 0:
		if (b[1] == 0)
			return -EPROTO;
		/* tor's failed RESOLVE */
		__attribute__((fallthrough));
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		return have < REPLY_PROBE ? REPLY_PROBE : REPLY_HEAD + 4 + 2;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		return have < REPLY_PROBE ? REPLY_PROBE : REPLY_HEAD + 16 + 2;
	case ONIONSHIM_SOCKS5_ATYP_NAME:
		if (have < REPLY_PROBE)
			return REPLY_PROBE;
		if (b[4] == 0)
			return -EPROTO;
		return REPLY_HEAD + 1 + b[4] + 2;
	default:
		return -EPROTO;
	}
}

/*
 * A read cursor with a sticky error: once a read runs past the end, every
 * later read yields zeros and the error stays, so the decoder checks once.
 */
struct cursor {
	const uint8_t *p;
	size_t left;
	int err;
};

static void
take(struct cursor *c, void *dst, size_t n)
{
	if (c->err == 0 && n > c->left)
		c->err = -EAGAIN;
	if (c->err != 0) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
}

static uint8_t
take8(struct cursor *c)
{
	uint8_t v;

	take(c, &v, 1);
	return v;
}

static uint16_t
take16(struct cursor *c)
{
	uint8_t v[2];

	take(c, v, 2);
	return (uint16_t)(v[0] << 8 | v[1]);
}

static void
take_addr(struct cursor *c, struct onionshim_socks5_addr *a)
{
	switch (a->atyp) {
	case 0:			/* an error reply, sized as IPv4 (reply_size) */
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		take(c, a->ip, 4);
		break;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		take(c, a->ip, 16);
		break;
	case ONIONSHIM_SOCKS5_ATYP_NAME:
		a->namelen = take8(c);
		take(c, a->name, a->namelen);
		a->name[a->namelen] = '\0';
		break;
	default:
		if (c->err == 0)
			c->err = -EPROTO;
		break;
	}
	a->port = take16(c);
}

int
onionshim_socks5_reply_decode(const uint8_t *b, size_t len, struct onionshim_socks5_reply *out)
{
	struct onionshim_socks5_reply r;
	struct cursor c = { b, len, 0 };
	ssize_t size;

	if (out == NULL)
		return -EINVAL;
	if ((size = onionshim_socks5_reply_size(b, len)) < 0)
		return (int)size;
	if (len < (size_t)size)
		return -EAGAIN;
	/* Bytes past the reply are the stream's: reading them was a bug. */
	if (len > (size_t)size)
		return -EPROTO;
	memset(&r, 0, sizeof(r));
	(void)take8(&c);		/* VER, checked by reply_size */
	r.rep = take8(&c);
	(void)take8(&c);		/* RSV, deliberately not checked */
	r.bound.atyp = take8(&c);
	take_addr(&c, &r.bound);
	if (c.err != 0)
		return c.err;
	*out = r;
	return 0;
}

/* DESIGN.md's errno for each code; the text follows RFC 1928 and prop 304. */
static const struct reply_code {
	uint8_t rep;
	int err;
	const char *text;
} reply_codes[] = {
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
};

static const struct reply_code *
find_code(uint8_t rep)
{
	size_t i;

	for (i = 0; i < sizeof(reply_codes) / sizeof(reply_codes[0]); i++)
		if (reply_codes[i].rep == rep)
			return &reply_codes[i];
	return NULL;
}

int
onionshim_socks5_errno(uint8_t rep)
{
	const struct reply_code *rc = find_code(rep);

	return rc != NULL ? rc->err : EPROTO;
}

const char *
onionshim_socks5_strreply(uint8_t rep)
{
	const struct reply_code *rc = find_code(rep);

	return rc != NULL ? rc->text : "unknown reply code";
}
