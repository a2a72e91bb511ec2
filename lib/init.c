/*
 * NAME
 *	init - the library's constructor and its one context
 * DESCRIPTION
 *	Runs before main() (and so before Postfix chroots): reads the config named by ONIONSHIM_CONF or
 *	/etc/onionshim/onionshim.conf, opens the log and maps onion_map.
 *	Environment overrides are read with secure_getenv(), so a setuid
 *	program ignores them. A hook that runs before the constructor
 *	(another library's constructor resolving a name) triggers the same
 *	initialisation first.
 *
 *	Fork handlers keep the context's lock consistent in a child.
 * NEVER
 *	exits, aborts, or writes to stdout: a broken setup leaves the context
 *	failing closed, with one log line.
 */
#include <pthread.h>
#include <stdlib.h>

#include "onionshim/hooks.h"
#include "onionshim/log.h"
#include "onionshim/real.h"

static struct onionshim_ctx ctx;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	onionshim_shim_atfork_prepare(&ctx);
}

static void
fork_release(void)
{
	onionshim_shim_atfork_release(&ctx);
}

/* The libc functions are resolved on first use (real.h); one that is
 * missing fails with ENOSYS from then on, and says so once. */
static void
report_missing(const char *name)
{
	onionshim_log(ONIONSHIM_LOG_ERROR, "libc function %s not found: calls to it fail with "
		      "ENOSYS", name);
}

static void
init_once(void)
{
	const char *conf = secure_getenv("ONIONSHIM_CONF");

	onionshim_real_set_reporter(report_missing);
	onionshim_shim_load(&ctx, conf && *conf ? conf : ONIONSHIM_DEFAULT_CONF,
			    !(conf && *conf), secure_getenv("ONIONSHIM_LOG_TO"),
			    secure_getenv("ONIONSHIM_LOG_LEVEL"));
	pthread_atfork(fork_prepare, fork_release, fork_release);
}

struct onionshim_ctx *
onionshim_ready(void)
{
	pthread_once(&once, init_once);
	return &ctx;
}

__attribute__((constructor)) static void
onionshim_constructor(void)
{
	onionshim_ready();
}
