/*
 * NAME
 *	fake - fake addresses for onion and mapped names
 * SYNOPSIS
 *	#include "onionshim/fake.h"
 * DESCRIPTION
 *	A slot s in [1, nslots] stands for one destination. Its IPv4 address
 *	is fake_network with s in the host bits, its IPv6 address is
 *	fake_network6 with s in the host bits, so one slot owns exactly one
 *	address of each family. nslots is what the smaller range can hold
 *	without its all-zeros and all-ones host parts, so both families
 *	always agree.
 *
 *	onionshim_fake_home() places a key by 64-bit FNV-1a, a fixed hash,
 *	so that every process with the same config computes the same
 *	address: Postfix hands cached connections between processes keyed
 *	by address.
 *
 *	The table records onions met outside the map, one owner per slot,
 *	by open addressing.
 * RETURNS
 *	onionshim_fake_slot*() return 0, -ENOENT (not a fake address) or
 *	-EINVAL (inside a fake range but no slot); the table returns 0,
 *	-EEXIST (slot owned by another onion: fail closed) or -ENOSPC.
 * NEVER
 *	allocates, does I/O, locks, or touches errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "onionshim/fake.h"

#define FNV64_OFFSET	14695981039346656037ULL
#define FNV64_PRIME	1099511628211ULL

#define TABLE_MASK	(ONIONSHIM_FAKE_TABLE_SIZE - 1)
#define TABLE_FULL	(ONIONSHIM_FAKE_TABLE_SIZE / 4 * 3)

/* Host bits that a slot may use: the narrower range decides. */
static unsigned
slot_bits(const struct onionshim_config *cfg)
{
	unsigned bits4 = cfg->fake_prefix < 32 ? 32 - cfg->fake_prefix : 0;
	unsigned bits6 = cfg->fake_prefix6 < 128 ? 128 - cfg->fake_prefix6 : 0;
	unsigned bits = bits4 < bits6 ? bits4 : bits6;

	return bits < 32 ? bits : 32;
}

uint32_t
onionshim_fake_nslots(const struct onionshim_config *cfg)
{
	unsigned bits = slot_bits(cfg);

	/* A range without two spare host parts has no usable slot at all. */
	if (bits < 2)
		return 0;
	return (uint32_t)((1ULL << bits) - 2);
}

uint64_t
onionshim_fake_hash(const char *key, size_t len)
{
	uint64_t h = FNV64_OFFSET;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= FNV64_PRIME;
	}
	return h;
}

uint32_t
onionshim_fake_home(const char *key, size_t len, uint32_t nslots)
{
	if (nslots == 0)
		return 0;
	return 1 + (uint32_t)(onionshim_fake_hash(key, len) % nslots);
}

static uint32_t
mask4(unsigned prefix)
{
	if (prefix == 0)
		return 0;
	if (prefix >= 32)
		return UINT32_MAX;
	return UINT32_MAX << (32 - prefix);
}

void
onionshim_fake_addr4(const struct onionshim_config *cfg, uint32_t slot, struct in_addr *out)
{
	uint32_t net = ntohl(cfg->fake_net.s_addr) & mask4(cfg->fake_prefix);

	out->s_addr = htonl(net | (slot & ~mask4(cfg->fake_prefix)));
}

/* An IPv6 address as two host-order 64-bit halves, for masking. */
struct in6_halves {
	uint64_t hi, lo;
};

static struct in6_halves
halves_of(const struct in6_addr *a)
{
	struct in6_halves h = { 0, 0 };
	int i;

	for (i = 0; i < 8; i++) {
		h.hi = (h.hi << 8) | a->s6_addr[i];
		h.lo = (h.lo << 8) | a->s6_addr[8 + i];
	}
	return h;
}

static void
halves_store(struct in6_halves h, struct in6_addr *out)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out->s6_addr[i] = (uint8_t)h.hi;
		out->s6_addr[8 + i] = (uint8_t)h.lo;
		h.hi >>= 8;
		h.lo >>= 8;
	}
}

static struct in6_halves
mask6(unsigned prefix)
{
	struct in6_halves m;

	if (prefix >= 128)
		prefix = 128;
	if (prefix <= 64) {
		m.hi = prefix == 0 ? 0 : UINT64_MAX << (64 - prefix);
		m.lo = 0;
	} else {
		m.hi = UINT64_MAX;
		m.lo = prefix == 128 ? UINT64_MAX : UINT64_MAX << (128 - prefix);
	}
	return m;
}

void
onionshim_fake_addr6(const struct onionshim_config *cfg, uint32_t slot, struct in6_addr *out)
{
	struct in6_halves net = halves_of(&cfg->fake_net6);
	struct in6_halves m = mask6(cfg->fake_prefix6);

	net.hi &= m.hi;
	net.lo = (net.lo & m.lo) | ((uint64_t)slot & ~m.lo);
	halves_store(net, out);
}

/* HOST is the host part of an address inside a fake range. */
static int
slot_of_host(const struct onionshim_config *cfg, uint64_t host, uint32_t *slot)
{
	if (host == 0 || host > onionshim_fake_nslots(cfg))
		return -EINVAL;
	*slot = (uint32_t)host;
	return 0;
}

int
onionshim_fake_slot_in4(const struct onionshim_config *cfg, const struct in_addr *a,
			uint32_t *slot)
{
	uint32_t m = mask4(cfg->fake_prefix);
	uint32_t addr = ntohl(a->s_addr);

	if ((addr & m) != (ntohl(cfg->fake_net.s_addr) & m))
		return -ENOENT;
	return slot_of_host(cfg, addr & ~m, slot);
}

int
onionshim_fake_slot_in6(const struct onionshim_config *cfg, const struct in6_addr *a,
			uint32_t *slot)
{
	struct in6_halves addr = halves_of(a);
	struct in6_halves net = halves_of(&cfg->fake_net6);
	struct in6_halves m = mask6(cfg->fake_prefix6);

	if ((addr.hi & m.hi) != (net.hi & m.hi) || (addr.lo & m.lo) != (net.lo & m.lo))
		return -ENOENT;
	/* Host bits above the low 64 can only hold a number beyond nslots. */
	if ((addr.hi & ~m.hi) != 0)
		return -EINVAL;
	return slot_of_host(cfg, addr.lo & ~m.lo, slot);
}

int
onionshim_fake_slot(const struct onionshim_config *cfg, const struct sockaddr *sa,
		    socklen_t len, uint32_t *slot)
{
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;

	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return -ENOENT;
	if (sa->sa_family == AF_INET) {
		if (len < (socklen_t)sizeof(struct sockaddr_in))
			return -ENOENT;
		return onionshim_fake_slot_in4(cfg, &((const struct sockaddr_in *)sa)->sin_addr,
					       slot);
	}
	if (sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(struct sockaddr_in6))
		return -ENOENT;
	sin6 = (const struct sockaddr_in6 *)sa;
	/* An AF_INET6 socket reaches an IPv4 fake address this way. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(&v4.s_addr, &sin6->sin6_addr.s6_addr[12], sizeof(v4.s_addr));
		return onionshim_fake_slot_in4(cfg, &v4, slot);
	}
	return onionshim_fake_slot_in6(cfg, &sin6->sin6_addr, slot);
}

/* Neighbouring slots (map collisions probe linearly) must not cluster. */
static size_t
table_start(uint32_t slot)
{
	uint32_t h = slot * 0x9E3779B1u;

	return (size_t)(h ^ (h >> 16)) & TABLE_MASK;
}

static int
same_onion(const struct onionshim_onion *a, const struct onionshim_onion *b)
{
	return strncmp(a->buf, b->buf, sizeof(a->buf)) == 0;
}

int
onionshim_fake_table_add(struct onionshim_fake_table *t, uint32_t slot,
			 const struct onionshim_onion *onion)
{
	size_t i = table_start(slot), probes;

	if (slot == 0)
		return -EINVAL;
	for (probes = 0; probes < ONIONSHIM_FAKE_TABLE_SIZE; probes++) {
		struct onionshim_fake_slot_entry *e = &t->e[i];

		if (e->slot == slot)
			return same_onion(&e->onion, onion) ? 0 : -EEXIST;
		if (e->slot == 0) {
			if (t->n >= TABLE_FULL)
				return -ENOSPC;
			e->slot = slot;
			memcpy(&e->onion, onion, sizeof(e->onion));
			e->onion.buf[sizeof(e->onion.buf) - 1] = '\0';
			t->n++;
			return 0;
		}
		i = (i + 1) & TABLE_MASK;
	}
	return -ENOSPC;
}

const struct onionshim_onion *
onionshim_fake_table_find(const struct onionshim_fake_table *t, uint32_t slot)
{
	size_t i = table_start(slot), probes;

	if (slot == 0)
		return NULL;
	for (probes = 0; probes < ONIONSHIM_FAKE_TABLE_SIZE; probes++) {
		const struct onionshim_fake_slot_entry *e = &t->e[i];

		if (e->slot == slot)
			return &e->onion;
		if (e->slot == 0)
			return NULL;
		i = (i + 1) & TABLE_MASK;
	}
	return NULL;
}
