/*
 * socks5 - the SOCKS5 codec (RFC 1928, RFC 1929, and Tor's extensions in
 * tor's socks-extensions.txt: RESOLVE 0xF0, RESOLVE_PTR 0xF1, and the
 * ExtendedErrors reply codes 0xF0..0xF7).
 *
 * Encoders append to a fixed buffer; decoders are pure functions over the
 * bytes read so far. A reply is parsed by its ATYP, so the caller can read
 * exactly its length and never consume a byte of what follows (the SMTP
 * banner). No I/O, no allocation, thread-safe.
 *
 * Errors: -ENOSPC (buffer or field too long), -EINVAL (bad argument),
 * -EPROTO (bytes that are not a SOCKS5 reply), -EAGAIN (need more bytes).
 */
#ifndef ONIONSHIM_SOCKS5_H
#define ONIONSHIM_SOCKS5_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	ONIONSHIM_SOCKS5_CONNECT = 0x01,
	ONIONSHIM_SOCKS5_RESOLVE = 0xF0,
	ONIONSHIM_SOCKS5_RESOLVE_PTR = 0xF1,
};

enum {
	ONIONSHIM_SOCKS5_ATYP_IPV4 = 0x01,
	ONIONSHIM_SOCKS5_ATYP_NAME = 0x03,
	ONIONSHIM_SOCKS5_ATYP_IPV6 = 0x04,
};

/* The longest reply: VER REP RSV ATYP LEN NAME[255] PORT[2]. */
#define ONIONSHIM_SOCKS5_REPLY_MAX (4 + 1 + 255 + 2)

struct onionshim_socks5_buf {
	uint8_t buf[1024];
	size_t len;
};

/* An address as SOCKS5 carries it. */
struct onionshim_socks5_addr {
	uint8_t atyp;			/* ONIONSHIM_SOCKS5_ATYP_* */
	uint8_t namelen;		/* ATYP_NAME */
	char name[256];			/* ATYP_NAME, NUL-terminated */
	uint8_t ip[16];			/* ATYP_IPV4 (4 bytes) or ATYP_IPV6 */
	uint16_t port;			/* host byte order */
};

struct onionshim_socks5_reply {
	uint8_t rep;			/* 0x00 success, else the error code */
	struct onionshim_socks5_addr bound;	/* BND.ADDR / BND.PORT */
};

/*
 * onionshim_socks5_greeting - append the method greeting: "no
 * authentication" only, or "username/password" only when WITH_AUTH.
 * Returns 0 or -ENOSPC.
 */
int onionshim_socks5_greeting(struct onionshim_socks5_buf *b, int with_auth);

/*
 * onionshim_socks5_auth - append a RFC 1929 username/password request.
 * Both must be 1..255 bytes. Returns 0, -EINVAL (empty) or -ENOSPC (a
 * field longer than 255 bytes, or no room in B).
 */
int onionshim_socks5_auth(struct onionshim_socks5_buf *b, const char *user, size_t ulen,
			  const char *pass, size_t plen);

/*
 * onionshim_socks5_request - append a request CMD for ADDR (ATYP_NAME: 1..255
 * bytes). Returns 0, -EINVAL or -ENOSPC.
 * An ATYP_NAME name is read up to its NUL (NAMELEN is not read); an empty
 * name is -EINVAL, one that fills all 256 bytes of NAME is -ENOSPC.
 */
int onionshim_socks5_request(struct onionshim_socks5_buf *b, uint8_t cmd,
			     const struct onionshim_socks5_addr *addr);

/*
 * onionshim_socks5_method_reply - check the 2-byte method selection reply
 * against what was offered. Returns 0, -EPROTO (not SOCKS5, or a method we
 * did not offer), -EACCES (0xFF: no acceptable method).
 */
int onionshim_socks5_method_reply(const uint8_t reply[2], int with_auth);

/*
 * onionshim_socks5_auth_reply - check the 2-byte RFC 1929 reply. Returns 0,
 * -EACCES (refused) or -EPROTO.
 */
int onionshim_socks5_auth_reply(const uint8_t reply[2]);

/*
 * onionshim_socks5_reply_size - how many bytes the reply starting at B is in
 * all, given HAVE bytes of it. Needs HAVE >= 5 to know (VER REP RSV ATYP
 * and the first address byte); with fewer it returns 5, the bytes to read
 * first. Returns the size (5..262) or -EPROTO (bad VER or ATYP, or an
 * empty ATYP 3 name), checked as soon as the byte is among the HAVE.
 */
ssize_t onionshim_socks5_reply_size(const uint8_t *b, size_t have);

/*
 * onionshim_socks5_reply_decode - decode a whole reply of exactly LEN bytes.
 * Returns 0 with OUT filled (also for error codes: look at OUT->rep);
 * -EAGAIN if LEN is short of the reply; -EPROTO for garbage or if LEN is
 * longer than the reply (extra bytes belong to the stream and must not
 * have been read).
 */
int onionshim_socks5_reply_decode(const uint8_t *b, size_t len, struct onionshim_socks5_reply *out);

/*
 * onionshim_socks5_errno - the errno for reply code REP (DESIGN.md's table;
 * 0 for success; EPROTO for an unknown code).
 */
int onionshim_socks5_errno(uint8_t rep);

/* onionshim_socks5_strreply - the meaning of REP, e.g. "onion service
 * descriptor can not be found". Never NULL. */
const char *onionshim_socks5_strreply(uint8_t rep);

#endif
