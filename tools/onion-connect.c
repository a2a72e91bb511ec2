/*
 * NAME
 *	onion-connect - see a route to a mail server through Tor work, or
 *	find out why it does not
 * SYNOPSIS
 *	onion-connect [-c CONF] [-p PORT] [-t SECONDS] [--ehlo NAME] [--json]
 *		DESTINATION
 *	onion-connect --check [-c CONF] [-t SECONDS] [--json]
 *	onion-connect --all [-c CONF] [-p PORT] [-t SECONDS] [--ehlo NAME]
 *		[--json]
 * DESCRIPTION
 *	Takes every decision with the library's own code (config, map,
 *	shim's resolve and connect plan, socks5_io's exchange), so what it
 *	shows is what an MTA under the library would meet: the route, the
 *	SOCKS servers tried, Tor's reply with its code and meaning, the time
 *	of each phase, the SMTP banner and, with --ehlo, the EHLO reply; then
 *	QUIT.
 *
 *	A name that is neither an onion nor mapped, under route = all, is
 *	resolved through Tor (SOCKS RESOLVE) and then connected by address,
 *	as the library does for getaddrinfo() followed by connect(); under
 *	route = onion the library leaves it alone, so there is no Tor route
 *	to test.
 *
 *	The library's log lines are discarded (the sink is /dev/null): the
 *	tool says everything itself, on stdout, and ends a failure with one
 *	line on stderr that says what to do. --json prints one object on
 *	stdout instead, and nothing on stderr past argument checking.
 * EXIT STATUS
 *	0 the server answered 2xx (--all: every destination did; --check:
 *	no problem found); 1 a route or Tor failure (--check: a SOCKS server
 *	that does not work); 2 a usage or config error; 3 the SMTP server
 *	answered, but not 2xx.
 * NEVER
 *	parses the config or the map, or speaks SOCKS5, with code of its own;
 *	connects anywhere but to the SOCKS servers; sends anything to the
 *	mail server but EHLO and QUIT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "onionshim/config.h"
#include "onionshim/map.h"
#include "onionshim/onion.h"
#include "onionshim/shim.h"
#include "onionshim/socks5.h"
#include "onionshim/socks5_io.h"

#define PROG "onion-connect"

enum {
	EXIT_REACHED = 0,	/* the server answered 2xx */
	EXIT_ROUTE = 1,		/* route or Tor failure */
	EXIT_USAGE = 2,		/* usage or config error */
	EXIT_SMTP = 3,		/* the SMTP server answered, but not 2xx */
};

/*
 * The --check probe: v3-shaped (56 base32 characters, version 3) with a
 * wrong checksum. Tor with ExtendedErrors refuses it with 0xF6 (invalid
 * onion address); without, with a vague 0x01 or 0x04. Nothing leaves
 * the host: Tor refuses it before any circuit.
 */
static const char probe_onion[] =
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad.onion";

/* Prefix that makes a ".parent" map key a name that map_lookup takes. */
static const char subdomain_probe[] = "_onion-connect.";

struct opts {
	const char *conf;		/* -c, or NULL */
	const char *timeout;		/* -t, or NULL: connect_timeout */
	const char *ehlo;		/* --ehlo NAME, or NULL */
	uint16_t port;
	int port_given;
	int json, check, all;
	const char *dest;
};

/* One problem the map reported, with its line. */
struct report {
	int level;
	unsigned line;
	char msg[512];
};

struct reports {
	struct report *r;
	size_t n, cap;
};

struct run {
	struct opts o;
	struct onionshim_ctx *ctx;	/* large: allocated */
	const char *conf_path;
	int conf_missing;		/* the default file is absent: defaults */
	struct reports reps;
	int quiet;			/* --all: no step lines */
};

/* An SMTP reply as read, for the steps and the JSON. */
struct smtp_reply {
	int code;			/* 0: no complete reply */
	int err;			/* 0, -ETIMEDOUT, -ENODATA (closed), -EBADMSG... */
	unsigned nlines;
	unsigned ms;
	char text[4096];		/* lines without CRLF, joined by '\n' */
};

/* Everything one probe found out. */
struct probe {
	const char *dest;
	/* the route */
	const char *decision;		/* map, onion, tor-resolve, address, ... */
	char route[768];
	int route_shown;
	unsigned map_line;
	struct onionshim_onion onion;	/* empty when not an onion route */
	uint16_t port;
	struct onionshim_socks5_addr dst;
	char user[300];
	int isolate;
	/* route = all: the lookup through Tor */
	int resolved;
	int resolve_rep;
	unsigned resolve_ms;
	char address[64];
	/* the SOCKS exchange */
	int connected;			/* the exchange ran */
	int rc;
	struct onionshim_socks5_trace tr;
	/* SMTP */
	struct smtp_reply banner, ehlo, quit;
	unsigned ms_total;
	int exit;
	char error[1024];
};

/* ---- output ------------------------------------------------------------ */

static void
usage_line(FILE *f)
{
	fprintf(f,
		"usage: %s [-c CONF] [-p PORT] [-t SECONDS] [--ehlo NAME] [--json] DESTINATION\n"
		"       %s --check [-c CONF] [-t SECONDS] [--json]\n"
		"       %s --all [-c CONF] [-p PORT] [-t SECONDS] [--ehlo NAME] [--json]\n",
		PROG, PROG, PROG);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see %s --help or onion-connect(1)\n", PROG);
	exit(EXIT_USAGE);
}

/* step - one line of the step-by-step report: a label, then the text. */
static void __attribute__((format(printf, 3, 4)))
step(const struct run *r, const char *label, const char *fmt, ...)
{
	va_list ap;

	if (r->o.json || r->quiet)
		return;
	printf("%-8s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 2, 3)))
set_error(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

/* A server's text goes to a terminal: no control bytes get through. */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* ---- JSON ------------------------------------------------------------- */

/* A writer that places the commas; one object on one line. */
struct jw {
	FILE *f;
	int depth;
	int count[16];
};

static void
jw_sep(struct jw *w, const char *key)
{
	if (w->count[w->depth]++ > 0)
		fputc(',', w->f);
	if (key != NULL)
		fprintf(w->f, "\"%s\":", key);
}

/* utf8_len - length of a valid UTF-8 sequence at S, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Strings come from servers too: escape controls, keep JSON valid UTF-8. */
static void
jw_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', f);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fputs("\\ufffd", f);
			p++;
		}
	}
	fputc('"', f);
}

static void
jw_open(struct jw *w, const char *key, char c)
{
	if (w->depth > 0 || w->count[0] > 0)
		jw_sep(w, key);
	fputc(c, w->f);
	w->count[++w->depth] = 0;
}

static void
jw_close(struct jw *w, char c)
{
	fputc(c, w->f);
	w->depth--;
	if (w->depth == 0)
		fputc('\n', w->f);
}

static void
jw_str(struct jw *w, const char *key, const char *v)
{
	jw_sep(w, key);
	if (v == NULL)
		fputs("null", w->f);
	else
		jw_string(w->f, v);
}

static void
jw_num(struct jw *w, const char *key, long v)
{
	jw_sep(w, key);
	fprintf(w->f, "%ld", v);
}

static void
jw_null(struct jw *w, const char *key)
{
	jw_sep(w, key);
	fputs("null", w->f);
}

static void
jw_bool(struct jw *w, const char *key, int v)
{
	jw_sep(w, key);
	fputs(v ? "true" : "false", w->f);
}

/* ---- loading the config and the map ----------------------------------- */

static void
collect_report(void *arg, int level, const char *file, unsigned line, const char *msg)
{
	struct reports *reps = arg;
	struct report *n;

	(void)file;
	if (reps->n == reps->cap) {
		size_t cap = reps->cap ? reps->cap * 2 : 16;

		n = realloc(reps->r, cap * sizeof(*n));
		if (n == NULL)
			return;	/* a report fewer; the counts still say it */
		reps->r = n;
		reps->cap = cap;
	}
	n = &reps->r[reps->n++];
	n->level = level;
	n->line = line;
	snprintf(n->msg, sizeof(n->msg), "%s", msg);
}

static const char *
level_word(int level)
{
	if (level <= ONIONSHIM_LOG_ERROR)
		return "error";
	if (level == ONIONSHIM_LOG_WARNING)
		return "warning";
	return "note";
}

/*
 * load - the config and the map, as the library loads them. Returns 0,
 * or EXIT_USAGE with MSG set to one line that says what to do.
 */
static int
load(struct run *r, char *msg, size_t msglen)
{
	struct onionshim_config probe_cfg;
	struct onionshim_errbuf err = { "" };
	const char *path = r->o.conf;
	int missing_ok = 0, rc;

	if (path == NULL)
		path = secure_getenv("ONIONSHIM_CONF");
	if (path == NULL || *path == '\0') {
		path = ONIONSHIM_DEFAULT_CONF;
		missing_ok = 1;
	}
	r->conf_path = path;
	if (missing_ok && access(path, F_OK) != 0)
		r->conf_missing = 1;
	/* the config alone first, so that a map problem is told apart */
	rc = onionshim_config_load(&probe_cfg, path, missing_ok, &err);
	if (rc == -ENOENT) {
		snprintf(msg, msglen, "%s; name an existing onionshim.conf with -c", err.buf);
		return EXIT_USAGE;
	}
	if (rc < 0) {
		snprintf(msg, msglen, "%s; fix it (onionshim.conf(5)) or name another file "
			 "with -c", err.buf);
		return EXIT_USAGE;
	}
	/* the library's own log lines would repeat what this tool says */
	rc = onionshim_shim_load(r->ctx, path, missing_ok, "/dev/null", "error");
	if (rc < 0) {
		snprintf(msg, msglen, "%s; create it, or set onion_map in %s", r->ctx->why.buf,
			 path);
		return EXIT_USAGE;
	}
	if (r->o.timeout != NULL &&
	    onionshim_config_set(&r->ctx->cfg, "connect_timeout", r->o.timeout, &err) < 0) {
		snprintf(msg, msglen, "-t %s: %s", r->o.timeout, err.buf);
		return EXIT_USAGE;
	}
	if (r->ctx->have_map) {
		/* map_init only recorded the text: the reports come at the build */
		r->ctx->map.report = collect_report;
		r->ctx->map.report_ctx = &r->reps;
		if (onionshim_map_build(&r->ctx->map) < 0) {
			snprintf(msg, msglen, "onion_map %s: out of memory while indexing it",
				 r->ctx->cfg.onion_map.buf);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static const char *
map_path(const struct run *r)
{
	return r->ctx->cfg.onion_map.buf[0] ? r->ctx->cfg.onion_map.buf : NULL;
}

/* ---- explaining Tor's replies ------------------------------------------ */

/* What a postmaster can do about a reply code. */
static const char *
reply_hint(int rep)
{
	switch (rep) {
	case 0x01:
		return "Tor says no more without ExtendedErrors on its SocksPort "
		       "(onion-connect --check tells whether it is on)";
	case 0x02:
		return "Tor's exit policy forbids this connection";
	case 0x03:
		return "Tor has no usable network: is it bootstrapped?";
	case 0x04:
		return "Tor could not reach the destination";
	case 0x05:
		return "the destination refused the connection";
	case 0x06:
		return "the connection timed out inside Tor";
	case 0xF0:
		return "the onion service is not published: it is down, not yet "
		       "published, or the address is wrong";
	case 0xF1:
		return "the onion service published a descriptor Tor cannot use";
	case 0xF2:
		return "the onion service did not accept the introduction: it is "
		       "overloaded or going away";
	case 0xF3:
		return "the rendezvous failed: try again; if it persists the service "
		       "side is at fault";
	case 0xF4:
		return "the onion service requires client authorization "
		       "(ClientOnionAuthDir in torrc)";
	case 0xF5:
		return "the onion service rejected the client authorization key";
	case 0xF6:
		return "the address is not a valid onion address";
	case 0xF7:
		return "the introduction timed out: the service is slow or unreachable";
	default:
		return "see Tor's log";
	}
}

/* ---- the route ---------------------------------------------------------- */

static void
dst_name(struct onionshim_socks5_addr *dst, const char *name, uint16_t port)
{
	memset(dst, 0, sizeof(*dst));
	dst->atyp = ONIONSHIM_SOCKS5_ATYP_NAME;
	snprintf(dst->name, sizeof(dst->name), "%s", name);
	dst->namelen = (uint8_t)strlen(dst->name);
	dst->port = port;
}

/*
 * map_problems - the reports that name KEY or one of its ".parent" keys:
 * why the map defers a name. Written into OUT as "line N: text; ...".
 */
static void
map_problems(const struct run *r, const char *name, char *out, size_t outlen)
{
	struct onionshim_name norm;
	size_t used = 0, i;
	int n = onionshim_name_norm(name, strlen(name), &norm), k;

	out[0] = '\0';
	if (n < 0)
		return;
	for (i = 0; i < r->reps.n && used + 1 < outlen; i++) {
		const struct report *rp = &r->reps.r[i];
		const char *hit = NULL;

		if (rp->level > ONIONSHIM_LOG_ERROR)
			continue;
		/* the exact name, or a ".parent" key that covers it */
		for (k = 0; k < n && hit == NULL; k++)
			if (k == 0 || norm.buf[k] == '.')
				hit = strstr(rp->msg, norm.buf + k);
		if (hit == NULL)
			continue;
		used += (size_t)snprintf(out + used, outlen - used, "%sline %u: %s",
					 used ? "; " : "", rp->line, rp->msg);
	}
}

/*
 * plan_for - ask the library's connect policy about SA, as connect()
 * would: the SOCKS request and isolation username come from there.
 * Returns 0 with P->dst set, or EXIT_ROUTE with P->error set.
 */
static int
plan_for(struct run *r, struct probe *p, const struct sockaddr *sa, socklen_t len)
{
	struct onionshim_plan plan;
	char text[96];
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		set_error(p, "socket: %s", strerror(errno));
		return EXIT_ROUTE;
	}
	onionshim_shim_connect_plan(r->ctx, fd, sa, len, &plan);
	close(fd);
	onionshim_sockaddr_text(sa, text, sizeof(text));
	switch (plan.verdict) {
	case ONIONSHIM_PROXY_NAME:
	case ONIONSHIM_PROXY_ADDR:
		break;
	case ONIONSHIM_PASS:
		set_error(p, "the library lets a connect to %s go directly, not through Tor "
			  "(allow_localhost = yes, or a SOCKS server itself); there is no Tor "
			  "route to test", text);
		return EXIT_ROUTE;
	default:
		set_error(p, "the library refuses a connect to %s (%s): %s", text,
			  strerrorname_np(plan.err) ? strerrorname_np(plan.err) : "?",
			  plan.err == EPERM ? "a loopback address, and allow_localhost = no" :
			  "an address in fake_network that is no destination");
		return EXIT_ROUTE;
	}
	p->dst = plan.dst;
	p->port = plan.dst.port;
	if (plan.verdict == ONIONSHIM_PROXY_NAME)
		snprintf(p->user, sizeof(p->user), "%s", plan.dst.name);
	else
		snprintf(p->user, sizeof(p->user), "%s", text);
	p->isolate = r->ctx->cfg.isolation == ONIONSHIM_ISOLATION_DESTINATION;
	return 0;
}

/* route_fake - a diverted name: connect to its fake address, as the MTA would. */
static int
route_fake(struct run *r, struct probe *p, const char *name)
{
	struct onionshim_target t;
	struct sockaddr_storage ss;
	socklen_t len;

	if (onionshim_shim_resolve(r->ctx, name, &t) < 0 || t.kind == ONIONSHIM_NAME_OTHER) {
		set_error(p, "the library defers %s: its fake address collides with another "
			  "destination, or too many onions are outside onion_map; list the "
			  "onion in onion_map", name);
		return EXIT_ROUTE;
	}
	len = onionshim_shim_fake_sockaddr(r->ctx, t.slot, AF_INET, r->o.port, &ss);
	return plan_for(r, p, (struct sockaddr *)&ss, len);
}

struct onion_search {
	const char *onion;
	const struct onionshim_map_dest *found;
};

static void
onion_search_fn(void *arg, const char *domain, unsigned line, const struct onionshim_map_dest *d)
{
	struct onion_search *os = arg;

	(void)domain;
	(void)line;
	if (os->found == NULL && strcmp(d->onion.buf, os->onion) == 0)
		os->found = d;
}

/* with_a_port - a map destination of ONION with a port, or NULL. */
static const struct onionshim_map_dest *
with_a_port(struct run *r, const char *onion)
{
	struct onion_search os = { onion, NULL };

	onionshim_map_foreach(&r->ctx->map, onion_search_fn, &os);
	return os.found;
}

static int
route_onion(struct run *r, struct probe *p, const char *name)
{
	const struct onionshim_map_dest *d = NULL;
	enum onionshim_onion_status st;
	int rc;

	st = onionshim_onion_check(name, strlen(name), &p->onion);
	if (st != ONIONSHIM_ONION_OK) {
		p->decision = "deferred";
		snprintf(p->route, sizeof(p->route), "%s -> deferred: not a valid v3 onion "
			 "address (%s)", name, onionshim_onion_strerror(st));
		set_error(p, "%s is not a valid v3 onion address (%s); the library defers it "
			  "and never asks DNS; check the address", name,
			  onionshim_onion_strerror(st));
		return EXIT_USAGE;
	}
	if ((rc = route_fake(r, p, name)) != 0)
		return rc;
	if (r->ctx->have_map)
		d = onionshim_map_by_onion(&r->ctx->map, p->onion.buf, 0);
	p->decision = "onion";
	if (d == NULL && r->ctx->have_map)
		d = with_a_port(r, p->onion.buf);
	if (d != NULL && d->port == 0) {
		p->map_line = d->line;
		snprintf(p->route, sizeof(p->route), "%s -> onion (listed in onion_map line %u) "
			 "-> %s:%u", name, d->line, p->dst.name, p->port);
	} else if (d != NULL) {
		snprintf(p->route, sizeof(p->route), "%s -> onion (in onion_map only with port %u, "
			 "line %u: the onion by its name is another destination, with a fake "
			 "address of its own) -> %s:%u", name, d->port, d->line, p->dst.name,
			 p->port);
	} else {
		snprintf(p->route, sizeof(p->route), "%s -> onion (not in onion_map: its fake "
			 "address is known only to the process that looked it up; list every "
			 "onion destination in onion_map) -> %s:%u", name, p->dst.name, p->port);
	}
	return 0;
}

static int
route_mapped(struct run *r, struct probe *p, const char *name,
	     const struct onionshim_map_hit *hit)
{
	enum onionshim_onion_status st;
	char keyinfo[300] = "";
	int rc;

	p->onion = hit->dest->onion;
	p->map_line = hit->line;
	st = onionshim_map_dest_check(hit->dest);
	if (st != ONIONSHIM_ONION_OK) {
		p->decision = "deferred";
		snprintf(p->route, sizeof(p->route), "%s -> map (onion_map line %u) -> %s: not a "
			 "valid v3 onion address (%s)", name, hit->line, hit->dest->onion.buf,
			 onionshim_onion_strerror(st));
		set_error(p, "%s:%u: %s is not a valid v3 onion address (%s); mail for %s is "
			  "deferred until the entry is fixed", map_path(r), hit->line,
			  hit->dest->onion.buf, onionshim_onion_strerror(st), name);
		return EXIT_USAGE;
	}
	if ((rc = route_fake(r, p, name)) != 0)
		return rc;
	if (hit->subdomain)
		snprintf(keyinfo, sizeof(keyinfo), ", a subdomain entry");
	p->decision = "map";
	snprintf(p->route, sizeof(p->route), "%s -> map (onion_map line %u%s) -> %s:%u", name,
		 hit->line, keyinfo, p->dst.name, p->port);
	if (hit->dest->port && r->o.port_given && hit->dest->port != r->o.port)
		snprintf(p->route + strlen(p->route), sizeof(p->route) - strlen(p->route),
			 " (onion_map's port replaces -p %u)", r->o.port);
	return 0;
}

/* resolve_through_tor - route = all: what getaddrinfo() under the library does. */
static int
resolve_through_tor(struct run *r, struct probe *p, const char *name,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct onionshim_socks5_addr q;
	struct onionshim_socks5_reply reply;
	struct onionshim_socks5_trace tr;
	int rc;

	dst_name(&q, name, 0);
	rc = onionshim_socks5_query(&r->ctx->cfg, ONIONSHIM_SOCKS5_RESOLVE, &q,
				    r->ctx->cfg.isolation == ONIONSHIM_ISOLATION_DESTINATION ?
				    name : NULL, &reply, &tr);
	p->resolve_rep = tr.rep;
	p->resolve_ms = tr.ms_total;
	memset(ss, 0, sizeof(*ss));
	if (rc == 0 && reply.bound.atyp == ONIONSHIM_SOCKS5_ATYP_IPV4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(r->o.port);
		memcpy(&s4->sin_addr, reply.bound.ip, 4);
		*len = sizeof(*s4);
	} else if (rc == 0 && reply.bound.atyp == ONIONSHIM_SOCKS5_ATYP_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(r->o.port);
		memcpy(&s6->sin6_addr, reply.bound.ip, 16);
		*len = sizeof(*s6);
	} else {
		if (tr.rep > 0)
			set_error(p, "Tor could not resolve %s: reply 0x%02X (%s); the library "
				  "defers mail for it (EAI_AGAIN)", name, tr.rep,
				  onionshim_socks5_strreply((uint8_t)tr.rep));
		else if (rc == 0)
			set_error(p, "Tor resolved %s to no address", name);
		else
			set_error(p, "resolving %s through Tor failed: %s", name,
				  tr.why.buf[0] ? tr.why.buf : strerror(-rc));
		step(r, "resolve", "%s -> failed after %u ms", name, tr.ms_total);
		return EXIT_ROUTE;
	}
	p->resolved = 1;
	onionshim_sockaddr_text((struct sockaddr *)ss, p->address, sizeof(p->address));
	step(r, "resolve", "%s -> %s through Tor (RESOLVE via %s, %u ms)", name, p->address,
	     r->ctx->cfg.socks[tr.server].text, tr.ms_total);
	return 0;
}

static void
show_route(const struct run *r, struct probe *p)
{
	if (p->route[0] && !p->route_shown)
		step(r, "route", "%s", p->route);
	p->route_shown = 1;
}

/* numeric_sockaddr - NAME as an inet address with the probe's port. */
static int
numeric_sockaddr(const char *name, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, name, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, name, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int
route_other(struct run *r, struct probe *p, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int numeric = onionshim_name_is_numeric(name), rc;

	if (r->ctx->cfg.route == ONIONSHIM_ROUTE_ONION) {
		p->decision = "not-routed";
		snprintf(p->route, sizeof(p->route), "%s -> not in onion_map; route = onion: the "
			 "library leaves it alone (a direct connection, not through Tor)", name);
		set_error(p, "%s is not in onion_map and route = onion, so mail to it does not "
			  "go through Tor; add it to onion_map to send it to an onion", name);
		return EXIT_ROUTE;
	}
	if (numeric) {
		if (numeric_sockaddr(name, r->o.port, &ss, &len) < 0) {
			set_error(p, "%s is not a valid address or name", name);
			return EXIT_USAGE;
		}
		p->decision = "address";
		snprintf(p->route, sizeof(p->route), "%s -> route = all: CONNECT by address "
			 "through Tor", name);
	} else {
		p->decision = "tor-resolve";
		snprintf(p->route, sizeof(p->route), "%s -> not in onion_map; route = all: "
			 "resolved through Tor (SOCKS RESOLVE), then CONNECT by address", name);
		show_route(r, p);
		if ((rc = resolve_through_tor(r, p, name, &ss, &len)) != 0)
			return rc;
	}
	return plan_for(r, p, (struct sockaddr *)&ss, len);
}

/*
 * decide - the route for NAME, with the library's map and policy.
 * Returns 0 with P's route set, or an exit status with P->error set.
 */
static int
decide(struct run *r, struct probe *p, const char *name)
{
	struct onionshim_map_hit hit;
	struct onionshim_name norm;
	char why[900];
	int rc = -ENOENT, st;

	p->port = r->o.port;
	if (!onionshim_name_is_numeric(name) &&
	    onionshim_name_norm(name, strlen(name), &norm) < 0) {
		set_error(p, "\"%s\" is not a valid domain name, onion or address", name);
		return EXIT_USAGE;
	}
	if (onionshim_onion_is_onion_name(name, strlen(name))) {
		st = route_onion(r, p, name);
	} else {
		if (r->ctx->have_map && !onionshim_name_is_numeric(name))
			rc = onionshim_map_lookup(&r->ctx->map, name, strlen(name), &hit);
		if (rc == -ENOENT) {
			st = route_other(r, p, name);
		} else if (rc == 0) {
			st = route_mapped(r, p, name, &hit);
		} else {
			map_problems(r, name, why, sizeof(why));
			p->decision = "deferred";
			snprintf(p->route, sizeof(p->route), "%s -> map: deferred, its onion_map "
				 "entry is bad", name);
			set_error(p, "onion_map %s defers %s: %s; fix the entry (onion-connect "
				  "--check lists every problem)", map_path(r), name,
				  why[0] ? why : "a bad or conflicting entry");
			st = EXIT_USAGE;
		}
	}
	show_route(r, p);
	return st;
}

/* ---- SMTP ---------------------------------------------------------------- */

struct smtp_conn {
	int fd;
	char buf[4096];
	size_t have;
};

/* read_line - one line without CRLF into LINE. 0 or -errno (-ENODATA: closed). */
static int
read_line(struct smtp_conn *c, char *line, size_t linelen, uint64_t deadline_ns)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;

		if (nl != NULL) {
			size_t len = (size_t)(nl - c->buf), keep;

			keep = len > 0 && c->buf[len - 1] == '\r' ? len - 1 : len;
			if (keep >= linelen)
				keep = linelen - 1;
			memcpy(line, c->buf, keep);
			line[keep] = '\0';
			memmove(c->buf, nl + 1, c->have - len - 1);
			c->have -= len + 1;
			return 0;
		}
		if (c->have == sizeof(c->buf))
			return -EMSGSIZE;	/* no SMTP line is this long */
		now = onionshim_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)((deadline_ns - now + 999999u) / 1000000u));
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
		if (n == 0)
			return -ENODATA;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0)
			c->have += (size_t)n;
	}
}

/* reply_code - the code of an SMTP reply line, or -1; *MORE for "NNN-". */
static int
reply_code(const char *line, int *more)
{
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	if (line[3] != '\0' && line[3] != ' ' && line[3] != '-')
		return -1;
	*more = line[3] == '-';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static void
append_line(struct smtp_reply *rp, const char *line)
{
	size_t used = strlen(rp->text);

	snprintf(rp->text + used, sizeof(rp->text) - used, "%s%s", used ? "\n" : "", line);
	rp->nlines++;
}

/* read_reply - a whole (multi-line) reply within TIMEOUT_MS. */
static void
read_reply(struct smtp_conn *c, struct smtp_reply *rp, unsigned timeout_ms)
{
	uint64_t start = onionshim_now_ns();
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000u;
	char line[1024];
	int code, first = -1, more = 1;

	memset(rp, 0, sizeof(*rp));
	while (more) {
		rp->err = read_line(c, line, sizeof(line), deadline);
		if (rp->err < 0)
			break;
		sanitize(line);
		append_line(rp, line);
		code = reply_code(line, &more);
		if (code < 0 || (first >= 0 && code != first) || rp->nlines > 200) {
			rp->err = -EBADMSG;
			break;
		}
		first = code;
	}
	if (rp->err == -EMSGSIZE)
		rp->err = -EBADMSG;
	if (rp->err == 0)
		rp->code = first;
	rp->ms = onionshim_ms_since(start);
}

static int
send_line(int fd, const char *text, unsigned timeout_ms)
{
	uint64_t deadline = onionshim_now_ns() + (uint64_t)timeout_ms * 1000000u;
	size_t len = strlen(text), off = 0;

	while (off < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		uint64_t now;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		now = onionshim_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* show_reply - an SMTP reply as steps: the label on its first line. */
static void
show_reply(const struct run *r, const char *label, const struct smtp_reply *rp)
{
	const char *p = rp->text, *nl;
	int first = 1;

	while (*p) {
		nl = strchr(p, '\n');
		step(r, first ? label : "", "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
		first = 0;
		p = nl ? nl + 1 : p + strlen(p);
	}
}

static const char *
reply_failure(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "no answer in time";
	case -ENODATA:
		return "the connection closed";
	case -EBADMSG:
		return "not an SMTP reply";
	default:
		return strerror(-err);
	}
}

/* talk - banner, EHLO if asked, QUIT. Returns the exit status. */
static int
talk(struct run *r, struct probe *p, int fd)
{
	unsigned timeout_ms = r->ctx->cfg.connect_timeout_ms;
	struct smtp_conn c = { .fd = fd };
	char cmd[300];
	int status = EXIT_REACHED;

	read_reply(&c, &p->banner, timeout_ms);
	show_reply(r, "banner", &p->banner);
	if (p->banner.nlines == 0)
		step(r, "banner", "none: %s after %u ms", reply_failure(p->banner.err),
		     p->banner.ms);
	if (p->banner.err == -ENODATA && p->banner.nlines == 0) {
		set_error(p, "the connection closed before the SMTP banner: Tor reached the "
			  "destination, but no SMTP server answered on port %u; check the "
			  "onion service's HiddenServicePort and the mail server behind it",
			  p->port);
		return EXIT_ROUTE;
	}
	if (p->banner.err == -ETIMEDOUT && p->banner.nlines == 0) {
		set_error(p, "no SMTP banner within %u ms: the server behind the route is slow "
			  "or does not speak SMTP first; try a longer -t", timeout_ms);
		return EXIT_ROUTE;
	}
	if (p->banner.err < 0) {
		set_error(p, "the banner is broken (%s); the server on port %u does not "
			  "speak SMTP as expected", reply_failure(p->banner.err), p->port);
		return EXIT_SMTP;
	}
	step(r, "time", "TCP to Tor %u ms, %s %u ms, SMTP banner %u ms", p->tr.ms_tcp,
	     p->dst.atyp == ONIONSHIM_SOCKS5_ATYP_NAME ? "onion rendezvous" : "Tor CONNECT",
	     p->tr.ms_total - p->tr.ms_tcp, p->banner.ms);
	if (p->banner.code / 100 != 2) {
		set_error(p, "the SMTP server answered %d instead of 2xx: it does not take "
			  "mail from this client now", p->banner.code);
		status = EXIT_SMTP;
	} else if (r->o.ehlo != NULL) {
		snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", r->o.ehlo);
		step(r, "send", "EHLO %s", r->o.ehlo);
		if (send_line(fd, cmd, timeout_ms) == 0)
			read_reply(&c, &p->ehlo, timeout_ms);
		else
			p->ehlo.err = -EPIPE;
		show_reply(r, "ehlo", &p->ehlo);
		if (p->ehlo.err < 0) {
			set_error(p, "no EHLO reply (%s)", reply_failure(p->ehlo.err));
			return EXIT_SMTP;
		}
		if (p->ehlo.code / 100 != 2) {
			set_error(p, "the SMTP server answered EHLO with %d", p->ehlo.code);
			status = EXIT_SMTP;
		}
	}
	step(r, "send", "QUIT");
	if (send_line(fd, "QUIT\r\n", timeout_ms) == 0) {
		read_reply(&c, &p->quit, timeout_ms);
		if (p->quit.nlines > 0)
			show_reply(r, "quit", &p->quit);
		else
			step(r, "quit", "(%s)", reply_failure(p->quit.err));
	}
	return status;
}

/* ---- the probe --------------------------------------------------------- */

/* show_failed - one step line per SOCKS server that failed before. */
static void
show_failed(const struct run *r, const char *failed)
{
	const char *p = failed, *semi;

	while (*p) {
		semi = strstr(p, "; ");
		step(r, "socks", "%.*s (failed)", semi ? (int)(semi - p) : (int)strlen(p), p);
		p = semi ? semi + 2 : p + strlen(p);
	}
}

/* connect_failure - the one-line message for a failed SOCKS exchange. */
static void
connect_failure(const struct run *r, struct probe *p)
{
	const struct onionshim_socks5_trace *tr = &p->tr;
	int err = -p->rc;

	if (tr->rep > 0) {
		set_error(p, "Tor reply 0x%02X (%s): %s; the MTA sees %s (%s) and defers the mail",
			  tr->rep, onionshim_socks5_strreply((uint8_t)tr->rep),
			  reply_hint(tr->rep), strerrorname_np(err) ? strerrorname_np(err) : "?",
			  strerror(err));
	} else if (p->rc == -ENETDOWN) {
		set_error(p, "%s: is tor running? Check socks_server in %s against the "
			  "SocksPort lines of torrc", tr->why.buf[0] ? tr->why.buf :
			  "no SOCKS server answered", r->conf_path);
	} else if (p->rc == -ETIMEDOUT) {
		set_error(p, "%s: Tor, or the destination behind it, is slow or stuck; try a "
			  "longer -t, and see Tor's log", tr->why.buf[0] ? tr->why.buf :
			  "no reply from Tor in time");
	} else if (p->rc == -EPROTO) {
		set_error(p, "%s: is socks_server a Tor SocksPort?",
			  tr->why.buf[0] ? tr->why.buf : "the SOCKS server broke the protocol");
	} else {
		set_error(p, "%s (%s)", tr->why.buf[0] ? tr->why.buf : "the SOCKS exchange failed",
			  strerror(err));
	}
}

/* exchange - the SOCKS CONNECT and the SMTP talk. Returns the exit status. */
static int
exchange(struct run *r, struct probe *p)
{
	uint64_t start = onionshim_now_ns();
	int fd, status;

	if (p->isolate)
		step(r, "", "isolation: SOCKS username %s (circuits by destination)", p->user);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_error(p, "socket: %s", strerror(errno));
		return EXIT_ROUTE;
	}
	p->connected = 1;
	p->rc = onionshim_socks5_connect_fd(&r->ctx->cfg, fd, &p->dst,
					    p->isolate ? p->user : NULL, &p->tr);
	show_failed(r, p->tr.failed.buf);
	if (p->tr.server >= 0)
		step(r, "socks", "%s (TCP to Tor: %u ms)", r->ctx->cfg.socks[p->tr.server].text,
		     p->tr.ms_tcp);
	if (p->tr.rep >= 0)
		step(r, "tor", "reply 0x%02X (%s) after %u ms%s", p->tr.rep,
		     onionshim_socks5_strreply((uint8_t)p->tr.rep), p->tr.ms_total - p->tr.ms_tcp,
		     p->dst.atyp == ONIONSHIM_SOCKS5_ATYP_NAME ?
		     " (onion rendezvous until the CONNECT reply)" : " (until the CONNECT reply)");
	if (p->rc < 0) {
		connect_failure(r, p);
		if (p->tr.rep < 0)
			step(r, "tor", "no reply: %s (after %u ms)", p->tr.why.buf[0] ?
			     p->tr.why.buf : strerror(-p->rc), p->tr.ms_total);
		close(fd);
		p->ms_total = onionshim_ms_since(start);
		return EXIT_ROUTE;
	}
	status = talk(r, p, fd);
	close(fd);
	p->ms_total = onionshim_ms_since(start);
	return status;
}

static void
json_reply(struct jw *w, const char *key, const struct smtp_reply *rp)
{
	const char *s, *nl;
	char line[1024];

	if (rp->nlines == 0 && rp->err == 0) {
		jw_null(w, key);
		return;
	}
	jw_open(w, key, '{');
	if (rp->code > 0)
		jw_num(w, "code", rp->code);
	else
		jw_null(w, "code");
	jw_open(w, "lines", '[');
	for (s = rp->text; *s; s = nl ? nl + 1 : s + strlen(s)) {
		nl = strchr(s, '\n');
		snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - s) : (int)strlen(s), s);
		jw_str(w, NULL, line);
	}
	jw_close(w, ']');
	jw_num(w, "ms", rp->ms);
	jw_str(w, "error", rp->err < 0 ? reply_failure(rp->err) : NULL);
	jw_close(w, '}');
}

static void
json_failed(struct jw *w, const char *failed)
{
	const char *p = failed, *semi, *colon;
	char item[256];

	jw_open(w, "failed", '[');
	while (*p) {
		semi = strstr(p, "; ");
		snprintf(item, sizeof(item), "%.*s", semi ? (int)(semi - p) : (int)strlen(p), p);
		colon = strstr(item, ": ");
		jw_open(w, NULL, '{');
		if (colon != NULL) {
			item[colon - item] = '\0';
			jw_str(w, "server", item);
			jw_str(w, "why", colon + 2);
		} else {
			jw_str(w, "server", item);
			jw_null(w, "why");
		}
		jw_close(w, '}');
		p = semi ? semi + 2 : p + strlen(p);
	}
	jw_close(w, ']');
}

static const char *
result_word(int status)
{
	switch (status) {
	case EXIT_REACHED:
		return "ok";
	case EXIT_ROUTE:
		return "route-failure";
	case EXIT_SMTP:
		return "smtp-not-2xx";
	default:
		return "config-error";
	}
}

/* json_probe_fields - the facts of one probe, into the open object. */
static void
json_probe_fields(const struct run *r, struct jw *w, const struct probe *p)
{
	const struct onionshim_socks5_trace *tr = &p->tr;

	jw_open(w, "route", '{');
	jw_str(w, "decision", p->decision);
	jw_str(w, "text", p->route[0] ? p->route : NULL);
	if (p->map_line)
		jw_num(w, "onion_map_line", p->map_line);
	else
		jw_null(w, "onion_map_line");
	jw_str(w, "onion", p->onion.buf[0] ? p->onion.buf : NULL);
	jw_num(w, "port", p->port);
	jw_str(w, "isolation_user", p->isolate ? p->user : NULL);
	jw_close(w, '}');
	if (p->resolved) {
		jw_open(w, "resolve", '{');
		jw_str(w, "address", p->address);
		jw_num(w, "ms", p->resolve_ms);
		jw_close(w, '}');
	} else {
		jw_null(w, "resolve");
	}
	jw_open(w, "socks", '{');
	jw_str(w, "server", p->connected && tr->server >= 0 ?
	       r->ctx->cfg.socks[tr->server].text : NULL);
	json_failed(w, p->connected ? tr->failed.buf : "");
	jw_close(w, '}');
	jw_open(w, "tor", '{');
	if (p->connected && tr->rep >= 0) {
		char hex[8];

		snprintf(hex, sizeof(hex), "0x%02X", tr->rep);
		jw_num(w, "reply", tr->rep);
		jw_str(w, "reply_hex", hex);
		jw_str(w, "meaning", onionshim_socks5_strreply((uint8_t)tr->rep));
	} else {
		jw_null(w, "reply");
		jw_null(w, "reply_hex");
		jw_null(w, "meaning");
	}
	jw_str(w, "errno", p->connected && p->rc < 0 ? strerrorname_np(-p->rc) : NULL);
	jw_close(w, '}');
	jw_open(w, "ms", '{');
	if (p->connected) {
		jw_num(w, "tcp", tr->ms_tcp);
		jw_num(w, "rendezvous", tr->ms_total - tr->ms_tcp);
	} else {
		jw_null(w, "tcp");
		jw_null(w, "rendezvous");
	}
	if (p->banner.nlines > 0)
		jw_num(w, "banner", p->banner.ms);
	else
		jw_null(w, "banner");
	jw_num(w, "total", p->ms_total);
	jw_close(w, '}');
	json_reply(w, "banner", &p->banner);
	json_reply(w, "ehlo", &p->ehlo);
	json_reply(w, "quit", &p->quit);
	jw_num(w, "exit", p->exit);
	jw_str(w, "result", result_word(p->exit));
	jw_str(w, "error", p->error[0] ? p->error : NULL);
}

/* probe_name - the whole probe of DESTINATION. Returns the exit status. */
static int
probe_name(struct run *r, struct probe *p, const char *name)
{
	p->dest = name;
	p->exit = decide(r, p, name);
	if (p->exit == 0)
		p->exit = exchange(r, p);
	return p->exit;
}

static void
show_config(const struct run *r)
{
	const struct onionshim_config *cfg = &r->ctx->cfg;

	step(r, "config", "%s%s; onion_map %s; route = %s; connect_timeout %us", r->conf_path,
	     r->conf_missing ? " (absent: the defaults)" : "",
	     map_path(r) ? map_path(r) : "(none)",
	     cfg->route == ONIONSHIM_ROUTE_ALL ? "all" : "onion", cfg->connect_timeout_ms / 1000);
}

static int
cmd_probe(struct run *r)
{
	struct probe *p = calloc(1, sizeof(*p));
	struct jw w = { .f = stdout };
	int status;

	if (p == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return EXIT_ROUTE;
	}
	show_config(r);
	status = probe_name(r, p, r->o.dest);
	if (r->o.json) {
		jw_open(&w, NULL, '{');
		jw_str(&w, "destination", r->o.dest);
		jw_str(&w, "config", r->conf_path);
		jw_str(&w, "onion_map", map_path(r));
		json_probe_fields(r, &w, p);
		jw_close(&w, '}');
	} else if (status == EXIT_REACHED) {
		step(r, "result", "ok: the server answered %d (%u ms in all)",
		     p->ehlo.code ? p->ehlo.code : p->banner.code, p->ms_total);
	} else {
		fprintf(stderr, "%s: %s\n", PROG, p->error);
	}
	free(p);
	return status;
}

/* ---- --check ------------------------------------------------------------ */

struct check_state {
	struct run *r;
	struct jw *w;
	unsigned bad_entries;
};

static void
check_entry(void *arg, const char *domain, unsigned line, const struct onionshim_map_dest *d)
{
	struct check_state *cs = arg;
	enum onionshim_onion_status st = onionshim_map_dest_check(d);
	char msg[512];

	if (st == ONIONSHIM_ONION_OK)
		return;
	cs->bad_entries++;
	snprintf(msg, sizeof(msg), "%s -> %s: not a valid v3 onion address (%s); mail for it is "
		 "deferred", domain, d->onion.buf, onionshim_onion_strerror(st));
	collect_report(&cs->r->reps, ONIONSHIM_LOG_ERROR, NULL, line, msg);
}

/*
 * check_socks - whether server I answers SOCKS5, and with ExtendedErrors.
 * Returns 1 when it works, 0 when not.
 */
static int
check_socks(struct run *r, size_t i, struct jw *w)
{
	struct onionshim_config one = r->ctx->cfg;
	struct onionshim_socks5_addr dst;
	struct onionshim_socks5_trace tr;
	const char *server = r->ctx->cfg.socks[i].text, *ext = NULL;
	char why[600] = "";
	int fd, rc, works = 0, ext_on = -1;

	one.socks[0] = r->ctx->cfg.socks[i];
	one.nsocks = 1;
	dst_name(&dst, probe_onion, 25);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		rc = -errno;
		memset(&tr, 0, sizeof(tr));
		tr.rep = -1;
	} else {
		rc = onionshim_socks5_connect_fd(&one, fd, &dst,
						 one.isolation == ONIONSHIM_ISOLATION_DESTINATION ?
						 probe_onion : NULL, &tr);
		close(fd);
	}
	if (rc == 0) {
		snprintf(why, sizeof(why), "it accepted a CONNECT to an invalid onion address: "
			 "is it Tor?");
	} else if (tr.rep == 0xF6) {
		works = 1;
		ext_on = 1;
		ext = "on";
	} else if (tr.rep == 0x01 || tr.rep == 0x04) {
		works = 1;
		ext_on = 0;
		ext = "off";
	} else if (tr.rep > 0) {
		works = 1;
		ext = "unknown";
	} else if (rc == -ENETDOWN) {
		snprintf(why, sizeof(why), "no answer (%s): is tor running, with a SocksPort "
			 "on %s?", tr.failed.buf[0] ? tr.failed.buf : strerror(-rc), server);
	} else if (!why[0]) {
		snprintf(why, sizeof(why), "%s", tr.why.buf[0] ? tr.why.buf : strerror(-rc));
	}
	if (w != NULL) {
		jw_open(w, NULL, '{');
		jw_str(w, "server", server);
		jw_bool(w, "answers", works);
		jw_num(w, "ms", tr.ms_total);
		if (tr.rep >= 0)
			jw_num(w, "reply", tr.rep);
		else
			jw_null(w, "reply");
		if (ext_on >= 0)
			jw_bool(w, "extended_errors", ext_on);
		else
			jw_null(w, "extended_errors");
		jw_str(w, "error", works ? NULL : why);
		jw_close(w, '}');
		return works;
	}
	if (!works) {
		step(r, "socks", "%s: does not work: %s", server, why);
	} else if (ext_on == 1) {
		step(r, "socks", "%s: answers (%u ms); ExtendedErrors: on", server, tr.ms_total);
	} else if (ext_on == 0) {
		step(r, "socks", "%s: answers (%u ms); ExtendedErrors: off (a probe of an invalid "
		     "onion got 0x%02X, not 0xF6)", server, tr.ms_total, tr.rep);
		step(r, "", "without it every onion failure reads \"general failure\": add the "
		     "flag to the SocksPort line of torrc (SocksPort %s ExtendedErrors) and "
		     "reload tor", server);
	} else {
		step(r, "socks", "%s: answers (%u ms); ExtendedErrors: %s (a probe of an invalid "
		     "onion got 0x%02X: %s)", server, tr.ms_total, ext, tr.rep,
		     onionshim_socks5_strreply((uint8_t)tr.rep));
	}
	return works;
}

static int
cmd_check(struct run *r)
{
	struct jw w = { .f = stdout };
	struct check_state cs = { .r = r };
	const struct onionshim_map *m = &r->ctx->map;
	unsigned errors = 0, socks_bad = 0;
	size_t i;
	int status;

	step(r, "config", "%s: %s", r->conf_path, r->conf_missing ?
	     "absent: the defaults apply" : "ok");
	if (r->ctx->have_map) {
		onionshim_map_foreach(&r->ctx->map, check_entry, &cs);
		step(r, "map", "%s: %zu entries, %zu destinations, %zu skipped (not onion "
		     "routes)", map_path(r), m->nentries, m->ndests, m->nskipped);
	} else {
		step(r, "map", "none (onion_map is empty)");
	}
	for (i = 0; i < r->reps.n; i++) {
		const struct report *rp = &r->reps.r[i];

		if (rp->level <= ONIONSHIM_LOG_ERROR)
			errors++;
		step(r, "map", "%s:%u: %s: %s", map_path(r), rp->line, level_word(rp->level),
		     rp->msg);
	}
	if (r->o.json) {
		jw_open(&w, NULL, '{');
		jw_open(&w, "config", '{');
		jw_str(&w, "file", r->conf_path);
		jw_bool(&w, "ok", 1);
		jw_bool(&w, "absent", r->conf_missing);
		jw_close(&w, '}');
		jw_open(&w, "onion_map", '{');
		jw_str(&w, "file", map_path(r));
		jw_num(&w, "entries", (long)m->nentries);
		jw_num(&w, "destinations", (long)m->ndests);
		jw_num(&w, "skipped", (long)m->nskipped);
		jw_open(&w, "problems", '[');
		for (i = 0; i < r->reps.n; i++) {
			jw_open(&w, NULL, '{');
			jw_num(&w, "line", r->reps.r[i].line);
			jw_str(&w, "level", level_word(r->reps.r[i].level));
			jw_str(&w, "message", r->reps.r[i].msg);
			jw_close(&w, '}');
		}
		jw_close(&w, ']');
		jw_close(&w, '}');
		jw_open(&w, "socks", '[');
	}
	for (i = 0; i < r->ctx->cfg.nsocks; i++)
		socks_bad += !check_socks(r, i, r->o.json ? &w : NULL);
	if (r->ctx->cfg.nsocks == 0)
		step(r, "socks", "socks_server is empty: nothing can reach Tor");
	socks_bad += r->ctx->cfg.nsocks == 0;
	status = errors ? EXIT_USAGE : socks_bad ? EXIT_ROUTE : EXIT_REACHED;
	if (r->o.json) {
		jw_close(&w, ']');
		jw_num(&w, "problems", (long)(errors + socks_bad));
		jw_num(&w, "exit", status);
		jw_close(&w, '}');
	} else if (status == EXIT_REACHED) {
		step(r, "result", "no problem found");
	} else {
		fprintf(stderr, "%s: %u problem%s: %s%s%s\n", PROG, errors + socks_bad,
			errors + socks_bad == 1 ? "" : "s", errors ?
			"fix the onion_map lines above (mail for their domains is deferred)" : "",
			errors && socks_bad ? ", and " : "", socks_bad ?
			"check tor and socks_server for the SOCKS servers that do not work" : "");
	}
	return status;
}

/* ---- --all ------------------------------------------------------------- */

struct all_entry {
	char domain[256];
	unsigned line;
	const struct onionshim_map_dest *dest;
	struct probe *p;		/* shared by the entries of one destination */
	int own;			/* P belongs to this entry */
};

struct all_list {
	struct all_entry *e;
	size_t n, cap;
};

static void
all_add(void *arg, const char *domain, unsigned line, const struct onionshim_map_dest *d)
{
	struct all_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct all_entry *n = realloc(l->e, cap * sizeof(*n));

		if (n == NULL)
			return;
		l->e = n;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[l->n]));
	snprintf(l->e[l->n].domain, sizeof(l->e[l->n].domain), "%s", domain);
	l->e[l->n].line = line;
	l->e[l->n].dest = d;
	l->n++;
}

/* all_deferred - whether the map defers the entry's domain (a conflict). */
static int
all_deferred(struct run *r, const char *domain)
{
	struct onionshim_map_hit hit;
	char name[300];

	if (domain[0] == '.')
		snprintf(name, sizeof(name), "%s%s", subdomain_probe, domain + 1);
	else
		snprintf(name, sizeof(name), "%s", domain);
	return onionshim_map_lookup(&r->ctx->map, name, strlen(name), &hit) == -EINVAL;
}

/* route_dest - a map destination by its fake address: no lookup needed. */
static int
route_dest(struct run *r, struct probe *p, const struct all_entry *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (e->dest->slot == 0) {
		set_error(p, "its destination does not fit in the fake address range; widen "
			  "fake_network");
		return EXIT_USAGE;
	}
	len = onionshim_shim_fake_sockaddr(r->ctx, e->dest->slot, AF_INET, r->o.port, &ss);
	if ((rc = plan_for(r, p, (struct sockaddr *)&ss, len)) != 0)
		return rc;
	snprintf(p->route, sizeof(p->route), "%s -> map (onion_map line %u) -> %s:%u",
		 e->domain, e->line, p->dst.name, p->port);
	return 0;
}

/* probe_entry - one map destination, by its fake address, as the MTA gets there. */
static void
probe_entry(struct run *r, struct all_entry *e)
{
	struct probe *p = e->p;
	enum onionshim_onion_status st = onionshim_map_dest_check(e->dest);
	char why[900];

	p->dest = e->domain;
	p->onion = e->dest->onion;
	p->map_line = e->line;
	p->decision = "map";
	if (st != ONIONSHIM_ONION_OK) {
		p->decision = "deferred";
		set_error(p, "not a valid v3 onion address (%s)", onionshim_onion_strerror(st));
		p->exit = EXIT_USAGE;
		return;
	}
	if (all_deferred(r, e->domain)) {
		p->decision = "deferred";
		map_problems(r, e->domain[0] == '.' ? e->domain + 1 : e->domain, why, sizeof(why));
		set_error(p, "deferred by onion_map: %s", why[0] ? why : "a conflicting entry");
		p->exit = EXIT_USAGE;
		return;
	}
	p->exit = route_dest(r, p, e);
	if (p->exit == 0)
		p->exit = exchange(r, p);
}

/* all_result - the RESULT column: short, with the code that matters. */
static void
all_result(const struct probe *p, char *out, size_t outlen)
{
	const struct onionshim_socks5_trace *tr = &p->tr;

	if (p->exit == EXIT_REACHED)
		snprintf(out, outlen, "ok %d", p->ehlo.code ? p->ehlo.code : p->banner.code);
	else if (p->exit == EXIT_SMTP && p->banner.code / 100 != 2 && p->banner.code)
		snprintf(out, outlen, "smtp %d", p->banner.code);
	else if (p->exit == EXIT_SMTP && p->ehlo.code)
		snprintf(out, outlen, "smtp: EHLO %d", p->ehlo.code);
	else if (p->exit == EXIT_SMTP)
		snprintf(out, outlen, "smtp: %s", p->ehlo.err ? reply_failure(p->ehlo.err) :
			 reply_failure(p->banner.err));
	else if (p->connected && tr->rep > 0)
		snprintf(out, outlen, "tor 0x%02X %s", tr->rep,
			 onionshim_socks5_strreply((uint8_t)tr->rep));
	else if (p->connected && p->rc == 0 && p->banner.err == -ENODATA)
		snprintf(out, outlen, "closed before the banner");
	else if (p->connected && p->rc == 0)
		snprintf(out, outlen, "no banner: %s", reply_failure(p->banner.err));
	else if (p->connected && p->rc == -ENETDOWN)
		snprintf(out, outlen, "no SOCKS server answered");
	else if (p->connected)
		snprintf(out, outlen, "socks: %s", strerror(-p->rc));
	else
		snprintf(out, outlen, "%s", p->error);
}

static int
cmd_all(struct run *r)
{
	struct all_list l = { NULL, 0, 0 };
	struct jw w = { .f = stdout };
	char result[300], onion[80];
	size_t i, j, ok = 0, width = 6;
	int status = EXIT_REACHED;

	if (!r->ctx->have_map) {
		fprintf(stderr, "%s: onion_map is empty in %s: no destination to probe; set "
			"onion_map\n", PROG, r->conf_path);
		return EXIT_USAGE;
	}
	if (onionshim_map_foreach(&r->ctx->map, all_add, &l) < 0 || l.n == 0) {
		fprintf(stderr, "%s: %s has no onion destination to probe%s\n", PROG, map_path(r),
			r->reps.n ? " (onion-connect --check lists its problems)" : "");
		free(l.e);
		return EXIT_USAGE;
	}
	r->quiet = 1;
	for (i = 0; i < l.n; i++) {
		struct all_entry *e = &l.e[i];

		if (strlen(e->domain) > width)
			width = strlen(e->domain);
		/* one probe per destination; its domains share the result */
		for (j = 0; j < i && e->p == NULL; j++)
			if (l.e[j].dest == e->dest && !all_deferred(r, e->domain) &&
			    l.e[j].p->exit != EXIT_USAGE)
				e->p = l.e[j].p;
		if (e->p == NULL) {
			e->p = calloc(1, sizeof(*e->p));
			if (e->p == NULL) {
				fprintf(stderr, "%s: out of memory\n", PROG);
				exit(EXIT_ROUTE);
			}
			e->own = 1;
			probe_entry(r, e);
		}
		ok += e->p->exit == EXIT_REACHED;
		if (e->p->exit != EXIT_REACHED)
			status = EXIT_ROUTE;
	}
	if (r->o.json) {
		jw_open(&w, NULL, '{');
		jw_str(&w, "config", r->conf_path);
		jw_str(&w, "onion_map", map_path(r));
		jw_open(&w, "destinations", '[');
	} else {
		printf("%-*s  %-68s  %-40s  %s\n", (int)width, "DOMAIN", "ONION", "RESULT", "TIME");
	}
	for (i = 0; i < l.n; i++) {
		const struct all_entry *e = &l.e[i];
		const struct probe *p = e->p;

		all_result(p, result, sizeof(result));
		snprintf(onion, sizeof(onion), "%s:%u", e->dest->onion.buf,
			 e->dest->port ? e->dest->port : r->o.port);
		if (r->o.json) {
			jw_open(&w, NULL, '{');
			jw_str(&w, "domain", e->domain);
			jw_num(&w, "onion_map_line", e->line);
			jw_str(&w, "onion", e->dest->onion.buf);
			jw_num(&w, "port", e->dest->port ? e->dest->port : r->o.port);
			jw_str(&w, "result", result);
			jw_num(&w, "exit", p->exit);
			jw_num(&w, "ms", p->ms_total);
			jw_bool(&w, "shared_probe", !e->own);
			if (p->connected && p->tr.rep >= 0)
				jw_num(&w, "tor_reply", p->tr.rep);
			else
				jw_null(&w, "tor_reply");
			if (p->banner.code)
				jw_num(&w, "smtp_code", p->banner.code);
			else
				jw_null(&w, "smtp_code");
			jw_str(&w, "error", p->error[0] ? p->error : NULL);
			jw_close(&w, '}');
		} else {
			printf("%-*s  %-68s  %-40s  %u ms\n", (int)width, e->domain, onion, result,
			       p->ms_total);
		}
	}
	if (r->o.json) {
		jw_close(&w, ']');
		jw_num(&w, "reachable", (long)ok);
		jw_num(&w, "total", (long)l.n);
		jw_num(&w, "exit", status);
		jw_close(&w, '}');
	} else {
		printf("%zu of %zu map entries reachable (the server answered 2xx)\n", ok, l.n);
		if (status != EXIT_REACHED)
			fprintf(stderr, "%s: %zu of %zu map entries unreachable; probe one with "
				"onion-connect DOMAIN for the details\n", PROG, l.n - ok, l.n);
	}
	for (i = 0; i < l.n; i++)
		if (l.e[i].own)
			free(l.e[i].p);
	free(l.e);
	return status;
}

/* ---- arguments ---------------------------------------------------------- */

static void
help(void)
{
	usage_line(stdout);
	printf("\n"
	       "  -c CONF       the config file (default: $ONIONSHIM_CONF, then %s)\n"
	       "  -p PORT       the port to connect to (default 25; a port in onion_map wins)\n"
	       "  -t SECONDS    bound on the SOCKS handshake and on each SMTP reply\n"
	       "                (default: connect_timeout; 90, 90s, 2m)\n"
	       "  --ehlo NAME   after the banner, send EHLO NAME and show the reply\n"
	       "  --json        print one JSON object instead of the steps\n"
	       "  --check       validate the config and every map line, test each SOCKS server\n"
	       "  --all         probe every destination in onion_map; print a table\n"
	       "  -h, --help    this text\n"
	       "\nexit status: 0 the server answered 2xx, 1 route or Tor failure, "
	       "2 usage or config error,\n3 the SMTP server answered but not 2xx. "
	       "See onion-connect(1).\n", ONIONSHIM_DEFAULT_CONF);
}

static uint16_t
parse_port(const char *arg)
{
	unsigned long v = 0;
	const char *p;

	for (p = arg; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (p == arg || *p != '\0' || v == 0 || v > 65535)
		usage_error("-p %s: not a port number (1-65535)", arg);
	return (uint16_t)v;
}

/* EHLO's argument goes into the SMTP stream: no white space or controls. */
static const char *
parse_ehlo(const char *arg)
{
	const unsigned char *p;

	if (*arg == '\0' || strlen(arg) > 255)
		usage_error("--ehlo: give the client's host name (1-255 characters)");
	for (p = (const unsigned char *)arg; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			usage_error("--ehlo: the name must not contain white space or control "
				    "characters");
	return arg;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "ehlo", required_argument, NULL, 'E' },
		{ "json", no_argument, NULL, 'J' },
		{ "check", no_argument, NULL, 'C' },
		{ "all", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->port = 25;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:p:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (*optarg == '\0')
				usage_error("-c: give the path of onionshim.conf");
			o->conf = optarg;
			break;
		case 'p':
			o->port = parse_port(optarg);
			o->port_given = 1;
			break;
		case 't':
			o->timeout = optarg;
			break;
		case 'E':
			o->ehlo = parse_ehlo(optarg);
			break;
		case 'J':
			o->json = 1;
			break;
		case 'C':
			o->check = 1;
			break;
		case 'A':
			o->all = 1;
			break;
		case 'h':
			help();
			exit(0);
		case ':':
			usage_error("%s needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (o->check && o->all)
		usage_error("--check and --all do not go together");
	if ((o->check || o->all) && optind < argc)
		usage_error("--%s takes no DESTINATION", o->check ? "check" : "all");
	if (o->check && (o->ehlo || o->port_given))
		usage_error("--check takes no %s", o->ehlo ? "--ehlo" : "-p");
	if (!o->check && !o->all && optind == argc)
		usage_error("no DESTINATION given (a mail domain, an onion or a host)");
	if (!o->check && !o->all && optind + 1 < argc)
		usage_error("one DESTINATION only (got \"%s\" too)", argv[optind + 1]);
	if (optind < argc)
		o->dest = argv[optind];
}

/* config_error - a config problem as a one-liner, or in the JSON object. */
static int
config_error(const struct run *r, const char *msg)
{
	struct jw w = { .f = stdout };

	if (!r->o.json) {
		fprintf(stderr, "%s: %s\n", PROG, msg);
		return EXIT_USAGE;
	}
	jw_open(&w, NULL, '{');
	if (r->o.dest != NULL)
		jw_str(&w, "destination", r->o.dest);
	jw_str(&w, "config", r->conf_path);
	jw_num(&w, "exit", EXIT_USAGE);
	jw_str(&w, "result", result_word(EXIT_USAGE));
	jw_str(&w, "error", msg);
	jw_close(&w, '}');
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct run r;
	char msg[1024];
	int status;

	memset(&r, 0, sizeof(r));
	parse_args(argc, argv, &r.o);
	r.ctx = calloc(1, sizeof(*r.ctx));
	if (r.ctx == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return EXIT_ROUTE;
	}
	if (load(&r, msg, sizeof(msg)) != 0)
		status = config_error(&r, msg);
	else if (r.o.check)
		status = cmd_check(&r);
	else if (r.o.all)
		status = cmd_all(&r);
	else
		status = cmd_probe(&r);
	if (r.ctx->have_map)
		onionshim_map_free(&r.ctx->map);
	free(r.reps.r);
	free(r.ctx);
	return status;
}
