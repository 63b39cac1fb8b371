/*
 * How many bytes a connection's peer acknowledged: where the kernel
 * does not say, nobody knows.
 */

#include <errno.h>
#include <stdint.h>

#include "compat.h"

int
compat_tcp_acked(int fd, uint64_t *acked)
{
	(void)fd;
	(void)acked;
	errno = ENOTSUP;
	return -1;
}
