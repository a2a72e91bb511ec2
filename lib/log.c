/*
 * NAME
 *	log - the library's own log sink
 * DESCRIPTION
 *	onionshim_log_open() opens /dev/log (a datagram socket connected
 *	once, so that it keeps working after the host chroots), a file in
 *	append mode, or uses stderr. onionshim_log() formats one line and
 *	writes it with a single call.
 *
 *	syslog lines are "<PRI>Mmm dd hh:mm:ss onionshim[PID]: text" with
 *	facility mail; file lines carry the host name as syslogd would add
 *	it, and Postfix-style "warning: " prefixes.
 * NEVER
 *	calls openlog(), blocks on a full socket, raises SIGPIPE, or
 *	changes errno as seen by the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/log.h"
#include "onionshim/real.h"

enum { SINK_SYSLOG, SINK_FILE, SINK_STDERR };

static int log_fd = -1;
static int log_sink = SINK_STDERR;
static enum onionshim_level log_threshold = ONIONSHIM_LOG_NOTICE;
static char log_host[64] = "localhost";

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const char *
level_prefix(enum onionshim_level level)
{
	switch (level) {
	case ONIONSHIM_LOG_ERROR:
		return "error: ";
	case ONIONSHIM_LOG_WARNING:
		return "warning: ";
	case ONIONSHIM_LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

static int
open_syslog(void)
{
	struct sockaddr_un sun;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "/dev/log", sizeof("/dev/log"));
	if (onionshim_real_connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int
onionshim_log_open(const char *to, enum onionshim_level level)
{
	struct utsname un;
	int fd, sink, saved = errno, rc = 0;

	log_threshold = level;
	if (uname(&un) == 0) {
		size_t n = strcspn(un.nodename, ".");

		if (n >= sizeof(log_host))
			n = sizeof(log_host) - 1;
		memcpy(log_host, un.nodename, n);
		log_host[n] = '\0';
	}
	if (strcmp(to, "stderr") == 0) {
		fd = -1;
		sink = SINK_STDERR;
	} else if (strcmp(to, "syslog") == 0) {
		fd = open_syslog();
		sink = SINK_SYSLOG;
	} else {
		fd = open(to, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			fd = -errno;
		sink = SINK_FILE;
	}
	if (fd < 0 && sink != SINK_STDERR) {
		rc = fd;
		fd = -1;
		sink = SINK_STDERR;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_sink = sink;
	errno = saved;
	return rc;
}

enum onionshim_level
onionshim_log_level(void)
{
	return log_threshold;
}

int
onionshim_log_enabled(enum onionshim_level level)
{
	return level <= log_threshold;
}

size_t
onionshim_log_format(char *out, size_t outlen, int sink, enum onionshim_level level,
		     long pid, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	switch (sink) {
	case SINK_SYSLOG:
		/* facility mail (2) */
		n = snprintf(out, outlen, "<%d>%s %2d %02d:%02d:%02d onionshim[%ld]: %s%s",
			     2 * 8 + (int)level, months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec, pid, level_prefix(level), msg);
		break;
	case SINK_FILE:
		n = snprintf(out, outlen, "%s %2d %02d:%02d:%02d %s onionshim[%ld]: %s%s\n",
			     months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     log_host, pid, level_prefix(level), msg);
		break;
	default:
		n = snprintf(out, outlen, "onionshim[%ld]: %s%s\n", pid, level_prefix(level), msg);
		break;
	}
	if (n < 0)
		return 0;
	if ((size_t)n >= outlen) {
		/* keep the newline of a truncated file or stderr line */
		n = (int)outlen - 1;
		if (sink != SINK_SYSLOG && n > 0)
			out[n - 1] = '\n';
	}
	return (size_t)n;
}

void
onionshim_log(enum onionshim_level level, const char *fmt, ...)
{
	char msg[768], line[1024];
	va_list ap;
	size_t n;
	int saved = errno;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = onionshim_log_format(line, sizeof(line), log_sink, level, (long)getpid(), msg);
	switch (log_sink) {
	case SINK_SYSLOG:
		if (send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    (errno == ECONNREFUSED || errno == ENOTCONN)) {
			/* syslogd restarted: reconnect once (fails in a chroot) */
			int fd = open_syslog();

			if (fd >= 0) {
				if (dup3(fd, log_fd, O_CLOEXEC) >= 0)
					(void)send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
				close(fd);
			}
		}
		break;
	case SINK_FILE:
		(void)!write(log_fd, line, n);
		break;
	default:
		(void)!write(STDERR_FILENO, line, n);
		break;
	}
	errno = saved;
}
