/*
 * fake - fake addresses: the stand-ins that a program gets for an onion or
 * mapped name and later hands to connect().
 *
 * A fake address is a "slot" number s in [1, nslots] placed in the host
 * bits of fake_network (IPv4) or fake_network6 (IPv6); nslots is the number
 * of usable host addresses of the smaller of the two ranges (capped at
 * 2^32 - 2; the all-zeros and all-ones host parts are never used). The home
 * slot of a destination key is a fixed 64-bit FNV-1a hash of the key, so
 * every process with the same config computes the same address. The map
 * module resolves collisions between map entries; the table below records
 * the onions a process met outside the map and refuses a second owner of a
 * slot (fail closed).
 *
 * Pure: no I/O, no allocation, no locks (callers lock the table).
 */
#ifndef ONIONSHIM_FAKE_H
#define ONIONSHIM_FAKE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "onionshim/config.h"
#include "onionshim/onion.h"

/* onionshim_fake_nslots - number of usable slots for CFG (>= 254). */
uint32_t onionshim_fake_nslots(const struct onionshim_config *cfg);

/* onionshim_fake_hash - 64-bit FNV-1a of LEN bytes at KEY. */
uint64_t onionshim_fake_hash(const char *key, size_t len);

/* onionshim_fake_home - home slot in [1, NSLOTS] for KEY. */
uint32_t onionshim_fake_home(const char *key, size_t len, uint32_t nslots);

/* onionshim_fake_addr4 / _addr6 - the address of SLOT. Return nothing. */
void onionshim_fake_addr4(const struct onionshim_config *cfg, uint32_t slot, struct in_addr *out);
void onionshim_fake_addr6(const struct onionshim_config *cfg, uint32_t slot, struct in6_addr *out);

/*
 * onionshim_fake_slot - if SA (LEN bytes) is an AF_INET/AF_INET6 address
 * (v4-mapped IPv6 included) inside the fake ranges, store its slot. Returns
 * 0 and sets *SLOT; -ENOENT when the address is not fake; -EINVAL for a
 * fake-range address that is no valid slot (network or broadcast part).
 */
int onionshim_fake_slot(const struct onionshim_config *cfg, const struct sockaddr *sa,
			socklen_t len, uint32_t *slot);

/* onionshim_fake_slot_in4 / _in6 - the same, from a bare address. */
int onionshim_fake_slot_in4(const struct onionshim_config *cfg, const struct in_addr *a,
			    uint32_t *slot);
int onionshim_fake_slot_in6(const struct onionshim_config *cfg, const struct in6_addr *a,
			    uint32_t *slot);

/* Onions met outside the map, per process. */
#define ONIONSHIM_FAKE_TABLE_SIZE 1024	/* power of two */

struct onionshim_fake_table {
	struct onionshim_fake_slot_entry {
		uint32_t slot;		/* 0: empty */
		struct onionshim_onion onion;
	} e[ONIONSHIM_FAKE_TABLE_SIZE];
	size_t n;
};

/*
 * onionshim_fake_table_add - record that SLOT belongs to ONION. Returns 0
 * (added, or already there for the same onion), -EEXIST when SLOT belongs
 * to another onion (a collision: fail closed), -ENOSPC when the table is
 * full (3/4 of its size).
 */
int onionshim_fake_table_add(struct onionshim_fake_table *t, uint32_t slot,
			     const struct onionshim_onion *onion);

/* onionshim_fake_table_find - the onion of SLOT, or NULL. */
const struct onionshim_onion *onionshim_fake_table_find(const struct onionshim_fake_table *t,
							 uint32_t slot);

#endif
