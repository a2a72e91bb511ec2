/*
 * log - the library's own log: one line per event, to syslog (facility
 * mail, through a /dev/log socket of its own), a file, or stderr.
 *
 * The sink is opened once, in the constructor, before the host process
 * may chroot; it is close-on-exec. The library never calls openlog(), so
 * the host's own syslog tag is left alone; its lines are tagged
 * "onionshim[PID]" (RFC 3164). Writing never blocks the host for long
 * (MSG_DONTWAIT on the socket) and never raises SIGPIPE. Failures to log
 * are silent: there is nowhere else to say them. The sink's descriptor is
 * checked to be still ours (device and inode) before each write: after
 * the host closed it (closefrom, close_range) and maybe reused the
 * number, the sink is opened afresh and the host's descriptor is never
 * written, closed or dup'ed over.
 *
 * Safe in threads and after fork: one write per line; reopening uses a
 * trylock only, so nothing ever waits for a lock.
 */
#ifndef ONIONSHIM_LOG_H
#define ONIONSHIM_LOG_H

#include "onionshim/config.h"

/*
 * onionshim_log_open - open the sink named by TO ("syslog", "stderr" or an
 * absolute file path) and keep LEVEL as the threshold. Replaces a sink
 * opened before. Returns 0 or -errno (the sink is then stderr).
 */
int onionshim_log_open(const char *to, enum onionshim_level level);

/* onionshim_log_level - the current threshold. */
enum onionshim_level onionshim_log_level(void);

/* onionshim_log_enabled - whether LEVEL would be written. */
int onionshim_log_enabled(enum onionshim_level level);

/*
 * onionshim_log - write one line at LEVEL, if the threshold allows it.
 * Saves and restores errno. Returns nothing.
 */
void onionshim_log(enum onionshim_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * onionshim_log_format - format one line as it goes to SINK into OUT
 * (OUTLEN bytes); exposed for tests. SINK: 0 syslog, 1 file, 2 stderr.
 * Returns the length.
 */
size_t onionshim_log_format(char *out, size_t outlen, int sink, enum onionshim_level level,
			    long pid, const char *msg);

#endif
