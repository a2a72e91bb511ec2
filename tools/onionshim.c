/*
 * NAME
 *	onionshim - run a command with libonionshim preloaded, or show the
 *	effective configuration
 * SYNOPSIS
 *	onionshim [-c CONF] COMMAND [ARG...]
 *	onionshim --show [-c CONF]
 * DESCRIPTION
 *	Like torsocks: adds the library to LD_PRELOAD (after what is there
 *	already: sanitizer runtimes must stay first), sets ONIONSHIM_CONF
 *	when -c is given, and execs COMMAND (searched in PATH).
 *
 *	It refuses, with one line that says why, whatever would run the
 *	command without the library, which would send its mail in the
 *	clear: a library that cannot be read, a config the library would
 *	reject (it would fail every connection closed), and a target in
 *	which the loader ignores LD_PRELOAD: set-user-ID or set-group-ID to
 *	another user, file capabilities (secure-execution mode, ld.so(8)),
 *	or a statically linked program.
 *
 *	--show prints the effective configuration, every setting with its
 *	default filled in, in onionshim.conf syntax, then the parsed map:
 *	every entry with its destination, fake address and onion check.
 * EXIT STATUS
 *	The command's status once it runs. Before: 125 usage, config or
 *	library problem; 126 the command cannot run under the library;
 *	127 the command was not found. --show: 0, or 1 when the config or
 *	the map has errors.
 * NEVER
 *	runs a command that the loader would start without the library.
 */
#include <arpa/inet.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "onionshim/config.h"
#include "onionshim/fake.h"
#include "onionshim/map.h"
#include "onionshim/onion.h"
#include "onionshim/shim.h"

#ifndef ONIONSHIM_LIB
#define ONIONSHIM_LIB "/usr/local/lib/libonionshim.so"
#endif

#define PROG "onionshim"

enum {
	EXIT_SETUP = 125,	/* usage, config or library problem */
	EXIT_CANNOT_RUN = 126,	/* the command cannot run under the library */
	EXIT_NOT_FOUND = 127,
};

static void __attribute__((format(printf, 2, 3), noreturn))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-c CONF] COMMAND [ARG...]\n"
		"       %s --show [-c CONF]\n", PROG, PROG);
}

/* ---- the config, as the library will read it ------------------------- */

struct conf_choice {
	const char *path;
	int missing_ok;		/* the default file: absent means defaults */
};

static struct conf_choice
choose_conf(const char *given)
{
	struct conf_choice c = { given, 0 };

	if (c.path == NULL)
		c.path = secure_getenv("ONIONSHIM_CONF");
	if (c.path == NULL || *c.path == '\0') {
		c.path = ONIONSHIM_DEFAULT_CONF;
		c.missing_ok = 1;
	}
	return c;
}

struct reports {
	unsigned errors;
	int print;
};

static void
map_report(void *arg, int level, const char *file, unsigned line, const char *msg)
{
	struct reports *rep = arg;

	if (level <= ONIONSHIM_LOG_ERROR)
		rep->errors++;
	if (rep->print)
		printf("# %s:%u: %s: %s\n", file, line, level <= ONIONSHIM_LOG_ERROR ? "error" :
		       level == ONIONSHIM_LOG_WARNING ? "warning" : "note", msg);
}

/* load - the context as the library builds it; its log goes nowhere. */
static int
load(struct onionshim_ctx *ctx, const struct conf_choice *c)
{
	return onionshim_shim_load(ctx, c->path, c->missing_ok, "/dev/null", "error");
}

/* ---- --show ---------------------------------------------------------- */

static const char *
yes_no(int v)
{
	return v ? "yes" : "no";
}

/* show_setting - NAME = its effective value. Returns 0, or -1 if unknown. */
static int
show_setting(const struct onionshim_config *cfg, const char *name)
{
	char a[INET6_ADDRSTRLEN];
	size_t i;

	printf("%s =", name);
	if (strcmp(name, "socks_server") == 0) {
		for (i = 0; i < cfg->nsocks; i++)
			printf("%s %s", i ? "," : "", cfg->socks[i].text);
	} else if (strcmp(name, "onion_map") == 0) {
		if (cfg->onion_map.buf[0])
			printf(" %s", cfg->onion_map.buf);
	} else if (strcmp(name, "route") == 0) {
		printf(" %s", cfg->route == ONIONSHIM_ROUTE_ALL ? "all" : "onion");
	} else if (strcmp(name, "allow_inbound") == 0) {
		printf(" %s", yes_no(cfg->allow_inbound));
	} else if (strcmp(name, "allow_localhost") == 0) {
		printf(" %s", yes_no(cfg->allow_localhost));
	} else if (strcmp(name, "isolation") == 0) {
		printf(" %s", cfg->isolation == ONIONSHIM_ISOLATION_DESTINATION ? "destination" :
		       "none");
	} else if (strcmp(name, "connect_timeout") == 0) {
		printf(" %us", cfg->connect_timeout_ms / 1000);
	} else if (strcmp(name, "fake_network") == 0) {
		inet_ntop(AF_INET, &cfg->fake_net, a, sizeof(a));
		printf(" %s/%u", a, cfg->fake_prefix);
	} else if (strcmp(name, "fake_network6") == 0) {
		inet_ntop(AF_INET6, &cfg->fake_net6, a, sizeof(a));
		printf(" %s/%u", a, cfg->fake_prefix6);
	} else if (strcmp(name, "log_level") == 0) {
		printf(" %s", onionshim_level_name(cfg->log_level));
	} else if (strcmp(name, "log_to") == 0) {
		printf(" %s", cfg->log_to.buf);
	} else {
		printf("\n# %s: this onionshim cannot show its value\n", name);
		return -1;
	}
	putchar('\n');
	return 0;
}

struct show_state {
	struct onionshim_ctx *ctx;
	unsigned bad;
};

/* deferred - whether the map defers DOMAIN (a conflicting entry). */
static int
deferred(struct onionshim_ctx *ctx, const char *domain)
{
	struct onionshim_map_hit hit;
	char name[300];

	/* a ".parent" entry is looked up through a name under it */
	snprintf(name, sizeof(name), "%s%s", domain[0] == '.' ? "_onionshim" : "", domain);
	return onionshim_map_lookup(&ctx->map, name, strlen(name), &hit) == -EINVAL;
}

static void
show_entry(void *arg, const char *domain, unsigned line, const struct onionshim_map_dest *d)
{
	struct show_state *s = arg;
	enum onionshim_onion_status st = onionshim_map_dest_check(d);
	struct in_addr fake;
	char a[INET_ADDRSTRLEN] = "-", port[8] = "", onion[80];

	if (d->slot != 0) {
		onionshim_fake_addr4(&s->ctx->cfg, d->slot, &fake);
		inet_ntop(AF_INET, &fake, a, sizeof(a));
	}
	if (d->port)
		snprintf(port, sizeof(port), ":%u", d->port);
	snprintf(onion, sizeof(onion), "%s%s", d->onion.buf, port);
	printf("%-6u %-30s %-67s %-15s %s\n", line, domain, onion, a,
	       st != ONIONSHIM_ONION_OK ? onionshim_onion_strerror(st) :
	       deferred(s->ctx, domain) ? "deferred: see the errors above" : "valid");
	s->bad += st != ONIONSHIM_ONION_OK;
}

/*
 * env_overrides - what the library takes from its environment on top of
 * the file; a bad value is ignored there (with a warning), and here.
 */
static void
env_overrides(struct onionshim_config *cfg, int *status)
{
	static const char *const names[] = { "log_to", "log_level" };
	static const char *const vars[] = { "ONIONSHIM_LOG_TO", "ONIONSHIM_LOG_LEVEL" };
	struct onionshim_errbuf err;
	const char *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		v = secure_getenv(vars[i]);
		if (v == NULL || *v == '\0')
			continue;
		if (onionshim_config_set(cfg, names[i], v, &err) < 0) {
			printf("# %s ignored: %s\n", vars[i], err.buf);
			*status = 1;
		} else {
			printf("# %s from the environment (%s)\n", names[i], vars[i]);
		}
	}
}

static int
cmd_show(const char *given)
{
	struct conf_choice c = choose_conf(given);
	struct onionshim_ctx *ctx = calloc(1, sizeof(*ctx));
	struct reports rep = { 0, 1 };
	struct onionshim_config shown;
	struct onionshim_errbuf err;
	struct show_state s;
	const char *const *name;
	int status = 0;

	if (ctx == NULL)
		die(EXIT_SETUP, "out of memory");
	/* the config alone first: a broken one has no effective settings */
	if (onionshim_config_load(&shown, c.path, c.missing_ok, &err) < 0) {
		fprintf(stderr, "%s: %s; fix it (onionshim.conf(5))\n", PROG, err.buf);
		free(ctx);
		return 1;
	}
	load(ctx, &c);	/* a map that cannot be opened is shown below */
	printf("# onionshim --show: the effective configuration, defaults included\n");
	printf("# config file: %s%s\n", c.path,
	       c.missing_ok && access(c.path, F_OK) != 0 ? " (absent: the defaults)" : "");
	printf("# library: %s\n", ONIONSHIM_LIB);
	env_overrides(&shown, &status);
	for (name = onionshim_config_names; *name != NULL; name++)
		if (show_setting(&shown, *name) < 0)
			status = 1;
	if (ctx->cfg.onion_map.buf[0] == '\0') {
		printf("\n# onion_map: none\n");
	} else if (!ctx->have_map) {
		printf("\n# onion_map: %s\n", ctx->why.buf);
		fprintf(stderr, "%s: %s; create it, or set onion_map\n", PROG, ctx->why.buf);
		status = 1;
	} else {
		printf("\n# onion_map: %s\n", ctx->cfg.onion_map.buf);
		ctx->map.report = map_report;
		ctx->map.report_ctx = &rep;
		if (onionshim_map_build(&ctx->map) < 0)
			die(1, "onion_map %s: out of memory", ctx->cfg.onion_map.buf);
		printf("# %zu entries, %zu destinations, %zu skipped (not onion routes), "
		       "%u errors\n", ctx->map.nentries, ctx->map.ndests, ctx->map.nskipped,
		       rep.errors);
		printf("# %-4s %-30s %-67s %-15s %s\n", "LINE", "DOMAIN", "ONION[:PORT]",
		       "FAKE-ADDRESS", "CHECK");
		s.ctx = ctx;
		s.bad = 0;
		onionshim_map_foreach(&ctx->map, show_entry, &s);
		if (rep.errors || s.bad)
			status = 1;
		onionshim_map_free(&ctx->map);
	}
	free(ctx);
	return status;
}

/* ---- running a command ------------------------------------------------ */

/* find_command - COMMAND as execvp() would find it, into OUT. */
static int
find_command(const char *cmd, char *out, size_t outlen)
{
	const char *path = getenv("PATH"), *p, *colon;
	char dflt[256];
	struct stat st;
	size_t n;

	if (strchr(cmd, '/') != NULL) {
		snprintf(out, outlen, "%s", cmd);
		return access(out, F_OK) == 0 ? 0 : -errno;
	}
	if (path == NULL) {
		n = confstr(_CS_PATH, dflt, sizeof(dflt));
		path = n > 0 && n <= sizeof(dflt) ? dflt : "/bin:/usr/bin";
	}
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		n = colon ? (size_t)(colon - p) : strlen(p);
		/* an empty element is the current directory, as in execvp */
		if ((size_t)snprintf(out, outlen, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd) <
		    outlen && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (colon == NULL)
			return -ENOENT;
	}
}

/*
 * secure_exec - why the kernel would start PATH in secure-execution mode
 * (then the loader ignores LD_PRELOAD paths with a slash), or NULL.
 */
static const char *
secure_exec(const char *path, const struct stat *st, char *why, size_t whylen)
{
	struct statvfs vfs;
	ssize_t caps;

	/* set-ID bits mean nothing on a nosuid mount */
	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return NULL;
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid()) {
		snprintf(why, whylen, "set-user-ID (owner uid %u)", (unsigned)st->st_uid);
		return why;
	}
	if ((st->st_mode & S_ISGID) && st->st_gid != getgid()) {
		snprintf(why, whylen, "set-group-ID (group gid %u)", (unsigned)st->st_gid);
		return why;
	}
	caps = getxattr(path, "security.capability", NULL, 0);
	if (caps > 0) {
		snprintf(why, whylen, "given file capabilities (setcap)");
		return why;
	}
	return NULL;
}

/*
 * elf_static - 1 when PATH is an ELF executable without a program
 * interpreter: the dynamic loader never runs, so nothing is preloaded.
 * 0 for dynamic programs, scripts and anything it cannot read.
 */
static int
elf_static(const char *path)
{
	unsigned char ident[EI_NIDENT];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY | O_CLOEXEC), is_static = 0, i;

	if (fd < 0)
		return 0;
	/* a 64-bit executable or PIE (static-pie too: it has no PT_INTERP) */
	if (pread(fd, ident, sizeof(ident), 0) == (ssize_t)sizeof(ident) &&
	    memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64 &&
	    pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
	    eh.e_phentsize == sizeof(ph) && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN)) {
		is_static = 1;
		for (i = 0; i < eh.e_phnum && is_static; i++) {
			off_t at = (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof(ph));

			/* unreadable headers: let the loader judge it */
			if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph) ||
			    ph.p_type == PT_INTERP)
				is_static = 0;
		}
	}
	close(fd);
	return is_static;
}

/* preload - LD_PRELOAD with the library added, unless it is there. */
static void
preload(void)
{
	const char *old = getenv("LD_PRELOAD"), *p;
	size_t n = strlen(ONIONSHIM_LIB);
	char *line;

	for (p = old; p != NULL && (p = strstr(p, ONIONSHIM_LIB)) != NULL; p += n)
		if ((p == old || p[-1] == ' ' || p[-1] == ':') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ':'))
			return;
	if (old == NULL || *old == '\0') {
		line = strdup(ONIONSHIM_LIB);
	} else if (asprintf(&line, "%s %s", old, ONIONSHIM_LIB) < 0) {
		line = NULL;
	}
	if (line == NULL || setenv("LD_PRELOAD", line, 1) != 0)
		die(EXIT_SETUP, "cannot set LD_PRELOAD: %s", strerror(errno));
	free(line);
}

static int
cmd_run(const char *given, char **argv)
{
	struct conf_choice c = choose_conf(given);
	struct onionshim_ctx *ctx;
	char path[PATH_MAX], why[128];
	struct stat st;
	int rc;

	if (access(ONIONSHIM_LIB, R_OK) != 0)
		die(EXIT_SETUP, "the library %s cannot be read (%s): the command would run "
		    "without it, in the clear; install onionshim (make install) or fix LIBDIR",
		    ONIONSHIM_LIB, strerror(errno));
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		die(EXIT_SETUP, "out of memory");
	if (load(ctx, &c) < 0)
		die(EXIT_SETUP, "%s; the library would refuse every inet connection and name "
		    "lookup of the command: fix it first (onionshim --show)", ctx->why.buf);
	free(ctx);
	rc = find_command(argv[0], path, sizeof(path));
	if (rc < 0)
		die(EXIT_NOT_FOUND, "%s: command not found", argv[0]);
	if (stat(path, &st) != 0)
		die(EXIT_NOT_FOUND, "%s: %s", path, strerror(errno));
	if (secure_exec(path, &st, why, sizeof(why)) != NULL)
		die(EXIT_CANNOT_RUN, "%s is %s: the loader ignores LD_PRELOAD for it "
		    "(secure-execution mode, ld.so(8)), so it would run without onionshim, "
		    "in the clear; not started", path, why);
	if (elf_static(path))
		die(EXIT_CANNOT_RUN, "%s is statically linked: LD_PRELOAD has no effect on it, "
		    "so it would run without onionshim, in the clear; not started", path);
	if (given != NULL && setenv("ONIONSHIM_CONF", given, 1) != 0)
		die(EXIT_SETUP, "cannot set ONIONSHIM_CONF: %s", strerror(errno));
	preload();
	execv(path, argv);
	die(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "cannot run %s: %s", path,
	    strerror(errno));
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "show", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	int c, show = 0;

	opterr = 0;
	/* '+': options end at COMMAND; its own options are its own */
	while ((c = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (*optarg == '\0')
				die(EXIT_SETUP, "-c: give the path of onionshim.conf");
			if (access(optarg, R_OK) != 0)
				die(EXIT_SETUP, "-c %s: %s; give a readable onionshim.conf", optarg,
				    strerror(errno));
			conf = optarg;
			break;
		case 'S':
			show = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			usage(stderr);
			die(EXIT_SETUP, "%s needs a value", argv[optind - 1]);
		default:
			usage(stderr);
			die(EXIT_SETUP, "unknown option %s", argv[optind - 1]);
		}
	}
	if (show) {
		if (optind < argc)
			die(EXIT_SETUP, "--show takes no COMMAND");
		return cmd_show(conf);
	}
	if (optind == argc) {
		usage(stderr);
		die(EXIT_SETUP, "no COMMAND given");
	}
	return cmd_run(conf, argv + optind);
}
