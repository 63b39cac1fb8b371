/*
 * The data path: move bytes from one socket to another through one
 * buffer shared by the whole relay.  Only bytes the destination could
 * not take yet are kept, per flow, until it can; an idle flow holds
 * nothing.  Passing a FIN on is the session's business (relay.c),
 * which knows both directions.  Zero-copy lives beside this file
 * (splice.c on Linux, splice_none.c elsewhere).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

static char	 shared_buf[RELAY_BUF_SIZE];

/* Errors that mean the peer is gone rather than busy. */
int
flow_peer_gone(int error)
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

/* The destination is ready: write what it did not take before. */
static int
flow_copy_flush(struct flow *f, int to, uint8_t *rto)
{
	ssize_t	 w;

	w = write(to, f->buf + f->off, f->len - f->off);
	if (w == -1) {
		if (flow_peer_gone(errno))
			return FLOW_RESET_TO;
		*rto &= ~READY_WRITE;
		return FLOW_OK;
	}
	f->off += w;
	if (f->off < f->len) {
		*rto &= ~READY_WRITE;
		return FLOW_OK;
	}
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
flow_copy(struct flow *f, int from, int to, uint8_t *rfrom, uint8_t *rto)
{
	int	 i, r;

	if (f->inpipe > 0)	/* zero_copy was turned off by a reload */
		return flow_pipe_flush(f, to, rto);
	if (flow_pending(f)) {
		if (!(*rto & READY_WRITE))
			return FLOW_OK;
		r = flow_copy_flush(f, to, rto);
		if (r != FLOW_OK || flow_pending(f))
			return r;
	}
	for (i = 0; i < FLOW_ROUNDS; i++) {
		r = flow_copy_once(f, from, to, rfrom, rto);
		if (r != FLOW_AGAIN)
			return r;
	}
	return FLOW_OK;
}

/*
 * A short read drained the socket.  If the poller saw a clean FIN
 * before we read, every byte in front of it has now been read, and
 * the read(2) that would return 0 is saved.  If it saw none, a FIN
 * that comes raises an event of its own.  A poller that cannot tell
 * (poll_exact is 0) may hold back a FIN already queued, so the caller
 * reads again, to EAGAIN or EOF, and so does one that saw an error or
 * hang-up.
 */
int
flow_drained(struct flow *f, uint8_t *rfrom, uint8_t was)
{
	if (was & READY_FIN) {
		*rfrom &= ~READY_READ;
		f->eof = 1;
		return FLOW_EOF;
	}
	/*
	 * A reset or error that came with the data raises no event of its
	 * own: read on until it shows.
	 */
	if (!poll_exact || (was & READY_HUP))
		return FLOW_AGAIN;
	*rfrom &= ~READY_READ;
	return FLOW_OK;
}

int
flow_copy_once(struct flow *f, int from, int to, uint8_t *rfrom,
    uint8_t *rto)
{
	ssize_t	 n, w;
	uint8_t	 was = *rfrom;
	int	 last, r;

	if (f->eof || flow_pending(f) || !(was & READY_READ))
		return FLOW_OK;
	n = read(from, shared_buf, sizeof(shared_buf));
	if (n == -1) {
		if (flow_peer_gone(errno))
			return FLOW_RESET_FROM;
		*rfrom &= ~READY_READ;
		return FLOW_OK;
	}
	if (n == 0) {
		f->eof = 1;
		return FLOW_EOF;
	}
	f->bytes += n;
	/* the last bytes before a FIN leave in one segment with it */
	last = (size_t)n < sizeof(shared_buf) && (was & READY_FIN);
	if ((w = send(to, shared_buf, n, last ? MSG_MORE : 0)) == -1) {
		if (flow_peer_gone(errno))
			return FLOW_RESET_TO;
		w = 0;
	}
	if (w < n) {
		*rto &= ~READY_WRITE;
		if (flow_keep(f, shared_buf + w, n - w) == -1)
			return FLOW_RESET_TO;
	}
	r = (size_t)n < sizeof(shared_buf) ? flow_drained(f, rfrom, was) :
	    FLOW_AGAIN;
	/* held bytes go first: no more reading until they are out */
	return w < n && r == FLOW_AGAIN ? FLOW_OK : r;
}

/*
 * What a client sent before its server is connected: kept, to leave
 * once it is (relay.c).  A FIN is left where it is
 * (the read after the connect sees it again); an error is the
 * caller's.  Returns -1 on an error, 0 if the socket was drained (as a
 * short read in flow_drained() tells), 1 if it may hold more by the
 * time the server is connected: a FIN, bytes past FLOW_AHEAD_MAX, or
 * the first bytes, when none had come yet (they are often on their
 * way).
 */
int
flow_read_ahead(struct flow *f, int from)
{
	ssize_t	 n;

	n = read(from, shared_buf, FLOW_AHEAD_MAX);
	if (n == -1)
		return flow_peer_gone(errno) ? -1 : 1;
	if (n == 0)
		return 1;
	if (flow_keep(f, shared_buf, n) == -1)
		return -1;
	f->bytes += n;
	return n == FLOW_AHEAD_MAX || !poll_exact;
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
