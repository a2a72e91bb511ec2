/*
 * test_fake - fake addresses: slot count, FNV-1a home slots, slot <->
 * address in both families, and the per-process table of unmapped onions.
 * Expected hashes and home slots were computed independently (Python).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "onionshim/fake.h"

#define ONION_1 "4tzo4rbjkfzsaht3mwpuu3r5cknyr57lpidcqi7ldqalexv2wvhobzyd.onion"
#define ONION_2 "isygsxfrq6f5uc3fuidxvvadqkyjhajcrblh2evod43ntckp7rmangad.onion"

/* 240.0.0.0/5 has 2^27 host parts; 2001:db8::/32 has more. */
#define DEFAULT_NSLOTS 134217726u

static void
set_ranges(struct onionshim_config *cfg, const char *net4, unsigned p4,
	   const char *net6, unsigned p6)
{
	memset(cfg, 0, sizeof(*cfg));
	assert_int_equal(inet_pton(AF_INET, net4, &cfg->fake_net), 1);
	assert_int_equal(inet_pton(AF_INET6, net6, &cfg->fake_net6), 1);
	cfg->fake_prefix = p4;
	cfg->fake_prefix6 = p6;
}

static void
default_ranges(struct onionshim_config *cfg)
{
	set_ranges(cfg, "240.0.0.0", 5, "2001:db8::", 32);
}

static void
format4(const struct in_addr *a, char *buf, size_t size)
{
	assert_non_null(inet_ntop(AF_INET, a, buf, (socklen_t)size));
}

static void
format6(const struct in6_addr *a, char *buf, size_t size)
{
	assert_non_null(inet_ntop(AF_INET6, a, buf, (socklen_t)size));
}

static int
slot_of_text(const struct onionshim_config *cfg, const char *text, uint32_t *slot)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return onionshim_fake_slot(cfg, (struct sockaddr *)&sin, sizeof(sin), slot);
	}
	assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	return onionshim_fake_slot(cfg, (struct sockaddr *)&sin6, sizeof(sin6), slot);
}

static void
make_onion(struct onionshim_onion *o, const char *text)
{
	memset(o, 0, sizeof(*o));
	assert_true(strlen(text) < sizeof(o->buf));
	memcpy(o->buf, text, strlen(text));
}

/* --- slot count ---------------------------------------------------------- */

static void
test_default_ranges_give_v4_host_count_minus_two(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	default_ranges(&cfg);
	assert_int_equal(onionshim_fake_nslots(&cfg), DEFAULT_NSLOTS);
}

static void
test_smaller_range_of_either_family_sets_slot_count(void **state)
{
	static const struct {
		const char *net4;
		unsigned p4;
		const char *net6;
		unsigned p6;
		uint32_t nslots;
	} cases[] = {
		{ "240.0.0.0", 24, "2001:db8::", 32, 254 },
		{ "240.0.0.0", 5, "2001:db8::", 120, 254 },
		{ "240.0.0.0", 24, "2001:db8::", 120, 254 },
		{ "240.0.0.0", 5, "2001:db8::", 112, 65534 },
		{ "240.0.0.0", 16, "2001:db8::", 32, 65534 },
		{ "128.0.0.0", 1, "2001:db8::", 32, 2147483646u },
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_ranges(&cfg, cases[i].net4, cases[i].p4, cases[i].net6, cases[i].p6);
		assert_int_equal(onionshim_fake_nslots(&cfg), cases[i].nslots);
	}
}

/* --- hashing ------------------------------------------------------------- */

static void
test_hash_is_fnv1a_64(void **state)
{
	static const struct {
		const char *key;
		uint64_t hash;
	} cases[] = {
		{ "", 0xcbf29ce484222325ULL },
		{ "a", 0xaf63dc4c8601ec8cULL },
		{ "foobar", 0x85944171f73967e8ULL },
		{ ONION_1, 0xd19fe34ece102623ULL },
		{ ONION_2, 0x32aaeac0cf5cf046ULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_true(onionshim_fake_hash(cases[i].key, strlen(cases[i].key)) ==
			    cases[i].hash);
}

static void
test_same_key_always_gets_same_home_slot(void **state)
{
	(void)state;
	assert_int_equal(onionshim_fake_home(ONION_1, strlen(ONION_1), DEFAULT_NSLOTS),
			 101254896);
	assert_int_equal(onionshim_fake_home(ONION_2, strlen(ONION_2), DEFAULT_NSLOTS),
			 35103653);
	assert_int_equal(onionshim_fake_home(ONION_1, strlen(ONION_1), DEFAULT_NSLOTS),
			 101254896);
}

static void
test_home_slot_stays_inside_small_range(void **state)
{
	char key[32];
	int i, n;

	(void)state;
	for (i = 0; i < 1000; i++) {
		uint32_t home;

		n = snprintf(key, sizeof(key), "key%d", i);
		home = onionshim_fake_home(key, (size_t)n, 254);
		assert_in_range(home, 1, 254);
	}
}

/* --- slot <-> address ---------------------------------------------------- */

static void
test_known_slots_have_expected_addresses(void **state)
{
	static const struct {
		uint32_t slot;
		const char *v4, *v6;
	} cases[] = {
		{ 1, "240.0.0.1", "2001:db8::1" },
		{ 2, "240.0.0.2", "2001:db8::2" },
		{ 256, "240.0.1.0", "2001:db8::100" },
		{ 16777216, "241.0.0.0", "2001:db8::100:0" },
		{ DEFAULT_NSLOTS, "247.255.255.254", "2001:db8::7ff:fffe" },
	};
	struct onionshim_config cfg;
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	(void)state;
	default_ranges(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_addr a4;
		struct in6_addr a6;

		onionshim_fake_addr4(&cfg, cases[i].slot, &a4);
		format4(&a4, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].v4);
		onionshim_fake_addr6(&cfg, cases[i].slot, &a6);
		format6(&a6, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].v6);
	}
}

static void
test_slots_round_trip_through_both_families(void **state)
{
	static const uint32_t slots[] = {
		1, 2, 254, 255, 256, 65535, 65536, 101254896, 35103653,
		DEFAULT_NSLOTS - 1, DEFAULT_NSLOTS,
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	default_ranges(&cfg);
	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		uint32_t got = 0;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		onionshim_fake_addr4(&cfg, slots[i], &sin.sin_addr);
		assert_int_equal(onionshim_fake_slot(&cfg, (struct sockaddr *)&sin,
						     sizeof(sin), &got), 0);
		assert_int_equal(got, slots[i]);

		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		got = 0;
		onionshim_fake_addr6(&cfg, slots[i], &sin6.sin6_addr);
		assert_int_equal(onionshim_fake_slot(&cfg, (struct sockaddr *)&sin6,
						     sizeof(sin6), &got), 0);
		assert_int_equal(got, slots[i]);

		got = 0;
		assert_int_equal(onionshim_fake_slot_in4(&cfg, &sin.sin_addr, &got), 0);
		assert_int_equal(got, slots[i]);
		got = 0;
		assert_int_equal(onionshim_fake_slot_in6(&cfg, &sin6.sin6_addr, &got), 0);
		assert_int_equal(got, slots[i]);
	}
}

static void
test_addresses_outside_fake_ranges_are_not_found(void **state)
{
	static const char *const addrs[] = {
		"127.0.0.1", "248.0.0.1", "239.255.255.255", "0.0.0.0",
		"255.255.255.255", "10.0.0.1",
		"::1", "::", "2001:db9::1", "2001:db7:ffff::1", "fe80::1",
		"::ffff:127.0.0.1", "::ffff:248.0.0.1",
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	default_ranges(&cfg);
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint32_t slot = 77;

		assert_int_equal(slot_of_text(&cfg, addrs[i], &slot), -ENOENT);
		assert_int_equal(slot, 77);
	}
}

static void
test_fake_range_addresses_without_slot_are_invalid(void **state)
{
	static const char *const addrs[] = {
		"240.0.0.0",			/* network */
		"247.255.255.255",		/* broadcast */
		"::ffff:240.0.0.0",
		"2001:db8::",			/* network */
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",	/* all ones */
		"2001:db8::7ff:ffff",		/* beyond the IPv4 range's slots */
		"2001:db8::800:0",
		"2001:db8::1:0:0",		/* host bits above the low 32 */
		"2001:db8:0:1::1",		/* host bits in the upper half */
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	default_ranges(&cfg);
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint32_t slot = 77;

		assert_int_equal(slot_of_text(&cfg, addrs[i], &slot), -EINVAL);
		assert_int_equal(slot, 77);
	}
}

static void
test_v4_mapped_fake_address_gives_its_slot(void **state)
{
	static const struct {
		const char *addr;
		uint32_t slot;
	} cases[] = {
		{ "::ffff:240.0.0.1", 1 },
		{ "::ffff:240.0.1.0", 256 },
		{ "::ffff:247.255.255.254", DEFAULT_NSLOTS },
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	default_ranges(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t slot = 0;

		assert_int_equal(slot_of_text(&cfg, cases[i].addr, &slot), 0);
		assert_int_equal(slot, cases[i].slot);
	}
}

static void
test_short_or_foreign_sockaddr_is_not_found(void **state)
{
	struct onionshim_config cfg;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	uint32_t slot = 77;

	(void)state;
	default_ranges(&cfg);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	onionshim_fake_addr4(&cfg, 1, &sin.sin_addr);
	assert_int_equal(onionshim_fake_slot(&cfg, (struct sockaddr *)&sin,
					     sizeof(sin) - 1, &slot), -ENOENT);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	onionshim_fake_addr6(&cfg, 1, &sin6.sin6_addr);
	assert_int_equal(onionshim_fake_slot(&cfg, (struct sockaddr *)&sin6,
					     sizeof(sin6) - 1, &slot), -ENOENT);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(onionshim_fake_slot(&cfg, (struct sockaddr *)&sun,
					     sizeof(sun), &slot), -ENOENT);
	assert_int_equal(onionshim_fake_slot(&cfg, NULL, 0, &slot), -ENOENT);
	assert_int_equal(slot, 77);
}

static void
test_small_ranges_use_their_own_host_bits(void **state)
{
	struct onionshim_config cfg;
	char buf[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;
	uint32_t slot = 0;

	(void)state;
	set_ranges(&cfg, "240.1.2.0", 24, "2001:db8::ab00", 120);
	assert_int_equal(onionshim_fake_nslots(&cfg), 254);
	onionshim_fake_addr4(&cfg, 254, &a4);
	format4(&a4, buf, sizeof(buf));
	assert_string_equal(buf, "240.1.2.254");
	onionshim_fake_addr6(&cfg, 254, &a6);
	format6(&a6, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::abfe");
	assert_int_equal(slot_of_text(&cfg, "2001:db8::abfe", &slot), 0);
	assert_int_equal(slot, 254);
	assert_int_equal(slot_of_text(&cfg, "240.1.2.255", &slot), -EINVAL);
	assert_int_equal(slot_of_text(&cfg, "2001:db8::abff", &slot), -EINVAL);
	assert_int_equal(slot_of_text(&cfg, "240.1.3.1", &slot), -ENOENT);
	assert_int_equal(slot_of_text(&cfg, "2001:db8::ac01", &slot), -ENOENT);
}

/* --- table of unmapped onions ---------------------------------------------- */

static struct onionshim_fake_table *
new_table(void)
{
	struct onionshim_fake_table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

static void
test_table_finds_what_was_added(void **state)
{
	struct onionshim_fake_table *t = new_table();
	struct onionshim_onion o1, o2;
	const struct onionshim_onion *got;

	(void)state;
	make_onion(&o1, ONION_1);
	make_onion(&o2, ONION_2);
	assert_int_equal(onionshim_fake_table_add(t, 101254896, &o1), 0);
	assert_int_equal(onionshim_fake_table_add(t, 35103653, &o2), 0);
	got = onionshim_fake_table_find(t, 101254896);
	assert_non_null(got);
	assert_string_equal(got->buf, ONION_1);
	got = onionshim_fake_table_find(t, 35103653);
	assert_non_null(got);
	assert_string_equal(got->buf, ONION_2);
	assert_null(onionshim_fake_table_find(t, 12345));
	assert_int_equal(t->n, 2);
	free(t);
}

static void
test_table_accepts_same_onion_twice(void **state)
{
	struct onionshim_fake_table *t = new_table();
	struct onionshim_onion o1;

	(void)state;
	make_onion(&o1, ONION_1);
	assert_int_equal(onionshim_fake_table_add(t, 7, &o1), 0);
	assert_int_equal(onionshim_fake_table_add(t, 7, &o1), 0);
	assert_int_equal(t->n, 1);
	free(t);
}

static void
test_table_refuses_second_onion_for_a_slot(void **state)
{
	struct onionshim_fake_table *t = new_table();
	struct onionshim_onion o1, o2;
	const struct onionshim_onion *got;

	(void)state;
	make_onion(&o1, ONION_1);
	make_onion(&o2, ONION_2);
	assert_int_equal(onionshim_fake_table_add(t, 7, &o1), 0);
	assert_int_equal(onionshim_fake_table_add(t, 7, &o2), -EEXIST);
	got = onionshim_fake_table_find(t, 7);
	assert_non_null(got);
	assert_string_equal(got->buf, ONION_1);
	assert_int_equal(t->n, 1);
	free(t);
}

static void
test_table_is_full_at_three_quarters(void **state)
{
	struct onionshim_fake_table *t = new_table();
	struct onionshim_onion o1;
	const struct onionshim_onion *got;
	uint32_t slot;

	(void)state;
	make_onion(&o1, ONION_1);
	/* Adjacent slots, as linear probing in the map produces them. */
	for (slot = 1; slot <= ONIONSHIM_FAKE_TABLE_SIZE / 4 * 3; slot++)
		assert_int_equal(onionshim_fake_table_add(t, slot, &o1), 0);
	assert_int_equal(t->n, ONIONSHIM_FAKE_TABLE_SIZE / 4 * 3);
	assert_int_equal(onionshim_fake_table_add(t, slot, &o1), -ENOSPC);
	assert_null(onionshim_fake_table_find(t, slot));
	/* A slot already there still answers as before. */
	assert_int_equal(onionshim_fake_table_add(t, 1, &o1), 0);
	got = onionshim_fake_table_find(t, ONIONSHIM_FAKE_TABLE_SIZE / 4 * 3);
	assert_non_null(got);
	assert_string_equal(got->buf, ONION_1);
	free(t);
}

static void
test_table_refuses_slot_zero(void **state)
{
	struct onionshim_fake_table *t = new_table();
	struct onionshim_onion o1;

	(void)state;
	make_onion(&o1, ONION_1);
	assert_int_equal(onionshim_fake_table_add(t, 0, &o1), -EINVAL);
	assert_null(onionshim_fake_table_find(t, 0));
	assert_int_equal(t->n, 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_ranges_give_v4_host_count_minus_two),
		cmocka_unit_test(test_smaller_range_of_either_family_sets_slot_count),
		cmocka_unit_test(test_hash_is_fnv1a_64),
		cmocka_unit_test(test_same_key_always_gets_same_home_slot),
		cmocka_unit_test(test_home_slot_stays_inside_small_range),
		cmocka_unit_test(test_known_slots_have_expected_addresses),
		cmocka_unit_test(test_slots_round_trip_through_both_families),
		cmocka_unit_test(test_addresses_outside_fake_ranges_are_not_found),
		cmocka_unit_test(test_fake_range_addresses_without_slot_are_invalid),
		cmocka_unit_test(test_v4_mapped_fake_address_gives_its_slot),
		cmocka_unit_test(test_short_or_foreign_sockaddr_is_not_found),
		cmocka_unit_test(test_small_ranges_use_their_own_host_bits),
		cmocka_unit_test(test_table_finds_what_was_added),
		cmocka_unit_test(test_table_accepts_same_onion_twice),
		cmocka_unit_test(test_table_refuses_second_onion_for_a_slot),
		cmocka_unit_test(test_table_is_full_at_three_quarters),
		cmocka_unit_test(test_table_refuses_slot_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
