/*
 * NAME
 *	util - error lines and name normalisation
 * DESCRIPTION
 *	onionshim_errf() formats one line into an error buffer;
 *	onionshim_name_norm() lower-cases a DNS name and drops one trailing
 *	dot, refusing what no resolver would accept.
 * NEVER
 *	allocates, does I/O, or touches errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "onionshim/util.h"

void
onionshim_errf(struct onionshim_errbuf *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->buf, sizeof(err->buf), fmt, ap);
	va_end(ap);
}

int
onionshim_name_norm(const char *name, size_t len, struct onionshim_name *out)
{
	size_t i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
			label++;
		} else {
			return -EINVAL;
		}
		if (label > 63)
			return -EINVAL;
		out->buf[i] = (char)c;
	}
	out->buf[len] = '\0';
	return (int)len;
}

void
onionshim_lower_copy(char *dst, const char *src, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x80 * ones;
	uint64_t w, upper;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		if (w & high)
			break;	/* a byte past ASCII: the careful loop below */
		/*
		 * No byte is above 0x7f, so no sum below carries into the next
		 * byte: b + 0x3f has its high bit from 'A' on, b + 0x25 from
		 * 'Z' + 1 on. Upper-case bytes get 0x20 (their 0x80 >> 2).
		 */
		upper = (w + 0x3f * ones) & ~(w + 0x25 * ones) & high;
		w |= upper >> 2;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++) {
		char c = src[i];

		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
}
