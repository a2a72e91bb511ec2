/*
 * NAME
 *	log - the library's own log sink
 * DESCRIPTION
 *	onionshim_log_open() opens /dev/log (a datagram socket connected
 *	once, so that it keeps working after the host chroots), a file in
 *	append mode, or uses stderr; it loads the time zone too, for the same
 *	reason. onionshim_log() formats one line and
 *	writes it with a single call.
 *
 *	syslog lines are "<PRI>Mmm dd hh:mm:ss onionshim[PID]: text" with
 *	facility mail; file lines carry the host name as syslogd would add
 *	it, and Postfix-style "warning: " prefixes.
 *
 *	The host may close our descriptor (closefrom, close_range) and reuse
 *	its number for a connection of its own. So the sink remembers its
 *	file's identity (device and inode) and checks it before each write;
 *	a descriptor that is no longer ours is never written, closed or
 *	dup'ed over: the sink is opened afresh instead (which fails quietly
 *	in a chroot). Reopening takes a lock only with trylock, so no thread
 *	ever waits for it, also not in a child after fork.
 * NEVER
 *	calls openlog(), blocks on a full socket, raises SIGPIPE, writes
 *	to a descriptor it did not open, or changes errno as seen by the
 *	caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/log.h"
#include "onionshim/real.h"

enum { SINK_SYSLOG, SINK_FILE, SINK_STDERR };

/*
 * The sink. fd, dev and ino change together only under reopen_lock; a
 * reader that sees a torn triple finds no match and takes the slow path.
 */
static int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;
static int log_sink = SINK_STDERR;
static enum onionshim_level log_threshold = ONIONSHIM_LOG_NOTICE;
static char log_host[64] = "localhost";
static struct onionshim_path log_path;	/* SINK_FILE: for reopening */
static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;

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
connect_syslog(int fd)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "/dev/log", sizeof("/dev/log"));
	return ONIONSHIM_REAL(connect)(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
}

static int
open_syslog(void)
{
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((rc = connect_syslog(fd)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int
open_sink(int sink, const char *path)
{
	int fd;

	if (sink == SINK_SYSLOG)
		return open_syslog();
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

/* set_sink - make FD (ours, just opened) the sink, remembering its identity. */
static void
set_sink(int fd)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0) {
		log_dev = st.st_dev;
		log_ino = st.st_ino;
	} else {
		log_dev = 0;
		log_ino = 0;
	}
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
}

/* ours - whether FD is still the file we opened. */
static int
ours(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino;
}

static void
set_host(void)
{
	struct utsname un;
	size_t n;

	if (uname(&un) != 0)
		return;
	n = strcspn(un.nodename, ".");
	if (n >= sizeof(log_host))
		n = sizeof(log_host) - 1;
	memcpy(log_host, un.nodename, n);
	log_host[n] = '\0';
}

int
onionshim_log_open(const char *to, enum onionshim_level level)
{
	int fd = -1, sink, saved = errno, rc = 0, old;

	log_threshold = level;
	set_host();
	/* load the time zone now: after a chroot, localtime_r finds no zone file */
	tzset();
	if (strcmp(to, "stderr") == 0) {
		sink = SINK_STDERR;
	} else {
		sink = strcmp(to, "syslog") == 0 ? SINK_SYSLOG : SINK_FILE;
		if (sink == SINK_FILE)
			snprintf(log_path.buf, sizeof(log_path.buf), "%s", to);
		fd = open_sink(sink, to);
	}
	if (fd < 0 && sink != SINK_STDERR) {
		rc = fd;
		fd = -1;
		sink = SINK_STDERR;
	}
	old = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (ours(old))
		close(old);
	log_sink = sink;
	set_sink(fd);
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

/* put - one write of LINE to FD (ours). Returns 0 or -errno. */
static int
put(int fd, const char *line, size_t n)
{
	ssize_t w;

	if (log_sink == SINK_SYSLOG)
		w = send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(fd, line, n);
	return w < 0 ? -errno : 0;
}

/*
 * put_slow - the sink's descriptor is not ours any more (the host closed
 * it, maybe reused the number), or syslogd went away: under the lock,
 * check again, reopen if needed, write. Gives up at once if another
 * thread holds the lock.
 */
static void
put_slow(const char *line, size_t n, int refused)
{
	int fd;

	if (pthread_mutex_trylock(&reopen_lock) != 0)
		return;
	fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (ours(fd)) {
		/* syslogd restarted: the same socket connects again */
		if (refused && connect_syslog(fd) == 0)
			(void)put(fd, line, n);
		else if (!refused)
			(void)put(fd, line, n);
	} else {
		/* never close FD: the number belongs to the host now */
		fd = open_sink(log_sink, log_path.buf);
		set_sink(fd < 0 ? -1 : fd);
		if (fd >= 0)
			(void)put(fd, line, n);
	}
	pthread_mutex_unlock(&reopen_lock);
}

void
onionshim_log(enum onionshim_level level, const char *fmt, ...)
{
	char msg[1024], line[1280];
	va_list ap;
	size_t n;
	int saved = errno, fd, rc;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = onionshim_log_format(line, sizeof(line), log_sink, level, (long)getpid(), msg);
	if (log_sink == SINK_STDERR) {
		(void)!write(STDERR_FILENO, line, n);
	} else {
		fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
		if (!ours(fd))
			put_slow(line, n, 0);
		else if ((rc = put(fd, line, n)) == -ECONNREFUSED || rc == -ENOTCONN)
			put_slow(line, n, 1);
	}
	errno = saved;
}
