/*
 * The effective uid of the process at the other end of a connected
 * AF_UNIX socket: the BSDs have getpeereid(2).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <unistd.h>

#include "compat.h"

int
compat_peer_uid(int fd, uid_t *uid)
{
	gid_t	 gid;

	return getpeereid(fd, uid, &gid);
}

/* Whether the peer's effective group is gid (getpeereid knows no other). */
int
compat_peer_in_group(int fd, gid_t gid)
{
	uid_t	 uid;
	gid_t	 egid;

	if (getpeereid(fd, &uid, &egid) == -1)
		return -1;
	return egid == gid;
}
