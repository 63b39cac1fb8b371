/*
 * The tcp check, and the connect every other kind begins with: a
 * server is up when it accepts a connection on the check's port.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

static void
connect_failed(struct hcheck *h, int error)
{
	char	 why[CHECK_RESULT_MAX];

	if (error == ECONNREFUSED)
		strlcpy(why, "connect refused", sizeof(why));
	else {
		snprintf(why, sizeof(why), "connect: %s", strerror(error));
		if (why[9] >= 'A' && why[9] <= 'Z')
			why[9] += 'a' - 'A';
	}
	check_done(h, 0, why);
}

/*
 * To a backend with proxy_protocol, a check says first that it is one
 * (v1 UNKNOWN, v2 LOCAL), as a front balancer's checks do: servers that
 * require a header then take the check, and log no client for it.  A
 * socket just connected takes it whole.
 */
static int
proxy_local(struct hcheck *h)
{
	static const char	 v1[] = "PROXY UNKNOWN\r\n";
	static const uint8_t	 v2[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00 };
	const void		*hdr = h->be->proxy == 1 ? (const void *)v1 : v2;
	size_t			 len = h->be->proxy == 1 ? sizeof(v1) - 1 :
				    sizeof(v2);
	char			 why[CHECK_RESULT_MAX];

	if (send(h->fd, hdr, len, MSG_NOSIGNAL) == (ssize_t)len)
		return 0;
	snprintf(why, sizeof(why), "PROXY header: %s",
	    errno != 0 ? strerror(errno) : "short write");
	check_done(h, 0, why);
	return -1;
}

/* Connected: a tcp check is done, the others go on from here. */
static void
connected(struct hcheck *h)
{
	if (h->be->proxy != 0 && proxy_local(h) == -1)
		return;
	switch (h->be->check.type) {
	case CHECK_TLS:
		check_tls_start(h);
		break;
	case CHECK_SEND_EXPECT:
		check_send_start(h);
		break;
	default:
		check_done(h, 1, "ok");
		break;
	}
}

static void
connect_io(struct hcheck *h, short events)
{
	int		 error = 0;
	socklen_t	 len = sizeof(error);

	if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		connect_failed(h, error);
		return;
	}
	connected(h);
}

void
check_tcp_start(struct hcheck *h)
{
	h->fd = socket(h->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (h->fd == -1) {
		connect_failed(h, errno);
		return;
	}
	if (connect(h->fd, (struct sockaddr *)&h->ss, h->sslen) == 0) {
		connected(h);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_failed(h, errno);
		return;
	}
	h->io = connect_io;
	if (sock_connect_done(h->fd)) {
		connected(h);
		return;
	}
	check_io(h, EV_WRITE);
}
