/*
 * NAME
 *	stress - many threads and forks through libonionshim at once
 * SYNOPSIS
 *	LD_PRELOAD=libonionshim.so stress [-t THREADS] [-c CYCLES] [-f FORKS]
 *		[-w SECONDS] NAME=ONION...
 * DESCRIPTION
 *	THREADS threads (default 64), released together by a barrier, each
 *	run CYCLES (default 1000) cycles for their own NAME (thread I takes
 *	pair I modulo the number given). A cycle is what an MTA's delivery
 *	agent does:
 *
 *	  getaddrinfo(NAME, "25") - one address, a fake one, the same every
 *	      time (AF_UNSPEC on three cycles of four, AF_INET6 on the
 *	      fourth, whose socket is then AF_INET6 too);
 *	  socket, connect - blocking on even cycles, non-blocking on odd ones
 *	      as Postfix does (O_NONBLOCK, connect, poll, SO_ERROR);
 *	      SOCK_CLOEXEC on every other pair of cycles;
 *	  getpeername - the fake address; getnameinfo on it - ONION;
 *	  read the banner ("220 onionshim-test ESMTP"), send
 *	      "XSTRESS T C" and "QUIT" in one write, and read to EOF: the
 *	      test server echoes the line and says "221 bye", so the bytes
 *	      prove that the socket reached this thread's connection;
 *	  close.
 *
 *	With -f, every sixteenth thread (0, 16, 32, 48) also forks FORKS
 *	times, spread over its cycles; each child runs one cycle of its own
 *	(marked "XFORK") and _exits with its verdict. A child that has not
 *	ended after 20 s is killed by its alarm and counted as hung: a lock
 *	taken across fork.
 *
 *	The open descriptors (/proc/self/fd) are counted before the threads
 *	start and after they are joined. A watchdog thread ends the program
 *	with exit status 3 and each thread's progress when a thread that has
 *	not finished begins no new cycle for SECONDS (default 120): a
 *	deadlock, or I/O that never ends.
 * OUTPUT
 *	key=value lines: "fail thread=T cycle=C what=..." for the first 20
 *	failures; "thread=T name=NAME onion=ONION connects=N forks=F" for each
 *	thread (N counts the connects that succeeded, children's included);
 *	then threads, cycles, connections_ok, connections_failed, forks,
 *	forks_ok, forks_failed, forks_hung, fds_before, fds_after,
 *	elapsed_ms and connections_per_s.
 * EXIT STATUS
 *	0 when every cycle and child was right and no descriptor leaked, 1
 *	otherwise, 2 for bad usage, 3 from the watchdog.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	256
#define MAX_REPORTS	20
#define IO_MS		30000
#define CHILD_SECONDS	20
#define FORKER_EVERY	16

static const char banner[] = "220 onionshim-test ESMTP\r\n";
static const char bye[] = "221 bye\r\n";

struct pair {
	const char *name;
	const char *onion;
};

struct worker {
	pthread_t tid;
	int index;
	const struct pair *pair;
	unsigned long connects;		/* successful connects, children's too */
	unsigned long ok, failed;
	unsigned long forks, forks_ok, forks_failed, forks_hung;
	unsigned long progress;		/* cycles begun (atomic: the watchdog reads it) */
	int finished;			/* atomic, as progress */
	struct sockaddr_storage addr[2];	/* first answer: [0] AF_INET, [1] AF_INET6 */
	socklen_t addrlen[2];
};

static struct {
	int threads, cycles, forks;
	unsigned watchdog;
	struct pair *pairs;
	int npairs;
} opt = { 64, 1000, 0, 120, NULL, 0 };

static struct worker workers[MAX_THREADS];
static pthread_barrier_t start_line;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int reports;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;

/* A verdict on one cycle: NULL for success, else what went wrong. */
struct verdict {
	char what[160];
};

static int __attribute__((format(printf, 2, 3)))
failf(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->what, sizeof(v->what), fmt, ap);
	va_end(ap);
	return -1;
}

static void
report(int thread, int cycle, const struct verdict *v)
{
	pthread_mutex_lock(&report_lock);
	if (reports++ < MAX_REPORTS)
		printf("fail thread=%d cycle=%d what=%s\n", thread, cycle, v->what);
	pthread_mutex_unlock(&report_lock);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- socket I/O with a deadline (the socket may be non-blocking) -------- */

static int
wait_for(int fd, short events, long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Read until a newline (the banner), or until EOF when TO_EOF. */
static ssize_t
read_some(int fd, char *buf, size_t size, int to_eof)
{
	long deadline = now_ms() + IO_MS;
	size_t have = 0;
	ssize_t n;

	while (have < size - 1) {
		if (!to_eof && have > 0 && buf[have - 1] == '\n')
			break;
		n = read(fd, buf + have, size - 1 - have);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_for(fd, POLLIN, deadline) <= 0)
			return -1;
	}
	buf[have] = '\0';
	return (ssize_t)have;
}

static int
write_all(int fd, const char *p, size_t n)
{
	long deadline = now_ms() + IO_MS;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_for(fd, POLLOUT, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* ---- one cycle ------------------------------------------------------------ */

static int
same_addr(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr *b,
	  socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static int
resolve(struct worker *w, int family, struct sockaddr_storage *ss, socklen_t *len,
	struct verdict *v)
{
	struct addrinfo hints, *res;
	int rc, slot = family == AF_INET6;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(w->pair->name, "25", &hints, &res);
	if (rc != 0)
		return failf(v, "getaddrinfo(%s): %s", w->pair->name, gai_strerror(rc));
	if (res->ai_next != NULL || res->ai_addrlen > sizeof(*ss) ||
	    res->ai_family != (family == AF_INET6 ? AF_INET6 : AF_INET)) {
		freeaddrinfo(res);
		return failf(v, "getaddrinfo(%s): not one address of the expected family",
			     w->pair->name);
	}
	if (w->addrlen[slot] == 0) {
		memcpy(&w->addr[slot], res->ai_addr, res->ai_addrlen);
		w->addrlen[slot] = res->ai_addrlen;
	} else if (!same_addr(&w->addr[slot], w->addrlen[slot], res->ai_addr, res->ai_addrlen)) {
		freeaddrinfo(res);
		return failf(v, "getaddrinfo(%s): the address changed", w->pair->name);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Postfix's way: non-blocking connect, then poll and SO_ERROR. */
static int
connect_nonblocking(int fd, const struct sockaddr *sa, socklen_t len)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	if (wait_for(fd, POLLOUT, now_ms() + IO_MS) <= 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return errno;
	return err;
}

static int
check_peer(struct worker *w, int fd, const struct sockaddr_storage *ss, socklen_t len,
	   struct verdict *v)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char host[NI_MAXHOST];
	int rc;

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return failf(v, "getpeername: %s", strerror(errno));
	if (!same_addr(ss, len, (struct sockaddr *)&peer, plen))
		return failf(v, "getpeername: not the fake address connected to");
	rc = getnameinfo((struct sockaddr *)&peer, plen, host, sizeof(host), NULL, 0, NI_NAMEREQD);
	if (rc != 0)
		return failf(v, "getnameinfo: %s", gai_strerror(rc));
	if (strcmp(host, w->pair->onion) != 0)
		return failf(v, "getnameinfo: %s, not %s", host, w->pair->onion);
	return 0;
}

static int
converse(int fd, const char *tag, int thread, int cycle, struct verdict *v)
{
	char line[128], out[160], in[512];
	int n;

	if (read_some(fd, in, sizeof(in), 0) < 0)
		return failf(v, "banner: %s", strerror(errno));
	if (strcmp(in, banner) != 0)
		return failf(v, "banner: got \"%.60s\"", in);
	n = snprintf(line, sizeof(line), "%s %d %d\r\n", tag, thread, cycle);
	snprintf(out, sizeof(out), "%sQUIT\r\n", line);
	if (write_all(fd, out, strlen(out)) < 0)
		return failf(v, "write: %s", strerror(errno));
	if (read_some(fd, in, sizeof(in), 1) < 0)
		return failf(v, "read: %s", strerror(errno));
	if (strncmp(in, line, (size_t)n) != 0 || strcmp(in + n, bye) != 0)
		return failf(v, "echo: got \"%.80s\"", in);
	return 0;
}

/*
 * One resolve+connect+close cycle. *CONNECTED tells whether connect()
 * succeeded (the SOCKS server then has a record of it). Returns 0 or -1.
 */
static int
cycle_once(struct worker *w, int cycle, const char *tag, int *connected, struct verdict *v)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int family = cycle % 4 == 3 ? AF_INET6 : AF_UNSPEC;
	int cloexec = (cycle / 2) % 2 ? SOCK_CLOEXEC : 0;
	int fd, err, rc;

	*connected = 0;
	if (resolve(w, family, &ss, &len, v) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | cloexec, 0);
	if (fd < 0)
		return failf(v, "socket: %s", strerror(errno));
	if (cycle % 2 == 0)
		err = connect(fd, (struct sockaddr *)&ss, len) < 0 ? errno : 0;
	else
		err = connect_nonblocking(fd, (struct sockaddr *)&ss, len);
	if (err != 0) {
		close(fd);
		return failf(v, "connect: %s", strerror(err));
	}
	*connected = 1;
	rc = check_peer(w, fd, &ss, len, v);
	if (rc == 0)
		rc = converse(fd, tag, w->index, cycle, v);
	if (close(fd) < 0 && rc == 0)
		rc = failf(v, "close: %s", strerror(errno));
	return rc;
}

/* ---- forks ------------------------------------------------------------------ */

enum { CHILD_OK = 0, CHILD_CONNECTED_BAD = 1, CHILD_FAILED = 2 };

static void __attribute__((noreturn))
child(struct worker *w, int cycle)
{
	struct verdict v;
	int connected;

	signal(SIGALRM, SIG_DFL);
	alarm(CHILD_SECONDS);
	if (cycle_once(w, cycle, "XFORK", &connected, &v) == 0)
		_exit(CHILD_OK);
	/* stdout is shared with the parent: one write, no stdio buffer. */
	dprintf(STDOUT_FILENO, "fail thread=%d cycle=%d what=child: %s\n", w->index, cycle, v.what);
	_exit(connected ? CHILD_CONNECTED_BAD : CHILD_FAILED);
}

static void
fork_one(struct worker *w, int cycle)
{
	struct verdict v;
	pid_t pid;
	int status;

	w->forks++;
	pid = fork();
	if (pid == 0)
		child(w, cycle);
	if (pid < 0) {
		w->forks_failed++;
		failf(&v, "fork: %s", strerror(errno));
		report(w->index, cycle, &v);
		return;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			w->forks_failed++;
			return;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OK) {
		w->forks_ok++;
		w->connects++;
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		w->forks_hung++;
		failf(&v, "child hung for %d s", CHILD_SECONDS);
		report(w->index, cycle, &v);
		return;
	}
	w->forks_failed++;
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_CONNECTED_BAD)
		w->connects++;
}

/* ---- threads ---------------------------------------------------------------- */

static void *
run_worker(void *arg)
{
	struct worker *w = arg;
	struct verdict v;
	int c, connected, next_fork = 0;
	int forker = opt.forks > 0 && w->index % FORKER_EVERY == 0;

	pthread_barrier_wait(&start_line);
	for (c = 0; c < opt.cycles; c++) {
		__atomic_store_n(&w->progress, (unsigned long)c + 1, __ATOMIC_RELAXED);
		if (forker && next_fork < opt.forks &&
		    c == (int)((long)next_fork * opt.cycles / opt.forks)) {
			next_fork++;
			fork_one(w, c);
		}
		if (cycle_once(w, c, "XSTRESS", &connected, &v) == 0) {
			w->ok++;
		} else {
			w->failed++;
			report(w->index, c, &v);
		}
		w->connects += (unsigned long)connected;
	}
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * Every second, look at each thread's progress. A thread that has begun
 * no new cycle for opt.watchdog seconds, and has not finished, is stuck:
 * a lock that is never released, or I/O that never ends.
 */
static void *
watchdog(void *arg)
{
	unsigned long seen[MAX_THREADS];
	long since[MAX_THREADS], now;
	struct timespec tick;
	int i, stuck = -1;

	(void)arg;
	now = now_ms();
	for (i = 0; i < opt.threads; i++) {
		seen[i] = 0;
		since[i] = now;
	}
	pthread_mutex_lock(&done_lock);
	while (!done && stuck < 0) {
		clock_gettime(CLOCK_REALTIME, &tick);
		tick.tv_sec += 1;
		pthread_cond_timedwait(&done_cond, &done_lock, &tick);
		now = now_ms();
		for (i = 0; i < opt.threads && stuck < 0; i++) {
			unsigned long at = __atomic_load_n(&workers[i].progress, __ATOMIC_RELAXED);

			if (at != seen[i] || __atomic_load_n(&workers[i].finished, __ATOMIC_RELAXED)) {
				seen[i] = at;
				since[i] = now;
			} else if (now - since[i] > (long)opt.watchdog * 1000) {
				stuck = i;
			}
		}
	}
	pthread_mutex_unlock(&done_lock);
	if (stuck < 0)
		return NULL;
	/* Not printf: the lock behind stdio may be what is stuck. */
	dprintf(STDOUT_FILENO, "deadlock=1 thread=%d watchdog=%us\n", stuck, opt.watchdog);
	for (i = 0; i < opt.threads; i++)
		dprintf(STDOUT_FILENO, "thread=%d at cycle %lu of %d%s\n", i,
			__atomic_load_n(&workers[i].progress, __ATOMIC_RELAXED), opt.cycles,
			__atomic_load_n(&workers[i].finished, __ATOMIC_RELAXED) ? " (finished)" : "");
	_exit(3);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
		    strtol(e->d_name, NULL, 10) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: stress [-t THREADS] [-c CYCLES] [-f FORKS] [-w SECONDS] "
		"NAME=ONION...\n");
	exit(2);
}

static int
number(const char *s, int min, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return (int)v;
}

static void
parse_args(int argc, char **argv)
{
	int c, i;

	while ((c = getopt(argc, argv, "t:c:f:w:")) != -1) {
		switch (c) {
		case 't': opt.threads = number(optarg, 1, MAX_THREADS); break;
		case 'c': opt.cycles = number(optarg, 1, 10000000); break;
		case 'f': opt.forks = number(optarg, 0, 1000000); break;
		case 'w': opt.watchdog = (unsigned)number(optarg, 1, 86400); break;
		default: usage();
		}
	}
	opt.npairs = argc - optind;
	if (opt.npairs < 1)
		usage();
	opt.pairs = calloc((size_t)opt.npairs, sizeof(*opt.pairs));
	if (opt.pairs == NULL)
		exit(1);
	for (i = 0; i < opt.npairs; i++) {
		char *eq = strchr(argv[optind + i], '=');

		if (eq == NULL)
			usage();
		*eq = '\0';
		opt.pairs[i].name = argv[optind + i];
		opt.pairs[i].onion = eq + 1;
	}
}

int
main(int argc, char **argv)
{
	unsigned long ok = 0, failed = 0, forks = 0, forks_ok = 0, forks_failed = 0, hung = 0;
	pthread_t dog;
	int i, fds_before, fds_after;
	long t0, elapsed;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fds_before = count_fds();
	pthread_barrier_init(&start_line, NULL, (unsigned)opt.threads + 1);
	if (pthread_create(&dog, NULL, watchdog, NULL) != 0)
		return 1;
	for (i = 0; i < opt.threads; i++) {
		workers[i].index = i;
		workers[i].pair = &opt.pairs[i % opt.npairs];
		if (pthread_create(&workers[i].tid, NULL, run_worker, &workers[i]) != 0) {
			fprintf(stderr, "stress: cannot start thread %d\n", i);
			_exit(1);
		}
	}
	t0 = now_ms();
	pthread_barrier_wait(&start_line);
	for (i = 0; i < opt.threads; i++)
		pthread_join(workers[i].tid, NULL);
	elapsed = now_ms() - t0;
	pthread_mutex_lock(&done_lock);
	done = 1;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
	pthread_join(dog, NULL);
	pthread_barrier_destroy(&start_line);
	fds_after = count_fds();

	for (i = 0; i < opt.threads; i++) {
		const struct worker *w = &workers[i];

		printf("thread=%d name=%s onion=%s connects=%lu forks=%lu\n", i, w->pair->name,
		       w->pair->onion, w->connects, w->forks);
		ok += w->ok;
		failed += w->failed;
		forks += w->forks;
		forks_ok += w->forks_ok;
		forks_failed += w->forks_failed;
		hung += w->forks_hung;
	}
	printf("threads=%d\ncycles=%d\nconnections_ok=%lu\nconnections_failed=%lu\n",
	       opt.threads, opt.cycles, ok, failed);
	printf("forks=%lu\nforks_ok=%lu\nforks_failed=%lu\nforks_hung=%lu\n", forks, forks_ok,
	       forks_failed, hung);
	printf("fds_before=%d\nfds_after=%d\n", fds_before, fds_after);
	printf("elapsed_ms=%ld\nconnections_per_s=%ld\n", elapsed,
	       elapsed > 0 ? (long)((ok + forks_ok) * 1000 / (unsigned long)elapsed) : 0L);
	return failed == 0 && forks_failed == 0 && hung == 0 && fds_before == fds_after &&
	       fds_before >= 0 ? 0 : 1;
}
