/*
 * The hooks of debug.c do nothing in the daemon that is installed:
 * no environment variable reaches them.
 */

#include "l4d.h"

void
debug_child_start(const char *kind)
{
}

void
debug_child_exec(int forks)
{
}
