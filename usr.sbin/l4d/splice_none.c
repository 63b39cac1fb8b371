/*
 * No zero-copy mechanism on this system: every flow copies (flow.c).
 */

#include "l4d.h"

int
flow_splice(struct flow *f, int from, int to, uint8_t *rfrom, uint8_t *rto)
{
	return flow_copy(f, from, to, rfrom, rto);
}

int
flow_pipe_flush(struct flow *f, int to, uint8_t *rto)
{
	return FLOW_OK;
}

void
pipe_pool_flush(void)
{
}
