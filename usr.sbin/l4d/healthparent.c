/*
 * The parent's side of health: the health process's row of the process
 * table (it gets each generation's servers to check, their addresses
 * and check ports and, for verifying tls checks, the backend's CA, but
 * nothing else), the server states, which the parent owns, and their
 * changes, which it logs, counts, tells the monitors and fans out to
 * every relay.  Relays report servers that fail connects in a row
 * (passive checks) here too.
 *
 * While the health process is down the states stay as they are; a
 * restarted one starts from them.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

#include "l4d.h"

int
health_count(struct l4d_config *conf)
{
	return 1;
}

static void
send_server(struct imsgev *iev, struct backend *be, struct server *srv)
{
	struct health_server	 hs;

	memset(&hs, 0, sizeof(hs));
	hs.backend_id = be->id;
	hs.server_id = srv->id;
	strlcpy(hs.address, srv->address, sizeof(hs.address));
	hs.ss = srv->ss;
	hs.sslen = srv->sslen;
	if (be->check.port != 0) {
		if (hs.ss.ss_family == AF_INET)
			((struct sockaddr_in *)&hs.ss)->sin_port =
			    htons(be->check.port);
		else if (hs.ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&hs.ss)->sin6_port =
			    htons(be->check.port);
	}
	hs.up = srv->up;
	hs.checked = srv->check_result[0] != '\0';
	hs.removed = srv->removed;
	imsgev_compose(iev, IMSG_HEALTH_SERVER, 0, -1, &hs, sizeof(hs));
}

static int
backend_verifies(struct backend *be)
{
	return be->check.type == CHECK_TLS && be->tls != NULL &&
	    be->tls->verify;
}

void
health_configure(struct child *c)
{
	struct health_start	 st;
	struct health_backend	 hb;
	struct backend		*be;
	struct server		*srv;

	memset(&st, 0, sizeof(st));
	st.generation = l4d_conf->generation;
	TAILQ_FOREACH(be, &l4d_conf->backends, entry)
		if (be->check.type != CHECK_NONE)
			st.nbackends++;
	imsgev_compose(&c->iev, IMSG_CONF_START, 0, -1, &st, sizeof(st));
	TAILQ_FOREACH(be, &l4d_conf->backends, entry) {
		if (be->check.type == CHECK_NONE)
			continue;
		memset(&hb, 0, sizeof(hb));
		hb.backend_id = be->id;
		strlcpy(hb.name, be->name, sizeof(hb.name));
		hb.nservers = be->nservers;
		hb.check = be->check;
		hb.verify = backend_verifies(be);
		hb.proxy = be->check.no_proxy ? 0 : be->proxy_send;
		if (be->tls != NULL)
			strlcpy(hb.server_name, be->tls->server_name,
			    sizeof(hb.server_name));
		imsgev_compose(&c->iev, IMSG_HEALTH_BACKEND, 0, -1, &hb,
		    sizeof(hb));
		TAILQ_FOREACH(srv, &be->servers, entry)
			send_server(&c->iev, be, srv);
		if (hb.verify && config_send_ca(&c->iev, be) == -1)
			fatal("sending backend %s's CA to the health process",
			    be->name);
	}
	imsgev_compose(&c->iev, IMSG_CONF_END, 0, -1, NULL, 0);
}

/* A frame's backend and server in the running generation, or NULL. */
static struct server *
state_server(struct health_state *hs, struct backend **bep)
{
	struct backend	*be;

	TAILQ_FOREACH(be, &l4d_conf->backends, entry)
		if (be->id == hs->backend_id)
			break;
	if (be == NULL || be->check.type == CHECK_NONE ||
	    hs->server_id >= be->nservers)
		return NULL;
	*bep = be;
	return be->server_index[hs->server_id];
}

/*
 * To every child of a kind whose channel is open, ready or not: one
 * that is loading a new generation reads this after it, in order.
 */
static void
send_open(enum l4d_proc kind, struct health_state *hs)
{
	struct child	*c;
	int		 i, n = proc_ninstances(kind);

	for (i = 0; i < n; i++)
		if ((c = proc_child(kind, i)) != NULL)
			imsgev_compose(&c->iev, IMSG_HEALTH_STATE, 0, -1, hs,
			    sizeof(*hs));
}

/* A new state: the log, the monitors, a counter, the relays. */
static void
state_change(struct backend *be, struct server *srv, int up,
    const char *why, int count, int of)
{
	struct health_state	 hs;

	srv->up = up;
	srv->state_ms = proc_now_ms();
	srv->state_changes++;
	if (up) {
		log_info("server %s %s up (%d/%d)", be->name, srv->address,
		    count, of);
		control_event("server %s %s up (%d/%d)", be->name,
		    srv->address, count, of);
	} else {
		log_warnx("server %s %s down: %s (%d/%d)", be->name,
		    srv->address, why, count, of);
		control_event("server %s %s down: %s (%d/%d)", be->name,
		    srv->address, why, count, of);
	}
	memset(&hs, 0, sizeof(hs));
	hs.generation = l4d_conf->generation;
	hs.backend_id = be->id;
	hs.server_id = srv->id;
	hs.up = up;
	hs.changed = 1;
	strlcpy(hs.result, srv->check_result, sizeof(hs.result));
	send_open(PROC_RELAY, &hs);
}

/* A child's text goes into logs and l4ctl's quotes: printable, no '"'. */
static void
result_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"' || *s == '\\')
			*s = '.';
}

/*
 * The frame of a child: -1 for one that cannot be right.  A frame of an
 * older generation is stale, not wrong: a reload overtook it.
 */
static int
state_frame(struct imsg *imsg, struct health_state *hs)
{
	if (imsg->datalen != sizeof(*hs))
		return -1;
	memcpy(hs, imsg->data, sizeof(*hs));
	hs->result[sizeof(hs->result) - 1] = '\0';
	result_clean(hs->result);
	if (hs->generation > l4d_conf->generation || hs->up < 0 ||
	    hs->up > 1 || hs->changed < 0 || hs->changed > 1 ||
	    hs->count < 0 || hs->count > CHECK_COUNT_MAX || hs->of < 0 ||
	    hs->of > CHECK_COUNT_MAX)
		return -1;
	return 0;
}

int
health_dispatch(struct child *c, struct imsg *imsg)
{
	struct health_state	 hs;
	struct backend		*be;
	struct server		*srv;

	if (imsg->hdr.type != IMSG_HEALTH_STATE || state_frame(imsg,
	    &hs) == -1)
		return -1;
	if (hs.generation < l4d_conf->generation)
		return 0;
	if ((srv = state_server(&hs, &be)) == NULL ||
	    (hs.changed && hs.count == 0))
		return -1;
	strlcpy(srv->check_result, hs.result[0] ? hs.result : "?",
	    sizeof(srv->check_result));
	if (hs.changed && hs.up != srv->up)
		state_change(be, srv, hs.up, srv->check_result, hs.count,
		    hs.of);
	return 0;
}

/*
 * A relay saw observe connect failures in a row: the server is down for
 * every relay at once, and the health process's check brings it back
 * after rise successes.
 */
int
health_passive(struct child *c, struct imsg *imsg)
{
	struct health_state	 hs;
	struct backend		*be;
	struct server		*srv;
	char			 why[CHECK_RESULT_MAX];

	if (state_frame(imsg, &hs) == -1 || hs.up != 0)
		return -1;
	if (hs.generation < l4d_conf->generation)
		return 0;
	if ((srv = state_server(&hs, &be)) == NULL || be->check.observe == 0)
		return -1;
	if (!srv->up)
		return 0;
	snprintf(why, sizeof(why), "connect failures (relay %d)",
	    c->instance);
	strlcpy(srv->check_result, why, sizeof(srv->check_result));
	state_change(be, srv, 0, why, be->check.observe, be->check.observe);
	hs.generation = l4d_conf->generation;
	hs.changed = 1;
	strlcpy(hs.result, why, sizeof(hs.result));
	send_open(PROC_HEALTH, &hs);
	return 0;
}

int
health_check_equal(const struct backend_check *a,
    const struct backend_check *b)
{
	return a->type == b->type && a->interval == b->interval &&
	    a->timeout == b->timeout && a->rise == b->rise &&
	    a->fall == b->fall && a->observe == b->observe &&
	    a->port == b->port && a->send_len == b->send_len &&
	    memcmp(a->send, b->send, a->send_len) == 0 &&
	    a->expect_regex == b->expect_regex &&
	    a->expect_len == b->expect_len && a->no_proxy == b->no_proxy &&
	    memcmp(a->expect, b->expect, a->expect_len) == 0;
}

static struct server *
server_same(struct backend *ob, struct server *srv)
{
	struct server	*os;

	TAILQ_FOREACH(os, &ob->servers, entry)
		if (strcmp(os->address, srv->address) == 0 &&
		    sockaddr_equal(&os->ss, &srv->ss))
			return os;
	return NULL;
}

/*
 * A reload keeps the state of a server whose address and check did not
 * change; any other server with a check starts down and is up after its
 * first successful check.  old is NULL at start.
 */
void
health_reload_keep(struct l4d_config *old, struct l4d_config *nc)
{
	struct backend	*be, *ob;
	struct server	*srv, *os;
	long long	 now = proc_now_ms();

	TAILQ_FOREACH(be, &nc->backends, entry) {
		ob = old != NULL ? config_find_backend(old, be->name) : NULL;
		if (ob != NULL && !health_check_equal(&ob->check, &be->check))
			ob = NULL;
		TAILQ_FOREACH(srv, &be->servers, entry) {
			srv->state_ms = now;
			if (ob == NULL || (os = server_same(ob, srv)) == NULL)
				continue;
			srv->up = os->up;
			srv->state_ms = os->state_ms;
			srv->state_changes = os->state_changes;
			strlcpy(srv->check_result, os->check_result,
			    sizeof(srv->check_result));
		}
	}
}
