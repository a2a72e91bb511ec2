/*
 * map - onion_map: which mail domains are reached at which onion.
 *
 * One entry a line, in either syntax:
 *     DOMAIN   ONION[:PORT]
 *     DOMAIN   TRANSPORT:[ONION]:PORT      (Postfix transport(5) syntax;
 *     DOMAIN   TRANSPORT:ONION[:PORT]       brackets and port optional)
 * '#' starts a comment line; blank lines are ignored; a line starting with
 * white space continues the previous entry (as Postfix tables). A leading
 * dot (".example.org") matches every subdomain but not the domain itself;
 * lookups try the exact name, then each parent as ".parent". Names are
 * case-insensitive and may end in a dot. A transport entry whose next hop
 * is not an onion (or is empty) is not an onion route: it is skipped and
 * counted, not an error, so that one file can serve Postfix too.
 *
 * Cost: onionshim_map_init only records the text. The first lookup (or
 * onionshim_map_build) parses every line once and builds the index; the
 * SHA3 check of an entry's onion runs on the entry's first use and its
 * result is remembered (onionshim_map_entry_check), so a large map costs
 * nothing at start-up.
 *
 * Problems (syntax errors, bad domains, duplicates, conflicting entries)
 * are reported through the report callback with file and line. A domain
 * with a bad or conflicting entry is "deferred": lookups return -EINVAL,
 * never a route and never "not found".
 *
 * Fake addresses: every distinct destination (onion, port) gets a slot
 * (see fake.h): its home slot, or on a collision the next free slot,
 * assigning destinations in the order (home slot, key text), so the result
 * depends only on the set of entries, never on their order in the file.
 *
 * Thread safety: build once (the caller serialises it), then lookups are
 * read-only except the lazily stored check result, which is an atomic int.
 */
#ifndef ONIONSHIM_MAP_H
#define ONIONSHIM_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "onionshim/onion.h"

enum onionshim_map_check {
	ONIONSHIM_MAP_UNCHECKED = 0,
	ONIONSHIM_MAP_VALID,
	ONIONSHIM_MAP_INVALID,
};

/* A destination: an onion and an optional port; shared by its domains. */
struct onionshim_map_dest {
	struct onionshim_onion onion;	/* lower-case, as written (unvalidated) */
	uint16_t port;			/* 0: the port the program asked for */
	uint32_t slot;			/* fake-address slot, collision-free */
	unsigned line;			/* first line that names it */
	int check;			/* enum onionshim_map_check, atomic */
	enum onionshim_onion_status status;	/* valid once check != UNCHECKED */
};

/* The result of a lookup. */
struct onionshim_map_hit {
	const struct onionshim_map_dest *dest;
	unsigned line;			/* line of the matching entry */
	int subdomain;			/* matched through a ".parent" entry */
};

typedef void (*onionshim_map_report_fn)(void *ctx, int level, const char *file,
					unsigned line, const char *msg);

struct onionshim_map_index;	/* private to map.c */

struct onionshim_map {
	const char *text;
	size_t len;
	const char *filename;
	uint32_t nslots;
	onionshim_map_report_fn report;	/* may be NULL */
	void *report_ctx;
	struct onionshim_map_index *ix;	/* NULL until built */
	int build_error;		/* -errno if the build failed */
	/* counts, valid after the build */
	size_t nentries, ndests, nskipped, nerrors;
};

/*
 * onionshim_map_init - record TEXT (LEN bytes, must outlive the map),
 * FILENAME (for reports) and NSLOTS (from onionshim_fake_nslots). No
 * parsing. Returns nothing.
 */
void onionshim_map_init(struct onionshim_map *m, const char *text, size_t len,
			const char *filename, uint32_t nslots,
			onionshim_map_report_fn report, void *report_ctx);

/*
 * onionshim_map_build - parse and index every line (idempotent). Returns 0,
 * or -ENOMEM. Problems with single entries are reported, not returned.
 */
int onionshim_map_build(struct onionshim_map *m);

/*
 * onionshim_map_lookup - find NAME (LEN bytes, any case, optional trailing
 * dot). Builds the index on first use. Returns 0 with *HIT set; -ENOENT
 * when no entry matches; -EINVAL when the matching entry is bad or in
 * conflict (defer the domain); -ENOMEM if the build failed.
 */
int onionshim_map_lookup(struct onionshim_map *m, const char *name, size_t len,
			 struct onionshim_map_hit *hit);

/*
 * onionshim_map_by_slot - the destination whose fake slot is SLOT. Returns
 * it, or NULL.
 */
const struct onionshim_map_dest *onionshim_map_by_slot(struct onionshim_map *m, uint32_t slot);

/*
 * onionshim_map_by_onion - the destination for bare onion ONION with port
 * PORT (0 for none), or NULL. Used so that an onion named directly gets
 * the same address as the map gives it.
 */
const struct onionshim_map_dest *onionshim_map_by_onion(struct onionshim_map *m,
							const char *onion, uint16_t port);

/*
 * onionshim_map_by_bare_onion - the same for an ONION that is already bare
 * and lower-case (as onionshim_onion_check gives it): the connection
 * path's lookup, without normalising the name a second time.
 */
const struct onionshim_map_dest *
onionshim_map_by_bare_onion(struct onionshim_map *m, const struct onionshim_onion *onion,
			    uint16_t port);

/*
 * onionshim_map_dest_check - validate DEST's onion on first use (SHA3) and
 * remember the result. Returns ONIONSHIM_ONION_OK or the failure status.
 */
enum onionshim_onion_status onionshim_map_dest_check(const struct onionshim_map_dest *dest);

/*
 * onionshim_map_foreach - call FN for every entry line, in file order, with
 * its domain (as written, NUL-terminated) and destination; for --check and
 * --all. Builds the index first. Returns 0 or -ENOMEM.
 */
int onionshim_map_foreach(struct onionshim_map *m,
			  void (*fn)(void *ctx, const char *domain, unsigned line,
				     const struct onionshim_map_dest *dest),
			  void *ctx);

/* onionshim_map_free - release the index. Returns nothing. */
void onionshim_map_free(struct onionshim_map *m);

#endif
