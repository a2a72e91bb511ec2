/*
 * NAME
 *	sha3 - SHA3-256 (FIPS 202)
 * SYNOPSIS
 *	#include "onionshim/sha3.h"
 *
 *	void onionshim_sha3_256(const void *data, size_t len,
 *				uint8_t out[32]);
 * DESCRIPTION
 *	onionshim_sha3_256() hashes LEN bytes at DATA with the Keccak-f[1600]
 *	sponge at rate 136 bytes and writes the 32-byte digest into OUT.
 *	It exists so that the onion checksum needs no crypto library.
 *
 *	Lanes are loaded and stored byte by byte in little-endian order, as
 *	FIPS 202 defines them, so the code needs no alignment and gives the
 *	same answer on any host byte order.
 * RETURNS
 *	Nothing; it cannot fail.
 * NEVER
 *	allocates, does I/O, keeps state between calls, or touches errno.
 */
#include <stdint.h>
#include <string.h>

#include "onionshim/sha3.h"

#define SHA3_256_RATE	136	/* (1600 - 2 * 256) / 8 */
#define KECCAK_ROUNDS	24

/* Round constants of iota, from the rc(t) LFSR of FIPS 202 3.2.5. */
static const uint64_t keccak_rc[KECCAK_ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* The mask keeps a zero rotation from shifting by 64, which C leaves
 * undefined. */
static inline uint64_t
rotl64(uint64_t v, unsigned n)
{
	return (v << n) | (v >> ((64 - n) & 63));
}

/*
 * rho and pi for lane x + 5y: rotate it by rho's offset (FIPS 202 3.2.2)
 * and move it to y + 5((2x + 3y) mod 5) (3.2.3). Spelled out, because
 * constant rotations are what makes the checksum cheap.
 */
#define RHO_PI(b, a, from, to, rot)	((b)[to] = rotl64((a)[from], (rot)))

static void
rho_pi(uint64_t b[25], const uint64_t a[25])
{
	RHO_PI(b, a, 0, 0, 0);
	RHO_PI(b, a, 1, 10, 1);
	RHO_PI(b, a, 2, 20, 62);
	RHO_PI(b, a, 3, 5, 28);
	RHO_PI(b, a, 4, 15, 27);
	RHO_PI(b, a, 5, 16, 36);
	RHO_PI(b, a, 6, 1, 44);
	RHO_PI(b, a, 7, 11, 6);
	RHO_PI(b, a, 8, 21, 55);
	RHO_PI(b, a, 9, 6, 20);
	RHO_PI(b, a, 10, 7, 3);
	RHO_PI(b, a, 11, 17, 10);
	RHO_PI(b, a, 12, 2, 43);
	RHO_PI(b, a, 13, 12, 25);
	RHO_PI(b, a, 14, 22, 39);
	RHO_PI(b, a, 15, 23, 41);
	RHO_PI(b, a, 16, 8, 45);
	RHO_PI(b, a, 17, 18, 15);
	RHO_PI(b, a, 18, 3, 21);
	RHO_PI(b, a, 19, 13, 8);
	RHO_PI(b, a, 20, 14, 18);
	RHO_PI(b, a, 21, 24, 2);
	RHO_PI(b, a, 22, 9, 61);
	RHO_PI(b, a, 23, 19, 56);
	RHO_PI(b, a, 24, 4, 14);
}

/* The x + 1 and x - 1 (mod 5) neighbours are spelled out: no division. */
static void
keccak_f1600(uint64_t a[25])
{
	uint64_t b[25], c[5], d[5], b0, b1, b2, b3, b4;
	unsigned round, x, y;

	for (round = 0; round < KECCAK_ROUNDS; round++) {
		/* theta */
		for (x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		d[0] = c[4] ^ rotl64(c[1], 1);
		d[1] = c[0] ^ rotl64(c[2], 1);
		d[2] = c[1] ^ rotl64(c[3], 1);
		d[3] = c[2] ^ rotl64(c[4], 1);
		d[4] = c[3] ^ rotl64(c[0], 1);
		for (y = 0; y < 25; y += 5) {
			a[y] ^= d[0];
			a[y + 1] ^= d[1];
			a[y + 2] ^= d[2];
			a[y + 3] ^= d[3];
			a[y + 4] ^= d[4];
		}
		rho_pi(b, a);
		/* chi, one row at a time */
		for (y = 0; y < 25; y += 5) {
			b0 = b[y];
			b1 = b[y + 1];
			b2 = b[y + 2];
			b3 = b[y + 3];
			b4 = b[y + 4];
			a[y] = b0 ^ (~b1 & b2);
			a[y + 1] = b1 ^ (~b2 & b3);
			a[y + 2] = b2 ^ (~b3 & b4);
			a[y + 3] = b3 ^ (~b4 & b0);
			a[y + 4] = b4 ^ (~b0 & b1);
		}
		/* iota */
		a[0] ^= keccak_rc[round];
	}
}

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 8; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void
store_le64(uint8_t *p, uint64_t v)
{
	unsigned i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
absorb_block(uint64_t a[25], const uint8_t block[SHA3_256_RATE])
{
	unsigned i;

	for (i = 0; i < SHA3_256_RATE / 8; i++)
		a[i] ^= load_le64(block + 8 * i);
	keccak_f1600(a);
}

void
onionshim_sha3_256(const void *data, size_t len, uint8_t out[32])
{
	const uint8_t *p = data;
	uint8_t last[SHA3_256_RATE];
	uint64_t a[25];
	unsigned i;

	memset(a, 0, sizeof(a));
	for (; len >= SHA3_256_RATE; p += SHA3_256_RATE, len -= SHA3_256_RATE)
		absorb_block(a, p);

	/*
	 * SHA3's domain bits 01 and pad10*1's first 1 make 0x06; the final 1
	 * is the top bit of the block. When one byte is left both land in
	 * the same byte, hence XOR rather than assignment.
	 */
	memset(last, 0, sizeof(last));
	if (len > 0)
		memcpy(last, p, len);
	last[len] ^= 0x06;
	last[SHA3_256_RATE - 1] ^= 0x80;
	absorb_block(a, last);

	/* 32 bytes are less than one rate: a single squeeze suffices. */
	for (i = 0; i < 4; i++)
		store_le64(out + 8 * i, a[i]);
}
