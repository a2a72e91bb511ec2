/*
 * NAME
 *	fuzz_map - fuzz target for onion_map parsing and lookups
 * DESCRIPTION
 *	The input is an onion_map. It is built (with the default fake
 *	range's slot count, and again with only 4 slots so that the "does
 *	not fit" path runs too, when there are more destinations than
 *	that), and then held to map.h:
 *
 *	- every report has a level from error to debug, a line inside the
 *	  text (0 for the whole map), and no control byte (it is logged);
 *	- every name the input holds (each piece between white space, ':',
 *	  '[' and ']'; with and without a leading dot, and under a "q."
 *	  subdomain) is looked up: 0 with a destination, or -ENOENT or
 *	  -EINVAL with none; a destination has a lower-case "<56>.onion",
 *	  a slot in 1..NSLOTS that onionshim_map_by_slot and
 *	  onionshim_map_by_onion lead back to, and a SHA3 verdict that
 *	  onionshim_map_dest_check gives the same every time and that
 *	  onionshim_onion_check confirms;
 *	- every entry that onionshim_map_foreach lists is found again: its
 *	  domain (or a subdomain, for a leading-dot entry) gives its
 *	  destination or -EINVAL (deferred), never -ENOENT;
 *	- the slots depend on the set of destinations only: the same lines
 *	  in reverse order give every destination the same slot (checked
 *	  when no line continues another).
 * NEVER
 *	does I/O beyond an abort message.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "onionshim/config.h"
#include "onionshim/fake.h"
#include "onionshim/map.h"
#include "onionshim/onion.h"

#define FEW_SLOTS	4

struct run {
	struct onionshim_map m;
	unsigned nlines;
	uint32_t nslots;
};

static void
on_report(void *ctx, int level, const char *file, unsigned line, const char *msg)
{
	const struct run *r = ctx;

	FUZZ_CHECK(level >= ONIONSHIM_LOG_ERROR && level <= ONIONSHIM_LOG_DEBUG);
	FUZZ_CHECK(file != NULL && strcmp(file, "fuzz_map") == 0);
	FUZZ_CHECK(line <= r->nlines);
	FUZZ_CHECK(msg != NULL && msg[0] != '\0' && fuzz_printable(msg));
}

static void
check_dest(struct run *r, const struct onionshim_map_dest *d)
{
	enum onionshim_onion_status st, again;
	size_t i;
	int first;

	FUZZ_CHECK(strlen(d->onion.buf) == ONIONSHIM_ONION_LABEL_LEN + 6);
	FUZZ_CHECK(strcmp(d->onion.buf + ONIONSHIM_ONION_LABEL_LEN, ".onion") == 0);
	for (i = 0; i < ONIONSHIM_ONION_LABEL_LEN; i++) {
		char c = d->onion.buf[i];

		FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'));
	}
	FUZZ_CHECK(d->slot >= 1 && d->slot <= r->nslots);
	FUZZ_CHECK(d->line >= 1 && d->line <= r->nlines);
	FUZZ_CHECK(onionshim_map_by_slot(&r->m, d->slot) == d);
	FUZZ_CHECK(onionshim_map_by_onion(&r->m, d->onion.buf, d->port) == d);
	first = d->check == ONIONSHIM_MAP_UNCHECKED;
	st = onionshim_map_dest_check(d);
	again = onionshim_map_dest_check(d);
	FUZZ_CHECK(st == again);
	FUZZ_CHECK(d->check == (st == ONIONSHIM_ONION_OK ? ONIONSHIM_MAP_VALID :
				ONIONSHIM_MAP_INVALID));
	/* The remembered verdict is the real one (SHA3 is slow: once per dest). */
	if (first)
		FUZZ_CHECK(st == onionshim_onion_check(d->onion.buf, strlen(d->onion.buf), NULL));
}

static int
lookup(struct run *r, const char *name, size_t len, struct onionshim_map_hit *hit)
{
	int rc;

	memset(hit, 0x5A, sizeof(*hit));
	rc = onionshim_map_lookup(&r->m, name, len, hit);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	if (rc != 0) {
		FUZZ_CHECK(hit->dest == NULL);
		return rc;
	}
	FUZZ_CHECK(hit->dest != NULL);
	FUZZ_CHECK(hit->subdomain == 0 || hit->subdomain == 1);
	FUZZ_CHECK(hit->line >= 1 && hit->line <= r->nlines);
	check_dest(r, hit->dest);
	return 0;
}

/* NAME, NAME without a leading dot, and "q." NAME. */
static void
lookup_variants(struct run *r, const char *name, size_t len)
{
	struct onionshim_map_hit hit;
	char sub[300];

	lookup(r, name, len, &hit);
	if (len > 1 && name[0] == '.')
		lookup(r, name + 1, len - 1, &hit);
	if (len + 2 <= sizeof(sub)) {
		memcpy(sub, "q.", 2);
		memcpy(sub + 2, name, len);
		lookup(r, sub, len + 2, &hit);
	}
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

static int
is_part_sep(char c)
{
	return is_space(c) || c == ':' || c == '[' || c == ']';
}

/*
 * Every piece of the text between white space and ':[]': the domains, and
 * the onions and transports of the right-hand sides.
 */
static void
lookup_tokens(struct run *r)
{
	const char *p = r->m.text, *end = p + r->m.len, *s;

	while (p < end) {
		while (p < end && is_part_sep(*p))
			p++;
		s = p;
		while (p < end && !is_part_sep(*p))
			p++;
		if (p > s)
			lookup_variants(r, s, (size_t)(p - s));
	}
}

/* An entry that foreach lists is reachable: never "not found". */
static void
on_entry(void *ctx, const char *domain, unsigned line, const struct onionshim_map_dest *dest)
{
	struct run *r = ctx;
	struct onionshim_map_hit hit;
	char sub[300];
	size_t len = strlen(domain);
	int rc;

	FUZZ_CHECK(line >= 1 && line <= r->nlines);
	FUZZ_CHECK(dest != NULL);
	if (dest->slot != 0)
		check_dest(r, dest);
	if (domain[0] != '.') {
		rc = lookup(r, domain, len, &hit);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL);
		if (rc == 0)
			FUZZ_CHECK(hit.dest == dest && hit.subdomain == 0);
		return;
	}
	/* "q.DOMAIN" without the dot; longer than a name may be: nothing to ask. */
	if (len + 1 > 253 + (domain[len - 1] == '.'))
		return;
	memcpy(sub, "q", 1);
	memcpy(sub + 1, domain, len);
	rc = lookup(r, sub, len + 1, &hit);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	/* An exact entry for "q.DOMAIN" itself would come first. */
	if (rc == 0 && hit.subdomain)
		FUZZ_CHECK(hit.dest == dest);
}

static unsigned
count_lines(const uint8_t *data, size_t size)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void
run_map(struct run *r, const char *text, size_t len, uint32_t nslots)
{
	memset(r, 0, sizeof(*r));
	r->nlines = count_lines((const uint8_t *)text, len);
	r->nslots = nslots;
	onionshim_map_init(&r->m, text, len, "fuzz_map", nslots, on_report, r);
	FUZZ_CHECK(onionshim_map_build(&r->m) == 0);
	FUZZ_CHECK(onionshim_map_build(&r->m) == 0);	/* idempotent */
	FUZZ_CHECK(r->m.ndests <= r->m.nentries);
	FUZZ_CHECK(onionshim_map_by_slot(&r->m, 0) == NULL);
	lookup_tokens(r);
	FUZZ_CHECK(onionshim_map_foreach(&r->m, on_entry, r) == 0);
}

/* --- order does not matter -------------------------------------------------- */

static int
has_continuation(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *q = p;

		while (q < e && is_space(*q))
			q++;
		if (q > p && q < e && *q != '#')
			return 1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* The lines of TEXT in reverse order, each ending in '\n'. */
static char *
reversed(const char *text, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	const char *end = text + len, *p;
	size_t n = 0;

	FUZZ_CHECK(out != NULL);
	while (end > text) {
		p = end;
		if (p > text && p[-1] == '\n')
			p--;
		while (p > text && p[-1] != '\n')
			p--;
		memcpy(out + n, p, (size_t)(end - p));
		n += (size_t)(end - p);
		if (end == text + len && (end == p || end[-1] != '\n'))
			out[n++] = '\n';
		end = p;
	}
	*outlen = n;
	return out;
}

struct compare {
	struct run *other;
};

static void
same_slot(void *ctx, const char *domain, unsigned line, const struct onionshim_map_dest *d)
{
	struct compare *c = ctx;
	const struct onionshim_map_dest *o;

	(void)domain;
	(void)line;
	o = onionshim_map_by_onion(&c->other->m, d->onion.buf, d->port);
	if (d->slot == 0)
		FUZZ_CHECK(o == NULL);
	else
		FUZZ_CHECK(o != NULL && o->slot == d->slot);
}

static void
check_order(struct run *a, const char *text, size_t len, uint32_t nslots)
{
	struct run *b = malloc(sizeof(*b));
	struct compare c;
	size_t rlen;
	char *rev;

	FUZZ_CHECK(b != NULL);
	if (has_continuation(text, len)) {
		free(b);
		return;
	}
	rev = reversed(text, len, &rlen);
	memset(b, 0, sizeof(*b));
	b->nlines = count_lines((const uint8_t *)rev, rlen);
	b->nslots = nslots;
	onionshim_map_init(&b->m, rev, rlen, "fuzz_map", nslots, NULL, NULL);
	FUZZ_CHECK(onionshim_map_build(&b->m) == 0);
	FUZZ_CHECK(b->m.ndests == a->m.ndests && b->m.nentries == a->m.nentries);
	c.other = b;
	FUZZ_CHECK(onionshim_map_foreach(&a->m, same_slot, &c) == 0);
	onionshim_map_free(&b->m);
	free(rev);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct onionshim_config cfg;
	static struct run r;
	const char *text = (const char *)data;

	onionshim_config_defaults(&cfg);
	run_map(&r, text, size, onionshim_fake_nslots(&cfg));
	check_order(&r, text, size, r.nslots);
	onionshim_map_free(&r.m);

	/* With no more destinations than slots, few slots change nothing. */
	if (r.m.ndests <= FEW_SLOTS)
		return 0;
	run_map(&r, text, size, FEW_SLOTS);
	check_order(&r, text, size, FEW_SLOTS);
	onionshim_map_free(&r.m);
	return 0;
}
