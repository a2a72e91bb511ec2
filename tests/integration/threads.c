/*
 * threads - the library under threads and fork.
 *
 * usage: threads connect NAME...
 *   One thread per NAME (at most 64), released together by a barrier:
 *   each resolves its NAME (getaddrinfo, AF_INET), connects on port 25,
 *   reads the banner, sends "HELO NAME", reads the answer, sends "XNAME
 *   NAME" (which the test server echoes) and checks that the echo is its
 *   own, then QUITs. Prints one line per thread:
 *     thread=I name=NAME addr=A:25 peer=P:25 echo=ok|bad|ERRNO
 *   and threads_ok=N at the end.
 *
 * usage: threads fork FORKS NAME...
 *   Four threads resolve the NAMEs over and over (so that a fork often
 *   lands while one of them is inside the library); the main thread forks
 *   FORKS times, and each child at once resolves the first NAME, connects,
 *   reads the banner and _exits 0 if it starts with "220". A child that
 *   has not ended after 10 s is hung (a lock held across fork): it is
 *   killed. Prints forks=N ok=N hung=N failed=N and resolves_during=N (the
 *   resolutions the threads completed while the forks ran; must be > 0).
 *
 * Exits 0 when every thread or child did its part, else 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static pthread_barrier_t start;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char **names;
static int nnames;
static volatile int stop;
static unsigned long resolves;

/* read_line - up to a newline; the server may send it in pieces */
static ssize_t
read_line(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while (have < size - 1 && (have == 0 || buf[have - 1] != '\n')) {
		n = read(fd, buf + have, 1);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	return (ssize_t)have;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	const struct sockaddr_in *s = (const void *)sa;
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
	snprintf(out, outlen, "%s:%u", a, ntohs(s->sin_port));
}

/* talk - banner, HELO, our own echo, QUIT. Returns "ok", "bad" or why. */
static const char *
talk(int fd, const char *name)
{
	char line[600], want[600];
	int n;

	if (read_line(fd, line, sizeof(line)) <= 0 || strncmp(line, "220 ", 4) != 0)
		return "bad";
	n = snprintf(want, sizeof(want), "XNAME %s\r\n", name);
	if (write(fd, want, (size_t)n) != n)
		return strerror(errno);
	if (read_line(fd, line, sizeof(line)) <= 0 || strcmp(line, want) != 0)
		return "bad";
	if (write(fd, "QUIT\r\n", 6) != 6 || read_line(fd, line, sizeof(line)) <= 0 ||
	    strncmp(line, "221 ", 4) != 0)
		return "bad";
	return "ok";
}

static void *
connect_one(void *arg)
{
	int i = (int)(long)arg, fd;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char addr[64] = "-", peertext[64] = "-";
	const char *result;
	long ok = 0;

	pthread_barrier_wait(&start);
	if (getaddrinfo(names[i], "25", &hints, &res) != 0) {
		result = "resolve";
	} else {
		addr_text(res->ai_addr, addr, sizeof(addr));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
			result = strerror(errno);
		} else {
			if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
				addr_text((struct sockaddr *)&peer, peertext, sizeof(peertext));
			result = talk(fd, names[i]);
		}
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
	}
	ok = strcmp(result, "ok") == 0;
	pthread_mutex_lock(&out_lock);
	printf("thread=%d name=%s addr=%s peer=%s echo=%s\n", i, names[i], addr, peertext, result);
	pthread_mutex_unlock(&out_lock);
	return (void *)ok;
}

static int
run_connect(void)
{
	pthread_t t[MAX_THREADS];
	int i, ok = 0;
	void *r;

	pthread_barrier_init(&start, NULL, (unsigned)nnames);
	for (i = 0; i < nnames; i++)
		if (pthread_create(&t[i], NULL, connect_one, (void *)(long)i) != 0)
			return 1;
	for (i = 0; i < nnames; i++) {
		pthread_join(t[i], &r);
		ok += r != NULL;
	}
	printf("threads_ok=%d\n", ok);
	return ok == nnames ? 0 : 1;
}

static void *
resolver(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int i = (int)(long)arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (getaddrinfo(names[i++ % nnames], "25", &hints, &res) == 0)
			freeaddrinfo(res);
		__atomic_add_fetch(&resolves, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* child - connect right after fork; never returns */
static void
child(void)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	char line[600];
	int fd;

	if (getaddrinfo(names[0], "25", &hints, &res) != 0)
		_exit(3);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		_exit(4);
	if (read_line(fd, line, sizeof(line)) <= 0 || strncmp(line, "220 ", 4) != 0)
		_exit(5);
	_exit(0);
}

/* reap - wait for PID up to 10 s. Returns 0 ok, 1 failed, 2 hung. */
static int
reap(pid_t pid)
{
	const struct timespec pause = { 0, 5000000 };
	int st, i;

	for (i = 0; i < 2000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
		if (r < 0)
			return 1;
		nanosleep(&pause, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 2;
}

static int
run_fork(int forks)
{
	pthread_t t[4];
	int i, counts[3] = { 0, 0, 0 };
	unsigned long before;
	pid_t pid;

	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, resolver, (void *)(long)i) != 0)
			return 1;
	before = __atomic_load_n(&resolves, __ATOMIC_RELAXED);
	for (i = 0; i < forks; i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			child();
		if (pid < 0) {
			counts[1]++;
			continue;
		}
		counts[reap(pid)]++;
	}
	printf("resolves_during=%lu\n", __atomic_load_n(&resolves, __ATOMIC_RELAXED) - before);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("forks=%d ok=%d hung=%d failed=%d\n", forks, counts[0], counts[2], counts[1]);
	return counts[0] == forks ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "connect") == 0 && argc - 2 <= MAX_THREADS) {
		names = argv + 2;
		nnames = argc - 2;
		return run_connect();
	}
	if (argc >= 4 && strcmp(argv[1], "fork") == 0) {
		names = argv + 3;
		nnames = argc - 3;
		return run_fork((int)strtol(argv[2], NULL, 10));
	}
	fprintf(stderr, "usage: threads connect NAME... | threads fork FORKS NAME...\n");
	return 2;
}
