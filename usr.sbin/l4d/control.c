/*
 * The control socket, owned by the parent.  Requests come from l4ctl as
 * frames; anything else closes the connection.  Answers that need the
 * relays' counters are gathered from every relay before they are sent.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define CONTROL_MAX_CONNS	64
#define CONTROL_REPLY_CHUNK	(IMSG_MAX_SIZE - IMSG_HDR_SIZE - 1)
#define CONTROL_GATHER_MS	2000	/* a relay that dies mid-request */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	struct ctl_request	 req;
	int			 waiting;	/* relays yet to answer */
	int			 answered;
	uint64_t		*lcounts;	/* active, total per listener */
	uint64_t		*scounts;	/* active, total per server */
	uint32_t		 nservers;
	struct event		 ev_gather;
};
TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);

static int		 control_fd = -1;
static int		 control_nconns;
static uint32_t		 control_next_id = 1;
static struct event	 control_ev;
static struct event	 control_ev_pause;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static void	 control_summary_reply(struct ctl_conn *);
static void	 control_gather_timeout(int, short, void *);

int
control_init(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return -1;
	}
	/* a stale socket is replaced, a live one is not */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s: another l4d is running", path);
		close(fd);
		return -1;
	}
	(void)unlink(path);
	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("control socket %s", path);
		umask(old_umask);
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		(void)unlink(path);
		return -1;
	}
	control_fd = fd;
	return 0;
}

static void
control_resume(int fd, short event, void *arg)
{
	event_add(&control_ev, NULL);
}

void
control_listen(void)
{
	event_set(&control_ev, control_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(&control_ev, NULL);
	evtimer_set(&control_ev_pause, control_resume, NULL);
}

void
control_cleanup(const char *path)
{
	if (control_fd != -1) {
		close(control_fd);
		(void)unlink(path);
	}
	control_fd = -1;
}

static void
control_accept(int lfd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct timeval	 tv = { 1, 0 };
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("control accept; pausing for 1s");
			event_del(&control_ev);
			evtimer_add(&control_ev_pause, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}
	if (control_nconns >= CONTROL_MAX_CONNS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: too many connections");
		close(fd);
		return;
	}
	c->id = control_next_id++;
	evtimer_set(&c->ev_gather, control_gather_timeout, c);
	imsgev_init(&c->iev, fd, PROC_MAX, 0, control_dispatch, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	control_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	evtimer_del(&c->ev_gather);
	imsgev_clear(&c->iev);
	free(c->lcounts);
	free(c->scounts);
	TAILQ_REMOVE(&ctl_conns, c, entry);
	control_nconns--;
	free(c);
}

static struct ctl_conn *
control_find(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
control_send(struct ctl_conn *c, const char *text, size_t len, int status)
{
	size_t	 n;

	while (len > 0) {
		n = len > CONTROL_REPLY_CHUNK ? CONTROL_REPLY_CHUNK : len;
		imsgev_compose(&c->iev, IMSG_CTL_DATA, 0, -1, text, n);
		text += n;
		len -= n;
	}
	imsgev_compose(&c->iev, IMSG_CTL_DONE, 0, -1, &status,
	    sizeof(status));
}

static void
control_error(struct ctl_conn *c, const char *msg)
{
	char	 buf[256];

	snprintf(buf, sizeof(buf), "%s\n", msg);
	control_send(c, buf, strlen(buf), 1);
}

static uint32_t
server_index(struct l4d_config *conf, uint32_t backend_id, uint32_t server_id,
    int *ok)
{
	struct backend	*be;
	uint32_t	 base = 0;

	*ok = 0;
	TAILQ_FOREACH(be, &conf->backends, entry) {
		if (be->id == backend_id) {
			*ok = server_id < be->nservers;
			return base + server_id;
		}
		base += be->nservers;
	}
	return 0;
}

static int
control_summary_start(struct ctl_conn *c)
{
	struct backend	*be;
	struct timeval	 tv;

	c->nservers = 0;
	TAILQ_FOREACH(be, &l4d_conf->backends, entry)
		c->nservers += be->nservers;
	free(c->lcounts);
	free(c->scounts);
	c->lcounts = calloc(2 * (l4d_conf->nlisteners + 1), sizeof(uint64_t));
	c->scounts = calloc(2 * (c->nservers + 1), sizeof(uint64_t));
	if (c->lcounts == NULL || c->scounts == NULL)
		return -1;
	c->waiting = parent_nrelays();
	c->answered = 0;
	if (c->waiting == 0) {
		control_summary_reply(c);
		return 0;
	}
	parent_send_relays(IMSG_CTL_SUMMARY, c->id, NULL, 0);
	tv.tv_sec = CONTROL_GATHER_MS / 1000;
	tv.tv_usec = (CONTROL_GATHER_MS % 1000) * 1000;
	evtimer_add(&c->ev_gather, &tv);
	return 0;
}

/*
 * Counters from a relay.  The relay is a child: ids are checked
 * against the configuration before they index anything.
 */
int
control_relay_reply(struct imsg *imsg, int instance)
{
	struct ctl_conn		*c;
	struct ctl_counts	 cc;
	uint32_t		 idx;
	int			 ok;

	if (imsg->hdr.type == IMSG_CTL_END) {
		if (imsg->datalen != 0)
			return -1;
		if ((c = control_find(imsg->hdr.peerid)) == NULL ||
		    c->waiting == 0)
			return 0;
		c->answered++;
		if (--c->waiting == 0) {
			evtimer_del(&c->ev_gather);
			control_summary_reply(c);
		}
		return 0;
	}
	if (imsg->datalen != sizeof(cc))
		return -1;
	memcpy(&cc, imsg->data, sizeof(cc));
	if ((c = control_find(imsg->hdr.peerid)) == NULL || c->waiting == 0)
		return 0;
	switch (cc.obj) {
	case CTL_OBJ_LISTENER:
		if (cc.id >= l4d_conf->nlisteners)
			return -1;
		c->lcounts[2 * cc.id] += cc.active;
		c->lcounts[2 * cc.id + 1] += cc.total;
		break;
	case CTL_OBJ_SERVER:
		idx = server_index(l4d_conf, cc.id, cc.server_id, &ok);
		if (!ok)
			return -1;
		c->scounts[2 * idx] += cc.active;
		c->scounts[2 * idx + 1] += cc.total;
		break;
	default:
		return -1;
	}
	return 0;
}

static const char *
balance_name(enum balance_algo algo)
{
	switch (algo) {
	case BALANCE_ROUNDROBIN:
		return "roundrobin";
	case BALANCE_LEASTCONN:
		return "leastconn";
	case BALANCE_SOURCE_HASH:
		return "source-hash";
	case BALANCE_RANDOM:
		return "random";
	}
	return "unknown";
}

/* Names are restricted by the parser; addresses are as written. */
static void
json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
summary_text(struct ctl_conn *c, FILE *fp)
{
	struct listener	*l;
	struct backend	*be;
	struct server	*srv;
	uint32_t	 idx = 0;

	fprintf(fp, "generation %u, %d relays", l4d_conf->generation,
	    parent_total_relays());
	if (c->answered < parent_total_relays())
		fprintf(fp, " (%d answered)", c->answered);
	fprintf(fp, "\n");
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry)
		fprintf(fp, "listener %s %s backend %s active %llu\n", l->name,
		    l->listen, l->backend_name,
		    (unsigned long long)c->lcounts[2 * l->id]);
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		fprintf(fp, "backend %s %s\n", be->name,
		    balance_name(be->balance));
		TAILQ_FOREACH(srv, &be->servers, entry) {
			fprintf(fp, "  server %s weight %d%s active %llu "
			    "total %llu\n", srv->address, srv->weight,
			    srv->backup ? " backup" : "",
			    (unsigned long long)c->scounts[2 * idx],
			    (unsigned long long)c->scounts[2 * idx + 1]);
			idx++;
		}
	}
}

static void
summary_json(struct ctl_conn *c, FILE *fp)
{
	struct listener	*l;
	struct backend	*be;
	struct server	*srv;
	uint32_t	 idx = 0;

	fprintf(fp, "{\"generation\":%u,\"relays\":%d,\"answered\":%d,"
	    "\"listeners\":[", l4d_conf->generation, parent_total_relays(),
	    c->answered);
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry) {
		fprintf(fp, "%s{\"name\":", l->id ? "," : "");
		json_string(fp, l->name);
		fprintf(fp, ",\"listen\":");
		json_string(fp, l->listen);
		fprintf(fp, ",\"backend\":");
		json_string(fp, l->backend_name);
		fprintf(fp, ",\"active\":%llu,\"total\":%llu}",
		    (unsigned long long)c->lcounts[2 * l->id],
		    (unsigned long long)c->lcounts[2 * l->id + 1]);
	}
	fprintf(fp, "],\"backends\":[");
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		fprintf(fp, "%s{\"name\":", be->id ? "," : "");
		json_string(fp, be->name);
		fprintf(fp, ",\"balance\":\"%s\",\"retries\":%d,\"servers\":[",
		    balance_name(be->balance), be->retries);
		TAILQ_FOREACH(srv, &be->servers, entry) {
			fprintf(fp, "%s{\"address\":", srv->id ? "," : "");
			json_string(fp, srv->address);
			fprintf(fp, ",\"weight\":%d,\"backup\":%s,"
			    "\"active\":%llu,\"total\":%llu}", srv->weight,
			    srv->backup ? "true" : "false",
			    (unsigned long long)c->scounts[2 * idx],
			    (unsigned long long)c->scounts[2 * idx + 1]);
			idx++;
		}
		fprintf(fp, "]}");
	}
	fprintf(fp, "]}\n");
}

static void
control_summary_reply(struct ctl_conn *c)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;

	c->waiting = 0;
	if ((fp = open_memstream(&text, &len)) == NULL) {
		control_error(c, "out of memory");
		return;
	}
	if (c->req.flags & CTL_FLAG_JSON)
		summary_json(c, fp);
	else
		summary_text(c, fp);
	fclose(fp);
	control_send(c, text, len, 0);
	free(text);
}

/* Answer with what came; the text says how many relays answered. */
static void
control_gather_timeout(int fd, short event, void *arg)
{
	control_summary_reply(arg);
}

static void
control_request(struct ctl_conn *c, struct imsg *imsg)
{
	if (imsg->datalen != sizeof(c->req)) {
		control_error(c, "malformed request");
		return;
	}
	if (c->waiting > 0) {
		control_error(c, "a request is already in progress");
		return;
	}
	memcpy(&c->req, imsg->data, sizeof(c->req));
	c->req.arg[sizeof(c->req.arg) - 1] = '\0';
	switch (c->req.cmd) {
	case CTL_CMD_SHOW_SUMMARY:
		if (control_summary_start(c) == -1)
			control_error(c, "out of memory");
		break;
	default:
		control_error(c, "unknown command");
		break;
	}
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct ctl_conn	*c = iev->data;
	struct imsgbuf	*ibuf = &c->iev.ibuf;
	struct imsg	 imsg;
	ssize_t		 n;

	if (event & EV_READ) {
		n = imsgbuf_read(ibuf);
		if ((n == -1 && errno != EAGAIN && errno != EINTR) || n == 0) {
			control_close(c);
			return;
		}
	}
	if ((event & EV_WRITE) && imsgbuf_write(ibuf) == -1) {
		control_close(c);
		return;
	}
	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1) {
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		if (imsg.fd != -1)
			close(imsg.fd);
		if (imsg.hdr.type == IMSG_CTL_REQUEST)
			control_request(c, &imsg);
		else
			control_error(c, "unexpected frame");
		imsg_free(&imsg);
	}
	imsgev_add(&c->iev);
}
