/*
 * NAME
 *	map - onion_map: mail domains to onion destinations
 * SYNOPSIS
 *	#include "onionshim/map.h"
 * DESCRIPTION
 *	onionshim_map_init() only records the text. The first lookup parses
 *	it in two passes (count entry lines, then parse into one allocation)
 *	and builds three open-addressing tables: domain key -> first entry,
 *	(onion, port) -> destination, fake slot -> destination. A domain key
 *	is the normalised name with its leading dot kept, so that the lookup
 *	of "a.b.org" simply tries the suffixes "a.b.org", ".b.org", ".org" of
 *	one buffer. Entries point into the text instead of copying names.
 *
 *	A destination is told apart from transport(5) syntax by its first
 *	field: a right-hand side with '[', or whose text before the first ':'
 *	is not an onion name, is TRANSPORT:NEXTHOP. Without ':' or '[' a
 *	right-hand side that contains a dot is taken as a plain destination
 *	(so that a mistyped onion is an error, not silently skipped), one
 *	without a dot as a bare transport name.
 *
 *	Destination onions get a cheap syntax check while parsing; the SHA3
 *	checksum runs in onionshim_map_dest_check(), once per destination.
 *
 *	Slots: every destination starts at its FNV-1a home slot; taking them
 *	in (home slot, key text) order and probing linearly makes the result
 *	a function of the set of destinations alone.
 * RETURNS
 *	0 or -errno as map.h says; per-entry problems go to the report
 *	callback (syslog severities) and defer the domain.
 * NEVER
 *	does I/O, reads the text past LEN, allocates after the build, or
 *	lets a domain with a bad entry fall through to "not found".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onionshim/config.h"
#include "onionshim/fake.h"
#include "onionshim/map.h"
#include "onionshim/util.h"

#define NO_INDEX	UINT32_MAX
/* Far beyond any real map; keeps every index and table size in 32 bits. */
#define MAX_LINES	(1u << 28)

#define ENTRY_DEFERRED	0x01

struct map_entry {
	size_t off;		/* the domain as written, in m->text */
	uint32_t hash;		/* of the key */
	uint32_t dest;		/* NO_INDEX: the line is bad */
	unsigned line;
	uint8_t keylen;		/* normalised, leading dot included */
	uint8_t rawlen;		/* as written */
	uint8_t flags;
};

struct onionshim_map_index {
	struct map_entry *entries;	/* every entry line, in file order */
	size_t nentries;
	struct onionshim_map_dest *dests;
	size_t ndests;
	/* Tables of index + 1 (0: empty), TABMASK + 1 cells each. */
	uint32_t *by_key, *by_dest, *by_slot;
	size_t tabmask;
	uint32_t *order;		/* scratch for slot assignment */
};

/* --- small helpers --------------------------------------------------------- */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static uint32_t
fold(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

/* A token quoted in a report: printable, bounded, never a log injection. */
struct shown {
	char buf[80];
};

static const char *
show(struct shown *s, const char *p, size_t len)
{
	size_t i, max = sizeof(s->buf) - 4;

	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)p[i];

		s->buf[i] = c > 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	if (len > max) {
		memcpy(s->buf + max, "...", 4);
		return s->buf;
	}
	s->buf[i] = '\0';
	return s->buf;
}

static void report(struct onionshim_map *m, int level, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
report(struct onionshim_map *m, int level, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (level <= ONIONSHIM_LOG_ERROR)
		m->nerrors++;
	if (m->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->report(m->report_ctx, level, m->filename ? m->filename : "onion_map", line, msg);
}

/* --- lines and tokens ------------------------------------------------------ */

enum line_kind { LINE_IGNORED, LINE_START, LINE_CONTINUE };

/* Postfix tables: blank and '#' lines vanish, indented lines continue. */
static enum line_kind
line_kind(const char *p, const char *e)
{
	const char *q = p;

	while (q < e && is_space(*q))
		q++;
	if (q == e || *q == '#')
		return LINE_IGNORED;
	return q == p ? LINE_START : LINE_CONTINUE;
}

struct token {
	const char *p;
	size_t len;
};

/* One logical line: the first three tokens, and how many there were. */
struct logical {
	unsigned line;
	struct token tok[3];
	size_t ntok;
};

static void
tokenize(struct logical *l, const char *p, const char *e)
{
	while (p < e) {
		const char *start;

		while (p < e && is_space(*p))
			p++;
		if (p == e)
			break;
		start = p;
		while (p < e && !is_space(*p))
			p++;
		if (l->ntok < sizeof(l->tok) / sizeof(l->tok[0])) {
			l->tok[l->ntok].p = start;
			l->tok[l->ntok].len = (size_t)(p - start);
		}
		l->ntok++;
	}
}

/* How many physical lines start an entry: the bound for every table. */
static size_t
count_entry_lines(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (line_kind(p, e) == LINE_START)
			n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* --- the index allocation ---------------------------------------------------- */

static int
add_size(size_t *total, size_t count, size_t size, size_t align, size_t *off)
{
	size_t bytes, start = (*total + align - 1) & ~(align - 1);

	if (start < *total || __builtin_mul_overflow(count, size, &bytes) ||
	    __builtin_add_overflow(start, bytes, total))
		return -ENOMEM;
	*off = start;
	return 0;
}

static struct onionshim_map_index *
index_alloc(size_t nlines)
{
	struct onionshim_map_index *ix;
	size_t total = sizeof(*ix), cells = 16;
	size_t o_ent, o_dest, o_key, o_dkey, o_slot, o_order;
	char *base;

	if (nlines > MAX_LINES)
		return NULL;
	/* At most half full: probes stay short. */
	while (cells < 2 * nlines)
		cells *= 2;
	if (add_size(&total, nlines, sizeof(struct map_entry),
		     _Alignof(struct map_entry), &o_ent) < 0 ||
	    add_size(&total, nlines, sizeof(struct onionshim_map_dest),
		     _Alignof(struct onionshim_map_dest), &o_dest) < 0 ||
	    add_size(&total, cells, sizeof(uint32_t), _Alignof(uint32_t), &o_key) < 0 ||
	    add_size(&total, cells, sizeof(uint32_t), _Alignof(uint32_t), &o_dkey) < 0 ||
	    add_size(&total, cells, sizeof(uint32_t), _Alignof(uint32_t), &o_slot) < 0 ||
	    add_size(&total, nlines, sizeof(uint32_t), _Alignof(uint32_t), &o_order) < 0)
		return NULL;
	base = calloc(1, total);
	if (base == NULL)
		return NULL;
	ix = (struct onionshim_map_index *)(void *)base;
	ix->entries = (struct map_entry *)(void *)(base + o_ent);
	ix->dests = (struct onionshim_map_dest *)(void *)(base + o_dest);
	ix->by_key = (uint32_t *)(void *)(base + o_key);
	ix->by_dest = (uint32_t *)(void *)(base + o_dkey);
	ix->by_slot = (uint32_t *)(void *)(base + o_slot);
	ix->order = (uint32_t *)(void *)(base + o_order);
	ix->tabmask = cells - 1;
	return ix;
}

/* --- domain keys ------------------------------------------------------------- */

/* The normalised domain with its leading dot kept: what lookups compare. */
struct domain_key {
	struct onionshim_name key;
	size_t keylen;
	uint32_t hash;
};

static int
domain_key_of(const char *p, size_t len, struct domain_key *k)
{
	size_t dot = len > 0 && p[0] == '.';
	struct onionshim_name norm;
	int n = onionshim_name_norm(p + dot, len - dot, &norm);

	if (n < 0)
		return n;
	k->key.buf[0] = '.';
	memcpy(k->key.buf + dot, norm.buf, (size_t)n + 1);
	k->keylen = (size_t)n + dot;
	k->hash = fold(onionshim_fake_hash(k->key.buf, k->keylen));
	return 0;
}

static int
entry_has_key(const struct onionshim_map *m, const struct map_entry *e,
	      const char *key, size_t keylen, uint32_t hash)
{
	const char *raw = m->text + e->off;
	size_t i;

	if (e->hash != hash || e->keylen != keylen)
		return 0;
	/* The text passed onionshim_name_norm: folding ASCII case is exact. */
	for (i = 0; i < keylen; i++)
		if (ascii_lower(raw[i]) != key[i])
			return 0;
	return 1;
}

/* Index of the first entry for KEY, or NO_INDEX; *CELL: where it is or goes. */
static uint32_t
find_key(const struct onionshim_map *m, const char *key, size_t keylen, uint32_t hash,
	 size_t *cell)
{
	const struct onionshim_map_index *ix = m->ix;
	size_t i = hash & ix->tabmask;

	for (; ix->by_key[i] != 0; i = (i + 1) & ix->tabmask) {
		uint32_t idx = ix->by_key[i] - 1;

		if (entry_has_key(m, &ix->entries[idx], key, keylen, hash))
			break;
	}
	if (cell != NULL)
		*cell = i;
	return ix->by_key[i] == 0 ? NO_INDEX : ix->by_key[i] - 1;
}

/* --- destinations ------------------------------------------------------------ */

/*
 * dest_hash - the index's hash of a destination, eight bytes a step: it
 * runs on every lookup by onion. Only this process's index uses it; the
 * fake addresses come from onionshim_fake_home, which must not change.
 */
static uint32_t
dest_hash(const struct onionshim_onion *onion, uint16_t port)
{
	size_t len = strlen(onion->buf), i;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len ^ ((uint64_t)port << 32), w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, onion->buf + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, onion->buf + i, len - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return fold(h ^ (h >> 29));
}

static uint32_t
find_dest(const struct onionshim_map_index *ix, const struct onionshim_onion *onion,
	  uint16_t port, size_t *cell)
{
	size_t i = dest_hash(onion, port) & ix->tabmask;

	for (; ix->by_dest[i] != 0; i = (i + 1) & ix->tabmask) {
		const struct onionshim_map_dest *d = &ix->dests[ix->by_dest[i] - 1];

		if (d->port == port && strcmp(d->onion.buf, onion->buf) == 0)
			break;
	}
	if (cell != NULL)
		*cell = i;
	return ix->by_dest[i] == 0 ? NO_INDEX : ix->by_dest[i] - 1;
}

static uint32_t
intern_dest(struct onionshim_map *m, const struct onionshim_onion *onion, uint16_t port,
	    unsigned line)
{
	struct onionshim_map_index *ix = m->ix;
	struct onionshim_map_dest *d;
	size_t cell;
	uint32_t idx = find_dest(ix, onion, port, &cell);

	if (idx != NO_INDEX)
		return idx;
	idx = (uint32_t)ix->ndests++;
	d = &ix->dests[idx];
	d->onion = *onion;
	d->port = port;
	d->line = line;
	ix->by_dest[cell] = idx + 1;
	return idx;
}

/* --- right-hand sides ---------------------------------------------------------- */

enum rhs_kind { RHS_DEST, RHS_SKIP, RHS_BAD };

struct rhs {
	struct onionshim_onion onion;
	uint16_t port;
	struct token host;	/* for reports */
	struct onionshim_errbuf why;
};

static int
parse_port(const char *p, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int
is_base32_char(char c)
{
	c = ascii_lower(c);
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/*
 * The cheap part of onion validation: a bare "<56 base32>.onion". The
 * version byte and the SHA3 checksum wait for onionshim_map_dest_check().
 */
static enum onionshim_onion_status
onion_syntax(const char *p, size_t len, struct onionshim_onion *out)
{
	const size_t suffix = sizeof(".onion") - 1;
	size_t i, label;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len <= suffix)
		return ONIONSHIM_ONION_EMPTY;
	label = len - suffix;
	if (memchr(p, '.', label) != NULL)
		return ONIONSHIM_ONION_BAD_NAME;
	if (label != ONIONSHIM_ONION_LABEL_LEN && label != 16)
		return ONIONSHIM_ONION_BAD_LENGTH;
	for (i = 0; i < label; i++)
		if (!is_base32_char(p[i]))
			return ONIONSHIM_ONION_BAD_BASE32;
	if (label == 16)
		return ONIONSHIM_ONION_V2;
	for (i = 0; i < label; i++)
		out->buf[i] = ascii_lower(p[i]);
	memcpy(out->buf + label, ".onion", suffix + 1);
	return ONIONSHIM_ONION_OK;
}

/* HOST[:PORT] once HOST is known to be an onion name. */
static enum rhs_kind
onion_dest(const char *host, size_t hostlen, const char *port, size_t portlen, int has_port,
	   struct rhs *r)
{
	struct shown s;
	enum onionshim_onion_status st;

	r->host.p = host;
	r->host.len = hostlen;
	st = onion_syntax(host, hostlen, &r->onion);
	if (st == ONIONSHIM_ONION_BAD_NAME) {
		onionshim_errf(&r->why, "bad onion \"%s\": a map target must be a bare "
			       "onion, without subdomain", show(&s, host, hostlen));
		return RHS_BAD;
	}
	if (st != ONIONSHIM_ONION_OK) {
		onionshim_errf(&r->why, "bad onion \"%s\": %s", show(&s, host, hostlen),
			       onionshim_onion_strerror(st));
		return RHS_BAD;
	}
	r->port = 0;
	if (has_port && parse_port(port, portlen, &r->port) < 0) {
		onionshim_errf(&r->why, "bad port \"%s\" (must be 1..65535)",
			       show(&s, port, portlen));
		return RHS_BAD;
	}
	return RHS_DEST;
}

/* NEXTHOP of TRANSPORT:NEXTHOP: [HOST], [HOST]:PORT, HOST, HOST:PORT, empty. */
static enum rhs_kind
parse_nexthop(const char *p, size_t len, struct rhs *r)
{
	const char *host = p, *colon, *end = p + len;
	size_t hostlen;
	struct shown s;

	r->host.p = p;
	r->host.len = len;
	if (len == 0)
		return RHS_SKIP;
	if (p[0] == '[') {
		const char *close = memchr(p, ']', len);

		if (close == NULL || (close + 1 < end && close[1] != ':')) {
			onionshim_errf(&r->why, "bad next hop \"%s\"", show(&s, p, len));
			return RHS_BAD;
		}
		host = p + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1 < end ? close + 1 : NULL;
	} else {
		colon = memchr(p, ':', len);
		hostlen = colon ? (size_t)(colon - p) : len;
	}
	r->host.p = host;
	r->host.len = hostlen;
	if (!onionshim_onion_is_onion_name(host, hostlen))
		return RHS_SKIP;
	return onion_dest(host, hostlen, colon ? colon + 1 : NULL,
			  colon ? (size_t)(end - colon - 1) : 0, colon != NULL, r);
}

static enum rhs_kind
parse_rhs(const struct token *t, struct rhs *r)
{
	const char *colon = memchr(t->p, ':', t->len);
	size_t head = colon ? (size_t)(colon - t->p) : t->len;
	int bracket = memchr(t->p, '[', t->len) != NULL;
	struct shown s;

	if (!bracket && onionshim_onion_is_onion_name(t->p, head))
		return onion_dest(t->p, head, colon ? colon + 1 : NULL,
				  colon ? t->len - head - 1 : 0, colon != NULL, r);
	/* "[x.onion]:25" lacks its transport: refuse rather than guess. */
	if (memchr(t->p, '[', head) != NULL || memchr(t->p, ']', head) != NULL) {
		onionshim_errf(&r->why, "bad next hop \"%s\"", show(&s, t->p, t->len));
		return RHS_BAD;
	}
	if (colon == NULL && memchr(t->p, '.', t->len) != NULL) {
		onionshim_errf(&r->why, "\"%s\" is not an onion name",
			       show(&s, t->p, t->len));
		return RHS_BAD;
	}
	if (colon == NULL) {
		/* A transport name alone: Postfix keeps the default next hop. */
		r->host.p = t->p + t->len;
		r->host.len = 0;
		return RHS_SKIP;
	}
	return parse_nexthop(colon + 1, t->len - head - 1, r);
}

/* --- entries ---------------------------------------------------------------- */

static void
add_entry(struct onionshim_map *m, const struct token *dom, const struct domain_key *k,
	  unsigned line, uint32_t dest)
{
	struct onionshim_map_index *ix = m->ix;
	struct map_entry *e = &ix->entries[ix->nentries];
	struct map_entry *first;
	uint32_t idx = (uint32_t)ix->nentries++;
	size_t cell;
	uint32_t found = find_key(m, k->key.buf, k->keylen, k->hash, &cell);

	e->off = (size_t)(dom->p - m->text);
	e->hash = k->hash;
	e->dest = dest;
	e->line = line;
	e->keylen = (uint8_t)k->keylen;
	e->rawlen = (uint8_t)dom->len;
	if (dest != NO_INDEX)
		m->nentries++;
	if (found == NO_INDEX) {
		ix->by_key[cell] = idx + 1;
		if (dest == NO_INDEX)
			e->flags |= ENTRY_DEFERRED;
		return;
	}
	first = &ix->entries[found];
	/* A bad line already said so; it still takes the domain down. */
	if (dest == NO_INDEX || first->dest == NO_INDEX) {
		first->flags |= ENTRY_DEFERRED;
		return;
	}
	if (dest == first->dest) {
		report(m, ONIONSHIM_LOG_WARNING, line, "duplicate entry for %s (lines %u and %u)",
		       k->key.buf, first->line, line);
		return;
	}
	report(m, ONIONSHIM_LOG_ERROR, line,
	       "conflicting entries for %s (lines %u and %u); mail for it is deferred",
	       k->key.buf, first->line, line);
	first->flags |= ENTRY_DEFERRED;
}

static void
bad_entry(struct onionshim_map *m, const struct token *dom, const struct domain_key *k,
	  unsigned line, const char *why)
{
	report(m, ONIONSHIM_LOG_ERROR, line, "%s: %s; mail for it is deferred", k->key.buf, why);
	add_entry(m, dom, k, line, NO_INDEX);
}

static void
parse_entry(struct onionshim_map *m, const struct logical *l)
{
	struct domain_key k;
	struct rhs r;
	struct shown s;
	char why[300];

	if (domain_key_of(l->tok[0].p, l->tok[0].len, &k) < 0) {
		report(m, ONIONSHIM_LOG_ERROR, l->line, "bad domain name \"%s\"",
		       show(&s, l->tok[0].p, l->tok[0].len));
		return;
	}
	if (l->ntok < 2) {
		bad_entry(m, &l->tok[0], &k, l->line, "no destination");
		return;
	}
	if (l->ntok > 2) {
		snprintf(why, sizeof(why), "unexpected text after the destination: \"%s\"",
			 show(&s, l->tok[2].p, l->tok[2].len));
		bad_entry(m, &l->tok[0], &k, l->line, why);
		return;
	}
	memset(&r, 0, sizeof(r));
	switch (parse_rhs(&l->tok[1], &r)) {
	case RHS_DEST:
		add_entry(m, &l->tok[0], &k, l->line, intern_dest(m, &r.onion, r.port, l->line));
		return;
	case RHS_SKIP:
		m->nskipped++;
		if (r.host.len == 0)
			report(m, ONIONSHIM_LOG_INFO, l->line,
			       "%s: no next hop, not an onion route; entry skipped", k.key.buf);
		else
			report(m, ONIONSHIM_LOG_INFO, l->line,
			       "%s: next hop \"%s\" is not an onion; entry skipped", k.key.buf,
			       show(&s, r.host.p, r.host.len));
		return;
	case RHS_BAD:
		bad_entry(m, &l->tok[0], &k, l->line, r.why.buf);
		return;
	}
}

static void
parse_text(struct onionshim_map *m)
{
	const char *p = m->text, *end = m->text + m->len;
	struct logical l;
	unsigned lineno = 0;
	int open = 0;

	memset(&l, 0, sizeof(l));

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		enum line_kind kind = line_kind(p, e);

		lineno++;
		if (kind == LINE_START) {
			if (open)
				parse_entry(m, &l);
			memset(&l, 0, sizeof(l));
			l.line = lineno;
			open = 1;
		} else if (kind == LINE_CONTINUE && !open) {
			report(m, ONIONSHIM_LOG_ERROR, lineno,
			       "continuation line without an entry before it");
		}
		if (kind != LINE_IGNORED && open)
			tokenize(&l, p, e);
		p = nl ? nl + 1 : end;
	}
	if (open)
		parse_entry(m, &l);
}

/* --- slots ---------------------------------------------------------------- */

/* The text that places a destination: "ONION" or "ONION:PORT". */
struct dest_key {
	char buf[sizeof(((struct onionshim_onion *)0)->buf) + 8];
};

static size_t
dest_key_of(const struct onionshim_map_dest *d, struct dest_key *k)
{
	int n;

	if (d->port == 0)
		n = snprintf(k->buf, sizeof(k->buf), "%s", d->onion.buf);
	else
		n = snprintf(k->buf, sizeof(k->buf), "%s:%u", d->onion.buf, (unsigned)d->port);
	return n < 0 ? 0 : (size_t)n;
}

/* Before assignment, dest->slot holds the home slot. */
static int
by_home_then_key(const void *a, const void *b, void *ctx)
{
	const struct onionshim_map_dest *dests = ctx;
	const struct onionshim_map_dest *da = &dests[*(const uint32_t *)a];
	const struct onionshim_map_dest *db = &dests[*(const uint32_t *)b];
	struct dest_key ka, kb;

	if (da->slot != db->slot)
		return da->slot < db->slot ? -1 : 1;
	dest_key_of(da, &ka);
	dest_key_of(db, &kb);
	return strcmp(ka.buf, kb.buf);
}

static size_t
slot_cell(uint32_t slot, size_t mask)
{
	uint32_t h = slot * 0x9E3779B1u;

	return (size_t)(h ^ (h >> 16)) & mask;
}

static uint32_t
find_slot(const struct onionshim_map_index *ix, uint32_t slot, size_t *cell)
{
	size_t i = slot_cell(slot, ix->tabmask);

	for (; ix->by_slot[i] != 0; i = (i + 1) & ix->tabmask)
		if (ix->dests[ix->by_slot[i] - 1].slot == slot)
			break;
	if (cell != NULL)
		*cell = i;
	return ix->by_slot[i] == 0 ? NO_INDEX : ix->by_slot[i] - 1;
}

static void
assign_slots(struct onionshim_map *m)
{
	struct onionshim_map_index *ix = m->ix;
	size_t i, assigned = 0, homeless = 0;

	for (i = 0; i < ix->ndests; i++) {
		struct onionshim_map_dest *d = &ix->dests[i];
		struct dest_key k;
		size_t n = dest_key_of(d, &k);

		d->slot = onionshim_fake_home(k.buf, n, m->nslots);
		ix->order[i] = (uint32_t)i;
	}
	qsort_r(ix->order, ix->ndests, sizeof(ix->order[0]), by_home_then_key, ix->dests);
	for (i = 0; i < ix->ndests; i++) {
		struct onionshim_map_dest *d = &ix->dests[ix->order[i]];
		uint32_t slot = d->slot;
		size_t cell;

		/* Slot 0 marks a destination that got no address: deferred. */
		d->slot = 0;
		if (assigned >= m->nslots) {
			homeless++;
			continue;
		}
		while (find_slot(ix, slot, &cell) != NO_INDEX)
			slot = slot % m->nslots + 1;
		d->slot = slot;
		ix->by_slot[cell] = ix->order[i] + 1;
		assigned++;
	}
	if (homeless > 0)
		report(m, ONIONSHIM_LOG_ERROR, 0,
		       "%zu of %zu destinations do not fit in the fake address range "
		       "(%u slots); mail for their domains is deferred",
		       homeless, ix->ndests, (unsigned)m->nslots);
}

/* --- the interface ------------------------------------------------------------ */

void
onionshim_map_init(struct onionshim_map *m, const char *text, size_t len,
		   const char *filename, uint32_t nslots,
		   onionshim_map_report_fn report_fn, void *report_ctx)
{
	memset(m, 0, sizeof(*m));
	m->text = text;
	m->len = text ? len : 0;
	m->filename = filename;
	m->nslots = nslots;
	m->report = report_fn;
	m->report_ctx = report_ctx;
}

int
onionshim_map_build(struct onionshim_map *m)
{
	if (m->ix != NULL)
		return 0;
	/* Allocation comes before any report, so a retry repeats nothing. */
	m->ix = index_alloc(count_entry_lines(m->text, m->len));
	if (m->ix == NULL) {
		m->build_error = -ENOMEM;
		return -ENOMEM;
	}
	m->build_error = 0;
	m->nentries = m->nskipped = m->nerrors = 0;
	parse_text(m);
	assign_slots(m);
	m->ndests = m->ix->ndests;
	return 0;
}

static int
entry_result(const struct onionshim_map *m, uint32_t idx, int subdomain,
	     struct onionshim_map_hit *hit)
{
	const struct map_entry *e = &m->ix->entries[idx];
	const struct onionshim_map_dest *d;

	if ((e->flags & ENTRY_DEFERRED) || e->dest == NO_INDEX)
		return -EINVAL;
	d = &m->ix->dests[e->dest];
	if (d->slot == 0)
		return -EINVAL;
	hit->dest = d;
	hit->line = e->line;
	hit->subdomain = subdomain;
	return 0;
}

int
onionshim_map_lookup(struct onionshim_map *m, const char *name, size_t len,
		     struct onionshim_map_hit *hit)
{
	struct onionshim_name norm;
	int n, rc = onionshim_map_build(m);
	size_t i;
	uint32_t idx;

	hit->dest = NULL;
	if (rc < 0)
		return rc;
	n = onionshim_name_norm(name, len, &norm);
	if (n < 0)
		return -ENOENT;
	idx = find_key(m, norm.buf, (size_t)n, fold(onionshim_fake_hash(norm.buf, (size_t)n)),
		       NULL);
	if (idx != NO_INDEX)
		return entry_result(m, idx, 0, hit);
	/* Most specific parent first: each suffix from a dot is a ".parent" key. */
	for (i = 1; i < (size_t)n; i++) {
		const char *key = norm.buf + i;
		size_t keylen = (size_t)n - i;

		if (*key != '.')
			continue;
		idx = find_key(m, key, keylen, fold(onionshim_fake_hash(key, keylen)), NULL);
		if (idx != NO_INDEX)
			return entry_result(m, idx, 1, hit);
	}
	return -ENOENT;
}

const struct onionshim_map_dest *
onionshim_map_by_slot(struct onionshim_map *m, uint32_t slot)
{
	uint32_t idx;

	if (slot == 0 || onionshim_map_build(m) < 0)
		return NULL;
	idx = find_slot(m->ix, slot, NULL);
	return idx == NO_INDEX ? NULL : &m->ix->dests[idx];
}

const struct onionshim_map_dest *
onionshim_map_by_onion(struct onionshim_map *m, const char *onion, uint16_t port)
{
	struct onionshim_onion key;
	size_t len;

	if (onion == NULL)
		return NULL;
	len = strnlen(onion, sizeof(key.buf));
	if (len == sizeof(key.buf))
		return NULL;
	if (len > 0 && onion[len - 1] == '.')
		len--;
	onionshim_lower_copy(key.buf, onion, len);
	key.buf[len] = '\0';
	return onionshim_map_by_bare_onion(m, &key, port);
}

const struct onionshim_map_dest *
onionshim_map_by_bare_onion(struct onionshim_map *m, const struct onionshim_onion *onion,
			    uint16_t port)
{
	uint32_t idx;

	if (onionshim_map_build(m) < 0)
		return NULL;
	idx = find_dest(m->ix, onion, port, NULL);
	/* A destination without a slot has no address to hand out. */
	if (idx == NO_INDEX || m->ix->dests[idx].slot == 0)
		return NULL;
	return &m->ix->dests[idx];
}

enum onionshim_onion_status
onionshim_map_dest_check(const struct onionshim_map_dest *dest)
{
	/* check and status are the one mutable part of a built destination. */
	struct onionshim_map_dest *d = (struct onionshim_map_dest *)dest;
	enum onionshim_onion_status st;

	if (__atomic_load_n(&d->check, __ATOMIC_ACQUIRE) != ONIONSHIM_MAP_UNCHECKED)
		return __atomic_load_n(&d->status, __ATOMIC_RELAXED);
	st = onionshim_onion_check(d->onion.buf, strlen(d->onion.buf), NULL);
	/* Racing threads compute the same answer; status lands before check. */
	__atomic_store_n(&d->status, st, __ATOMIC_RELAXED);
	__atomic_store_n(&d->check,
			 st == ONIONSHIM_ONION_OK ? ONIONSHIM_MAP_VALID : ONIONSHIM_MAP_INVALID,
			 __ATOMIC_RELEASE);
	return st;
}

int
onionshim_map_foreach(struct onionshim_map *m,
		      void (*fn)(void *ctx, const char *domain, unsigned line,
				 const struct onionshim_map_dest *dest),
		      void *ctx)
{
	int rc = onionshim_map_build(m);
	size_t i;

	if (rc < 0)
		return rc;
	for (i = 0; i < m->ix->nentries; i++) {
		const struct map_entry *e = &m->ix->entries[i];
		struct onionshim_name domain;

		/* A bad line has no destination; its report already named it. */
		if (e->dest == NO_INDEX)
			continue;
		memcpy(domain.buf, m->text + e->off, e->rawlen);
		domain.buf[e->rawlen] = '\0';
		fn(ctx, domain.buf, e->line, &m->ix->dests[e->dest]);
	}
	return 0;
}

void
onionshim_map_free(struct onionshim_map *m)
{
	free(m->ix);
	m->ix = NULL;
	m->build_error = 0;
}
