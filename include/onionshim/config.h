/*
 * config - onionshim.conf(5): parse Postfix-style "name = value" text into a
 * struct onionshim_config.
 *
 * Syntax (as main.cf): "name = value"; blank lines and lines whose first
 * non-blank character is '#' are ignored; a line that starts with white
 * space continues the previous logical line (joined with one space).
 * Unknown names, repeated names and bad values are errors; the error text
 * names the file and the line ("FILE:LINE: ...").
 *
 * Pure except onionshim_config_load, which reads one file (into an
 * anonymous mapping, unmapped before it returns). No malloc.
 */
#ifndef ONIONSHIM_CONFIG_H
#define ONIONSHIM_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "onionshim/util.h"

#define ONIONSHIM_DEFAULT_CONF "/etc/onionshim/onionshim.conf"
#define ONIONSHIM_DEFAULT_MAP "/etc/onionshim/onion_map"
#define ONIONSHIM_MAX_SOCKS 8
/* A config file larger than this is an error (it is a handful of lines). */
#define ONIONSHIM_CONF_MAX (64 * 1024)

enum onionshim_route {
	ONIONSHIM_ROUTE_ALL = 0,	/* every inet TCP connect through Tor */
	ONIONSHIM_ROUTE_ONION,		/* only onion and mapped names */
};

enum onionshim_isolation {
	ONIONSHIM_ISOLATION_DESTINATION = 0,
	ONIONSHIM_ISOLATION_NONE,
};

/* syslog severities, so that they can go straight into a PRI field */
enum onionshim_level {
	ONIONSHIM_LOG_ERROR = 3,
	ONIONSHIM_LOG_WARNING = 4,
	ONIONSHIM_LOG_NOTICE = 5,
	ONIONSHIM_LOG_INFO = 6,
	ONIONSHIM_LOG_DEBUG = 7,
};

struct onionshim_path {
	char buf[PATH_MAX];
};

/* A socket address with its length; the text it came from, for logs. */
struct onionshim_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];		/* "127.0.0.1:9050" or "[::1]:9050" */
};

struct onionshim_config {
	struct onionshim_sockaddr socks[ONIONSHIM_MAX_SOCKS];
	size_t nsocks;
	struct onionshim_path onion_map;	/* empty string: no map */
	enum onionshim_route route;
	int allow_inbound;			/* 0 or 1 */
	int allow_localhost;			/* 0 or 1 */
	enum onionshim_isolation isolation;
	unsigned connect_timeout_ms;		/* > 0 */
	struct in_addr fake_net;		/* network byte order, host bits 0 */
	unsigned fake_prefix;			/* 1..24 */
	struct in6_addr fake_net6;		/* host bits 0 */
	unsigned fake_prefix6;			/* 1..120 */
	enum onionshim_level log_level;
	struct onionshim_path log_to;		/* "syslog", "stderr" or /abs/path */
};

/* onionshim_config_defaults - fill CFG with the documented defaults. */
void onionshim_config_defaults(struct onionshim_config *cfg);

/*
 * onionshim_config_parse - parse TEXT (LEN bytes, need not be
 * NUL-terminated) on top of what CFG holds (call _defaults first). FILENAME
 * is used in error messages only. Returns 0, or -EINVAL with ERR set to
 * "FILENAME:LINE: what is wrong"; CFG is then partly updated and must not
 * be used.
 */
int onionshim_config_parse(struct onionshim_config *cfg, const char *text, size_t len,
			   const char *filename, struct onionshim_errbuf *err);

/*
 * onionshim_config_set - apply one setting NAME = VALUE (both NUL-terminated,
 * VALUE already stripped), as the parser and the environment overrides do.
 * Returns 0, or -EINVAL (unknown name or bad value) with ERR set to the
 * reason without a file or line; CFG is then unchanged.
 */
int onionshim_config_set(struct onionshim_config *cfg, const char *name, const char *value,
			 struct onionshim_errbuf *err);

/*
 * onionshim_config_load - defaults, then the file at PATH. A missing file is
 * an error (-ENOENT) except when MISSING_OK is set (then CFG holds the
 * defaults and 0 is returned). Returns 0 or -errno with ERR set.
 */
int onionshim_config_load(struct onionshim_config *cfg, const char *path, int missing_ok,
			  struct onionshim_errbuf *err);

/*
 * onionshim_config_parse_sockaddr - parse "host:port" or "[v6]:port" where
 * host is a numeric IPv4 or IPv6 address ("[v4]:port" and "localhost:port",
 * taken as 127.0.0.1 without a lookup, are accepted too). Returns 0 or
 * -EINVAL.
 */
int onionshim_config_parse_sockaddr(const char *text, struct onionshim_sockaddr *out);

/* onionshim_level_name - "error", "warning", ... for LEVEL. */
const char *onionshim_level_name(enum onionshim_level level);

/*
 * onionshim_config_names - the NULL-terminated list of every setting name,
 * for onionshim --show and the man-page test.
 */
extern const char *const onionshim_config_names[];

#endif
