/*
 * NAME
 *	trivial - a program that does nothing, for start-up costs
 * SYNOPSIS
 *	trivial [-m | -s]
 * DESCRIPTION
 *	What a preload library adds to exec'ing this program is what it
 *	adds to the start of every process it is loaded into: its
 *	constructor, its relocations, the pages it touches.
 *
 *	With -m it prints its peak resident set (VmHWM of /proc/self/status,
 *	in KiB) before it exits. The kernel's ru_maxrss would not do: it
 *	keeps the peak of the process image before exec, that is of
 *	whatever forked it. With -s it prints, for each mapping that has
 *	pages resident, "RSS_KIB PRIVATE_DIRTY_KIB PATH" (from
 *	/proc/self/smaps), so that the resident set can be put down to the
 *	objects that hold it, and told apart from what is this process's
 *	own memory (private dirty pages; clean file pages are shared with
 *	every other process that maps the file).
 * RETURNS
 *	Exit status 0, or 1 when -m or -s cannot read /proc.
 * NEVER
 *	does anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
print_hwm(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	if (f == NULL)
		return 1;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0) {
			fputs(line + 6, stdout);
			found = 1;
		}
	fclose(f);
	return !found;
}

/* print_smaps - "RSS DIRTY PATH" for every mapping with resident pages. */
static int
print_smaps(void)
{
	char line[512], path[400] = "";
	FILE *f = fopen("/proc/self/smaps", "re");
	long rss = 0;

	if (f == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p;

		/* mapping lines start with a lower-case hex address, fields with a name */
		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
			/* the path is the sixth field, if any */
			int field = 0;

			path[0] = '\0';
			for (p = line; *p != '\0' && field < 5; p++)
				if (*p == ' ' && p[1] != ' ')
					field++;
			if (field == 5) {
				size_t n = strcspn(p, "\n");

				if (n >= sizeof(path))
					n = sizeof(path) - 1;
				memcpy(path, p, n);
				path[n] = '\0';
			}
		} else if (strncmp(line, "Rss:", 4) == 0) {
			rss = strtol(line + 4, NULL, 10);
		} else if (strncmp(line, "Private_Dirty:", 14) == 0 && rss > 0) {
			printf("%ld %ld %s\n", rss, strtol(line + 14, NULL, 10),
			       path[0] ? path : "[anonymous]");
		}
	}
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-m") == 0)
		return print_hwm();
	if (argc == 2 && strcmp(argv[1], "-s") == 0)
		return print_smaps();
	return 0;
}
