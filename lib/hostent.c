/*
 * NAME
 *	hostent - a one-address struct hostent in the caller's buffer
 * DESCRIPTION
 *	The gethostby*_r answers for diverted names: the pointer lists are
 *	aligned at the start of the buffer, the address and the name follow.
 * RETURNS
 *	0, or ERANGE when the buffer is too small (the caller retries with a
 *	larger one, as with libc).
 */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>

#include "onionshim/shim.h"

int
onionshim_hostent_fill(const char *name, int af, const void *addr, size_t alen,
		       struct hostent *ret, char *buf, size_t buflen)
{
	uintptr_t p = ((uintptr_t)buf + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
	size_t pad = p - (uintptr_t)buf, nlen = strlen(name) + 1;
	char **list = (char **)p;

	if (alen > 16 || buflen < pad + 3 * sizeof(char *) + 16 + nlen)
		return ERANGE;
	list[0] = (char *)(list + 3);	/* the address */
	list[1] = NULL;			/* end of h_addr_list */
	list[2] = NULL;			/* h_aliases: empty */
	memcpy(list[0], addr, alen);
	memcpy(list[0] + 16, name, nlen);
	ret->h_name = list[0] + 16;
	ret->h_aliases = &list[2];
	ret->h_addrtype = af;
	ret->h_length = (int)alen;
	ret->h_addr_list = list;
	return 0;
}
