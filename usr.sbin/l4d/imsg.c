/*
 * Frames between l4d processes: a fixed header and a payload on a
 * stream socket, with at most one file descriptor belonging to a
 * frame, passed as SCM_RIGHTS.
 *
 * Everything that arrives is taken as hostile: headers are checked
 * before their length is trusted, received descriptors are capped, and
 * a frame that claims an fd it did not bring is an error.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

/* Frames, and descriptors beside them, gathered into one sendmsg(2). */
#define IMSG_WRITE_IOV		32
#define IMSG_SEND_FDS		8

/*
 * Room for more descriptors than one of our writes carries, so that a
 * peer sending a burst is seen as exceeding the cap (and its fds
 * closed) rather than silently truncated by the kernel.
 */
#define IMSG_READ_FDS		16

static struct ibuf	*ibuf_new(size_t);
static void		 ibuf_free(struct ibuf *);
static void		 imsgbuf_consume(struct imsgbuf *, size_t);
static ssize_t		 imsgbuf_send(struct imsgbuf *);
static int		 imsgbuf_take_fds(struct imsgbuf *, struct msghdr *,
			    int);

void
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->fd = fd;
	if ((ibuf->rbuf = malloc(IMSG_MAX_SIZE)) == NULL)
		fatal("%s", __func__);
	ibuf->rlen = 0;
	ibuf->nrfds = 0;
	TAILQ_INIT(&ibuf->wq);
	ibuf->wqlen = 0;
	ibuf->pid = getpid();
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct ibuf	*b;
	int		 i;

	while ((b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		ibuf_free(b);
	}
	ibuf->wqlen = 0;

	for (i = 0; i < ibuf->nrfds; i++)
		close(ibuf->rfds[i]);
	ibuf->nrfds = 0;

	free(ibuf->rbuf);
	ibuf->rbuf = NULL;
	ibuf->rlen = 0;
}

/*
 * The ibuf and its bytes share one allocation: a frame is built once
 * and never grows.
 */
static struct ibuf *
ibuf_new(size_t len)
{
	struct ibuf	*b;

	if ((b = malloc(sizeof(*b) + len)) == NULL)
		return NULL;
	b->buf = (uint8_t *)(b + 1);
	b->len = len;
	b->off = 0;
	b->fd = -1;
	return b;
}

static void
ibuf_free(struct ibuf *b)
{
	if (b->fd != -1)
		close(b->fd);
	free(b);
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;

	if (datalen > IMSG_MAX_SIZE - IMSG_HDR_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)(IMSG_HDR_SIZE + datalen);
	hdr.flags = fd != -1 ? IMSG_FLAG_FD : 0;
	hdr.reserved = 0;
	hdr.peerid = peerid;
	/* 0 means "from me", as the sender of a frame is rarely relayed. */
	hdr.pid = pid != 0 ? (uint32_t)pid : (uint32_t)ibuf->pid;

	if ((b = ibuf_new(hdr.len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(b->buf, &hdr, IMSG_HDR_SIZE);
	if (datalen > 0) {
		if (data != NULL)
			memcpy(b->buf + IMSG_HDR_SIZE, data, datalen);
		else
			memset(b->buf + IMSG_HDR_SIZE, 0, datalen);
	}

	/* Only now, with nothing left to fail, does the fd become ours. */
	b->fd = fd;
	TAILQ_INSERT_TAIL(&ibuf->wq, b, entry);
	ibuf->wqlen++;
	return 0;
}

/* Drop n written bytes from the head of the write queue. */
static void
imsgbuf_consume(struct imsgbuf *ibuf, size_t n)
{
	struct ibuf	*b;
	size_t		 left;

	while (n > 0 && (b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		left = b->len - b->off;
		if (n < left) {
			b->off += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		ibuf->wqlen--;
		ibuf_free(b);
	}
}

/*
 * Queued frames go out in one sendmsg(2), up to IMSG_WRITE_IOV of them,
 * their descriptors (IMSG_SEND_FDS at most) riding beside its first
 * byte.  A descriptor thus arrives with its frame or before it, never
 * after, and the receiver pairs them in order; the kernel hands over
 * the descriptors of one such write in one recvmsg(2) at most, within
 * the room the receiver keeps.  A connection handed over with its
 * server (two frames, two fds) is one write and one wakeup.
 */
static ssize_t
imsgbuf_send(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int) * IMSG_SEND_FDS)];
	} cmsgbuf;
	struct iovec	 iov[IMSG_WRITE_IOV];
	struct ibuf	*held[IMSG_SEND_FDS];
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct ibuf	*b;
	ssize_t		 n;
	int		 niov = 0, nfds = 0, i;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	cm = &cmsgbuf.align;
	TAILQ_FOREACH(b, &ibuf->wq, entry) {
		if (niov == IMSG_WRITE_IOV ||
		    (b->fd != -1 && nfds == IMSG_SEND_FDS))
			break;
		if (b->fd != -1) {
			memcpy(CMSG_DATA(cm) + nfds * sizeof(int), &b->fd,
			    sizeof(int));
			held[nfds++] = b;
		}
		iov[niov].iov_base = b->buf + b->off;
		iov[niov].iov_len = b->len - b->off;
		niov++;
	}
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;
	if (nfds > 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
	}
	if ((n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL)) == -1)
		return -1;
	/* The peer holds its own copies now, even of a partial write. */
	for (i = 0; i < nfds; i++) {
		close(held[i]->fd);
		held[i]->fd = -1;
	}
	return n;
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	ssize_t		 n;

	while (!TAILQ_EMPTY(&ibuf->wq)) {
		if ((n = imsgbuf_send(ibuf)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return 1;
			return -1;
		}
		imsgbuf_consume(ibuf, (size_t)n);
	}
	return 0;
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;
	int		 rv;

	while ((rv = imsgbuf_write(ibuf)) == 1) {
		pfd.fd = ibuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return -1;
	}
	return rv;
}

/*
 * Queue every received descriptor; past the cap, or when keep is 0
 * (the frames they belong to are lost), they are closed at once, so a
 * peer cannot make us hold fds it sends without frames.
 */
static int
imsgbuf_take_fds(struct imsgbuf *ibuf, struct msghdr *msg, int keep)
{
	struct cmsghdr	*cm;
	size_t		 i, nfds;
	int		 fd, overflow = 0;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (keep && ibuf->nrfds < IMSG_MAX_QUEUED_FDS)
				ibuf->rfds[ibuf->nrfds++] = fd;
			else {
				close(fd);
				overflow = keep;
			}
		}
	}
	return overflow ? -1 : 0;
}

ssize_t
imsgbuf_read(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int) * IMSG_READ_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	ssize_t		 n;

	if (ibuf->rlen >= IMSG_MAX_SIZE) {
		errno = ENOBUFS;
		return -1;
	}

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = IMSG_MAX_SIZE - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return -1;

	if (msg.msg_flags & MSG_CTRUNC) {
		/* Some fds are lost: frames and fds no longer pair up. */
		(void)imsgbuf_take_fds(ibuf, &msg, 0);
		errno = EBADMSG;
		return -1;
	}
	ibuf->rlen += (size_t)n;
	if (imsgbuf_take_fds(ibuf, &msg, 1) == -1) {
		errno = EMFILE;
		return -1;
	}
	return n;
}

int
imsg_hdr_valid(const struct imsg_hdr *hdr)
{
	if (hdr->len < IMSG_HDR_SIZE || hdr->len > IMSG_MAX_SIZE)
		return 0;
	if (hdr->reserved != 0)
		return 0;
	if ((hdr->flags & ~IMSG_FLAG_FD) != 0)
		return 0;
	if (hdr->type == IMSG_NONE || hdr->type >= IMSG_TYPE_MAX)
		return 0;
	return 1;
}

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	size_t		 datalen;
	void		*data;

	if (ibuf->rlen < IMSG_HDR_SIZE)
		return 0;
	/* rbuf has no alignment promise for a header inside it. */
	memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
	if (!imsg_hdr_valid(&hdr)) {
		errno = EBADMSG;
		return -1;
	}
	if (ibuf->rlen < hdr.len)
		return 0;

	datalen = hdr.len - IMSG_HDR_SIZE;
	/* One spare byte so that a string payload is always terminated. */
	if ((data = malloc(datalen + 1)) == NULL)
		return -1;
	memcpy(data, ibuf->rbuf + IMSG_HDR_SIZE, datalen);
	((char *)data)[datalen] = '\0';

	if (hdr.flags & IMSG_FLAG_FD) {
		if (ibuf->nrfds == 0) {
			free(data);
			errno = EBADMSG;
			return -1;
		}
		imsg->fd = ibuf->rfds[0];
		ibuf->nrfds--;
		memmove(ibuf->rfds, ibuf->rfds + 1,
		    ibuf->nrfds * sizeof(ibuf->rfds[0]));
	} else
		imsg->fd = -1;

	imsg->hdr = hdr;
	imsg->data = data;
	imsg->datalen = datalen;

	ibuf->rlen -= hdr.len;
	memmove(ibuf->rbuf, ibuf->rbuf + hdr.len, ibuf->rlen);
	return hdr.len;
}

void
imsg_free(struct imsg *imsg)
{
	free(imsg->data);
	imsg->data = NULL;
	imsg->datalen = 0;
}
