/*
 * test_docs - onionshim.conf(5) is the reference for every setting: each
 * name the parser knows has an entry in its SETTINGS section, each entry
 * names a setting the parser knows, and each documented default is the
 * parser's default. Run from the top of the tree (docs/man/ is read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onionshim/config.h"

#define PAGE "docs/man/onionshim.conf.5"
#define MAX_DOCUMENTED 64

/* One ".It Cm NAME ..." entry and its ".Pq default MACRO VALUE" line. */
struct documented {
	char name[64];
	char dflt[128];			/* empty: no default line follows */
};

struct page {
	struct documented d[MAX_DOCUMENTED];
	size_t n;
};

/* word - copy the first white-space-delimited word of S into OUT. */
static void
word(const char *s, char *out, size_t outlen)
{
	size_t n = strcspn(s, " \t\n");

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* read_settings - the entries of the SETTINGS section of the page. */
static void
read_settings(struct page *p)
{
	FILE *f = fopen(PAGE, "r");
	char line[512];
	int in_settings = 0;

	if (f == NULL)
		fail_msg("cannot open %s (run from the top of the tree)", PAGE);
	memset(p, 0, sizeof(*p));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, ".Sh ", 4) == 0)
			in_settings = strcmp(line, ".Sh SETTINGS\n") == 0;
		if (!in_settings)
			continue;
		if (strncmp(line, ".It Cm ", 7) == 0 && p->n < MAX_DOCUMENTED) {
			word(line + 7, p->d[p->n].name, sizeof(p->d[p->n].name));
			p->n++;
		} else if (strncmp(line, ".Pq default ", 12) == 0 && p->n > 0) {
			/* skip the macro (Li, Cm, Pa) before the value */
			const char *v = line + 12 + strcspn(line + 12, " ") + 1;

			word(v, p->d[p->n - 1].dflt, sizeof(p->d[p->n - 1].dflt));
		}
	}
	fclose(f);
}

static const struct documented *
find_documented(const struct page *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->d[i].name, name) == 0)
			return &p->d[i];
	return NULL;
}

static int
parser_knows(const char *name)
{
	const char *const *n;

	for (n = onionshim_config_names; *n != NULL; n++)
		if (strcmp(*n, name) == 0)
			return 1;
	return 0;
}

static void
test_every_setting_of_the_parser_is_documented(void **state)
{
	static struct page p;
	const char *const *n;

	(void)state;
	read_settings(&p);
	for (n = onionshim_config_names; *n != NULL; n++)
		if (find_documented(&p, *n) == NULL)
			fail_msg("%s is not documented in the SETTINGS of %s", *n, PAGE);
}

static void
test_every_documented_setting_is_known_to_the_parser(void **state)
{
	static struct page p;
	size_t i;

	(void)state;
	read_settings(&p);
	assert_true(p.n > 0);
	for (i = 0; i < p.n; i++)
		if (!parser_knows(p.d[i].name))
			fail_msg("%s documents \"%s\", which the parser does not know", PAGE,
				 p.d[i].name);
}

static void
test_every_documented_default_is_the_parsers_default(void **state)
{
	static struct page p;
	struct onionshim_config want, got;
	struct onionshim_errbuf err;
	size_t i;

	(void)state;
	read_settings(&p);
	onionshim_config_defaults(&want);
	for (i = 0; i < p.n; i++) {
		if (p.d[i].dflt[0] == '\0')
			fail_msg("%s: no \".Pq default\" line for %s", PAGE, p.d[i].name);
		onionshim_config_defaults(&got);
		if (onionshim_config_set(&got, p.d[i].name, p.d[i].dflt, &err) != 0)
			fail_msg("%s = %s: %s", p.d[i].name, p.d[i].dflt, err.buf);
		if (memcmp(&got, &want, sizeof(got)) != 0)
			fail_msg("%s documents %s = %s, which is not the default", PAGE,
				 p.d[i].name, p.d[i].dflt);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_setting_of_the_parser_is_documented),
		cmocka_unit_test(test_every_documented_setting_is_known_to_the_parser),
		cmocka_unit_test(test_every_documented_default_is_the_parsers_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
