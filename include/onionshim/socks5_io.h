/*
 * socks5_io - run a SOCKS5 exchange with Tor over a socket, bounded by
 * connect_timeout, failing over along the socks_server list.
 *
 * The exchange happens on the caller's own socket (CONNECT) or on a
 * private one (RESOLVE, RESOLVE_PTR). Whatever the socket's blocking mode,
 * the exchange finishes inside the call; the file status flags are
 * restored exactly. Without isolation the greeting and the request go in
 * one write; with it, the greeting goes first and the auth and request
 * together after the method reply (tor drops the method reply when
 * greeting and auth arrive together). The reply is read by its ATYP,
 * exactly, so no byte of the stream after it is consumed.
 *
 * Returns 0 or -errno: the reply's errno (socks5.h); -ETIMEDOUT when a
 * server that accepted the TCP connection said nothing within
 * connect_timeout; -ENETDOWN when no SOCKS server accepted the TCP
 * connection (refused, unreachable, or silent for its share of the time:
 * the servers left share what is left of connect_timeout equally, so a
 * dead first server cannot stop failover); -EPROTO for a reply that is
 * short, cut off, reset or not SOCKS5; -EACCES when the server accepts none
 * of our methods or refuses the isolation login; -EAFNOSUPPORT when the
 * socket cannot be replaced by one of the server's family; -EINTR when a signal
 * interrupted a wait, unless every caught signal has SA_RESTART (as a
 * blocking libc connect). A socket whose exchange failed after it reached
 * a server is shut down (spent: the caller closes it). The trace says what
 * happened, for the log: why holds one line for every failure that is not
 * a Tor reply code.
 *
 * The socket must be an unconnected TCP socket: the caller checks that
 * (the connect plan asks TCP_INFO), because a connect() on a socket whose
 * own non-blocking connect has completed succeeds again on Linux, and the
 * request would go where the program connected it.
 */
#ifndef ONIONSHIM_SOCKS5_IO_H
#define ONIONSHIM_SOCKS5_IO_H

#include <stdint.h>

#include "onionshim/config.h"
#include "onionshim/socks5.h"
#include "onionshim/util.h"

struct onionshim_socks5_trace {
	int server;			/* index into cfg->socks used, -1: none */
	int rep;			/* reply code, -1: no reply */
	unsigned ms_tcp;		/* until the TCP connect to Tor finished */
	unsigned ms_total;		/* until the reply was read */
	int replaced;			/* the socket was replaced (dup3) */
	struct onionshim_errbuf failed;	/* servers that failed, and why */
	struct onionshim_errbuf why;	/* what went wrong, if anything */
};

/*
 * onionshim_socks5_connect_fd - CONNECT FD to DST through the SOCKS servers
 * of CFG; USER, when not NULL, is the isolation username. Returns 0 or
 * -errno as above.
 */
int onionshim_socks5_connect_fd(const struct onionshim_config *cfg, int fd,
				const struct onionshim_socks5_addr *dst, const char *user,
				struct onionshim_socks5_trace *trace);

/*
 * onionshim_socks5_query - run CMD (RESOLVE or RESOLVE_PTR) for DST on a
 * private socket; REPLY receives Tor's answer. A signal does not end the
 * wait (libc's resolver goes on after EINTR too). Returns 0 or -errno.
 */
int onionshim_socks5_query(const struct onionshim_config *cfg, uint8_t cmd,
			   const struct onionshim_socks5_addr *dst, const char *user,
			   struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *trace);

/* onionshim_ms_since - milliseconds on CLOCK_MONOTONIC since START_NS. */
unsigned onionshim_ms_since(uint64_t start_ns);

/* onionshim_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t onionshim_now_ns(void);

#endif
