/*
 * The data path: move bytes from one socket to another, by copying
 * through one buffer shared by the whole relay, or with splice(2)
 * through a pipe that is borrowed from a pool only while bytes are in
 * flight.  Either way an idle flow holds nothing.  Passing a FIN on is
 * the session's business (relay.c), which knows both directions.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define FLOW_AGAIN	(-1)	/* the round moved everything: go on */
#define FLOW_ROUNDS	4
#define PIPE_SIZE	(256 * 1024)
#define SPLICE_MIN	(16 * 1024)	/* shorter splices: back to copying */

static char	 shared_buf[RELAY_BUF_SIZE];
static int	 pipe_pool[PIPE_POOL_MAX][2];
static int	 pipe_pool_len;

/* Errors that mean the peer is gone rather than busy. */
static int
peer_gone(int error)
{
	return error != EAGAIN && error != EWOULDBLOCK && error != EINTR;
}

/* Keep what the destination did not take; the source waits for it. */
static int
flow_keep(struct flow *f, const char *data, size_t len)
{
	if ((f->buf = malloc(len)) == NULL)
		return -1;
	memcpy(f->buf, data, len);
	f->len = len;
	f->off = 0;
	return 0;
}

static int	 flow_copy_once(struct flow *, int, int);
static int	 flow_splice_flush(struct flow *, int);
static int	 flow_splice_once(struct flow *, int, int);

static int
flow_copy_flush(struct flow *f, int to)
{
	ssize_t	 w;

	w = write(to, f->buf + f->off, f->len - f->off);
	if (w == -1)
		return peer_gone(errno) ? FLOW_RESET_TO : FLOW_OK;
	f->off += w;
	if (f->off < f->len)
		return FLOW_OK;
	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
	return FLOW_OK;
}

/*
 * A few rounds per event: a bulk flow then costs one wakeup for several
 * reads, and a short read (the socket is drained) ends the rounds early.
 */
int
flow_copy(struct flow *f, int from, int to)
{
	int	 i, r;

	if (f->inpipe > 0)	/* zero_copy was turned off by a reload */
		return flow_splice_flush(f, to);
	if (flow_pending(f))
		return flow_copy_flush(f, to);
	for (i = 0; i < FLOW_ROUNDS; i++) {
		r = flow_copy_once(f, from, to);
		if (r != FLOW_AGAIN)
			return r;
	}
	return FLOW_OK;
}

static int
flow_copy_once(struct flow *f, int from, int to)
{
	ssize_t	 n, w;

	if (f->eof)
		return FLOW_OK;
	n = read(from, shared_buf, sizeof(shared_buf));
	if (n == -1)
		return peer_gone(errno) ? FLOW_RESET_FROM : FLOW_OK;
	if (n == 0) {
		f->eof = 1;
		return FLOW_EOF;
	}
	f->bytes += n;
	if ((w = write(to, shared_buf, n)) == -1) {
		if (peer_gone(errno))
			return FLOW_RESET_TO;
		w = 0;
	}
	if (w < n) {
		if (flow_keep(f, shared_buf + w, n - w) == -1)
			return FLOW_RESET_TO;
		return FLOW_OK;
	}
	return (size_t)n == sizeof(shared_buf) ? FLOW_AGAIN : FLOW_OK;
}

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
flow_splice_flush(struct flow *f, int to)
{
	ssize_t	 w;

	w = splice(f->pipe[0], NULL, to, NULL, f->inpipe,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (w == -1)
		return peer_gone(errno) ? FLOW_RESET_TO : FLOW_OK;
	f->inpipe -= w;
	if (f->inpipe > 0)
		return FLOW_OK;
	pipe_put(f);
	return FLOW_OK;
}

int
flow_splice(struct flow *f, int from, int to)
{
	int	 i, r;

	if (f->off < f->len)
		return flow_copy_flush(f, to);
	if (f->inpipe > 0)
		return flow_splice_flush(f, to);
	for (i = 0; i < FLOW_ROUNDS; i++) {
		/*
		 * Small messages go faster through the shared buffer; a
		 * read that fills it marks a bulk flow, which splices
		 * until a splice comes back short again.
		 */
		if (f->bulk)
			r = flow_splice_once(f, from, to);
		else {
			r = flow_copy_once(f, from, to);
			if (r == FLOW_AGAIN)
				f->bulk = 1;
		}
		if (r != FLOW_AGAIN)
			return r;
	}
	return FLOW_OK;
}

static int
flow_splice_once(struct flow *f, int from, int to)
{
	ssize_t	 n;
	int	 r;

	if (f->eof)
		return FLOW_OK;
	if (pipe_get(f) == -1)
		return flow_copy(f, from, to);	/* out of fds: copy */
	n = splice(from, NULL, f->pipe[1], NULL, PIPE_SIZE,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n <= 0) {
		pipe_put(f);
		if (n == -1)
			return peer_gone(errno) ? FLOW_RESET_FROM : FLOW_OK;
		f->eof = 1;
		return FLOW_EOF;
	}
	f->bytes += n;
	f->inpipe = n;
	if (n < SPLICE_MIN)
		f->bulk = 0;
	if ((r = flow_splice_flush(f, to)) != FLOW_OK || f->inpipe > 0)
		return r;
	return n >= RELAY_BUF_SIZE ? FLOW_AGAIN : FLOW_OK;
}

void
flow_release(struct flow *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
	if (f->pipe[0] != -1) {
		/* bytes still inside cannot be handed to the next flow */
		close(f->pipe[0]);
		close(f->pipe[1]);
		f->pipe[0] = f->pipe[1] = -1;
	}
	f->inpipe = 0;
}
