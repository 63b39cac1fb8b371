/*
 * The metrics process: chrooted and unprivileged, it serves GET
 * /metrics over HTTP/1.1 on the socket the parent bound for
 * metrics.listen, asking the parent for the text of each answer (the
 * same as `l4ctl show metrics').  It holds nothing else: no listener,
 * no key, no control socket.
 *
 * The HTTP side expects hostile clients: a request head is at most
 * METRICS_HEAD_MAX bytes and must arrive within METRICS_HEAD_MS, an
 * answer must be taken within METRICS_WRITE_MS, at most
 * METRICS_MAX_CONNS connections are served at once (the next ones get
 * a 503), only GET /metrics is answered with the metrics (404 or 405
 * otherwise, 400 for what is no HTTP), and every answer closes the
 * connection.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define METRICS_MAX_CONNS	16
#define METRICS_HEAD_MAX	4096
#define METRICS_HEAD_MS		5000	/* the whole request head */
#define METRICS_PARENT_MS	10000	/* the parent's answer */
#define METRICS_WRITE_MS	10000	/* the whole answer */
#define METRICS_LINGER_MS	2000	/* the client's FIN, after ours */
#define METRICS_BODY_MAX	(64 * 1024 * 1024)

enum mstate {
	MS_READ,		/* the request head */
	MS_WAIT,		/* the parent's text */
	MS_WRITE,		/* the answer */
	MS_LINGER		/* answered; reading until the client's FIN */
};

struct mconn {
	TAILQ_ENTRY(mconn)	 entry;
	uint32_t		 id;
	int			 fd;
	enum mstate		 state;
	struct event		 ev;
	struct event		 ev_timer;
	char			 head[METRICS_HEAD_MAX + 1];
	size_t			 headlen;
	char			*body;		/* the parent's text */
	size_t			 bodylen;
	int			 body_over;
	char			*out;		/* the whole answer */
	size_t			 outlen;
	size_t			 outoff;
};
TAILQ_HEAD(mconnlist, mconn);

static struct imsgev	 metrics_parent;
static struct mconnlist	 mconns = TAILQ_HEAD_INITIALIZER(mconns);
static int		 nmconns;
static uint32_t		 next_id = 1;
static int		 listen_fd = -1;
static struct event	 ev_accept, ev_accept_pause;
static struct event	 ev_sigterm, ev_sigint, ev_sighup;

static void	 metrics_dispatch_parent(int, short, void *);
static void	 mconn_io(int, short, void *);
static void	 mconn_timeout(int, short, void *);

static void
metrics_sig(int sig, short event, void *arg)
{
	if (sig != SIGHUP)
		exit(0);
}

static void
timer_ms(struct event *ev, long long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
mconn_close(struct mconn *m)
{
	event_del(&m->ev);
	evtimer_del(&m->ev_timer);
	close(m->fd);
	free(m->body);
	free(m->out);
	TAILQ_REMOVE(&mconns, m, entry);
	nmconns--;
	free(m);
}

static void
mconn_events(struct mconn *m, short events)
{
	event_del(&m->ev);
	event_set(&m->ev, m->fd, events | EV_PERSIST, mconn_io, m);
	event_add(&m->ev, NULL);
}

/* The answer, all of it in one buffer; sent as the socket takes it. */
static void
mconn_answer(struct mconn *m, int code, const char *reason,
    const char *extra, const char *type, const char *body, size_t len)
{
	FILE	*fp;

	free(m->out);
	m->out = NULL;
	m->outlen = m->outoff = 0;
	if ((fp = open_memstream(&m->out, &m->outlen)) == NULL) {
		mconn_close(m);
		return;
	}
	fprintf(fp, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", code,
	    reason, type, len, extra);
	fwrite(body, 1, len, fp);
	if (fclose(fp) != 0) {
		free(m->out);
		m->out = NULL;
		mconn_close(m);
		return;
	}
	m->state = MS_WRITE;
	evtimer_del(&m->ev_timer);
	timer_ms(&m->ev_timer, METRICS_WRITE_MS);
	mconn_events(m, EV_WRITE);
}

static void
mconn_error(struct mconn *m, int code, const char *reason,
    const char *extra)
{
	char	 body[64];

	snprintf(body, sizeof(body), "%d %s\n", code, reason);
	mconn_answer(m, code, reason, extra, "text/plain; charset=utf-8",
	    body, strlen(body));
}

/*
 * "GET /metrics HTTP/1.1": method, target and version, single spaces;
 * the headers are read and ignored (every answer closes).
 */
static void
mconn_request(struct mconn *m)
{
	char	*line = m->head, *method, *target, *version, *end;

	if ((end = strpbrk(line, "\r\n")) == NULL) {
		mconn_error(m, 400, "Bad Request", "");
		return;
	}
	*end = '\0';
	method = line;
	if ((target = strchr(method, ' ')) == NULL) {
		mconn_error(m, 400, "Bad Request", "");
		return;
	}
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL) {
		mconn_error(m, 400, "Bad Request", "");
		return;
	}
	*version++ = '\0';
	if (strncmp(version, "HTTP/1.", 7) != 0 || strlen(version) != 8 ||
	    version[7] < '0' || version[7] > '9' || *method == '\0' ||
	    *target == '\0') {
		mconn_error(m, 400, "Bad Request", "");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		mconn_error(m, 405, "Method Not Allowed", "Allow: GET\r\n");
		return;
	}
	if (strncmp(target, "/metrics", 8) != 0 ||
	    (target[8] != '\0' && target[8] != '?')) {
		mconn_error(m, 404, "Not Found", "");
		return;
	}
	m->state = MS_WAIT;
	event_del(&m->ev);
	evtimer_del(&m->ev_timer);
	timer_ms(&m->ev_timer, METRICS_PARENT_MS);
	if (imsgev_compose(&metrics_parent, IMSG_METRICS_REQUEST, m->id, -1,
	    NULL, 0) == -1)
		mconn_error(m, 503, "Service Unavailable", "");
}

/* A request head ends with an empty line. */
static int
head_complete(const char *head, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i++) {
		if (head[i] == '\n' && head[i + 1] == '\n')
			return 1;
		if (i + 3 < len && memcmp(head + i, "\r\n\r\n", 4) == 0)
			return 1;
	}
	return 0;
}

static void
mconn_read(struct mconn *m)
{
	char	 junk[1024];
	ssize_t	 n;

	if (m->state == MS_LINGER) {
		while ((n = read(m->fd, junk, sizeof(junk))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			mconn_close(m);
		return;
	}
	n = read(m->fd, m->head + m->headlen, METRICS_HEAD_MAX - m->headlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mconn_close(m);
		return;
	}
	m->headlen += n;
	m->head[m->headlen] = '\0';
	if (memchr(m->head, '\0', m->headlen) != NULL) {
		mconn_error(m, 400, "Bad Request", "");
		return;
	}
	if (head_complete(m->head, m->headlen))
		mconn_request(m);
	else if (m->headlen == METRICS_HEAD_MAX)
		mconn_error(m, 431, "Request Header Fields Too Large", "");
}

static void
mconn_write(struct mconn *m)
{
	ssize_t	 n;

	while (m->outoff < m->outlen) {
		n = send(m->fd, m->out + m->outoff, m->outlen - m->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			mconn_close(m);
			return;
		}
		m->outoff += n;
	}
	/* all of it: our FIN, then the client's (closing on unread bytes
	   would reset the answer away) */
	free(m->out);
	m->out = NULL;
	(void)shutdown(m->fd, SHUT_WR);
	m->state = MS_LINGER;
	evtimer_del(&m->ev_timer);
	timer_ms(&m->ev_timer, METRICS_LINGER_MS);
	mconn_events(m, EV_READ);
}

static void
mconn_io(int fd, short events, void *arg)
{
	struct mconn	*m = arg;

	if (m->state == MS_WRITE)
		mconn_write(m);
	else
		mconn_read(m);
}

static void
mconn_timeout(int fd, short events, void *arg)
{
	struct mconn	*m = arg;

	switch (m->state) {
	case MS_READ:
		mconn_error(m, 408, "Request Timeout", "");
		break;
	case MS_WAIT:
		mconn_error(m, 503, "Service Unavailable", "");
		break;
	default:
		mconn_close(m);
		break;
	}
}

static void
accept_resume(int fd, short event, void *arg)
{
	event_add(&ev_accept, NULL);
}

/* Over the cap: a 503 as far as the socket takes it at once. */
static void
refuse(int fd)
{
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 4\r\n"
	    "Connection: close\r\n\r\nbusy";

	(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
metrics_accept(int lfd, short event, void *arg)
{
	struct mconn	*m;
	int		 fd, i;

	for (i = 0; i < METRICS_MAX_CONNS; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("metrics accept; pausing for 1s");
				event_del(&ev_accept);
				timer_ms(&ev_accept_pause, 1000);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("metrics accept");
			return;
		}
		if (nmconns >= METRICS_MAX_CONNS ||
		    (m = calloc(1, sizeof(*m))) == NULL) {
			refuse(fd);
			continue;
		}
		m->id = next_id++;
		if (next_id == 0)
			next_id = 1;
		m->fd = fd;
		m->state = MS_READ;
		TAILQ_INSERT_TAIL(&mconns, m, entry);
		nmconns++;
		evtimer_set(&m->ev_timer, mconn_timeout, m);
		timer_ms(&m->ev_timer, METRICS_HEAD_MS);
		event_set(&m->ev, fd, EV_READ | EV_PERSIST, mconn_io, m);
		event_add(&m->ev, NULL);
	}
}

static struct mconn *
mconn_find(uint32_t id)
{
	struct mconn	*m;

	TAILQ_FOREACH(m, &mconns, entry)
		if (m->id == id && m->state == MS_WAIT)
			return m;
	return NULL;
}

/* The parent's text for a request; the client may have gone. */
static void
receive_data(struct imsg *imsg)
{
	struct mconn	*m;
	char		*n;

	if ((m = mconn_find(imsg->hdr.peerid)) == NULL || m->body_over)
		return;
	if (m->bodylen + imsg->datalen > METRICS_BODY_MAX) {
		m->body_over = 1;
		return;
	}
	if ((n = realloc(m->body, m->bodylen + imsg->datalen)) == NULL) {
		m->body_over = 1;
		return;
	}
	m->body = n;
	memcpy(m->body + m->bodylen, imsg->data, imsg->datalen);
	m->bodylen += imsg->datalen;
}

static void
receive_end(struct imsg *imsg)
{
	struct mconn	*m;
	int		 status;

	if (imsg->datalen != sizeof(status))
		fatalx("bad metrics answer from the parent");
	memcpy(&status, imsg->data, sizeof(status));
	if ((m = mconn_find(imsg->hdr.peerid)) == NULL)
		return;
	if (m->body_over)
		log_warnx("the metrics are over %d MB: answering 503",
		    METRICS_BODY_MAX / (1024 * 1024));
	if (status != 0 || m->body_over)
		mconn_error(m, 503, "Service Unavailable", "");
	else
		mconn_answer(m, 200, "OK", "",
		    "text/plain; version=0.0.4; charset=utf-8", m->body,
		    m->bodylen);
}

static void
receive_listen(struct imsg *imsg)
{
	if (imsg->fd == -1 || imsg->datalen != 0)
		fatalx("bad metrics socket from the parent");
	if (listen_fd != -1)
		fatalx("a second metrics socket from the parent");
	listen_fd = imsg->fd;
	imsg->fd = -1;
	event_set(&ev_accept, listen_fd, EV_READ | EV_PERSIST,
	    metrics_accept, NULL);
	event_add(&ev_accept, NULL);
}

static void
metrics_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1)
		exit(0);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatalx("bad frame from the parent");
		if (n == 0)
			break;
		if (imsg.fd != -1 && imsg.hdr.type != IMSG_METRICS_LISTEN)
			fatalx("unexpected descriptor from the parent");
		switch (imsg.hdr.type) {
		case IMSG_METRICS_LISTEN:
			receive_listen(&imsg);
			break;
		case IMSG_CONF_END:
			imsgev_compose(iev, IMSG_CONF_END, 0, -1, NULL, 0);
			break;
		case IMSG_METRICS_DATA:
			receive_data(&imsg);
			break;
		case IMSG_METRICS_END:
			receive_end(&imsg);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			proc_log_level(&imsg);
			break;
		default:
			fatalx("unexpected frame %u from the parent",
			    imsg.hdr.type);
		}
		imsg_free(&imsg);
	}
	imsgev_add(iev);
}

__dead void
metrics_main(int fd, int instance, int count)
{
	setproctitle("metrics");
	log_procname("metrics");
	event_init();
	signal(SIGPIPE, SIG_IGN);
	signal_set(&ev_sigterm, SIGTERM, metrics_sig, NULL);
	signal_set(&ev_sigint, SIGINT, metrics_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, metrics_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	evtimer_set(&ev_accept_pause, accept_resume, NULL);
	imsgev_init(&metrics_parent, fd, PROC_PARENT, 0,
	    metrics_dispatch_parent, NULL);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}
