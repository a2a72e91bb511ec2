/*
 * NAME
 *	fuzz_onion - fuzz target for v3 onion name validation
 * DESCRIPTION
 *	The input is a name. onionshim_onion_check's verdict is compared
 *	with a second implementation written here from rend-spec-v3 and
 *	RFC 7686 (only the hash is shared: the library's SHA3-256, which
 *	its unit test holds to the FIPS 202 vectors):
 *
 *	- OK exactly when the label before "onion" is 56 base32 digits
 *	  that decode to PUBKEY | CHECKSUM | 03 with a matching checksum,
 *	  every label before it is 1..63 of [A-Za-z0-9_-], and the name
 *	  has at most 253 characters without its one optional final dot;
 *	- NOT_ONION exactly when onionshim_onion_is_onion_name says no;
 *	- on OK, OUT is the lower-case bare "<56>.onion" of the same label,
 *	  which passes both checks again; otherwise OUT is empty.
 *
 *	Random bytes almost never carry a valid checksum, so each input
 *	also yields names that do: the first 32 bytes become a public key,
 *	its valid address is computed here, and it is checked bare, with
 *	the rest of the input as subdomain, with case flipped by input
 *	bits, and with one digit changed.
 * NEVER
 *	does I/O beyond an abort message.
 */
#include <string.h>

#include "fuzz.h"
#include "onionshim/onion.h"
#include "onionshim/sha3.h"

#define LABEL_LEN	56
#define PUBKEY_LEN	32
#define RAW_LEN		35
#define NAME_MAX_LEN	253

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static int
digit_value(unsigned char c)
{
	const char *p;

	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	p = c != '\0' ? strchr(b32, c) : NULL;
	return p != NULL ? (int)(p - b32) : -1;
}

static void
checksum(const uint8_t pubkey[PUBKEY_LEN], uint8_t version, uint8_t out[2])
{
	uint8_t msg[15 + PUBKEY_LEN + 1], digest[32];

	memcpy(msg, ".onion checksum", 15);
	memcpy(msg + 15, pubkey, PUBKEY_LEN);
	msg[15 + PUBKEY_LEN] = version;
	onionshim_sha3_256(msg, sizeof(msg), digest);
	out[0] = digest[0];
	out[1] = digest[1];
}

/* 56 digits, 5 bits each, most significant first: exactly 35 bytes. */
static int
ref_label_valid(const char *label)
{
	uint8_t raw[RAW_LEN], sum[2];
	size_t bit, i;

	memset(raw, 0, sizeof(raw));
	for (i = 0; i < LABEL_LEN; i++) {
		int v = digit_value((unsigned char)label[i]);
		int k;

		if (v < 0)
			return 0;
		for (k = 4; k >= 0; k--) {
			bit = i * 5 + (size_t)(4 - k);
			if (v & (1 << k))
				raw[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		}
	}
	if (raw[RAW_LEN - 1] != 3)
		return 0;
	checksum(raw, 3, sum);
	return raw[PUBKEY_LEN] == sum[0] && raw[PUBKEY_LEN + 1] == sum[1];
}

static int
ref_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Whether NAME is a valid v3 onion name, judged label by label. */
static int
ref_valid(const char *name, size_t len)
{
	size_t start, i, n = 0, labels = 0;
	size_t lstart[NAME_MAX_LEN + 2], llen[NAME_MAX_LEN + 2];

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		lstart[labels] = start;
		llen[labels++] = i - start;
		start = i + 1;
	}
	if (labels < 2)
		return 0;
	if (llen[labels - 1] != 5 || strncasecmp(name + lstart[labels - 1], "onion", 5) != 0)
		return 0;
	if (llen[labels - 2] != LABEL_LEN || !ref_label_valid(name + lstart[labels - 2]))
		return 0;
	for (i = 0; i + 2 < labels; i++) {
		if (llen[i] < 1 || llen[i] > 63)
			return 0;
		for (n = 0; n < llen[i]; n++)
			if (!ref_label_char((unsigned char)name[lstart[i] + n]))
				return 0;
	}
	return 1;
}

static void
check_name(const char *name, size_t len)
{
	struct onionshim_onion out;
	enum onionshim_onion_status st;
	int onion = onionshim_onion_is_onion_name(name, len);
	size_t i;

	memset(&out, 'x', sizeof(out));
	st = onionshim_onion_check(name, len, &out);
	FUZZ_CHECK(st >= ONIONSHIM_ONION_OK && st <= ONIONSHIM_ONION_BAD_NAME);
	FUZZ_CHECK(strcmp(onionshim_onion_strerror(st), "unknown onion address status") != 0);
	FUZZ_CHECK(onion == 0 || onion == 1);
	FUZZ_CHECK((st == ONIONSHIM_ONION_NOT_ONION) == !onion);
	FUZZ_CHECK((st == ONIONSHIM_ONION_OK) == ref_valid(name, len));
	FUZZ_CHECK(onionshim_onion_check(name, len, NULL) == st);
	if (st != ONIONSHIM_ONION_OK) {
		FUZZ_CHECK(out.buf[0] == '\0');
		return;
	}
	FUZZ_CHECK(strlen(out.buf) == LABEL_LEN + 6);
	FUZZ_CHECK(strcmp(out.buf + LABEL_LEN, ".onion") == 0);
	for (i = 0; i < LABEL_LEN; i++)
		FUZZ_CHECK(strchr(b32, out.buf[i]) != NULL && out.buf[i] != '\0');
	FUZZ_CHECK(onionshim_onion_label_check(out.buf, LABEL_LEN) == ONIONSHIM_ONION_OK);
	FUZZ_CHECK(onionshim_onion_check(out.buf, LABEL_LEN + 6, NULL) == ONIONSHIM_ONION_OK);
	/* OUT is the input's own label: it sits right before ".onion". */
	if (name[len - 1] == '.')
		len--;
	FUZZ_CHECK(strncasecmp(name + len - 6 - LABEL_LEN, out.buf, LABEL_LEN + 6) == 0);
}

static void
check_label(const char *label, size_t len)
{
	enum onionshim_onion_status st = onionshim_onion_label_check(label, len);

	FUZZ_CHECK(st != ONIONSHIM_ONION_NOT_ONION);
	FUZZ_CHECK((st == ONIONSHIM_ONION_OK) == (len == LABEL_LEN && ref_label_valid(label)));
	if (st == ONIONSHIM_ONION_V2)
		FUZZ_CHECK(len == 16);
	if (st == ONIONSHIM_ONION_BAD_LENGTH)
		FUZZ_CHECK(len != 16 && len != LABEL_LEN && len != 0);
}

/* The valid address of PUBKEY: base32(PUBKEY | CHECKSUM | 03). */
static void
encode_address(const uint8_t pubkey[PUBKEY_LEN], char label[LABEL_LEN])
{
	uint8_t raw[RAW_LEN];
	size_t i, bit;

	memcpy(raw, pubkey, PUBKEY_LEN);
	checksum(pubkey, 3, raw + PUBKEY_LEN);
	raw[RAW_LEN - 1] = 3;
	for (i = 0; i < LABEL_LEN; i++) {
		unsigned v = 0;
		int k;

		for (k = 0; k < 5; k++) {
			bit = i * 5 + (size_t)k;
			v = v << 1 | ((raw[bit / 8] >> (7 - bit % 8)) & 1);
		}
		label[i] = b32[v];
	}
}

/* Names built around a valid address, so that the OK path is fuzzed too. */
static void
check_built(const uint8_t *data, size_t size)
{
	char name[2 * NAME_MAX_LEN + 64];
	char *label;
	size_t sub, i, len;

	if (size < PUBKEY_LEN)
		return;
	sub = size - PUBKEY_LEN;
	if (sub > NAME_MAX_LEN)
		sub = NAME_MAX_LEN;
	/* The rest of the input as subdomain: valid or not, both must agree. */
	memcpy(name, data + PUBKEY_LEN, sub);
	if (sub > 0)
		name[sub++] = '.';
	label = name + sub;
	encode_address(data, label);
	memcpy(label + LABEL_LEN, ".onion.", 7);
	FUZZ_CHECK(onionshim_onion_label_check(label, LABEL_LEN) == ONIONSHIM_ONION_OK);
	FUZZ_CHECK(onionshim_onion_check(label, LABEL_LEN + 6, NULL) == ONIONSHIM_ONION_OK);
	check_name(label, LABEL_LEN + 6);
	check_name(label, LABEL_LEN + 7);
	len = sub + LABEL_LEN + 6;
	check_name(name, len);
	/* Case does not matter anywhere in an onion name. */
	for (i = 0; i < LABEL_LEN + 6; i++)
		if ((data[i % PUBKEY_LEN] >> (i % 8)) & 1 && label[i] >= 'a' && label[i] <= 'z')
			label[i] = (char)(label[i] - 'a' + 'A');
	FUZZ_CHECK(onionshim_onion_check(label, LABEL_LEN + 6, NULL) == ONIONSHIM_ONION_OK);
	check_name(name, len);
	/* One digit changed: whatever the result, it must match the reference. */
	i = data[0] % LABEL_LEN;
	label[i] = b32[(digit_value((unsigned char)label[i]) + 1 + data[1] % 31) % 32];
	check_name(label, LABEL_LEN + 6);
	check_label(label, LABEL_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_name((const char *)data, size);
	check_label((const char *)data, size);
	check_built(data, size);
	return 0;
}
