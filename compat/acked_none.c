/*
 * Whether a connection's peer acknowledged any byte we sent: where the
 * kernel does not say, it may have.
 */

#include <errno.h>

#include "compat.h"

int
compat_acked_data(int fd)
{
	(void)fd;
	errno = ENOTSUP;
	return -1;
}
