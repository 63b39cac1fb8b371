/*
 * l4d-docker: watch Docker's events and keep l4d's backends in step
 * with the running containers that carry l4d.* labels.
 *
 * Docker's API (its unix socket) is read here; l4d is told through
 * l4ctl's server add and server remove.  l4d's parent never talks to
 * Docker.  After every (re)connection to Docker, and after every
 * container start, a resync compares what runs with what l4d has.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "l4d.h"
#include "l4d-docker.h"

/* {"type":["container"],"event":["start","die","stop"]} */
#define EVENTS_PATH	"/events?filters=%7B%22type%22%3A%5B%22container%22" \
			"%5D%2C%22event%22%3A%5B%22start%22%2C%22die%22%2C" \
			"%22stop%22%5D%7D"
#define LIST_ALL_PATH	"/containers/json?all=1"
#define LIST_RUN_PATH	"/containers/json"

struct dd {
	struct event_base	*base;
	struct ctl		 ctl;
	const char		*docker;
	struct http_req		*events;
	int			 events_status;
	struct http_req		*list;
	int			 resync_again;
	struct event		 retry;
	int			 backoff_ms;
	struct event		 periodic;	/* l4d may have restarted */
	int			 resync_sec;
	struct targets		 added;		/* servers it added */
	int			 nadded;
	int			 check;		/* -n */
	int			 errors;
};

static struct dd	 dd;

static void	 events_connect(void);
static void	 resync_start(void);
static void	 periodic_arm(void);

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-c l4ctl] [-H docker-socket] "
	    "[-r seconds] [-s l4d-socket] [-u user]\n", __progname);
	exit(1);
}

static const char *
short_id(const char *id)
{
	static char	 buf[13];

	strlcpy(buf, id, sizeof(buf));
	return buf;
}

static struct target *
added_find(const char *backend, const char *address)
{
	struct target	*t;

	TAILQ_FOREACH(t, &dd.added, entry)
		if (strcmp(t->backend, backend) == 0 &&
		    strcmp(t->address, address) == 0)
			return t;
	return NULL;
}

static void
added_keep(const struct target *src)
{
	struct target	*t;

	if ((t = added_find(src->backend, src->address)) != NULL) {
		strlcpy(t->id, src->id, sizeof(t->id));
		strlcpy(t->name, src->name, sizeof(t->name));
		return;
	}
	if (dd.nadded >= DD_MAX_TARGETS) {
		log_warnx("more than %d servers to keep track of; %s in "
		    "backend %s is not", DD_MAX_TARGETS, src->address,
		    src->backend);
		return;
	}
	if ((t = malloc(sizeof(*t))) == NULL)
		fatal("malloc");
	*t = *src;
	TAILQ_INSERT_TAIL(&dd.added, t, entry);
	dd.nadded++;
}

static void
added_drop(struct target *t)
{
	TAILQ_REMOVE(&dd.added, t, entry);
	dd.nadded--;
	free(t);
}

static int
server_add(const struct target *t)
{
	const char	*args[8];
	char		 w[16], msg[DD_ERR_MAX];
	int		 i = 0;

	args[i++] = "server";
	args[i++] = "add";
	args[i++] = t->backend;
	args[i++] = t->address;
	if (t->weight > 0) {
		snprintf(w, sizeof(w), "%d", t->weight);
		args[i++] = "weight";
		args[i++] = w;
	}
	if (t->backup)
		args[i++] = "backup";
	args[i] = NULL;
	if (ctl_run(&dd.ctl, args, NULL, NULL, msg, sizeof(msg)) == -1) {
		log_warnx("container %s (%s): cannot add server %s to "
		    "backend %s: %s", t->name, short_id(t->id), t->address,
		    t->backend, msg);
		return -1;
	}
	log_info("container %s (%s): added server %s to backend %s",
	    t->name, short_id(t->id), t->address, t->backend);
	return 0;
}

static int
server_remove(const char *backend, const char *address, const char *why)
{
	const char	*args[] = { "server", "remove", backend, address,
			    NULL };
	char		 msg[DD_ERR_MAX];

	if (ctl_run(&dd.ctl, args, NULL, NULL, msg, sizeof(msg)) == -1) {
		if (strstr(msg, "no server") != NULL) {
			log_debug("server %s of backend %s: gone already",
			    address, backend);
			return 0;
		}
		log_warnx("cannot remove server %s from backend %s (%s): %s",
		    address, backend, why, msg);
		return -1;
	}
	log_info("removed server %s from backend %s (%s)", address, backend,
	    why);
	return 0;
}

/* A container stopped or died: its servers go now, not at the resync. */
static void
container_gone(const char *id, const char *action)
{
	struct target	*t, *next;
	char		 why[DD_CNAME_MAX + 64];

	for (t = TAILQ_FIRST(&dd.added); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (strcmp(t->id, id) != 0)
			continue;
		snprintf(why, sizeof(why), "container %s (%s): %s", t->name,
		    short_id(t->id), action);
		if (server_remove(t->backend, t->address, why) == 0)
			added_drop(t);
	}
}

static void
retry_later(void)
{
	struct timeval	 tv;

	tv.tv_sec = dd.backoff_ms / 1000;
	tv.tv_usec = (dd.backoff_ms % 1000) * 1000;
	evtimer_add(&dd.retry, &tv);
	dd.backoff_ms *= 2;
	if (dd.backoff_ms > DD_BACKOFF_MAX_MS)
		dd.backoff_ms = DD_BACKOFF_MAX_MS;
}

static void
retry_cb(int fd, short ev, void *arg)
{
	if (dd.events == NULL)
		events_connect();
	else
		resync_start();
}

static int
desired_has(struct targets *want, const char *backend, const char *address)
{
	struct target	*t;

	TAILQ_FOREACH(t, want, entry)
		if (strcmp(t->backend, backend) == 0 &&
		    strcmp(t->address, address) == 0)
			return 1;
	return 0;
}

/*
 * One container of the list: a server in want, its backend in managed.
 * Every problem is an error in the log that names the container.
 */
static void
want_container(json_t *c, json_t *summary, struct targets *want,
    json_t *managed, int *nwant)
{
	struct target	 t, *w;
	char		 err[DD_ERR_MAX];
	const char	*state;
	int		 running;

	state = json_string_value(json_object_get(c, "State"));
	running = state != NULL && strcmp(state, "running") == 0;
	switch (labels_parse(c, &t, err, sizeof(err))) {
	case LABELS_NONE:
		return;
	case LABELS_ERROR:
		if (running) {
			log_warnx("container %s (%s): %s; no server added",
			    t.name, short_id(t.id), err);
			dd.errors++;
		}
		return;
	}
	json_object_set_new(managed, t.backend, json_true());
	if (!running)
		return;
	if (summary_backend(summary, t.backend) == NULL) {
		log_warnx("container %s (%s): label l4d.backend=%s: l4d has "
		    "no backend %s; no server added", t.name, short_id(t.id),
		    t.backend, t.backend);
		dd.errors++;
		return;
	}
	if (desired_has(want, t.backend, t.address)) {
		log_warnx("container %s (%s): server %s of backend %s is "
		    "another container's too; added once", t.name,
		    short_id(t.id), t.address, t.backend);
		dd.errors++;
		return;
	}
	if (*nwant >= DD_MAX_TARGETS) {
		log_warnx("container %s (%s): more than %d servers; not "
		    "added", t.name, short_id(t.id), DD_MAX_TARGETS);
		dd.errors++;
		return;
	}
	if ((w = malloc(sizeof(*w))) == NULL)
		fatal("malloc");
	*w = t;
	TAILQ_INSERT_TAIL(want, w, entry);
	(*nwant)++;
}

/*
 * Runtime servers of the backends containers name that no running
 * container stands for (those of an earlier l4d-docker too), then the
 * servers it added whose container is gone.
 */
static void
remove_stale(json_t *summary, struct targets *want, json_t *managed)
{
	struct target	*t, *next;
	json_t		*be, *srv, *v;
	const char	*name, *addr;
	size_t		 i, j;

	json_array_foreach(json_object_get(summary, "backends"), i, be) {
		name = json_string_value(json_object_get(be, "name"));
		if (name == NULL || json_object_get(managed, name) == NULL)
			continue;
		json_array_foreach(json_object_get(be, "servers"), j, srv) {
			addr = json_string_value(json_object_get(srv,
			    "address"));
			v = json_object_get(srv, "runtime");
			if (addr == NULL || !json_is_true(v) ||
			    desired_has(want, name, addr) ||
			    added_find(name, addr) != NULL)
				continue;
			server_remove(name, addr,
			    "resync: no running container stands for it");
		}
	}
	for (t = TAILQ_FIRST(&dd.added); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (desired_has(want, t->backend, t->address))
			continue;
		if (server_remove(t->backend, t->address,
		    "resync: its container no longer runs") == 0)
			added_drop(t);
	}
}

static void
add_missing(json_t *summary, struct targets *want)
{
	struct target	*t;
	json_t		*srv;

	TAILQ_FOREACH(t, want, entry) {
		srv = backend_server(summary_backend(summary, t->backend),
		    t->address);
		if (srv == NULL) {
			if (server_add(t) == 0)
				added_keep(t);
			continue;
		}
		if (json_is_true(json_object_get(srv, "runtime"))) {
			added_keep(t);
			continue;
		}
		log_info("container %s (%s): server %s is in backend %s's "
		    "configuration already; left alone", t->name,
		    short_id(t->id), t->address, t->backend);
	}
}

/* 0: done; -1: try again later. */
static int
reconcile(json_t *list)
{
	struct targets	 want;
	struct target	*t;
	json_t		*summary, *managed, *c;
	char		 msg[DD_ERR_MAX];
	size_t		 i;
	int		 nwant = 0;

	if ((summary = ctl_summary(&dd.ctl, msg, sizeof(msg))) == NULL) {
		log_warnx("cannot read l4d's summary: %s", msg);
		return -1;
	}
	if ((managed = json_object()) == NULL)
		fatalx("json_object");
	TAILQ_INIT(&want);
	dd.errors = 0;
	json_array_foreach(list, i, c)
		want_container(c, summary, &want, managed, &nwant);
	remove_stale(summary, &want, managed);
	add_missing(summary, &want);
	while ((t = TAILQ_FIRST(&want)) != NULL) {
		TAILQ_REMOVE(&want, t, entry);
		free(t);
	}
	json_decref(managed);
	json_decref(summary);
	log_info("resync: %d servers from containers, %d errors", nwant,
	    dd.errors);
	return 0;
}

static json_t *
parse_list(const char *error, int status, struct evbuffer *body)
{
	json_error_t	 jerr;
	json_t		*list;
	size_t		 len;

	if (error != NULL) {
		log_warnx("Docker: listing containers: %s", error);
		return NULL;
	}
	len = evbuffer_get_length(body);
	if (status != 200) {
		log_warnx("Docker: listing containers: HTTP status %d: %.*s",
		    status, (int)(len > 200 ? 200 : len),
		    (char *)evbuffer_pullup(body, -1));
		return NULL;
	}
	list = json_loadb((char *)evbuffer_pullup(body, -1), len, 0, &jerr);
	if (list == NULL || !json_is_array(list)) {
		log_warnx("Docker: listing containers: not a JSON list: %s",
		    list == NULL ? jerr.text : "");
		json_decref(list);
		return NULL;
	}
	if (json_array_size(list) > DD_MAX_CONTAINERS) {
		log_warnx("Docker: more than %d containers", DD_MAX_CONTAINERS);
		json_decref(list);
		return NULL;
	}
	return list;
}

static void
list_done(struct http_req *r, const char *error, int status,
    struct evbuffer *body, void *arg)
{
	json_t	*list;
	int	 rv = -1;

	dd.list = NULL;
	if ((list = parse_list(error, status, body)) != NULL) {
		rv = reconcile(list);
		json_decref(list);
	}
	if (rv == -1) {
		if (!evtimer_pending(&dd.retry, NULL))
			retry_later();
		return;
	}
	dd.backoff_ms = DD_BACKOFF_MIN_MS;
	periodic_arm();
	if (dd.resync_again) {
		dd.resync_again = 0;
		resync_start();
	}
}

/* A resync now and then: a restarted l4d has lost its runtime servers. */
static void
periodic_cb(int fd, short ev, void *arg)
{
	if (dd.events != NULL)
		resync_start();
}

static void
periodic_arm(void)
{
	struct timeval	 tv;

	tv.tv_sec = dd.resync_sec;
	tv.tv_usec = 0;
	evtimer_add(&dd.periodic, &tv);
}

static void
resync_start(void)
{
	if (dd.list != NULL) {
		dd.resync_again = 1;
		return;
	}
	dd.resync_again = 0;
	dd.list = http_get(dd.base, dd.docker, LIST_ALL_PATH, DD_LIST_MAX,
	    DD_TIMEOUT_SEC, list_done, NULL, NULL, NULL);
	if (dd.list == NULL) {
		log_warn("Docker: %s", dd.docker);
		if (!evtimer_pending(&dd.retry, NULL))
			retry_later();
	}
}

static void
events_head(int status, void *arg)
{
	dd.events_status = status;
	if (status != 200)
		return;
	log_info("watching Docker's events on %s", dd.docker);
	/* the stream is open: nothing that happens from now on is missed */
	resync_start();
}

static int
events_line(const char *line, size_t len, void *arg)
{
	json_error_t	 jerr;
	json_t		*ev, *actor;
	const char	*type, *action, *id;

	if (dd.events_status != 200) {
		log_warnx("Docker: events: HTTP status %d: %.*s",
		    dd.events_status, (int)(len > 200 ? 200 : len), line);
		return -1;
	}
	if ((ev = json_loadb(line, len, 0, &jerr)) == NULL) {
		log_warnx("Docker: events: bad JSON: %s", jerr.text);
		return -1;
	}
	type = json_string_value(json_object_get(ev, "Type"));
	action = json_string_value(json_object_get(ev, "Action"));
	actor = json_object_get(ev, "Actor");
	id = json_string_value(json_object_get(actor, "ID"));
	if (type != NULL && strcmp(type, "container") == 0 &&
	    action != NULL && id != NULL) {
		log_debug("Docker: container %s: %s", short_id(id), action);
		if (strcmp(action, "start") == 0)
			resync_start();
		else if (strcmp(action, "die") == 0 ||
		    strcmp(action, "stop") == 0)
			container_gone(id, action);
	}
	json_decref(ev);
	return 0;
}

static void
events_done(struct http_req *r, const char *error, int status,
    struct evbuffer *body, void *arg)
{
	dd.events = NULL;
	log_warnx("Docker: lost the events stream on %s (%s); again in "
	    "%d ms", dd.docker, error != NULL ? error : status == 200 ?
	    "closed" : "refused", dd.backoff_ms);
	retry_later();
}

static void
events_connect(void)
{
	dd.events_status = 0;
	dd.events = http_get(dd.base, dd.docker, EVENTS_PATH, DD_EVENT_MAX, 0,
	    events_done, events_head, events_line, NULL);
	if (dd.events == NULL) {
		log_warn("Docker: %s; again in %d ms", dd.docker,
		    dd.backoff_ms);
		retry_later();
	}
}

/* -n: the running containers' labels, checked against l4d's backends. */
static void
nflag_done(struct http_req *r, const char *error, int status,
    struct evbuffer *body, void *arg)
{
	struct target	 t;
	json_t		*list, *summary, *c;
	char		 err[DD_ERR_MAX], msg[DD_ERR_MAX];
	size_t		 i;

	event_base_loopbreak(dd.base);
	if ((list = parse_list(error, status, body)) == NULL) {
		dd.errors++;
		return;
	}
	if ((summary = ctl_summary(&dd.ctl, msg, sizeof(msg))) == NULL) {
		log_warnx("cannot read l4d's summary, backends not checked: "
		    "%s", msg);
		dd.errors++;
	}
	json_array_foreach(list, i, c) {
		switch (labels_parse(c, &t, err, sizeof(err))) {
		case LABELS_NONE:
			continue;
		case LABELS_ERROR:
			log_warnx("container %s (%s): %s", t.name,
			    short_id(t.id), err);
			dd.errors++;
			continue;
		}
		if (summary != NULL &&
		    summary_backend(summary, t.backend) == NULL) {
			log_warnx("container %s (%s): label l4d.backend=%s: "
			    "l4d has no backend %s", t.name, short_id(t.id),
			    t.backend, t.backend);
			dd.errors++;
			continue;
		}
		printf("container %s: backend %s server %s", t.name,
		    t.backend, t.address);
		if (t.weight > 0)
			printf(" weight %d", t.weight);
		printf("%s\n", t.backup ? " backup" : "");
	}
	json_decref(summary);
	json_decref(list);
}

static void
sig_cb(int sig, short ev, void *arg)
{
	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: resync");
		resync_start();
		break;
	default:
		log_info("exiting on signal %d; l4d keeps the servers", sig);
		event_base_loopbreak(dd.base);
	}
}

/* Started as root: become user, with the groups /etc/group gives it. */
static void
drop_privileges(const char *user)
{
	struct passwd	*pw;
	gid_t		 groups[NGROUPS_MAX];
	int		 ngroups = NGROUPS_MAX;

	if (strcmp(user, "root") == 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		errx(1, "unknown user %s (create it, or run with -u)", user);
	if (pw->pw_uid == 0)
		errx(1, "user %s is root", user);
	if (getgrouplist(user, pw->pw_gid, groups, &ngroups) == -1)
		errx(1, "user %s: too many groups", user);
	if (setgroups(ngroups, groups) == -1)
		err(1, "setgroups");
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		err(1, "setresgid");
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		err(1, "setresuid");
	if (setuid(0) != -1)
		errx(1, "could become root again");
}

int
main(int argc, char *argv[])
{
	struct event	 ev_term, ev_int, ev_hup;
	const char	*user = L4DD_USER, *errstr;
	int		 ch, debug = 0, verbose = 0;

	dd.ctl.path = L4CTL_PATH;
	dd.docker = DOCKER_SOCKET;
	dd.resync_sec = DD_RESYNC_SEC;
	while ((ch = getopt(argc, argv, "c:dH:nr:s:u:v")) != -1) {
		switch (ch) {
		case 'c':
			dd.ctl.path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'H':
			dd.docker = optarg;
			break;
		case 'n':
			dd.check = 1;
			break;
		case 'r':
			dd.resync_sec = (int)strtonum(optarg, 1,
			    DD_RESYNC_MAX_SEC, &errstr);
			if (errstr != NULL)
				errx(1, "-r %s: %s (1 to %d seconds)", optarg,
				    errstr, DD_RESYNC_MAX_SEC);
			break;
		case 's':
			dd.ctl.socket = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (geteuid() == 0)
		drop_privileges(user);
	log_init(debug || dd.check, verbose ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO, "l4d-docker");
	log_procname("l4d-docker");
	signal(SIGPIPE, SIG_IGN);
	if (!debug && !dd.check && daemon(0, 0) == -1)
		err(1, "daemon");
	if ((dd.base = event_init()) == NULL)
		errx(1, "event_init");
	TAILQ_INIT(&dd.added);
	dd.backoff_ms = DD_BACKOFF_MIN_MS;
	if (dd.check) {
		if (http_get(dd.base, dd.docker, LIST_RUN_PATH, DD_LIST_MAX,
		    DD_TIMEOUT_SEC, nflag_done, NULL, NULL, NULL) == NULL)
			err(1, "%s", dd.docker);
		event_base_dispatch(dd.base);
		return dd.errors > 0 ? 1 : 0;
	}
	evtimer_set(&dd.retry, retry_cb, NULL);
	evtimer_set(&dd.periodic, periodic_cb, NULL);
	signal_set(&ev_term, SIGTERM, sig_cb, NULL);
	signal_set(&ev_int, SIGINT, sig_cb, NULL);
	signal_set(&ev_hup, SIGHUP, sig_cb, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	signal_add(&ev_hup, NULL);
	log_info("started: Docker %s, l4ctl %s%s%s", dd.docker, dd.ctl.path,
	    dd.ctl.socket != NULL ? " -s " : "",
	    dd.ctl.socket != NULL ? dd.ctl.socket : "");
	events_connect();
	event_dispatch();
	http_cancel(dd.events);
	http_cancel(dd.list);
	return 0;
}
