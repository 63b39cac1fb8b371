/*
 * Frame codec: round trips through a socketpair, descriptor passing,
 * and the refusal of every malformed header.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define TEST_TYPE	IMSG_CTL_DATA

struct pair {
	struct imsgbuf	 w;	/* writer end */
	struct imsgbuf	 r;	/* reader end */
	int		 wfd;
	int		 rfd;
};

static void
set_nonblock(int fd)
{
	int	 fl;

	ATF_REQUIRE((fl = fcntl(fd, F_GETFL)) != -1);
	ATF_REQUIRE(fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1);
}

static void
pair_open(struct pair *p)
{
	int	 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	set_nonblock(sv[0]);
	set_nonblock(sv[1]);
	p->wfd = sv[0];
	p->rfd = sv[1];
	imsgbuf_init(&p->w, p->wfd);
	imsgbuf_init(&p->r, p->rfd);
}

static void
pair_close(struct pair *p)
{
	imsgbuf_clear(&p->w);
	imsgbuf_clear(&p->r);
	if (p->wfd != -1)
		close(p->wfd);
	if (p->rfd != -1)
		close(p->rfd);
}

/*
 * Move frames from writer to reader until want frames came out; both
 * ends are nonblocking, so a queue bigger than the socket buffer makes
 * this alternate between the two.
 */
static void
pump(struct pair *p, struct imsg *out, size_t want)
{
	size_t	 got = 0;
	ssize_t	 n;
	int	 spins = 0;

	while (got < want) {
		ATF_REQUIRE(imsgbuf_write(&p->w) != -1);
		n = imsgbuf_read(&p->r);
		if (n == -1)
			ATF_REQUIRE_MSG(errno == EAGAIN, "read: %s",
			    strerror(errno));
		else
			ATF_REQUIRE_MSG(n > 0, "unexpected EOF");
		while (got < want) {
			n = imsg_get(&p->r, &out[got]);
			ATF_REQUIRE_MSG(n != -1, "imsg_get: %s",
			    strerror(errno));
			if (n == 0)
				break;
			got++;
		}
		ATF_REQUIRE_MSG(++spins < 1000000, "no progress");
	}
}

/* A frame that must be followed by nothing yet: read, expect 0. */
static void
read_expect_none(struct imsgbuf *r)
{
	struct imsg	 imsg;

	(void)imsgbuf_read(r);
	ATF_REQUIRE_EQ(imsg_get(r, &imsg), 0);
}

static void
raw_write(int fd, const void *buf, size_t len)
{
	ATF_REQUIRE_EQ(write(fd, buf, len), (ssize_t)len);
}

static void
fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
}

ATF_TC_WITHOUT_HEAD(roundtrip_one);
ATF_TC_BODY(roundtrip_one, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	const char	 msg[] = "one frame";

	pair_open(&p);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 7, 1234, -1, msg,
	    sizeof(msg)), 0);
	ATF_REQUIRE_EQ(p.w.wqlen, 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&p.w), 0);
	ATF_REQUIRE_EQ(p.w.wqlen, 0);
	pump(&p, &imsg, 1);

	ATF_CHECK_EQ(imsg.hdr.type, TEST_TYPE);
	ATF_CHECK_EQ(imsg.hdr.len, IMSG_HDR_SIZE + sizeof(msg));
	ATF_CHECK_EQ(imsg.hdr.flags, 0);
	ATF_CHECK_EQ(imsg.hdr.reserved, 0);
	ATF_CHECK_EQ(imsg.hdr.peerid, 7);
	ATF_CHECK_EQ(imsg.hdr.pid, 1234);
	ATF_CHECK_EQ(imsg.fd, -1);
	ATF_REQUIRE_EQ(imsg.datalen, sizeof(msg));
	ATF_CHECK(memcmp(imsg.data, msg, sizeof(msg)) == 0);
	imsg_free(&imsg);

	/* Nothing left behind. */
	ATF_CHECK_EQ(p.r.rlen, 0);
	ATF_CHECK_EQ(imsg_get(&p.r, &imsg), 0);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(pid_default);
ATF_TC_BODY(pid_default, tc)
{
	struct pair	 p;
	struct imsg	 imsg;

	pair_open(&p);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 0, 0, -1, NULL, 0), 0);
	pump(&p, &imsg, 1);
	ATF_CHECK_EQ(imsg.hdr.pid, (uint32_t)getpid());
	imsg_free(&imsg);
	pair_close(&p);
}

#define MANY	1000

ATF_TC_WITHOUT_HEAD(roundtrip_many);
ATF_TC_BODY(roundtrip_many, tc)
{
	struct pair	 p;
	struct imsg	*out;
	uint8_t		*buf;
	size_t		 i, len;

	ATF_REQUIRE((out = calloc(MANY, sizeof(*out))) != NULL);
	ATF_REQUIRE((buf = malloc(IMSG_MAX_SIZE)) != NULL);
	pair_open(&p);
	for (i = 0; i < MANY; i++) {
		/* Sizes from empty to several kilobytes, some odd. */
		len = (i * 977) % 9001;
		fill_pattern(buf, len, (unsigned)i);
		ATF_REQUIRE_EQ(imsg_compose(&p.w, 1 + i % (IMSG_TYPE_MAX - 1),
		    (uint32_t)i, (pid_t)(i + 1), -1, buf, len), 0);
	}
	ATF_REQUIRE_EQ(p.w.wqlen, MANY);
	pump(&p, out, MANY);
	ATF_CHECK_EQ(p.w.wqlen, 0);

	for (i = 0; i < MANY; i++) {
		len = (i * 977) % 9001;
		fill_pattern(buf, len, (unsigned)i);
		ATF_CHECK_EQ(out[i].hdr.type, 1 + i % (IMSG_TYPE_MAX - 1));
		ATF_CHECK_EQ(out[i].hdr.len, IMSG_HDR_SIZE + len);
		ATF_CHECK_EQ(out[i].hdr.peerid, i);
		ATF_CHECK_EQ(out[i].hdr.pid, i + 1);
		ATF_CHECK_EQ(out[i].fd, -1);
		ATF_REQUIRE_EQ(out[i].datalen, len);
		ATF_CHECK_MSG(memcmp(out[i].data, buf, len) == 0,
		    "payload %zu differs", i);
		imsg_free(&out[i]);
	}
	pair_close(&p);
	free(buf);
	free(out);
}

ATF_TC_WITHOUT_HEAD(max_size);
ATF_TC_BODY(max_size, tc)
{
	struct pair	 p;
	struct imsg	 imsg[2];
	uint8_t		*buf;
	size_t		 max = IMSG_MAX_SIZE - IMSG_HDR_SIZE;

	ATF_REQUIRE((buf = malloc(max)) != NULL);
	fill_pattern(buf, max, 42);
	pair_open(&p);
	/* Two in a row: the second must start where the first ended. */
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 1, 0, -1, buf, max), 0);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 2, 0, -1, buf, max), 0);
	pump(&p, imsg, 2);
	ATF_CHECK_EQ(imsg[0].hdr.len, IMSG_MAX_SIZE);
	ATF_CHECK_EQ(imsg[1].hdr.peerid, 2);
	ATF_REQUIRE_EQ(imsg[0].datalen, max);
	ATF_REQUIRE_EQ(imsg[1].datalen, max);
	ATF_CHECK(memcmp(imsg[0].data, buf, max) == 0);
	ATF_CHECK(memcmp(imsg[1].data, buf, max) == 0);
	imsg_free(&imsg[0]);
	imsg_free(&imsg[1]);
	pair_close(&p);
	free(buf);
}

ATF_TC_WITHOUT_HEAD(oversize);
ATF_TC_BODY(oversize, tc)
{
	struct imsgbuf	 ib;
	uint8_t		*buf;
	int		 pfd[2];

	ATF_REQUIRE((buf = calloc(1, IMSG_MAX_SIZE)) != NULL);
	ATF_REQUIRE(pipe(pfd) == 0);
	imsgbuf_init(&ib, -1);

	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&ib, TEST_TYPE, 0, 0, -1, buf,
	    IMSG_MAX_SIZE - IMSG_HDR_SIZE + 1), -1);
	ATF_CHECK_EQ(errno, EMSGSIZE);
	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&ib, TEST_TYPE, 0, 0, -1, buf,
	    (size_t)-1), -1);
	ATF_CHECK_EQ(errno, EMSGSIZE);
	ATF_CHECK_EQ(ib.wqlen, 0);

	/* On failure the caller still owns the fd: it must be open. */
	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&ib, TEST_TYPE, 0, 0, pfd[1], buf,
	    IMSG_MAX_SIZE), -1);
	ATF_CHECK_EQ(errno, EMSGSIZE);
	ATF_CHECK(fcntl(pfd[1], F_GETFD) != -1);

	imsgbuf_clear(&ib);
	close(pfd[0]);
	close(pfd[1]);
	free(buf);
}

/* Write through a received fd and read it back from the pipe. */
static void
check_pipe(int sent_fd, int pipe_rd, const char *word)
{
	char	 got[64];
	size_t	 len = strlen(word);

	ATF_REQUIRE(sent_fd != -1);
	ATF_REQUIRE_EQ(write(sent_fd, word, len), (ssize_t)len);
	close(sent_fd);
	/* Nonblocking, so that a leaked write end fails instead of hangs. */
	set_nonblock(pipe_rd);
	memset(got, 0, sizeof(got));
	ATF_REQUIRE_EQ(read(pipe_rd, got, sizeof(got) - 1), (ssize_t)len);
	ATF_CHECK_STREQ(got, word);
	/* EOF proves the sending side closed its copy after sending. */
	ATF_CHECK_EQ_MSG(read(pipe_rd, got, sizeof(got)), 0,
	    "write end still open somewhere");
}

ATF_TC_WITHOUT_HEAD(fd_pass);
ATF_TC_BODY(fd_pass, tc)
{
	struct pair	 p;
	struct imsg	 imsg[3];
	int		 pfd[2];

	ATF_REQUIRE(pipe(pfd) == 0);
	pair_open(&p);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 1, 0, -1, "a", 1), 0);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 2, 0, pfd[1], "b", 1),
	    0);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 3, 0, -1, "c", 1), 0);
	pump(&p, imsg, 3);

	ATF_CHECK_EQ(imsg[0].fd, -1);
	ATF_CHECK_EQ(imsg[0].hdr.flags, 0);
	ATF_CHECK_EQ(imsg[1].hdr.peerid, 2);
	ATF_CHECK_EQ(imsg[1].hdr.flags, IMSG_FLAG_FD);
	ATF_CHECK_EQ(imsg[2].fd, -1);
	ATF_CHECK_EQ(p.r.nrfds, 0);
	check_pipe(imsg[1].fd, pfd[0], "through the socket");
	imsg_free(&imsg[0]);
	imsg_free(&imsg[1]);
	imsg_free(&imsg[2]);
	close(pfd[0]);
	pair_close(&p);
}

/* n frames, each with the write end of a pipe of its own, written. */
static void
compose_pipes(struct pair *p, int (*pfd)[2], int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		ATF_REQUIRE(pipe(pfd[i]) == 0);
		ATF_REQUIRE_EQ(imsg_compose(&p->w, TEST_TYPE, (uint32_t)i, 0,
		    pfd[i][1], &i, sizeof(i)), 0);
	}
	ATF_REQUIRE_EQ(imsgbuf_flush(&p->w), 0);
}

/* Frame i came with its own pipe's write end. */
static void
check_pipe_frame(struct imsg *imsg, int i, int pipe_rd)
{
	char	 word[32];

	ATF_CHECK_EQ(imsg->hdr.peerid, (uint32_t)i);
	snprintf(word, sizeof(word), "pipe %d", i);
	check_pipe(imsg->fd, pipe_rd, word);
	imsg_free(imsg);
	close(pipe_rd);
}

#define NPIPES	5

ATF_TC_WITHOUT_HEAD(fd_order);
ATF_TC_BODY(fd_order, tc)
{
	struct pair	 p;
	struct imsg	 imsg[NPIPES];
	int		 pfd[NPIPES][2];
	int		 i;

	pair_open(&p);
	compose_pipes(&p, pfd, NPIPES);
	/* Every fd queued before the first frame is taken. */
	while (imsgbuf_read(&p.r) > 0)
		continue;
	ATF_REQUIRE_EQ(errno, EAGAIN);
	ATF_REQUIRE_EQ(p.r.nrfds, NPIPES);
	for (i = 0; i < NPIPES; i++)
		ATF_REQUIRE(imsg_get(&p.r, &imsg[i]) > 0);
	for (i = 0; i < NPIPES; i++)
		check_pipe_frame(&imsg[i], i, pfd[i][0]);
	pair_close(&p);
}

/*
 * Frames with fds one after the other leave in few writes: the first
 * read takes eight of them at once (the writer's batch), and each fd
 * still lands on its own frame.
 */
#define NBATCH		20
#define SEND_FDS	8

ATF_TC_WITHOUT_HEAD(fd_batch);
ATF_TC_BODY(fd_batch, tc)
{
	struct pair	 p;
	struct imsg	 imsg[NBATCH];
	int		 pfd[NBATCH][2];
	int		 i;

	pair_open(&p);
	compose_pipes(&p, pfd, NBATCH);
	ATF_REQUIRE(imsgbuf_read(&p.r) > 0);
	ATF_CHECK_EQ(p.r.nrfds, SEND_FDS);
	ATF_CHECK_EQ(p.r.rlen, SEND_FDS * (IMSG_HDR_SIZE + sizeof(int)));
	for (i = 0; i < NBATCH; i++) {
		while (imsg_get(&p.r, &imsg[i]) == 0)
			ATF_REQUIRE(imsgbuf_read(&p.r) > 0);
		check_pipe_frame(&imsg[i], i, pfd[i][0]);
	}
	ATF_CHECK_EQ(p.r.nrfds, 0);
	pair_close(&p);
}

/*
 * fds among many plain frames, big enough to fill the socket buffer:
 * each fd still lands on its own frame.
 */
#define MIXED		300
#define MIXED_EVERY	37

ATF_TC_WITHOUT_HEAD(fd_mixed);
ATF_TC_BODY(fd_mixed, tc)
{
	struct pair	 p;
	struct imsg	*out;
	uint8_t		*buf;
	int		 pfd[MIXED][2];
	char		 word[16];
	size_t		 i, len;

	ATF_REQUIRE((out = calloc(MIXED, sizeof(*out))) != NULL);
	ATF_REQUIRE((buf = malloc(IMSG_MAX_SIZE)) != NULL);
	pair_open(&p);
	for (i = 0; i < MIXED; i++) {
		len = (i * 4099) % 20000;
		fill_pattern(buf, len, (unsigned)i);
		pfd[i][0] = pfd[i][1] = -1;
		if (i % MIXED_EVERY == 0)
			ATF_REQUIRE(pipe(pfd[i]) == 0);
		ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, (uint32_t)i, 0,
		    pfd[i][1], buf, len), 0);
	}
	pump(&p, out, MIXED);
	for (i = 0; i < MIXED; i++) {
		len = (i * 4099) % 20000;
		fill_pattern(buf, len, (unsigned)i);
		ATF_CHECK_EQ(out[i].hdr.peerid, i);
		ATF_REQUIRE_EQ(out[i].datalen, len);
		ATF_CHECK(memcmp(out[i].data, buf, len) == 0);
		if (pfd[i][0] != -1) {
			snprintf(word, sizeof(word), "frame %zu", i);
			check_pipe(out[i].fd, pfd[i][0], word);
			close(pfd[i][0]);
		} else
			ATF_CHECK_EQ(out[i].fd, -1);
		imsg_free(&out[i]);
	}
	pair_close(&p);
	free(buf);
	free(out);
}

ATF_TC_WITHOUT_HEAD(clear_closes_fds);
ATF_TC_BODY(clear_closes_fds, tc)
{
	struct imsgbuf	 ib;
	char		 c;
	int		 pfd[2];

	ATF_REQUIRE(pipe(pfd) == 0);
	imsgbuf_init(&ib, -1);
	ATF_REQUIRE_EQ(imsg_compose(&ib, TEST_TYPE, 0, 0, pfd[1], NULL, 0),
	    0);
	imsgbuf_clear(&ib);
	ATF_CHECK(ib.rbuf == NULL);
	ATF_CHECK_EQ(ib.wqlen, 0);
	/* The write end was the queue's to close. */
	set_nonblock(pfd[0]);
	ATF_CHECK_EQ(read(pfd[0], &c, 1), 0);
	close(pfd[0]);
}

static void
make_hdr(struct imsg_hdr *hdr, uint32_t type, uint32_t len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->type = type;
	hdr->len = len;
}

ATF_TC_WITHOUT_HEAD(truncated);
ATF_TC_BODY(truncated, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	uint8_t		 frame[IMSG_HDR_SIZE + 100];

	pair_open(&p);
	make_hdr(&hdr, TEST_TYPE, sizeof(frame));
	hdr.peerid = 99;
	memcpy(frame, &hdr, sizeof(hdr));
	fill_pattern(frame + IMSG_HDR_SIZE, 100, 5);

	raw_write(p.wfd, frame, 5);
	read_expect_none(&p.r);
	raw_write(p.wfd, frame + 5, IMSG_HDR_SIZE - 5);
	read_expect_none(&p.r);
	raw_write(p.wfd, frame + IMSG_HDR_SIZE, 60);
	read_expect_none(&p.r);
	raw_write(p.wfd, frame + IMSG_HDR_SIZE + 60, 40);
	ATF_REQUIRE(imsgbuf_read(&p.r) > 0);
	ATF_REQUIRE_EQ(imsg_get(&p.r, &imsg), (ssize_t)sizeof(frame));
	ATF_CHECK_EQ(imsg.hdr.peerid, 99);
	ATF_REQUIRE_EQ(imsg.datalen, 100);
	ATF_CHECK(memcmp(imsg.data, frame + IMSG_HDR_SIZE, 100) == 0);
	imsg_free(&imsg);
	pair_close(&p);
}

/* Send one raw header and expect imsg_get to refuse it. */
static void
expect_garbage(const struct imsg_hdr *hdr, const char *what)
{
	struct pair	 p;
	struct imsg	 imsg;

	pair_open(&p);
	raw_write(p.wfd, hdr, sizeof(*hdr));
	ATF_REQUIRE_EQ(imsgbuf_read(&p.r), (ssize_t)sizeof(*hdr));
	errno = 0;
	ATF_CHECK_EQ_MSG(imsg_get(&p.r, &imsg), -1, "%s accepted", what);
	ATF_CHECK_EQ_MSG(errno, EBADMSG, "%s: errno %d", what, errno);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(garbage);
ATF_TC_BODY(garbage, tc)
{
	struct imsg_hdr	 hdr;

	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE - 1);
	expect_garbage(&hdr, "len < header");
	make_hdr(&hdr, TEST_TYPE, 0);
	expect_garbage(&hdr, "len 0");
	make_hdr(&hdr, TEST_TYPE, IMSG_MAX_SIZE + 1);
	expect_garbage(&hdr, "len > max");
	make_hdr(&hdr, TEST_TYPE, UINT32_MAX);
	expect_garbage(&hdr, "len 2^32-1");
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.reserved = 1;
	expect_garbage(&hdr, "reserved != 0");
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.flags = 0x0002;
	expect_garbage(&hdr, "unknown flag");
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.flags = IMSG_FLAG_FD | 0x8000;
	expect_garbage(&hdr, "fd flag plus unknown flag");
	make_hdr(&hdr, IMSG_NONE, IMSG_HDR_SIZE);
	expect_garbage(&hdr, "type 0");
	make_hdr(&hdr, IMSG_TYPE_MAX, IMSG_HDR_SIZE);
	expect_garbage(&hdr, "type max");
	make_hdr(&hdr, UINT32_MAX, IMSG_HDR_SIZE);
	expect_garbage(&hdr, "type 2^32-1");
	/* An fd claimed but never sent. */
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.flags = IMSG_FLAG_FD;
	expect_garbage(&hdr, "fd flag without fd");
}

/* A header that is refused before its payload has arrived. */
ATF_TC_WITHOUT_HEAD(garbage_early);
ATF_TC_BODY(garbage_early, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;

	pair_open(&p);
	make_hdr(&hdr, TEST_TYPE, IMSG_MAX_SIZE * 2);
	raw_write(p.wfd, &hdr, sizeof(hdr));
	ATF_REQUIRE(imsgbuf_read(&p.r) > 0);
	ATF_CHECK_EQ(imsg_get(&p.r, &imsg), -1);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(eof);
ATF_TC_BODY(eof, tc)
{
	struct pair	 p;

	pair_open(&p);
	close(p.wfd);
	p.wfd = -1;
	ATF_CHECK_EQ(imsgbuf_read(&p.r), 0);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(read_eagain);
ATF_TC_BODY(read_eagain, tc)
{
	struct pair	 p;

	pair_open(&p);
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_read(&p.r), -1);
	ATF_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(write_epipe);
ATF_TC_BODY(write_epipe, tc)
{
	struct pair	 p;

	pair_open(&p);
	close(p.rfd);
	p.rfd = -1;
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 0, 0, -1, "x", 1), 0);
	/* MSG_NOSIGNAL: an error, not a SIGPIPE that kills the test. */
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_write(&p.w), -1);
	ATF_CHECK_EQ(errno, EPIPE);
	ATF_CHECK_EQ(p.w.wqlen, 1);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(read_full);
ATF_TC_BODY(read_full, tc)
{
	struct pair	 p;

	pair_open(&p);
	p.r.rlen = IMSG_MAX_SIZE;
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_read(&p.r), -1);
	ATF_CHECK_EQ(errno, ENOBUFS);
	p.r.rlen = 0;
	pair_close(&p);
}

/* Send nfds descriptors with one byte in a single control message. */
static int
send_fds(int sock, int nfds)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int) * 64)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	int		 fds[64], i;
	char		 c = 0;
	ssize_t		 n;

	ATF_REQUIRE(nfds <= 64);
	for (i = 0; i < nfds; i++)
		ATF_REQUIRE((fds[i] = open("/dev/null", O_RDONLY)) != -1);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	n = sendmsg(sock, &msg, 0);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return n == 1 ? 0 : -1;
}

/* The lowest free descriptor: to see that none leaked. */
static int
lowest_free_fd(void)
{
	int	 fd;

	ATF_REQUIRE((fd = open("/dev/null", O_RDONLY)) != -1);
	close(fd);
	return fd;
}

ATF_TC_WITHOUT_HEAD(fd_ctrunc);
ATF_TC_BODY(fd_ctrunc, tc)
{
	struct pair	 p;
	int		 before;

	pair_open(&p);
	before = lowest_free_fd();
	ATF_REQUIRE(send_fds(p.wfd, 60) == 0);
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_read(&p.r), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	ATF_CHECK_EQ(p.r.nrfds, 0);
	ATF_CHECK_EQ(lowest_free_fd(), before);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(fd_overflow);
ATF_TC_BODY(fd_overflow, tc)
{
	struct pair	 p;
	ssize_t		 n;
	int		 i, before;

	pair_open(&p);
	before = lowest_free_fd();
	/* A few at a time, so no read is truncated, until past the cap. */
	for (i = 0; i < IMSG_MAX_QUEUED_FDS / 4 + 2; i++)
		ATF_REQUIRE(send_fds(p.wfd, 4) == 0);
	do {
		errno = 0;
		n = imsgbuf_read(&p.r);
	} while (n > 0);
	ATF_CHECK_EQ(n, -1);
	ATF_CHECK_EQ(errno, EMFILE);
	ATF_CHECK_EQ(p.r.nrfds, IMSG_MAX_QUEUED_FDS);
	imsgbuf_clear(&p.r);
	ATF_CHECK_EQ(lowest_free_fd(), before);
	imsgbuf_init(&p.r, p.rfd);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(hdr_valid);
ATF_TC_BODY(hdr_valid, tc)
{
	struct imsg_hdr	 hdr;

	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 1);
	make_hdr(&hdr, 1, IMSG_MAX_SIZE);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 1);
	make_hdr(&hdr, IMSG_TYPE_MAX - 1, IMSG_HDR_SIZE + 1);
	hdr.flags = IMSG_FLAG_FD;
	hdr.peerid = UINT32_MAX;
	hdr.pid = UINT32_MAX;
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 1);

	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE - 1);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
	make_hdr(&hdr, TEST_TYPE, IMSG_MAX_SIZE + 1);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.reserved = 0x8000;
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
	make_hdr(&hdr, TEST_TYPE, IMSG_HDR_SIZE);
	hdr.flags = 0xffff;
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
	make_hdr(&hdr, IMSG_NONE, IMSG_HDR_SIZE);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
	make_hdr(&hdr, IMSG_TYPE_MAX, IMSG_HDR_SIZE);
	ATF_CHECK_EQ(imsg_hdr_valid(&hdr), 0);
}

ATF_TC_WITHOUT_HEAD(strings_terminated);
ATF_TC_BODY(strings_terminated, tc)
{
	struct pair	 p;
	struct imsg	 imsg[2];

	pair_open(&p);
	/* Sent without its NUL, as a hostile peer would. */
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 0, 0, -1, "hello", 5),
	    0);
	ATF_REQUIRE_EQ(imsg_compose(&p.w, TEST_TYPE, 0, 0, -1, NULL, 0), 0);
	pump(&p, imsg, 2);
	ATF_REQUIRE_EQ(imsg[0].datalen, 5);
	ATF_CHECK_STREQ((char *)imsg[0].data, "hello");
	ATF_CHECK_EQ(((char *)imsg[0].data)[5], '\0');
	ATF_REQUIRE_EQ(imsg[1].datalen, 0);
	ATF_REQUIRE(imsg[1].data != NULL);
	ATF_CHECK_EQ(((char *)imsg[1].data)[0], '\0');
	imsg_free(&imsg[0]);
	imsg_free(&imsg[1]);
	ATF_CHECK(imsg[0].data == NULL);
	pair_close(&p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip_one);
	ATF_TP_ADD_TC(tp, pid_default);
	ATF_TP_ADD_TC(tp, roundtrip_many);
	ATF_TP_ADD_TC(tp, max_size);
	ATF_TP_ADD_TC(tp, oversize);
	ATF_TP_ADD_TC(tp, fd_pass);
	ATF_TP_ADD_TC(tp, fd_order);
	ATF_TP_ADD_TC(tp, fd_batch);
	ATF_TP_ADD_TC(tp, fd_mixed);
	ATF_TP_ADD_TC(tp, clear_closes_fds);
	ATF_TP_ADD_TC(tp, truncated);
	ATF_TP_ADD_TC(tp, garbage);
	ATF_TP_ADD_TC(tp, garbage_early);
	ATF_TP_ADD_TC(tp, eof);
	ATF_TP_ADD_TC(tp, read_eagain);
	ATF_TP_ADD_TC(tp, write_epipe);
	ATF_TP_ADD_TC(tp, read_full);
	ATF_TP_ADD_TC(tp, fd_ctrunc);
	ATF_TP_ADD_TC(tp, fd_overflow);
	ATF_TP_ADD_TC(tp, hdr_valid);
	ATF_TP_ADD_TC(tp, strings_terminated);
	return atf_no_error();
}
