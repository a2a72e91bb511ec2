/*
 * NAME
 *	hook_inbound - listen(), accept(), accept4()
 * DESCRIPTION
 *	A delivery process has no business accepting inet connections: they
 *	would bypass Tor in the other direction. Inet listen and accept work
 *	only with allow_inbound = yes. AF_UNIX always works, including
 *	accept(fd, NULL, NULL), which is how Postfix's smtp takes work from
 *	the queue manager.
 * RETURNS
 *	As libc; refused calls fail with EPERM.
 */
#include <errno.h>
#include <sys/socket.h>

#include "onionshim/hooks.h"
#include "onionshim/real.h"

ONIONSHIM_EXPORT int
listen(int fd, int backlog)
{
	int err = onionshim_shim_inbound_plan(onionshim_ready(), fd, "listen()");

	if (err) {
		errno = err;
		return -1;
	}
	return ONIONSHIM_REAL(listen)(fd, backlog);
}

ONIONSHIM_EXPORT int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int err = onionshim_shim_inbound_plan(onionshim_ready(), fd, "accept()");

	if (err) {
		errno = err;
		return -1;
	}
	return ONIONSHIM_REAL(accept)(fd, sa, len);
}

ONIONSHIM_EXPORT int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int err = onionshim_shim_inbound_plan(onionshim_ready(), fd, "accept4()");

	if (err) {
		errno = err;
		return -1;
	}
	return ONIONSHIM_REAL(accept4)(fd, sa, len, flags);
}
