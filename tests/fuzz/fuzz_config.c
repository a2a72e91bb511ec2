/*
 * NAME
 *	fuzz_config - fuzz target for onionshim.conf parsing
 * DESCRIPTION
 *	The input is a config file. It is parsed on top of the defaults,
 *	as the constructor does, and the result is held to config.h:
 *
 *	- the parser returns 0 or -EINVAL, and the same text gives the
 *	  same result twice;
 *	- an error reads "fuzz.conf:LINE: reason" with LINE inside the text,
 *	  and carries no control byte (it goes into a log line);
 *	- a success leaves every field in its documented range: 1..8 SOCKS
 *	  addresses that print and parse back to themselves, absolute paths
 *	  or keywords, a timeout of 1 s..24 h, fake networks with clear host
 *	  bits, outside loopback, with at least 254 slots.
 *
 *	Every physical line is also fed on its own to
 *	onionshim_config_set (split at its first '=', as the environment
 *	overrides are), which must leave the config untouched when it
 *	fails, and to onionshim_config_parse_sockaddr.
 * NEVER
 *	does I/O beyond an abort message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "onionshim/config.h"
#include "onionshim/fake.h"

#define FUZZ_CONF_NAME	"fuzz.conf"

static int
nul_within(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

static int
v4_is_loopback_or_zero(const struct in_addr *a)
{
	uint8_t first = (uint8_t)(ntohl(a->s_addr) >> 24);

	return first == 127 || first == 0;
}

static int
host_bits_clear(const uint8_t *addr, size_t nbytes, unsigned bits)
{
	size_t i;

	for (i = 0; i < nbytes; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t keep;

		if (first >= bits)
			keep = 0;
		else if (bits - first >= 8)
			keep = 0xff;
		else
			keep = (uint8_t)(0xff << (8 - (bits - first)));
		if ((addr[i] & (uint8_t)~keep) != 0)
			return 0;
	}
	return 1;
}

/* A stored SOCKS address: consistent, and its text parses back to it. */
static void
check_sockaddr(const struct onionshim_sockaddr *sa)
{
	struct onionshim_sockaddr back;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&sa->ss;

	FUZZ_CHECK(nul_within(sa->text, sizeof(sa->text)));
	FUZZ_CHECK(sa->text[0] != '\0');
	if (sa->ss.ss_family == AF_INET)
		FUZZ_CHECK(sa->len == sizeof(struct sockaddr_in));
	else
		FUZZ_CHECK(sa->ss.ss_family == AF_INET6 &&
			   sa->len == sizeof(struct sockaddr_in6));
	/* sin_port and sin6_port share their place. */
	FUZZ_CHECK(sin->sin_port != 0);
	FUZZ_CHECK(onionshim_config_parse_sockaddr(sa->text, &back) == 0);
	FUZZ_CHECK(back.len == sa->len);
	FUZZ_CHECK(memcmp(&back.ss, &sa->ss, sa->len) == 0);
	FUZZ_CHECK(strcmp(back.text, sa->text) == 0);
}

static void
check_config(const struct onionshim_config *cfg)
{
	const char *log_to = cfg->log_to.buf;
	size_t i;

	FUZZ_CHECK(cfg->nsocks >= 1 && cfg->nsocks <= ONIONSHIM_MAX_SOCKS);
	for (i = 0; i < cfg->nsocks; i++)
		check_sockaddr(&cfg->socks[i]);
	FUZZ_CHECK(nul_within(cfg->onion_map.buf, sizeof(cfg->onion_map.buf)));
	FUZZ_CHECK(cfg->onion_map.buf[0] == '\0' || cfg->onion_map.buf[0] == '/');
	FUZZ_CHECK(cfg->route == ONIONSHIM_ROUTE_ALL || cfg->route == ONIONSHIM_ROUTE_ONION);
	FUZZ_CHECK(cfg->allow_inbound == 0 || cfg->allow_inbound == 1);
	FUZZ_CHECK(cfg->allow_localhost == 0 || cfg->allow_localhost == 1);
	FUZZ_CHECK(cfg->isolation == ONIONSHIM_ISOLATION_DESTINATION ||
		   cfg->isolation == ONIONSHIM_ISOLATION_NONE);
	FUZZ_CHECK(cfg->connect_timeout_ms >= 1000 &&
		   cfg->connect_timeout_ms <= 24u * 3600 * 1000);
	FUZZ_CHECK(cfg->fake_prefix >= 1 && cfg->fake_prefix <= 24);
	FUZZ_CHECK(host_bits_clear((const uint8_t *)&cfg->fake_net, 4, cfg->fake_prefix));
	FUZZ_CHECK(!v4_is_loopback_or_zero(&cfg->fake_net));
	FUZZ_CHECK(cfg->fake_prefix6 >= 1 && cfg->fake_prefix6 <= 120);
	FUZZ_CHECK(host_bits_clear(cfg->fake_net6.s6_addr, 16, cfg->fake_prefix6));
	FUZZ_CHECK(onionshim_fake_nslots(cfg) >= 254);
	FUZZ_CHECK(cfg->log_level >= ONIONSHIM_LOG_ERROR && cfg->log_level <= ONIONSHIM_LOG_DEBUG);
	FUZZ_CHECK(strcmp(onionshim_level_name(cfg->log_level), "unknown") != 0);
	FUZZ_CHECK(nul_within(log_to, sizeof(cfg->log_to.buf)));
	FUZZ_CHECK(strcmp(log_to, "syslog") == 0 || strcmp(log_to, "stderr") == 0 ||
		   log_to[0] == '/');
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

/* "fuzz.conf:LINE: reason", LINE within the text, nothing unprintable. */
static void
check_error(const struct onionshim_errbuf *err, const uint8_t *data, size_t size)
{
	const char *p = err->buf + sizeof(FUZZ_CONF_NAME ":") - 1;
	unsigned long line = 0;

	FUZZ_CHECK(nul_within(err->buf, sizeof(err->buf)));
	FUZZ_CHECK(strncmp(err->buf, FUZZ_CONF_NAME ":", sizeof(FUZZ_CONF_NAME ":") - 1) == 0);
	FUZZ_CHECK(*p >= '1' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		line = line * 10 + (unsigned long)(*p++ - '0');
	FUZZ_CHECK(line >= 1 && line <= count_lines(data, size));
	FUZZ_CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
	FUZZ_CHECK(fuzz_printable(err->buf));
}

/*
 * The configs are static: they are 10 KiB each, and ASan would poison and
 * unpoison that much stack on every call.
 */
static struct onionshim_config parsed, reparsed, defaults;

static void
check_parse(const uint8_t *data, size_t size)
{
	struct onionshim_errbuf err, err2;
	int rc, rc2;

	memset(&err, 0, sizeof(err));
	memset(&err2, 0, sizeof(err2));
	onionshim_config_defaults(&parsed);
	rc = onionshim_config_parse(&parsed, (const char *)data, size, FUZZ_CONF_NAME, &err);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0)
		check_config(&parsed);
	else
		check_error(&err, data, size);

	onionshim_config_defaults(&reparsed);
	rc2 = onionshim_config_parse(&reparsed, (const char *)data, size, FUZZ_CONF_NAME, &err2);
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0)
		FUZZ_CHECK(memcmp(&parsed, &reparsed, sizeof(parsed)) == 0);
	else
		FUZZ_CHECK(strcmp(err.buf, err2.buf) == 0);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* TEXT[0..LEN) without blanks at either end, as a C string in OUT. */
static void
trimmed(const char *text, size_t len, char *out)
{
	while (len > 0 && is_blank(*text)) {
		text++;
		len--;
	}
	while (len > 0 && is_blank(text[len - 1]))
		len--;
	memcpy(out, text, len);
	out[len] = '\0';
}

/* One line as an environment override: NAME = VALUE, applied alone. */
static void
check_set(const char *line, size_t len)
{
	static char name[4096], value[4096];
	struct onionshim_errbuf err;
	const char *eq = memchr(line, '=', len);
	int rc;

	if (eq == NULL || len >= sizeof(name))
		return;
	trimmed(line, (size_t)(eq - line), name);
	trimmed(eq + 1, len - (size_t)(eq - line) - 1, value);
	parsed = defaults;
	memset(&err, 0, sizeof(err));
	rc = onionshim_config_set(&parsed, name, value, &err);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_config(&parsed);
		return;
	}
	FUZZ_CHECK(memcmp(&parsed, &defaults, sizeof(parsed)) == 0);
	FUZZ_CHECK(err.buf[0] != '\0' && nul_within(err.buf, sizeof(err.buf)));
	FUZZ_CHECK(fuzz_printable(err.buf));
}

/* One line as a socks_server item: a success must round-trip. */
static void
check_sockaddr_text(const char *line, size_t len)
{
	static char text[4096];
	struct onionshim_sockaddr sa;

	if (len >= sizeof(text))
		return;
	memcpy(text, line, len);
	text[len] = '\0';
	memset(&sa, 0, sizeof(sa));
	if (onionshim_config_parse_sockaddr(text, &sa) == 0)
		check_sockaddr(&sa);
}

static void
check_lines(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* C strings cannot carry a NUL: the APIs never see one. */
		if (memchr(p, '\0', len) == NULL) {
			check_set(p, len);
			check_sockaddr_text(p, len);
		}
		p = nl ? nl + 1 : end;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		onionshim_config_defaults(&defaults);
		check_config(&defaults);
		ready = 1;
	}
	check_parse(data, size);
	check_lines(data, size);
	return 0;
}
