/*
 * dnsmsg - the DNS messages the library builds itself for the res_* family
 * (RFC 1035), for names that must never reach a DNS server: onion names
 * and mapped mail domains. MX answers name the onion as exchanger, A/AAAA
 * answers carry the fake address, any other type is NODATA (NOERROR with an
 * empty answer section). The AD bit is never set; RA is set, as a
 * recursive resolver would; RD is copied from the query.
 *
 * Pure functions over caller buffers: a parser with a cursor and a sticky
 * error, every truncation checked. No I/O, no allocation, thread-safe.
 *
 * Errors: -EMSGSIZE (the output buffer is too small), -EBADMSG (the input
 * is not a well-formed query), -EINVAL (bad argument).
 */
#ifndef ONIONSHIM_DNSMSG_H
#define ONIONSHIM_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "onionshim/util.h"

enum {
	ONIONSHIM_DNS_A = 1,
	ONIONSHIM_DNS_MX = 15,
	ONIONSHIM_DNS_AAAA = 28,
	ONIONSHIM_DNS_OPT = 41,
	ONIONSHIM_DNS_IN = 1,
};

/* The question of a query, as the caller asked it. */
struct onionshim_dns_query {
	uint16_t id;
	int rd;				/* recursion desired bit of the query */
	struct onionshim_name qname;	/* as written, without trailing dot */
	uint16_t qtype;
	uint16_t qclass;
	int has_opt;			/* an EDNS0 OPT record was present */
	uint16_t opt_udp_size;		/* its UDP payload size */
	int opt_do;			/* its DO bit */
};

/* What to answer. */
struct onionshim_dns_answer {
	uint16_t type;			/* A, AAAA or MX; 0 for NODATA */
	uint8_t addr[16];		/* A: 4 bytes, AAAA: 16 bytes */
	const char *exchange;		/* MX: the onion name */
	uint16_t preference;		/* MX preference */
	uint32_t ttl;
};

/*
 * onionshim_dns_parse_query - parse the raw query MSG (LEN bytes) that a
 * program hands to res_send: header (QR clear, opcode QUERY, QDCOUNT 1),
 * one question, and in the additional section at most one OPT record.
 * Returns 0 with Q filled, or -EBADMSG.
 */
int onionshim_dns_parse_query(const uint8_t *msg, size_t len, struct onionshim_dns_query *q);

/*
 * onionshim_dns_build_answer - write a response to Q into OUT (OUTLEN
 * bytes): header with Q's id, QR, RA, RD as asked, RCODE 0, the question
 * echoed, ANS (or nothing when ANS->type is 0 or does not match
 * Q->qtype), and an OPT record when the query had one. Returns the length
 * written, or -EMSGSIZE.
 */
int onionshim_dns_build_answer(uint8_t *out, size_t outlen, const struct onionshim_dns_query *q,
			       const struct onionshim_dns_answer *ans);

/*
 * onionshim_dns_query_init - fill Q for a res_query-style call (NAME,
 * CLASS, TYPE, id 0, rd 1, no OPT). Returns 0 or -EINVAL (bad name).
 */
int onionshim_dns_query_init(struct onionshim_dns_query *q, const char *name, uint16_t qclass,
			     uint16_t qtype);

#endif
