/*
 * The effective uid of the process at the other end of a connected
 * AF_UNIX socket: Linux has SO_PEERCRED.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Whether the peer is in group gid, as its primary group or one of its
 * supplementary groups (which SO_PEERCRED does not carry: they are read
 * from /proc by its pid, as root may).  1 yes, 0 no, -1 unknown.
 */
int
compat_peer_in_group(int fd, gid_t gid)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	char		 path[64], line[4096], *p, *end;
	unsigned long	 g;
	FILE		*fp;
	int		 found = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred))
		return -1;
	if (cred.gid == gid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)cred.pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7;; p = end) {
			g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if ((gid_t)g == gid)
				found = 1;
		}
		break;
	}
	fclose(fp);
	return found;
}
