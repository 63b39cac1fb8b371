/*
 * The effective uid of the process at the other end of a connected
 * AF_UNIX socket: Linux has SO_PEERCRED.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include "compat.h"

int
compat_peer_uid(int fd, uid_t *uid)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred))
		return -1;
	*uid = cred.uid;
	return 0;
}
