/*
 * sha3 - SHA3-256 (FIPS 202), the one hash a v3 onion checksum needs.
 * Pure, no allocation; written here so that the library depends on libc
 * and libdl only.
 */
#ifndef ONIONSHIM_SHA3_H
#define ONIONSHIM_SHA3_H

#include <stddef.h>
#include <stdint.h>

/* onionshim_sha3_256 - hash LEN bytes at DATA into OUT. Returns nothing. */
void onionshim_sha3_256(const void *data, size_t len, uint8_t out[32]);

#endif
