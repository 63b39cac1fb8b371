/*
 * Linked only into usr.sbin/l4d/l4d-debug, the test build (never
 * installed): hooks that let the tests make a child misbehave.
 *
 * L4D_DEBUG_FORBIDDEN=KIND[,KIND...]: a child of such a kind makes,
 * right after it entered its sandbox, a system call that no list
 * allows (acct(2)), so that the sandbox must kill it.  Only the first
 * start of each child does: the parent leaves the variable out of the
 * environment of a restarted one, which then runs normally.
 *
 * L4D_DEBUG_SOCKET=KIND[,KIND...]: such a child tries socket(AF_INET)
 * at its start and logs what came of it ("debug: socket(AF_INET): ok"
 * or the error), so that the tests see which roles may reach the
 * network.
 */

#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define DEBUG_FORBIDDEN		"L4D_DEBUG_FORBIDDEN"
#define DEBUG_SOCKET		"L4D_DEBUG_SOCKET"

/* kind is in the comma separated list of the variable var. */
static int
debug_listed(const char *var, const char *kind)
{
	char	*list, *p, *word;
	int	 found = 0;

	if ((p = getenv(var)) == NULL || (list = strdup(p)) == NULL)
		return 0;
	for (p = list; (word = strsep(&p, ",")) != NULL;)
		if (strcmp(word, kind) == 0)
			found = 1;
	free(list);
	return found;
}

void
debug_child_start(const char *kind)
{
	int	 fd;

	if (debug_listed(DEBUG_SOCKET, kind)) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			log_warn("debug: %s: socket(AF_INET)", kind);
		else {
			log_warnx("debug: %s: socket(AF_INET): ok", kind);
			close(fd);
		}
	}
	if (debug_listed(DEBUG_FORBIDDEN, kind)) {
		log_warnx("debug: %s: calling acct(2), which the sandbox "
		    "forbids", kind);
		(void)syscall(SYS_acct, NULL);
		log_warnx("debug: %s: acct(2) returned: no sandbox", kind);
	}
}

void
debug_child_exec(int forks)
{
	if (forks > 0)
		unsetenv(DEBUG_FORBIDDEN);
}
