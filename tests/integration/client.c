/*
 * client - a small program for the integration tests: resolve a name the
 * way an MTA does, connect (blocking, or non-blocking as Postfix does:
 * O_NONBLOCK, connect, poll for POLLOUT, SO_ERROR), read the banner, and
 * print what it saw as key=value lines on stdout.
 *
 * usage: client [-4|-6] [-H gethostbyname|gethostbyname2|gethostbyname_r]
 *               [-n] [-p PORT] [-q] [-S 4|6] NAME
 *   -4/-6  ask getaddrinfo for AF_INET / AF_INET6 (default AF_UNSPEC)
 *   -H     resolve with the gethostbyname family instead
 *   -n     non-blocking connect, as Postfix's smtp does
 *   -p     port (default 25)
 *   -q     after the banner, send "QUIT\r\n" and print the reply
 *   -r     resolve only: print the address and stop
 *   -S     socket family override (e.g. an AF_INET6 socket for an IPv4 address)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
print_escaped(const char *key, const char *s, size_t n)
{
	size_t i;

	printf("%s=", key);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c > 0x7e || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
}

static const char *
errname(int e)
{
	static char buf[32];

	switch (e) {
#define E(x) case x: return #x;
	E(ECONNABORTED) E(EACCES) E(ENETUNREACH) E(EHOSTUNREACH) E(ECONNREFUSED)
	E(ETIMEDOUT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EBADMSG) E(EHOSTDOWN)
	E(ECONNRESET) E(ENOKEY) E(EKEYREJECTED) E(EINVAL) E(EPROTO) E(ENETDOWN)
	E(EPERM) E(EINTR) E(EINPROGRESS) E(ENOSYS)
#undef E
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int
resolve_hostent(const char *how, const char *name, int family, struct sockaddr_storage *ss,
		socklen_t *len)
{
	struct hostent he, *hp = NULL;
	char buf[1024];
	int herr = 0, af = family == AF_INET6 ? AF_INET6 : AF_INET;

	if (strcmp(how, "gethostbyname") == 0) {
		hp = gethostbyname(name);
		herr = h_errno;
	} else if (strcmp(how, "gethostbyname2") == 0) {
		hp = gethostbyname2(name, af);
		herr = h_errno;
	} else {
		int rc = gethostbyname2_r(name, af, &he, buf, sizeof(buf), &hp, &herr);

		if (rc != 0 && hp == NULL)
			printf("hostent_rc=%d\n", rc);
	}
	if (hp == NULL) {
		printf("resolve=h_errno:%s\n", herr == TRY_AGAIN ? "TRY_AGAIN" :
		       herr == HOST_NOT_FOUND ? "HOST_NOT_FOUND" : herr == NO_DATA ?
		       "NO_DATA" : "OTHER");
		return -1;
	}
	printf("h_name=%s\n", hp->h_name);
	memset(ss, 0, sizeof(*ss));
	if (hp->h_addrtype == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, hp->h_addr_list[0], 16);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, hp->h_addr_list[0], 4);
		*len = sizeof(*s4);
	}
	return 0;
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static void
print_addr(const char *key, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		printf("%s=[%s]:%u\n", key, a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		printf("%s=%s:%u\n", key, a, ntohs(s4->sin_port));
	}
}

static int
do_connect(int fd, const struct sockaddr *sa, socklen_t len, int nonblock)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t l = sizeof(err);

	if (!nonblock)
		return connect(fd, sa, len) < 0 ? errno : 0;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	printf("inprogress=1\n");
	if (poll(&p, 1, 30000) != 1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return errno;
	return err;
}

/* read_line - read until a newline (a slow server sends it byte by byte) */
static ssize_t
read_line(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while (have < size && (have == 0 || buf[have - 1] != '\n')) {
		n = read(fd, buf + have, size - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	return (ssize_t)have;
}

int
main(int argc, char **argv)
{
	const char *how = NULL;
	int family = AF_UNSPEC, sockfam = 0, nonblock = 0, quit = 0, resolve_only = 0;
	int port = 25, c, fd, err, flags_before, flags_after;
	struct sockaddr_storage ss, peer;
	socklen_t len = 0, plen = sizeof(peer);
	char buf[512];
	ssize_t n;

	while ((c = getopt(argc, argv, "46H:np:qrS:")) != -1) {
		switch (c) {
		case '4': family = AF_INET; break;
		case '6': family = AF_INET6; break;
		case 'H': how = optarg; break;
		case 'n': nonblock = 1; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'q': quit = 1; break;
		case 'r': resolve_only = 1; break;
		case 'S': sockfam = optarg[0] == '6' ? AF_INET6 : AF_INET; break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	if (how != NULL) {
		if (resolve_hostent(how, argv[optind], family, &ss, &len) < 0)
			return 1;
	} else {
		struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
		int rc = getaddrinfo(argv[optind], NULL, &hints, &res);

		if (rc != 0) {
			printf("resolve=%s\n", rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_NONAME ?
			       "EAI_NONAME" : rc == EAI_FAIL ? "EAI_FAIL" : gai_strerror(rc));
			return 1;
		}
		printf("results=%d\n", res->ai_next ? 2 : 1);
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		len = res->ai_addrlen;
		freeaddrinfo(res);
	}
	set_port(&ss, port);
	print_addr("addr", &ss);
	if (resolve_only)
		return 0;
	if (sockfam == AF_INET6 && ss.ss_family == AF_INET) {
		/* an AF_INET6 socket reaching an IPv4 address, v4-mapped */
		struct sockaddr_in s4;
		struct sockaddr_in6 *s6 = (void *)&ss;

		memcpy(&s4, &ss, sizeof(s4));
		memset(s6, 0, sizeof(*s6));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = s4.sin_port;
		s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &s4.sin_addr, 4);
		len = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	flags_before = fcntl(fd, F_GETFL) | (nonblock ? O_NONBLOCK : 0);
	err = do_connect(fd, (struct sockaddr *)&ss, len, nonblock);
	flags_after = fcntl(fd, F_GETFL);
	printf("connect=%s\n", err ? errname(err) : "ok");
	printf("flags_restored=%d\n", flags_before == flags_after);
	if (err)
		return 1;
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
		print_addr("peer", &peer);
	if (nonblock)
		fcntl(fd, F_SETFL, flags_after & ~O_NONBLOCK);
	n = read_line(fd, buf, sizeof(buf));
	print_escaped("banner", buf, n > 0 ? (size_t)n : 0);
	if (quit) {
		if (write(fd, "QUIT\r\n", 6) != 6)
			return 1;
		n = read(fd, buf, sizeof(buf));
		print_escaped("reply", buf, n > 0 ? (size_t)n : 0);
	}
	close(fd);
	return 0;
}
