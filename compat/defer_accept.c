/*
 * The handshake's last ACK and the first bytes, on both ends.
 *
 * Accepting a connection only once its first bytes are there.  Linux
 * has TCP_DEFER_ACCEPT; elsewhere (FreeBSD's accept filters need a
 * kernel module) accept(2) comes at once and the relay waits as usual.
 *
 * Connecting with bytes to send at once: Linux holds the handshake's
 * last ACK back for them when the socket is out of quick-ACK mode
 * before connect(2); elsewhere the ACK goes alone.
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

int
compat_delay_ack(int fd)
{
#ifdef TCP_QUICKACK
	int	 off = 0;

	return setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof(off));
#else
	(void)fd;
	return 0;
#endif
}
