/*
 * test_config - onionshim.conf(5): defaults as DESIGN.md states them, every
 * setting's good and bad values, main.cf syntax (continuations, comments,
 * CRLF, line numbers), file loading, and host:port parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onionshim/config.h"

#define CONF "test.conf"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static int
parse_len(struct onionshim_config *cfg, const char *text, size_t len,
	  struct onionshim_errbuf *err)
{
	onionshim_config_defaults(cfg);
	memset(err->buf, 0, sizeof(err->buf));
	return onionshim_config_parse(cfg, text, len, CONF, err);
}

static int
parse(struct onionshim_config *cfg, const char *text, struct onionshim_errbuf *err)
{
	return parse_len(cfg, text, strlen(text), err);
}

static void
assert_parses(struct onionshim_config *cfg, const char *text)
{
	struct onionshim_errbuf err;
	int rc = parse(cfg, text, &err);

	if (rc != 0)
		fail_msg("\"%s\": %s", text, err.buf);
}

static void
assert_parse_error_named(const char *filename, const char *text, const char *expect)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;

	onionshim_config_defaults(&cfg);
	assert_int_equal(onionshim_config_parse(&cfg, text, strlen(text), filename, &err),
			 -EINVAL);
	assert_string_equal(err.buf, expect);
}

static void
assert_parse_error(const char *text, const char *expect)
{
	assert_parse_error_named(CONF, text, expect);
}

static void
assert_defaults(const struct onionshim_config *cfg)
{
	struct onionshim_config want;

	onionshim_config_defaults(&want);
	assert_memory_equal(cfg, &want, sizeof(want));
}

static const char *
yes_no(int v)
{
	return v == 1 ? "yes" : v == 0 ? "no" : "BAD";
}

/*
 * A setting as text, built from the struct field by field, so that a good
 * value can be compared with what it must produce.
 */
static void
render(const struct onionshim_config *cfg, const char *name, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, used = 0;

	out[0] = '\0';
	if (strcmp(name, "socks_server") == 0) {
		for (i = 0; i < cfg->nsocks; i++)
			used += (size_t)snprintf(out + used, size - used, "%s%s",
						 i ? " " : "", cfg->socks[i].text);
	} else if (strcmp(name, "onion_map") == 0) {
		snprintf(out, size, "%s", cfg->onion_map.buf);
	} else if (strcmp(name, "route") == 0) {
		snprintf(out, size, "%s", cfg->route == ONIONSHIM_ROUTE_ALL ? "all" :
			 cfg->route == ONIONSHIM_ROUTE_ONION ? "onion" : "BAD");
	} else if (strcmp(name, "allow_inbound") == 0) {
		snprintf(out, size, "%s", yes_no(cfg->allow_inbound));
	} else if (strcmp(name, "allow_localhost") == 0) {
		snprintf(out, size, "%s", yes_no(cfg->allow_localhost));
	} else if (strcmp(name, "isolation") == 0) {
		snprintf(out, size, "%s",
			 cfg->isolation == ONIONSHIM_ISOLATION_DESTINATION ? "destination" :
			 cfg->isolation == ONIONSHIM_ISOLATION_NONE ? "none" : "BAD");
	} else if (strcmp(name, "connect_timeout") == 0) {
		snprintf(out, size, "%u ms", cfg->connect_timeout_ms);
	} else if (strcmp(name, "fake_network") == 0) {
		inet_ntop(AF_INET, &cfg->fake_net, a, sizeof(a));
		snprintf(out, size, "%s/%u", a, cfg->fake_prefix);
	} else if (strcmp(name, "fake_network6") == 0) {
		inet_ntop(AF_INET6, &cfg->fake_net6, a, sizeof(a));
		snprintf(out, size, "%s/%u", a, cfg->fake_prefix6);
	} else if (strcmp(name, "log_level") == 0) {
		snprintf(out, size, "%d", (int)cfg->log_level);
	} else if (strcmp(name, "log_to") == 0) {
		snprintf(out, size, "%s", cfg->log_to.buf);
	} else {
		fail_msg("render: no such setting %s", name);
	}
}

/* ------------------------------------------------------------------ */
/* Defaults (DESIGN.md, "Configuration")                              */
/* ------------------------------------------------------------------ */

static void
test_default_socks_server_is_127_0_0_1_port_9050(void **state)
{
	struct onionshim_config cfg;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg.socks[0].ss;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.nsocks, 1);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9050);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(cfg.socks[0].len, sizeof(struct sockaddr_in));
	assert_string_equal(cfg.socks[0].text, "127.0.0.1:9050");
}

static void
test_default_onion_map_is_etc_onionshim_onion_map(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_string_equal(cfg.onion_map.buf, "/etc/onionshim/onion_map");
}

static void
test_default_route_is_all(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ALL);
}

static void
test_default_allow_inbound_is_no(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.allow_inbound, 0);
}

static void
test_default_allow_localhost_is_no(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.allow_localhost, 0);
}

static void
test_default_isolation_is_destination(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.isolation, ONIONSHIM_ISOLATION_DESTINATION);
}

static void
test_default_connect_timeout_is_120s(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.connect_timeout_ms, 120000);
}

static void
test_default_fake_network_is_240_0_0_0_slash_5(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(ntohl(cfg.fake_net.s_addr), 0xf0000000);
	assert_int_equal(cfg.fake_prefix, 5);
}

static void
test_default_fake_network6_is_2001_db8_slash_32(void **state)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_memory_equal(cfg.fake_net6.s6_addr, want, 16);
	assert_int_equal(cfg.fake_prefix6, 32);
}

static void
test_default_log_level_is_notice(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(cfg.log_level, ONIONSHIM_LOG_NOTICE);
}

static void
test_default_log_to_is_syslog(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_string_equal(cfg.log_to.buf, "syslog");
}

/* ------------------------------------------------------------------ */
/* Names                                                              */
/* ------------------------------------------------------------------ */

static const char *const design_names[] = {
	"socks_server", "onion_map", "route", "allow_inbound", "allow_localhost",
	"isolation", "connect_timeout", "fake_network", "fake_network6",
	"log_level", "log_to",
};

#define NNAMES (sizeof(design_names) / sizeof(design_names[0]))

static void
test_names_are_the_eleven_of_design_in_order(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NNAMES; i++) {
		assert_non_null(onionshim_config_names[i]);
		assert_string_equal(onionshim_config_names[i], design_names[i]);
	}
	assert_null(onionshim_config_names[NNAMES]);
}

static void
test_every_listed_name_is_known_to_set(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	size_t i;

	(void)state;
	for (i = 0; onionshim_config_names[i] != NULL; i++) {
		onionshim_config_defaults(&cfg);
		assert_int_equal(onionshim_config_set(&cfg, onionshim_config_names[i],
						      "?bad?", &err), -EINVAL);
		assert_null(strstr(err.buf, "unknown name"));
		assert_int_equal(strncmp(err.buf, onionshim_config_names[i],
					 strlen(onionshim_config_names[i])), 0);
	}
}

static void
test_level_names_match_syslog_severities(void **state)
{
	static const struct {
		enum onionshim_level level;
		const char *name;
	} cases[] = {
		{ ONIONSHIM_LOG_ERROR, "error" },
		{ ONIONSHIM_LOG_WARNING, "warning" },
		{ ONIONSHIM_LOG_NOTICE, "notice" },
		{ ONIONSHIM_LOG_INFO, "info" },
		{ ONIONSHIM_LOG_DEBUG, "debug" },
		{ (enum onionshim_level)0, "unknown" },
		{ (enum onionshim_level)8, "unknown" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(onionshim_level_name(cases[i].level), cases[i].name);
	assert_int_equal(ONIONSHIM_LOG_ERROR, 3);
	assert_int_equal(ONIONSHIM_LOG_DEBUG, 7);
}

/* ------------------------------------------------------------------ */
/* Good values                                                        */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *value;
	const char *want;	/* render() of the result */
} good_values[] = {
	{ "socks_server", "127.0.0.1:9050", "127.0.0.1:9050" },
	{ "socks_server", "[::1]:9050", "[::1]:9050" },
	{ "socks_server", "localhost:9150", "127.0.0.1:9150" },
	{ "socks_server", "[127.0.0.1]:9050", "127.0.0.1:9050" },
	{ "socks_server", "[0:0:0:0:0:0:0:1]:1", "[::1]:1" },
	{ "socks_server", "10.0.0.1:65535", "10.0.0.1:65535" },
	{ "socks_server", "127.0.0.1:9050, [::1]:9150 10.0.0.1:1",
	  "127.0.0.1:9050 [::1]:9150 10.0.0.1:1" },
	{ "socks_server", "127.0.0.1:1,,127.0.0.2:2 ,\t127.0.0.3:3",
	  "127.0.0.1:1 127.0.0.2:2 127.0.0.3:3" },
	{ "socks_server", "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 "
	  "127.0.0.1:5 127.0.0.1:6 127.0.0.1:7 127.0.0.1:8",
	  "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 "
	  "127.0.0.1:5 127.0.0.1:6 127.0.0.1:7 127.0.0.1:8" },
	{ "onion_map", "/srv/onionshim/map", "/srv/onionshim/map" },
	{ "onion_map", "", "" },
	{ "route", "all", "all" },
	{ "route", "onion", "onion" },
	{ "route", "ONION", "onion" },
	{ "allow_inbound", "yes", "yes" },
	{ "allow_inbound", "YES", "yes" },
	{ "allow_inbound", "no", "no" },
	{ "allow_localhost", "yes", "yes" },
	{ "allow_localhost", "No", "no" },
	{ "isolation", "destination", "destination" },
	{ "isolation", "none", "none" },
	{ "isolation", "None", "none" },
	{ "connect_timeout", "30", "30000 ms" },
	{ "connect_timeout", "30s", "30000 ms" },
	{ "connect_timeout", "2m", "120000 ms" },
	{ "connect_timeout", "1h", "3600000 ms" },
	{ "connect_timeout", "24h", "86400000 ms" },
	{ "connect_timeout", "1d", "86400000 ms" },
	{ "connect_timeout", "86400", "86400000 ms" },
	{ "connect_timeout", "1", "1000 ms" },
	{ "fake_network", "240.0.0.0/5", "240.0.0.0/5" },
	{ "fake_network", "10.64.0.0/10", "10.64.0.0/10" },
	{ "fake_network", "128.0.0.0/1", "128.0.0.0/1" },
	{ "fake_network", "198.18.0.0/24", "198.18.0.0/24" },
	{ "fake_network6", "2001:db8::/32", "2001:db8::/32" },
	{ "fake_network6", "fd00::/8", "fd00::/8" },
	{ "fake_network6", "2001:DB8:1:2:3:4:5:0/120", "2001:db8:1:2:3:4:5:0/120" },
	{ "fake_network6", "8000::/1", "8000::/1" },
	{ "log_level", "error", "3" },
	{ "log_level", "warning", "4" },
	{ "log_level", "notice", "5" },
	{ "log_level", "info", "6" },
	{ "log_level", "debug", "7" },
	{ "log_level", "DEBUG", "7" },
	{ "log_to", "syslog", "syslog" },
	{ "log_to", "SysLog", "syslog" },
	{ "log_to", "stderr", "stderr" },
	{ "log_to", "/var/log/onionshim.log", "/var/log/onionshim.log" },
};

#define NGOOD (sizeof(good_values) / sizeof(good_values[0]))

static void
test_parses_every_good_value(void **state)
{
	struct onionshim_config cfg;
	char text[512], got[512];
	size_t i;

	(void)state;
	for (i = 0; i < NGOOD; i++) {
		snprintf(text, sizeof(text), "%s = %s\n", good_values[i].name,
			 good_values[i].value);
		assert_parses(&cfg, text);
		render(&cfg, good_values[i].name, got, sizeof(got));
		if (strcmp(got, good_values[i].want) != 0)
			fail_msg("%s = %s: got \"%s\", want \"%s\"", good_values[i].name,
				 good_values[i].value, got, good_values[i].want);
	}
}

static void
test_good_values_cover_every_name(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; onionshim_config_names[i] != NULL; i++) {
		for (j = 0; j < NGOOD; j++)
			if (strcmp(good_values[j].name, onionshim_config_names[i]) == 0)
				break;
		if (j == NGOOD)
			fail_msg("no good value for %s", onionshim_config_names[i]);
	}
}

static void
test_set_applies_a_good_value_like_the_file(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char got[512];
	size_t i;

	(void)state;
	for (i = 0; i < NGOOD; i++) {
		onionshim_config_defaults(&cfg);
		assert_int_equal(onionshim_config_set(&cfg, good_values[i].name,
						      good_values[i].value, &err), 0);
		render(&cfg, good_values[i].name, got, sizeof(got));
		assert_string_equal(got, good_values[i].want);
	}
}

/* ------------------------------------------------------------------ */
/* Bad values                                                         */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *value;
	const char *offending;	/* quoted in the error; NULL: the value */
} bad_values[] = {
	{ "socks_server", "", NULL },
	{ "socks_server", ", ,", NULL },
	{ "socks_server", "127.0.0.1", NULL },
	{ "socks_server", "127.0.0.1:", NULL },
	{ "socks_server", ":9050", NULL },
	{ "socks_server", "127.0.0.1:0", NULL },
	{ "socks_server", "127.0.0.1:65536", NULL },
	{ "socks_server", "::1:9050", NULL },
	{ "socks_server", "[::1]", NULL },
	{ "socks_server", "1.2.3:9050", NULL },
	{ "socks_server", "tor.example.org:9050", NULL },
	{ "socks_server", "127.0.0.1:9050;127.0.0.2:9050", NULL },
	{ "socks_server", "127.0.0.1:9050 127.0.0.1:x", "127.0.0.1:x" },
	{ "socks_server", "[1111:2222:3333:4444:5555:6666:7777:8888]:65535xxxxxxxxxxxxxxxxxxxxx",
	  "[1111:2222:3333:4444:5555:6666:7777:8888]:65535xxxxxxxxxxxxx..." },
	{ "socks_server", "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 "
	  "127.0.0.1:5 127.0.0.1:6 127.0.0.1:7 127.0.0.1:8 127.0.0.1:9",
	  "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 127.0.0.1:5 " },
	{ "onion_map", "etc/onion_map", NULL },
	{ "onion_map", "~/onion_map", NULL },
	{ "route", "tor", NULL },
	{ "route", "al", NULL },
	{ "route", "all onion", NULL },
	{ "route", "", NULL },
	{ "allow_inbound", "true", NULL },
	{ "allow_inbound", "1", NULL },
	{ "allow_inbound", "on", NULL },
	{ "allow_localhost", "false", NULL },
	{ "allow_localhost", "y", NULL },
	{ "isolation", "dest", NULL },
	{ "isolation", "IsolateSOCKSAuth", NULL },
	{ "connect_timeout", "0", NULL },
	{ "connect_timeout", "0s", NULL },
	{ "connect_timeout", "", NULL },
	{ "connect_timeout", "-5", NULL },
	{ "connect_timeout", "+5", NULL },
	{ "connect_timeout", "1.5s", NULL },
	{ "connect_timeout", "120ms", NULL },
	{ "connect_timeout", "2x", NULL },
	{ "connect_timeout", "2 m", NULL },
	{ "connect_timeout", "s", NULL },
	{ "connect_timeout", "25h", NULL },
	{ "connect_timeout", "86401", NULL },
	{ "connect_timeout", "2d", NULL },
	{ "connect_timeout", "1w", NULL },
	{ "connect_timeout", "99999999999999999999999", NULL },
	{ "fake_network", "240.0.0.0", NULL },
	{ "fake_network", "240.0.0/5", NULL },
	{ "fake_network", "/5", NULL },
	{ "fake_network", "240.0.0.0/", NULL },
	{ "fake_network", "240.0.0.0/x", NULL },
	{ "fake_network", "240.0.0.0/0", NULL },
	{ "fake_network", "240.0.0.0/25", NULL },
	{ "fake_network", "240.0.0.0/32", NULL },
	{ "fake_network", "240.0.0.0/0005", NULL },
	{ "fake_network", "240.0.0.1/5", NULL },
	{ "fake_network", "127.0.0.0/8", NULL },
	{ "fake_network", "127.1.0.0/16", NULL },
	{ "fake_network", "96.0.0.0/3", NULL },
	{ "fake_network", "0.0.0.0/4", NULL },
	{ "fake_network", "0.1.0.0/16", NULL },
	{ "fake_network", "2001:db8::/32", NULL },
	{ "fake_network6", "2001:db8::", NULL },
	{ "fake_network6", "[2001:db8::]/32", NULL },
	{ "fake_network6", "2001:db8::/0", NULL },
	{ "fake_network6", "2001:db8::/121", NULL },
	{ "fake_network6", "2001:db8::/128", NULL },
	{ "fake_network6", "2001:db8::1/32", NULL },
	{ "fake_network6", "::/127", NULL },
	{ "fake_network6", "::/96", NULL },
	{ "fake_network6", "::ffff:0:0/96", NULL },
	{ "fake_network6", "::ffff:240.0.0.0/100", NULL },
	{ "fake_network6", "::/8", NULL },
	{ "fake_network6", "::/1", NULL },
	{ "fake_network6", "240.0.0.0/5", NULL },
	{ "log_level", "verbose", NULL },
	{ "log_level", "warn", NULL },
	{ "log_level", "", NULL },
	{ "log_to", "onionshim.log", NULL },
	{ "log_to", "", NULL },
	{ "log_to", "syslog:mail", NULL },
};

static void
test_rejects_every_bad_value_with_file_line_and_value(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char text[512], prefix[64], quoted[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const char *off = bad_values[i].offending ? bad_values[i].offending
							  : bad_values[i].value;

		snprintf(text, sizeof(text), "# a comment\n\n%s = %s\nroute = onion\n",
			 bad_values[i].name, bad_values[i].value);
		snprintf(prefix, sizeof(prefix), CONF ":3: %s: ", bad_values[i].name);
		snprintf(quoted, sizeof(quoted), "\"%s", off);
		if (parse(&cfg, text, &err) != -EINVAL)
			fail_msg("%s = %s: accepted", bad_values[i].name, bad_values[i].value);
		if (strncmp(err.buf, prefix, strlen(prefix)) != 0 ||
		    strstr(err.buf, quoted) == NULL)
			fail_msg("%s = %s: error \"%s\"", bad_values[i].name,
				 bad_values[i].value, err.buf);
	}
}

static void
test_set_failure_leaves_config_unchanged(void **state)
{
	struct onionshim_config cfg, before;
	struct onionshim_errbuf err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		onionshim_config_defaults(&cfg);
		assert_int_equal(onionshim_config_set(&cfg, "socks_server",
						      "127.0.0.2:1 127.0.0.3:2", &err), 0);
		memcpy(&before, &cfg, sizeof(cfg));
		assert_int_equal(onionshim_config_set(&cfg, bad_values[i].name,
						      bad_values[i].value, &err), -EINVAL);
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
}

/* The messages, word for word. */

static void
test_rejects_unknown_name(void **state)
{
	(void)state;
	assert_parse_error_named("/etc/onionshim/onionshim.conf",
				 "# x\n#\n\n\n\n\nsocks_sever = 127.0.0.1:9050\n",
				 "/etc/onionshim/onionshim.conf:7: unknown name \"socks_sever\"");
}

static void
test_rejects_names_in_another_case(void **state)
{
	(void)state;
	assert_parse_error("Route = onion\n", CONF ":1: unknown name \"Route\"");
}

static void
test_route_error_lists_the_choices(void **state)
{
	(void)state;
	assert_parse_error("\n\nroute = tor\n",
			   CONF ":3: route: \"tor\" is not one of all, onion");
}

static void
test_rejects_missing_equals(void **state)
{
	(void)state;
	assert_parse_error("\nsocks_server 127.0.0.1:9050\n",
			   CONF ":2: missing \"=\" in \"socks_server 127.0.0.1:9050\"");
}

static void
test_rejects_missing_name(void **state)
{
	(void)state;
	assert_parse_error("  # c\n = onion\n", CONF ":2: line starts with white space, "
			   "but there is no \"name = value\" line before it to continue");
	assert_parse_error("= onion\n", CONF ":1: missing name before \"=\"");
}

static void
test_connect_timeout_error_shows_the_syntax(void **state)
{
	(void)state;
	assert_parse_error("\n\n\nconnect_timeout = 0\n",
			   CONF ":4: connect_timeout: \"0\" must be a positive time "
			   "(e.g. 120s, 2m)");
}

static void
test_connect_timeout_rejects_milliseconds(void **state)
{
	(void)state;
	assert_parse_error("connect_timeout = 120ms\n",
			   CONF ":1: connect_timeout: \"120ms\": the unit must be s, m or h "
			   "(seconds if none)");
}

static void
test_connect_timeout_caps_at_24h(void **state)
{
	(void)state;
	assert_parse_error("connect_timeout = 25h\n",
			   CONF ":1: connect_timeout: \"25h\" is more than 24h");
}

static void
test_rejects_duplicate_name(void **state)
{
	(void)state;
	assert_parse_error("\nsocks_server = 127.0.0.1:9050\nroute = all\n\n"
			   "socks_server = 127.0.0.1:9150\n",
			   CONF ":5: socks_server given twice (first on line 2)");
}

static void
test_boolean_error_says_only_yes_and_no(void **state)
{
	(void)state;
	assert_parse_error("allow_inbound = true\n",
			   CONF ":1: allow_inbound: \"true\" is not one of yes, no");
}

static void
test_socks_server_error_names_the_bad_address(void **state)
{
	(void)state;
	assert_parse_error("socks_server = 127.0.0.1:9050, ::1:9050\n",
			   CONF ":1: socks_server: \"::1:9050\" is not IPV4:PORT or "
			   "[IPV6]:PORT with a numeric address and a port in 1..65535");
}

static void
test_socks_server_rejects_an_empty_list(void **state)
{
	(void)state;
	assert_parse_error("socks_server =\n",
			   CONF ":1: socks_server: \"\" is an empty list; give at least one "
			   "address such as 127.0.0.1:9050");
}

static void
test_socks_server_rejects_a_ninth_address(void **state)
{
	(void)state;
	assert_parse_error("socks_server = 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 "
			   "127.0.0.1:4 127.0.0.1:5 127.0.0.1:6 127.0.0.1:7 127.0.0.1:8 "
			   "127.0.0.1:9\n",
			   CONF ":1: socks_server: more than 8 addresses in \"127.0.0.1:1 "
			   "127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 127.0.0.1:5 ...\"");
}

static void
test_fake_network_overlap_error_says_why(void **state)
{
	(void)state;
	assert_parse_error("fake_network = 96.0.0.0/3\n",
			   CONF ":1: fake_network: \"96.0.0.0/3\" overlaps 127.0.0.0/8 "
			   "(loopback): fake addresses must never reach the host's own "
			   "services");
}

static void
test_fake_network6_overlap_error_names_the_mapped_range(void **state)
{
	(void)state;
	assert_parse_error("fake_network6 = ::ffff:240.0.0.0/100\n",
			   CONF ":1: fake_network6: \"::ffff:240.0.0.0/100\" overlaps "
			   "::ffff:0:0/96 (IPv4-mapped, loopback included): fake addresses "
			   "must never reach the host's own services");
}

static void
test_fake_network_host_bits_error_names_the_network(void **state)
{
	(void)state;
	assert_parse_error("fake_network = 240.0.0.1/5\n",
			   CONF ":1: fake_network: \"240.0.0.1/5\" has host bits set; the "
			   "network is 240.0.0.0/5");
	assert_parse_error("fake_network6 = 2001:db8::1/32\n",
			   CONF ":1: fake_network6: \"2001:db8::1/32\" has host bits set; "
			   "the network is 2001:db8::/32");
}

static void
test_fake_network_prefix_error_gives_the_range(void **state)
{
	(void)state;
	assert_parse_error("fake_network = 240.0.0.0/25\n",
			   CONF ":1: fake_network: \"240.0.0.0/25\": the prefix length must "
			   "be 1..24, leaving room for fake addresses");
}

static void
test_error_quotes_control_bytes_and_cuts_long_values(void **state)
{
	char text[256];

	(void)state;
	assert_parse_error("route = a\tb\x01z\n",
			   CONF ":1: route: \"a?b?z\" is not one of all, onion");
	snprintf(text, sizeof(text), "log_to = %0100d\n", 0);
	assert_parse_error(text, CONF ":1: log_to: \"000000000000000000000000000000"
			   "000000000000000000000000000000...\" is not syslog, stderr or an "
			   "absolute path");
}

static void
test_set_reports_without_file_or_line(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(onionshim_config_set(&cfg, "route", "tor", &err), -EINVAL);
	assert_string_equal(err.buf, "route: \"tor\" is not one of all, onion");
	assert_int_equal(onionshim_config_set(&cfg, "socks_sever", "x", &err), -EINVAL);
	assert_string_equal(err.buf, "unknown name \"socks_sever\"");
}

static void
test_set_after_parse_overrides_without_duplicate_error(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;

	(void)state;
	assert_parses(&cfg, "log_level = debug\nlog_to = stderr\n");
	assert_int_equal(onionshim_config_set(&cfg, "log_level", "error", &err), 0);
	assert_int_equal(onionshim_config_set(&cfg, "log_to", "/tmp/x.log", &err), 0);
	assert_int_equal(cfg.log_level, ONIONSHIM_LOG_ERROR);
	assert_string_equal(cfg.log_to.buf, "/tmp/x.log");
}

/* ------------------------------------------------------------------ */
/* Syntax                                                             */
/* ------------------------------------------------------------------ */

static void
test_socks_list_continues_over_three_lines_past_comments(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg,
		      "socks_server = 127.0.0.1:9050,\n"
		      "# the first fallback\n"
		      "    127.0.0.1:9051\n"
		      "\n"
		      "\t# the second fallback\n"
		      "\t[::1]:9050\n"
		      "route = onion\n");
	assert_int_equal(cfg.nsocks, 3);
	assert_string_equal(cfg.socks[0].text, "127.0.0.1:9050");
	assert_string_equal(cfg.socks[1].text, "127.0.0.1:9051");
	assert_string_equal(cfg.socks[2].text, "[::1]:9050");
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
}

static void
test_continuation_joins_with_one_space(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "onion_map = /srv/on  \n   \t ion  map \t\n");
	assert_string_equal(cfg.onion_map.buf, "/srv/on ion  map");
}

static void
test_continuation_may_hold_the_value(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "route =\n    onion\n");
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
	assert_parses(&cfg, "route\n  = onion\n");
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
}

static void
test_white_space_around_equals_is_optional(void **state)
{
	static const char *const cases[] = {
		"route=onion\n", "route = onion\n", "route\t=\tonion\t\n",
		"route   =   onion   \n", "route= onion\n", "route =onion",
	};
	struct onionshim_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_parses(&cfg, cases[i]);
		assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
	}
}

static void
test_value_splits_at_the_first_equals(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "log_to = /var/log/a=b\n");
	assert_string_equal(cfg.log_to.buf, "/var/log/a=b");
}

static void
test_hash_inside_a_line_is_not_a_comment(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "log_to = /var/log/a#b\n");
	assert_string_equal(cfg.log_to.buf, "/var/log/a#b");
}

static void
test_accepts_crlf_line_ends(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg,
		      "# written on Windows\r\n"
		      "route = onion\r\n"
		      "\r\n"
		      "  \r\n"
		      "socks_server = 127.0.0.1:9050,\r\n"
		      "  127.0.0.2:9050\r\n"
		      "log_to = /var/log/o.log\r\n");
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
	assert_int_equal(cfg.nsocks, 2);
	assert_string_equal(cfg.socks[1].text, "127.0.0.2:9050");
	assert_string_equal(cfg.log_to.buf, "/var/log/o.log");
}

static void
test_crlf_error_counts_lines(void **state)
{
	(void)state;
	assert_parse_error("route = all\r\n\r\nroute = tor\r\n",
			   CONF ":3: route given twice (first on line 1)");
}

static void
test_ignores_comment_and_blank_lines(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "# route = onion\n   # indented comment\n#\n\n \t \n"
		      "log_level = info\n#route = tor\n");
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ALL);
	assert_int_equal(cfg.log_level, ONIONSHIM_LOG_INFO);
}

static void
test_empty_text_keeps_defaults(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;

	(void)state;
	assert_int_equal(parse_len(&cfg, "", 0, &err), 0);
	assert_defaults(&cfg);
	assert_int_equal(parse_len(&cfg, NULL, 0, &err), 0);
	assert_defaults(&cfg);
}

static void
test_only_comments_keep_defaults(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "# onionshim.conf\n#\n# socks_server = 127.0.0.1:9150\n"
		      "\n    # route = onion\n");
	assert_defaults(&cfg);
}

static void
test_parse_builds_on_what_cfg_holds(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	static const char text[] = "log_level = debug\n";

	(void)state;
	onionshim_config_defaults(&cfg);
	assert_int_equal(onionshim_config_set(&cfg, "route", "onion", &err), 0);
	assert_int_equal(onionshim_config_parse(&cfg, text, strlen(text), CONF, &err), 0);
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
	assert_int_equal(cfg.log_level, ONIONSHIM_LOG_DEBUG);
}

static void
test_rejects_white_space_before_the_first_line(void **state)
{
	(void)state;
	assert_parse_error("  route = onion\n", CONF ":1: line starts with white space, "
			   "but there is no \"name = value\" line before it to continue");
	assert_parse_error("# c\n\n\troute = onion\n", CONF ":3: line starts with "
			   "white space, but there is no \"name = value\" line before it "
			   "to continue");
}

static void
test_line_numbers_count_past_continuations(void **state)
{
	(void)state;
	assert_parse_error("socks_server = 127.0.0.1:9050\n"
			   "  127.0.0.2:9050\n"
			   "\n"
			   "# more\n"
			   "  127.0.0.3:9050\n"
			   "route = tor\n",
			   CONF ":6: route: \"tor\" is not one of all, onion");
}

static void
test_error_names_the_line_where_the_logical_line_starts(void **state)
{
	(void)state;
	assert_parse_error("\nroute =\n  # c\n  tor\n",
			   CONF ":2: route: \"tor\" is not one of all, onion");
}

static void
test_reads_only_len_bytes(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	static const char text[] = "route = onionXYZ";

	(void)state;
	assert_int_equal(parse_len(&cfg, text, strlen("route = onion"), &err), 0);
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
}

static void
test_last_line_needs_no_newline(void **state)
{
	struct onionshim_config cfg;

	(void)state;
	assert_parses(&cfg, "route = all\nlog_level = debug");
	assert_int_equal(cfg.log_level, ONIONSHIM_LOG_DEBUG);
}

static void
test_rejects_nul_byte(void **state)
{
	static const char text[] = "route = all\nlog_level = de\0bug\n";
	struct onionshim_config cfg;
	struct onionshim_errbuf err;

	(void)state;
	assert_int_equal(parse_len(&cfg, text, sizeof(text) - 1, &err), -EINVAL);
	assert_string_equal(err.buf, CONF ":2: NUL byte in the text");
}

/* A logical line of LEN bytes: "onion_map = /aaa...", over two lines. */
static char *
long_line(size_t len)
{
	static const char head[] = "# c\nonion_map = /\n  ";
	size_t first = strlen("onion_map = /") + 1;	/* joined with one space */
	char *text = malloc(sizeof(head) + len);

	assert_non_null(text);
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'a', len - first);
	text[sizeof(head) - 1 + len - first] = '\0';
	return text;
}

static void
test_accepts_a_4095_byte_logical_line(void **state)
{
	struct onionshim_config cfg;
	char *text = long_line(4095);

	(void)state;
	assert_parses(&cfg, text);
	assert_int_equal(strlen(cfg.onion_map.buf), 4095 - strlen("onion_map = "));
	free(text);
}

static void
test_rejects_a_longer_logical_line(void **state)
{
	char *text = long_line(4096);

	(void)state;
	assert_parse_error(text, CONF ":2: line too long (more than 4095 bytes)");
	free(text);
}

/* ------------------------------------------------------------------ */
/* host:port                                                          */
/* ------------------------------------------------------------------ */

static const struct {
	const char *text;
	int family;		/* 0: must be rejected */
	unsigned port;
	const char *canon;
} sockaddr_cases[] = {
	{ "127.0.0.1:9050", AF_INET, 9050, "127.0.0.1:9050" },
	{ "10.1.2.3:65535", AF_INET, 65535, "10.1.2.3:65535" },
	{ "10.1.2.3:1", AF_INET, 1, "10.1.2.3:1" },
	{ "[::1]:9050", AF_INET6, 9050, "[::1]:9050" },
	{ "[2001:DB8:0::1]:25", AF_INET6, 25, "[2001:db8::1]:25" },
	{ "[::ffff:127.0.0.1]:9050", AF_INET6, 9050, "[::ffff:127.0.0.1]:9050" },
	{ "[127.0.0.1]:9050", AF_INET, 9050, "127.0.0.1:9050" },
	{ "localhost:9050", AF_INET, 9050, "127.0.0.1:9050" },
	{ "LocalHost:9150", AF_INET, 9150, "127.0.0.1:9150" },
	{ "127.0.0.1", 0, 0, NULL },
	{ "127.0.0.1:", 0, 0, NULL },
	{ ":9050", 0, 0, NULL },
	{ "127.0.0.1:0", 0, 0, NULL },
	{ "127.0.0.1:65536", 0, 0, NULL },
	{ "127.0.0.1:009050", 0, 0, NULL },
	{ "127.0.0.1:+9050", 0, 0, NULL },
	{ "127.0.0.1: 9050", 0, 0, NULL },
	{ "127.0.0.1:9050 ", 0, 0, NULL },
	{ "127.0.0.1:9050x", 0, 0, NULL },
	{ "::1:9050", 0, 0, NULL },
	{ "[::1]", 0, 0, NULL },
	{ "[::1]:", 0, 0, NULL },
	{ "[::1]9050", 0, 0, NULL },
	{ "[::1:9050", 0, 0, NULL },
	{ "[]:9050", 0, 0, NULL },
	{ "[fe80::1%lo]:9050", 0, 0, NULL },
	{ "[localhost]:9050", 0, 0, NULL },
	{ "1.2.3:9050", 0, 0, NULL },
	{ "256.0.0.1:9050", 0, 0, NULL },
	{ "example.org:9050", 0, 0, NULL },
	{ "localhost", 0, 0, NULL },
	{ "", 0, 0, NULL },
};

static void
test_parse_sockaddr_table(void **state)
{
	struct onionshim_sockaddr sa;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sockaddr_cases) / sizeof(sockaddr_cases[0]); i++) {
		int rc = onionshim_config_parse_sockaddr(sockaddr_cases[i].text, &sa);

		if (sockaddr_cases[i].family == 0) {
			if (rc != -EINVAL)
				fail_msg("\"%s\": accepted", sockaddr_cases[i].text);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": rejected", sockaddr_cases[i].text);
		assert_int_equal(sa.ss.ss_family, sockaddr_cases[i].family);
		assert_string_equal(sa.text, sockaddr_cases[i].canon);
		if (sockaddr_cases[i].family == AF_INET) {
			assert_int_equal(sa.len, sizeof(struct sockaddr_in));
			assert_int_equal(ntohs(((struct sockaddr_in *)&sa.ss)->sin_port),
					 sockaddr_cases[i].port);
		} else {
			assert_int_equal(sa.len, sizeof(struct sockaddr_in6));
			assert_int_equal(ntohs(((struct sockaddr_in6 *)&sa.ss)->sin6_port),
					 sockaddr_cases[i].port);
		}
	}
}

static void
test_parse_sockaddr_fills_the_address(void **state)
{
	static const uint8_t loop6[16] = { [15] = 1 };
	struct onionshim_sockaddr sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&sa.ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&sa.ss;

	(void)state;
	assert_int_equal(onionshim_config_parse_sockaddr("localhost:9050", &sa), 0);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(onionshim_config_parse_sockaddr("[::1]:9050", &sa), 0);
	assert_memory_equal(sin6->sin6_addr.s6_addr, loop6, 16);
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(sin6->sin6_flowinfo, 0);
}

/* ------------------------------------------------------------------ */
/* Loading a file                                                     */
/* ------------------------------------------------------------------ */

static char tmpdir[64];

struct path {
	char buf[128];	/* the temp dir is short; keeps error lines whole */
};

static const char *
tmp_path(struct path *p, const char *name)
{
	snprintf(p->buf, sizeof(p->buf), "%s/%s", tmpdir, name);
	return p->buf;
}

static const char *
write_file(struct path *p, const char *name, const char *text, size_t len)
{
	int fd = open(tmp_path(p, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return p->buf;
}

static int
make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/onionshim-test-config.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_tmpdir(void **state)
{
	static const char *const names[] = {
		"good.conf", "bad.conf", "big.conf", "max.conf", "fifo", "dir",
	};
	struct path p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tmp_path(&p, names[i]);
		if (unlink(p.buf) < 0)
			rmdir(p.buf);
	}
	return rmdir(tmpdir);
}

static void
test_load_reads_the_file(void **state)
{
	static const char text[] = "route = onion\nsocks_server = [::1]:9150\n";
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	struct path p;

	(void)state;
	write_file(&p, "good.conf", text, strlen(text));
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), 0);
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
	assert_int_equal(cfg.nsocks, 1);
	assert_string_equal(cfg.socks[0].text, "[::1]:9150");
}

static void
test_load_starts_from_defaults(void **state)
{
	static const char text[] = "route = onion\n";
	struct onionshim_config cfg, want;
	struct onionshim_errbuf err;
	struct path p;

	(void)state;
	write_file(&p, "good.conf", text, strlen(text));
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), 0);
	onionshim_config_defaults(&want);
	want.route = ONIONSHIM_ROUTE_ONION;
	assert_memory_equal(&cfg, &want, sizeof(want));
}

static void
test_load_error_names_the_path_and_line(void **state)
{
	static const char text[] = "route = onion\nisolation = circuit\n";
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char want[sizeof(err.buf)];
	struct path p;

	(void)state;
	write_file(&p, "bad.conf", text, strlen(text));
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 1, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: isolation: \"circuit\" is not one of destination, none", p.buf);
	assert_string_equal(err.buf, want);
}

static void
test_load_missing_file_is_enoent(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char want[sizeof(err.buf)];
	struct path p;

	(void)state;
	tmp_path(&p, "missing.conf");
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", p.buf);
	assert_string_equal(err.buf, want);
}

static void
test_load_missing_file_is_fine_when_missing_ok(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	struct path p;

	(void)state;
	tmp_path(&p, "missing.conf");
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 1, &err), 0);
	assert_defaults(&cfg);
}

static void
test_load_missing_directory_is_enoent_too(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	struct path p;

	(void)state;
	tmp_path(&p, "nodir/onionshim.conf");
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), -ENOENT);
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 1, &err), 0);
}

static void
test_load_refuses_a_directory(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char want[sizeof(err.buf)];
	struct path p;

	(void)state;
	tmp_path(&p, "dir");
	assert_int_equal(mkdir(p.buf, 0755), 0);
	snprintf(want, sizeof(want), "%s: Is a directory", p.buf);
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), -EISDIR);
	assert_string_equal(err.buf, want);
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 1, &err), -EISDIR);
	assert_int_equal(rmdir(p.buf), 0);
}

static void
test_load_refuses_a_fifo_without_blocking(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char want[sizeof(err.buf)];
	struct path p;

	(void)state;
	tmp_path(&p, "fifo");
	assert_int_equal(mkfifo(p.buf, 0600), 0);
	snprintf(want, sizeof(want), "%s: not a regular file", p.buf);
	alarm(5);	/* a blocking open kills the runner instead of hanging it */
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), -EINVAL);
	alarm(0);
	assert_string_equal(err.buf, want);
	assert_int_equal(unlink(p.buf), 0);
}

static void
test_load_refuses_an_oversized_file(void **state)
{
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char want[sizeof(err.buf)];
	char *text = malloc(ONIONSHIM_CONF_MAX + 1);
	struct path p;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', ONIONSHIM_CONF_MAX + 1);
	write_file(&p, "big.conf", text, ONIONSHIM_CONF_MAX + 1);
	free(text);
	snprintf(want, sizeof(want),
		 "%s: 65537 bytes, more than the 65536 a config file may have", p.buf);
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 1, &err), -EFBIG);
	assert_string_equal(err.buf, want);
}

static void
test_load_accepts_a_file_of_the_maximum_size(void **state)
{
	static const char tail[] = "route = onion\n";
	struct onionshim_config cfg;
	struct onionshim_errbuf err;
	char *text = malloc(ONIONSHIM_CONF_MAX);
	struct path p;

	(void)state;
	assert_non_null(text);
	memset(text, '#', ONIONSHIM_CONF_MAX);
	text[0] = '\n';
	memcpy(text + ONIONSHIM_CONF_MAX - strlen(tail) - 1, "\n", 1);
	memcpy(text + ONIONSHIM_CONF_MAX - strlen(tail), tail, strlen(tail));
	write_file(&p, "max.conf", text, ONIONSHIM_CONF_MAX);
	free(text);
	assert_int_equal(onionshim_config_load(&cfg, p.buf, 0, &err), 0);
	assert_int_equal(cfg.route, ONIONSHIM_ROUTE_ONION);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_socks_server_is_127_0_0_1_port_9050),
		cmocka_unit_test(test_default_onion_map_is_etc_onionshim_onion_map),
		cmocka_unit_test(test_default_route_is_all),
		cmocka_unit_test(test_default_allow_inbound_is_no),
		cmocka_unit_test(test_default_allow_localhost_is_no),
		cmocka_unit_test(test_default_isolation_is_destination),
		cmocka_unit_test(test_default_connect_timeout_is_120s),
		cmocka_unit_test(test_default_fake_network_is_240_0_0_0_slash_5),
		cmocka_unit_test(test_default_fake_network6_is_2001_db8_slash_32),
		cmocka_unit_test(test_default_log_level_is_notice),
		cmocka_unit_test(test_default_log_to_is_syslog),
		cmocka_unit_test(test_names_are_the_eleven_of_design_in_order),
		cmocka_unit_test(test_every_listed_name_is_known_to_set),
		cmocka_unit_test(test_level_names_match_syslog_severities),
		cmocka_unit_test(test_parses_every_good_value),
		cmocka_unit_test(test_good_values_cover_every_name),
		cmocka_unit_test(test_set_applies_a_good_value_like_the_file),
		cmocka_unit_test(test_rejects_every_bad_value_with_file_line_and_value),
		cmocka_unit_test(test_set_failure_leaves_config_unchanged),
		cmocka_unit_test(test_rejects_unknown_name),
		cmocka_unit_test(test_rejects_names_in_another_case),
		cmocka_unit_test(test_route_error_lists_the_choices),
		cmocka_unit_test(test_rejects_missing_equals),
		cmocka_unit_test(test_rejects_missing_name),
		cmocka_unit_test(test_connect_timeout_error_shows_the_syntax),
		cmocka_unit_test(test_connect_timeout_rejects_milliseconds),
		cmocka_unit_test(test_connect_timeout_caps_at_24h),
		cmocka_unit_test(test_rejects_duplicate_name),
		cmocka_unit_test(test_boolean_error_says_only_yes_and_no),
		cmocka_unit_test(test_socks_server_error_names_the_bad_address),
		cmocka_unit_test(test_socks_server_rejects_an_empty_list),
		cmocka_unit_test(test_socks_server_rejects_a_ninth_address),
		cmocka_unit_test(test_fake_network_overlap_error_says_why),
		cmocka_unit_test(test_fake_network6_overlap_error_names_the_mapped_range),
		cmocka_unit_test(test_fake_network_host_bits_error_names_the_network),
		cmocka_unit_test(test_fake_network_prefix_error_gives_the_range),
		cmocka_unit_test(test_error_quotes_control_bytes_and_cuts_long_values),
		cmocka_unit_test(test_set_reports_without_file_or_line),
		cmocka_unit_test(test_set_after_parse_overrides_without_duplicate_error),
		cmocka_unit_test(test_socks_list_continues_over_three_lines_past_comments),
		cmocka_unit_test(test_continuation_joins_with_one_space),
		cmocka_unit_test(test_continuation_may_hold_the_value),
		cmocka_unit_test(test_white_space_around_equals_is_optional),
		cmocka_unit_test(test_value_splits_at_the_first_equals),
		cmocka_unit_test(test_hash_inside_a_line_is_not_a_comment),
		cmocka_unit_test(test_accepts_crlf_line_ends),
		cmocka_unit_test(test_crlf_error_counts_lines),
		cmocka_unit_test(test_ignores_comment_and_blank_lines),
		cmocka_unit_test(test_empty_text_keeps_defaults),
		cmocka_unit_test(test_only_comments_keep_defaults),
		cmocka_unit_test(test_parse_builds_on_what_cfg_holds),
		cmocka_unit_test(test_rejects_white_space_before_the_first_line),
		cmocka_unit_test(test_line_numbers_count_past_continuations),
		cmocka_unit_test(test_error_names_the_line_where_the_logical_line_starts),
		cmocka_unit_test(test_reads_only_len_bytes),
		cmocka_unit_test(test_last_line_needs_no_newline),
		cmocka_unit_test(test_rejects_nul_byte),
		cmocka_unit_test(test_accepts_a_4095_byte_logical_line),
		cmocka_unit_test(test_rejects_a_longer_logical_line),
		cmocka_unit_test(test_parse_sockaddr_table),
		cmocka_unit_test(test_parse_sockaddr_fills_the_address),
		cmocka_unit_test(test_load_reads_the_file),
		cmocka_unit_test(test_load_starts_from_defaults),
		cmocka_unit_test(test_load_error_names_the_path_and_line),
		cmocka_unit_test(test_load_missing_file_is_enoent),
		cmocka_unit_test(test_load_missing_file_is_fine_when_missing_ok),
		cmocka_unit_test(test_load_missing_directory_is_enoent_too),
		cmocka_unit_test(test_load_refuses_a_directory),
		cmocka_unit_test(test_load_refuses_a_fifo_without_blocking),
		cmocka_unit_test(test_load_refuses_an_oversized_file),
		cmocka_unit_test(test_load_accepts_a_file_of_the_maximum_size),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
