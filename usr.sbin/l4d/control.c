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
#include <grp.h>
#include <event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define CONTROL_MAX_CONNS	64
#define CONTROL_MAX_RO_CONNS	32	/* anyone's: never root's share */
#define CONTROL_REPLY_CHUNK	(IMSG_MAX_SIZE - IMSG_HDR_SIZE - 1)
#define CONTROL_GATHER_MS	2000	/* a relay that dies mid-request */
#define CONTROL_MAX_ITEMS	1000000	/* sessions or counters in a reply */
#define CONTROL_MONITOR_BACKLOG	1024	/* frames queued to a slow monitor */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	struct ctl_request	 req;
	int			 monitor;
	int			 waiting;	/* relays yet to answer */
	int			 answered;
	int			 found;		/* kill: the session existed */
	struct ctl_stat		*stats;		/* merged by key */
	size_t			 nstats;
	struct ctl_session	*sessions;
	size_t			 nsessions;
	struct event		 ev_gather;
	int			 readonly;	/* control_readonly: socket */
	int			 denied;	/* root socket, peer not root */
	uid_t			 peer_uid;
	pid_t			 metrics_pid;	/* asked by the metrics
						   process, not over the
						   socket; 0: l4ctl */
	uint32_t		 metrics_req;
};
TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);

static int		 control_fd = -1;
static int		 control_nconns;
static int		 control_nmetrics;	/* metrics requests open */
static uint32_t		 control_next_id = 1;
static struct event	 control_ev;
static struct event	 control_ev_pause;
static int		 control_ro_fd = -1;
static gid_t		 control_gid = (gid_t)-1;	/* control_group */
static int		 control_nro;		/* of control_nconns */
static struct event	 control_ro_ev;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static void	 control_reply(struct ctl_conn *);
static void	 gather_reset(struct ctl_conn *);
static void	 control_gather_timeout(int, short, void *);
static void	 json_counters(FILE *, const struct counters *);
static void	 control_check_peer(struct ctl_conn *, int);

static int
control_bind(const char *path, mode_t mode)
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
		log_warn("control socket %s", sun.sun_path);
		umask(old_umask);
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (chmod(sun.sun_path, mode) == -1 || listen(fd, 16) == -1) {
		log_warn("control socket %s", sun.sun_path);
		close(fd);
		(void)unlink(path);
		return -1;
	}
	return fd;
}

int
control_init(const char *path)
{
	struct group	*gr;

	if ((control_fd = control_bind(path, 0660)) == -1)
		return -1;
	/* control_group: its members may use it too (the kernel checks) */
	if (l4d_conf->control_group[0] != '\0') {
		if ((gr = getgrnam(l4d_conf->control_group)) == NULL ||
		    chown(path, 0, gr->gr_gid) == -1) {
			log_warn("control socket %s: group %s", path,
			    l4d_conf->control_group);
			return -1;
		}
		control_gid = gr->gr_gid;
	}
	return 0;
}

/*
 * control_readonly: anyone may connect (mode 0666), as to bgpd's
 * restricted socket, and ask what the daemon is doing; nothing that
 * changes it is accepted there.
 */
int
control_ro_init(const char *path)
{
	if ((control_ro_fd = control_bind(path, 0666)) == -1)
		return -1;
	return 0;
}

void
control_ro_cleanup(const char *path)
{
	if (control_ro_fd != -1) {
		close(control_ro_fd);
		(void)unlink(path);
	}
	control_ro_fd = -1;
}

static void
control_resume(int fd, short event, void *arg)
{
	event_add(&control_ev, NULL);
	if (control_ro_fd != -1)
		event_add(&control_ro_ev, NULL);
}

/*
 * The root socket answers root (and the daemon's own user) only, even
 * if its mode was loosened: the uid is the kernel's word
 * (compat_peer_uid), not the file's.
 */
static void
control_check_peer(struct ctl_conn *c, int fd)
{
	uid_t	 uid;

	if (compat_peer_uid(fd, &uid) == -1) {
		log_warn("control: peer credentials");
		c->denied = 1;
		c->peer_uid = (uid_t)-1;
		return;
	}
	c->peer_uid = uid;
	if (!c->readonly && uid != 0 && uid != geteuid() &&
	    (control_gid == (gid_t)-1 || compat_peer_in_group(fd,
	    control_gid) != 1)) {
		c->denied = 1;
		log_warnx("control: uid %ld refused on %s (not root)",
		    (long)uid, l4d_conf->control);
	}
}

/* What the read-only socket answers: show and monitor. */
static int
control_readonly_ok(int cmd)
{
	switch (cmd) {
	case CTL_CMD_SHOW_SUMMARY:
	case CTL_CMD_SHOW_STATS:
	case CTL_CMD_SHOW_SESSIONS:
	case CTL_CMD_SHOW_METRICS:
	case CTL_CMD_MONITOR:
		return 1;
	}
	return 0;
}

void
control_listen(void)
{
	event_set(&control_ev, control_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(&control_ev, NULL);
	if (control_ro_fd != -1) {
		event_set(&control_ro_ev, control_ro_fd, EV_READ | EV_PERSIST,
		    control_accept, &control_ro_fd);
		event_add(&control_ro_ev, NULL);
	}
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
			if (control_ro_fd != -1)
				event_del(&control_ro_ev);
			evtimer_add(&control_ev_pause, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}
	/* the read-only socket's users cannot take root's connections */
	if ((arg != NULL ? control_nro >= CONTROL_MAX_RO_CONNS :
	    control_nconns - control_nro >= CONTROL_MAX_CONNS) ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: too many connections%s",
		    arg != NULL ? " on the read-only socket" : "");
		close(fd);
		return;
	}
	c->id = control_next_id++;
	c->readonly = arg != NULL;
	if (c->readonly)
		control_nro++;
	control_check_peer(c, fd);
	evtimer_set(&c->ev_gather, control_gather_timeout, c);
	imsgev_init(&c->iev, fd, PROC_MAX, 0, control_dispatch, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	control_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	evtimer_del(&c->ev_gather);
	if (c->metrics_pid != 0)
		control_nmetrics--;
	else {
		imsgev_clear(&c->iev);
		control_nconns--;
		if (c->readonly)
			control_nro--;
	}
	gather_reset(c);
	TAILQ_REMOVE(&ctl_conns, c, entry);
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

	if (c->metrics_pid != 0) {
		metrics_reply(c->metrics_pid, c->metrics_req, text, len,
		    status);
		return;
	}
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

static void
gather_reset(struct ctl_conn *c)
{
	free(c->stats);
	free(c->sessions);
	c->stats = NULL;
	c->sessions = NULL;
	c->nstats = c->nsessions = 0;
	c->answered = 0;
	c->found = 0;
}

/* Ask every running relay; the reply goes out when the last answers. */
static void
gather_start(struct ctl_conn *c, uint32_t type)
{
	struct timeval	 tv;

	gather_reset(c);
	c->waiting = proc_nready(PROC_RELAY);
	if (c->waiting == 0) {
		control_reply(c);
		return;
	}
	proc_send_all(PROC_RELAY, type, c->id, NULL, 0);
	tv.tv_sec = CONTROL_GATHER_MS / 1000;
	tv.tv_usec = (CONTROL_GATHER_MS % 1000) * 1000;
	evtimer_add(&c->ev_gather, &tv);
}

static int
gather_stat(struct ctl_conn *c, struct imsg *imsg)
{
	struct ctl_stat	 cs, *n;
	size_t		 i;

	if (imsg->datalen != sizeof(cs))
		return -1;
	memcpy(&cs, imsg->data, sizeof(cs));
	cs.key[sizeof(cs.key) - 1] = '\0';
	for (i = 0; i < c->nstats; i++)
		if (strcmp(c->stats[i].key, cs.key) == 0) {
			stats_merge(&c->stats[i].c, &cs.c);
			return 0;
		}
	if (c->nstats >= CONTROL_MAX_ITEMS)
		return 0;
	n = reallocarray(c->stats, c->nstats + 1, sizeof(*n));
	if (n == NULL)
		return 0;
	c->stats = n;
	c->stats[c->nstats++] = cs;
	return 0;
}

static int
gather_session(struct ctl_conn *c, struct imsg *imsg)
{
	struct ctl_session	*n;

	if (imsg->datalen != sizeof(*n))
		return -1;
	if (c->nsessions >= CONTROL_MAX_ITEMS)
		return 0;
	n = reallocarray(c->sessions, c->nsessions + 1, sizeof(*n));
	if (n == NULL)
		return 0;
	c->sessions = n;
	n = &c->sessions[c->nsessions++];
	memcpy(n, imsg->data, sizeof(*n));
	n->listener[sizeof(n->listener) - 1] = '\0';
	n->backend[sizeof(n->backend) - 1] = '\0';
	return 0;
}

/*
 * A relay's answer.  The relay is a child: sizes are checked before
 * anything is copied, and strings are terminated here.
 */
int
control_relay_reply(struct imsg *imsg, int instance)
{
	struct ctl_conn		*c;
	int			 found;

	c = control_find(imsg->hdr.peerid);
	switch (imsg->hdr.type) {
	case IMSG_CTL_END:
		if (imsg->datalen != sizeof(found))
			return -1;
		memcpy(&found, imsg->data, sizeof(found));
		if (c == NULL || c->waiting == 0)
			return 0;
		c->answered++;
		c->found |= found != 0;
		if (--c->waiting == 0) {
			evtimer_del(&c->ev_gather);
			control_reply(c);
		}
		return 0;
	case IMSG_CTL_STAT:
		if (c == NULL || c->waiting == 0)
			return imsg->datalen == sizeof(struct ctl_stat) ?
			    0 : -1;
		return gather_stat(c, imsg);
	case IMSG_CTL_SESSION:
		if (c == NULL || c->waiting == 0)
			return imsg->datalen == sizeof(struct ctl_session) ?
			    0 : -1;
		return gather_session(c, imsg);
	}
	return -1;
}

static const struct counters *
stat_find(struct ctl_conn *c, const char *kind, const char *name,
    const char *sub)
{
	return stats_lookup(c->stats, c->nstats, kind, name, sub);
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
relays_line(struct ctl_conn *c, FILE *fp)
{
	fprintf(fp, "generation %u, %d relays", l4d_conf->generation,
	    proc_ninstances(PROC_RELAY));
	if (c->answered < proc_ninstances(PROC_RELAY))
		fprintf(fp, " (%d answered)", c->answered);
	fprintf(fp, "\n");
}

static const char *
server_state(struct server *srv)
{
	if (srv->removed)
		return "removed";	/* its last sessions drain */
	if (srv->disabled)
		return "disabled";
	return srv->up ? "up" : "down";
}

/*
 * A checked server also shows what its check says, which a disabled
 * one keeps to itself otherwise: "health down check "connect refused"
 * for 3.2s changes 1".
 */
static void
server_health_text(struct backend *be, struct server *srv, FILE *fp)
{
	if (be->check.type == CHECK_NONE)
		return;
	fprintf(fp, " health %s check \"%s\" for %.1fs changes %llu",
	    srv->up ? "up" : "down",
	    srv->check_result[0] ? srv->check_result : "pending",
	    (proc_now_ms() - srv->state_ms) / 1000.0,
	    (unsigned long long)srv->state_changes);
}

static void
server_health_json(struct backend *be, struct server *srv, FILE *fp)
{
	fprintf(fp, "\"disabled\":%s,", srv->disabled ? "true" : "false");
	if (be->check.type == CHECK_NONE) {
		fprintf(fp, "\"health\":null,\"check\":null,");
		return;
	}
	fprintf(fp, "\"health\":\"%s\",\"check\":", srv->up ? "up" : "down");
	if (srv->check_result[0] != '\0')
		json_string(fp, srv->check_result);
	else
		fprintf(fp, "null");
	fprintf(fp, ",\"state_ms\":%lld,\"state_changes\":%llu,",
	    proc_now_ms() - srv->state_ms,
	    (unsigned long long)srv->state_changes);
}

static const char *
route_tls_name(enum route_tls tls)
{
	return tls == ROUTE_TLS_TERMINATE ? "terminate" : "passthrough";
}

/* A routed listener's routes in match order, then its fallbacks. */
static void
routes_text(struct listener *l, FILE *fp)
{
	struct route	*r;
	char		 key[ROUTE_KEY_MAX];

	if (!listener_peeks(l))
		return;
	if (l->starttls == STARTTLS_POSTGRES)
		fprintf(fp, "  starttls postgres\n");
	TAILQ_FOREACH(r, &l->routes, entry) {
		route_key(r, key, sizeof(key));
		fprintf(fp, "  route %s backend %s %s priority %d\n", key,
		    r->backend_name, route_tls_name(r->tls), r->priority);
	}
	if (l->no_sni != NULL)
		fprintf(fp, "  no_sni backend %s\n", l->no_sni->name);
	else
		fprintf(fp, "  no_sni none\n");
}

static uint32_t
acl_count(const struct acl *a)
{
	return a != NULL ? a->ncidrs : 0;
}

/* A listener's access control, when it has any. */
static void
access_text(struct listener *l, FILE *fp)
{
	char	 allow[32];

	if (l->acl[ACL_ALLOW] != NULL || l->acl[ACL_DENY] != NULL) {
		if (l->acl[ACL_ALLOW] != NULL)
			snprintf(allow, sizeof(allow), "%u networks",
			    acl_count(l->acl[ACL_ALLOW]));
		else
			strlcpy(allow, "all", sizeof(allow));
		fprintf(fp, "  allow %s deny %u networks\n", allow,
		    acl_count(l->acl[ACL_DENY]));
	}
	if (l->rate.per_source != 0)
		fprintf(fp, "  rate_limit %u per %lldms burst %u table %u "
		    "ipv6 /%u\n", l->rate.per_source, l->rate.interval_ms,
		    l->rate.burst, l->rate.table_size, l->rate.ipv6_prefix);
	if (l->proxy_accept)
		fprintf(fp, "  proxy_protocol trusted %u networks\n",
		    acl_count(l->acl[ACL_TRUSTED]));
}

static void
access_json(struct listener *l, FILE *fp)
{
	fprintf(fp, ",\"allow\":");
	if (l->acl[ACL_ALLOW] != NULL)
		fprintf(fp, "%u", acl_count(l->acl[ACL_ALLOW]));
	else
		fprintf(fp, "null");
	fprintf(fp, ",\"deny\":%u,\"rate_limit\":",
	    acl_count(l->acl[ACL_DENY]));
	if (l->rate.per_source != 0)
		fprintf(fp, "{\"per_source\":%u,\"interval_ms\":%lld,"
		    "\"burst\":%u,\"table_size\":%u,\"ipv6_prefix\":%u}",
		    l->rate.per_source, l->rate.interval_ms, l->rate.burst,
		    l->rate.table_size, l->rate.ipv6_prefix);
	else
		fprintf(fp, "null");
	fprintf(fp, ",\"proxy_trusted\":");
	if (l->proxy_accept)
		fprintf(fp, "%u", acl_count(l->acl[ACL_TRUSTED]));
	else
		fprintf(fp, "null");
}

static void
routes_json(struct ctl_conn *c, struct listener *l, FILE *fp)
{
	struct route	*r;
	char		 key[ROUTE_KEY_MAX];

	fprintf(fp, ",\"starttls\":%s,\"no_sni\":",
	    l->starttls == STARTTLS_POSTGRES ? "\"postgres\"" : "null");
	if (l->no_sni != NULL)
		json_string(fp, l->no_sni->name);
	else
		fprintf(fp, "null");
	fprintf(fp, ",\"routes\":[");
	TAILQ_FOREACH(r, &l->routes, entry) {
		route_key(r, key, sizeof(key));
		fprintf(fp, "%s{\"match\":", r->id ? "," : "");
		json_string(fp, key);
		fprintf(fp, ",\"sni\":");
		json_string(fp, r->sni);
		fprintf(fp, ",\"alpn\":");
		json_string(fp, r->alpn);
		fprintf(fp, ",\"backend\":");
		json_string(fp, r->backend_name);
		fprintf(fp, ",\"tls\":\"%s\",\"priority\":%d,",
		    route_tls_name(r->tls), r->priority);
		json_counters(fp, stat_find(c, "r", l->name, key));
		fprintf(fp, "}");
	}
	fprintf(fp, "]");
	if (!listener_peeks(l))
		return;
	fprintf(fp, ",\"no_sni_counters\":{");
	json_counters(fp, stat_find(c, "r", l->name, "no_sni"));
	fprintf(fp, "},\"default_counters\":{");
	json_counters(fp, stat_find(c, "r", l->name, "default"));
	fprintf(fp, "}");
}

static void
summary_text(struct ctl_conn *c, FILE *fp)
{
	struct listener		*l;
	struct backend		*be;
	struct server		*srv;
	const struct counters	*k;

	relays_line(c, fp);
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry) {
		k = stat_find(c, "l", l->name, NULL);
		fprintf(fp, "listener %s %s backend %s active %llu "
		    "total %llu\n", l->name, l->listen,
		    l->backend_name[0] ? l->backend_name : "-",
		    (unsigned long long)k->active,
		    (unsigned long long)k->total);
		routes_text(l, fp);
		access_text(l, fp);
	}
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		fprintf(fp, "backend %s %s\n", be->name,
		    balance_name(be->balance));
		TAILQ_FOREACH(srv, &be->servers, entry) {
			k = stat_find(c, "s", be->name, srv->address);
			if (srv->removed && k->active == 0)
				continue;	/* gone */
			fprintf(fp, "  server %s weight %d%s%s state %s",
			    srv->address, srv->weight,
			    srv->backup ? " backup" : "",
			    srv->runtime ? " runtime" : "",
			    server_state(srv));
			server_health_text(be, srv, fp);
			fprintf(fp, " active %llu total %llu\n",
			    (unsigned long long)k->active,
			    (unsigned long long)k->total);
		}
	}
}

static void
json_counters(FILE *fp, const struct counters *k)
{
	int	 i, first = 1;

	fprintf(fp, "\"total\":%llu,\"active\":%llu,\"bytes_in\":%llu,"
	    "\"bytes_out\":%llu,\"connect_failures\":%llu,"
	    "\"tls_handshakes\":%llu,\"tls_resumed\":%llu,"
	    "\"tls_failures\":{",
	    (unsigned long long)k->total, (unsigned long long)k->active,
	    (unsigned long long)k->bytes_in, (unsigned long long)k->bytes_out,
	    (unsigned long long)k->connect_failures,
	    (unsigned long long)k->tls_handshakes,
	    (unsigned long long)k->tls_resumed);
	for (i = 0; i < TLS_FAIL_MAX; i++) {
		if (k->tls_failures[i] == 0)
			continue;
		fprintf(fp, "%s\"%s\":%llu", first ? "" : ",",
		    tls_failure_name(i),
		    (unsigned long long)k->tls_failures[i]);
		first = 0;
	}
	fprintf(fp, "},\"causes\":{");
	first = 1;
	for (i = 1; i < CAUSE_MAX; i++) {
		if (k->causes[i] == 0)
			continue;
		fprintf(fp, "%s\"%s\":%llu", first ? "" : ",", cause_name(i),
		    (unsigned long long)k->causes[i]);
		first = 0;
	}
	fprintf(fp, "}");
}

/* Summary and stats share one JSON shape; stats adds nothing hidden. */
static void
summary_json(struct ctl_conn *c, FILE *fp)
{
	struct listener	*l;
	struct backend	*be;
	struct server	*srv;
	int		 first;

	fprintf(fp, "{\"generation\":%u,\"relays\":%d,\"answered\":%d,"
	    "\"listeners\":[", l4d_conf->generation,
	    proc_ninstances(PROC_RELAY), c->answered);
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry) {
		fprintf(fp, "%s{\"name\":", l->id ? "," : "");
		json_string(fp, l->name);
		fprintf(fp, ",\"listen\":");
		json_string(fp, l->listen);
		fprintf(fp, ",\"backend\":");
		if (l->backend_name[0] != '\0')
			json_string(fp, l->backend_name);
		else
			fprintf(fp, "null");
		fprintf(fp, ",");
		json_counters(fp, stat_find(c, "l", l->name, NULL));
		routes_json(c, l, fp);
		access_json(l, fp);
		fprintf(fp, "}");
	}
	fprintf(fp, "],\"backends\":[");
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		fprintf(fp, "%s{\"name\":", be->id ? "," : "");
		json_string(fp, be->name);
		fprintf(fp, ",\"balance\":\"%s\",\"retries\":%d,",
		    balance_name(be->balance), be->retries);
		json_counters(fp, stat_find(c, "b", be->name, NULL));
		fprintf(fp, ",\"servers\":[");
		first = 1;
		TAILQ_FOREACH(srv, &be->servers, entry) {
			if (srv->removed && stat_find(c, "s", be->name,
			    srv->address)->active == 0)
				continue;	/* gone */
			fprintf(fp, "%s{\"address\":", first ? "" : ",");
			first = 0;
			json_string(fp, srv->address);
			fprintf(fp, ",\"weight\":%d,\"backup\":%s,"
			    "\"state\":\"%s\",", srv->weight,
			    srv->backup ? "true" : "false",
			    server_state(srv));
			server_health_json(be, srv, fp);
			json_counters(fp, stat_find(c, "s", be->name,
			    srv->address));
			fprintf(fp, ",\"runtime\":%s}",
			    srv->runtime ? "true" : "false");
		}
		fprintf(fp, "]}");
	}
	fprintf(fp, "]}\n");
}

static void
text_counters(FILE *fp, const struct counters *k)
{
	int	 i;

	fprintf(fp, " sessions %llu active %llu in %llu out %llu "
	    "connect-failures %llu", (unsigned long long)k->total,
	    (unsigned long long)k->active, (unsigned long long)k->bytes_in,
	    (unsigned long long)k->bytes_out,
	    (unsigned long long)k->connect_failures);
	if (k->tls_handshakes != 0)
		fprintf(fp, " tls-handshakes %llu tls-resumed %llu",
		    (unsigned long long)k->tls_handshakes,
		    (unsigned long long)k->tls_resumed);
	for (i = 0; i < TLS_FAIL_MAX; i++)
		if (k->tls_failures[i] != 0)
			fprintf(fp, " tls-failed-%s %llu", tls_failure_name(i),
			    (unsigned long long)k->tls_failures[i]);
	for (i = 1; i < CAUSE_MAX; i++)
		if (k->causes[i] != 0)
			fprintf(fp, " %s %llu", cause_name(i),
			    (unsigned long long)k->causes[i]);
	fprintf(fp, "\n");
}

static void
routes_stats_text(struct ctl_conn *c, struct listener *l, FILE *fp)
{
	struct route	*r;
	char		 key[ROUTE_KEY_MAX];

	if (!listener_peeks(l))
		return;
	TAILQ_FOREACH(r, &l->routes, entry) {
		route_key(r, key, sizeof(key));
		fprintf(fp, "  route %s", key);
		text_counters(fp, stat_find(c, "r", l->name, key));
	}
	fprintf(fp, "  route no_sni");
	text_counters(fp, stat_find(c, "r", l->name, "no_sni"));
	fprintf(fp, "  route default");
	text_counters(fp, stat_find(c, "r", l->name, "default"));
}

static void
stats_text(struct ctl_conn *c, FILE *fp)
{
	struct listener	*l;
	struct backend	*be;
	struct server	*srv;

	relays_line(c, fp);
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry) {
		fprintf(fp, "listener %s", l->name);
		text_counters(fp, stat_find(c, "l", l->name, NULL));
		routes_stats_text(c, l, fp);
	}
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		fprintf(fp, "backend %s", be->name);
		text_counters(fp, stat_find(c, "b", be->name, NULL));
		TAILQ_FOREACH(srv, &be->servers, entry) {
			fprintf(fp, "  server %s", srv->address);
			text_counters(fp, stat_find(c, "s", be->name,
			    srv->address));
		}
	}
}

static int
session_cmp(const void *a, const void *b)
{
	const struct ctl_session	*x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

static void
session_id_text(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%u-%llu", (unsigned)(id >> 48),
	    (unsigned long long)(id & 0xffffffffffffULL));
}

struct session_names {
	char	 id[32];
	char	 client[64];
	char	 server[64];
};

static void
session_names(const struct ctl_session *cs, struct session_names *n)
{
	session_id_text(cs->id, n->id, sizeof(n->id));
	log_sockaddr((const struct sockaddr *)&cs->client, n->client,
	    sizeof(n->client));
	log_sockaddr((const struct sockaddr *)&cs->server, n->server,
	    sizeof(n->server));
}

static void
sessions_text(struct ctl_conn *c, FILE *fp)
{
	struct ctl_session	*cs;
	struct session_names	 n;
	size_t			 i;

	fprintf(fp, "%-10s %-16s %-22s %-22s %9s %9s %12s %12s %s %s %s\n",
	    "ID", "LISTENER", "CLIENT", "SERVER", "AGE", "IDLE", "IN", "OUT",
	    "SNI", "ALPN", "TLS");
	for (i = 0; i < c->nsessions; i++) {
		cs = &c->sessions[i];
		session_names(cs, &n);
		fprintf(fp, "%-10s %-16s %-22s %-22s %8.1fs %8.1fs %12llu "
		    "%12llu %s %s %s\n", n.id, cs->listener, n.client,
		    n.server, cs->age_ms / 1000.0, cs->idle_ms / 1000.0,
		    (unsigned long long)cs->bytes_in,
		    (unsigned long long)cs->bytes_out,
		    cs->sni[0] ? cs->sni : "-", cs->alpn[0] ? cs->alpn : "-",
		    cs->tls_version[0] ? cs->tls_version : "-");
	}
}

/* A string, or null where there is none ("" or "-"). */
static void
json_opt(FILE *fp, const char *s)
{
	if (s[0] == '\0' || strcmp(s, "-") == 0)
		fprintf(fp, "null");
	else
		json_string(fp, s);
}

static void
sessions_json(struct ctl_conn *c, FILE *fp)
{
	struct ctl_session	*cs;
	struct session_names	 n;
	size_t			 i;

	fprintf(fp, "{\"generation\":%u,\"answered\":%d,\"sessions\":[",
	    l4d_conf->generation, c->answered);
	for (i = 0; i < c->nsessions; i++) {
		cs = &c->sessions[i];
		session_names(cs, &n);
		fprintf(fp, "%s{\"id\":\"%s\",\"listener\":", i ? "," : "",
		    n.id);
		json_string(fp, cs->listener);
		fprintf(fp, ",\"backend\":");
		json_opt(fp, cs->backend);
		fprintf(fp, ",\"client\":\"%s\",\"server\":", n.client);
		json_opt(fp, n.server);
		fprintf(fp, ",\"generation\":%u,\"age_ms\":%lld,"
		    "\"idle_ms\":%lld,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		    "\"sni\":", cs->generation, cs->age_ms, cs->idle_ms,
		    (unsigned long long)cs->bytes_in,
		    (unsigned long long)cs->bytes_out);
		json_opt(fp, cs->sni);
		fprintf(fp, ",\"alpn\":");
		json_opt(fp, cs->alpn);
		fprintf(fp, ",\"route\":");
		json_opt(fp, cs->route);
		fprintf(fp, ",\"tls_version\":");
		json_opt(fp, cs->tls_version);
		fprintf(fp, ",\"tls_cipher\":");
		json_opt(fp, cs->tls_cipher);
		fprintf(fp, ",\"tls_resumed\":%s,\"tls_subject\":",
		    cs->tls_resumed ? "true" : "false");
		json_opt(fp, cs->tls_subject);
		fprintf(fp, ",\"tls_issuer\":");
		json_opt(fp, cs->tls_issuer);
		fprintf(fp, "}");
	}
	fprintf(fp, "]}\n");
}

/* The Prometheus text (promtext.c) of what the relays answered. */
static void
metrics_text(struct ctl_conn *c, FILE *fp)
{
	struct metrics_info	 mi;

	memset(&mi, 0, sizeof(mi));
	mi.start_time = parent_start_time;
	mi.reloads = parent_reloads;
	mi.reload_failures = parent_reload_failures;
	mi.relays = proc_ninstances(PROC_RELAY);
	mi.answered = c->answered;
	prom_write(fp, l4d_conf, c->stats, c->nstats, &mi);
}

static void
control_reply(struct ctl_conn *c)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;
	int	 json = c->req.flags & CTL_FLAG_JSON, status = 0;

	c->waiting = 0;
	if ((fp = open_memstream(&text, &len)) == NULL) {
		control_error(c, "out of memory");
		return;
	}
	switch (c->req.cmd) {
	case CTL_CMD_SHOW_SUMMARY:
		json ? summary_json(c, fp) : summary_text(c, fp);
		break;
	case CTL_CMD_SHOW_STATS:
		json ? summary_json(c, fp) : stats_text(c, fp);
		break;
	case CTL_CMD_SHOW_METRICS:
		metrics_text(c, fp);
		break;
	case CTL_CMD_SHOW_SESSIONS:
		if (c->nsessions > 0)
			qsort(c->sessions, c->nsessions, sizeof(*c->sessions),
			    session_cmp);
		json ? sessions_json(c, fp) : sessions_text(c, fp);
		break;
	case CTL_CMD_KILL:
		if (c->found)
			fprintf(fp, "killed %s\n", c->req.arg);
		else {
			fprintf(fp, "no session %s\n", c->req.arg);
			status = 1;
		}
		break;
	}
	fclose(fp);
	control_send(c, text, len, status);
	free(text);
	gather_reset(c);
	if (c->metrics_pid != 0)
		control_close(c);
}

/* Answer with what came; the text says how many relays answered. */
static void
control_gather_timeout(int fd, short event, void *arg)
{
	control_reply(arg);
}

/* "R-N" as show sessions prints it. */
static int
parse_session_id(const char *text, uint64_t *id, int *relay)
{
	const char	*errstr;
	char		 buf[32], *dash;
	long long	 r, n;

	if (strlcpy(buf, text, sizeof(buf)) >= sizeof(buf) ||
	    (dash = strchr(buf, '-')) == NULL)
		return -1;
	*dash++ = '\0';
	r = strtonum(buf, 0, L4D_MAX_RELAYS - 1, &errstr);
	if (errstr != NULL)
		return -1;
	n = strtonum(dash, 1, 0xffffffffffffLL, &errstr);
	if (errstr != NULL)
		return -1;
	*relay = (int)r;
	*id = ((uint64_t)r << 48) | (uint64_t)n;
	return 0;
}

static void
control_kill(struct ctl_conn *c)
{
	struct timeval	 tv = { CONTROL_GATHER_MS / 1000, 0 };
	uint64_t	 id;
	int		 relay;

	if (parse_session_id(c->req.arg, &id, &relay) == -1) {
		control_error(c, "kill: expected a session id such as 0-17 "
		    "(see show sessions)");
		return;
	}
	gather_reset(c);
	if (proc_send(PROC_RELAY, relay, IMSG_CTL_KILL, c->id, &id,
	    sizeof(id)) == -1) {
		control_error(c, "kill: no such relay");
		return;
	}
	c->waiting = 1;
	evtimer_add(&c->ev_gather, &tv);
}

static void
control_reload(struct ctl_conn *c, int apply)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;
	int	 rv;

	if ((fp = open_memstream(&text, &len)) == NULL) {
		control_error(c, "out of memory");
		return;
	}
	rv = parent_reload(c->req.arg[0] ? c->req.arg : NULL, fp, apply);
	fclose(fp);
	control_send(c, text, len, rv == 0 ? 0 : 1);
	free(text);
}

static void
control_log(struct ctl_conn *c, int verbose)
{
	char	 msg[64];

	parent_log_level(verbose ? LOG_LEVEL_DEBUG : l4d_conf->log_level);
	snprintf(msg, sizeof(msg), "log %s\n", verbose ? "verbose" : "brief");
	control_send(c, msg, strlen(msg), 0);
}

/* Monitors get a line for every event until they hang up. */
void
control_event(const char *fmt, ...)
{
	struct ctl_conn	*c;
	va_list		 ap;
	char		 line[512];
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->monitor && c->iev.ibuf.wqlen < CONTROL_MONITOR_BACKLOG)
			imsgev_compose(&c->iev, IMSG_CTL_DATA, 0, -1, line, n);
}

/*
 * Drain or restore one server: new sessions avoid a disabled server,
 * its established sessions go on.  The parent's copy of the setting is
 * what relays restarted later, and reloads, start from.
 */
static void
control_server(struct ctl_conn *c, int disable)
{
	struct backend		*be;
	struct server		*srv;
	char			 name[L4D_NAME_MAX], msg[512], *address;

	strlcpy(name, c->req.arg, sizeof(name));
	if ((address = strchr(c->req.arg, ' ')) == NULL ||
	    (size_t)(address - c->req.arg) >= sizeof(name)) {
		control_error(c, "server: expected BACKEND ADDRESS");
		return;
	}
	name[address++ - c->req.arg] = '\0';
	if ((be = config_find_backend(l4d_conf, name)) == NULL) {
		snprintf(msg, sizeof(msg), "server: no backend %s", name);
		control_error(c, msg);
		return;
	}
	TAILQ_FOREACH(srv, &be->servers, entry)
		if (strcmp(srv->address, address) == 0 && !srv->removed)
			break;
	if (srv == NULL) {
		snprintf(msg, sizeof(msg), "server: backend %s has no server "
		    "%s (addresses as written in the configuration)", name,
		    address);
		control_error(c, msg);
		return;
	}
	srv->disabled = disable;
	server_announce(be, srv);
	log_info("server %s of backend %s %s", srv->address, be->name,
	    disable ? "disabled" : "enabled");
	control_event("server %s of backend %s %s", srv->address, be->name,
	    disable ? "disabled" : "enabled");
	snprintf(msg, sizeof(msg), "server %s of backend %s %s\n",
	    srv->address, be->name, disable ? "disabled" : "enabled");
	control_send(c, msg, strlen(msg), 0);
}

/* l4ctl server add and server remove (runtime.c). */
static void
control_runtime(struct ctl_conn *c, int add)
{
	char	 msg[512];
	int	 rv;

	c->req.arg[sizeof(c->req.arg) - 1] = '\0';
	rv = add ? runtime_add(c->req.arg, msg, sizeof(msg)) :
	    runtime_remove(c->req.arg, msg, sizeof(msg));
	if (rv == -1)
		control_error(c, msg);
	else
		control_send(c, msg, strlen(msg), 0);
}

static void
monitor_start(struct ctl_conn *c)
{
	char	 line[128];
	int	 n;

	n = snprintf(line, sizeof(line), "monitor: generation %u, %d relays\n",
	    l4d_conf->generation, proc_ninstances(PROC_RELAY));
	imsgev_compose(&c->iev, IMSG_CTL_DATA, 0, -1, line, n);
	c->monitor = 1;
}

static void
control_request(struct ctl_conn *c, struct imsg *imsg)
{
	if (imsg->datalen != sizeof(c->req)) {
		control_error(c, "malformed request");
		return;
	}
	if (c->waiting > 0 || c->monitor) {
		control_error(c, "a request is already in progress");
		return;
	}
	memcpy(&c->req, imsg->data, sizeof(c->req));
	c->req.arg[sizeof(c->req.arg) - 1] = '\0';
	if (c->denied) {
		control_error(c, "permission denied: the control socket "
		    "answers root only; use the read-only socket "
		    "(control_readonly) to look");
		return;
	}
	if (c->readonly && !control_readonly_ok(c->req.cmd)) {
		control_error(c, "refused: this is the read-only control "
		    "socket; only show and monitor commands are allowed "
		    "(reload, check, kill, server and log need the control "
		    "socket, as root)");
		return;
	}
	switch (c->req.cmd) {
	case CTL_CMD_SHOW_SUMMARY:
	case CTL_CMD_SHOW_STATS:
		gather_start(c, IMSG_CTL_STATS);
		break;
	case CTL_CMD_SHOW_SESSIONS:
		gather_start(c, IMSG_CTL_SESSIONS);
		break;
	case CTL_CMD_SHOW_METRICS:
		gather_start(c, IMSG_CTL_STATS);
		break;
	case CTL_CMD_KILL:
		control_kill(c);
		break;
	case CTL_CMD_RELOAD:
		control_reload(c, 1);
		break;
	case CTL_CMD_CHECK:
		control_reload(c, 0);
		break;
	case CTL_CMD_LOG_VERBOSE:
	case CTL_CMD_LOG_BRIEF:
		control_log(c, c->req.cmd == CTL_CMD_LOG_VERBOSE);
		break;
	case CTL_CMD_MONITOR:
		monitor_start(c);
		break;
	case CTL_CMD_SERVER_DISABLE:
	case CTL_CMD_SERVER_ENABLE:
		control_server(c, c->req.cmd == CTL_CMD_SERVER_DISABLE);
		break;
	case CTL_CMD_SERVER_ADD:
	case CTL_CMD_SERVER_REMOVE:
		control_runtime(c, c->req.cmd == CTL_CMD_SERVER_ADD);
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

	if (imsgev_io(iev, event) == -1) {
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

/*
 * The metrics process asks for the text on behalf of an HTTP client:
 * gathered like `l4ctl show metrics', answered to it (metrics_reply).
 * It has at most a few clients at once; more open requests than that
 * is a protocol violation.
 */
#define CONTROL_MAX_METRICS	32

int
control_metrics_request(pid_t pid, uint32_t req)
{
	struct ctl_conn	*c;

	if (control_nmetrics >= CONTROL_MAX_METRICS)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		metrics_reply(pid, req, NULL, 0, 1);
		return 0;
	}
	c->id = control_next_id++;
	c->metrics_pid = pid;
	c->metrics_req = req;
	c->iev.ibuf.fd = -1;
	c->req.cmd = CTL_CMD_SHOW_METRICS;
	evtimer_set(&c->ev_gather, control_gather_timeout, c);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	control_nmetrics++;
	gather_start(c, IMSG_CTL_STATS);
	return 0;
}
