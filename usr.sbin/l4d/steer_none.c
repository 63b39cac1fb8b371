/*
 * Where one socket serves every relay (no SO_REUSEPORT spreading), the
 * connections of a source all meet the same accept queue: nothing to
 * steer.  See steer_linux.c.
 */

#include <sys/types.h>

#include "l4d.h"

int
listen_steer(int fd, int family, uint32_t nsocks, uint32_t v6_prefix,
    int on)
{
	return 0;
}
