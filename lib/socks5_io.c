/*
 * NAME
 *	socks5_io - one SOCKS5 exchange with Tor, on a socket, with a deadline
 * DESCRIPTION
 *	Connects the socket to the first SOCKS server that accepts it (the
 *	socks_server list, in order), then sends the request built by the
 *	socks5 codec and reads the reply exactly. Every wait is a poll()
 *	bounded by what is left of connect_timeout; the socket is made
 *	non-blocking for the exchange and its flags are restored after.
 *
 *	A socket whose family cannot reach a server (an AF_INET6 socket that
 *	is IPV6_V6ONLY or bound, facing an IPv4 server; an AF_INET socket
 *	facing an IPv6 server) is replaced by a fresh socket of the right
 *	family under the same descriptor number (dup3), keeping FD_CLOEXEC.
 * RETURNS
 *	0 or -errno (see socks5_io.h).
 * NEVER
 *	raises SIGPIPE (MSG_NOSIGNAL), reads past the reply, restarts a
 *	wait that a signal interrupted, or allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/real.h"
#include "onionshim/socks5_io.h"

/* Tor ignores the password for isolation purposes beyond comparing it. */
static const char isolation_pass[] = "onionshim";

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

/* wait_fd - poll FD for EVENTS until DEADLINE_NS. Returns 0 or -errno. */
static int
wait_fd(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now = onionshim_now_ns();
	int ms, n;

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	/* round up, so that a wait never ends a hair before the deadline */
	ms = (int)((deadline_ns - now + 999999u) / 1000000u);
	n = poll(&pfd, 1, ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return 0;
}

static int
send_all(int fd, const uint8_t *buf, size_t len, uint64_t deadline_ns)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline_ns);

			if (rc < 0)
				return rc;
		} else if (n < 0 && errno == EINTR) {
			return -EINTR;
		} else {
			return n < 0 ? -errno : -EPROTO;
		}
	}
	return 0;
}

/* recv_exact - read exactly LEN bytes; a peer that closes early is -EPROTO. */
static int
recv_exact(int fd, uint8_t *buf, size_t len, uint64_t deadline_ns)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == 0) {
			return -EPROTO;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rc = wait_fd(fd, POLLIN, deadline_ns);

			if (rc < 0)
				return rc;
		} else if (errno == EINTR) {
			return -EINTR;
		} else {
			return -errno;
		}
	}
	return 0;
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
	if (dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		rc = -errno;
	close(nfd);
	return rc;
}

/*
 * server_addr - the address to give connect() on FD for SERVER: the server
 * itself, or its v4-mapped form for a dual-stack AF_INET6 socket. Replaces
 * the socket when neither can work. Returns the length or -errno.
 */
static int
server_addr(int fd, const struct onionshim_sockaddr *server, struct sockaddr_storage *out,
	    int *replaced)
{
	int dom, v6only = 0;
	socklen_t l = sizeof(dom);
	struct sockaddr_storage local;
	int server_family = server->ss.ss_family;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return -errno;
	if (dom == server_family) {
		memcpy(out, &server->ss, server->len);
		return (int)server->len;
	}
	if (dom == AF_INET6 && server_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&server->ss;
		struct sockaddr_in6 *m = (struct sockaddr_in6 *)out;
		int bound;

		l = sizeof(v6only);
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) < 0)
			v6only = 1;
		l = sizeof(local);
		bound = getsockname(fd, (struct sockaddr *)&local, &l) == 0 &&
			((struct sockaddr_in6 *)&local)->sin6_port != 0;
		if (!v6only && !bound) {
			memset(m, 0, sizeof(*m));
			m->sin6_family = AF_INET6;
			m->sin6_port = s4->sin_port;
			m->sin6_addr.s6_addr[10] = 0xff;
			m->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&m->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
			return (int)sizeof(*m);
		}
	}
	if (replace_socket(fd, server_family) < 0)
		return -EAFNOSUPPORT;
	*replaced = 1;
	memcpy(out, &server->ss, server->len);
	return (int)server->len;
}

/* tcp_connect - connect FD to SA and wait for the result. */
static int
tcp_connect(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline_ns)
{
	int err, rc;
	socklen_t l = sizeof(err);

	if (onionshim_real_connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	rc = wait_fd(fd, POLLOUT, deadline_ns);
	if (rc < 0)
		return rc;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return -errno;
	return -err;
}

/* reach_server - connect FD to the first SOCKS server that answers. */
static int
reach_server(const struct onionshim_config *cfg, int fd, uint64_t deadline_ns,
	     struct onionshim_socks5_trace *tr)
{
	struct sockaddr_storage ss;
	size_t i, used = 0;
	int len, rc = -ENETDOWN;

	for (i = 0; i < cfg->nsocks; i++) {
		len = server_addr(fd, &cfg->socks[i], &ss, &tr->replaced);
		if (len < 0)
			return len;
		rc = tcp_connect(fd, (struct sockaddr *)&ss, (socklen_t)len, deadline_ns);
		if (rc == -EISCONN || rc == -EALREADY || rc == -EINVAL) {
			/* a socket that failed once may refuse a second try */
			if (replace_socket(fd, cfg->socks[i].ss.ss_family) == 0) {
				tr->replaced = 1;
				rc = tcp_connect(fd, (struct sockaddr *)&ss, (socklen_t)len,
						 deadline_ns);
			}
		}
		if (rc == 0) {
			tr->server = (int)i;
			return 0;
		}
		if (rc == -EINTR || rc == -ETIMEDOUT)
			return rc;
		used += (size_t)snprintf(tr->failed.buf + used, sizeof(tr->failed.buf) - used,
					 "%s%s: %s", used ? "; " : "", cfg->socks[i].text,
					 strerror(-rc));
		if (used >= sizeof(tr->failed.buf))
			used = sizeof(tr->failed.buf) - 1;
	}
	return -ENETDOWN;
}

/* exchange - the SOCKS5 conversation on a connected FD. */
static int
exchange(int fd, uint8_t cmd, const struct onionshim_socks5_addr *dst, const char *user,
	 struct onionshim_socks5_reply *reply, uint64_t deadline_ns,
	 struct onionshim_socks5_trace *tr)
{
	struct onionshim_socks5_buf b = { .len = 0 };
	uint8_t r[ONIONSHIM_SOCKS5_REPLY_MAX];
	int auth = user != NULL, rc;
	ssize_t size;

	if ((rc = onionshim_socks5_greeting(&b, auth)) < 0)
		return rc;
	if (!auth && (rc = onionshim_socks5_request(&b, cmd, dst)) < 0)
		return rc;
	if ((rc = send_all(fd, b.buf, b.len, deadline_ns)) < 0)
		return rc;
	if ((rc = recv_exact(fd, r, 2, deadline_ns)) < 0)
		return rc;
	if ((rc = onionshim_socks5_method_reply(r, auth)) < 0) {
		onionshim_errf(&tr->why, rc == -EACCES ? "SOCKS server accepts none of our methods"
				: "SOCKS server sent a bad method reply");
		return rc;
	}
	if (auth) {
		b.len = 0;
		if ((rc = onionshim_socks5_auth(&b, user, strlen(user), isolation_pass,
						sizeof(isolation_pass) - 1)) < 0 ||
		    (rc = onionshim_socks5_request(&b, cmd, dst)) < 0)
			return rc;
		if ((rc = send_all(fd, b.buf, b.len, deadline_ns)) < 0)
			return rc;
		if ((rc = recv_exact(fd, r, 2, deadline_ns)) < 0)
			return rc;
		if ((rc = onionshim_socks5_auth_reply(r)) < 0) {
			onionshim_errf(&tr->why, "SOCKS server refused the isolation username");
			return rc;
		}
	}
	if ((rc = recv_exact(fd, r, 5, deadline_ns)) < 0)
		return rc;
	size = onionshim_socks5_reply_size(r, 5);
	if (size < 0) {
		onionshim_errf(&tr->why, "SOCKS server sent a reply that is not SOCKS5");
		return (int)size;
	}
	if ((rc = recv_exact(fd, r + 5, (size_t)size - 5, deadline_ns)) < 0)
		return rc;
	if ((rc = onionshim_socks5_reply_decode(r, (size_t)size, reply)) < 0)
		return rc;
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
run(const struct onionshim_config *cfg, int fd, uint8_t cmd,
    const struct onionshim_socks5_addr *dst, const char *user,
    struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *tr)
{
	uint64_t start = onionshim_now_ns();
	uint64_t deadline = start + (uint64_t)cfg->connect_timeout_ms * 1000000u;
	int flags, rc;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	rc = reach_server(cfg, fd, deadline, tr);
	tr->ms_tcp = onionshim_ms_since(start);
	if (rc == 0)
		rc = exchange(fd, cmd, dst, user, reply, deadline, tr);
	tr->ms_total = onionshim_ms_since(start);
	/* a replaced socket starts with no O_NONBLOCK: restore on it too */
	if (fcntl(fd, F_SETFL, flags) < 0 && rc == 0)
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
	return run(cfg, fd, ONIONSHIM_SOCKS5_CONNECT, dst, user, &reply, trace);
}

int
onionshim_socks5_query(const struct onionshim_config *cfg, uint8_t cmd,
		       const struct onionshim_socks5_addr *dst, const char *user,
		       struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *trace)
{
	int fd, rc;

	trace_init(trace);
	if (cfg->nsocks == 0)
		return -ENETDOWN;
	fd = socket(cfg->socks[0].ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = run(cfg, fd, cmd, dst, user, reply, trace);
	close(fd);
	return rc;
}
