/*
 * NAME
 *	sink - a fast SOCKS5 server that says yes, for the benchmarks
 * SYNOPSIS
 *	sink
 * DESCRIPTION
 *	Listens on 127.0.0.1 at a port the kernel picks and prints that
 *	port on stdout (one line), then serves until SIGTERM or SIGINT.
 *
 *	Every connection gets the shortest SOCKS5 conversation: the
 *	method it offered ("username/password" when offered, so that
 *	isolation logins work, else "no authentication"), success for any
 *	login, and for any request the reply "succeeded, bound to
 *	0.0.0.0:0" (ATYP 1), followed in the same write by an SMTP banner.
 *	Then the server closes the connection, so that the TIME_WAIT
 *	state stays on its side and the client's ephemeral ports never
 *	run out however many cycles a benchmark runs.
 *
 *	The server reads everything the client sent before it answers a
 *	step, so pipelined and step-by-step clients both work, and it
 *	never closes a socket with unread bytes (which would reset it).
 *
 *	One thread, epoll, non-blocking sockets: the server must never be
 *	what a benchmark measures.
 * RETURNS
 *	Exit status 0 after a signal, 1 on a setup error.
 * NEVER
 *	talks to anything but loopback, or reads more than a step needs
 *	before it answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BANNER "220 sink.bench ESMTP\r\n"
#define MAX_FD 65536

enum stage {
	GREETING = 0,
	LOGIN,
	REQUEST,
};

/* What one client connection has sent so far. */
struct conn {
	uint8_t in[1024];
	size_t len;
	enum stage stage;
};

static struct conn *conns[MAX_FD];
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
drop(int fd)
{
	free(conns[fd]);
	conns[fd] = NULL;
	close(fd);
}

/*
 * step - how many bytes of IN (LEN of them) the next step of STAGE
 * takes, 0 when more are needed, -1 for garbage.
 */
static int
step_size(enum stage stage, const uint8_t *in, size_t len)
{
	size_t need;

	switch (stage) {
	case GREETING:
		need = len >= 2 ? 2u + in[1] : 2u;
		break;
	case LOGIN:
		need = len >= 2 ? 3u + in[1] : 2u;
		if (len >= need)
			need += in[need - 1];
		break;
	default:
		if (len < 5)
			return 0;
		if (in[3] == 1)
			need = 10;
		else if (in[3] == 3)
			need = 7u + in[4];
		else if (in[3] == 4)
			need = 22;
		else
			return -1;
		break;
	}
	return len >= need ? (int)need : 0;
}

static int
offers(const uint8_t *greeting, uint8_t method)
{
	return memchr(greeting + 2, method, greeting[1]) != NULL;
}

/*
 * answer - answer every complete step in C into OUT. Returns the bytes
 * written, or -1 to drop the connection; *DONE is set after the request.
 */
static int
answer(struct conn *c, uint8_t *out, int *done)
{
	static const uint8_t ok[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t used = 0, n = 0;
	int size;

	*done = 0;
	while (!*done && (size = step_size(c->stage, c->in + used, c->len - used)) != 0) {
		const uint8_t *s = c->in + used;

		if (size < 0 || s[0] != (c->stage == LOGIN ? 1 : 5))
			return -1;
		if (c->stage == GREETING) {
			out[n++] = 5;
			out[n++] = offers(s, 2) ? 2 : offers(s, 0) ? 0 : 0xff;
			c->stage = out[n - 1] == 2 ? LOGIN : REQUEST;
			if (out[n - 1] == 0xff)
				return -1;
		} else if (c->stage == LOGIN) {
			out[n++] = 1;
			out[n++] = 0;
			c->stage = REQUEST;
		} else {
			memcpy(out + n, ok, sizeof(ok));
			n += sizeof(ok);
			memcpy(out + n, BANNER, sizeof(BANNER) - 1);
			n += sizeof(BANNER) - 1;
			*done = 1;
		}
		used += (size_t)size;
	}
	memmove(c->in, c->in + used, c->len - used);
	c->len -= used;
	return (int)n;
}

/* serve - read what FD has, answer it; close when the request is done. */
static void
serve(int fd)
{
	struct conn *c = conns[fd];
	uint8_t out[64];
	ssize_t got;
	int n, done;

	for (;;) {
		got = read(fd, c->in + c->len, sizeof(c->in) - c->len);
		if (got > 0) {
			c->len += (size_t)got;
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0 && errno == EINTR)
			continue;
		drop(fd);	/* EOF, error, or a full buffer of garbage */
		return;
	}
	n = answer(c, out, &done);
	if (n < 0) {
		drop(fd);
		return;
	}
	if (n > 0 && write(fd, out, (size_t)n) != n) {
		drop(fd);
		return;
	}
	if (done)
		drop(fd);
}

static void
accept_all(int lfd, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (fd >= MAX_FD) {
			close(fd);
			continue;
		}
		conns[fd] = calloc(1, sizeof(struct conn));
		if (conns[fd] == NULL) {
			close(fd);
			continue;
		}
		ev.data.fd = fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			drop(fd);
			continue;
		}
		/* a pipelined client has sent its request already */
		serve(fd);
	}
}

static int
listen_tcp(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &l) < 0) {
		perror("sink: tcp listener");
		exit(1);
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	struct sigaction sa = { .sa_handler = on_signal };
	int epfd, tfd, n, i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sink\n");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = listen_tcp();
	ev.data.fd = tfd;
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		perror("sink: epoll");
		return 1;
	}
	while (!stop) {
		n = epoll_wait(epfd, evs, 64, -1);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == tfd)
				accept_all(fd, epfd);
			else if (fd >= 0 && fd < MAX_FD && conns[fd] != NULL)
				serve(fd);
		}
	}
	return 0;
}
