/*
 * NAME
 *	client - the benchmarks' workload: N connections, as an MTA makes them
 * SYNOPSIS
 *	client [-n N] [-b] [-t] NAME PORT                 (a proxied cycle)
 *	client [-n N] [-b] [-t] -F SOCKS_PORT NAME PORT   (the floor)
 *	client [-n N] -U UNIX_PATH                   (AF_UNIX connects)
 *	client [-n N] -G NUMERIC_NAME                (numeric getaddrinfo)
 * DESCRIPTION
 *	A proxied cycle is what an MTA does for one delivery:
 *	getaddrinfo(NAME, PORT), socket, connect to the first address, read
 *	the banner, close. With -b the connect is made as Postfix's smtp
 *	makes it when smtp_connect_timeout is set: fcntl to non-blocking,
 *	connect, poll for POLLOUT and read SO_ERROR if it is in progress,
 *	fcntl back to blocking, and poll for POLLIN before the read. A
 *	preload library under test (onionshim, torsocks, proxychains-ng)
 *	turns the connect into a SOCKS5 exchange.
 *
 *	The floor (-F) is the same cycle done by a program that speaks
 *	SOCKS5 itself, as cheaply as it can be done: getaddrinfo of the
 *	numeric SOCKS address (no lookup), socket, connect, one write with
 *	the greeting and the CONNECT for NAME:PORT, one read of exactly the
 *	2-byte method reply and the 10-byte reply the sink sends, the
 *	banner read, close.
 *
 *	-U and -G measure calls a preload library must pass through:
 *	socket, connect to an AF_UNIX address, close; and getaddrinfo of a
 *	numeric address with freeaddrinfo. The AF_UNIX address is a datagram
 *	socket that the client binds at UNIX_PATH itself, so that no other
 *	process (and no scheduling) is in the loop: a hook looks at the
 *	family only, whatever the socket type.
 *
 *	Every banner is checked; a failed cycle is counted and reported.
 *	On success the client prints one line, elapsed_ns=T: the wall time
 *	of the N cycles on CLOCK_MONOTONIC, so that a driver under load
 *	does not time the exec and the loader as well. With -t it also
 *	times every cycle and prints cycle_p50_ns=T, the median: on a busy
 *	machine the stalls that other processes cause land in a few cycles,
 *	which the median leaves out (-t costs two clock reads a cycle, so
 *	instruction counts are taken without it).
 * RETURNS
 *	Exit status 0 when all N cycles worked, 1 otherwise, 2 for bad usage.
 * NEVER
 *	resolves a name that is not numeric without a preload library in
 *	front of it (the benchmark driver only asks it for onion names under
 *	a library, and numeric ones otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BANNER_PREFIX "220 "
#define TIMEOUT_MS 10000

struct opts {
	long n;
	int nonblock, timed;
	const char *floor_port, *unix_path, *numeric;
	const char *name, *port;
};

static unsigned long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void
fail(long i, const char *what, int err)
{
	fprintf(stderr, "client: cycle %ld: %s: %s\n", i, what, err ? strerror(err) : "bad data");
}

/* non_blocking - set or clear O_NONBLOCK, as Postfix's non_blocking(). */
static int
non_blocking(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL, 0);

	if (flags < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

/* timed_connect - Postfix's timed_connect(): 0 or -1 with errno. */
static int
timed_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t l = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	if (poll(&p, 1, TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* do_connect - connect FD the way the options say. */
static int
do_connect(const struct opts *o, int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc, saved;

	if (!o->nonblock)
		return connect(fd, sa, len);
	if (non_blocking(fd, 1) < 0)
		return -1;
	rc = timed_connect(fd, sa, len);
	saved = errno;
	if (non_blocking(fd, 0) < 0)
		return -1;
	errno = saved;
	return rc;
}

/* read_banner - one read of the banner (after a poll, as Postfix reads). */
static int
read_banner(const struct opts *o, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n;

	if (o->nonblock && poll(&p, 1, TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < (ssize_t)(sizeof(BANNER_PREFIX) - 1) ||
	    memcmp(buf, BANNER_PREFIX, sizeof(BANNER_PREFIX) - 1) != 0) {
		errno = n < 0 ? errno : 0;
		return -1;
	}
	return 0;
}

/* socks_request - the floor's one write: greeting and CONNECT by name. */
static size_t
socks_request(const struct opts *o, unsigned char *buf)
{
	size_t nlen = strlen(o->name), n = 0;
	long port = strtol(o->port, NULL, 10);

	buf[n++] = 5, buf[n++] = 1, buf[n++] = 0;		/* no authentication */
	buf[n++] = 5, buf[n++] = 1, buf[n++] = 0, buf[n++] = 3;	/* CONNECT, by name */
	buf[n++] = (unsigned char)nlen;
	memcpy(buf + n, o->name, nlen);
	n += nlen;
	buf[n++] = (unsigned char)(port >> 8);
	buf[n++] = (unsigned char)port;
	return n;
}

/* floor_exchange - the hand-pipelined SOCKS5 exchange. */
static int
floor_exchange(int fd, const unsigned char *req, size_t reqlen)
{
	unsigned char r[12];

	if (write(fd, req, reqlen) != (ssize_t)reqlen)
		return -1;
	/* the sink's method reply and its ATYP 1 reply: 2 + 10 bytes */
	if (recv(fd, r, sizeof(r), MSG_WAITALL) != (ssize_t)sizeof(r) || r[0] != 5 ||
	    r[1] != 0 || r[2] != 5 || r[3] != 0) {
		errno = 0;
		return -1;
	}
	return 0;
}

static int
one_cycle(const struct opts *o, long i, const unsigned char *req, size_t reqlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int fd, rc;

	if (o->floor_port != NULL) {
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		rc = getaddrinfo("127.0.0.1", o->floor_port, &hints, &res);
	} else {
		rc = getaddrinfo(o->name, o->port, &hints, &res);
	}
	if (rc != 0) {
		fprintf(stderr, "client: cycle %ld: getaddrinfo: %s\n", i, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0) {
		fail(i, "socket", errno);
		freeaddrinfo(res);
		return -1;
	}
	rc = do_connect(o, fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc < 0)
		fail(i, "connect", errno);
	else if (o->floor_port != NULL && (rc = floor_exchange(fd, req, reqlen)) < 0)
		fail(i, "SOCKS5 exchange", errno);
	else if ((rc = read_banner(o, fd)) < 0)
		fail(i, "banner", errno);
	close(fd);
	return rc;
}

/* unix_cycle - the address is built once, so the cycle is the three calls */
static int
unix_cycle(const struct sockaddr_un *sun, long i)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0), rc;

	rc = fd < 0 ? -1 : connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc < 0)
		fail(i, "AF_UNIX connect", errno);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* unix_listen - bind the datagram socket that the cycles connect to. */
static int
unix_listen(const char *path, struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sun->sun_path, path, strlen(path) + 1);
	unlink(path);
	if (fd < 0 || bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		fprintf(stderr, "client: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
numeric_cycle(const struct opts *o, long i)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(o->numeric, "25", &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "client: cycle %ld: getaddrinfo: %s\n", i, gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static int
by_value(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static int
usage(void)
{
	fprintf(stderr, "usage: client [-n N] [-b] [-t] [-F SOCKS_PORT] NAME PORT\n"
		"       client [-n N] -U UNIX_PATH\n"
		"       client [-n N] -G NUMERIC_NAME\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct opts o = { .n = 1 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned char req[300];
	size_t reqlen = 0;
	unsigned long long t0, t1, *cycle = NULL;
	long i, failed = 0;
	int c, rc;

	while ((c = getopt(argc, argv, "btn:F:G:U:")) != -1) {
		switch (c) {
		case 'b': o.nonblock = 1; break;
		case 't': o.timed = 1; break;
		case 'n': o.n = strtol(optarg, NULL, 10); break;
		case 'F': o.floor_port = optarg; break;
		case 'G': o.numeric = optarg; break;
		case 'U': o.unix_path = optarg; break;
		default: return usage();
		}
	}
	if (o.unix_path != NULL || o.numeric != NULL) {
		if (optind != argc || (o.unix_path != NULL &&
		    strlen(o.unix_path) >= sizeof(sun.sun_path)))
			return usage();
		if (o.unix_path != NULL && unix_listen(o.unix_path, &sun) < 0)
			return 1;
	} else if (optind + 2 == argc && strlen(argv[optind]) <= 255) {
		o.name = argv[optind];
		o.port = argv[optind + 1];
		reqlen = socks_request(&o, req);
	} else {
		return usage();
	}
	if (o.timed && (o.n < 1 || (cycle = calloc((size_t)o.n, sizeof(*cycle))) == NULL))
		return usage();
	t0 = t1 = now_ns();
	for (i = 0; i < o.n; i++) {
		if (o.unix_path != NULL)
			rc = unix_cycle(&sun, i);
		else if (o.numeric != NULL)
			rc = numeric_cycle(&o, i);
		else
			rc = one_cycle(&o, i, req, reqlen);
		if (cycle != NULL) {
			unsigned long long t = now_ns();

			cycle[i] = t - t1;
			t1 = t;
		}
		if (rc < 0 && ++failed >= 10)
			break;	/* something is broken: do not flood the log */
	}
	if (failed == 0)
		printf("elapsed_ns=%llu\n", now_ns() - t0);
	if (failed == 0 && cycle != NULL) {
		qsort(cycle, (size_t)o.n, sizeof(*cycle), by_value);
		printf("cycle_p50_ns=%llu\n", cycle[o.n / 2]);
	}
	free(cycle);
	if (o.unix_path != NULL)
		unlink(o.unix_path);
	if (failed > 0)
		fprintf(stderr, "client: %ld cycle(s) failed\n", failed);
	return failed > 0;
}
