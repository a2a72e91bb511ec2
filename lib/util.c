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
