/*
 * unixaccept - AF_UNIX listen(), accept(fd, NULL, NULL) and accept4(), the
 * way Postfix's smtp takes work from the queue manager. Prints
 * "accept=ok accept4=ok" when both work.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
one(const char *path, int use4)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int l, c, a;

	unlink(path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l, 1) < 0)
		return -1;
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	a = use4 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : accept(l, NULL, NULL);
	if (a < 0)
		return -1;
	close(a);
	close(c);
	close(l);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	printf("accept=%s ", one(argv[1], 0) == 0 ? "ok" : "failed");
	printf("accept4=%s\n", one(argv[1], 1) == 0 ? "ok" : "failed");
	return 0;
}
