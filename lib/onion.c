/*
 * NAME
 *	onion - recognise and validate v3 onion names
 * SYNOPSIS
 *	#include "onionshim/onion.h"
 *
 *	int onionshim_onion_is_onion_name(const char *name, size_t len);
 *	enum onionshim_onion_status onionshim_onion_check(const char *name,
 *			size_t len, struct onionshim_onion *out);
 *	enum onionshim_onion_status onionshim_onion_label_check(
 *			const char *label, size_t len);
 *	const char *onionshim_onion_strerror(
 *			enum onionshim_onion_status status);
 * DESCRIPTION
 *	onionshim_onion_is_onion_name() looks only at the last label, so
 *	that every lookup can ask it for free.
 *
 *	onionshim_onion_check() validates the label before ".onion" as a v3
 *	address (rend-spec-v3, "Encoding onion addresses") and accepts any
 *	subdomain labels in front of it, as Tor does. It tests the cheap
 *	properties (name shape, length, alphabet, version byte) first; the
 *	SHA3-256 checksum, about 10,000 instructions, runs only when they
 *	all pass. The ed25519 key itself is not checked: Tor does that.
 *
 *	onionshim_onion_label_check() is the same test for a bare label.
 * RETURNS
 *	onionshim_onion_is_onion_name() returns 1 or 0; the checks return
 *	ONIONSHIM_ONION_OK or the first problem found. On any other result
 *	onionshim_onion_check() leaves OUT as an empty string.
 * NEVER
 *	allocates, does I/O, reads NAME past LEN, or touches errno.
 */
#include <stdint.h>
#include <string.h>

#include "onionshim/onion.h"
#include "onionshim/sha3.h"

#define ONION_V2_LABEL_LEN	16
#define ONION_RAW_LEN		35	/* PUBKEY(32) CHECKSUM(2) VERSION(1) */
#define ONION_PUBKEY_LEN	32
#define ONION_VERSION		3
#define ONION_MAX_NAME_LEN	253	/* RFC 1035, without the trailing dot */
#define ONION_MAX_LABEL_LEN	63

static const char checksum_prefix[] = ".onion checksum";

/* The five bytes end in "onion", in any case. */
static int
is_onion_word(const char *p)
{
	/* With a letter as target, setting bit 0x20 admits just its two cases. */
	return ((unsigned char)p[0] | 0x20) == 'o' &&
	    ((unsigned char)p[1] | 0x20) == 'n' &&
	    ((unsigned char)p[2] | 0x20) == 'i' &&
	    ((unsigned char)p[3] | 0x20) == 'o' &&
	    ((unsigned char)p[4] | 0x20) == 'n';
}

static size_t
strip_trailing_dot(const char *name, size_t len)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	return len;
}

int
onionshim_onion_is_onion_name(const char *name, size_t len)
{
	if (name == NULL)
		return 0;
	len = strip_trailing_dot(name, len);
	if (len < 5 || !is_onion_word(name + len - 5))
		return 0;
	return len == 5 || name[len - 6] == '.';
}

/* RFC 4648 base32 digit value, either case; -1 outside the alphabet. */
static int
base32_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * 56 digits are exactly 280 bits: no padding, no leftover bits. Checking
 * the alphabet while decoding keeps it to one pass. Returns 0 or -1.
 */
static int
base32_decode_label(const char label[ONIONSHIM_ONION_LABEL_LEN],
		    uint8_t raw[ONION_RAW_LEN])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, n = 0;
	int v;

	for (i = 0; i < ONIONSHIM_ONION_LABEL_LEN; i++) {
		if ((v = base32_value((unsigned char)label[i])) < 0)
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return 0;
}

static int
is_base32(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (base32_value((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

static int
checksum_matches(const uint8_t raw[ONION_RAW_LEN])
{
	uint8_t msg[sizeof(checksum_prefix) - 1 + ONION_PUBKEY_LEN + 1];
	uint8_t digest[32];
	size_t off = sizeof(checksum_prefix) - 1;

	memcpy(msg, checksum_prefix, off);
	memcpy(msg + off, raw, ONION_PUBKEY_LEN);
	msg[off + ONION_PUBKEY_LEN] = raw[ONION_RAW_LEN - 1];
	onionshim_sha3_256(msg, sizeof(msg), digest);
	return digest[0] == raw[ONION_PUBKEY_LEN] &&
	    digest[1] == raw[ONION_PUBKEY_LEN + 1];
}

enum onionshim_onion_status
onionshim_onion_label_check(const char *label, size_t len)
{
	uint8_t raw[ONION_RAW_LEN];

	if (label == NULL || len == 0)
		return ONIONSHIM_ONION_EMPTY;
	if (len == ONION_V2_LABEL_LEN)
		return is_base32(label, len) ? ONIONSHIM_ONION_V2 :
		    ONIONSHIM_ONION_BAD_BASE32;
	if (len != ONIONSHIM_ONION_LABEL_LEN)
		return ONIONSHIM_ONION_BAD_LENGTH;
	if (base32_decode_label(label, raw) < 0)
		return ONIONSHIM_ONION_BAD_BASE32;
	if (raw[ONION_RAW_LEN - 1] != ONION_VERSION)
		return ONIONSHIM_ONION_BAD_VERSION;
	if (!checksum_matches(raw))
		return ONIONSHIM_ONION_BAD_CHECKSUM;
	return ONIONSHIM_ONION_OK;
}

static int
is_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Tor strips the subdomain without looking at it, so hold it to what a
 * resolver would accept (the character set of onionshim_name_norm): a
 * name that passes here is safe to log and to look up in the map.
 */
static int
is_dns_labels(const char *s, size_t len)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (!is_label_char((unsigned char)s[i]) ||
			   ++label > ONION_MAX_LABEL_LEN) {
			return 0;
		}
	}
	return label > 0;
}

static void
set_bare_onion(struct onionshim_onion *out, const char *label)
{
	size_t i;

	for (i = 0; i < ONIONSHIM_ONION_LABEL_LEN; i++) {
		unsigned char c = (unsigned char)label[i];

		out->buf[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	memcpy(out->buf + ONIONSHIM_ONION_LABEL_LEN, ".onion",
	       sizeof(".onion"));
}

enum onionshim_onion_status
onionshim_onion_check(const char *name, size_t len, struct onionshim_onion *out)
{
	enum onionshim_onion_status status;
	size_t start, end;

	if (out != NULL)
		out->buf[0] = '\0';
	if (!onionshim_onion_is_onion_name(name, len))
		return ONIONSHIM_ONION_NOT_ONION;
	len = strip_trailing_dot(name, len);
	if (len <= sizeof(".onion") - 1)	/* "onion" or ".onion" */
		return ONIONSHIM_ONION_EMPTY;
	if (len > ONION_MAX_NAME_LEN)
		return ONIONSHIM_ONION_BAD_NAME;

	/* name[start, end) is the label before ".onion"; end is its dot. */
	end = len - (sizeof(".onion") - 1);
	for (start = end; start > 0 && name[start - 1] != '.'; start--)
		;
	if (start == end)
		return ONIONSHIM_ONION_BAD_NAME;
	if (start > 0 && !is_dns_labels(name, start - 1))
		return ONIONSHIM_ONION_BAD_NAME;

	status = onionshim_onion_label_check(name + start, end - start);
	if (status == ONIONSHIM_ONION_OK && out != NULL)
		set_bare_onion(out, name + start);
	return status;
}

const char *
onionshim_onion_strerror(enum onionshim_onion_status status)
{
	switch (status) {
	case ONIONSHIM_ONION_OK:
		return "valid v3 onion address";
	case ONIONSHIM_ONION_NOT_ONION:
		return "not an onion name";
	case ONIONSHIM_ONION_EMPTY:
		return "no address before .onion";
	case ONIONSHIM_ONION_V2:
		return "v2 onion address, no longer supported by Tor";
	case ONIONSHIM_ONION_BAD_LENGTH:
		return "onion address is not 56 characters long";
	case ONIONSHIM_ONION_BAD_BASE32:
		return "onion address has a character outside a-z and 2-7";
	case ONIONSHIM_ONION_BAD_VERSION:
		return "onion address version is not 3";
	case ONIONSHIM_ONION_BAD_CHECKSUM:
		return "onion address checksum mismatch (mistyped address?)";
	case ONIONSHIM_ONION_BAD_NAME:
		return "malformed name: empty label or bad character";
	}
	return "unknown onion address status";
}
