/*
 * NAME
 *	socks5d - scripted SOCKS5 server for onionshim's integration tests
 * SYNOPSIS
 *	socks5d [--listen ADDR:PORT]... --port-file FILE --record FILE
 *		[--plan PLAN] [--port-plan PORT=ACTION]... [--banner TEXT]
 *		[--resolve NAME=ADDR]... [--ptr ADDR=NAME]... [--tor-eof]
 * DESCRIPTION
 *	Listens on each ADDR:PORT (default 127.0.0.1:0; IPv6 as [ADDR]:PORT,
 *	IPV6_V6ONLY) and writes the bound ports, one line per listener in
 *	order, to FILE.tmp and renames it to FILE once every listener listens:
 *	a test that sees FILE can connect.
 *
 *	Every connection is served by a child of its own, numbered from 1 in
 *	accept order. Connection N follows action N of PLAN (comma-separated;
 *	the last action repeats). The server reads the client's greeting,
 *	RFC 1929 login and request exactly, by their length fields, each step
 *	within 10 seconds, so pipelined clients work and broken ones cannot
 *	hold a child forever (stalls and the SMTP loop give up after 600 s).
 *
 *	Actions: ok, ok1 (success, BND 0.0.0.0:0), ok3 (BND a 20-character
 *	name), ok4 (BND ::1), long (success reply and banner in one write),
 *	slow (every reply byte and the banner one byte at a time, 20 ms
 *	apart), code:XX (reply code XX, then close), stall (read the greeting,
 *	never answer), stall-connect (answer up to the request, never reply to
 *	it), close-greeting, close-request, garbage (16 bytes of HTTP instead
 *	of a method reply), garbage-reply (a reply with VER 4), garbage-atyp
 *	(a reply with ATYP 9), refuse-auth (login refused with 01 01; 05 FF if
 *	no login was offered), noauth-only (05 FF unless "no authentication"
 *	was offered), delay:MS (as ok, but the CONNECT reply comes MS
 *	milliseconds after the request, at most 60000), short-reply (the first
 *	3 bytes of a success reply, then close), reset-request (read the
 *	request, then reset the connection: RST, no reply).
 *
 *	--port-plan PORT=ACTION: a CONNECT to PORT follows ACTION instead,
 *	whatever its number, so that clients running at once can each ask
 *	for their own answer. Only what happens after the request can change
 *	this way: code:XX, close-request, reset-request, short-reply,
 *	garbage-reply, garbage-atyp, stall-connect, delay:MS and the success
 *	actions. The record shows the action followed. The success actions prefer username/password when it is
 *	offered, as tor does, accept any login, answer RESOLVE from --resolve
 *	and RESOLVE_PTR from --ptr (reply 04 when there is no entry) and then
 *	close, answer other commands with 07, and after a CONNECT send the
 *	banner (default "220 onionshim-test ESMTP\r\n"; --banner TEXT with \r,
 *	\n, \t and \\ escapes; empty for none) and run a small SMTP loop: EHLO
 *	and HELO get a 250 answer, QUIT gets "221 bye" and a close, any other
 *	line is echoed as it came.
 *
 *	--tor-eof: in the SMTP loop, end the connection without an answer
 *	when the client half-closes (within 300 ms of a line), as tor ends a
 *	stream both ways when its SOCKS client half-closes.
 *
 *	Replies are built here byte by byte, not with the codec, so that a
 *	codec bug cannot hide on both sides of a test.
 * RECORD
 *	One line per connection, appended with a single write(2) to FILE
 *	opened with O_APPEND, of space-separated fields in this order:
 *
 *	conn=N plan=ACTION greeting=HEX [auth_user=ESC auth_pass=ESC]
 *	[cmd=HEX atyp=N [host=TEXT port=N]] bytes=HEX end=REASON
 *
 *	HEX is lower-case hex; greeting is the raw greeting as read (possibly
 *	short), bytes every byte the client sent during the handshake in order
 *	(for stalls, also what came while stalling, up to 8 KiB). ESC is the
 *	text with every byte outside '!'..'~', and '%' and '=', written %XX
 *	(upper-case hex). auth_* appear when a whole login was read; cmd and
 *	atyp when the request's first four bytes were; host and port when the
 *	whole request was. host is the ATYP 3 name (ESC) or the numeric
 *	address (inet_ntop text).
 *
 *	end: ok (the action ran as scripted), eof, timeout, read-error
 *	(the client closed, was silent for 10 s, or failed mid-step),
 *	bad-version, bad-auth-version, bad-atyp (answered 08), bad-cmd
 *	(answered 07), no-method (answered 05 FF), stalled-closed,
 *	stalled-reset, stalled-timeout.
 *
 *	The line is written before the server sends its last handshake bytes,
 *	so a client that has seen the server's answer (or its close) finds
 *	its line already there. Lines for eof, timeout and stalls are written
 *	when the server notices; poll for them.
 * EXIT STATUS
 *	0 after SIGTERM or SIGINT, 1 when it cannot listen or write FILE,
 *	2 for bad arguments (with a usage line on stderr).
 * NEVER
 *	prints on stdout, kills its children (they end with their
 *	connection), or resolves a name through the system.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/socks5.h"

#define MAX_LISTEN	16
#define MAX_ACTIONS	256
#define MAX_ENTRIES	64
#define STEP_MS		10000		/* each handshake step */
#define IDLE_MS		600000		/* stalls and the SMTP loop */
#define DRAIN_MS	2000		/* waiting for the client's FIN */
#define TOR_EOF_MS	300		/* --tor-eof: how long to look for it */
#define SLOW_NS		20000000L	/* 20 ms between bytes */

#define DEFAULT_BANNER	"220 onionshim-test ESMTP\r\n"
#define OK3_NAME	"onionshim-bound.test"	/* 20 characters */

enum kind {
	A_OK, A_OK3, A_OK4, A_LONG, A_SLOW, A_CODE, A_STALL, A_STALL_CONNECT,
	A_CLOSE_GREETING, A_CLOSE_REQUEST, A_GARBAGE, A_GARBAGE_REPLY,
	A_GARBAGE_ATYP, A_REFUSE_AUTH, A_NOAUTH_ONLY, A_DELAY, A_SHORT_REPLY,
	A_RESET_REQUEST,
};

struct action {
	enum kind kind;
	uint8_t code;			/* A_CODE */
	unsigned delay_ms;		/* A_DELAY */
	char text[16];			/* as given, for the record */
};

struct listener {
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;
};

struct ip {
	int family;
	uint8_t bytes[16];
};

struct resolve_entry {
	char name[256];
	struct ip ip;
};

struct ptr_entry {
	struct ip ip;
	char name[256];
};

static struct {
	struct listener listen[MAX_LISTEN];
	size_t nlisten;
	const char *port_file;
	const char *record;
	int record_fd;
	struct action actions[MAX_ACTIONS];
	size_t nactions;
	char banner[4096];
	size_t banner_len;
	struct resolve_entry resolve[MAX_ENTRIES];
	size_t nresolve;
	struct ptr_entry ptr[MAX_ENTRIES];
	size_t nptr;
	struct port_action {
		uint16_t port;
		struct action act;
	} port_plan[MAX_ENTRIES];
	size_t nport_plan;
	int tor_eof;
} opt;

/* Everything one connection's record line needs. */
struct conn {
	int fd;
	unsigned long num;
	const struct action *act;
	uint8_t greeting[2 + 255];
	size_t greeting_len;
	int authed;
	uint8_t user[255], pass[255];
	size_t ulen, plen;
	int have_head, have_req;
	uint8_t cmd, atyp;
	uint8_t addr[255];		/* name or address bytes */
	size_t addrlen;
	uint16_t port;
	uint8_t bytes[8192];
	size_t nbytes;
	const char *end;
	int recorded;
};

static volatile sig_atomic_t stop;

static void
usage(void)
{
	fprintf(stderr, "usage: socks5d [--listen ADDR:PORT]... --port-file FILE --record FILE"
		" [--plan PLAN] [--port-plan PORT=ACTION]... [--banner TEXT]"
		" [--resolve NAME=ADDR]... [--ptr ADDR=NAME]...\n");
	exit(2);
}

static void
bad_arg(const char *what, const char *arg)
{
	fprintf(stderr, "socks5d: bad %s: %s\n", what, arg);
	usage();
}

/* ---- arguments ------------------------------------------------------------- */

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Numeric only: the test server must never ask a resolver. */
static int
parse_ip(const char *s, struct ip *ip)
{
	if (inet_pton(AF_INET, s, ip->bytes) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->bytes) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -1;
}

static void
add_listen(const char *arg)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *start = arg, *stop_at;
	struct listener *l;
	struct ip ip;
	uint16_t port;
	size_t n;

	if (opt.nlisten == MAX_LISTEN)
		bad_arg("--listen (too many)", arg);
	if (*arg == '[') {
		start = arg + 1;
		stop_at = strchr(start, ']');
		if (stop_at == NULL || stop_at[1] != ':')
			bad_arg("--listen", arg);
		colon = stop_at + 1;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL)
			bad_arg("--listen", arg);
		stop_at = colon;
	}
	n = (size_t)(stop_at - start);
	if (n == 0 || n >= sizeof(host))
		bad_arg("--listen", arg);
	memcpy(host, start, n);
	host[n] = '\0';
	if (parse_ip(host, &ip) != 0 || parse_port(colon + 1, &port) != 0)
		bad_arg("--listen", arg);
	if (*arg == '[' && ip.family != AF_INET6)
		bad_arg("--listen", arg);
	if (*arg != '[' && ip.family != AF_INET)
		bad_arg("--listen (write IPv6 as [ADDR]:PORT)", arg);
	l = &opt.listen[opt.nlisten++];
	memset(l, 0, sizeof(*l));
	if (ip.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip.bytes, 4);
		l->sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip.bytes, 16);
		l->sslen = sizeof(*sin6);
	}
	l->fd = -1;
}

static const struct {
	const char *name;
	enum kind kind;
} action_names[] = {
	{ "ok", A_OK }, { "ok1", A_OK }, { "ok3", A_OK3 }, { "ok4", A_OK4 },
	{ "long", A_LONG }, { "slow", A_SLOW }, { "stall", A_STALL },
	{ "stall-connect", A_STALL_CONNECT }, { "close-greeting", A_CLOSE_GREETING },
	{ "close-request", A_CLOSE_REQUEST }, { "garbage", A_GARBAGE },
	{ "garbage-reply", A_GARBAGE_REPLY }, { "garbage-atyp", A_GARBAGE_ATYP },
	{ "refuse-auth", A_REFUSE_AUTH }, { "noauth-only", A_NOAUTH_ONLY },
	{ "short-reply", A_SHORT_REPLY }, { "reset-request", A_RESET_REQUEST },
};

static int
parse_action(const char *tok, size_t len, struct action *a)
{
	char *end;
	unsigned long v;
	size_t i;

	if (len == 0 || len >= sizeof(a->text))
		return -1;
	memcpy(a->text, tok, len);
	a->text[len] = '\0';
	if (strncmp(a->text, "code:", 5) == 0) {
		if (!isxdigit((unsigned char)a->text[5]))
			return -1;
		v = strtoul(a->text + 5, &end, 16);
		if (*end != '\0' || v > 0xFF)
			return -1;
		a->kind = A_CODE;
		a->code = (uint8_t)v;
		return 0;
	}
	if (strncmp(a->text, "delay:", 6) == 0) {
		if (!isdigit((unsigned char)a->text[6]))
			return -1;
		v = strtoul(a->text + 6, &end, 10);
		if (*end != '\0' || v > 60000)
			return -1;
		a->kind = A_DELAY;
		a->delay_ms = (unsigned)v;
		return 0;
	}
	for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
		if (strcmp(a->text, action_names[i].name) == 0) {
			a->kind = action_names[i].kind;
			return 0;
		}
	}
	return -1;
}

static void
set_plan(const char *plan)
{
	const char *p = plan, *comma;
	size_t len;

	opt.nactions = 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (opt.nactions == MAX_ACTIONS ||
		    parse_action(p, len, &opt.actions[opt.nactions]) != 0)
			bad_arg("--plan", plan);
		opt.nactions++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void
set_banner(const char *arg)
{
	size_t n = 0;
	const char *p;

	for (p = arg; *p != '\0'; p++) {
		char c = *p;

		if (c == '\\' && p[1] != '\0' && strchr("rnt\\", p[1]) != NULL) {
			p++;
			c = *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p == 't' ? '\t' : '\\';
		}
		if (n == sizeof(opt.banner))
			bad_arg("--banner (too long)", arg);
		opt.banner[n++] = c;
	}
	opt.banner_len = n;
}

/* Split "LEFT=RIGHT" at the first '='; both sides non-empty and short. */
static void
split_eq(const char *what, const char *arg, char *left, size_t lsize, char *right,
	 size_t rsize)
{
	const char *eq = strchr(arg, '=');
	size_t ln, rn;

	if (eq == NULL)
		bad_arg(what, arg);
	ln = (size_t)(eq - arg);
	rn = strlen(eq + 1);
	if (ln == 0 || rn == 0 || ln >= lsize || rn >= rsize)
		bad_arg(what, arg);
	memcpy(left, arg, ln);
	left[ln] = '\0';
	memcpy(right, eq + 1, rn + 1);
}

static void
add_resolve(const char *arg)
{
	char addr[INET6_ADDRSTRLEN];
	struct resolve_entry *e;

	if (opt.nresolve == MAX_ENTRIES)
		bad_arg("--resolve (too many)", arg);
	e = &opt.resolve[opt.nresolve];
	split_eq("--resolve", arg, e->name, sizeof(e->name), addr, sizeof(addr));
	if (parse_ip(addr, &e->ip) != 0)
		bad_arg("--resolve", arg);
	opt.nresolve++;
}

static void
add_ptr(const char *arg)
{
	char addr[INET6_ADDRSTRLEN];
	struct ptr_entry *e;

	if (opt.nptr == MAX_ENTRIES)
		bad_arg("--ptr (too many)", arg);
	e = &opt.ptr[opt.nptr];
	split_eq("--ptr", arg, addr, sizeof(addr), e->name, sizeof(e->name));
	if (parse_ip(addr, &e->ip) != 0)
		bad_arg("--ptr", arg);
	opt.nptr++;
}

static void
add_port_plan(const char *arg)
{
	char port[8], action[32];
	struct port_action *e;

	if (opt.nport_plan == MAX_ENTRIES)
		bad_arg("--port-plan (too many)", arg);
	e = &opt.port_plan[opt.nport_plan];
	split_eq("--port-plan", arg, port, sizeof(port), action, sizeof(action));
	if (parse_port(port, &e->port) != 0 || parse_action(action, strlen(action), &e->act) != 0)
		bad_arg("--port-plan", arg);
	opt.nport_plan++;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "record", required_argument, NULL, 'r' },
		{ "plan", required_argument, NULL, 'p' },
		{ "banner", required_argument, NULL, 'b' },
		{ "resolve", required_argument, NULL, 'R' },
		{ "ptr", required_argument, NULL, 'P' },
		{ "port-plan", required_argument, NULL, 'o' },
		{ "tor-eof", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	set_plan("ok");
	set_banner(DEFAULT_BANNER);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': add_listen(optarg); break;
		case 'f': opt.port_file = optarg; break;
		case 'r': opt.record = optarg; break;
		case 'p': set_plan(optarg); break;
		case 'b': set_banner(optarg); break;
		case 'R': add_resolve(optarg); break;
		case 'P': add_ptr(optarg); break;
		case 'o': add_port_plan(optarg); break;
		case 'e': opt.tor_eof = 1; break;
		default: usage();
		}
	}
	if (optind != argc || opt.port_file == NULL || opt.record == NULL)
		usage();
	if (opt.nlisten == 0)
		add_listen("127.0.0.1:0");
}

/* ---- socket I/O ------------------------------------------------------------- */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until FD is readable or DEADLINE passes. Returns 1, 0 (timeout), -1. */
static int
wait_readable(int fd, long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static void
keep_bytes(struct conn *c, const uint8_t *p, size_t n)
{
	size_t room = sizeof(c->bytes) - c->nbytes;

	if (n > room)
		n = room;
	memcpy(c->bytes + c->nbytes, p, n);
	c->nbytes += n;
}

/*
 * Read exactly N bytes within one step's time, never more, so that what
 * the client pipelined behind them stays in the socket. *GOT says how many
 * arrived. Returns 0, or -1 with C->end set.
 */
static int
read_step(struct conn *c, uint8_t *dst, size_t n, size_t *got)
{
	long deadline = now_ms() + STEP_MS;
	ssize_t r;
	int w;

	*got = 0;
	while (*got < n) {
		if ((w = wait_readable(c->fd, deadline)) <= 0) {
			c->end = w == 0 ? "timeout" : "read-error";
			return -1;
		}
		r = read(c->fd, dst + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->end = r == 0 ? "eof" : "read-error";
			return -1;
		}
		keep_bytes(c, dst + *got, (size_t)r);
		*got += (size_t)r;
	}
	return 0;
}

static int
write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One byte a segment (TCP_NODELAY is on), to catch clients that expect
 * a whole message from one read. */
static int
write_slowly(int fd, const void *buf, size_t n)
{
	const struct timespec gap = { 0, SLOW_NS };
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			nanosleep(&gap, NULL);
		if (write_all(fd, p + i, 1) != 0)
			return -1;
	}
	return 0;
}

static int
send_bytes(const struct conn *c, const void *buf, size_t n)
{
	if (c->act->kind == A_SLOW)
		return write_slowly(c->fd, buf, n);
	return write_all(c->fd, buf, n);
}

/*
 * Close so that the client reads a clean EOF: send our FIN first and read
 * until the client's, because closing with unread bytes in the socket
 * would send a RST that could destroy data still in flight to the client.
 */
static void
close_gently(int fd)
{
	long deadline = now_ms() + DRAIN_MS;
	uint8_t sink[512];
	ssize_t r;

	shutdown(fd, SHUT_WR);
	while (wait_readable(fd, deadline) > 0) {
		r = read(fd, sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
	close(fd);
}

/* ---- the record line ---------------------------------------------------- */

struct line {
	char buf[32768];
	size_t len;
};

static void
addf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
addf(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len > sizeof(l->buf) - 1)
		l->len = sizeof(l->buf) - 1;
}

static void
addhex(struct line *l, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		addf(l, "%02x", p[i]);
}

/* Printable bytes as they are; space, '%', '=' and the rest as %XX, so
 * that a field never splits and awk -F= still finds the value. */
static void
addesc(struct line *l, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= '!' && p[i] <= '~' && p[i] != '%' && p[i] != '=')
			addf(l, "%c", p[i]);
		else
			addf(l, "%%%02X", p[i]);
	}
}

static void
addhost(struct line *l, const struct conn *c)
{
	char text[INET6_ADDRSTRLEN];

	switch (c->atyp) {
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		addf(l, " host=%s", inet_ntop(AF_INET, c->addr, text, sizeof(text)));
		break;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		addf(l, " host=%s", inet_ntop(AF_INET6, c->addr, text, sizeof(text)));
		break;
	default:
		addf(l, " host=");
		addesc(l, c->addr, c->addrlen);
		break;
	}
}

static void
record(struct conn *c)
{
	static struct line l;

	if (c->recorded)
		return;
	c->recorded = 1;
	l.len = 0;
	addf(&l, "conn=%lu plan=%s greeting=", c->num, c->act->text);
	addhex(&l, c->greeting, c->greeting_len);
	if (c->authed) {
		addf(&l, " auth_user=");
		addesc(&l, c->user, c->ulen);
		addf(&l, " auth_pass=");
		addesc(&l, c->pass, c->plen);
	}
	if (c->have_head)
		addf(&l, " cmd=%02x atyp=%u", c->cmd, c->atyp);
	if (c->have_req) {
		addhost(&l, c);
		addf(&l, " port=%u", c->port);
	}
	addf(&l, " bytes=");
	addhex(&l, c->bytes, c->nbytes);
	addf(&l, " end=%s\n", c->end != NULL ? c->end : "ok");
	if (write(opt.record_fd, l.buf, l.len) != (ssize_t)l.len)
		fprintf(stderr, "socks5d: conn %lu: cannot write %s: %s\n", c->num, opt.record,
			strerror(errno));
}

/* Record, then send the last bytes of the handshake and close. */
static void
finish(struct conn *c, const void *buf, size_t n)
{
	record(c);
	if (n > 0)
		send_bytes(c, buf, n);
	close_gently(c->fd);
}

/* ---- reading the handshake ---------------------------------------------------- */

static int
read_greeting(struct conn *c)
{
	size_t got;
	int err;

	err = read_step(c, c->greeting, 2, &got);
	c->greeting_len = got;
	if (err != 0)
		return -1;
	if (c->greeting[0] != 0x05) {
		c->end = "bad-version";
		return -1;
	}
	err = read_step(c, c->greeting + 2, c->greeting[1], &got);
	c->greeting_len += got;
	return err;
}

static int
offered(const struct conn *c, uint8_t method)
{
	size_t i;

	for (i = 2; i < c->greeting_len; i++)
		if (c->greeting[i] == method)
			return 1;
	return 0;
}

/* Tor picks username/password when offered: that is what isolates. */
static uint8_t
choose_method(const struct conn *c)
{
	switch (c->act->kind) {
	case A_NOAUTH_ONLY:
		return offered(c, 0x00) ? 0x00 : 0xFF;
	case A_REFUSE_AUTH:
		return offered(c, 0x02) ? 0x02 : 0xFF;
	default:
		if (offered(c, 0x02))
			return 0x02;
		return offered(c, 0x00) ? 0x00 : 0xFF;
	}
}

/* RFC 1929: VER ULEN UNAME PLEN PASSWD. */
static int
read_auth(struct conn *c)
{
	uint8_t b[2];
	size_t got;

	if (read_step(c, b, 2, &got) != 0)
		return -1;
	if (b[0] != 0x01) {
		c->end = "bad-auth-version";
		return -1;
	}
	c->ulen = b[1];
	if (read_step(c, c->user, c->ulen, &got) != 0 || read_step(c, b, 1, &got) != 0)
		return -1;
	c->plen = b[0];
	if (read_step(c, c->pass, c->plen, &got) != 0)
		return -1;
	c->authed = 1;
	return 0;
}

/* VER CMD RSV ATYP ADDR PORT, the address sized by ATYP. */
static int
read_request(struct conn *c)
{
	uint8_t head[4], port[2];
	size_t got;

	if (read_step(c, head, 4, &got) != 0)
		return -1;
	if (head[0] != 0x05) {
		c->end = "bad-version";
		return -1;
	}
	c->cmd = head[1];
	c->atyp = head[3];
	c->have_head = 1;
	switch (c->atyp) {
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		c->addrlen = 4;
		break;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		c->addrlen = 16;
		break;
	case ONIONSHIM_SOCKS5_ATYP_NAME:
		if (read_step(c, port, 1, &got) != 0)
			return -1;
		c->addrlen = port[0];
		break;
	default:
		c->end = "bad-atyp";
		return -1;
	}
	if (read_step(c, c->addr, c->addrlen, &got) != 0 || read_step(c, port, 2, &got) != 0)
		return -1;
	c->port = (uint16_t)(port[0] << 8 | port[1]);
	c->have_req = 1;
	return 0;
}

/* ---- answering -------------------------------------------------------------- */

/* VER REP RSV ATYP ADDR PORT into OUT (room for the longest reply). */
static size_t
build_reply(uint8_t out[ONIONSHIM_SOCKS5_REPLY_MAX], uint8_t ver, uint8_t rep, uint8_t atyp,
	    const void *addr, size_t addrlen)
{
	size_t n = 0;

	out[n++] = ver;
	out[n++] = rep;
	out[n++] = 0x00;
	out[n++] = atyp;
	if (atyp == ONIONSHIM_SOCKS5_ATYP_NAME)
		out[n++] = (uint8_t)addrlen;
	memcpy(out + n, addr, addrlen);
	n += addrlen;
	out[n++] = 0;
	out[n++] = 0;
	return n;
}

static size_t
failure_reply(uint8_t out[ONIONSHIM_SOCKS5_REPLY_MAX], uint8_t rep)
{
	static const uint8_t zero[4];

	return build_reply(out, 0x05, rep, ONIONSHIM_SOCKS5_ATYP_IPV4, zero, 4);
}

static size_t
connect_reply(uint8_t out[ONIONSHIM_SOCKS5_REPLY_MAX], enum kind kind)
{
	static const uint8_t zero[4];
	static const uint8_t loop6[16] = { [15] = 1 };

	switch (kind) {
	case A_OK3:
		return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_NAME, OK3_NAME,
				   strlen(OK3_NAME));
	case A_OK4:
		return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_IPV6, loop6, 16);
	default:
		return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_IPV4, zero, 4);
	}
}

/* Names compare as DNS does: any case, one trailing dot optional. */
static int
same_name(const uint8_t *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen > 0 && a[alen - 1] == '.')
		alen--;
	if (blen > 0 && b[blen - 1] == '.')
		blen--;
	return alen == blen && strncasecmp((const char *)a, b, alen) == 0;
}

/* The address a PTR request asks about, also when given as text. */
static int
request_ip(const struct conn *c, struct ip *ip)
{
	char text[256];

	switch (c->atyp) {
	case ONIONSHIM_SOCKS5_ATYP_IPV4:
		ip->family = AF_INET;
		memcpy(ip->bytes, c->addr, 4);
		return 0;
	case ONIONSHIM_SOCKS5_ATYP_IPV6:
		ip->family = AF_INET6;
		memcpy(ip->bytes, c->addr, 16);
		return 0;
	default:
		memcpy(text, c->addr, c->addrlen);
		text[c->addrlen] = '\0';
		return parse_ip(text, ip);
	}
}

static size_t
resolve_reply(uint8_t out[ONIONSHIM_SOCKS5_REPLY_MAX], const struct conn *c)
{
	const struct resolve_entry *e;
	size_t i;

	for (i = 0; i < opt.nresolve; i++) {
		e = &opt.resolve[i];
		if (!same_name(c->addr, c->addrlen, e->name))
			continue;
		if (e->ip.family == AF_INET)
			return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_IPV4,
					   e->ip.bytes, 4);
		return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_IPV6, e->ip.bytes, 16);
	}
	return failure_reply(out, 0x04);
}

static size_t
ptr_reply(uint8_t out[ONIONSHIM_SOCKS5_REPLY_MAX], const struct conn *c)
{
	struct ip ip;
	size_t i, len;

	if (request_ip(c, &ip) != 0)
		return failure_reply(out, 0x04);
	for (i = 0; i < opt.nptr; i++) {
		const struct ptr_entry *e = &opt.ptr[i];

		len = ip.family == AF_INET ? 4 : 16;
		if (e->ip.family != ip.family || memcmp(e->ip.bytes, ip.bytes, len) != 0)
			continue;
		return build_reply(out, 0x05, 0x00, ONIONSHIM_SOCKS5_ATYP_NAME, e->name,
				   strlen(e->name));
	}
	return failure_reply(out, 0x04);
}

/* Hold the connection without a word until the client gives up. */
static void
stall(struct conn *c)
{
	long deadline = now_ms() + IDLE_MS;
	uint8_t b[512];
	ssize_t r;
	int w;

	for (;;) {
		if ((w = wait_readable(c->fd, deadline)) <= 0) {
			c->end = w == 0 ? "stalled-timeout" : "stalled-reset";
			break;
		}
		r = read(c->fd, b, sizeof(b));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->end = r == 0 ? "stalled-closed" : "stalled-reset";
			break;
		}
		keep_bytes(c, b, (size_t)r);
	}
	record(c);
	close(c->fd);
}

static const char ehlo_answer[] = "250-onionshim-test\r\n250 PIPELINING\r\n";
static const char helo_answer[] = "250 onionshim-test\r\n";
static const char quit_answer[] = "221 bye\r\n";

static int
is_verb(const char *line, size_t len, const char *verb)
{
	size_t n = strlen(verb);

	return len >= n && strncasecmp(line, verb, n) == 0 &&
	       (len == n || line[n] == ' ' || line[n] == '\r' || line[n] == '\n');
}

/*
 * --tor-eof: whether the client has half-closed, looking up to
 * TOR_EOF_MS ahead. tor reads the client's data and its end together and
 * ends the stream both ways; a client that writes its last command and
 * half-closes at once gets no answer to it.
 */
static int
client_ended(int fd)
{
	char b;

	return wait_readable(fd, now_ms() + TOR_EOF_MS) > 0 &&
	       recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Answer one line (with its terminator). Returns 1 after QUIT. */
static int
smtp_line(int fd, const char *line, size_t len)
{
	if (is_verb(line, len, "EHLO"))
		write_all(fd, ehlo_answer, sizeof(ehlo_answer) - 1);
	else if (is_verb(line, len, "HELO"))
		write_all(fd, helo_answer, sizeof(helo_answer) - 1);
	else if (is_verb(line, len, "QUIT")) {
		write_all(fd, quit_answer, sizeof(quit_answer) - 1);
		return 1;
	} else
		write_all(fd, line, len);
	return 0;
}

static void
smtp_loop(int fd)
{
	char buf[4096];
	size_t have = 0, start, i;
	ssize_t r;

	for (;;) {
		if (wait_readable(fd, now_ms() + IDLE_MS) <= 0)
			break;
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		start = 0;
		for (i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (opt.tor_eof && client_ended(fd)) {
				close(fd);
				return;
			}
			if (smtp_line(fd, buf + start, i + 1 - start)) {
				close_gently(fd);
				return;
			}
			start = i + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		/* A line longer than the buffer is echoed in pieces. */
		if (have == sizeof(buf)) {
			write_all(fd, buf, have);
			have = 0;
		}
	}
	close(fd);
}

/* The success actions: answer the request for real. */
static void
answer(struct conn *c)
{
	uint8_t reply[ONIONSHIM_SOCKS5_REPLY_MAX + sizeof(opt.banner)];
	size_t n;

	switch (c->cmd) {
	case ONIONSHIM_SOCKS5_RESOLVE:
		n = resolve_reply(reply, c);
		finish(c, reply, n);
		return;
	case ONIONSHIM_SOCKS5_RESOLVE_PTR:
		n = ptr_reply(reply, c);
		finish(c, reply, n);
		return;
	case ONIONSHIM_SOCKS5_CONNECT:
		break;
	default:
		c->end = "bad-cmd";
		n = failure_reply(reply, 0x07);
		finish(c, reply, n);
		return;
	}
	n = connect_reply(reply, c->act->kind);
	record(c);
	if (c->act->kind == A_DELAY) {
		struct timespec d = { c->act->delay_ms / 1000,
				      (long)(c->act->delay_ms % 1000) * 1000000L };

		while (nanosleep(&d, &d) != 0 && errno == EINTR)
			;
	}
	if (c->act->kind == A_LONG) {
		/* One write: a client that over-reads the reply eats the banner. */
		memcpy(reply + n, opt.banner, opt.banner_len);
		if (write_all(c->fd, reply, n + opt.banner_len) != 0)
			goto out;
	} else if (send_bytes(c, reply, n) != 0 ||
		   (opt.banner_len > 0 && send_bytes(c, opt.banner, opt.banner_len) != 0)) {
		goto out;
	}
	smtp_loop(c->fd);
	return;
out:
	close(c->fd);
}

static void
after_request(struct conn *c)
{
	uint8_t reply[ONIONSHIM_SOCKS5_REPLY_MAX];
	size_t n;

	switch (c->act->kind) {
	case A_CLOSE_REQUEST:
		finish(c, NULL, 0);
		return;
	case A_STALL_CONNECT:
		stall(c);
		return;
	case A_CODE:
		n = failure_reply(reply, c->act->code);
		finish(c, reply, n);
		return;
	case A_GARBAGE_REPLY:
		n = failure_reply(reply, 0x00);
		reply[0] = 0x04;
		finish(c, reply, n);
		return;
	case A_GARBAGE_ATYP:
		n = failure_reply(reply, 0x00);
		reply[3] = 0x09;
		finish(c, reply, n);
		return;
	case A_SHORT_REPLY:
		n = connect_reply(reply, A_OK);
		finish(c, reply, 3);
		return;
	case A_RESET_REQUEST: {
		struct linger lg = { 1, 0 };	/* close() sends RST */

		record(c);
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		return;
	}
	default:
		answer(c);
		return;
	}
}

/* A request that could not be read fully: answer 08 for an unknown ATYP. */
static void
bad_request(struct conn *c)
{
	uint8_t reply[ONIONSHIM_SOCKS5_REPLY_MAX];
	size_t n = 0;

	if (c->end != NULL && strcmp(c->end, "bad-atyp") == 0)
		n = failure_reply(reply, 0x08);
	finish(c, reply, n);
}

static void
serve(struct conn *c)
{
	static const char garbage[] = "HTTP/1.1 400\r\n\r\n";	/* 16 bytes */
	uint8_t m[2] = { 0x05, 0x00 };
	static const uint8_t auth_ok[2] = { 0x01, 0x00 }, auth_no[2] = { 0x01, 0x01 };

	if (read_greeting(c) != 0) {
		finish(c, NULL, 0);
		return;
	}
	switch (c->act->kind) {
	case A_CLOSE_GREETING:
		finish(c, NULL, 0);
		return;
	case A_STALL:
		stall(c);
		return;
	case A_GARBAGE:
		finish(c, garbage, sizeof(garbage) - 1);
		return;
	default:
		break;
	}
	m[1] = choose_method(c);
	if (m[1] == 0xFF) {
		c->end = "no-method";
		finish(c, m, 2);
		return;
	}
	send_bytes(c, m, 2);
	if (m[1] == 0x02) {
		if (read_auth(c) != 0) {
			finish(c, NULL, 0);
			return;
		}
		if (c->act->kind == A_REFUSE_AUTH) {
			finish(c, auth_no, 2);
			return;
		}
		send_bytes(c, auth_ok, 2);
	}
	if (read_request(c) != 0) {
		bad_request(c);
		return;
	}
	for (size_t i = 0; i < opt.nport_plan; i++)
		if (c->cmd == ONIONSHIM_SOCKS5_CONNECT && opt.port_plan[i].port == c->port)
			c->act = &opt.port_plan[i].act;
	after_request(c);
}

/* ---- the listener ------------------------------------------------------------ */

static const struct action *
action_for(unsigned long num)
{
	size_t i = num - 1 < opt.nactions ? num - 1 : opt.nactions - 1;

	return &opt.actions[i];
}

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "socks5d: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint16_t
open_listener(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	l->fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		die("socket");
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* So that [::]:P and 0.0.0.0:P can both be listened on. */
	if (l->ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->ss, l->sslen) != 0)
		die("bind");
	if (listen(l->fd, 128) != 0)
		die("listen");
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0)
		die("getsockname");
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Write the ports to FILE.tmp and rename it, so readers see all or none. */
static void
write_port_file(const uint16_t *ports)
{
	char tmp[4096], text[MAX_LISTEN * 8];
	size_t i, n = 0;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		die(opt.port_file);
	}
	for (i = 0; i < opt.nlisten; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%u\n", ports[i]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(tmp);
	if (write_all(fd, text, n) != 0 || close(fd) != 0)
		die(tmp);
	if (rename(tmp, opt.port_file) != 0)
		die(opt.port_file);
}

static void
set_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Children are reaped by the kernel: the parent never waits. */
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_stop;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Blocked except inside ppoll, so a stop can never be missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

static void
child(int fd, unsigned long num, const sigset_t *waitmask)
{
	static struct conn c;
	struct sigaction sa;
	size_t i;
	int one = 1, null;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigprocmask(SIG_SETMASK, waitmask, NULL);
	for (i = 0; i < opt.nlisten; i++)
		close(opt.listen[i].fd);
	/* A harness that waits for the server's stdout to close must not
	 * wait for connections that outlive the server. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.num = num;
	c.act = action_for(num);
	serve(&c);
	record(&c);
	_exit(0);
}

static void
accept_one(int lfd, unsigned long *num, const sigset_t *waitmask)
{
	pid_t pid;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			fprintf(stderr, "socks5d: accept: %s\n", strerror(errno));
		return;
	}
	++*num;
	pid = fork();
	if (pid == 0)
		child(fd, *num, waitmask);
	if (pid < 0)
		fprintf(stderr, "socks5d: fork: %s\n", strerror(errno));
	close(fd);
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[MAX_LISTEN];
	uint16_t ports[MAX_LISTEN];
	unsigned long num = 0;
	sigset_t waitmask;
	size_t i;

	parse_args(argc, argv);
	opt.record_fd = open(opt.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (opt.record_fd < 0)
		die(opt.record);
	set_signals(&waitmask);
	for (i = 0; i < opt.nlisten; i++) {
		ports[i] = open_listener(&opt.listen[i]);
		pfd[i].fd = opt.listen[i].fd;
		pfd[i].events = POLLIN;
	}
	write_port_file(ports);
	while (!stop) {
		if (ppoll(pfd, opt.nlisten, NULL, &waitmask) < 0) {
			if (errno != EINTR)
				die("ppoll");
			continue;
		}
		for (i = 0; i < opt.nlisten && !stop; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(pfd[i].fd, &num, &waitmask);
	}
	for (i = 0; i < opt.nlisten; i++)
		close(opt.listen[i].fd);
	return 0;
}
