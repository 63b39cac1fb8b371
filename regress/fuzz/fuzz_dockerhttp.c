/*
 * Fuzz l4d-docker's HTTP reader (http.c) the way Docker reaches it: the
 * program's http_get() connects to a unix socket this target listens
 * on, and the input is written back as the response, in chunks, the
 * event loop reading each before the next is sent; then the socket is
 * shut (EOF) or closed with the request unread (a reset).  http.c is
 * what the program links, untouched: its callbacks are the
 * bufferevent's read and event callbacks.
 *
 * Input layout: byte 0 is the mode, byte 1 seeds the split points,
 * the rest is the response.  Byte 1's top 3 bits give the largest
 * chunk, 1 byte to 16 KiB, each chunk being drawn up to it or to a
 * smaller one of those; after CHUNKS_MAX chunks the rest goes in one.
 * Mode bit 0: a stream of events (lines to a line callback, as /events
 * is read) or a whole body (as /containers/json is); bit 1: the
 * program's bound (DD_EVENT_MAX or DD_LIST_MAX) or a small one, 1 +
 * byte 1, so that the bound is reached; bit 2: the reader stops at a
 * line that starts with '!', as events_line() does at one it cannot
 * read; bit 3: a reset at the end instead of an EOF; bits 4 and 5: a
 * chunk also ends after each CR, after each LF (a CR and its LF in two
 * reads, a line a read).
 *
 * Besides not crashing or leaking (memory or a descriptor), the reader
 * must say the same whatever the split: the response is read again in
 * one write, and what the callbacks saw (status, lines, error, body)
 * must be equal.  done is called exactly once, head at most once and
 * before any line; a line is never empty, never holds a LF (it may end
 * in a CR: of "\r\r\n" only one goes), is never longer than the bound,
 * and a body is never longer than it.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <linux/sockios.h>	/* SIOCOUTQ */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "l4d.h"
#include "l4d-docker.h"

#define MODE_STREAM	0x01
#define MODE_SMALL	0x02
#define MODE_STOP	0x04
#define MODE_RESET	0x08
#define MODE_CR		0x10
#define MODE_LF		0x20

#define LOOP_MAX	100000	/* event loop passes before we call it a hang */
#define CHUNKS_MAX	256	/* then the rest in one write */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What the callbacks saw. */
struct seen {
	int		 mode;
	size_t		 max;
	int		 ndone;
	int		 nhead;
	int		 nlines;
	char		*log;
	size_t		 loglen;
};

static void	 fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2), __noreturn__));

static struct event_base	*base;
static int			 lsock = -1;
static char			 dir[] = "/tmp/fuzz_dockerhttp.XXXXXX";
static char			 path[sizeof(dir) + 16];

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void
cleanup(void)
{
	if (lsock != -1)
		close(lsock);
	unlink(path);
	rmdir(dir);
}

static void
setup(void)
{
	struct sockaddr_un	 sun;

	signal(SIGPIPE, SIG_IGN);	/* as l4d-docker does */
	if ((base = event_base_new()) == NULL || mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/docker.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lsock, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lsock, 4) == -1)
		abort();
	atexit(cleanup);
}

/* The lowest free descriptor: the same after a request, or one leaked. */
static int
lowest_free_fd(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		abort();
	close(fd);
	return fd;
}

static void
seen_log(struct seen *s, const char *tag, const void *p, size_t len)
{
	size_t	 t = strlen(tag);

	if ((s->log = realloc(s->log, s->loglen + t + len + 1)) == NULL)
		abort();
	memcpy(s->log + s->loglen, tag, t);
	if (len > 0)
		memcpy(s->log + s->loglen + t, p, len);
	s->loglen += t + len;
	s->log[s->loglen++] = '\n';
}

static void
cb_head(int status, void *arg)
{
	struct seen	*s = arg;
	char		 buf[16];

	if (s->ndone > 0 || s->nhead++ > 0 || s->nlines > 0)
		fail("head: after done, head or a line");
	if (status < 100 || status > 599)
		fail("head: status %d", status);
	snprintf(buf, sizeof(buf), "%d", status);
	seen_log(s, "head ", buf, strlen(buf));
}

static int
cb_line(const char *line, size_t len, void *arg)
{
	struct seen	*s = arg;

	if (s->ndone > 0 || !(s->mode & MODE_STREAM))
		fail("line: after done, or not a stream");
	if (len == 0 || len > s->max)
		fail("line: %zu bytes, the bound is %zu", len, s->max);
	if (line[len] != '\0' || memchr(line, '\n', len) != NULL)
		fail("line: not a line: \"%.*s\"", (int)len, line);
	s->nlines++;
	seen_log(s, "line ", line, len);
	if ((s->mode & MODE_STOP) && line[0] == '!')
		return -1;
	return 0;
}

static void
cb_done(struct http_req *r, const char *error, int status,
    struct evbuffer *body, void *arg)
{
	struct seen	*s = arg;
	char		 buf[64];
	size_t		 len = evbuffer_get_length(body);

	if (s->ndone++ > 0)
		fail("done: twice");
	if (!(s->mode & MODE_STREAM) && len > s->max)
		fail("done: a body of %zu bytes, the bound is %zu", len,
		    s->max);
	if (error == NULL && (status < 100 || status > 599))
		fail("done: status %d", status);
	snprintf(buf, sizeof(buf), "%d %s", status, error != NULL ? error :
	    "ok");
	seen_log(s, "done ", buf, strlen(buf));
	/* a stream's body is its unfinished line, whatever the split */
	if (!(s->mode & MODE_STREAM) && error == NULL)
		seen_log(s, "body ", evbuffer_pullup(body, -1), len);
}

/* Run the loop until cond(fd) holds or the request is done. */
static void
loop_until(struct seen *s, int fd, int (*cond)(int))
{
	int	 n;

	for (n = 0; s->ndone == 0 && !cond(fd); n++) {
		if (n == LOOP_MAX)
			fail("the reader stopped reading");
		if (event_base_loop(base, EVLOOP_NONBLOCK) == -1)
			abort();
	}
}

/* The request has arrived whole (it is peeked at, not read). */
static int
have_request(int fd)
{
	char	 buf[1024];
	ssize_t	 n;

	if ((n = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK | MSG_DONTWAIT)) <= 0)
		return 0;
	buf[n] = '\0';
	if (strstr(buf, "\r\n\r\n") == NULL)
		return 0;
	if (strncmp(buf, "GET /", 5) != 0 || strstr(buf, " HTTP/1.1\r\n") ==
	    NULL)
		fail("request: %s", buf);
	return 1;
}

/* The reader has taken every byte written to it. */
static int
all_read(int fd)
{
	int	 q;

	if (ioctl(fd, SIOCOUTQ, &q) == -1)
		abort();
	return q == 0;
}

static int
never(int fd)
{
	return 0;
}

static void
drain(int fd)
{
	char	 buf[1024];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * How much of the len bytes at p go in the next chunk: drawn from x,
 * up to lim[split >> 5] or a smaller one, and cut after the first CR
 * or LF if the mode says so.
 */
static size_t
chunk(const struct seen *s, const uint8_t *p, size_t len,
    unsigned int split, uint32_t *x)
{
	static const size_t	 lim[] = { 1, 3, 16, 64, 256, 1024, 4096,
				    16384 };
	const uint8_t		*q;
	size_t			 cap;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	cap = lim[(*x >> 24) % ((split >> 5) + 1)];
	if (len > 1 + *x % cap)
		len = 1 + *x % cap;
	if ((s->mode & MODE_CR) && (q = memchr(p, '\r', len)) != NULL)
		len = q - p + 1;
	if ((s->mode & MODE_LF) && (q = memchr(p, '\n', len)) != NULL)
		len = q - p + 1;
	return len;
}

/* One request, the response in chunks (whole if split is 0). */
static void
run(struct seen *s, const uint8_t *data, size_t size, unsigned int split)
{
	struct http_req		*r;
	uint32_t		 x = split * 2654435761U + 1;
	size_t			 off = 0, len;
	ssize_t			 n;
	int			 fd, nchunks = 0;

	if (s->mode & MODE_STREAM)
		r = http_get(base, path, "/events", s->max, 0, cb_done,
		    cb_head, cb_line, s);
	else
		r = http_get(base, path, "/containers/json?all=1", s->max,
		    DD_TIMEOUT_SEC, cb_done, NULL, NULL, s);
	if (r == NULL || (fd = accept4(lsock, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1)
		abort();
	loop_until(s, fd, have_request);
	if (s->ndone > 0)
		fail("done before a response");
	if (!(s->mode & MODE_RESET))
		drain(fd);
	while (off < size && s->ndone == 0) {
		len = size - off;
		if (split != 0 && nchunks++ < CHUNKS_MAX)
			len = chunk(s, data + off, len, split, &x);
		if ((n = send(fd, data + off, len, MSG_NOSIGNAL)) == -1) {
			if (errno != EAGAIN)
				abort();
			n = 0;
		}
		off += n;
		loop_until(s, fd, all_read);
	}
	if (s->ndone == 0) {
		if (s->mode & MODE_RESET) {
			close(fd);
			fd = -1;
		} else
			shutdown(fd, SHUT_WR);
		/* an end always ends the request */
		loop_until(s, fd, never);
	}
	if (fd != -1)
		close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen	 a, b;
	int		 fd, mode;
	unsigned int	 split;

	if (base == NULL)
		setup();
	if (size < 2)
		return 0;
	fd = lowest_free_fd();
	mode = data[0];
	split = data[1];
	data += 2;
	size -= 2;

	memset(&a, 0, sizeof(a));
	a.mode = mode;
	if (mode & MODE_SMALL)
		a.max = 1 + split;
	else
		a.max = (mode & MODE_STREAM) ? DD_EVENT_MAX : DD_LIST_MAX;
	b = a;
	run(&a, data, size, split | 1);
	run(&b, data, size, 0);
	if (a.ndone != 1 || b.ndone != 1 || a.loglen != b.loglen ||
	    memcmp(a.log, b.log, a.loglen) != 0) {
		fail("split:\n%.*s\nwhole:\n%.*s", (int)a.loglen, a.log,
		    (int)b.loglen, b.log);
	}
	free(a.log);
	free(b.log);
	if (lowest_free_fd() != fd)
		fail("a descriptor leaked");
	return 0;
}
