/*
 * test_sha3 - SHA3-256 against the FIPS 202 / NIST example vectors and
 * against Python's hashlib.sha3_256 for lengths around the 136-byte rate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onionshim/sha3.h"

static void
hex_digest(const uint8_t digest[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[64] = '\0';
}

static void
assert_sha3_hex(const void *data, size_t len, const char *expect)
{
	uint8_t digest[32];
	char hex[65];

	onionshim_sha3_256(data, len, digest);
	hex_digest(digest, hex);
	assert_string_equal(hex, expect);
}

/* NIST's SHA3-256 examples (FIPS 202 example values, "abc" family). */
static const struct {
	const char *msg;
	const char *digest;
} nist_vectors[] = {
	{ "",
	  "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a" },
	{ "abc",
	  "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" },
	/* 448 bits */
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376" },
	/* 896 bits */
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "916f6061fe879741ca6469b43971dfdb28b1a32dc36cb3254e812be27aad1d18" },
	/* the vector Tor's hs_build_address.py uses to catch pre-FIPS Keccak */
	{ "Hello World",
	  "e167f68d6563d75bb25f3aa49c29ef612d41352dc00606de7cbd630bb2665f51" },
};

static void
test_hashes_nist_examples(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nist_vectors) / sizeof(nist_vectors[0]); i++)
		assert_sha3_hex(nist_vectors[i].msg, strlen(nist_vectors[i].msg),
				nist_vectors[i].digest);
}

/* NIST's 1600-bit example: 200 bytes of 0xa3, more than one block. */
static void
test_hashes_200_bytes_of_a3(void **state)
{
	uint8_t msg[200];

	(void)state;
	memset(msg, 0xa3, sizeof(msg));
	assert_sha3_hex(msg, sizeof(msg),
		"79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
}

static void
test_hashes_one_million_a(void **state)
{
	size_t len = 1000000;
	char *msg = malloc(len);

	(void)state;
	assert_non_null(msg);
	memset(msg, 'a', len);
	assert_sha3_hex(msg, len,
		"5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1");
	free(msg);
}

/*
 * Message byte i is (7i + 1) mod 256. Expected digests come from
 * hashlib.sha3_256(bytes((i*7+1)&0xff for i in range(n))).hexdigest().
 * 135 puts both padding bits in one byte; 136 needs a whole padding block.
 */
static const struct {
	size_t len;
	const char *digest;
} rate_vectors[] = {
	{ 1, "2767f15c8af2f2c7225d5273fdd683edc714110a987d1054697c348aed4e6cc7" },
	{ 134, "f83ec5f8475014709da3f2231db31e19498347e195a9a87c8e604ca3454e8113" },
	{ 135, "64ccd300c1cf3d3846046bd588a1613e5ba619c09d45d4b7cc9afa093af29e19" },
	{ 136, "f106d1024a855c6a20d300bb53ec5472a1bae126fa630fee78219b51add7d768" },
	{ 137, "fa4d0b0141ec2c69a5dc314ed611a0819b920e95d13d586df89f370809e9465a" },
	{ 271, "a50574cfd80f473a24d43ecf79367fbb64abdc3f882a303b91fedee18fcedbed" },
	{ 272, "0aaa9f42c58fd5464106c57379773972d2d92cb50b17f5c009c514dbf336b5b4" },
	{ 273, "64ea9aa8c95e4058d4b8af4fbf8e7414bdceaa72bff687bee3db534ff5c19474" },
};

static void
fill_pattern(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
}

static void
test_hashes_lengths_around_the_rate(void **state)
{
	uint8_t msg[273];
	size_t i;

	(void)state;
	fill_pattern(msg, sizeof(msg));
	for (i = 0; i < sizeof(rate_vectors) / sizeof(rate_vectors[0]); i++)
		assert_sha3_hex(msg, rate_vectors[i].len, rate_vectors[i].digest);
}

/* Lanes are loaded bytewise: an odd address must give the same digest. */
static void
test_hashes_unaligned_input(void **state)
{
	uint8_t buf[1 + 137];

	(void)state;
	fill_pattern(buf + 1, 137);
	assert_sha3_hex(buf + 1, 137,
		"fa4d0b0141ec2c69a5dc314ed611a0819b920e95d13d586df89f370809e9465a");
}

static void
test_writes_exactly_32_bytes(void **state)
{
	uint8_t out[34];

	(void)state;
	memset(out, 0x5a, sizeof(out));
	onionshim_sha3_256("abc", 3, out + 1);
	assert_int_equal(out[0], 0x5a);
	assert_int_equal(out[33], 0x5a);
	assert_int_equal(out[1], 0x3a);
	assert_int_equal(out[32], 0x32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes_nist_examples),
		cmocka_unit_test(test_hashes_200_bytes_of_a3),
		cmocka_unit_test(test_hashes_one_million_a),
		cmocka_unit_test(test_hashes_lengths_around_the_rate),
		cmocka_unit_test(test_hashes_unaligned_input),
		cmocka_unit_test(test_writes_exactly_32_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
