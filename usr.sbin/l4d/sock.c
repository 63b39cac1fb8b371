/*
 * Socket helpers shared by the processes that connect: the relays and
 * the health process.
 */

#include <sys/types.h>

#include <poll.h>

#include "l4d.h"

/*
 * To a server nearby, a non-blocking connect(2) has often finished when
 * it says EINPROGRESS: one poll(2) tells, and the caller goes on in the
 * same turn, the socket never added to its event set.  Only a connect
 * that succeeded says so; a failed one is found out by the usual wait.
 */
int
sock_connect_done(int fd)
{
	struct pollfd	 pfd;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT;
}
