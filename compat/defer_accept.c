/*
 * Accepting a connection only once its first bytes are there.  Linux
 * has TCP_DEFER_ACCEPT; elsewhere (FreeBSD's accept filters need a
 * kernel module) accept(2) comes at once and the relay waits as usual.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "compat.h"

int
compat_defer_accept(int fd, int seconds)
{
#ifdef TCP_DEFER_ACCEPT
	return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds,
	    sizeof(seconds));
#else
	(void)fd;
	(void)seconds;
	return 0;
#endif
}
