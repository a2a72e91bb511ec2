/*
 * NAME
 *	replay - run a fuzz target over stored inputs, without libFuzzer
 * SYNOPSIS
 *	fuzz_NAME-replay PATH...
 * DESCRIPTION
 *	Linked with one target (tests/fuzz/fuzz_NAME.c) instead of
 *	libFuzzer, so that make check replays the seed corpus and every
 *	saved crash under gcc's ASan and UBSan. Each PATH is an input file
 *	or a directory of them (one level, in name order; dot files are
 *	skipped).
 *
 *	Every input is read into a buffer of exactly its size (so that
 *	ASan sees a read one byte past the end). All inputs run in one
 *	child process, under an alarm (20 s plus 0.1 s an input), which
 *	leaves with exit() so that the leak checker runs. Only when that
 *	child fails (a failed check, a sanitizer report, a leak, a signal,
 *	the alarm) does every input run again in a child of its own, so
 *	that each failing input is named on stdout.
 *
 *	The last line is "replay NAME: N passed, M failed" (NAME from
 *	argv[0]); the runner adds these up into its own summary.
 * EXIT STATUS
 *	0 when every input passed and at least one ran, 1 otherwise, 2 for
 *	bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define INPUT_MAX	(1 << 20)	/* far above any stored input */
#define CHILD_SECONDS	20

struct tally {
	unsigned long passed, failed;
};

/* Read PATH into a buffer of exactly its size. Returns it, or NULL. */
static uint8_t *
slurp(const char *path, size_t *size)
{
	uint8_t *buf;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size > INPUT_MAX) {
		close(fd);
		return NULL;
	}
	/* malloc(0) may return NULL; the target gets a valid pointer anyway. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	while (buf != NULL && got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf != NULL && got != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	*size = got;
	return buf;
}

/* The inputs to replay, in order. */
struct inputs {
	char **path;
	size_t n, cap;
};

static void
add_input(struct inputs *in, const char *path)
{
	if (in->n == in->cap) {
		size_t cap = in->cap ? 2 * in->cap : 256;
		char **p = realloc(in->path, cap * sizeof(*p));

		if (p == NULL) {
			perror("replay");
			exit(1);
		}
		in->path = p;
		in->cap = cap;
	}
	in->path[in->n] = strdup(path);
	if (in->path[in->n] == NULL) {
		perror("replay");
		exit(1);
	}
	in->n++;
}

static int
run_input(const char *path)
{
	uint8_t *buf;
	size_t size;

	buf = slurp(path, &size);
	if (buf == NULL) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	return 0;
}

/*
 * Run PATH[FIRST..LAST) in a child; exit() so that the leak checker runs.
 * Returns the wait status, or -1.
 */
static int
run_child(const struct inputs *in, size_t first, size_t last)
{
	pid_t pid;
	size_t i;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(CHILD_SECONDS + (unsigned)(last - first) / 10);
		for (i = first; i < last; i++)
			if (run_input(in->path[i]) < 0)
				exit(3);
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static int
passed(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
report_failure(const char *path, int status)
{
	if (status != -1 && WIFSIGNALED(status))
		printf("FAIL %s: %s\n", path, WTERMSIG(status) == SIGALRM ?
		       "timed out" : strsignal(WTERMSIG(status)));
	else
		printf("FAIL %s: exit %d\n", path, status == -1 ? -1 : WEXITSTATUS(status));
}

/*
 * All inputs in one child first: that is fast. Only when it fails, each
 * input again in a child of its own, to name every input that fails.
 */
static void
replay_all(const struct inputs *in, struct tally *t)
{
	size_t i;
	int status;

	if (in->n == 0)
		return;
	if (passed(run_child(in, 0, in->n))) {
		t->passed += in->n;
		return;
	}
	for (i = 0; i < in->n; i++) {
		status = run_child(in, i, i + 1);
		if (passed(status)) {
			t->passed++;
		} else {
			t->failed++;
			report_failure(in->path[i], status);
		}
	}
	/* Each input alone passed: together they did not (a leak, state). */
	if (t->failed == 0) {
		t->failed++;
		printf("FAIL all inputs together: they pass one by one\n");
	}
}

static int
visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int
collect(const char *path, struct inputs *in)
{
	struct dirent **list;
	struct stat st;
	char file[4096];
	int n, i;

	if (stat(path, &st) < 0) {
		printf("FAIL %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		add_input(in, path);
		return 0;
	}
	n = scandir(path, &list, visible, alphasort);
	if (n < 0) {
		printf("FAIL %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, list[i]->d_name) <
		    sizeof(file))
			add_input(in, file);
		free(list[i]);
	}
	free(list);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tally t = { 0, 0 };
	struct inputs in = { NULL, 0, 0 };
	const char *name = strrchr(argv[0], '/');
	size_t i;
	int a;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH...\n", argv[0]);
		return 2;
	}
	name = name != NULL ? name + 1 : argv[0];
	for (a = 1; a < argc; a++)
		if (collect(argv[a], &in) < 0)
			t.failed++;
	replay_all(&in, &t);
	printf("replay %s: %lu passed, %lu failed\n", name, t.passed, t.failed);
	for (i = 0; i < in.n; i++)
		free(in.path[i]);
	free(in.path);
	return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
