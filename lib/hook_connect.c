/*
 * NAME
 *	hook_connect - connect() and getpeername()
 * DESCRIPTION
 *	connect(): AF_UNIX and every family but inet go straight to libc,
 *	before anything else (this path may run between fork and exec).
 *	For inet, the policy decides: pass to libc, refuse, or carry the
 *	connection through Tor on the caller's socket.
 *
 *	getpeername(): on a socket the library connected through Tor, the
 *	address the program connected to (the fake address), not Tor's.
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
#include "onionshim/real.h"

ONIONSHIM_EXPORT int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct onionshim_ctx *ctx;
	struct onionshim_plan plan;
	int saved = errno, rc;

	if (sa == NULL || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return onionshim_real_connect(fd, sa, len);
	ctx = onionshim_ready();
	onionshim_shim_connect_plan(ctx, fd, sa, len, &plan);
	switch (plan.verdict) {
	case ONIONSHIM_PASS:
		errno = saved;
		return onionshim_real.connect(fd, sa, len);
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
getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct onionshim_ctx *ctx;
	struct sockaddr_storage local, peer;
	socklen_t cap, locallen = sizeof(local), peerlen;
	struct stat st;
	int saved, rc;

	ctx = onionshim_ready();
	if (sa == NULL || len == NULL)
		return onionshim_real.getpeername(fd, sa, len);
	cap = *len;
	rc = onionshim_real.getpeername(fd, sa, len);
	if (rc < 0 || !ctx->ok || *len > cap || !onionshim_shim_is_socks(ctx, sa, *len))
		return rc;
	saved = errno;
	if (getsockname(fd, (struct sockaddr *)&local, &locallen) == 0 && fstat(fd, &st) == 0 &&
	    onionshim_shim_sock_peer(ctx, st.st_ino, (struct sockaddr *)&local, locallen, &peer,
				     &peerlen) == 0) {
		memcpy(sa, &peer, peerlen < cap ? peerlen : cap);
		*len = peerlen;
	}
	errno = saved;
	return rc;
}
