/*
 * The tls check: a server is up when a TLS handshake with it completes,
 * verified against the backend's CA when its tls.verify says so.  The
 * health process holds no key: it is a plain client without a
 * certificate of its own.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <event.h>
#include <netdb.h>
#include <string.h>
#include <tls.h>

#include "l4d.h"

static void
tls_failed(struct hcheck *h, const char *what)
{
	char	 why[CHECK_RESULT_MAX];

	snprintf(why, sizeof(why), "tls: %s", what ? what : "failed");
	check_done(h, 0, why);
}

static void
handshake_io(struct hcheck *h, short events)
{
	int	 rc;

	rc = tls_handshake(h->tls);
	if (rc == TLS_WANT_POLLIN)
		check_io(h, EV_READ);
	else if (rc == TLS_WANT_POLLOUT)
		check_io(h, EV_WRITE);
	else if (rc == -1)
		tls_failed(h, tls_error(h->tls));
	else
		check_done(h, 1, "ok");
}

/* The name the server's certificate must carry: server_name or host. */
static void
check_host(struct hcheck *h, char *buf, size_t len)
{
	char	*p;

	if (h->be->server_name[0] != '\0') {
		strlcpy(buf, h->be->server_name, len);
		return;
	}
	strlcpy(buf, h->address[0] == '[' ? h->address + 1 : h->address,
	    len);
	if ((p = strrchr(buf, h->address[0] == '[' ? ']' : ':')) != NULL)
		*p = '\0';
}

void
check_tls_start(struct hcheck *h)
{
	char	 host[SNI_NAME_MAX];

	h->phase = "tls handshake";
	check_host(h, host, sizeof(host));
	if ((h->tls = tls_client()) == NULL) {
		tls_failed(h, "out of memory");
		return;
	}
	if (tls_configure(h->tls, h->be->tls) == -1 ||
	    tls_connect_socket(h->tls, h->fd, host) == -1) {
		tls_failed(h, tls_error(h->tls));
		return;
	}
	h->io = handshake_io;
	handshake_io(h, EV_WRITE);
}
