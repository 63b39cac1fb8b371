/*
 * Fuzz the frame reader the way a hostile peer would reach it: bytes
 * (and, now and then, descriptors) arrive on a socket in chunks, and
 * imsgbuf_read/imsg_get must never crash, leak memory or leak an fd.
 *
 * Input layout: byte 0 picks the chunk size, byte 1 is a mask of
 * which chunks carry an fd (bit i: chunk i % 8), the rest is the
 * stream.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The lowest free descriptor: equal before and after, or an fd leaked. */
static int
lowest_free_fd(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		abort();
	close(fd);
	return fd;
}

/* Write one chunk, with a /dev/null fd beside it when asked. */
static ssize_t
send_chunk(int sock, const uint8_t *buf, size_t len, int with_fd)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 fd = -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (with_fd && (fd = open("/dev/null", O_RDONLY)) != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (fd != -1)
		close(fd);
	return n;
}

/* Take every complete frame; -1 once the stream is refused. */
static int
drain(struct imsgbuf *ibuf)
{
	struct imsg	 imsg;
	ssize_t		 n;

	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1)
			return -1;
		if (n == 0)
			return 0;
		/* What a dispatcher would do: look at the bytes, then free. */
		if (imsg.datalen != imsg.hdr.len - IMSG_HDR_SIZE ||
		    ((char *)imsg.data)[imsg.datalen] != '\0')
			abort();
		if (imsg.fd != -1)
			close(imsg.fd);
		imsg_free(&imsg);
	}
}

/* Read what is there; 1 to go on, 0 when nothing more will come. */
static int
pull(struct imsgbuf *ibuf)
{
	ssize_t	 n;

	n = imsgbuf_read(ibuf);
	if (n == 0)
		return 0;
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		return 0;
	return drain(ibuf) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 ibuf;
	size_t		 chunk, off, len, i;
	uint8_t		 fdmask;
	ssize_t		 n;
	int		 sv[2], fd_before, alive = 1;

	if (size < 2)
		return 0;
	chunk = 1 + (size_t)data[0] * 61;	/* 1 .. 15556 bytes */
	fdmask = data[1];
	data += 2;
	size -= 2;

	fd_before = lowest_free_fd();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	imsgbuf_init(&ibuf, sv[1]);

	for (off = 0, i = 0; off < size && alive; i++) {
		len = size - off < chunk ? size - off : chunk;
		n = send_chunk(sv[0], data + off, len, fdmask & (1 << (i % 8)));
		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			abort();
		alive = pull(&ibuf);
	}
	/* The writer is done: read on to EOF or the first refusal. */
	close(sv[0]);
	while (alive)
		alive = pull(&ibuf);

	imsgbuf_clear(&ibuf);
	close(sv[1]);
	if (lowest_free_fd() != fd_before)
		abort();
	return 0;
}
