/*
 * peers - getpeername() on a proxied socket and on its duplicates, and on
 * a plain socket that reuses the descriptor number after the proxied one
 * was closed: per-socket state must follow the socket, never the number.
 *
 * usage: peers [-s] close|close_range|closefrom NAME HOST:PORT
 *   Resolves NAME (AF_INET), connects to it on port 25, prints peer= and
 *   the peers of a dup() and a F_DUPFD_CLOEXEC copy (dup_peer=,
 *   dupfd_peer=), ends the SMTP session (QUIT, then reads to EOF), closes
 *   every copy with close(), close_range() or closefrom(), then connects a
 *   new socket to HOST:PORT (numeric IPv4) and prints fd_reused= (the new
 *   socket got the proxied socket's number), new_peer= and want_peer=.
 *   -s: bind the new socket to the proxied socket's local address first,
 *   so that nothing but the socket itself tells the two apart. Both
 *   sockets are bound with SO_REUSEADDR (the proxied one to port 0 before
 *   it connects), so that no leftover TIME_WAIT holds the port.
 *
 * Exits 0 when every step ran, 1 when one failed (printed as step=ERRNO).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
fail(const char *step)
{
	printf("%s=%s\n", step, strerror(errno));
	return 1;
}

static void
print_peer(const char *key, int fd)
{
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);
	char a[INET_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&sin, &l) < 0) {
		printf("%s=%s\n", key, strerror(errno));
		return;
	}
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	printf("%s=%s:%u\n", key, a, ntohs(sin.sin_port));
}

/* finish_smtp - QUIT and read to EOF: the server closes first. */
static void
finish_smtp(int fd)
{
	char buf[512];

	if (write(fd, "QUIT\r\n", 6) != 6)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int
close_all(const char *mode, int fd, int d1, int d2)
{
	if (strcmp(mode, "close_range") == 0)
		return close_range((unsigned)fd, ~0U, 0);
	if (strcmp(mode, "closefrom") == 0) {
		closefrom(fd);
		return 0;
	}
	close(fd);
	close(d1);
	close(d2);
	return 0;
}

/* bind_reusable - bind FD to LOCAL with SO_REUSEADDR */
static int
bind_reusable(int fd, const struct sockaddr_in *local)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)local, sizeof(*local));
}

/* bind_again - the local end just freed may take a moment to be free */
static int
bind_again(int fd, const struct sockaddr_in *local)
{
	const struct timespec pause = { 0, 10000000 };
	int one = 1, i;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (i = 0; i < 200; i++) {
		if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -1;
		nanosleep(&pause, NULL);
	}
	return -1;
}

static int
parse_plain(const char *arg, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	struct sockaddr_in plain, local;
	socklen_t l = sizeof(local);
	int same_local = 0, fd, d1, d2, nfd;
	const char *mode;

	if (argc > 1 && strcmp(argv[1], "-s") == 0) {
		same_local = 1;
		argv++;
		argc--;
	}
	if (argc != 4 || parse_plain(argv[3], &plain) < 0) {
		fprintf(stderr, "usage: peers [-s] close|close_range|closefrom NAME HOST:PORT\n");
		return 2;
	}
	mode = argv[1];
	if (getaddrinfo(argv[2], "25", &hints, &res) != 0) {
		printf("resolve=failed\n");
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	memset(&local, 0, sizeof(local));
	local.sin_family = AF_INET;
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (same_local && bind_reusable(fd, &local) < 0)
		return fail("bind");
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		return fail("connect");
	freeaddrinfo(res);
	print_peer("peer", fd);
	d1 = dup(fd);
	d2 = fcntl(fd, F_DUPFD_CLOEXEC, fd + 20);
	if (d1 < 0 || d2 < 0)
		return fail("dup");
	print_peer("dup_peer", d1);
	print_peer("dupfd_peer", d2);
	if (getsockname(fd, (struct sockaddr *)&local, &l) < 0)
		return fail("getsockname");
	finish_smtp(fd);
	if (close_all(mode, fd, d1, d2) < 0)
		return fail(mode);
	nfd = socket(AF_INET, SOCK_STREAM, 0);
	if (nfd < 0)
		return fail("socket");
	printf("fd_reused=%d\n", nfd == fd);
	if (same_local && bind_again(nfd, &local) < 0)
		return fail("bind");
	if (connect(nfd, (struct sockaddr *)&plain, sizeof(plain)) < 0)
		return fail("plain_connect");
	print_peer("new_peer", nfd);
	printf("want_peer=%s\n", argv[3]);
	close(nfd);
	return 0;
}
