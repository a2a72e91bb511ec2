/*
 * NAME
 *	smtp_onion - run Postfix's smtp client with onionshim preloaded
 * SYNOPSIS
 *	master.cf:  smtptor unix - - y - - smtp_onion [onionshim_conf=PATH]
 * DESCRIPTION
 *	Postfix's master clears the environment of its daemons, so a
 *	transport's command is the one place to preload the library for that
 *	transport alone (import_environment would preload it into every
 *	daemon). smtp_onion sets LD_PRELOAD (and ONIONSHIM_CONF when an
 *	argument onionshim_conf=PATH is given; it is removed before Postfix
 *	sees the arguments. This form survives "postconf -M" and "postconf
 *	-P", which rewrite an argument such as --onionshim-conf=PATH into
 *	-o options; that spelling is still accepted) and execs the real smtp from the same directory,
 *	with argv[0] "smtp": Postfix's smtp exits unless its name is smtp or
 *	lmtp. Installed as lmtp_onion it runs lmtp.
 *
 *	Before the exec it checks that the library can be read: the loader
 *	would otherwise skip a missing preload with a warning on stderr and
 *	run smtp without it, sending mail in the clear.
 * EXIT STATUS
 *	75 (EX_TEMPFAIL) when it cannot start smtp under the library; mail
 *	stays queued. Otherwise the status of smtp, which replaces it.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#ifndef ONIONSHIM_LIB
#define ONIONSHIM_LIB "/usr/local/lib/libonionshim.so"
#endif
#ifndef POSTFIX_DAEMON_DIR
#define POSTFIX_DAEMON_DIR "/usr/lib/postfix/sbin"
#endif

#define EX_TEMPFAIL 75

static void __attribute__((format(printf, 1, 2), noreturn))
fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	openlog("smtp_onion", LOG_PID, LOG_MAIL);
	syslog(LOG_CRIT, "fatal: %s; mail stays queued", msg);
	fprintf(stderr, "smtp_onion: fatal: %s; mail stays queued\n", msg);
	exit(EX_TEMPFAIL);
}

/* real_client - smtp (or lmtp) in the directory this wrapper runs from */
static void
real_client(const char *name, char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(out, outlen, "%s/%s", dirname(self), name);
	} else {
		snprintf(out, outlen, "%s/%s", POSTFIX_DAEMON_DIR, name);
	}
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *name = strncmp(base, "lmtp", 4) == 0 ? "lmtp" : "smtp";
	const char *old = getenv("LD_PRELOAD");
	char client[PATH_MAX], preload[PATH_MAX * 2];
	int i, j;

	if (access(ONIONSHIM_LIB, R_OK) != 0)
		fatal("cannot read %s: %s", ONIONSHIM_LIB, strerror(errno));
	for (i = j = 1; i < argc; i++) {
		const char *conf = NULL;

		if (strncmp(argv[i], "onionshim_conf=", 15) == 0)
			conf = argv[i] + 15;
		else if (strncmp(argv[i], "--onionshim-conf=", 17) == 0)
			conf = argv[i] + 17;
		if (conf == NULL) {
			argv[j++] = argv[i];
			continue;
		}
		if (access(conf, R_OK) != 0)
			fatal("cannot read %s: %s", conf, strerror(errno));
		if (setenv("ONIONSHIM_CONF", conf, 1) != 0)
			fatal("setenv: %s", strerror(errno));
	}
	argv[j] = NULL;
	if (old != NULL && *old != '\0')
		snprintf(preload, sizeof(preload), "%s %s", ONIONSHIM_LIB, old);
	else
		snprintf(preload, sizeof(preload), "%s", ONIONSHIM_LIB);
	if (setenv("LD_PRELOAD", preload, 1) != 0)
		fatal("setenv: %s", strerror(errno));
	real_client(name, client, sizeof(client));
	argv[0] = (char *)name;
	execv(client, argv);
	fatal("cannot run %s: %s", client, strerror(errno));
}
