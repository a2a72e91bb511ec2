/*
 * util - small shared types: fixed buffers that carry their size, and the
 * error buffer that every parser fills.
 *
 * Error contract: functions in onionshim return 0 (or a length) on success
 * and -errno on failure; when they take a struct onionshim_errbuf, they
 * write one human-readable line into it (no trailing newline) on failure.
 * Nothing here allocates or does I/O.
 */
#ifndef ONIONSHIM_UTIL_H
#define ONIONSHIM_UTIL_H

#include <stddef.h>

/* One line of error text, always NUL-terminated, possibly truncated. */
struct onionshim_errbuf {
	char buf[256];
};

/* A DNS name (at most 253 characters plus NUL, with room to spare). */
struct onionshim_name {
	char buf[256];
};

/*
 * onionshim_errf - format one line into ERR (snprintf semantics, truncates
 * silently). ERR may be NULL. Returns nothing.
 */
void onionshim_errf(struct onionshim_errbuf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * onionshim_name_norm - copy NAME (LEN bytes) into OUT, lower-cased, with one
 * trailing dot removed. Returns the normalized length, or -EINVAL if the
 * name is empty, longer than 253 characters, or contains a byte outside
 * [A-Za-z0-9-_.] or an empty label.
 */
int onionshim_name_norm(const char *name, size_t len, struct onionshim_name *out);

/*
 * onionshim_lower_copy - copy N bytes of SRC to DST with A-Z lower-cased
 * and every other byte as it is; eight bytes a step where they are ASCII
 * (an onion name is 62 characters, looked up on every connection).
 */
void onionshim_lower_copy(char *dst, const char *src, size_t n);

#endif
