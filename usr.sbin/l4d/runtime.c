/*
 * Servers added and removed while l4d runs (l4ctl server add, server
 * remove), on the parent's side.  The parent's model is the truth: a
 * server added there goes last in its backend, and every relay appends
 * the same server to the same generation, so that ids agree; a relay
 * started later, and the health process, get it with the model.  A
 * removed server takes no new session; it is gone from l4ctl once its
 * last session ended, and from the model at the next reload.  A reload
 * keeps the runtime servers whose backend it keeps.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

/*
 * The words of a request, split in buf, a copy of args of size bytes:
 * how many, -1 when there are more than max, -2 when args does not fit
 * (never cut: what is left may still read as a request).
 */
int
runtime_words(const char *args, char *buf, size_t size, char **w, int max)
{
	char	*p;
	int	 n = 0;

	if (strlcpy(buf, args, size) >= size)
		return -2;
	while ((p = strsep(&buf, " ")) != NULL) {
		if (*p == '\0')
			continue;
		if (n == max)
			return -1;
		w[n++] = p;
	}
	return n;
}

static struct server *
runtime_find(struct backend *be, const char *address,
    const struct sockaddr_storage *ss)
{
	struct server	*srv;

	TAILQ_FOREACH(srv, &be->servers, entry) {
		if (strcmp(srv->address, address) == 0)
			return srv;
		if (ss != NULL && srv->sslen > 0 &&
		    memcmp(&srv->ss, ss, srv->sslen) == 0)
			return srv;
	}
	return NULL;
}

/* "weight N" and "backup", after BACKEND ADDRESS. */
static int
runtime_options(char **w, int n, struct server *srv, char *msg,
    size_t len)
{
	const char	*errstr;
	int		 i;

	srv->weight = 1;
	for (i = 2; i < n; i++) {
		if (strcmp(w[i], "backup") == 0)
			srv->backup = 1;
		else if (strcmp(w[i], "weight") == 0 && i + 1 < n) {
			srv->weight = strtonum(w[++i], 1, L4D_WEIGHT_MAX,
			    &errstr);
			if (errstr != NULL) {
				snprintf(msg, len, "server add: weight %s is "
				    "%s (1 to %d)", w[i], errstr,
				    L4D_WEIGHT_MAX);
				return -1;
			}
		} else {
			snprintf(msg, len, "server add: unexpected %s "
			    "(expected weight N or backup)", w[i]);
			return -1;
		}
	}
	return 0;
}

/* The health process checks the backend's servers anew, states kept. */
static void
runtime_health(struct backend *be)
{
	struct child	*c;

	if (be->check.type != CHECK_NONE &&
	    (c = proc_child(PROC_HEALTH, 0)) != NULL)
		health_configure(c);
}

static void
runtime_announce(struct backend *be, struct server *srv)
{
	struct ctl_server_add	 a;

	memset(&a, 0, sizeof(a));
	a.generation = l4d_conf->generation;
	a.backend_id = be->id;
	a.server = *srv;
	proc_send_all(PROC_RELAY, IMSG_CTL_SERVER_ADD, 0, &a, sizeof(a));
	runtime_health(be);
}

/* A server's operator flags (disabled, removed), as the parent has them. */
void
server_announce(struct backend *be, struct server *srv)
{
	struct ctl_server	 cs;

	memset(&cs, 0, sizeof(cs));
	cs.backend_id = be->id;
	cs.server_id = srv->id;
	cs.disabled = srv->disabled;
	cs.removed = srv->removed;
	proc_send_all(PROC_RELAY, IMSG_CTL_SERVER, 0, &cs, sizeof(cs));
}

/* A removed server that comes back is the same one, drained no more. */
static int
runtime_revive(struct backend *be, struct server *srv,
    const struct server *want, char *msg, size_t len)
{
	if (!srv->removed) {
		snprintf(msg, len, "server add: backend %s has %s already",
		    be->name, srv->address);
		return -1;
	}
	if (srv->weight != want->weight || srv->backup != want->backup ||
	    srv->sslen != want->sslen ||
	    memcmp(&srv->ss, &want->ss, want->sslen) != 0) {
		snprintf(msg, len, "server add: %s of backend %s is still "
		    "draining with other settings; add it again once it is "
		    "gone", srv->address, be->name);
		return -1;
	}
	srv->removed = 0;
	server_announce(be, srv);
	runtime_health(be);	/* checked again */
	return 0;
}

int
runtime_add(const char *args, char *msg, size_t len)
{
	struct backend	*be;
	struct server	 want, *srv;
	char		 buf[RUNTIME_REQ_MAX], *w[RUNTIME_WORDS_MAX], err[192];
	int		 n;

	if ((n = runtime_words(args, buf, sizeof(buf), w,
	    RUNTIME_WORDS_MAX)) < 2) {
		snprintf(msg, len, "server add: %s", n == -2 ?
		    "request too long" :
		    "expected BACKEND ADDRESS [weight N] [backup]");
		return -1;
	}
	if ((be = config_find_backend(l4d_conf, w[0])) == NULL) {
		snprintf(msg, len, "server add: no backend %s", w[0]);
		return -1;
	}
	memset(&want, 0, sizeof(want));
	if (runtime_options(w, n, &want, msg, len) == -1)
		return -1;
	if (strlen(w[1]) >= sizeof(want.address) ||
	    addr_server(w[1], &want.ss, &want.sslen, err, sizeof(err)) == -1) {
		snprintf(msg, len, "server add: %s", strlen(w[1]) >=
		    sizeof(want.address) ? "address too long" : err);
		return -1;
	}
	strlcpy(want.address, w[1], sizeof(want.address));
	if ((srv = runtime_find(be, want.address, &want.ss)) != NULL) {
		if (runtime_revive(be, srv, &want, msg, len) == -1)
			return -1;
	} else {
		want.runtime = 1;
		/* a checked server is up after its first good check */
		want.up = be->check.type == CHECK_NONE;
		want.state_ms = proc_now_ms();
		if ((srv = backend_add_server(be, &want)) == NULL) {
			snprintf(msg, len, "server add: backend %s has %u "
			    "servers, the most it can have", be->name,
			    be->nservers);
			return -1;
		}
		runtime_announce(be, srv);
	}
	log_info("server %s of backend %s added", srv->address, be->name);
	control_event("server %s of backend %s added", srv->address,
	    be->name);
	snprintf(msg, len, "server %s of backend %s added%s\n", srv->address,
	    be->name, be->check.type != CHECK_NONE ?
	    "; up once its first check passes" : "");
	return 0;
}

int
runtime_remove(const char *args, char *msg, size_t len)
{
	struct backend		*be;
	struct server		*srv;
	char			 buf[RUNTIME_REQ_MAX], *w[RUNTIME_WORDS_MAX];
	int			 n;

	if ((n = runtime_words(args, buf, sizeof(buf), w,
	    RUNTIME_WORDS_MAX)) != 2) {
		snprintf(msg, len, "server remove: %s", n == -2 ?
		    "request too long" : "expected BACKEND ADDRESS");
		return -1;
	}
	if ((be = config_find_backend(l4d_conf, w[0])) == NULL) {
		snprintf(msg, len, "server remove: no backend %s", w[0]);
		return -1;
	}
	if ((srv = runtime_find(be, w[1], NULL)) == NULL || srv->removed) {
		snprintf(msg, len, "server remove: backend %s has no server "
		    "%s", be->name, w[1]);
		return -1;
	}
	if (!srv->runtime) {
		snprintf(msg, len, "server remove: %s of backend %s is in the "
		    "configuration file: use server disable, or remove it "
		    "there and reload", srv->address, be->name);
		return -1;
	}
	srv->removed = 1;
	server_announce(be, srv);
	runtime_health(be);	/* checked no more */
	log_info("server %s of backend %s removed; its sessions go on",
	    srv->address, be->name);
	control_event("server %s of backend %s removed", srv->address,
	    be->name);
	snprintf(msg, len, "server %s of backend %s removed; its sessions "
	    "go on\n", srv->address, be->name);
	return 0;
}

static void	 runtime_say(FILE *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

/* What a reload does to a runtime server: said to l4ctl, and logged. */
static void
runtime_say(FILE *out, int apply, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[256];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(out, "%s\n", line);
	if (apply)
		log_info("%s", line);
}

/*
 * A reload keeps the runtime servers of the backends it keeps, after
 * the file's own; one the file now names too is the file's.
 */
void
runtime_keep(struct l4d_config *old, struct l4d_config *nc, FILE *out,
    int apply)
{
	struct backend	*ob, *be;
	struct server	*os, *srv;

	TAILQ_FOREACH(ob, &old->backends, entry)
		TAILQ_FOREACH(os, &ob->servers, entry) {
			if (!os->runtime || os->removed)
				continue;
			if ((be = config_find_backend(nc, ob->name)) == NULL)
				runtime_say(out, apply, "backend %s is gone: "
				    "runtime server %s dropped", ob->name,
				    os->address);
			else if (runtime_find(be, os->address, &os->ss) != NULL)
				runtime_say(out, apply, "backend %s: runtime "
				    "server %s is in the file now", be->name,
				    os->address);
			else if ((srv = backend_add_server(be, os)) == NULL)
				runtime_say(out, apply, "backend %s is full: "
				    "runtime server %s dropped", be->name,
				    os->address);
			else if (be->check.type == CHECK_NONE)
				srv->up = 1;
		}
}
