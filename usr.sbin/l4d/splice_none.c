/*
 * No zero-copy mechanism on this system: every flow copies (flow.c).
 */

#include "l4d.h"

int
flow_splice(struct flow *f, int from, int to)
{
	return flow_copy(f, from, to);
}

int
flow_pipe_flush(struct flow *f, int to)
{
	return FLOW_OK;
}

void
pipe_pool_flush(void)
{
}
