/*
 * Zero-copy on Linux: splice(2) through a pipe that is borrowed from a
 * pool only while bytes are in flight, so an idle flow holds no pipe.
 * Small messages are faster through the shared buffer (flow.c): a flow
 * splices only once a read has filled that buffer, and goes back to
 * copying when a splice comes back short.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "l4d.h"

#define PIPE_SIZE	(256 * 1024)
#define SPLICE_MIN	(16 * 1024)	/* shorter splices: back to copying */

static int	 pipe_pool[PIPE_POOL_MAX][2];
static int	 pipe_pool_len;

static int	 flow_splice_once(struct flow *, int, int, uint8_t *,
		    uint8_t *);

static int
pipe_get(struct flow *f)
{
	if (pipe_pool_len > 0) {
		pipe_pool_len--;
		f->pipe[0] = pipe_pool[pipe_pool_len][0];
		f->pipe[1] = pipe_pool[pipe_pool_len][1];
		return 0;
	}
	if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* a larger pipe moves more per splice; pages come only when used */
	(void)fcntl(f->pipe[0], F_SETPIPE_SZ, PIPE_SIZE);
	return 0;
}

/* Only an empty pipe can go back to the pool. */
static void
pipe_put(struct flow *f)
{
	if (f->pipe[0] == -1)
		return;
	if (f->inpipe == 0 && pipe_pool_len < PIPE_POOL_MAX) {
		pipe_pool[pipe_pool_len][0] = f->pipe[0];
		pipe_pool[pipe_pool_len][1] = f->pipe[1];
		pipe_pool_len++;
	} else {
		close(f->pipe[0]);
		close(f->pipe[1]);
	}
	f->pipe[0] = f->pipe[1] = -1;
	f->inpipe = 0;
}

void
pipe_pool_flush(void)
{
	while (pipe_pool_len > 0) {
		pipe_pool_len--;
		close(pipe_pool[pipe_pool_len][0]);
		close(pipe_pool[pipe_pool_len][1]);
	}
}

static int
pipe_splice_out(struct flow *f, int to, uint8_t *rto)
{
	ssize_t	 w;

	w = splice(f->pipe[0], NULL, to, NULL, f->inpipe,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (w == -1) {
		if (flow_peer_gone(errno))
			return FLOW_RESET_TO;
		*rto &= ~READY_WRITE;
		return FLOW_OK;
	}
	f->inpipe -= w;
	if (f->inpipe > 0) {
		*rto &= ~READY_WRITE;
		return FLOW_OK;
	}
	pipe_put(f);
	return FLOW_OK;
}

int
flow_pipe_flush(struct flow *f, int to, uint8_t *rto)
{
	if (!(*rto & READY_WRITE))
		return FLOW_OK;
	return pipe_splice_out(f, to, rto);
}

int
flow_splice(struct flow *f, int from, int to, uint8_t *rfrom, uint8_t *rto)
{
	int	 i, r;

	if (f->off < f->len)
		return flow_copy(f, from, to, rfrom, rto);
	if (f->inpipe > 0) {
		r = flow_pipe_flush(f, to, rto);
		if (r != FLOW_OK || f->inpipe > 0)
			return r;
	}
	for (i = 0; i < FLOW_ROUNDS; i++) {
		/*
		 * Small messages go faster through the shared buffer; a
		 * read that fills it marks a bulk flow, which splices
		 * until a splice comes back short again.
		 */
		if (f->bulk)
			r = flow_splice_once(f, from, to, rfrom, rto);
		else {
			r = flow_copy_once(f, from, to, rfrom, rto);
			if (r == FLOW_AGAIN)
				f->bulk = 1;
		}
		if (r != FLOW_AGAIN)
			return r;
	}
	return FLOW_OK;
}

/*
 * A short splice may mean a full pipe rather than a drained socket, so
 * only EAGAIN clears READY_READ here.
 */
static int
flow_splice_once(struct flow *f, int from, int to, uint8_t *rfrom,
    uint8_t *rto)
{
	ssize_t	 n;
	int	 r;

	if (f->eof || !(*rfrom & READY_READ))
		return FLOW_OK;
	if (pipe_get(f) == -1) {
		f->bulk = 0;		/* out of fds: copy */
		return flow_copy_once(f, from, to, rfrom, rto);
	}
	n = splice(from, NULL, f->pipe[1], NULL, PIPE_SIZE,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n <= 0) {
		pipe_put(f);
		if (n == 0) {
			f->eof = 1;
			return FLOW_EOF;
		}
		if (flow_peer_gone(errno))
			return FLOW_RESET_FROM;
		*rfrom &= ~READY_READ;
		return FLOW_OK;
	}
	f->bytes += n;
	f->inpipe = n;
	if (n < SPLICE_MIN)
		f->bulk = 0;
	if ((r = pipe_splice_out(f, to, rto)) != FLOW_OK)
		return r;
	return f->inpipe > 0 ? FLOW_OK : FLOW_AGAIN;
}
