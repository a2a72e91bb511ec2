/*
 * NAME
 *	hook_connect - connect(), getpeername() and shutdown()
 * DESCRIPTION
 *	connect(): AF_UNIX and every family but inet go straight to libc,
 *	before anything else (this path may run between fork and exec).
 *	For inet, the policy decides: pass to libc, refuse, or carry the
 *	connection through Tor on the caller's socket.
 *
 *	getpeername(): on a socket the library connected through Tor, the
 *	address the program connected to (the fake address), not Tor's.
 *
 *	shutdown(): SHUT_WR on a socket the library connected through Tor
 *	does nothing and succeeds. A Tor stream cannot be half-closed: when
 *	tor reads the end of the program's data it ends the stream both
 *	ways, and the server's replies to the last commands are lost (Exim
 *	pipelines QUIT and then half-closes: the reply to the end of data
 *	never came back and the message was sent again). The program's
 *	close() still ends the stream; SHUT_RD and SHUT_RDWR go to libc.
 * RETURNS
 *	As libc: 0, or -1 with errno.
 * NEVER
 *	changes errno on success.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "onionshim/hooks.h"
#include "onionshim/log.h"
#include "onionshim/real.h"

/*
 * connect_inet - the inet part of connect(), kept out of line so that an
 * AF_UNIX connect (Postfix's smtp talks to its qmgr that way) costs a
 * compare and a jump, not this frame.
 */
static __attribute__((noinline)) int
connect_inet(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct onionshim_ctx *ctx;
	struct onionshim_plan plan;
	int saved = errno, rc;

	ctx = onionshim_ready();
	onionshim_shim_connect_plan(ctx, fd, sa, len, &plan);
	switch (plan.verdict) {
	case ONIONSHIM_PASS:
		errno = saved;
		return ONIONSHIM_REAL(connect)(fd, sa, len);
	case ONIONSHIM_DENY:
		errno = plan.err;
		return -1;
	default:
		rc = onionshim_proxy_connect(ctx, fd, sa, len, &plan);
		if (rc < 0) {
			errno = -rc;
			return -1;
		}
		errno = saved;
		return 0;
	}
}

ONIONSHIM_EXPORT int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return ONIONSHIM_REAL(connect)(fd, sa, len);
	return connect_inet(fd, sa, len);
}

/*
 * proxied_peer - if FD is a socket this process connected through Tor
 * (its real peer, in SA/LEN, is a SOCKS server, and the record knows its
 * inode), the address the program connected to.
 */
static int
proxied_peer(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa, socklen_t len,
	     struct sockaddr_storage *peer, socklen_t *peerlen)
{
	struct stat st;

	if (!ctx->ok || !onionshim_shim_is_socks(ctx, sa, len) || fstat(fd, &st) != 0)
		return -1;
	return onionshim_shim_sock_peer(ctx, &st, peer, peerlen);
}

ONIONSHIM_EXPORT int
getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct onionshim_ctx *ctx;
	struct sockaddr_storage peer;
	socklen_t cap, peerlen;
	int saved, rc;

	ctx = onionshim_ready();
	if (sa == NULL || len == NULL)
		return ONIONSHIM_REAL(getpeername)(fd, sa, len);
	cap = *len;
	rc = ONIONSHIM_REAL(getpeername)(fd, sa, len);
	if (rc < 0 || *len > cap)
		return rc;
	saved = errno;
	if (proxied_peer(ctx, fd, sa, *len, &peer, &peerlen) == 0) {
		memcpy(sa, &peer, peerlen < cap ? peerlen : cap);
		*len = peerlen;
	}
	errno = saved;
	return rc;
}

ONIONSHIM_EXPORT int
shutdown(int fd, int how)
{
	struct onionshim_ctx *ctx;
	struct sockaddr_storage real, peer;
	socklen_t reallen = sizeof(real), peerlen;
	int saved = errno;

	ctx = onionshim_ready();
	if (how != SHUT_WR)
		return ONIONSHIM_REAL(shutdown)(fd, how);
	if (ONIONSHIM_REAL(getpeername)(fd, (struct sockaddr *)&real, &reallen) == 0 &&
	    reallen <= sizeof(real) &&
	    proxied_peer(ctx, fd, (struct sockaddr *)&real, reallen, &peer, &peerlen) == 0) {
		onionshim_log(ONIONSHIM_LOG_DEBUG,
			      "shutdown(SHUT_WR) on descriptor %d left undone: a Tor stream "
			      "cannot be half-closed", fd);
		errno = saved;
		return 0;
	}
	errno = saved;
	return ONIONSHIM_REAL(shutdown)(fd, how);
}
