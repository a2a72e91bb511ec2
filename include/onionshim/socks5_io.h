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
 * Returns 0 or -errno: the reply's errno (socks5.h), -ETIMEDOUT past the
 * deadline, -EINTR when a signal interrupted a wait (the socket is then
 * spent), -ENETDOWN when no SOCKS server answered, -EPROTO for a reply
 * that is short or not SOCKS5, -EAFNOSUPPORT when the socket cannot reach
 * any server's family. The trace says what happened, for the log.
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
 * private socket; REPLY receives Tor's answer. Returns 0 or -errno.
 */
int onionshim_socks5_query(const struct onionshim_config *cfg, uint8_t cmd,
			   const struct onionshim_socks5_addr *dst, const char *user,
			   struct onionshim_socks5_reply *reply, struct onionshim_socks5_trace *trace);

/* onionshim_ms_since - milliseconds on CLOCK_MONOTONIC since START_NS. */
unsigned onionshim_ms_since(uint64_t start_ns);

/* onionshim_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t onionshim_now_ns(void);

#endif
