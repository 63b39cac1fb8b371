/*
 * The parent's side of metrics: the socket of metrics.listen, bound
 * here as root and handed to the metrics process once per process
 * life; the process's row of the process table; its requests, which
 * the control code answers as it answers `l4ctl show metrics'.
 *
 * The metrics process is a child like any other: its frames are
 * checked here, and a request it may not make is a protocol violation.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define METRICS_BACKLOG		64
#define METRICS_CHUNK		(IMSG_MAX_SIZE - IMSG_HDR_SIZE - 1)

static int	 metrics_fd = -1;
static pid_t	 metrics_fd_pid;	/* the process that has it */
static long long metrics_fd_started;

/* At start only: metrics.listen changes with a restart. */
int
metrics_bind(struct l4d_config *conf)
{
	int	 fd, on = 1;

	if (conf->metrics_listen[0] == '\0')
		return 0;
	fd = socket(conf->metrics_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (conf->metrics_ss.ss_family == AF_INET6 && setsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&conf->metrics_ss,
	    conf->metrics_sslen) == -1 || listen(fd, METRICS_BACKLOG) == -1)
		goto fail;
	metrics_fd = fd;
	return 0;
fail:
	log_warn("metrics listen %s", conf->metrics_listen);
	if (fd != -1)
		close(fd);
	return -1;
}

int
metrics_count(struct l4d_config *conf)
{
	return metrics_fd != -1;
}

void
metrics_configure(struct child *c)
{
	int	 fd;

	if (c->pid != metrics_fd_pid || c->started_ms != metrics_fd_started) {
		if ((fd = fcntl(metrics_fd, F_DUPFD_CLOEXEC, 0)) == -1)
			fatal("metrics socket");
		if (imsgev_compose(&c->iev, IMSG_METRICS_LISTEN, 0, fd, NULL,
		    0) == -1)
			fatal("sending the metrics socket");
		metrics_fd_pid = c->pid;
		metrics_fd_started = c->started_ms;
	}
	imsgev_compose(&c->iev, IMSG_CONF_END, 0, -1, NULL, 0);
}

int
metrics_dispatch(struct child *c, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_METRICS_REQUEST:
		if (imsg->datalen != 0)
			return -1;
		return control_metrics_request(c->pid, imsg->hdr.peerid);
	}
	return -1;
}

/* The answer to one request, if the process that asked still runs. */
void
metrics_reply(pid_t pid, uint32_t req, const char *text, size_t len,
    int status)
{
	struct child	*c;
	size_t		 n;

	if ((c = proc_child(PROC_METRICS, 0)) == NULL || c->pid != pid)
		return;
	while (len > 0) {
		n = len > METRICS_CHUNK ? METRICS_CHUNK : len;
		imsgev_compose(&c->iev, IMSG_METRICS_DATA, req, -1, text, n);
		text += n;
		len -= n;
	}
	imsgev_compose(&c->iev, IMSG_METRICS_END, req, -1, &status,
	    sizeof(status));
}

/* The socket stays as it was bound. */
void
metrics_reload_keep(struct l4d_config *old, struct l4d_config *nc,
    FILE *out)
{
	if (strcmp(old->metrics_listen, nc->metrics_listen) != 0)
		fprintf(out, "warning: metrics.listen changes only with a "
		    "restart; kept as it is (%s)\n",
		    old->metrics_listen[0] ? old->metrics_listen : "none");
	strlcpy(nc->metrics_listen, old->metrics_listen,
	    sizeof(nc->metrics_listen));
	nc->metrics_ss = old->metrics_ss;
	nc->metrics_sslen = old->metrics_sslen;
}
