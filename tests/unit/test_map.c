/*
 * test_map - onion_map: both syntaxes, subdomain matching, continuation
 * lines, duplicates and conflicts, deferral of bad domains, the lazy SHA3
 * check, slot assignment (shared, per port, order-independent, collisions)
 * and a 100,000-entry map.
 *
 * The onions are valid v3 addresses generated with Python (rend-spec-v3:
 * base32(pubkey | checksum | 0x03), checksum = SHA3-256(".onion checksum" |
 * pubkey | 0x03)[:2], pubkey = SHA-256("onionshim test key N")); BADSUM has
 * its checksum altered. Expected slots were computed independently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onionshim/fake.h"
#include "onionshim/map.h"
#include "onionshim/util.h"

#define O1 "4tzo4rbjkfzsaht3mwpuu3r5cknyr57lpidcqi7ldqalexv2wvhobzyd.onion"
#define O1_UPPER "4TZO4RBJKFZSAHT3MWPUU3R5CKNYR57LPIDCQI7LDQALEXV2WVHOBZYD.ONION"
#define O2 "isygsxfrq6f5uc3fuidxvvadqkyjhajcrblh2evod43ntckp7rmangad.onion"
#define O3 "sl3w3mpcksay3nqf3wsamxtec45fyjyw2kylp6kt6h6nwaddpnzvw3id.onion"
#define O4 "aqh4zujflfuwmipsfayvgavo63v2urturk7lzofjcxezp6hyh5uojyqd.onion"
#define O5 "d4i4tm5szhltethysg6pcohm5s5kx7cfu2jazt4c5q542jd5vqpvu2yd.onion"
#define O6 "62vyn5kkxtanbg4zeuxi5ib2a2d4ec45zooln3v5g5a5ytymhkoq4iqd.onion"
#define BADSUM "ju2kicaqoq2xp4ciielfexznmr3ekoqbbm5oi43x35rpxcbtyphxesyd.onion"

#define MAP_FILE "/etc/onionshim/onion_map"
#define DEFAULT_NSLOTS 134217726u	/* 240.0.0.0/5 */

/* --- fixture: a map and the reports it made -------------------------------- */

struct report {
	int level;
	char file[64];
	unsigned line;
	char msg[512];
};

struct world {
	struct onionshim_map map;
	struct report reports[16];
	size_t nreports;
};

static void
collect(void *ctx, int level, const char *file, unsigned line, const char *msg)
{
	struct world *w = ctx;
	struct report *r;

	if (w->nreports >= sizeof(w->reports) / sizeof(w->reports[0]))
		return;
	r = &w->reports[w->nreports++];
	r->level = level;
	snprintf(r->file, sizeof(r->file), "%s", file);
	r->line = line;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	onionshim_map_free(&w->map);
	free(w);
	return 0;
}

static struct world *
load_slots(void **state, const char *text, uint32_t nslots)
{
	struct world *w = *state;

	onionshim_map_free(&w->map);
	w->nreports = 0;
	onionshim_map_init(&w->map, text, strlen(text), MAP_FILE, nslots, collect, w);
	assert_int_equal(onionshim_map_build(&w->map), 0);
	return w;
}

static struct world *
load(void **state, const char *text)
{
	return load_slots(state, text, DEFAULT_NSLOTS);
}

static int
lookup(struct world *w, const char *name, struct onionshim_map_hit *hit)
{
	return onionshim_map_lookup(&w->map, name, strlen(name), hit);
}

/* Look NAME up, expecting ONION:PORT. Returns the destination. */
static const struct onionshim_map_dest *
expect_route(struct world *w, const char *name, const char *onion, uint16_t port)
{
	struct onionshim_map_hit hit;

	memset(&hit, 0, sizeof(hit));
	assert_int_equal(lookup(w, name, &hit), 0);
	assert_non_null(hit.dest);
	assert_string_equal(hit.dest->onion.buf, onion);
	assert_int_equal(hit.dest->port, port);
	assert_in_range(hit.dest->slot, 1, w->map.nslots);
	return hit.dest;
}

static void
expect_status(struct world *w, const char *name, int rc)
{
	struct onionshim_map_hit hit;

	assert_int_equal(lookup(w, name, &hit), rc);
}

static const struct report *
find_report(const struct world *w, int level, unsigned line)
{
	size_t i;

	for (i = 0; i < w->nreports; i++)
		if (w->reports[i].level == level && w->reports[i].line == line)
			return &w->reports[i];
	return NULL;
}

static void
expect_error_at(const struct world *w, unsigned line)
{
	const struct report *r = find_report(w, 3, line);

	assert_non_null(r);
	assert_string_equal(r->file, MAP_FILE);
}

/* --- syntax --------------------------------------------------------------- */

static void
test_plain_entry_maps_domain_to_onion(void **state)
{
	struct world *w = load(state, "example.org " O1 "\n");
	struct onionshim_map_hit hit;

	assert_int_equal(lookup(w, "example.org", &hit), 0);
	assert_string_equal(hit.dest->onion.buf, O1);
	assert_int_equal(hit.dest->port, 0);
	assert_int_equal(hit.line, 1);
	assert_int_equal(hit.subdomain, 0);
	assert_int_equal(w->map.nentries, 1);
	assert_int_equal(w->map.ndests, 1);
	assert_int_equal(w->map.nerrors, 0);
	assert_int_equal(w->nreports, 0);
}

static void
test_plain_entry_with_port(void **state)
{
	struct world *w = load(state, "example.org " O1 ":2525\n");

	expect_route(w, "example.org", O1, 2525);
}

static void
test_transport_syntax_forms_give_onion_and_port(void **state)
{
	static const struct {
		const char *rhs;
		uint16_t port;
	} cases[] = {
		{ "smtptor:[" O1 "]:25", 25 },
		{ "smtptor:[" O1 "]", 0 },
		{ "smtptor:" O1 ":587", 587 },
		{ "smtptor:" O1, 0 },
		{ ":[" O1 "]:2525", 2525 },
		{ "smtp:[" O1_UPPER "]:25", 25 },
		{ "smtp:" O1 ".:25", 25 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		struct world *w;

		snprintf(text, sizeof(text), "example.org %s\n", cases[i].rhs);
		w = load(state, text);
		expect_route(w, "example.org", O1, cases[i].port);
		assert_int_equal(w->map.nerrors, 0);
		assert_int_equal(w->map.nskipped, 0);
	}
}

static void
test_comments_blank_and_continuation_lines(void **state)
{
	struct world *w = load(state,
			       "# onion_map\n"
			       "\n"
			       "example.org\n"
			       "    " O1 "\n"
			       "  # an indented comment\n"
			       "other.org " O2 ":25\n"
			       "third.org\n"
			       "# a comment inside the entry\n"
			       "\n"
			       "\t" O3 "\n"
			       "   \n");
	struct onionshim_map_hit hit;

	assert_int_equal(lookup(w, "example.org", &hit), 0);
	assert_string_equal(hit.dest->onion.buf, O1);
	assert_int_equal(hit.line, 3);
	assert_int_equal(lookup(w, "other.org", &hit), 0);
	assert_int_equal(hit.line, 6);
	assert_int_equal(lookup(w, "third.org", &hit), 0);
	assert_string_equal(hit.dest->onion.buf, O3);
	assert_int_equal(hit.line, 7);
	assert_int_equal(w->map.nentries, 3);
	assert_int_equal(w->map.nerrors, 0);
}

static void
test_crlf_line_ends_are_accepted(void **state)
{
	struct world *w = load(state, "example.org " O1 ":25\r\nother.org " O2 "\r\n");

	expect_route(w, "example.org", O1, 25);
	expect_route(w, "other.org", O2, 0);
	assert_int_equal(w->map.nerrors, 0);
}

static void
test_continuation_without_entry_is_an_error(void **state)
{
	struct world *w = load(state, "   " O1 "\nexample.org " O1 "\n");

	expect_error_at(w, 1);
	expect_route(w, "example.org", O1, 0);
}

/* --- matching ------------------------------------------------------------- */

static void
test_leading_dot_matches_subdomains_not_apex(void **state)
{
	struct world *w = load(state, ".example.org " O1 "\n");
	struct onionshim_map_hit hit;

	assert_int_equal(lookup(w, "mail.example.org", &hit), 0);
	assert_string_equal(hit.dest->onion.buf, O1);
	assert_int_equal(hit.subdomain, 1);
	assert_int_equal(hit.line, 1);
	expect_route(w, "a.b.example.org", O1, 0);
	expect_status(w, "example.org", -ENOENT);
	expect_status(w, "org", -ENOENT);
	expect_status(w, "xexample.org", -ENOENT);
}

static void
test_exact_entry_does_not_match_subdomains(void **state)
{
	struct world *w = load(state, "example.org " O1 "\n");

	expect_status(w, "x.example.org", -ENOENT);
	expect_status(w, "example.org.uk", -ENOENT);
	expect_status(w, "org", -ENOENT);
}

static void
test_most_specific_entry_wins(void **state)
{
	struct world *w = load(state,
			       "example.org " O1 "\n"
			       ".example.org " O2 "\n"
			       ".mail.example.org " O3 "\n"
			       ".org " O4 "\n");

	expect_route(w, "example.org", O1, 0);
	expect_route(w, "a.example.org", O2, 0);
	expect_route(w, "mail.example.org", O2, 0);
	expect_route(w, "x.mail.example.org", O3, 0);
	expect_route(w, "y.x.mail.example.org", O3, 0);
	expect_route(w, "other.org", O4, 0);
	expect_status(w, "example.net", -ENOENT);
}

static void
test_names_ignore_case_and_trailing_dot(void **state)
{
	struct world *w = load(state,
			       "Example.ORG. " O1 "\n"
			       ".Sub.Example.Net. " O2 "\n");

	expect_route(w, "example.org", O1, 0);
	expect_route(w, "EXAMPLE.org.", O1, 0);
	expect_route(w, "x.sub.example.net", O2, 0);
	expect_route(w, "X.SUB.EXAMPLE.NET.", O2, 0);
	expect_status(w, "sub.example.net.", -ENOENT);
}

static void
test_unnormalisable_lookup_name_is_not_found(void **state)
{
	static const char *const names[] = {
		"", ".", "a..example.org", ".example.org", "exa mple.org", "example.org..",
	};
	struct world *w = load(state, "example.org " O1 "\n.example.org " O2 "\n");
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_status(w, names[i], -ENOENT);
}

/* --- duplicates, conflicts, bad lines --------------------------------------- */

static void
test_duplicate_entry_is_warned_and_kept(void **state)
{
	struct world *w = load(state,
			       "example.org " O1 "\n"
			       "other.org " O2 "\n"
			       "EXAMPLE.org. smtp:[" O1 "]\n");
	const struct report *r = find_report(w, 4, 3);
	struct onionshim_map_hit hit;

	assert_non_null(r);
	assert_non_null(strstr(r->msg, "example.org"));
	assert_non_null(strstr(r->msg, "lines 1 and 3"));
	assert_int_equal(lookup(w, "example.org", &hit), 0);
	assert_string_equal(hit.dest->onion.buf, O1);
	assert_int_equal(hit.line, 1);
	assert_int_equal(w->map.nerrors, 0);
	assert_int_equal(w->map.ndests, 2);
}

static void
test_conflicting_entries_defer_the_domain(void **state)
{
	struct world *w = load(state,
			       "# map\n"
			       "other.org " O3 "\n"
			       "example.org " O1 "\n"
			       "\n\n\n\n\n"
			       "example.org " O2 "\n");
	const struct report *r = find_report(w, 3, 9);

	assert_non_null(r);
	assert_string_equal(r->file, MAP_FILE);
	assert_non_null(strstr(r->msg, "conflicting entries for example.org (lines 3 and 9)"));
	expect_status(w, "example.org", -EINVAL);
	expect_route(w, "other.org", O3, 0);
	assert_int_equal(w->map.nerrors, 1);
}

static void
test_conflicting_ports_defer_the_domain(void **state)
{
	struct world *w = load(state, ".example.org " O1 ":25\n.example.org " O1 "\n");

	expect_error_at(w, 2);
	expect_status(w, "mx.example.org", -EINVAL);
}

static void
test_bad_destination_defers_the_domain(void **state)
{
	static const char *const rhs[] = {
		"abcdef.onion",				/* too short */
		"4tzo4rbjkfzsaht3mwpuu3r5cknyr57lpidcqi7ldqalexv2wvhobzy1.onion",
		"mail." O1,				/* subdomain target */
		"expyuzz4wqqyqhjn.onion",		/* v2 */
		".onion",
		"smtp:[abcdef.onion]:25",
		"smtp:mail." O1,
		"smtp:[" O1 "]x",			/* junk after ']' */
		"smtp:[" O1,				/* no ']' */
		"[" O1 "]:25",				/* no transport */
		"mx.example.net",			/* plain, not an onion */
		O1 "x",
	};
	size_t i;

	for (i = 0; i < sizeof(rhs) / sizeof(rhs[0]); i++) {
		char text[512];
		struct world *w;

		snprintf(text, sizeof(text), "# map\nexample.org %s\nother.org " O2 "\n", rhs[i]);
		w = load(state, text);
		expect_error_at(w, 2);
		expect_status(w, "example.org", -EINVAL);
		expect_route(w, "other.org", O2, 0);
		assert_int_equal(w->map.nerrors, 1);
	}
}

static void
test_ports_outside_1_to_65535_are_errors(void **state)
{
	static const char *const bad[] = {
		":0", ":65536", ":99999", ":-1", ":", ":25x", ":0x19", ":123456", ":+25",
	};
	static const struct {
		const char *text;
		uint16_t port;
	} good[] = {
		{ ":1", 1 }, { ":65535", 65535 }, { ":025", 25 },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		struct world *w;

		snprintf(text, sizeof(text), "a.org " O1 "%s\nb.org smtp:[" O1 "]%s\n",
			 bad[i], bad[i]);
		w = load(state, text);
		expect_error_at(w, 1);
		expect_error_at(w, 2);
		expect_status(w, "a.org", -EINVAL);
		expect_status(w, "b.org", -EINVAL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[256];
		struct world *w;

		snprintf(text, sizeof(text), "a.org " O1 "%s\n", good[i].text);
		w = load(state, text);
		expect_route(w, "a.org", O1, good[i].port);
	}
}

static void
test_extra_tokens_are_an_error(void **state)
{
	struct world *w = load(state, "example.org " O1 " # comment\nother.org\n " O2 " x\n");

	expect_error_at(w, 1);
	expect_error_at(w, 2);
	expect_status(w, "example.org", -EINVAL);
	expect_status(w, "other.org", -EINVAL);
	assert_int_equal(w->map.nerrors, 2);
}

static void
test_missing_destination_is_an_error(void **state)
{
	struct world *w = load(state, "example.org\n");

	expect_error_at(w, 1);
	expect_status(w, "example.org", -EINVAL);
}

static void
test_bad_line_defers_domain_that_has_a_good_entry(void **state)
{
	struct world *w = load(state, "example.org " O1 "\nexample.org " O1 ":0\n");

	expect_error_at(w, 2);
	expect_status(w, "example.org", -EINVAL);
}

static void
test_bad_domain_is_reported_and_others_still_work(void **state)
{
	struct world *w = load(state, "exa!mple.org " O1 "\n..org " O1 "\nother.org " O2 "\n");

	expect_error_at(w, 1);
	expect_error_at(w, 2);
	expect_route(w, "other.org", O2, 0);
	assert_int_equal(w->map.nentries, 1);
}

static void
test_non_onion_transport_entries_are_skipped(void **state)
{
	static const char *const rhs[] = {
		"smtp:[relay.example.net]:25",
		"smtp:relay.example.net",
		"relay:",
		"smtp:",
		"relay",
		"lmtp:unix:/var/run/lmtp",
		"smtp:[192.0.2.1]:25",
		"smtp:[2001:db8::1]:25",
		"error:5.1.1_not_deliverable",
	};
	size_t i;

	for (i = 0; i < sizeof(rhs) / sizeof(rhs[0]); i++) {
		char text[256];
		struct world *w;

		snprintf(text, sizeof(text), "example.org %s\nother.org " O2 "\n", rhs[i]);
		w = load(state, text);
		expect_status(w, "example.org", -ENOENT);
		expect_route(w, "other.org", O2, 0);
		assert_int_equal(w->map.nskipped, 1);
		assert_int_equal(w->map.nerrors, 0);
		assert_int_equal(w->map.nentries, 1);
		assert_non_null(find_report(w, 6, 1));
	}
}

/* --- the lazy SHA3 check ------------------------------------------------------ */

static void
test_bad_checksum_is_found_only_by_dest_check(void **state)
{
	struct world *w = load(state, "example.org " BADSUM "\n");
	struct onionshim_map_hit hit;

	assert_int_equal(w->map.nerrors, 0);
	assert_int_equal(lookup(w, "example.org", &hit), 0);
	assert_int_equal(hit.dest->check, ONIONSHIM_MAP_UNCHECKED);
	assert_int_equal(onionshim_map_dest_check(hit.dest), ONIONSHIM_ONION_BAD_CHECKSUM);
	assert_int_equal(hit.dest->check, ONIONSHIM_MAP_INVALID);
	assert_int_equal(hit.dest->status, ONIONSHIM_ONION_BAD_CHECKSUM);
	assert_int_equal(onionshim_map_dest_check(hit.dest), ONIONSHIM_ONION_BAD_CHECKSUM);
}

static void
test_valid_onion_passes_dest_check_once_remembered(void **state)
{
	struct world *w = load(state, "example.org " O1 "\n");
	struct onionshim_map_hit hit;

	assert_int_equal(lookup(w, "example.org", &hit), 0);
	assert_int_equal(hit.dest->check, ONIONSHIM_MAP_UNCHECKED);
	assert_int_equal(onionshim_map_dest_check(hit.dest), ONIONSHIM_ONION_OK);
	assert_int_equal(hit.dest->check, ONIONSHIM_MAP_VALID);
	assert_int_equal(hit.dest->status, ONIONSHIM_ONION_OK);
}

static void
test_remembered_result_is_not_recomputed(void **state)
{
	struct world *w = load(state, "example.org " O1 "\n");
	struct onionshim_map_hit hit;
	struct onionshim_map_dest *d;

	assert_int_equal(lookup(w, "example.org", &hit), 0);
	/* Plant a different remembered answer: dest_check must return it. */
	d = (struct onionshim_map_dest *)hit.dest;
	d->status = ONIONSHIM_ONION_BAD_VERSION;
	d->check = ONIONSHIM_MAP_INVALID;
	assert_int_equal(onionshim_map_dest_check(hit.dest), ONIONSHIM_ONION_BAD_VERSION);
}

/* --- slots ------------------------------------------------------------------ */

static void
test_domains_sharing_an_onion_share_a_slot(void **state)
{
	struct world *w = load(state, "a.org " O1 "\nb.org smtp:[" O1 "]\nc.org " O2 "\n");
	const struct onionshim_map_dest *a = expect_route(w, "a.org", O1, 0);
	const struct onionshim_map_dest *b = expect_route(w, "b.org", O1, 0);
	const struct onionshim_map_dest *c = expect_route(w, "c.org", O2, 0);

	assert_ptr_equal(a, b);
	assert_int_equal(a->slot, b->slot);
	assert_int_not_equal(a->slot, c->slot);
	assert_int_equal(w->map.ndests, 2);
	assert_int_equal(w->map.nentries, 3);
}

static void
test_different_ports_get_different_slots(void **state)
{
	struct world *w = load(state, "a.org " O1 "\nb.org " O1 ":25\nc.org " O1 ":587\n");
	const struct onionshim_map_dest *a = expect_route(w, "a.org", O1, 0);
	const struct onionshim_map_dest *b = expect_route(w, "b.org", O1, 25);
	const struct onionshim_map_dest *c = expect_route(w, "c.org", O1, 587);

	assert_int_not_equal(a->slot, b->slot);
	assert_int_not_equal(a->slot, c->slot);
	assert_int_not_equal(b->slot, c->slot);
	assert_int_equal(w->map.ndests, 3);
}

static void
test_home_slot_is_used_without_collision(void **state)
{
	struct world *w = load(state, "a.org " O1 "\nb.org " O2 "\n");

	/* FNV-1a of the onion text, computed independently. */
	assert_int_equal(expect_route(w, "a.org", O1, 0)->slot, 101254896);
	assert_int_equal(expect_route(w, "b.org", O2, 0)->slot, 35103653);
}

static const char *const order_lines[] = {
	"a.org " O1 "\n", "b.org " O2 ":25\n", ".c.org " O3 "\n", "d.org " O4 "\n",
	"e.org " O5 ":587\n", "f.org " O6 "\n", "g.org " O1 ":25\n", "h.org " O2 "\n",
};
static const char *const order_names[] = {
	"a.org", "b.org", "x.c.org", "d.org", "e.org", "f.org", "g.org", "h.org",
};
#define NORDER (sizeof(order_lines) / sizeof(order_lines[0]))

static void
slots_in_order(void **state, int reverse, uint32_t nslots, uint32_t slots[NORDER])
{
	char text[2048];
	struct world *w;
	size_t i, len = 0;

	for (i = 0; i < NORDER; i++) {
		const char *line = order_lines[reverse ? NORDER - 1 - i : i];

		assert_true(len + strlen(line) < sizeof(text));
		memcpy(text + len, line, strlen(line));
		len += strlen(line);
	}
	text[len] = '\0';
	w = load_slots(state, text, nslots);
	for (i = 0; i < NORDER; i++) {
		struct onionshim_map_hit hit;

		assert_int_equal(lookup(w, order_names[i], &hit), 0);
		slots[i] = hit.dest->slot;
	}
}

static void
test_slot_assignment_ignores_file_order(void **state)
{
	static const uint32_t nslots[] = { DEFAULT_NSLOTS, 254, 8 };
	size_t n, i, j;

	for (n = 0; n < sizeof(nslots) / sizeof(nslots[0]); n++) {
		uint32_t fwd[NORDER], rev[NORDER];

		slots_in_order(state, 0, nslots[n], fwd);
		slots_in_order(state, 1, nslots[n], rev);
		for (i = 0; i < NORDER; i++) {
			assert_int_equal(fwd[i], rev[i]);
			assert_in_range(fwd[i], 1, nslots[n]);
			for (j = 0; j < i; j++)
				assert_int_not_equal(fwd[i], fwd[j]);
		}
	}
}

static void
test_collisions_resolve_by_home_then_key_text(void **state)
{
	/*
	 * nslots 4: homes O1 4, O2 3, O3 4, O1:25 3. In (home, key) order
	 * O1:25 takes 3, O2 probes to 4, O1 wraps to 1, O3 ends at 2.
	 */
	struct world *w = load_slots(state,
				     "a.org " O1 "\nb.org " O2 "\nc.org " O3 "\nd.org " O1 ":25\n",
				     4);

	assert_int_equal(onionshim_fake_home(O1, strlen(O1), 4), 4);
	assert_int_equal(onionshim_fake_home(O1 ":25", strlen(O1 ":25"), 4), 3);
	assert_int_equal(expect_route(w, "a.org", O1, 0)->slot, 1);
	assert_int_equal(expect_route(w, "b.org", O2, 0)->slot, 4);
	assert_int_equal(expect_route(w, "c.org", O3, 0)->slot, 2);
	assert_int_equal(expect_route(w, "d.org", O1, 25)->slot, 3);
}

static void
test_destinations_beyond_slot_count_are_deferred(void **state)
{
	/* nslots 2: O2 (home 1) and O1 (home 2) fit; O3 (home 2) is left out. */
	struct world *w = load_slots(state, "a.org " O1 "\nb.org " O2 "\nc.org " O3 "\n", 2);

	assert_int_equal(expect_route(w, "a.org", O1, 0)->slot, 2);
	assert_int_equal(expect_route(w, "b.org", O2, 0)->slot, 1);
	expect_status(w, "c.org", -EINVAL);
	assert_null(onionshim_map_by_onion(&w->map, O3, 0));
	assert_int_equal(w->map.nerrors, 1);
}

static void
test_by_slot_and_by_onion_round_trip(void **state)
{
	static const struct {
		const char *name, *onion;
		uint16_t port;
	} cases[] = {
		{ "a.org", O1, 0 }, { "b.org", O1, 25 }, { "c.org", O2, 0 }, { "x.d.org", O3, 587 },
	};
	struct world *w = load(state,
			       "a.org " O1 "\nb.org smtp:[" O1 "]:25\nc.org " O2 "\n"
			       ".d.org " O3 ":587\n");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct onionshim_map_dest *d =
			expect_route(w, cases[i].name, cases[i].onion, cases[i].port);

		assert_ptr_equal(onionshim_map_by_slot(&w->map, d->slot), d);
		assert_ptr_equal(onionshim_map_by_onion(&w->map, cases[i].onion, cases[i].port), d);
	}
	assert_ptr_equal(onionshim_map_by_onion(&w->map, O1_UPPER, 0),
			 onionshim_map_by_onion(&w->map, O1, 0));
	assert_null(onionshim_map_by_onion(&w->map, O1, 26));
	assert_null(onionshim_map_by_onion(&w->map, O4, 0));
	assert_null(onionshim_map_by_onion(&w->map, "", 0));
	assert_null(onionshim_map_by_slot(&w->map, 0));
	assert_null(onionshim_map_by_slot(&w->map, 12345));
}

/* --- whole maps --------------------------------------------------------------- */

struct visit {
	char domain[64];
	unsigned line;
	const struct onionshim_map_dest *dest;
};

struct visits {
	struct visit v[8];
	size_t n;
};

static void
record_visit(void *ctx, const char *domain, unsigned line, const struct onionshim_map_dest *dest)
{
	struct visits *vs = ctx;

	assert_true(vs->n < sizeof(vs->v) / sizeof(vs->v[0]));
	snprintf(vs->v[vs->n].domain, sizeof(vs->v[vs->n].domain), "%s", domain);
	vs->v[vs->n].line = line;
	vs->v[vs->n].dest = dest;
	vs->n++;
}

static void
test_foreach_visits_entries_in_file_order(void **state)
{
	struct world *w = load(state,
			       "Zeta.ORG " O2 "\n"
			       "bad.org " O1 ":0\n"
			       ".Sub.Example.Net. " O1 "\n"
			       "alpha.org smtp:[relay.example]\n"
			       "zeta.org. " O2 "\n");
	struct visits vs;

	memset(&vs, 0, sizeof(vs));
	assert_int_equal(onionshim_map_foreach(&w->map, record_visit, &vs), 0);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.v[0].domain, "Zeta.ORG");
	assert_int_equal(vs.v[0].line, 1);
	assert_string_equal(vs.v[0].dest->onion.buf, O2);
	assert_string_equal(vs.v[1].domain, ".Sub.Example.Net.");
	assert_int_equal(vs.v[1].line, 3);
	assert_string_equal(vs.v[1].dest->onion.buf, O1);
	assert_string_equal(vs.v[2].domain, "zeta.org.");
	assert_int_equal(vs.v[2].line, 5);
	assert_ptr_equal(vs.v[2].dest, vs.v[0].dest);
}

static void
test_empty_map_finds_nothing(void **state)
{
	static const char *const texts[] = { "", "\n\n", "# only a comment\n   \n" };
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct world *w = load(state, texts[i]);
		struct visits vs;

		expect_status(w, "example.org", -ENOENT);
		assert_null(onionshim_map_by_slot(&w->map, 1));
		assert_null(onionshim_map_by_onion(&w->map, O1, 0));
		memset(&vs, 0, sizeof(vs));
		assert_int_equal(onionshim_map_foreach(&w->map, record_visit, &vs), 0);
		assert_int_equal(vs.n, 0);
		assert_int_equal(w->map.nentries, 0);
		assert_int_equal(w->map.ndests, 0);
		assert_int_equal(w->nreports, 0);
	}
}

static void
test_lookup_builds_the_index_on_first_use(void **state)
{
	struct world *w = *state;
	static const char text[] = "example.org " O1 "\nexample.org " O2 "\n";
	struct onionshim_map_hit hit;

	onionshim_map_init(&w->map, text, strlen(text), MAP_FILE, DEFAULT_NSLOTS, collect, w);
	assert_null(w->map.ix);
	assert_int_equal(w->nreports, 0);
	assert_int_equal(lookup(w, "example.org", &hit), -EINVAL);
	assert_non_null(w->map.ix);
	assert_int_equal(w->nreports, 1);
	/* A second build is a no-op: nothing reported twice. */
	assert_int_equal(onionshim_map_build(&w->map), 0);
	assert_int_equal(w->nreports, 1);
}

static void
test_free_then_lookup_rebuilds(void **state)
{
	struct world *w = load(state, "example.org " O1 "\n");

	onionshim_map_free(&w->map);
	assert_null(w->map.ix);
	expect_route(w, "example.org", O1, 0);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BIG_ENTRIES 100000

/* A syntactically valid onion label for number K (checksum not valid). */
static void
big_onion(unsigned k, char out[64])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	int i;

	memset(out, 'q', ONIONSHIM_ONION_LABEL_LEN);
	for (i = ONIONSHIM_ONION_LABEL_LEN - 1; i >= ONIONSHIM_ONION_LABEL_LEN - 8; i--) {
		out[i] = b32[k % 32];
		k /= 32;
	}
	memcpy(out + ONIONSHIM_ONION_LABEL_LEN, ".onion", sizeof(".onion"));
}

/* Entry I: domain dI.example (".dI.example" for every tenth), onion I/2. */
static uint16_t
big_port(unsigned i)
{
	return (i / 2) % 3 == 0 ? 25 : 0;
}

static void
test_large_map_builds_fast_and_every_entry_looks_up(void **state)
{
	struct world *w = *state;
	size_t cap = (size_t)BIG_ENTRIES * 100, len = 0;
	char *text = malloc(cap);
	double t0, build, lookups;
	unsigned i;

	assert_non_null(text);
	for (i = 0; i < BIG_ENTRIES; i++) {
		char onion[64];
		int n;

		big_onion(i / 2, onion);
		n = snprintf(text + len, cap - len, "%sd%u.example %s%s\n", i % 10 ? "" : ".",
			     i, onion, big_port(i) ? ":25" : "");
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	onionshim_map_init(&w->map, text, len, MAP_FILE, DEFAULT_NSLOTS, collect, w);
	t0 = now();
	assert_int_equal(onionshim_map_build(&w->map), 0);
	build = now() - t0;
	assert_int_equal(w->map.nentries, BIG_ENTRIES);
	assert_int_equal(w->map.ndests, BIG_ENTRIES / 2);
	assert_int_equal(w->map.nerrors, 0);

	t0 = now();
	for (i = 0; i < BIG_ENTRIES; i++) {
		char name[64], onion[64];
		struct onionshim_map_hit hit;

		snprintf(name, sizeof(name), "%sd%u.example", i % 10 ? "" : "mx.", i);
		big_onion(i / 2, onion);
		assert_int_equal(lookup(w, name, &hit), 0);
		assert_string_equal(hit.dest->onion.buf, onion);
		assert_int_equal(hit.dest->port, big_port(i));
		assert_int_equal(hit.line, i + 1);
		assert_int_equal(hit.subdomain, i % 10 == 0);
		/* Distinct slots: each slot leads back to its own destination. */
		assert_ptr_equal(onionshim_map_by_slot(&w->map, hit.dest->slot), hit.dest);
	}
	lookups = now() - t0;
	/* Generous bounds that still catch quadratic behaviour, ASan included. */
	assert_true(build < 2.0);
	assert_true(lookups < 5.0);
	print_message("100000 entries: build %.3f s, lookups %.3f s\n", build, lookups);
	onionshim_map_free(&w->map);
	free(text);
}

/* lower_copy_against_rule - every length up to 80, bytes from the first SPAN of EDGE. */
static const unsigned char edge[] = { '@', 'A', 'M', 'Z', '[', '`', 'a', 'z', '{',
				      '0', '.', '-', 0x7f, 0x80, 0xc1, 0xda, 0xff };
#define EDGE_ASCII 13	/* the first 13 are ASCII: every word takes the fast path */

static void
lower_copy_against_rule(size_t span)
{
	char src[96], got[96], want[96];
	size_t n, i, k;

	for (n = 0; n <= 80; n++) {
		for (k = 0; k < span; k++) {
			for (i = 0; i < n; i++) {
				unsigned char c = edge[(i * 7 + k) % span];

				src[i] = (char)c;
				want[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			memset(got, 0x55, sizeof(got));
			onionshim_lower_copy(got, src, n);
			assert_memory_equal(got, want, n);
			assert_int_equal((unsigned char)got[n], 0x55);	/* nothing past N */
		}
	}
}

/*
 * The map looks onions up by their lower-cased text with a copy that works
 * eight bytes at a time: it must follow the byte-by-byte rule for every
 * length and offset, upper case at each position, the bytes around 'A' and
 * 'Z', and bytes past ASCII, which come out unchanged.
 */
static void
test_lower_copy_matches_the_byte_rule(void **state)
{
	char got[64];

	(void)state;
	lower_copy_against_rule(EDGE_ASCII);
	lower_copy_against_rule(sizeof(edge));
	onionshim_lower_copy(got, "PG6MMJIYJMCRSSLVYKFWNNTLARU7P5SVN6Y2YMMJU6NUBXNDF4PSCRYD.ONION",
			     62);
	assert_memory_equal(got, "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
			    62);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_plain_entry_maps_domain_to_onion),
		T(test_plain_entry_with_port),
		T(test_transport_syntax_forms_give_onion_and_port),
		T(test_comments_blank_and_continuation_lines),
		T(test_crlf_line_ends_are_accepted),
		T(test_continuation_without_entry_is_an_error),
		T(test_leading_dot_matches_subdomains_not_apex),
		T(test_exact_entry_does_not_match_subdomains),
		T(test_most_specific_entry_wins),
		T(test_names_ignore_case_and_trailing_dot),
		T(test_unnormalisable_lookup_name_is_not_found),
		T(test_duplicate_entry_is_warned_and_kept),
		T(test_conflicting_entries_defer_the_domain),
		T(test_conflicting_ports_defer_the_domain),
		T(test_bad_destination_defers_the_domain),
		T(test_ports_outside_1_to_65535_are_errors),
		T(test_extra_tokens_are_an_error),
		T(test_missing_destination_is_an_error),
		T(test_bad_line_defers_domain_that_has_a_good_entry),
		T(test_bad_domain_is_reported_and_others_still_work),
		T(test_non_onion_transport_entries_are_skipped),
		T(test_bad_checksum_is_found_only_by_dest_check),
		T(test_valid_onion_passes_dest_check_once_remembered),
		T(test_remembered_result_is_not_recomputed),
		T(test_domains_sharing_an_onion_share_a_slot),
		T(test_different_ports_get_different_slots),
		T(test_home_slot_is_used_without_collision),
		T(test_slot_assignment_ignores_file_order),
		T(test_collisions_resolve_by_home_then_key_text),
		T(test_destinations_beyond_slot_count_are_deferred),
		T(test_by_slot_and_by_onion_round_trip),
		T(test_foreach_visits_entries_in_file_order),
		T(test_empty_map_finds_nothing),
		T(test_lookup_builds_the_index_on_first_use),
		T(test_free_then_lookup_rebuilds),
		T(test_large_map_builds_fast_and_every_entry_looks_up),
		T(test_lower_copy_matches_the_byte_rule),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
