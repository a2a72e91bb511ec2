/*
 * shim - the library's state and its policy: what a name resolves to and
 * what a connect() must do. The hooks ask this module, then translate its
 * answer into the libc contract; nothing here sets errno or h_errno.
 *
 * A context holds the loaded config, the map (mapped read-only from its
 * file, indexed on first use), the per-process table of onions met outside
 * the map, and the per-socket record of proxied connections. One mutex
 * guards the mutable parts; it is never held across I/O, and fork
 * handlers (onionshim_shim_atfork_*) keep it consistent in a child.
 *
 * Returns: 0 or -errno, as each function says.
 */
#ifndef ONIONSHIM_SHIM_H
#define ONIONSHIM_SHIM_H

#include <pthread.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "onionshim/config.h"
#include "onionshim/fake.h"
#include "onionshim/map.h"
#include "onionshim/onion.h"
#include "onionshim/socks5.h"
#include "onionshim/util.h"

#define ONIONSHIM_SOCK_TABLE_SIZE 1024	/* power of two */
#define ONIONSHIM_NAME_TABLE_SIZE 256	/* power of two */

/* What a proxied socket looks like to the program. */
struct onionshim_sock_entry {
	struct sockaddr_storage peer;	/* what the program connected to */
	socklen_t peerlen;
	dev_t dev;			/* the socket's device and inode: */
	ino_t ino;			/* unique while it lives */
	int used;
};

struct onionshim_ctx {
	struct onionshim_config cfg;
	int ok;				/* config (and map) loaded */
	struct onionshim_errbuf why;	/* why not, for fail-closed log lines */
	struct onionshim_path conf_path;

	const char *map_text;		/* mmap of onion_map, or NULL */
	size_t map_len;
	struct onionshim_map map;
	int have_map;

	pthread_mutex_t lock;
	struct onionshim_fake_table fakes;	/* onions outside the map */
	uint32_t warned[64];		/* unmapped onions already warned of */
	size_t nwarned;
	int map_built;			/* atomic: the map index exists */
	struct onionshim_name_entry {
		uint32_t slot;
		struct onionshim_name name;
	} names[ONIONSHIM_NAME_TABLE_SIZE];	/* last name per slot, for logs */
	struct onionshim_sock_entry socks[ONIONSHIM_SOCK_TABLE_SIZE];
};

/*
 * onionshim_shim_load - load config from CONF_PATH (a missing file is fine
 * when MISSING_OK: defaults), apply LOG_TO / LOG_LEVEL overrides (may be
 * NULL), and open and map the onion_map file. On failure ctx->ok is 0 and
 * ctx->why says why; the context is still usable and fails closed.
 * Returns 0 or -errno.
 */
int onionshim_shim_load(struct onionshim_ctx *ctx, const char *conf_path, int missing_ok,
			const char *log_to, const char *log_level);

/* What a name is. */
enum onionshim_name_kind {
	ONIONSHIM_NAME_OTHER = 0,	/* neither onion nor mapped */
	ONIONSHIM_NAME_ONION,		/* a valid onion, not in the map */
	ONIONSHIM_NAME_MAPPED,		/* the map sends it to an onion */
	ONIONSHIM_NAME_MAPPED_ONION,	/* an onion that is a map target */
};

struct onionshim_target {
	enum onionshim_name_kind kind;
	uint32_t slot;			/* fake-address slot */
	struct onionshim_onion onion;	/* where to connect */
	uint16_t port;			/* 0: the port the program asks for */
	unsigned line;			/* map line, for MAPPED */
};

/*
 * onionshim_shim_resolve - decide what NAME is and give it its fake slot.
 * Logs why a name is deferred (one line). Returns 0 with T set (kind OTHER
 * when the name is not diverted), or -EAGAIN: defer (invalid onion, bad
 * or conflicting map entry, slot collision, config not loaded).
 */
int onionshim_shim_resolve(struct onionshim_ctx *ctx, const char *name,
			   struct onionshim_target *t);

/*
 * onionshim_shim_target_of - the target behind fake SLOT: a map
 * destination or an onion this process resolved. Returns 0, or -ENOENT
 * (a fake address that nobody resolved here and the map does not hold).
 */
int onionshim_shim_target_of(struct onionshim_ctx *ctx, uint32_t slot,
			     struct onionshim_target *t);

/* onionshim_shim_name_of - copy the last name resolved to SLOT, or the onion. */
void onionshim_shim_name_of(struct onionshim_ctx *ctx, uint32_t slot,
			    const struct onionshim_target *t, struct onionshim_name *out);

/* What connect() must do. */
enum onionshim_verdict {
	ONIONSHIM_PASS = 0,		/* call libc */
	ONIONSHIM_DENY,			/* fail with err */
	ONIONSHIM_PROXY_NAME,		/* CONNECT by name through Tor */
	ONIONSHIM_PROXY_ADDR,		/* CONNECT by address through Tor */
};

struct onionshim_plan {
	enum onionshim_verdict verdict;
	int err;			/* DENY: the errno */
	struct onionshim_target target;	/* PROXY_NAME */
	struct onionshim_socks5_addr dst;	/* PROXY_*: what to ask Tor */
	uint32_t slot;
};

/*
 * onionshim_shim_connect_plan - decide for a connect() of FD to SA (an
 * AF_INET or AF_INET6 address, LEN bytes). Logs denials. Returns 0 with
 * PLAN set.
 */
int onionshim_shim_connect_plan(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa,
				socklen_t len, struct onionshim_plan *plan);

/*
 * onionshim_shim_is_socks - whether SA is one of the SOCKS servers.
 */
int onionshim_shim_is_socks(const struct onionshim_ctx *ctx, const struct sockaddr *sa,
			    socklen_t len);

/*
 * onionshim_shim_sock_record / _sock_peer - remember that the socket ST
 * (fstat of its descriptor: device and inode) was connected by the program
 * to PEER; find it again. Keyed by the inode, which a dup shares and which
 * the kernel gives no new socket while the old one lives (socket inodes
 * come from a counter that only repeats after 2^32 of them), so dup,
 * close_range and closefrom cannot leave a stale answer, even for a new
 * socket with the old one's descriptor number and local address. One
 * fstat at connect time is the whole cost.
 */
void onionshim_shim_sock_record(struct onionshim_ctx *ctx, const struct stat *st,
				const struct sockaddr *peer, socklen_t peerlen);
int onionshim_shim_sock_peer(struct onionshim_ctx *ctx, const struct stat *st,
			     struct sockaddr_storage *peer, socklen_t *peerlen);

/* onionshim_shim_fake_sockaddr - the fake address of SLOT in FAMILY. */
socklen_t onionshim_shim_fake_sockaddr(const struct onionshim_ctx *ctx, uint32_t slot, int family,
				       uint16_t port, struct sockaddr_storage *out);

/* Fork handlers: lock before fork, unlock in parent and child. */
void onionshim_shim_atfork_prepare(struct onionshim_ctx *ctx);
void onionshim_shim_atfork_release(struct onionshim_ctx *ctx);

#endif

/* --- proxy.c: the diverted paths, shared by the hooks and the tools ---- */

/*
 * onionshim_proxy_connect - carry out PLAN (PROXY_NAME or PROXY_ADDR) for
 * the program's connect(FD, SA, LEN): the SOCKS5 exchange on FD, then
 * the per-socket record for getpeername. Logs the outcome in one line.
 * Returns 0 or -errno (socks5_io.h).
 */
int onionshim_proxy_connect(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa,
			    socklen_t len, const struct onionshim_plan *plan);

/*
 * onionshim_proxy_resolve - route = all: resolve NAME through Tor (RESOLVE).
 * FAMILY is AF_INET, AF_INET6 or AF_UNSPEC. On success *AF is the
 * address family and ADDR holds 4 or 16 bytes. Logs failures. Returns 0 or
 * -EAGAIN (every failure defers: Tor cannot tell "no such name" apart).
 */
int onionshim_proxy_resolve(struct onionshim_ctx *ctx, const char *name, int family, int *af,
			    uint8_t addr[16]);

/* onionshim_sockaddr_text - "1.2.3.4:25" or "[::1]:25" for logs. */
void onionshim_sockaddr_text(const struct sockaddr *sa, char *out, size_t outlen);

/* onionshim_shim_warn_once - 1 the first time SLOT is asked about, else 0. */
int onionshim_shim_warn_once(struct onionshim_ctx *ctx, uint32_t slot);

/*
 * onionshim_name_is_numeric - whether NAME looks like a numeric IPv4 or
 * IPv6 address (digits and dots only, or a colon): such names go straight
 * to libc, which resolves them without any lookup.
 */
int onionshim_name_is_numeric(const char *name);

/*
 * onionshim_shim_send_plan - decide for sendto/sendmsg to TO (may be NULL
 * for a connected socket) with FLAGS: 0 to let it through, or a positive
 * errno: EPERM for an inet datagram under route = all or to a fake
 * address, EOPNOTSUPP for TCP Fast Open to a destination that must go
 * through Tor (the caller falls back to connect()). Logs refusals.
 */
int onionshim_shim_send_plan(struct onionshim_ctx *ctx, int fd, int flags,
			     const struct sockaddr *to, socklen_t tolen);

/*
 * onionshim_shim_inbound_plan - decide for listen/accept on FD (WHAT names
 * the call, for the log): 0 to let it through (AF_UNIX always; inet with
 * allow_inbound), or EPERM. Logs refusals.
 */
int onionshim_shim_inbound_plan(struct onionshim_ctx *ctx, int fd, const char *what);

/*
 * onionshim_shim_dns_answer - res_* for NAME (CLASS, TYPE): when the name is
 * an onion or mapped, build the answer into OUT (OUTLEN bytes) for query
 * Q (which carries the caller's id and question; may be NULL for
 * res_query-style calls) and store its full length in *LEN. Returns 1
 * (answered), 0 (not diverted: the caller decides by route), or -EAGAIN.
 */
int onionshim_shim_dns_answer(struct onionshim_ctx *ctx, const char *name, int qclass,
			      int qtype, const void *query, uint8_t *out, size_t outlen,
			      size_t *len);

/*
 * onionshim_shim_reverse - the name behind fake address SA, into OUT.
 * Returns 1 (found: the onion), 0 (not a fake address), -ENOENT (a fake
 * address nobody resolved here).
 */
int onionshim_shim_reverse(struct onionshim_ctx *ctx, const struct sockaddr *sa, socklen_t len,
			   struct onionshim_name *out);

/*
 * onionshim_hostent_fill - lay out a hostent with one name and one address
 * (ALEN bytes of family AF) in the caller's BUF, as the _r functions must.
 * Returns 0 or ERANGE (BUF too small).
 */
struct hostent;
int onionshim_hostent_fill(const char *name, int af, const void *addr, size_t alen,
			   struct hostent *ret, char *buf, size_t buflen);

/*
 * onionshim_proxy_resolve_ptr - route = all: the name of address SA through
 * Tor (RESOLVE_PTR). Returns 0 with OUT set, or -EAGAIN (logged).
 */
int onionshim_proxy_resolve_ptr(struct onionshim_ctx *ctx, const struct sockaddr *sa,
				struct onionshim_name *out);
