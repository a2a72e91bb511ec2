/*
 * onion - recognise and validate v3 onion names (rend-spec-v3, "Encoding
 * onion addresses": base32(PUBKEY | CHECKSUM | VERSION), where CHECKSUM is
 * the first two bytes of SHA3-256(".onion checksum" | PUBKEY | VERSION) and
 * VERSION is 3).
 *
 * A name "is an onion name" when its last label is "onion" (any case, one
 * optional trailing dot). It is a valid onion name when the label before
 * "onion" is a valid v3 address; labels before that are a subdomain, which
 * Tor strips (RFC 7686 names never reach DNS either way).
 *
 * Pure: no I/O, no allocation, thread-safe.
 */
#ifndef ONIONSHIM_ONION_H
#define ONIONSHIM_ONION_H

#include <stddef.h>

#define ONIONSHIM_ONION_LABEL_LEN 56

/* A bare onion name: 56 lower-case base32 characters, ".onion", NUL. */
struct onionshim_onion {
	char buf[64];
};

enum onionshim_onion_status {
	ONIONSHIM_ONION_OK = 0,
	ONIONSHIM_ONION_NOT_ONION,	/* last label is not "onion" */
	ONIONSHIM_ONION_EMPTY,		/* nothing before ".onion" */
	ONIONSHIM_ONION_V2,		/* 16 characters: retired v2 address */
	ONIONSHIM_ONION_BAD_LENGTH,	/* label is not 56 characters */
	ONIONSHIM_ONION_BAD_BASE32,	/* a character outside a-z2-7 */
	ONIONSHIM_ONION_BAD_VERSION,	/* version byte is not 3 */
	ONIONSHIM_ONION_BAD_CHECKSUM,	/* SHA3-256 checksum mismatch */
	ONIONSHIM_ONION_BAD_NAME,	/* empty label, bad character */
};

/*
 * onionshim_onion_is_onion_name - tell whether NAME (LEN bytes) ends in the
 * label "onion". Cheap: no validation. Returns 1 or 0.
 */
int onionshim_onion_is_onion_name(const char *name, size_t len);

/*
 * onionshim_onion_check - validate NAME (LEN bytes; subdomains and one
 * trailing dot allowed, any case). On ONIONSHIM_ONION_OK, OUT (may be NULL)
 * receives the bare lower-case onion ("<56 chars>.onion"). Returns a status.
 */
enum onionshim_onion_status onionshim_onion_check(const char *name, size_t len,
						  struct onionshim_onion *out);

/*
 * onionshim_onion_label_check - validate a bare 56-character label without
 * ".onion". Returns a status (never NOT_ONION).
 */
enum onionshim_onion_status onionshim_onion_label_check(const char *label, size_t len);

/* onionshim_onion_strerror - a short English phrase for STATUS. */
const char *onionshim_onion_strerror(enum onionshim_onion_status status);

#endif
