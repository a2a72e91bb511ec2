/*
 * test_onion - recognising onion names and validating v3 addresses.
 *
 * Known-good addresses come from Tor: the examples in rend-spec-v3
 * ("Encoding onion addresses") and the addresses in Tor's
 * src/test/test_hs_common.c. The rest were made with Python for this file:
 *
 *	def addr(pk, v=3):
 *	    cs = hashlib.sha3_256(b".onion checksum" + pk + bytes([v]))
 *	    return base64.b32encode(pk + cs.digest()[:2] + bytes([v])).lower()
 *
 * with three random 32-byte keys (random.Random(20240601)).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onionshim/onion.h"

/* rend-spec-v3's examples */
#define SPEC_1	"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
#define SPEC_2	"sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"
#define SPEC_3	"xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd"
/* Tor's test_validate_address and test_build_address (key: 32 x 0x42) */
#define TOR_1	"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnlnad"
#define TOR_2	"ijbeeqscijbeeqscijbeeqscijbeeqscijbeeqscijbeeqscijbezhid"
/* generated, version 3 */
#define GEN_1	"dz2gw6oiikk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecszzvid"
#define GEN_2	"4g2jmqba43zihzsps2yi2e7a4ct2mxscbnu77feq3q2xmdev2r4rznad"
#define GEN_3	"inhdifseem42hwmyk5t7cdlkup4eujncjanuaudoyucbanj2mcn7sgqd"

#define STR_AND_LEN(s)	s, sizeof(s) - 1

struct name_case {
	const char *name;
	int expect;
};

static void
assert_check(const char *name, enum onionshim_onion_status expect)
{
	struct onionshim_onion out;

	if (onionshim_onion_check(name, strlen(name), &out) != expect)
		fail_msg("%s: got \"%s\", want \"%s\"", name,
			 onionshim_onion_strerror(onionshim_onion_check(name,
				strlen(name), NULL)),
			 onionshim_onion_strerror(expect));
}

static void
assert_check_table(const char *const *names, size_t n,
		   enum onionshim_onion_status expect)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_check(names[i], expect);
}

#define ASSERT_ALL(names, expect) \
	assert_check_table(names, sizeof(names) / sizeof(names[0]), expect)

/* --- onionshim_onion_is_onion_name ------------------------------------ */

static const struct name_case onion_name_cases[] = {
	{ "onion", 1 },
	{ "ONION", 1 },
	{ "onion.", 1 },
	{ ".onion", 1 },
	{ "x.onion", 1 },
	{ "x.onion.", 1 },
	{ "x.ONION", 1 },
	{ "a.b.OnIoN", 1 },
	{ "x..onion", 1 },
	{ "", 0 },
	{ ".", 0 },
	{ "onio", 0 },
	{ "xonion", 0 },
	{ "x.onion..", 0 },
	{ "x.onion.org", 0 },
	{ "example.org", 0 },
	{ "onion.example.org", 0 },
	{ "x.0ni0n", 0 },
	/* 0x4f/0x6f are the only bytes that fold to 'o'; 0x0f does not */
	{ "x.\x0fnion", 0 },
};

static void
test_recognises_onion_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(onion_name_cases) / sizeof(onion_name_cases[0]); i++) {
		const struct name_case *c = &onion_name_cases[i];

		if (onionshim_onion_is_onion_name(c->name, strlen(c->name)) != c->expect)
			fail_msg("%s: want %d", c->name, c->expect);
	}
}

static void
test_is_onion_name_reads_only_len_bytes(void **state)
{
	(void)state;
	assert_int_equal(onionshim_onion_is_onion_name("x.onion.org", 7), 1);
	assert_int_equal(onionshim_onion_is_onion_name("x.onionz", 7), 1);
	assert_int_equal(onionshim_onion_is_onion_name("x.onion", 6), 0);
	assert_int_equal(onionshim_onion_is_onion_name(NULL, 0), 0);
}

/* --- valid addresses --------------------------------------------------- */

static const char *const valid_labels[] = {
	SPEC_1, SPEC_2, SPEC_3, TOR_1, TOR_2, GEN_1, GEN_2, GEN_3,
};

static void
test_accepts_valid_v3_addresses(void **state)
{
	struct onionshim_onion out;
	char name[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid_labels) / sizeof(valid_labels[0]); i++) {
		size_t len = strlen(valid_labels[i]);

		memcpy(name, valid_labels[i], len);
		memcpy(name + len, ".onion", sizeof(".onion"));
		assert_int_equal(onionshim_onion_check(name, strlen(name), &out),
				 ONIONSHIM_ONION_OK);
		assert_string_equal(out.buf, name);
	}
}

static void
test_accepts_valid_bare_labels(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid_labels) / sizeof(valid_labels[0]); i++)
		assert_int_equal(onionshim_onion_label_check(valid_labels[i],
				 strlen(valid_labels[i])), ONIONSHIM_ONION_OK);
}

static void
test_accepts_upper_case_and_normalises_out(void **state)
{
	struct onionshim_onion out;
	static const char name[] =
	    "PG6MMJIYJMCRSSLVYKFWNNTLARU7P5SVN6Y2YMMJU6NUBXNDF4PSCRYD.ONION";

	(void)state;
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(name), &out),
			 ONIONSHIM_ONION_OK);
	assert_string_equal(out.buf, SPEC_1 ".onion");
}

static void
test_accepts_mixed_case_label(void **state)
{
	struct onionshim_onion out;
	static const char name[] =
	    "Dz2Gw6oIIkk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecszzVID.Onion";

	(void)state;
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(name), &out),
			 ONIONSHIM_ONION_OK);
	assert_string_equal(out.buf, GEN_1 ".onion");
}

static void
test_accepts_trailing_dot(void **state)
{
	struct onionshim_onion out;

	(void)state;
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(TOR_1 ".onion."), &out),
			 ONIONSHIM_ONION_OK);
	assert_string_equal(out.buf, TOR_1 ".onion");
}

static void
test_strips_subdomains_from_out(void **state)
{
	static const char *const names[] = {
		"mail." GEN_2 ".onion",
		"a.b." GEN_2 ".onion",
		"MX-1.smtp_relay." GEN_2 ".onion.",
	};
	struct onionshim_onion out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(onionshim_onion_check(names[i], strlen(names[i]), &out),
				 ONIONSHIM_ONION_OK);
		assert_string_equal(out.buf, GEN_2 ".onion");
	}
}

static void
test_accepts_null_out(void **state)
{
	(void)state;
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(GEN_3 ".onion"), NULL),
			 ONIONSHIM_ONION_OK);
}

/* --- invalid addresses ------------------------------------------------- */

static void
test_rejects_changed_character(void **state)
{
	static const char *const names[] = {
		/* first character advanced by one in the base32 alphabet */
		"qg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
		"tp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion",
		"ya4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd.onion",
		"q3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnlnad.onion",
		"jjbeeqscijbeeqscijbeeqscijbeeqscijbeeqscijbeeqscijbezhid.onion",
		"ez2gw6oiikk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecszzvid.onion",
		"5g2jmqba43zihzsps2yi2e7a4ct2mxscbnu77feq3q2xmdev2r4rznad.onion",
		"jnhdifseem42hwmyk5t7cdlkup4eujncjanuaudoyucbanj2mcn7sgqd.onion",
		/* characters 52, 53, 54 (they hold the checksum) of TOR_1 */
		"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwolnad.onion",
		"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnmnad.onion",
		"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnload.onion",
		/* subdomains do not excuse a bad address */
		"mail.ez2gw6oiikk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecszzvid.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_CHECKSUM);
}

/* Tor's test_validate_address: "Invalid checksum (taken from prop224)". */
static void
test_rejects_tor_bad_checksum_examples(void **state)
{
	static const char *const names[] = {
		"l5satjgud6gucryazcyvyvhuxhr74u6ygigiuyixe3a6ysis67ororad.onion",
		"btojiu7nu5y5iwut64eufevogqdw4wmqzugnoluw232r4t3ecsfv37ad.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_CHECKSUM);
}

/* Each checksum was computed for the version in the address. */
static void
test_rejects_version_other_than_3(void **state)
{
	static const char *const names[] = {
		"dz2gw6oiikk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecsvtxqc.onion",
		"dz2gw6oiikk6xwr4nrith5dprbqnue237fvoiswt3kiyevqmecswrtqe.onion",
		"4g2jmqba43zihzsps2yi2e7a4ct2mxscbnu77feq3q2xmdev2r42p7yc.onion",
		"4g2jmqba43zihzsps2yi2e7a4ct2mxscbnu77feq3q2xmdev2r4v42ie.onion",
		"inhdifseem42hwmyk5t7cdlkup4eujncjanuaudoyucbanj2mcnrnryc.onion",
		"inhdifseem42hwmyk5t7cdlkup4eujncjanuaudoyucbanj2mcn2k4ae.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_VERSION);
}

static void
test_reports_v2_address(void **state)
{
	static const char *const names[] = {
		"expyuzz4wqqyqhjn.onion",
		"EXPYUZZ4WQQYQHJN.onion.",
		"www.facebookcorewwwi.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_V2);
}

static void
test_rejects_wrong_length(void **state)
{
	static const char *const names[] = {
		/* 55 and 57 characters */
		"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnlna.onion",
		"p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6z62yl24uwmhjatiwnlnadb.onion",
		"x.onion",
		"blah.onion",
		"facebookcorewww.onion",
		"example.org.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_LENGTH);
}

static void
test_rejects_characters_outside_base32(void **state)
{
	static const char *const names[] = {
		"1g6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
		"pg6mmjiyjmcrsslvykfwnntlaru8p5svn6y2ymmju6nubxndf4pscryd.onion",
		"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscry0.onion",
		"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nub-ndf4pscryd.onion",
		"????????????????????????????????????????????????????????.onion",
		"facebookcorewww1.onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_BASE32);
}

static void
test_reports_nothing_before_onion(void **state)
{
	static const char *const names[] = {
		"onion", "ONION", "onion.", ".onion", ".onion.",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_EMPTY);
}

static void
test_rejects_empty_label(void **state)
{
	static const char *const names[] = {
		"x..onion",
		"..onion",
		"." TOR_2 ".onion",
		"a.." TOR_2 ".onion",
		"..a." TOR_2 ".onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_NAME);
}

static void
test_rejects_bad_subdomain(void **state)
{
	static const char *const names[] = {
		"ma il." TOR_2 ".onion",
		"m@il." TOR_2 ".onion",
		"mail/x." TOR_2 ".onion",
		/* a 64-character label */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		TOR_2 ".onion",
		/* 254 characters in all */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		TOR_2 ".onion",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_BAD_NAME);
}

static void
test_accepts_longest_name(void **state)
{
	/* 253 characters, one short of the name above */
	static const char name[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		TOR_2 ".onion";

	(void)state;
	assert_int_equal(sizeof(name) - 1, 253);
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(name), NULL),
			 ONIONSHIM_ONION_OK);
}

static void
test_rejects_names_not_ending_in_onion(void **state)
{
	static const char *const names[] = {
		"example.org",
		"onion.example.org",
		"example.onion.org",
		TOR_1 ".onion.org",
		TOR_1 "onion",
		TOR_1 ".onion..",
		TOR_1,
		"",
	};

	(void)state;
	ASSERT_ALL(names, ONIONSHIM_ONION_NOT_ONION);
}

static void
test_leaves_out_empty_on_failure(void **state)
{
	struct onionshim_onion out;

	(void)state;
	memset(out.buf, 'z', sizeof(out.buf));
	assert_int_equal(onionshim_onion_check(
		STR_AND_LEN("qg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"),
		&out), ONIONSHIM_ONION_BAD_CHECKSUM);
	assert_string_equal(out.buf, "");
}

/* An exactly sized heap copy without a NUL lets ASan catch an over-read. */
static void
test_check_reads_only_len_bytes(void **state)
{
	static const char name[] = "mail." GEN_1 ".onion.";
	struct onionshim_onion out;
	size_t len = sizeof(name) - 1;
	char *copy = malloc(len);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, name, len);
	assert_int_equal(onionshim_onion_check(copy, len, &out), ONIONSHIM_ONION_OK);
	assert_string_equal(out.buf, GEN_1 ".onion");
	free(copy);

	/* the bytes past LEN would make it a different name */
	assert_int_equal(onionshim_onion_check(STR_AND_LEN(GEN_1 ".onion.org") - 4,
					       NULL), ONIONSHIM_ONION_OK);
}

static void
test_label_check_reports_problems_without_not_onion(void **state)
{
	(void)state;
	assert_int_equal(onionshim_onion_label_check("", 0), ONIONSHIM_ONION_EMPTY);
	assert_int_equal(onionshim_onion_label_check(NULL, 0), ONIONSHIM_ONION_EMPTY);
	assert_int_equal(onionshim_onion_label_check(STR_AND_LEN("example.org")),
			 ONIONSHIM_ONION_BAD_LENGTH);
	assert_int_equal(onionshim_onion_label_check(STR_AND_LEN(TOR_1 ".onion")),
			 ONIONSHIM_ONION_BAD_LENGTH);
	assert_int_equal(onionshim_onion_label_check(STR_AND_LEN("expyuzz4wqqyqhjn")),
			 ONIONSHIM_ONION_V2);
	assert_int_equal(onionshim_onion_label_check(
		STR_AND_LEN("l5satjgud6gucryazcyvyvhuxhr74u6ygigiuyixe3a6ysis67ororad")),
		ONIONSHIM_ONION_BAD_CHECKSUM);
}

static void
test_strerror_gives_distinct_phrases(void **state)
{
	const char *phrase[ONIONSHIM_ONION_BAD_NAME + 1];
	int i, j;

	(void)state;
	for (i = ONIONSHIM_ONION_OK; i <= ONIONSHIM_ONION_BAD_NAME; i++) {
		phrase[i] = onionshim_onion_strerror((enum onionshim_onion_status)i);
		assert_non_null(phrase[i]);
		assert_true(phrase[i][0] != '\0');
		for (j = 0; j < i; j++)
			if (strcmp(phrase[i], phrase[j]) == 0)
				fail_msg("statuses %d and %d share \"%s\"", j, i, phrase[i]);
	}
	assert_string_equal(onionshim_onion_strerror(ONIONSHIM_ONION_BAD_CHECKSUM),
			    "onion address checksum mismatch (mistyped address?)");
	assert_string_equal(onionshim_onion_strerror((enum onionshim_onion_status)99),
			    "unknown onion address status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recognises_onion_names),
		cmocka_unit_test(test_is_onion_name_reads_only_len_bytes),
		cmocka_unit_test(test_accepts_valid_v3_addresses),
		cmocka_unit_test(test_accepts_valid_bare_labels),
		cmocka_unit_test(test_accepts_upper_case_and_normalises_out),
		cmocka_unit_test(test_accepts_mixed_case_label),
		cmocka_unit_test(test_accepts_trailing_dot),
		cmocka_unit_test(test_strips_subdomains_from_out),
		cmocka_unit_test(test_accepts_null_out),
		cmocka_unit_test(test_rejects_changed_character),
		cmocka_unit_test(test_rejects_tor_bad_checksum_examples),
		cmocka_unit_test(test_rejects_version_other_than_3),
		cmocka_unit_test(test_reports_v2_address),
		cmocka_unit_test(test_rejects_wrong_length),
		cmocka_unit_test(test_rejects_characters_outside_base32),
		cmocka_unit_test(test_reports_nothing_before_onion),
		cmocka_unit_test(test_rejects_empty_label),
		cmocka_unit_test(test_rejects_bad_subdomain),
		cmocka_unit_test(test_accepts_longest_name),
		cmocka_unit_test(test_rejects_names_not_ending_in_onion),
		cmocka_unit_test(test_leaves_out_empty_on_failure),
		cmocka_unit_test(test_check_reads_only_len_bytes),
		cmocka_unit_test(test_label_check_reports_problems_without_not_onion),
		cmocka_unit_test(test_strerror_gives_distinct_phrases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
