/*
 * NAME
 *	hook_send - sendto(), sendmsg(), sendmmsg()
 * DESCRIPTION
 *	A datagram with a destination can reveal whom a process talks to
 *	(DNS over UDP above all): under route = all every inet datagram is
 *	refused, under route = onion those to a fake address. TCP Fast Open
 *	(MSG_FASTOPEN) would connect without connect(): to a destination that
 *	must go through Tor it fails with EOPNOTSUPP, so that the program
 *	falls back to connect() (Exim does).
 *
 *	Calls without a destination (connected sockets) and non-inet
 *	destinations go straight to libc.
 * RETURNS
 *	As libc.
 */
#include <errno.h>
#include <sys/socket.h>

#include "onionshim/hooks.h"
#include "onionshim/real.h"

static int
refused(int fd, int flags, const void *to, socklen_t tolen)
{
	const struct sockaddr *sa = to;

	if (sa == NULL || tolen < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	return onionshim_shim_send_plan(onionshim_ready(), fd, flags, sa, tolen);
}

ONIONSHIM_EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
       socklen_t tolen)
{
	int err = refused(fd, flags, to, tolen);

	if (err) {
		errno = err;
		return -1;
	}
	return ONIONSHIM_REAL(sendto)(fd, buf, len, flags, to, tolen);
}

ONIONSHIM_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	int err = msg ? refused(fd, flags, msg->msg_name, msg->msg_namelen) : 0;

	if (err) {
		errno = err;
		return -1;
	}
	return ONIONSHIM_REAL(sendmsg)(fd, msg, flags);
}

ONIONSHIM_EXPORT int
sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	unsigned int i;
	int err;

	/* refuse the whole batch: a partial send would be harder to reason about */
	for (i = 0; vec != NULL && i < vlen; i++) {
		err = refused(fd, flags, vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen);
		if (err) {
			errno = err;
			return -1;
		}
	}
	return ONIONSHIM_REAL(sendmmsg)(fd, vec, vlen, flags);
}
