/*
 * No syscall sandbox where the build knows none (sandbox_linux.c on
 * Linux, sandbox_openbsd.c on OpenBSD): the children are confined by
 * their chroot and unprivileged user alone.
 */

#include <sys/types.h>

#include "l4d.h"

void
sandbox_enter(enum l4d_proc role)
{
}

int
sandbox_report_text(int fd, char *buf, size_t len)
{
	return -1;
}

const char *
sandbox_kind(void)
{
	return "none";
}
