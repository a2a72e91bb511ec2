/*
 * NAME
 *	config - onionshim.conf(5), in Postfix main.cf syntax
 * SYNOPSIS
 *	#include "onionshim/config.h"
 *
 *	void onionshim_config_defaults(struct onionshim_config *cfg);
 *	int onionshim_config_parse(struct onionshim_config *cfg,
 *			const char *text, size_t len, const char *filename,
 *			struct onionshim_errbuf *err);
 *	int onionshim_config_set(struct onionshim_config *cfg,
 *			const char *name, const char *value,
 *			struct onionshim_errbuf *err);
 *	int onionshim_config_load(struct onionshim_config *cfg,
 *			const char *path, int missing_ok,
 *			struct onionshim_errbuf *err);
 *	int onionshim_config_parse_sockaddr(const char *text,
 *			struct onionshim_sockaddr *out);
 * DESCRIPTION
 *	The text is read the way Postfix's readlline() reads main.cf: blank
 *	lines and lines whose first non-blank character is '#' are skipped
 *	and do not end a logical line; a line that starts with a space or a
 *	tab continues the logical line before it. Continuations are joined
 *	with one space. A logical line is "name = value"; the error for any
 *	line names the physical line where its logical line starts.
 *
 *	Each setting has one parser, used both by the file and by the
 *	environment overrides (onionshim_config_set), so that both accept
 *	exactly the same values and say the same things about bad ones.
 *	Keyword values (all, yes, syslog, ...) are case-insensitive in ASCII,
 *	as Postfix's are; setting names are case-sensitive, as Postfix's are.
 * RETURNS
 *	0, or -errno with one line in ERR. onionshim_config_set leaves CFG
 *	unchanged when it fails, so a bad environment override cannot leave
 *	half a setting behind.
 * NEVER
 *	allocates with malloc, resolves a host name, prints, or keeps
 *	global state. onionshim_config_load is its only I/O.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* GNU strerror_r, which returns the text */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onionshim/config.h"

/* One logical line; longer ones are an error, never a silent cut. */
struct config_line {
	char buf[4096];
};

/* A value as it appears inside an error line: short and printable. */
struct config_quote {
	char buf[72];
};

#define QUOTE_KEEP	60

/* "a, b, c" for "is not one of" errors. */
struct config_choices {
	char buf[96];
};

struct config_keyword {
	const char *word;
	int value;
};

/* ------------------------------------------------------------------ */
/* Small text helpers                                                 */
/* ------------------------------------------------------------------ */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII only: the host's locale (tr_TR's dotless i) must not change it. */
static int
ascii_caseeq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}

/*
 * Values end up in log lines: a control byte could forge a line, and a
 * 4 KiB value would push the useful part of the message out of ERR.
 */
static const char *
quote(const char *text, size_t len, struct config_quote *q)
{
	size_t i, n = len < QUOTE_KEEP ? len : QUOTE_KEEP;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		q->buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	q->buf[i] = '\0';
	if (n < len)
		memcpy(q->buf + i, "...", 4);
	return q->buf;
}

static const char *
quote_str(const char *text, struct config_quote *q)
{
	return quote(text, strlen(text), q);
}

static const char *
choices(const struct config_keyword *kw, struct config_choices *out)
{
	size_t used = 0;

	out->buf[0] = '\0';
	for (; kw->word != NULL; kw++) {
		int n = snprintf(out->buf + used, sizeof(out->buf) - used, "%s%s",
				 used ? ", " : "", kw->word);

		if (n < 0 || (size_t)n >= sizeof(out->buf) - used)
			break;
		used += (size_t)n;
	}
	return out->buf;
}

/* ------------------------------------------------------------------ */
/* Addresses and prefixes                                             */
/* ------------------------------------------------------------------ */

/* "1".."65535", digits only: "+9050" or " 9050" is not a port. */
static int
parse_port(const char *text, in_port_t *port)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9' || i >= 5)
			return -EINVAL;
		n = n * 10 + (unsigned long)(text[i] - '0');
	}
	if (i == 0 || n < 1 || n > 65535)
		return -EINVAL;
	*port = (in_port_t)n;
	return 0;
}

/* Copy [TEXT, TEXT+LEN) into a NUL-terminated address buffer. */
static int
copy_host(const char *text, size_t len, char host[INET6_ADDRSTRLEN])
{
	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(host, text, len);
	host[len] = '\0';
	return 0;
}

static void
fill_v4(struct onionshim_sockaddr *out, const struct in_addr *addr, in_port_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	char host[INET_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = *addr;
	out->len = sizeof(*sin);
	inet_ntop(AF_INET, addr, host, sizeof(host));
	snprintf(out->text, sizeof(out->text), "%s:%u", host, (unsigned)port);
}

static void
fill_v6(struct onionshim_sockaddr *out, const struct in6_addr *addr, in_port_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	char host[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = *addr;
	out->len = sizeof(*sin6);
	inet_ntop(AF_INET6, addr, host, sizeof(host));
	snprintf(out->text, sizeof(out->text), "[%s]:%u", host, (unsigned)port);
}

/*
 * "localhost" is the one name taken without a resolver: it is what every
 * torrc example says, and it must never cost a DNS query.
 */
static int
host_v4(const char *host, struct in_addr *addr)
{
	if (ascii_caseeq(host, "localhost")) {
		addr->s_addr = htonl(INADDR_LOOPBACK);
		return 0;
	}
	return inet_pton(AF_INET, host, addr) == 1 ? 0 : -EINVAL;
}

int
onionshim_config_parse_sockaddr(const char *text, struct onionshim_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *end, *port_text;
	struct in6_addr a6;
	struct in_addr a4;
	in_port_t port;

	if (text[0] == '[') {
		/* Brackets: IPv6, or IPv4 as Postfix's relayhost writes it. */
		end = strchr(text, ']');
		if (end == NULL || end[1] != ':')
			return -EINVAL;
		port_text = end + 2;
		if (copy_host(text + 1, (size_t)(end - text - 1), host) < 0 ||
		    parse_port(port_text, &port) < 0)
			return -EINVAL;
		if (inet_pton(AF_INET6, host, &a6) == 1) {
			fill_v6(out, &a6, port);
			return 0;
		}
		if (inet_pton(AF_INET, host, &a4) == 1) {
			fill_v4(out, &a4, port);
			return 0;
		}
		return -EINVAL;
	}
	/* No brackets: the first ':' ends the host, so "::1:9050" fails. */
	end = strchr(text, ':');
	if (end == NULL)
		return -EINVAL;
	if (copy_host(text, (size_t)(end - text), host) < 0 ||
	    parse_port(end + 1, &port) < 0 || host_v4(host, &a4) < 0)
		return -EINVAL;
	fill_v4(out, &a4, port);
	return 0;
}

/* Do A and B agree in their first BITS bits? */
static int
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Clear every bit after the first BITS of ADDR (NBYTES long). */
static void
prefix_clear_host(uint8_t *addr, size_t nbytes, unsigned bits)
{
	size_t i;

	for (i = 0; i < nbytes; i++) {
		unsigned first = (unsigned)i * 8;

		if (first >= bits)
			addr[i] = 0;
		else if (bits - first < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (bits - first)));
	}
}

/* Two prefixes overlap when one contains the other. */
static int
prefix_overlap(const uint8_t *a, unsigned abits, const uint8_t *b, unsigned bbits)
{
	return prefix_equal(a, b, abits < bbits ? abits : bbits);
}

/* A range that fake addresses must stay out of, and why. */
struct reserved_net {
	uint8_t addr[16];
	unsigned bits;
	const char *text;
	const char *what;
};

static const struct reserved_net reserved4[] = {
	{ { 127 }, 8, "127.0.0.0/8", "loopback" },
	{ { 0 }, 8, "0.0.0.0/8", "this host" },
};

static const struct reserved_net reserved6[] = {
	{ { [15] = 1 }, 128, "::1/128", "loopback" },
	{ { [10] = 0xff, [11] = 0xff }, 96, "::ffff:0:0/96", "IPv4-mapped, loopback included" },
	{ { 0 }, 128, "::/128", "unspecified, this host" },
};

/*
 * "ADDR/BITS" with BITS in MINBITS..MAXBITS, host bits zero and outside
 * every reserved range. FAMILY picks the address syntax; ADDR is written
 * only on success.
 */
static int
parse_prefix(const char *name, const char *value, int family, unsigned maxbits,
	     const struct reserved_net *reserved, size_t nreserved, uint8_t *addr,
	     unsigned *bits, struct onionshim_errbuf *err)
{
	size_t nbytes = family == AF_INET ? 4 : 16;
	char host[INET6_ADDRSTRLEN], fixed[INET6_ADDRSTRLEN];
	const char *slash = strchr(value, '/');
	const char *example = family == AF_INET ? "240.0.0.0/5" : "2001:db8::/32";
	struct config_quote q;
	uint8_t a[16], masked[16];
	unsigned long n = 0;
	size_t i;

	if (slash == NULL || copy_host(value, (size_t)(slash - value), host) < 0 ||
	    inet_pton(family, host, a) != 1 || slash[1] == '\0') {
		onionshim_errf(err, "%s: \"%s\" is not an %s network such as %s", name,
			       quote_str(value, &q), family == AF_INET ? "IPv4" : "IPv6",
			       example);
		return -EINVAL;
	}
	for (i = 1; slash[i] != '\0'; i++) {
		if (slash[i] < '0' || slash[i] > '9' || i > 3) {
			n = 0;
			break;
		}
		n = n * 10 + (unsigned long)(slash[i] - '0');
	}
	if (n < 1 || n > maxbits) {
		onionshim_errf(err, "%s: \"%s\": the prefix length must be 1..%u, "
			       "leaving room for fake addresses", name, quote_str(value, &q),
			       maxbits);
		return -EINVAL;
	}
	memcpy(masked, a, nbytes);
	prefix_clear_host(masked, nbytes, (unsigned)n);
	if (memcmp(masked, a, nbytes) != 0) {
		inet_ntop(family, masked, fixed, sizeof(fixed));
		onionshim_errf(err, "%s: \"%s\" has host bits set; the network is %s/%lu",
			       name, quote_str(value, &q), fixed, n);
		return -EINVAL;
	}
	for (i = 0; i < nreserved; i++) {
		if (prefix_overlap(a, (unsigned)n, reserved[i].addr, reserved[i].bits)) {
			onionshim_errf(err, "%s: \"%s\" overlaps %s (%s): fake addresses "
				       "must never reach the host's own services", name,
				       quote_str(value, &q), reserved[i].text, reserved[i].what);
			return -EINVAL;
		}
	}
	memcpy(addr, a, nbytes);
	*bits = (unsigned)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* One parser per kind of value                                       */
/* ------------------------------------------------------------------ */

static int
parse_keyword(const char *name, const char *value, const struct config_keyword *kw,
	      int *out, struct onionshim_errbuf *err)
{
	const struct config_keyword *k;
	struct config_choices c;
	struct config_quote q;

	for (k = kw; k->word != NULL; k++) {
		if (ascii_caseeq(value, k->word)) {
			*out = k->value;
			return 0;
		}
	}
	onionshim_errf(err, "%s: \"%s\" is not one of %s", name, quote_str(value, &q),
		       choices(kw, &c));
	return -EINVAL;
}

static const struct config_keyword route_words[] = {
	{ "all", ONIONSHIM_ROUTE_ALL },
	{ "onion", ONIONSHIM_ROUTE_ONION },
	{ NULL, 0 },
};

static const struct config_keyword bool_words[] = {
	{ "yes", 1 },
	{ "no", 0 },
	{ NULL, 0 },
};

static const struct config_keyword isolation_words[] = {
	{ "destination", ONIONSHIM_ISOLATION_DESTINATION },
	{ "none", ONIONSHIM_ISOLATION_NONE },
	{ NULL, 0 },
};

static const struct config_keyword level_words[] = {
	{ "error", ONIONSHIM_LOG_ERROR },
	{ "warning", ONIONSHIM_LOG_WARNING },
	{ "notice", ONIONSHIM_LOG_NOTICE },
	{ "info", ONIONSHIM_LOG_INFO },
	{ "debug", ONIONSHIM_LOG_DEBUG },
	{ NULL, 0 },
};

/* Postfix's list separators (CHARS_COMMA_SP). */
static int
is_list_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
set_socks_server(struct onionshim_config *cfg, const char *name, const char *value,
		 struct onionshim_errbuf *err)
{
	struct onionshim_sockaddr socks[ONIONSHIM_MAX_SOCKS];
	char item[sizeof(socks[0].text)];
	struct config_quote q;
	const char *p = value;
	size_t n = 0, len;

	for (;;) {
		while (is_list_sep(*p))
			p++;
		if (*p == '\0')
			break;
		for (len = 0; p[len] != '\0' && !is_list_sep(p[len]); len++)
			;
		if (n == ONIONSHIM_MAX_SOCKS) {
			onionshim_errf(err, "%s: more than %d addresses in \"%s\"", name,
				       ONIONSHIM_MAX_SOCKS, quote_str(value, &q));
			return -EINVAL;
		}
		if (len >= sizeof(item))
			goto bad;
		memcpy(item, p, len);
		item[len] = '\0';
		if (onionshim_config_parse_sockaddr(item, &socks[n]) < 0)
			goto bad;
		n++;
		p += len;
	}
	if (n == 0) {
		onionshim_errf(err, "%s: \"%s\" is an empty list; give at least one "
			       "address such as 127.0.0.1:9050", name, quote_str(value, &q));
		return -EINVAL;
	}
	memcpy(cfg->socks, socks, n * sizeof(socks[0]));
	cfg->nsocks = n;
	return 0;
bad:
	onionshim_errf(err, "%s: \"%s\" is not IPV4:PORT or [IPV6]:PORT with a numeric "
		       "address and a port in 1..65535", name, quote(p, len, &q));
	return -EINVAL;
}

static int
set_path(struct onionshim_path *path, const char *name, const char *value,
	 struct onionshim_errbuf *err)
{
	size_t len = strlen(value);

	if (len >= sizeof(path->buf)) {
		onionshim_errf(err, "%s: path longer than %zu bytes", name,
			       sizeof(path->buf) - 1);
		return -EINVAL;
	}
	memcpy(path->buf, value, len + 1);
	return 0;
}

static int
set_onion_map(struct onionshim_config *cfg, const char *name, const char *value,
	      struct onionshim_errbuf *err)
{
	struct config_quote q;

	if (value[0] != '\0' && value[0] != '/') {
		onionshim_errf(err, "%s: \"%s\" is not an absolute path (leave it empty "
			       "for no map)", name, quote_str(value, &q));
		return -EINVAL;
	}
	return set_path(&cfg->onion_map, name, value, err);
}

static int
set_route(struct onionshim_config *cfg, const char *name, const char *value,
	  struct onionshim_errbuf *err)
{
	int v;

	if (parse_keyword(name, value, route_words, &v, err) < 0)
		return -EINVAL;
	cfg->route = (enum onionshim_route)v;
	return 0;
}

static int
set_allow_inbound(struct onionshim_config *cfg, const char *name, const char *value,
		  struct onionshim_errbuf *err)
{
	return parse_keyword(name, value, bool_words, &cfg->allow_inbound, err);
}

static int
set_allow_localhost(struct onionshim_config *cfg, const char *name, const char *value,
		    struct onionshim_errbuf *err)
{
	return parse_keyword(name, value, bool_words, &cfg->allow_localhost, err);
}

static int
set_isolation(struct onionshim_config *cfg, const char *name, const char *value,
	      struct onionshim_errbuf *err)
{
	int v;

	if (parse_keyword(name, value, isolation_words, &v, err) < 0)
		return -EINVAL;
	cfg->isolation = (enum onionshim_isolation)v;
	return 0;
}

#define TIME_MAX_SECONDS	(24ULL * 3600)

/* Postfix's time units; "ms" is not one of them. */
static unsigned long long
time_unit_seconds(const char *unit)
{
	if (unit[0] == '\0')
		return 1;
	if (unit[1] != '\0')
		return 0;
	switch (unit[0]) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default: return 0;
	}
}

static int
set_connect_timeout(struct onionshim_config *cfg, const char *name, const char *value,
		    struct onionshim_errbuf *err)
{
	unsigned long long n = 0, unit;
	struct config_quote q;
	const char *p;

	/* Saturate: anything past a day is "too long" whatever the unit. */
	for (p = value; *p >= '0' && *p <= '9'; p++)
		if (n <= TIME_MAX_SECONDS)
			n = n * 10 + (unsigned long long)(*p - '0');
	if (p == value || n == 0) {
		onionshim_errf(err, "%s: \"%s\" must be a positive time (e.g. 120s, 2m)",
			       name, quote_str(value, &q));
		return -EINVAL;
	}
	unit = time_unit_seconds(p);
	if (unit == 0) {
		onionshim_errf(err, "%s: \"%s\": the unit must be s, m or h (seconds "
			       "if none)", name, quote_str(value, &q));
		return -EINVAL;
	}
	if (n > TIME_MAX_SECONDS || n * unit > TIME_MAX_SECONDS) {
		onionshim_errf(err, "%s: \"%s\" is more than 24h", name,
			       quote_str(value, &q));
		return -EINVAL;
	}
	cfg->connect_timeout_ms = (unsigned)(n * unit * 1000);
	return 0;
}

static int
set_fake_network(struct onionshim_config *cfg, const char *name, const char *value,
		 struct onionshim_errbuf *err)
{
	return parse_prefix(name, value, AF_INET, 24, reserved4,
			    sizeof(reserved4) / sizeof(reserved4[0]),
			    (uint8_t *)&cfg->fake_net, &cfg->fake_prefix, err);
}

static int
set_fake_network6(struct onionshim_config *cfg, const char *name, const char *value,
		  struct onionshim_errbuf *err)
{
	return parse_prefix(name, value, AF_INET6, 120, reserved6,
			    sizeof(reserved6) / sizeof(reserved6[0]),
			    cfg->fake_net6.s6_addr, &cfg->fake_prefix6, err);
}

static int
set_log_level(struct onionshim_config *cfg, const char *name, const char *value,
	      struct onionshim_errbuf *err)
{
	int v;

	if (parse_keyword(name, value, level_words, &v, err) < 0)
		return -EINVAL;
	cfg->log_level = (enum onionshim_level)v;
	return 0;
}

/* The keywords are stored in lower case, so readers can strcmp them. */
static int
set_log_to(struct onionshim_config *cfg, const char *name, const char *value,
	   struct onionshim_errbuf *err)
{
	struct config_quote q;

	if (ascii_caseeq(value, "syslog"))
		return set_path(&cfg->log_to, name, "syslog", err);
	if (ascii_caseeq(value, "stderr"))
		return set_path(&cfg->log_to, name, "stderr", err);
	if (value[0] != '/') {
		onionshim_errf(err, "%s: \"%s\" is not syslog, stderr or an absolute path",
			       name, quote_str(value, &q));
		return -EINVAL;
	}
	return set_path(&cfg->log_to, name, value, err);
}

/* ------------------------------------------------------------------ */
/* The settings                                                       */
/* ------------------------------------------------------------------ */

/* One list, so that the names and their parsers cannot drift apart. */
#define CONFIG_SETTINGS(X) \
	X(socks_server) \
	X(onion_map) \
	X(route) \
	X(allow_inbound) \
	X(allow_localhost) \
	X(isolation) \
	X(connect_timeout) \
	X(fake_network) \
	X(fake_network6) \
	X(log_level) \
	X(log_to)

struct config_setting {
	const char *name;
	int (*set)(struct onionshim_config *, const char *, const char *,
		   struct onionshim_errbuf *);
};

#define CONFIG_AS_SETTING(n) { #n, set_##n },
#define CONFIG_AS_NAME(n) #n,

static const struct config_setting settings[] = {
	CONFIG_SETTINGS(CONFIG_AS_SETTING)
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

const char *const onionshim_config_names[] = {
	CONFIG_SETTINGS(CONFIG_AS_NAME)
	NULL
};

static int
setting_index(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
onionshim_config_defaults(struct onionshim_config *cfg)
{
	static const struct in6_addr doc6 = { { { 0x20, 0x01, 0x0d, 0xb8 } } };

	memset(cfg, 0, sizeof(*cfg));
	onionshim_config_parse_sockaddr("127.0.0.1:9050", &cfg->socks[0]);
	cfg->nsocks = 1;
	memcpy(cfg->onion_map.buf, ONIONSHIM_DEFAULT_MAP, sizeof(ONIONSHIM_DEFAULT_MAP));
	cfg->route = ONIONSHIM_ROUTE_ALL;
	cfg->allow_inbound = 0;
	cfg->allow_localhost = 0;
	cfg->isolation = ONIONSHIM_ISOLATION_DESTINATION;
	cfg->connect_timeout_ms = 120 * 1000;
	cfg->fake_net.s_addr = htonl(0xf0000000);	/* 240.0.0.0 */
	cfg->fake_prefix = 5;
	cfg->fake_net6 = doc6;
	cfg->fake_prefix6 = 32;
	cfg->log_level = ONIONSHIM_LOG_NOTICE;
	memcpy(cfg->log_to.buf, "syslog", sizeof("syslog"));
}

int
onionshim_config_set(struct onionshim_config *cfg, const char *name, const char *value,
		     struct onionshim_errbuf *err)
{
	struct config_quote q;
	int i = setting_index(name);

	if (i < 0) {
		onionshim_errf(err, "unknown name \"%s\"", quote_str(name, &q));
		return -EINVAL;
	}
	return settings[i].set(cfg, name, value, err);
}

const char *
onionshim_level_name(enum onionshim_level level)
{
	const struct config_keyword *k;

	for (k = level_words; k->word != NULL; k++)
		if (k->value == (int)level)
			return k->word;
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* The text                                                           */
/* ------------------------------------------------------------------ */

/* Reading state: a cursor over the text and the logical line so far. */
struct config_reader {
	const char *p, *end;
	unsigned lineno;		/* of the physical line just read */
	const char *filename;
	struct onionshim_errbuf *err;
	struct config_line line;
	size_t used;
	unsigned start;			/* where the logical line began; 0: none */
	unsigned first[NSETTINGS];	/* line of each name's first setting */
};

/* Next physical line, without its LF or CRLF. Returns 0 at the end. */
static int
next_line(struct config_reader *r, const char **text, size_t *len)
{
	const char *nl;
	size_t n;

	if (r->p >= r->end)
		return 0;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	n = (size_t)((nl ? nl : r->end) - r->p);
	*text = r->p;
	r->p += n + (nl != NULL);
	if (n > 0 && (*text)[n - 1] == '\r')
		n--;
	*len = n;
	r->lineno++;
	return 1;
}

static int
fail(struct config_reader *r, unsigned lineno, const char *msg)
{
	onionshim_errf(r->err, "%s:%u: %s", r->filename, lineno, msg);
	return -EINVAL;
}

/* Append TEXT to the logical line, trailing blanks dropped. */
static int
append(struct config_reader *r, const char *text, size_t len)
{
	struct onionshim_errbuf e;

	while (len > 0 && is_blank(text[len - 1]))
		len--;
	if (r->used + (r->used > 0) + len >= sizeof(r->line.buf)) {
		onionshim_errf(&e, "line too long (more than %zu bytes)",
			       sizeof(r->line.buf) - 1);
		return fail(r, r->start, e.buf);
	}
	if (r->used > 0)
		r->line.buf[r->used++] = ' ';
	memcpy(r->line.buf + r->used, text, len);
	r->used += len;
	r->line.buf[r->used] = '\0';
	return 0;
}

/* Split the logical line at its first '=' and apply it. */
static int
apply_line(struct config_reader *r, struct onionshim_config *cfg)
{
	char *text = r->line.buf, *eq, *name_end, *value;
	struct onionshim_errbuf e;
	struct config_quote q;
	int i;

	eq = strchr(text, '=');
	if (eq == NULL) {
		onionshim_errf(&e, "missing \"=\" in \"%s\"", quote(text, r->used, &q));
		return fail(r, r->start, e.buf);
	}
	for (name_end = eq; name_end > text && is_blank(name_end[-1]); name_end--)
		;
	*name_end = '\0';
	for (value = eq + 1; is_blank(*value); value++)
		;
	if (text[0] == '\0')
		return fail(r, r->start, "missing name before \"=\"");
	i = setting_index(text);
	if (i >= 0 && r->first[i] != 0) {
		onionshim_errf(&e, "%s given twice (first on line %u)", text, r->first[i]);
		return fail(r, r->start, e.buf);
	}
	if (onionshim_config_set(cfg, text, value, &e) < 0)
		return fail(r, r->start, e.buf);
	if (i >= 0)
		r->first[i] = r->start;
	return 0;
}

/* One physical line: skipped, continuing, or starting a logical line. */
static int
take_line(struct config_reader *r, struct onionshim_config *cfg, const char *text,
	  size_t len)
{
	size_t skip = 0;
	int rc;

	while (skip < len && is_blank(text[skip]))
		skip++;
	if (skip == len || text[skip] == '#')
		return 0;
	if (skip > 0) {
		if (r->start == 0)
			return fail(r, r->lineno, "line starts with white space, but "
				    "there is no \"name = value\" line before it to continue");
		return append(r, text + skip, len - skip);
	}
	if (r->start != 0 && (rc = apply_line(r, cfg)) < 0)
		return rc;
	r->used = 0;
	r->start = r->lineno;
	return append(r, text, len);
}

/* A NUL would silently cut a value short in every later strcmp. */
static int
check_nul(struct config_reader *r, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len), *p;
	unsigned lineno = 1;

	if (nul == NULL)
		return 0;
	for (p = text; p < nul; p++)
		lineno += (*p == '\n');
	return fail(r, lineno, "NUL byte in the text");
}

int
onionshim_config_parse(struct onionshim_config *cfg, const char *text, size_t len,
		       const char *filename, struct onionshim_errbuf *err)
{
	struct config_reader r;
	const char *line;
	size_t n;
	int rc;

	if (len == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.p = text;
	r.end = text + len;
	r.filename = filename;
	r.err = err;
	if ((rc = check_nul(&r, text, len)) < 0)
		return rc;
	while (next_line(&r, &line, &n))
		if ((rc = take_line(&r, cfg, line, n)) < 0)
			return rc;
	if (r.start != 0)
		return apply_line(&r, cfg);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The file                                                           */
/* ------------------------------------------------------------------ */

static int
fail_errno(struct onionshim_errbuf *err, const char *path, const char *what, int e)
{
	char tmp[128];

	onionshim_errf(err, "%s: %s%s", path, what, strerror_r(e, tmp, sizeof(tmp)));
	return -e;
}

/*
 * Open without blocking: a FIFO put where the config belongs would hang
 * the MTA's constructor until a writer came. O_NONBLOCK means nothing to
 * the regular file that is all we read.
 */
static int
open_config(const char *path)
{
	int fd;

	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static int
check_file(int fd, const char *path, struct onionshim_errbuf *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail_errno(err, path, "fstat: ", errno);
	if (S_ISDIR(st.st_mode))
		return fail_errno(err, path, "", EISDIR);
	if (!S_ISREG(st.st_mode)) {
		onionshim_errf(err, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size <= ONIONSHIM_CONF_MAX)
		return 0;
	onionshim_errf(err, "%s: %lld bytes, more than the %d a config file may have",
		       path, (long long)st.st_size, ONIONSHIM_CONF_MAX);
	return -EFBIG;
}

/*
 * Read to EOF, not to st_size: the file may change under us. One byte of
 * room past the limit tells a file that grew too big from one that fits.
 */
static ssize_t
read_all(int fd, char *buf, size_t size, const char *path, struct onionshim_errbuf *err)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_errno(err, path, "read: ", errno);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > ONIONSHIM_CONF_MAX) {
		onionshim_errf(err, "%s: more than the %d bytes a config file may have",
			       path, ONIONSHIM_CONF_MAX);
		return -EFBIG;
	}
	return (ssize_t)got;
}

/*
 * The text goes into an anonymous private mapping: 64 KiB is too much
 * stack in someone else's thread, malloc may be the host's own allocator
 * (and we run in its constructor), and mapping the file itself would turn
 * a file truncated under us into SIGBUS in the MTA.
 */
static int
load_fd(struct onionshim_config *cfg, int fd, const char *path,
	struct onionshim_errbuf *err)
{
	size_t size = ONIONSHIM_CONF_MAX + 1;
	ssize_t len;
	char *buf;
	int rc;

	if ((rc = check_file(fd, path, err)) < 0)
		return rc;
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail_errno(err, path, "mmap: ", errno);
	len = read_all(fd, buf, size, path, err);
	if (len >= 0)
		rc = onionshim_config_parse(cfg, buf, (size_t)len, path, err);
	else
		rc = (int)len;
	munmap(buf, size);
	return rc;
}

int
onionshim_config_load(struct onionshim_config *cfg, const char *path, int missing_ok,
		      struct onionshim_errbuf *err)
{
	int fd, rc;

	onionshim_config_defaults(cfg);
	fd = open_config(path);
	if (fd == -ENOENT && missing_ok)
		return 0;
	if (fd < 0)
		return fail_errno(err, path, "", -fd);
	rc = load_fd(cfg, fd, path, err);
	close(fd);
	return rc;
}
