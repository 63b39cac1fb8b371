/*
 * The syscall sandbox of the children on OpenBSD: pledge(2) per
 * process role, after the privilege drop; unveil(2) hides the whole
 * file system (the chroot is empty anyway).  A call outside its
 * promises kills the child with SIGABRT and the kernel logs it; there
 * is nothing for the child to report.
 *
 * This file could not be compiled or run where l4d is developed
 * (Linux): the promises follow from what each role does (sandbox_linux.c
 * lists the calls) and must be checked on OpenBSD with the test suite.
 */

#include <sys/types.h>

#include <unistd.h>

#include "l4d.h"

static const struct {
	enum l4d_proc	 role;
	const char	*promises;
} promises[] = {
	/* accept, connect, splice-less copy, fds to and from the engines */
	{ PROC_RELAY, "stdio inet unix recvfd sendfd" },
	/* sockets passed by the relays, keys in memory */
	{ PROC_TLS, "stdio inet unix recvfd sendfd" },
	/* a socket per check */
	{ PROC_HEALTH, "stdio inet" },
	/* accept on the socket the parent bound */
	{ PROC_METRICS, "stdio inet recvfd" },
};

void
sandbox_enter(enum l4d_proc role)
{
	size_t	 i;

	if (unveil("/", "") == -1 || unveil(NULL, NULL) == -1)
		fatal("sandbox: unveil");
	for (i = 0; i < nitems(promises); i++)
		if (promises[i].role == role) {
			if (pledge(promises[i].promises, NULL) == -1)
				fatal("sandbox: pledge");
			return;
		}
	fatalx("sandbox: no promises for process kind %d", (int)role);
}

int
sandbox_report_text(int fd, char *buf, size_t len)
{
	return -1;
}

const char *
sandbox_kind(void)
{
	return "pledge";
}
