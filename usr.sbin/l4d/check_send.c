/*
 * The send-expect check: send bytes, then read at most CHECK_READ_MAX
 * bytes of the reply until it starts with expect (or, for a ~pattern,
 * until the pattern matches what came so far).  A reply that cannot
 * match any more fails at once; one that never comes, at the timeout.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

/* "expect: got '-ERR unknown'": the reply's first bytes, printable. */
static void
mismatch(struct hcheck *h, const char *what)
{
	char	 why[CHECK_RESULT_MAX], got[32];
	size_t	 i;

	for (i = 0; i < h->len && i + 1 < sizeof(got); i++)
		got[i] = h->buf[i] >= 0x20 && h->buf[i] < 0x7f &&
		    h->buf[i] != '\'' ? h->buf[i] : '.';
	got[i] = '\0';
	snprintf(why, sizeof(why), "%s: got '%s'", what, got);
	check_done(h, 0, why);
}

/* 1: matched, 0: more may match, -1: cannot match any more. */
static int
reply_matches(struct hcheck *h)
{
	struct backend_check	*c = &h->be->check;
	size_t			 n;

	if (h->be->re_ok) {
		h->buf[h->len] = '\0';
		if (regexec(&h->be->re, (char *)h->buf, 0, NULL, 0) == 0)
			return 1;
		return h->len >= CHECK_READ_MAX ? -1 : 0;
	}
	n = h->len < c->expect_len ? h->len : c->expect_len;
	if (memcmp(h->buf, c->expect, n) != 0)
		return -1;
	return h->len >= c->expect_len ? 1 : 0;
}

static void
read_io(struct hcheck *h, short events)
{
	ssize_t	 n;
	int	 m;

	for (;;) {
		n = read(h->fd, h->buf + h->len, CHECK_READ_MAX - h->len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			mismatch(h, strerror(errno));
			return;
		}
		if (n == 0) {
			mismatch(h, "closed");
			return;
		}
		h->len += n;
		if ((m = reply_matches(h)) == 1) {
			check_done(h, 1, "ok");
			return;
		}
		if (m == -1) {
			mismatch(h, "expect");
			return;
		}
	}
}

static void
write_io(struct hcheck *h, short events)
{
	struct backend_check	*c = &h->be->check;
	ssize_t			 n;
	char			 why[CHECK_RESULT_MAX];

	while (h->sent < c->send_len) {
		n = write(h->fd, c->send + h->sent, c->send_len - h->sent);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			check_io(h, EV_WRITE);
			return;
		}
		if (n == -1) {
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			check_done(h, 0, why);
			return;
		}
		h->sent += n;
	}
	h->phase = "reply";
	h->io = read_io;
	check_io(h, EV_READ | EV_PERSIST);
}

void
check_send_start(struct hcheck *h)
{
	h->phase = "send";
	h->io = write_io;
	write_io(h, EV_WRITE);
}
