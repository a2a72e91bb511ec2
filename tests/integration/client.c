/*
 * client - a small program for the integration tests: resolve a name the
 * way an MTA does, connect (blocking, or non-blocking as Postfix does:
 * O_NONBLOCK, connect, poll for POLLOUT, SO_ERROR), read the banner, and
 * print what it saw as key=value lines on stdout.
 *
 * usage: client [-4|-6] [-H gethostbyname|gethostbyname2|gethostbyname_r]
 *               [-n] [-p PORT] [-q] [-S 4|6] [-a SECS [-R]] [-b] [-C] [-c N]
 *               [-E] [-I] [-K] [-L TAG] [-t] [-T sendto|sendmsg] [-V] [-w|-W] [-Z] [-2]
 *               NAME
 *   -4/-6  ask getaddrinfo for AF_INET / AF_INET6 (default AF_UNSPEC)
 *   -H     resolve with the gethostbyname family instead
 *   -n     non-blocking connect, as Postfix's smtp does
 *   -p     port (default 25)
 *   -q     after the banner, send "QUIT\r\n" and print the reply
 *   -r     resolve only: print the address and stop
 *   -S     socket family override (e.g. an AF_INET6 socket for an IPv4 address)
 *   -a     time the connect as Exim does: a SIGALRM handler installed
 *          without SA_RESTART, alarm(SECS) before connect, alarm(0) after;
 *          prints alarms=N (handler runs)
 *   -R     with -a: install the handler with SA_RESTART
 *   -b     bind the socket (wildcard address, port 0) before connecting
 *   -C     create the socket with SOCK_CLOEXEC
 *   -c     connect N times, each on a new socket (the program goes on)
 *   -E     at start, print fds_open / fds_inheritable: descriptors >= 3
 *          open, and how many of them lack FD_CLOEXEC
 *   -I     after connect, print fd_same, domain, cloexec (and keepalive,
 *          nodelay with -K): what a replaced socket kept
 *   -K     set SO_KEEPALIVE and TCP_NODELAY before connecting
 *   -L     openlog(TAG, LOG_PID, LOG_MAIL) at start; after connecting, one
 *          syslog(LOG_NOTICE) line: the program's own log must keep its tag
 *   -t     print elapsed_ms, the time connect() took
 *   -T     TCP Fast Open instead of connect: sendto or sendmsg with
 *          MSG_FASTOPEN and "EHLO tfo\r\n"; prints tfo=ok:N or tfo=ERRNO
 *   -V     set IPV6_V6ONLY on an AF_INET6 socket before connecting
 *   -w     with -q: half-close (shutdown SHUT_WR) right after sending QUIT,
 *          as Exim does, then read the reply; prints shutdown=ok|ERRNO
 *   -W     as -w, but through syscall(SYS_shutdown), which no hook sees
 *   -Z     closefrom(3) at start, as daemons do: descriptors that a
 *          preloaded library opened are gone, and their numbers get reused
 *   -2     after a successful connect, connect the socket again and print
 *          reconnect=ERRNO (libc says EISCONN); the banner read after it
 *          shows whether the first connection survived
 *
 * Every failure is printed and the program goes on: it exits 1 after the
 * last attempt if any failed, never by a signal.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

struct opts {
	int nonblock, quit, halfclose, alarm_secs, restart, bind_first, cloexec, count;
	int fdinfo, keep, elapsed, v6only, again;
	const char *tag, *tfo;
};

static volatile sig_atomic_t alarms;

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
	E(EPERM) E(EINTR) E(EINPROGRESS) E(ENOSYS) E(EISCONN) E(EALREADY)
	E(EADDRNOTAVAIL) E(EPIPE)
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

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Exim's way: alarm() around a blocking connect, no SA_RESTART. */
static void
arm_alarm(const struct opts *o)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = o->restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)o->alarm_secs);
}

static long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* print_fds - descriptors >= 3 this process holds, and the inheritable ones */
static void
print_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int open_fds = 0, inheritable = 0, fd;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		fd = (int)strtol(e->d_name, NULL, 10);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 3 || fd == dirfd(d))
			continue;
		open_fds++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			inheritable++;
	}
	closedir(d);
	printf("fds_open=%d\nfds_inheritable=%d\n", open_fds, inheritable);
}

static int
intopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -1;
	return v;
}

static void
prepare_socket(int fd, int family, const struct opts *o)
{
	int one = 1;

	if (o->v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		printf("v6only=%s\n", errname(errno));
	if (o->keep) {
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (o->bind_first) {
		struct sockaddr_storage any;

		memset(&any, 0, sizeof(any));
		any.ss_family = (sa_family_t)family;
		if (bind(fd, (struct sockaddr *)&any, family == AF_INET6 ?
			 sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0)
			printf("bind=%s\n", errname(errno));
	}
}

static void
print_fdinfo(int fd, int fd_before, const struct opts *o)
{
	int dom = intopt(fd, SOL_SOCKET, SO_DOMAIN);

	printf("fd_same=%d\n", fd == fd_before && fcntl(fd, F_GETFD) >= 0);
	printf("domain=%s\n", dom == AF_INET6 ? "AF_INET6" : dom == AF_INET ? "AF_INET" : "?");
	printf("cloexec=%d\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
	if (o->keep) {
		printf("keepalive=%d\n", intopt(fd, SOL_SOCKET, SO_KEEPALIVE));
		printf("nodelay=%d\n", intopt(fd, IPPROTO_TCP, TCP_NODELAY));
	}
}

/* fast_open - TCP Fast Open: data in the SYN, no connect() at all. */
static int
fast_open(int fd, const struct sockaddr *sa, socklen_t len, const char *how)
{
	static const char data[] = "EHLO tfo\r\n";
	ssize_t n;

	if (strcmp(how, "sendmsg") == 0) {
		struct iovec iov = { .iov_base = (void *)data, .iov_len = sizeof(data) - 1 };
		struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = len, .msg_iov = &iov,
				    .msg_iovlen = 1 };

		n = sendmsg(fd, &m, MSG_FASTOPEN | MSG_NOSIGNAL);
	} else {
		n = sendto(fd, data, sizeof(data) - 1, MSG_FASTOPEN | MSG_NOSIGNAL, sa, len);
	}
	if (n < 0) {
		printf("tfo=%s\n", errname(errno));
		return 1;
	}
	printf("tfo=ok:%zd\n", n);
	return 0;
}

/* attempt - one socket, one connect, banner (and QUIT). 0 or 1 (failed). */
static int
attempt(const struct sockaddr_storage *ss, socklen_t len, const struct opts *o)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	int fd, fd_before, err, flags_before, flags_after;
	long t0;
	char buf[512];
	ssize_t n;

	fd = socket(ss->ss_family, SOCK_STREAM | (o->cloexec ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return 1;
	fd_before = fd;
	prepare_socket(fd, ss->ss_family, o);
	if (o->tfo != NULL) {
		err = fast_open(fd, (const struct sockaddr *)ss, len, o->tfo);
		close(fd);
		return err;
	}
	flags_before = fcntl(fd, F_GETFL) | (o->nonblock ? O_NONBLOCK : 0);
	if (o->alarm_secs > 0)
		arm_alarm(o);
	t0 = ms_now();
	err = do_connect(fd, (const struct sockaddr *)ss, len, o->nonblock);
	if (o->alarm_secs > 0)
		alarm(0);
	flags_after = fcntl(fd, F_GETFL);
	printf("connect=%s\n", err ? errname(err) : "ok");
	printf("flags_restored=%d\n", flags_before == flags_after);
	if (o->elapsed)
		printf("elapsed_ms=%ld\n", ms_now() - t0);
	if (o->alarm_secs > 0)
		printf("alarms=%d\n", (int)alarms);
	if (o->fdinfo)
		print_fdinfo(fd, fd_before, o);
	if (o->tag != NULL)
		syslog(LOG_NOTICE, "client connect: %s", err ? errname(err) : "ok");
	if (err) {
		close(fd);
		return 1;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
		print_addr("peer", &peer);
	if (o->again)
		printf("reconnect=%s\n", connect(fd, (const struct sockaddr *)ss, len) == 0 ?
		       "ok" : errname(errno));
	if (o->nonblock)
		fcntl(fd, F_SETFL, flags_after & ~O_NONBLOCK);
	n = read_line(fd, buf, sizeof(buf));
	print_escaped("banner", buf, n > 0 ? (size_t)n : 0);
	if (o->quit) {
		if (write(fd, "QUIT\r\n", 6) != 6) {
			close(fd);
			return 1;
		}
		if (o->halfclose) {
			int r = o->halfclose == 'W' ? (int)syscall(SYS_shutdown, fd, SHUT_WR) :
						      shutdown(fd, SHUT_WR);

			printf("shutdown=%s\n", r == 0 ? "ok" : errname(errno));
		}
		n = read(fd, buf, sizeof(buf));
		print_escaped("reply", buf, n > 0 ? (size_t)n : 0);
	}
	close(fd);
	return 0;
}

/* v4mapped - SS (AF_INET) as ::ffff:a.b.c.d, for an AF_INET6 socket. */
static void
v4mapped(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 *s6 = (void *)ss;

	memcpy(&s4, ss, sizeof(s4));
	memset(s6, 0, sizeof(*s6));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = s4.sin_port;
	s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &s4.sin_addr, 4);
	*len = sizeof(*s6);
}

static int
resolve(const char *how, const char *name, int family, struct sockaddr_storage *ss,
	socklen_t *len)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM }, *res;
	int rc;

	if (how != NULL)
		return resolve_hostent(how, name, family, ss, len);
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0) {
		printf("resolve=%s\n", rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_NONAME ?
		       "EAI_NONAME" : rc == EAI_FAIL ? "EAI_FAIL" : gai_strerror(rc));
		return -1;
	}
	printf("results=%d\n", res->ai_next ? 2 : 1);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .count = 1 };
	const char *how = NULL;
	int family = AF_UNSPEC, sockfam = 0, resolve_only = 0, show_fds = 0;
	int port = 25, c, i, failed = 0;
	struct sockaddr_storage ss;
	socklen_t len = 0;

	while ((c = getopt(argc, argv, "46H:np:qrS:a:bCc:EIKL:RtT:VwWZ2")) != -1) {
		switch (c) {
		case '4': family = AF_INET; break;
		case '6': family = AF_INET6; break;
		case 'H': how = optarg; break;
		case 'n': o.nonblock = 1; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'q': o.quit = 1; break;
		case 'w': o.halfclose = 'w'; break;
		case 'W': o.halfclose = 'W'; break;
		case 'r': resolve_only = 1; break;
		case 'S': sockfam = optarg[0] == '6' ? AF_INET6 : AF_INET; break;
		case 'a': o.alarm_secs = (int)strtol(optarg, NULL, 10); break;
		case 'b': o.bind_first = 1; break;
		case 'C': o.cloexec = 1; break;
		case 'c': o.count = (int)strtol(optarg, NULL, 10); break;
		case 'E': show_fds = 1; break;
		case 'I': o.fdinfo = 1; break;
		case 'K': o.keep = 1; break;
		case 'L': o.tag = optarg; break;
		case 'R': o.restart = 1; break;
		case 't': o.elapsed = 1; break;
		case 'T': o.tfo = optarg; break;
		case 'V': o.v6only = 1; break;
		case 'Z': closefrom(3); break;
		case '2': o.again = 1; break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	if (o.tag != NULL)
		openlog(o.tag, LOG_PID, LOG_MAIL);
	if (show_fds)
		print_fds();
	if (resolve(how, argv[optind], family, &ss, &len) < 0)
		return 1;
	set_port(&ss, port);
	print_addr("addr", &ss);
	if (resolve_only)
		return 0;
	if (sockfam == AF_INET6 && ss.ss_family == AF_INET)
		v4mapped(&ss, &len);	/* an AF_INET6 socket reaching an IPv4 address */
	for (i = 0; i < o.count; i++)
		failed |= attempt(&ss, len, &o);
	return failed;
}
