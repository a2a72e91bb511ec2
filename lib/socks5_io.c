/*
 * NAME
 *	socks5_io - one SOCKS5 exchange with Tor, on a socket, with a deadline
 * DESCRIPTION
 *	Connects the socket to the first SOCKS server that accepts it (the
 *	socks_server list, in order), then sends the request built by the
 *	socks5 codec and reads the reply exactly. Every wait is a poll()
 *	bounded by what is left of connect_timeout; a blocking socket is
 *	made non-blocking for the exchange and its flags are restored after.
 *	The request goes out with the TCP connect still under way (a
 *	non-blocking send: it fails with the connect's own error, or waits
 *	for it when the kernel is not done), and the socket is not examined
 *	here (the connect plan asked TCP_INFO: a TCP socket, neither
 *	connected nor connecting): its first connect() tells a family that
 *	does not fit (EINVAL, EAFNOSUPPORT), so that the common case costs
 *	no extra system call.
 *
 *	Failover: each server's TCP connect gets an equal share of the time
 *	that is left for the servers not yet tried, so that a server that
 *	drops SYNs cannot eat the whole budget; a refused, unreachable or
 *	silent server is noted in the trace and the next one is tried. A
 *	server that accepted the TCP connection owns the rest of the budget.
 *
 *	A socket whose family cannot reach a server (an AF_INET6 socket that
 *	is IPV6_V6ONLY or bound, facing an IPv4 server; an AF_INET socket
 *	facing an IPv6 server) is replaced by a fresh socket of the right
 *	family under the same descriptor number (dup3), keeping FD_CLOEXEC
 *	and the socket options a mail client sets (keepalive, linger,
 *	timeouts, TCP_NODELAY).
 *
 *	Signals: a wait interrupted by a signal ends the exchange with EINTR
 *	at once, as a blocking connect() in libc does, unless every caught
 *	signal is installed with SA_RESTART (then libc would have restarted
 *	the call, and the wait goes on). Lookups (RESOLVE) always go on, as
 *	libc's resolver does.
 *
 *	A socket whose handshake failed after it reached Tor is shut down:
 *	it is spent, and nothing the program writes on it can reach Tor's
 *	SOCKS parser.
 * RETURNS
 *	0 or -errno (see socks5_io.h).
 * NEVER
 *	raises SIGPIPE (MSG_NOSIGNAL), reads past the reply, replaces a
 *	socket that the program has connected or is listening on, or
 *	allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/real.h"
#include "onionshim/socks5_io.h"

/* Tor ignores the password for isolation purposes beyond comparing it. */
static const char isolation_pass[] = "onionshim";

/* How one exchange waits. */
struct io {
	int fd;
	uint64_t deadline_ns;		/* connect_timeout from the start */
	int keep_on_eintr;		/* lookups: never interrupted */
};

uint64_t
onionshim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned
onionshim_ms_since(uint64_t start_ns)
{
	return (unsigned)((onionshim_now_ns() - start_ns) / 1000000u);
}

/*
 * synchronous - signals that only the faulting (or writing) thread raises
 * for itself: they cannot be what woke a poll(). Crash reporters and
 * sanitizers catch them without SA_RESTART.
 */
static int
synchronous(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS:
	case SIGPIPE: case SIGABRT:
		return 1;
	default:
		return 0;
	}
}

/*
 * handlers_restart - whether every caught signal that can interrupt a
 * wait has SA_RESTART: then the signal that woke us would have restarted
 * libc's connect().
 */
static int
handlers_restart(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (synchronous(sig) || sigaction(sig, NULL, &sa) < 0)
			continue;	/* libc's own signals refuse */
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

/* wait_fd - poll IO's socket for EVENTS until DEADLINE_NS. 0 or -errno. */
static int
wait_fd(const struct io *io, short events, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = io->fd, .events = events };
	uint64_t now;
	int ms, n;

	for (;;) {
		now = onionshim_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		/* round up, so that a wait never ends a hair before the deadline */
		ms = (int)((deadline_ns - now + 999999u) / 1000000u);
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (!io->keep_on_eintr && !handlers_restart())
			return -EINTR;
	}
}

/*
 * link_errno - an I/O error on the link to a SOCKS server that answered:
 * a reset or a broken pipe is the server breaking the protocol (EPROTO),
 * not the destination's ECONNRESET (Tor's 0xF3).
 */
static int
link_errno(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN:
	case ECONNABORTED:
		return -EPROTO;
	default:
		return -err;
	}
}

static int
send_all(const struct io *io, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(io, POLLOUT, io->deadline_ns)) < 0)
				return rc;
		} else if (n < 0 && errno != EINTR) {
			return link_errno(errno);
		}
	}
	return 0;
}

/*
 * recv_exact - read exactly LEN bytes. Returns 0, -ENODATA when the peer
 * closed first (the caller says what was short), or -errno.
 */
static int
recv_exact(const struct io *io, uint8_t *buf, size_t len, size_t *got)
{
	uint8_t *start = buf;

	*got = 0;
	while (len > 0) {
		ssize_t n = recv(io->fd, buf, len, MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			*got = (size_t)(buf - start);
		} else if (n == 0) {
			return -ENODATA;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((rc = wait_fd(io, POLLIN, io->deadline_ns)) < 0)
				return rc;
		} else if (errno != EINTR) {
			return link_errno(errno);
		}
	}
	return 0;
}

/* The options a mail client may have set that a replacement must keep. */
static const struct {
	int level, name;
} kept_options[] = {
	{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_LINGER },
	{ SOL_SOCKET, SO_RCVTIMEO }, { SOL_SOCKET, SO_SNDTIMEO },
	{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_PRIORITY },
	{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
};

/* copy_options - best effort: a missing option is no reason to fail. */
static void
copy_options(int from, int to)
{
	union {
		int i;
		struct linger l;
		struct timeval tv;
	} v;
	socklen_t l;
	size_t i;

	for (i = 0; i < sizeof(kept_options) / sizeof(kept_options[0]); i++) {
		l = sizeof(v);
		if (getsockopt(from, kept_options[i].level, kept_options[i].name, &v, &l) == 0)
			(void)setsockopt(to, kept_options[i].level, kept_options[i].name, &v, l);
	}
}

/* replace_socket - put a fresh socket of FAMILY under FD's number. */
static int
replace_socket(int fd, int family)
{
	int type, proto, fdflags, nfd, rc = 0;
	socklen_t l = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return -errno;
	l = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		return -errno;
	fdflags = fcntl(fd, F_GETFD);
	if (fdflags < 0)
		return -errno;
	/* non-blocking for the exchange; run() restores the caller's flags */
	nfd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (nfd < 0)
		return -errno;
	copy_options(fd, nfd);
	if (dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		rc = -errno;
	close(nfd);
	return rc;
}

/* v4mapped - SERVER (AF_INET) as ::ffff:a.b.c.d for a dual-stack socket. */
static int
v4mapped(const struct onionshim_sockaddr *server, struct sockaddr_storage *out)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&server->ss;
	struct sockaddr_in6 *m = (struct sockaddr_in6 *)out;

	memset(m, 0, sizeof(*m));
	m->sin6_family = AF_INET6;
	m->sin6_port = s4->sin_port;
	m->sin6_addr.s6_addr[10] = 0xff;
	m->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&m->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
	return (int)sizeof(*m);
}

/* dual_stack - an AF_INET6 socket that may still reach IPv4 (v4-mapped). */
static int
dual_stack(int fd)
{
	struct sockaddr_in6 local;
	socklen_t l = sizeof(int);
	int v6only = 1;

	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) < 0 || v6only)
		return 0;
	l = sizeof(local);
	/* bound (to ::1, say) may not reach 127.0.0.1: a fresh socket can */
	return getsockname(fd, (struct sockaddr *)&local, &l) == 0 && local.sin6_port == 0;
}

/*
 * server_addr - the address to give connect() on FD for SERVER, once the
 * server's own address did not fit the socket's family: its v4-mapped form
 * for a dual-stack AF_INET6 socket, or the server itself on a socket of
 * its family, replacing the socket when neither can work. Returns the
 * length or -errno, with TR->why set.
 */
static int
server_addr(int fd, const struct onionshim_sockaddr *server, struct sockaddr_storage *out,
	    struct onionshim_socks5_trace *tr)
{
	int dom, server_family = server->ss.ss_family, rc;
	socklen_t l = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return -errno;
	if (dom == server_family) {
		memcpy(out, &server->ss, server->len);
		return (int)server->len;
	}
	if (dom == AF_INET6 && server_family == AF_INET && dual_stack(fd))
		return v4mapped(server, out);
	if ((rc = replace_socket(fd, server_family)) < 0) {
		onionshim_errf(&tr->why, "cannot replace the %s socket by an %s one to reach "
			       "SOCKS server %s: %s", dom == AF_INET6 ? "AF_INET6" : "AF_INET",
			       server_family == AF_INET6 ? "AF_INET6" : "AF_INET", server->text,
			       strerror(-rc));
		return -EAFNOSUPPORT;
	}
	tr->replaced = 1;
	memcpy(out, &server->ss, server->len);
	return (int)server->len;
}

/*
 * tcp_connect - connect FD to SA and wait for the result until DEADLINE_NS.
 * While the handshake is in progress, FIRST (the start of the exchange) is
 * offered with a non-blocking send: on loopback the handshake is usually
 * complete by then, and the bytes it takes (*SENT) spare a poll and an
 * SO_ERROR query; a send that fails reports the connect's own error.
 */
static int
tcp_connect(const struct io *io, const struct sockaddr *sa, socklen_t len,
	    uint64_t deadline_ns, const struct onionshim_socks5_buf *first, size_t *sent)
{
	int err = 0, rc;
	socklen_t l = sizeof(err);
	ssize_t n;

	*sent = 0;
	if (ONIONSHIM_REAL(connect)(io->fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	n = send(io->fd, first->buf, first->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		*sent = (size_t)n;
		return 0;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -errno;
	rc = wait_fd(io, POLLOUT, deadline_ns);
	if (rc < 0)
		return rc;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -errno;
	return -err;
}

/*
 * family_mismatch - whether connect()'s error ERR says that the address
 * family does not fit the socket (an AF_INET6 socket given an AF_INET
 * address: EINVAL; the other way round: EAFNOSUPPORT). Nothing about the
 * socket has changed then.
 */
static int
family_mismatch(int err)
{
	return err == -EINVAL || err == -EAFNOSUPPORT;
}

/* note_failure - append "SERVER: why" to the trace's list of failures. */
static void
note_failure(struct onionshim_socks5_trace *tr, const struct onionshim_sockaddr *server,
	     int rc, unsigned slice_ms)
{
	size_t used = strlen(tr->failed.buf);
	char why[64];

	if (used >= sizeof(tr->failed.buf) - 1)
		return;
	if (rc == -ETIMEDOUT)
		snprintf(why, sizeof(why), "no TCP answer within %u ms", slice_ms);
	else
		snprintf(why, sizeof(why), "%s", strerror(-rc));
	snprintf(tr->failed.buf + used, sizeof(tr->failed.buf) - used, "%s%s: %s",
		 used ? "; " : "", server->text, why);
}

/*
 * reach_server - connect the socket to the first SOCKS server that
 * answers, offering FIRST as it connects (tcp_connect; *SENT bytes went).
 * The kernel checks the family: only when the server's address does not
 * fit is the socket examined (server_addr).
 */
static int
reach_server(const struct onionshim_config *cfg, const struct io *io,
	     const struct onionshim_socks5_buf *first, size_t *sent,
	     struct onionshim_socks5_trace *tr)
{
	const struct onionshim_sockaddr *server;
	struct sockaddr_storage ss;
	uint64_t now, slice;
	size_t i;
	int len, rc;

	for (i = 0; i < cfg->nsocks; i++) {
		server = &cfg->socks[i];
		now = onionshim_now_ns();
		if (now >= io->deadline_ns)
			break;
		/* an equal share for each server left; the last gets the rest */
		slice = now + (io->deadline_ns - now) / (cfg->nsocks - i);
		/*
		 * After a failed attempt the socket is ours and unusable: Linux
		 * answers the next connect() with ECONNABORTED (refused) or
		 * EALREADY (still in SYN_SENT). Start afresh.
		 */
		if (i > 0 && (rc = replace_socket(io->fd, server->ss.ss_family)) < 0) {
			note_failure(tr, server, rc, 0);
			continue;
		}
		tr->replaced |= i > 0;
		rc = tcp_connect(io, (const struct sockaddr *)&server->ss, server->len, slice,
				 first, sent);
		if (family_mismatch(rc)) {
			len = server_addr(io->fd, server, &ss, tr);
			if (len < 0)
				return len;
			rc = tcp_connect(io, (struct sockaddr *)&ss, (socklen_t)len, slice, first,
					 sent);
		}
		if (rc == 0) {
			tr->server = (int)i;
			return 0;
		}
		if (rc == -EINTR)
			return rc;
		note_failure(tr, server, rc, (unsigned)((slice - now + 999999u) / 1000000u));
	}
	onionshim_errf(&tr->why, "no SOCKS server answered (%s)",
		       tr->failed.buf[0] ? tr->failed.buf : "socks_server is empty");
	return -ENETDOWN;
}

/*
 * read_step - read LEN bytes of the server's answer; STEP names it for
 * the log. Returns 0 or -errno with TR->why set.
 */
static int read_step_got(const struct io *io, uint8_t *buf, size_t len, size_t *got,
			 const char *step, const struct onionshim_config *cfg,
			 struct onionshim_socks5_trace *tr);

static int
read_step(const struct io *io, uint8_t *buf, size_t len, const char *step,
	  const struct onionshim_config *cfg, struct onionshim_socks5_trace *tr)
{
	size_t got;

	return read_step_got(io, buf, len, &got, step, cfg, tr);
}

/* read_step_got - read_step that also says how many bytes did arrive. */
static int
read_step_got(const struct io *io, uint8_t *buf, size_t len, size_t *got, const char *step,
	      const struct onionshim_config *cfg, struct onionshim_socks5_trace *tr)
{
	const char *server = cfg->socks[tr->server].text;
	int rc = recv_exact(io, buf, len, got);

	if (rc == -ENODATA) {
		onionshim_errf(&tr->why, "SOCKS server %s closed the connection before its %s "
			       "was complete", server, step);
		return -EPROTO;
	}
	if (rc == -ETIMEDOUT)
		onionshim_errf(&tr->why, "SOCKS server %s sent no %s within connect_timeout "
			       "(%u ms)", server, step, cfg->connect_timeout_ms);
	else if (rc == -EPROTO)
		onionshim_errf(&tr->why, "SOCKS server %s reset the connection before its %s",
			       server, step);
	return rc;
}

static int
send_step(const struct io *io, const struct onionshim_socks5_buf *b, const char *step,
	  const struct onionshim_config *cfg, struct onionshim_socks5_trace *tr)
{
	int rc = send_all(io, b->buf, b->len);

	if (rc == -ETIMEDOUT)
		onionshim_errf(&tr->why, "SOCKS server %s did not take %s within connect_timeout "
			       "(%u ms)", cfg->socks[tr->server].text, step,
			       cfg->connect_timeout_ms);
	else if (rc == -EPROTO)
		onionshim_errf(&tr->why, "SOCKS server %s closed the connection before %s",
			       cfg->socks[tr->server].text, step);
	return rc;
}

/* login - the RFC 1929 step, sent with the request (tor's order). */
static int
login(const struct io *io, const char *user, uint8_t cmd,
      const struct onionshim_socks5_addr *dst, const struct onionshim_config *cfg,
      struct onionshim_socks5_trace *tr)
{
	struct onionshim_socks5_buf b = { .len = 0 };
	uint8_t r[2];
	int rc;

	if ((rc = onionshim_socks5_auth(&b, user, strlen(user), isolation_pass,
					sizeof(isolation_pass) - 1)) < 0 ||
	    (rc = onionshim_socks5_request(&b, cmd, dst)) < 0) {
		onionshim_errf(&tr->why, "cannot encode the isolation username: %s",
			       strerror(-rc));
		return rc;
	}
	if ((rc = send_step(io, &b, "the login and request", cfg, tr)) < 0 ||
	    (rc = read_step(io, r, 2, "login reply", cfg, tr)) < 0)
		return rc;
	if ((rc = onionshim_socks5_auth_reply(r)) < 0)
		onionshim_errf(&tr->why, rc == -EACCES ? "SOCKS server %s refused the isolation "
			       "username" : "SOCKS server %s sent a bad login reply",
			       cfg->socks[tr->server].text);
	return rc;
}

/*
 * first_bytes - what opens the exchange: the greeting, and without a login
 * the request with it (one write).
 */
static int
first_bytes(struct onionshim_socks5_buf *b, uint8_t cmd, const struct onionshim_socks5_addr *dst,
	    const char *user, struct onionshim_socks5_trace *tr)
{
	int rc;

	b->len = 0;
	if ((rc = onionshim_socks5_greeting(b, user != NULL)) < 0 ||
	    (user == NULL && (rc = onionshim_socks5_request(b, cmd, dst)) < 0))
		onionshim_errf(&tr->why, "cannot encode the request: %s", strerror(-rc));
	return rc;
}

/*
 * exchange - the SOCKS5 conversation on a connected socket, of which the
 * first SENT bytes of FIRST are already on their way.
 */
static int
exchange(const struct io *io, uint8_t cmd, const struct onionshim_socks5_addr *dst,
	 const char *user, struct onionshim_socks5_buf *first, size_t sent,
	 struct onionshim_socks5_reply *reply, const struct onionshim_config *cfg,
	 struct onionshim_socks5_trace *tr)
{
	uint8_t r[ONIONSHIM_SOCKS5_REPLY_MAX + 2];
	const char *server = cfg->socks[tr->server].text;
	int auth = user != NULL, rc, mrc;
	size_t got;
	ssize_t size;

	if (sent > 0) {
		memmove(first->buf, first->buf + sent, first->len - sent);
		first->len -= sent;
	}
	if (first->len > 0 && (rc = send_step(io, first, "the request", cfg, tr)) < 0)
		return rc;
	/*
	 * Without a login, the method reply and the reply's 5-byte head come
	 * in one read: every reply is longer than its head, so this never
	 * reads past it. A refusal (05 FF and a close) is still told apart.
	 */
	rc = read_step_got(io, r, auth ? 2 : 7, &got, auth ? "method reply" : "reply", cfg, tr);
	if (rc < 0 && got < 2)
		return rc;
	if ((mrc = onionshim_socks5_method_reply(r, auth)) < 0) {
		onionshim_errf(&tr->why, mrc == -EACCES ? "SOCKS server %s accepts none of our "
			       "methods" : "SOCKS server %s sent a bad method reply (not SOCKS5?)",
			       server);
		return mrc;
	}
	if (rc < 0)
		return rc;
	if (!auth)
		memmove(r, r + 2, 5);
	else if ((rc = login(io, user, cmd, dst, cfg, tr)) < 0 ||
		 (rc = read_step(io, r, 5, "reply", cfg, tr)) < 0)
		return rc;
	size = onionshim_socks5_reply_size(r, 5);
	if (size < 0) {
		onionshim_errf(&tr->why, "SOCKS server %s sent a reply that is not SOCKS5",
			       server);
		return (int)size;
	}
	if ((rc = read_step(io, r + 5, (size_t)size - 5, "reply", cfg, tr)) < 0)
		return rc;
	if ((rc = onionshim_socks5_reply_decode(r, (size_t)size, reply)) < 0) {
		onionshim_errf(&tr->why, "SOCKS server %s sent a malformed reply", server);
		return rc;
	}
	tr->rep = reply->rep;
	if (reply->rep != 0)
		return -onionshim_socks5_errno(reply->rep);
	return 0;
}

static void
trace_init(struct onionshim_socks5_trace *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->server = -1;
	tr->rep = -1;
}

static int
run(const struct onionshim_config *cfg, int fd, int keep_on_eintr, uint8_t cmd,
    const struct onionshim_socks5_addr *dst, const char *user,
    struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *tr)
{
	uint64_t start = onionshim_now_ns();
	struct io io = {
		.fd = fd,
		.deadline_ns = start + (uint64_t)cfg->connect_timeout_ms * 1000000u,
		.keep_on_eintr = keep_on_eintr,
	};
	struct onionshim_socks5_buf first;
	size_t sent = 0;
	int flags, rc;

	if ((rc = first_bytes(&first, cmd, dst, user, tr)) < 0)
		return rc;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	rc = reach_server(cfg, &io, &first, &sent, tr);
	tr->ms_tcp = onionshim_ms_since(start);
	if (rc == 0)
		rc = exchange(&io, cmd, dst, user, &first, sent, reply, cfg, tr);
	tr->ms_total = onionshim_ms_since(start);
	if (rc < 0 && tr->server >= 0)
		(void)ONIONSHIM_REAL(shutdown)(fd, SHUT_RDWR);	/* spent: see the header */
	/*
	 * Restore what was changed: the caller's flags on its own socket when
	 * it was blocking, and all of them on a replaced one (not the caller's
	 * file). Postfix's sockets are non-blocking already: no call at all.
	 */
	if ((!(flags & O_NONBLOCK) || tr->replaced) && fcntl(fd, F_SETFL, flags) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int
onionshim_socks5_connect_fd(const struct onionshim_config *cfg, int fd,
			    const struct onionshim_socks5_addr *dst, const char *user,
			    struct onionshim_socks5_trace *trace)
{
	struct onionshim_socks5_reply reply;

	trace_init(trace);
	return run(cfg, fd, 0, ONIONSHIM_SOCKS5_CONNECT, dst, user, &reply, trace);
}

int
onionshim_socks5_query(const struct onionshim_config *cfg, uint8_t cmd,
		       const struct onionshim_socks5_addr *dst, const char *user,
		       struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *trace)
{
	int fd, rc;

	trace_init(trace);
	if (cfg->nsocks == 0) {
		onionshim_errf(&trace->why, "socks_server is empty");
		return -ENETDOWN;
	}
	fd = socket(cfg->socks[0].ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = run(cfg, fd, 1, cmd, dst, user, reply, trace);
	close(fd);
	return rc;
}
