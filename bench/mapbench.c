/*
 * NAME
 *	mapbench - what onion_map costs to load and to look up
 * SYNOPSIS
 *	mapbench MAP all N
 *	mapbench MAP time
 * DESCRIPTION
 *	Works on the map module of the core archive directly, as the
 *	library does: the file is mapped with mmap, onionshim_map_init()
 *	records it, onionshim_map_build() parses and indexes it.
 *
 *	all records the map, builds the index, looks up N names that are
 *	in it (hit_lookups), N that are not (miss_lookups: the common case
 *	for a mail server that sends most mail in the clear; every name is
 *	tried with each parent domain), and runs the first-use validation
 *	(SHA3) of up to 100 distinct destinations (first_checks). Each step
 *	is its own function, so that callgrind --toggle-collect can count
 *	each alone; the benchmark driver does that.
 *
 *	The names are those bench/run.py writes: entry I is the domain
 *	dI.bench.example. The names looked up are prepared before, so that
 *	a lookup step holds lookups only (and a strlen each).
 *
 *	time prints, on one line, the build time in nanoseconds, the heap
 *	the index took in bytes, and the mean time of a hit and of a miss
 *	lookup in nanoseconds (over a million lookups each).
 * RETURNS
 *	Exit status 0; 1 when the map is missing, broken, or a hit misses.
 * NEVER
 *	writes anything but its one result line, and error lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "onionshim/config.h"
#include "onionshim/fake.h"
#include "onionshim/map.h"

#define NNAMES 1024

struct names {
	char hit[NNAMES][64];
	char miss[NNAMES][64];
};

static void
report(void *ctx, int level, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "mapbench: %s:%u: %s\n", file, line, msg);
}

static int
open_map(const char *path, struct onionshim_map *m)
{
	struct onionshim_config cfg;
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		fprintf(stderr, "mapbench: %s: cannot read it\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mapbench: mmap");
		return -1;
	}
	onionshim_config_defaults(&cfg);
	onionshim_map_init(m, p, (size_t)st.st_size, path, onionshim_fake_nslots(&cfg), report,
			   NULL);
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* prepare - spread the names over the whole map (7919 is prime). */
static void
prepare(struct names *nm, size_t nentries)
{
	size_t i;

	for (i = 0; i < NNAMES; i++) {
		snprintf(nm->hit[i], sizeof(nm->hit[i]), "d%zu.bench.example",
			 (i * 7919u) % nentries);
		snprintf(nm->miss[i], sizeof(nm->miss[i]), "mx%zu.elsewhere.example", i);
	}
}

static int
lookups(struct onionshim_map *m, const struct names *nm, int hit, long n)
{
	struct onionshim_map_hit h;
	long i;
	int rc;

	for (i = 0; i < n; i++) {
		const char *name = hit ? nm->hit[i % NNAMES] : nm->miss[i % NNAMES];

		rc = onionshim_map_lookup(m, name, strlen(name), &h);
		if (rc != (hit ? 0 : -ENOENT)) {
			fprintf(stderr, "mapbench: lookup of %s: %d\n", name, rc);
			return -1;
		}
	}
	return 0;
}

/* The steps that callgrind counts one by one: never inlined. */
__attribute__((noinline)) int hit_lookups(struct onionshim_map *m, const struct names *nm, long n);
__attribute__((noinline)) int miss_lookups(struct onionshim_map *m, const struct names *nm, long n);
__attribute__((noinline)) int first_checks(struct onionshim_map *m, const struct names *nm, long n);

int
hit_lookups(struct onionshim_map *m, const struct names *nm, long n)
{
	return lookups(m, nm, 1, n);
}

int
miss_lookups(struct onionshim_map *m, const struct names *nm, long n)
{
	return lookups(m, nm, 0, n);
}

/* first_checks - the SHA3 check of N distinct destinations, first use. */
int
first_checks(struct onionshim_map *m, const struct names *nm, long n)
{
	struct onionshim_map_hit h;
	long i;

	for (i = 0; i < n; i++) {
		if (onionshim_map_lookup(m, nm->hit[i], strlen(nm->hit[i]), &h) != 0 ||
		    onionshim_map_dest_check(h.dest) != ONIONSHIM_ONION_OK) {
			fprintf(stderr, "mapbench: %s: not a valid destination\n", nm->hit[i]);
			return -1;
		}
	}
	return 0;
}

static double
mean_lookup_ns(struct onionshim_map *m, const struct names *nm, int hit)
{
	const long n = 1000000;
	uint64_t t0 = now_ns();

	if (lookups(m, nm, hit, n) < 0)
		return -1;
	return (double)(now_ns() - t0) / (double)n;
}

static int
timed(struct onionshim_map *m, struct names *nm)
{
	struct mallinfo2 before = mallinfo2(), after;
	uint64_t t0 = now_ns(), t1;
	double hit, miss;

	if (onionshim_map_build(m) < 0)
		return -1;
	t1 = now_ns();
	after = mallinfo2();
	prepare(nm, m->nentries);
	hit = mean_lookup_ns(m, nm, 1);
	miss = mean_lookup_ns(m, nm, 0);
	if (hit < 0 || miss < 0)
		return -1;
	/* a big index is its own mapping, outside the arena */
	printf("build_ns=%llu heap_bytes=%zu hit_ns=%.1f miss_ns=%.1f entries=%zu\n",
	       (unsigned long long)(t1 - t0),
	       (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd), hit, miss,
	       m->nentries);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct names nm;
	struct onionshim_map m;
	long n = argc > 3 ? strtol(argv[3], NULL, 10) : 0, nchecks;
	const char *mode = argc > 2 ? argv[2] : "";
	int rc;

	if (argc < 3 || argc > 4 || (strcmp(mode, "all") != 0 && strcmp(mode, "time") != 0)) {
		fprintf(stderr, "usage: mapbench MAP all N | mapbench MAP time\n");
		return 2;
	}
	if (open_map(argv[1], &m) < 0)
		return 1;
	if (strcmp(mode, "time") == 0) {
		rc = timed(&m, &nm) < 0;
	} else if (onionshim_map_build(&m) < 0 || m.nentries == 0 || m.nerrors != 0) {
		fprintf(stderr, "mapbench: %s: no usable entries\n", argv[1]);
		rc = 1;
	} else {
		prepare(&nm, m.nentries);
		/* distinct entries: 7919 is prime to every map size used */
		nchecks = m.nentries < 100 ? (long)m.nentries : 100;
		rc = hit_lookups(&m, &nm, n) < 0 || miss_lookups(&m, &nm, n) < 0 ||
		     first_checks(&m, &nm, nchecks) < 0;
		if (rc == 0)
			printf("lookups=%ld checks=%ld\n", n, nchecks);
	}
	onionshim_map_free(&m);
	munmap((void *)m.text, m.len);
	return rc;
}
