/*
 * NAME
 *	shim - the library's state and policy
 * DESCRIPTION
 *	onionshim_shim_load() reads the config and maps the onion_map file
 *	(the map is indexed on its first lookup, not here: start-up must
 *	stay cheap for a process that never resolves a mapped name).
 *
 *	onionshim_shim_resolve() decides what a name is: an onion (checked
 *	against RFC 7686 and the v3 checksum), a mapped domain, or neither,
 *	and gives diverted names their fake slot. onionshim_shim_connect_plan()
 *	decides what a connect() must do. Both log each refusal in one line.
 * RETURNS
 *	0 or -errno, as shim.h says.
 * NEVER
 *	holds the lock across I/O or a log write, or lets a name it refuses
 *	reach libc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onionshim/log.h"
#include "onionshim/shim.h"

static void
map_report(void *arg, int level, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	onionshim_log((enum onionshim_level)level, "%s:%u: %s", file, line, msg);
}

/* open_map - map the onion_map file read-only; an empty file is no entry. */
static int
open_map(struct onionshim_ctx *ctx)
{
	const char *path = ctx->cfg.onion_map.buf;
	struct stat st;
	void *p = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		onionshim_errf(&ctx->why, "onion_map %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		onionshim_errf(&ctx->why, "onion_map %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			onionshim_errf(&ctx->why, "onion_map %s: %s", path, strerror(errno));
			close(fd);
			return -ENOMEM;
		}
	}
	close(fd);
	ctx->map_text = p != NULL ? p : "";
	ctx->map_len = (size_t)st.st_size;
	onionshim_map_init(&ctx->map, ctx->map_text, ctx->map_len, path,
			   onionshim_fake_nslots(&ctx->cfg), map_report, ctx);
	ctx->have_map = 1;
	return 0;
}

static void
apply_override(struct onionshim_ctx *ctx, const char *name, const char *value)
{
	struct onionshim_errbuf err;

	if (value == NULL || *value == '\0')
		return;
	if (onionshim_config_set(&ctx->cfg, name, value, &err) < 0)
		onionshim_log(ONIONSHIM_LOG_WARNING, "environment ONIONSHIM_%s ignored: %s",
			      name + 0, err.buf);
}

int
onionshim_shim_load(struct onionshim_ctx *ctx, const char *conf_path, int missing_ok,
		    const char *log_to, const char *log_level)
{
	struct onionshim_errbuf err = { "" };
	int rc;

	pthread_mutex_init(&ctx->lock, NULL);
	snprintf(ctx->conf_path.buf, sizeof(ctx->conf_path.buf), "%s", conf_path);
	/*
	 * A broken file still names its log: log_to and log_level are checked
	 * one by one as they are set, so what the parser took before the bad
	 * line is sound, and the postmaster finds the error where they look.
	 */
	rc = onionshim_config_load(&ctx->cfg, conf_path, missing_ok, &err);
	apply_override(ctx, "log_to", log_to);
	apply_override(ctx, "log_level", log_level);
	onionshim_log_open(ctx->cfg.log_to.buf, ctx->cfg.log_level);
	if (rc < 0) {
		ctx->why = err;
		onionshim_log(ONIONSHIM_LOG_ERROR,
			      "%s; inet connections and name lookups fail until it is fixed",
			      err.buf);
		return rc;
	}
	if (ctx->cfg.onion_map.buf[0] != '\0' && (rc = open_map(ctx)) < 0) {
		onionshim_log(ONIONSHIM_LOG_ERROR,
			      "%s; inet connections and name lookups fail until it is fixed",
			      ctx->why.buf);
		return rc;
	}
	ctx->ok = 1;
	return 0;
}

/* ensure_map - build the map index once, under the lock. */
static int
ensure_map(struct onionshim_ctx *ctx)
{
	int rc = 0;

	if (__atomic_load_n(&ctx->map_built, __ATOMIC_ACQUIRE))
		return ctx->map.build_error;
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->map_built) {
		rc = onionshim_map_build(&ctx->map);
		__atomic_store_n(&ctx->map_built, 1, __ATOMIC_RELEASE);
	} else {
		rc = ctx->map.build_error;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

static void
remember_name(struct onionshim_ctx *ctx, uint32_t slot, const char *name)
{
	struct onionshim_name_entry *e = &ctx->names[slot & (ONIONSHIM_NAME_TABLE_SIZE - 1)];

	pthread_mutex_lock(&ctx->lock);
	/* a name is looked up again and again: write only when it changes */
	if (e->slot != slot || strcmp(e->name.buf, name) != 0) {
		e->slot = slot;
		snprintf(e->name.buf, sizeof(e->name.buf), "%s", name);
	}
	pthread_mutex_unlock(&ctx->lock);
}

void
onionshim_shim_name_of(struct onionshim_ctx *ctx, uint32_t slot,
		       const struct onionshim_target *t, struct onionshim_name *out)
{
	const struct onionshim_name_entry *e = &ctx->names[slot & (ONIONSHIM_NAME_TABLE_SIZE - 1)];

	pthread_mutex_lock(&ctx->lock);
	if (e->slot == slot)
		*out = e->name;
	else
		snprintf(out->buf, sizeof(out->buf), "%s", t->onion.buf);
	pthread_mutex_unlock(&ctx->lock);
}

/*
 * bare_onion - NAME as a bare lower-case onion ("<56>.onion", one trailing
 * dot allowed) into OUT, without validating it. Returns 1, or 0 when NAME
 * has a subdomain or another shape (the full check then decides).
 */
static int
bare_onion(const char *name, size_t len, struct onionshim_onion *out)
{
	size_t n = ONIONSHIM_ONION_LABEL_LEN + 6;

	if (len == n + 1 && name[n] == '.')
		len = n;
	if (len != n)
		return 0;
	onionshim_lower_copy(out->buf, name, n);
	out->buf[n] = '\0';
	return out->buf[ONIONSHIM_ONION_LABEL_LEN] == '.';
}

/*
 * known_onion - an onion this process already validated: a map destination
 * whose check is remembered, or one in the table of onions met before. Its
 * SHA3 check (about 10,000 instructions) then runs only once per process.
 * Returns 1 with T set, or 0.
 */
static int
known_onion(struct onionshim_ctx *ctx, const struct onionshim_onion *onion,
	    struct onionshim_target *t)
{
	const struct onionshim_map_dest *d = NULL;
	const struct onionshim_onion *o;
	uint32_t slot;
	int hit;

	if (ctx->have_map && ensure_map(ctx) == 0)
		d = onionshim_map_by_bare_onion(&ctx->map, onion, 0);
	if (d != NULL) {
		if (__atomic_load_n(&d->check, __ATOMIC_ACQUIRE) != ONIONSHIM_MAP_VALID)
			return 0;
		t->kind = ONIONSHIM_NAME_MAPPED_ONION;
		t->onion = *onion;
		t->slot = d->slot;
		t->line = d->line;
		return 1;
	}
	slot = onionshim_fake_home(onion->buf, ONIONSHIM_ONION_LABEL_LEN + 6,
				   onionshim_fake_nslots(&ctx->cfg));
	pthread_mutex_lock(&ctx->lock);
	o = onionshim_fake_table_find(&ctx->fakes, slot);
	hit = o != NULL && strcmp(o->buf, onion->buf) == 0;
	pthread_mutex_unlock(&ctx->lock);
	if (!hit)
		return 0;
	t->kind = ONIONSHIM_NAME_ONION;
	t->onion = *onion;
	t->slot = slot;
	return 1;
}

/* resolve_onion - a name ending in .onion: valid v3 or deferred. */
static int
resolve_onion(struct onionshim_ctx *ctx, const char *name, size_t len, struct onionshim_target *t)
{
	enum onionshim_onion_status st;
	const struct onionshim_map_dest *d = NULL;
	int rc;

	if (bare_onion(name, len, &t->onion) && known_onion(ctx, &t->onion, t))
		return 0;
	st = onionshim_onion_check(name, len, &t->onion);
	if (st != ONIONSHIM_ONION_OK) {
		onionshim_log(ONIONSHIM_LOG_NOTICE,
			      "lookup of %.*s deferred: not a valid v3 onion address (%s); "
			      "onion names never go to DNS", (int)len, name,
			      onionshim_onion_strerror(st));
		return -EAGAIN;
	}
	if (ctx->have_map && ensure_map(ctx) == 0)
		d = onionshim_map_by_bare_onion(&ctx->map, &t->onion, 0);
	if (d != NULL) {
		/* remember the check, so that the next lookup skips it */
		onionshim_map_dest_check(d);
		t->kind = ONIONSHIM_NAME_MAPPED_ONION;
		t->slot = d->slot;
		t->line = d->line;
		return 0;
	}
	t->kind = ONIONSHIM_NAME_ONION;
	t->slot = onionshim_fake_home(t->onion.buf, strlen(t->onion.buf),
				      onionshim_fake_nslots(&ctx->cfg));
	if (ctx->have_map && onionshim_map_by_slot(&ctx->map, t->slot) != NULL) {
		rc = -EEXIST;
	} else {
		pthread_mutex_lock(&ctx->lock);
		rc = onionshim_fake_table_add(&ctx->fakes, t->slot, &t->onion);
		pthread_mutex_unlock(&ctx->lock);
	}
	if (rc < 0) {
		onionshim_log(ONIONSHIM_LOG_WARNING,
			      "lookup of %.*s deferred: %s; list this onion in onion_map",
			      (int)len, name, rc == -EEXIST ?
			      "its fake address collides with another destination" :
			      "too many onions outside onion_map in this process");
		return -EAGAIN;
	}
	return 0;
}

int
onionshim_shim_resolve(struct onionshim_ctx *ctx, const char *name, struct onionshim_target *t)
{
	struct onionshim_map_hit hit;
	enum onionshim_onion_status st;
	size_t len = strlen(name);
	int rc;

	memset(t, 0, sizeof(*t));
	if (!ctx->ok) {
		onionshim_log(ONIONSHIM_LOG_WARNING, "lookup of %s refused: %s", name,
			      ctx->why.buf);
		return -EAGAIN;
	}
	if (onionshim_onion_is_onion_name(name, len))
		rc = resolve_onion(ctx, name, len, t);
	else if (!ctx->have_map)
		return 0;
	else if ((rc = ensure_map(ctx)) < 0)
		onionshim_log(ONIONSHIM_LOG_ERROR, "lookup of %s deferred: onion_map %s: %s",
			      name, ctx->cfg.onion_map.buf, strerror(-rc));
	else if ((rc = onionshim_map_lookup(&ctx->map, name, len, &hit)) == -ENOENT)
		return 0;
	else if (rc < 0)
		onionshim_log(ONIONSHIM_LOG_WARNING,
			      "lookup of %s deferred: its onion_map entry is bad (see the "
			      "earlier line about %s)", name, ctx->cfg.onion_map.buf);
	else if ((st = onionshim_map_dest_check(hit.dest)) != ONIONSHIM_ONION_OK) {
		onionshim_log(ONIONSHIM_LOG_WARNING,
			      "lookup of %s deferred: %s:%u: %s is not a valid v3 onion "
			      "address (%s)", name, ctx->cfg.onion_map.buf, hit.line,
			      hit.dest->onion.buf, onionshim_onion_strerror(st));
		rc = -EINVAL;
	} else {
		t->kind = ONIONSHIM_NAME_MAPPED;
		t->slot = hit.dest->slot;
		t->onion = hit.dest->onion;
		t->port = hit.dest->port;
		t->line = hit.line;
	}
	if (rc < 0)
		return -EAGAIN;
	remember_name(ctx, t->slot, name);
	return 0;
}

int
onionshim_shim_target_of(struct onionshim_ctx *ctx, uint32_t slot, struct onionshim_target *t)
{
	const struct onionshim_map_dest *d = NULL;
	const struct onionshim_onion *o;

	memset(t, 0, sizeof(*t));
	t->slot = slot;
	if (ctx->have_map && ensure_map(ctx) == 0)
		d = onionshim_map_by_slot(&ctx->map, slot);
	if (d != NULL) {
		if (onionshim_map_dest_check(d) != ONIONSHIM_ONION_OK)
			return -EINVAL;
		t->kind = ONIONSHIM_NAME_MAPPED;
		t->onion = d->onion;
		t->port = d->port;
		t->line = d->line;
		return 0;
	}
	pthread_mutex_lock(&ctx->lock);
	o = onionshim_fake_table_find(&ctx->fakes, slot);
	if (o != NULL)
		t->onion = *o;
	pthread_mutex_unlock(&ctx->lock);
	if (o == NULL)
		return -ENOENT;
	t->kind = ONIONSHIM_NAME_ONION;
	return 0;
}

static int
same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* unmap4 - the IPv4 address inside a v4-mapped SA, or SA itself. */
static const struct sockaddr *
unmap4(const struct sockaddr *sa, struct sockaddr_in *tmp)
{
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return sa;
	memset(tmp, 0, sizeof(*tmp));
	tmp->sin_family = AF_INET;
	tmp->sin_port = s6->sin6_port;
	memcpy(&tmp->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	return (const struct sockaddr *)tmp;
}

int
onionshim_shim_is_socks(const struct onionshim_ctx *ctx, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in tmp;
	size_t i;

	if (len < sizeof(struct sockaddr_in))
		return 0;
	if (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6))
		return 0;
	sa = unmap4(sa, &tmp);
	for (i = 0; i < ctx->cfg.nsocks; i++)
		if (same_addr(sa, &ctx->cfg.socks[i].ss))
			return 1;
	return 0;
}

static int
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return (a >> 24) == 127 || a == 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a);
	}
	return 0;
}

void
onionshim_sockaddr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s:%u", a, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, outlen, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(out, outlen, "(family %d)", sa->sa_family);
	}
}

static int
deny(struct onionshim_plan *plan, int err)
{
	plan->verdict = ONIONSHIM_DENY;
	plan->err = err;
	return 0;
}

static uint16_t
sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

int
onionshim_shim_connect_plan(struct onionshim_ctx *ctx, int fd, const struct sockaddr *sa,
			    socklen_t len, struct onionshim_plan *plan)
{
	char text[80];
	struct sockaddr_in tmp;
	uint8_t info[8];		/* the head of struct tcp_info: tcpi_state */
	int type = 0, rc;
	socklen_t l = sizeof(info);

	memset(plan, 0, sizeof(*plan));
	if (len < sizeof(struct sockaddr_in) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return deny(plan, EINVAL);
	if (!ctx->ok) {
		onionshim_sockaddr_text(sa, text, sizeof(text));
		onionshim_log(ONIONSHIM_LOG_WARNING, "connect to %s refused: %s", text,
			      ctx->why.buf);
		return deny(plan, EPERM);
	}
	rc = onionshim_fake_slot(&ctx->cfg, sa, len, &plan->slot);
	if (rc == -ENOENT) {
		if (onionshim_shim_is_socks(ctx, sa, len) ||
		    ctx->cfg.route == ONIONSHIM_ROUTE_ONION)
			return 0;
	}
	/*
	 * One question tells both what libc's connect() would: only a TCP
	 * socket answers TCP_INFO, and its state says whether it is already
	 * connected (EISCONN, listening too) or connecting (EALREADY). Such a
	 * socket must not be touched: a socket the program connected
	 * elsewhere would otherwise carry the SOCKS request there.
	 */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &l) == 0 && l >= 1) {
		if (info[0] == TCP_SYN_SENT)
			return deny(plan, EALREADY);
		if (info[0] != TCP_CLOSE)
			return deny(plan, EISCONN);
	} else if (errno != EOPNOTSUPP && errno != ENOPROTOOPT) {
		return deny(plan, errno);
	} else {
		/* the address as text only for a line that is written */
		l = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
			return deny(plan, errno);
		onionshim_sockaddr_text(sa, text, sizeof(text));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "connect of a %s socket to %s refused: "
			      "only TCP goes through Tor", type == SOCK_DGRAM ? "datagram" :
			      type == SOCK_STREAM ? "non-TCP stream" : "non-stream", text);
		return deny(plan, EPERM);
	}
	if (rc == 0) {
		rc = onionshim_shim_target_of(ctx, plan->slot, &plan->target);
		if (rc < 0) {
			onionshim_sockaddr_text(sa, text, sizeof(text));
			onionshim_log(ONIONSHIM_LOG_WARNING, "connect to %s refused: %s", text,
				      rc == -EINVAL ? "its onion_map destination is not a valid "
				      "onion" : "a fake address that no lookup in this process "
				      "gave out and onion_map does not hold; list the onion in "
				      "onion_map");
			return deny(plan, EHOSTUNREACH);
		}
		plan->verdict = ONIONSHIM_PROXY_NAME;
		plan->dst.atyp = ONIONSHIM_SOCKS5_ATYP_NAME;
		plan->dst.namelen = (uint8_t)strlen(plan->target.onion.buf);
		memcpy(plan->dst.name, plan->target.onion.buf, plan->dst.namelen + 1u);
		plan->dst.port = plan->target.port ? plan->target.port : sa_port(sa);
		return 0;
	}
	if (rc < 0 && rc != -ENOENT) {
		onionshim_sockaddr_text(sa, text, sizeof(text));
		onionshim_log(ONIONSHIM_LOG_WARNING, "connect to %s refused: an address in "
			      "fake_network that is no destination", text);
		return deny(plan, EHOSTUNREACH);
	}
	/* route = all, a plain address */
	if (is_loopback(unmap4(sa, &tmp))) {
		if (ctx->cfg.allow_localhost)
			return 0;
		onionshim_sockaddr_text(sa, text, sizeof(text));
		onionshim_log(ONIONSHIM_LOG_NOTICE, "connect to %s refused: loopback, and "
			      "allow_localhost = no", text);
		return deny(plan, EPERM);
	}
	sa = unmap4(sa, &tmp);
	plan->verdict = ONIONSHIM_PROXY_ADDR;
	plan->dst.port = sa_port(sa);
	if (sa->sa_family == AF_INET) {
		plan->dst.atyp = ONIONSHIM_SOCKS5_ATYP_IPV4;
		memcpy(plan->dst.ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		plan->dst.atyp = ONIONSHIM_SOCKS5_ATYP_IPV6;
		memcpy(plan->dst.ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	return 0;
}

static struct onionshim_sock_entry *
sock_slot(struct onionshim_ctx *ctx, const struct stat *st)
{
	return &ctx->socks[(st->st_ino ^ (st->st_ino >> 10)) & (ONIONSHIM_SOCK_TABLE_SIZE - 1)];
}

void
onionshim_shim_sock_record(struct onionshim_ctx *ctx, const struct stat *st,
			   const struct sockaddr *peer, socklen_t peerlen)
{
	struct onionshim_sock_entry *e = sock_slot(ctx, st);

	if (peerlen > sizeof(e->peer))
		return;
	/* a newer socket in the same slot replaces the old one */
	pthread_mutex_lock(&ctx->lock);
	memset(&e->peer, 0, sizeof(e->peer));
	memcpy(&e->peer, peer, peerlen);
	e->peerlen = peerlen;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->used = 1;
	pthread_mutex_unlock(&ctx->lock);
}

int
onionshim_shim_sock_peer(struct onionshim_ctx *ctx, const struct stat *st,
			 struct sockaddr_storage *peer, socklen_t *peerlen)
{
	struct onionshim_sock_entry *e = sock_slot(ctx, st);
	int rc = -ENOENT;

	pthread_mutex_lock(&ctx->lock);
	if (e->used && e->ino == st->st_ino && e->dev == st->st_dev) {
		*peer = e->peer;
		*peerlen = e->peerlen;
		rc = 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

socklen_t
onionshim_shim_fake_sockaddr(const struct onionshim_ctx *ctx, uint32_t slot, int family,
			     uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		onionshim_fake_addr6(&ctx->cfg, slot, &s6->sin6_addr);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	onionshim_fake_addr4(&ctx->cfg, slot, &s4->sin_addr);
	return sizeof(*s4);
}

int
onionshim_shim_warn_once(struct onionshim_ctx *ctx, uint32_t slot)
{
	size_t i;
	int first = 1;

	pthread_mutex_lock(&ctx->lock);
	for (i = 0; i < ctx->nwarned; i++)
		if (ctx->warned[i] == slot)
			first = 0;
	if (first && ctx->nwarned < sizeof(ctx->warned) / sizeof(ctx->warned[0]))
		ctx->warned[ctx->nwarned++] = slot;
	pthread_mutex_unlock(&ctx->lock);
	return first;
}

void
onionshim_shim_atfork_prepare(struct onionshim_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
}

void
onionshim_shim_atfork_release(struct onionshim_ctx *ctx)
{
	pthread_mutex_unlock(&ctx->lock);
}

int
onionshim_name_is_numeric(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	/* one compare for a digit, then '.', on the path every numeric name takes */
	while ((unsigned)(*p - '0') < 10u || *p == '.')
		p++;
	if (*p == ':')
		return 1;
	return *p == '\0' && p != (const unsigned char *)name;
}

/* passes_tor - whether a TCP connection to SA must go through Tor. */
static int
must_proxy(const struct onionshim_ctx *ctx, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in tmp;
	uint32_t slot;

	if (onionshim_fake_slot(&ctx->cfg, sa, len, &slot) != -ENOENT)
		return 1;
	if (ctx->cfg.route == ONIONSHIM_ROUTE_ONION || onionshim_shim_is_socks(ctx, sa, len))
		return 0;
	return !(ctx->cfg.allow_localhost && is_loopback(unmap4(sa, &tmp)));
}

int
onionshim_shim_send_plan(struct onionshim_ctx *ctx, int fd, int flags,
			 const struct sockaddr *to, socklen_t tolen)
{
	char text[80];
	int type = 0;
	socklen_t l = sizeof(type);
	uint32_t slot;

	if (to == NULL || tolen < sizeof(struct sockaddr_in) ||
	    (to->sa_family != AF_INET && to->sa_family != AF_INET6) ||
	    (to->sa_family == AF_INET6 && tolen < sizeof(struct sockaddr_in6)))
		return 0;
	onionshim_sockaddr_text(to, text, sizeof(text));
	if (!ctx->ok) {
		onionshim_log(ONIONSHIM_LOG_WARNING, "send to %s refused: %s", text,
			      ctx->why.buf);
		return EPERM;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return 0;	/* not a socket: the kernel will say so */
	if (type == SOCK_STREAM) {
		if (!(flags & MSG_FASTOPEN) || !must_proxy(ctx, to, tolen))
			return 0;
		onionshim_log(ONIONSHIM_LOG_INFO, "TCP Fast Open to %s refused: it goes "
			      "through Tor; the program falls back to connect()", text);
		return EOPNOTSUPP;
	}
	if (ctx->cfg.route == ONIONSHIM_ROUTE_ONION &&
	    onionshim_fake_slot(&ctx->cfg, to, tolen, &slot) == -ENOENT)
		return 0;
	onionshim_log(ONIONSHIM_LOG_NOTICE, "datagram to %s refused: %s", text,
		      ctx->cfg.route == ONIONSHIM_ROUTE_ALL ? "route = all lets no UDP out" :
		      "a fake address is reached over TCP only");
	return EPERM;
}

int
onionshim_shim_inbound_plan(struct onionshim_ctx *ctx, int fd, const char *what)
{
	int dom = 0;
	socklen_t l = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return 0;	/* not a socket: the kernel will say so */
	if (dom != AF_INET && dom != AF_INET6)
		return 0;
	if (ctx->ok && ctx->cfg.allow_inbound)
		return 0;
	onionshim_log(ONIONSHIM_LOG_WARNING, "%s on an inet socket refused: %s", what,
		      ctx->ok ? "allow_inbound = no" : ctx->why.buf);
	return EPERM;
}

int
onionshim_shim_reverse(struct onionshim_ctx *ctx, const struct sockaddr *sa, socklen_t len,
		       struct onionshim_name *out)
{
	struct onionshim_target t;
	uint32_t slot;

	if (!ctx->ok || onionshim_fake_slot(&ctx->cfg, sa, len, &slot) != 0)
		return 0;
	if (onionshim_shim_target_of(ctx, slot, &t) < 0)
		return -ENOENT;
	snprintf(out->buf, sizeof(out->buf), "%s", t.onion.buf);
	return 1;
}
