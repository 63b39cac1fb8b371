/*
 * The relay process: accept, pick a server, connect with failover and
 * move bytes both ways until both directions have ended.
 *
 * An idle session owns no user-space buffer: reads land in one buffer
 * shared by the whole relay and are written out at once; only bytes the
 * peer could not take yet are kept, in a buffer (copy) or a pipe
 * (splice) that goes back as soon as it drains.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l4d.h"

struct relay_env	 relay_env;

static void	 relay_dispatch_parent(int, short, void *);
static void	 relay_accept_resume(void *);
static void	 relay_sighandler(int, short, void *);
static void	 session_start(struct listener *, int,
		    const struct sockaddr *, socklen_t);
static void	 session_connecting(struct session *, int);
static void	 session_connected(struct session *, int);
static int	 session_read_ahead(struct session *);
static int	 session_io(struct session *);
static void	 session_timeout(void *);
static void	 relay_run_queue(void *);
static int	 flow_io(struct session *, struct flow *);
static void	 session_reset_by(struct session *, int);
static int	 session_redispatch(struct session *);
static void	 session_connect_failed(struct session *, enum end_cause,
		    int);
static void	 session_dequeue(struct session *);
static void	 listeners_enable(int);
static long long session_deadline_nodrain(struct session *, long long);
static void	 session_count(struct session *, enum end_cause);
static void	 relay_ctl_server(struct relay_env *, struct imsg *);
static void	 relay_server_add(struct relay_env *, struct imsg *);
static void	 relay_health_state(struct relay_env *, struct imsg *);
static void	 server_failed(struct session *, struct server *);

static const char *cause_names[CAUSE_MAX] = {
	[CAUSE_NONE] = "none",
	[CAUSE_CLIENT_CLOSED] = "client-closed",
	[CAUSE_SERVER_CLOSED] = "server-closed",
	[CAUSE_IDLE_TIMEOUT] = "idle-timeout",
	[CAUSE_HALF_CLOSED_TIMEOUT] = "half-closed-timeout",
	[CAUSE_CONNECT_TIMEOUT] = "connect-timeout",
	[CAUSE_CONNECT_REFUSED] = "connect-refused",
	[CAUSE_NO_SERVER] = "no-server",
	[CAUSE_NO_ROUTE] = "no-route",
	[CAUSE_DENIED] = "denied",
	[CAUSE_RATE_LIMITED] = "rate-limited",
	[CAUSE_OVER_LIMIT] = "over-limit",
	[CAUSE_HANDSHAKE_TIMEOUT] = "handshake-timeout",
	[CAUSE_BAD_HELLO] = "bad-hello",
	[CAUSE_BAD_PROXY_HEADER] = "bad-proxy-header",
	[CAUSE_TLS_ERROR] = "tls-error",
	[CAUSE_DRAINED] = "drained",
	[CAUSE_KILLED] = "killed",
	[CAUSE_SHUTDOWN] = "shutdown",
	[CAUSE_STARTTLS_REFUSED] = "starttls-refused",
};

const char *
cause_name(enum end_cause cause)
{
	if (cause >= CAUSE_MAX || cause_names[cause] == NULL)
		return "unknown";
	return cause_names[cause];
}

/*
 * Sessions are capped by descriptors: two sockets each, and a margin
 * for pipes, the parent channel and listeners.
 */
static uint32_t
relay_session_cap(void)
{
	struct rlimit	 rl;
	rlim_t		 n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return 1000000;
	n = rl.rlim_cur;
	if (n < 64)
		return 4;
	return (uint32_t)((n - 32) / 2);
}

__dead void
relay_main(int fd, int instance, int nrelays)
{
	struct relay_env	*env = &relay_env;

	memset(env, 0, sizeof(*env));
	setproctitle("relay %d", instance);
	snprintf(env->procname, sizeof(env->procname), "relay[%d]", instance);
	log_procname(env->procname);
	env->instance = instance;
	env->nrelays = nrelays;
	TAILQ_INIT(&env->sessions);
	TAILQ_INIT(&env->runq);
	TAILQ_INIT(&env->ended);
	RB_INIT(&env->stats);
	env->session_cap = relay_session_cap();
	env->accept_backoff_ms = 0;

	if (poll_init() == -1)
		fatal("session poller");
	signal(SIGPIPE, SIG_IGN);
	signal_set(&env->ev_sigterm, SIGTERM, relay_sighandler, env);
	signal_set(&env->ev_sigint, SIGINT, relay_sighandler, env);
	signal_add(&env->ev_sigterm, NULL);
	signal_add(&env->ev_sigint, NULL);
	signal_set(&env->ev_sighup, SIGHUP, relay_sighandler, env);
	signal_add(&env->ev_sighup, NULL);
	poll_timer_set(&env->accept_timer, relay_accept_resume, env);
	poll_timer_set(&env->runq_timer, relay_run_queue, env);

	imsgev_init(&env->parent, fd, PROC_PARENT, 0, relay_dispatch_parent,
	    env);
	log_debug("started, session cap %u", env->session_cap);

	poll_loop();
	relay_shutdown();
	/* NOTREACHED */
	exit(0);
}

__dead void
relay_shutdown(void)
{
	struct relay_env	*env = &relay_env;
	struct session		*s;

	while ((s = TAILQ_FIRST(&env->sessions)) != NULL)
		session_end(s, CAUSE_SHUTDOWN, 0);
	pipe_pool_flush();
	exit(0);
}

static void
relay_sighandler(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		relay_shutdown();
		break;
	default:
		/* the parent alone decides about reloads */
		break;
	}
}

/* Routes count by listener and match; the fallbacks by their role. */
static void
relay_stats_bind_listener(struct relay_env *env, struct listener *l)
{
	struct route	*r;
	char		 key[ROUTE_KEY_MAX];

	l->stats = stats_get(&env->stats, "l", l->name, NULL);
	if (!listener_peeks(l))
		return;
	TAILQ_FOREACH(r, &l->routes, entry) {
		route_key(r, key, sizeof(key));
		r->stats = stats_get(&env->stats, "r", l->name, key);
	}
	l->stats_no_sni = stats_get(&env->stats, "r", l->name, "no_sni");
	l->stats_default = stats_get(&env->stats, "r", l->name, "default");
}

/* Each object of a new generation counts into the entry of its name. */
static void
relay_stats_bind(struct relay_env *env, struct l4d_config *conf)
{
	struct listener	*l;
	struct backend	*be;
	struct server	*srv;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		relay_stats_bind_listener(env, l);
	TAILQ_FOREACH(be, &conf->backends, entry) {
		be->stats = stats_get(&env->stats, "b", be->name, NULL);
		TAILQ_FOREACH(srv, &be->servers, entry)
			srv->stats = stats_get(&env->stats, "s", be->name,
			    srv->address);
	}
}

static int
config_has_listener(struct l4d_config *conf, const char *name)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (strcmp(l->name, name) == 0)
			return 1;
	return 0;
}

/*
 * Sessions whose listener or backend the new generation dropped are
 * closed after the drain timeout of their listener, spread over a
 * jitter so that their clients do not all come back in the same
 * instant.
 */
static void
relay_drain_schedule(struct relay_env *env, struct l4d_config *conf)
{
	struct session	*s;
	long long	 now = proc_now_ms(), jitter, left, drain;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (session_conf(s) == conf || s->drain_ms != 0 ||
		    s->backend == NULL)
			continue;
		if (config_has_listener(conf, s->listener->name) &&
		    config_find_backend(conf, s->backend->name) != NULL)
			continue;
		drain = s->listener->timeouts.drain;
		if (drain == TIMEOUT_INFINITE)
			continue;
		jitter = drain / 10;
		if (jitter > DRAIN_JITTER_MAX_MS)
			jitter = DRAIN_JITTER_MAX_MS;
		s->drain_ms = now + drain +
		    (jitter > 0 ? arc4random_uniform(jitter + 1) : 0);
		if (s->state == STATE_RELAYING &&
		    (left = session_deadline(s, now)) >= 0)
			session_timer(s, left);
		else if (s->state == STATE_TLS_DIRECT)
			handoff_rearm(s, now);
	}
}

/* An old generation's sockets go at once, its memory with its last session. */
static void
relay_config_retire(struct relay_env *env, struct l4d_config *conf)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->ev_added)
			poll_listen(l, 0);
		l->ev_added = 0;
		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
	}
	if (conf->refs == 0)
		config_free(conf);
}

/*
 * Each listener with rate_limit gets its table; one whose listener of
 * the same name had the same limit takes that table over, buckets and
 * all, so that a reload gives nobody a fresh burst.
 */
static void
relay_rate_tables(struct l4d_config *old, struct l4d_config *conf)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->rate.per_source == 0)
			continue;
		o = NULL;
		if (old != NULL)
			TAILQ_FOREACH(o, &old->listeners, entry)
				if (strcmp(o->name, l->name) == 0)
					break;
		if (o != NULL && o->rate_table != NULL &&
		    memcmp(&o->rate, &l->rate, sizeof(l->rate)) == 0) {
			l->rate_table = o->rate_table;
			o->rate_table = NULL;
			continue;
		}
		if ((l->rate_table = rate_table_new(&l->rate)) == NULL)
			fatal("listener %s: rate_limit table", l->name);
	}
}

static void
relay_config_loaded(struct relay_env *env)
{
	struct l4d_config	*old = env->conf;
	struct listener		*l;

	if (env->pending->for_engine)
		fatalx("a tls engine's configuration sent to a relay");
	relay_stats_bind(env, env->pending);
	relay_rate_tables(env->conf, env->pending);
	env->conf = env->pending;
	env->pending = NULL;
	if (old != NULL)
		relay_config_retire(env, old);
	TAILQ_FOREACH(l, &env->conf->listeners, entry)
		l->ev_added = 0;
	listeners_enable(1);
	/* sessions the kernel cannot take splice */
	env->zero_copy = env->conf->relay_mode != RELAY_MODE_COPY &&
	    HAVE_SPLICE;
	/* a FIN must show on its own (poll_exact) */
	env->sockmap = relay_mode_sockmap(env->conf->relay_mode) != NULL &&
	    sockmap_available() && poll_exact;
	env->sockmap_late = env->sockmap &&
	    env->conf->relay_mode == RELAY_MODE_ADAPTIVE;
	env->access_log = env->conf->log_access;
	relay_drain_schedule(env, env->conf);
	imsgev_compose(&env->parent, IMSG_CONF_END, 0, -1, NULL, 0);
	log_debug("generation %u loaded: %u listeners, %s",
	    env->conf->generation, env->conf->nlisteners,
	    env->sockmap ? relay_mode_sockmap(env->conf->relay_mode) :
	    env->zero_copy ? "splice" : "copy");
}

static void
relay_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct relay_env *env = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	if (imsgev_io(iev, event) == -1) {
		log_debug("parent went away");
		relay_shutdown();
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatalx("bad frame from the parent");
		if (n == 0)
			break;
		switch (imsg.hdr.type) {
		case IMSG_CONF_START:
		case IMSG_CONF_BACKEND:
		case IMSG_CONF_SERVER:
		case IMSG_CONF_LISTENER:
		case IMSG_CONF_ROUTE:
		case IMSG_CONF_ACL:
		case IMSG_CONF_END:
			r = config_receive(&env->pending, &imsg);
			if (imsg.fd != -1)
				close(imsg.fd);
			if (r == -1)
				fatalx("bad configuration frame %u",
				    imsg.hdr.type);
			if (r == 1)
				relay_config_loaded(env);
			break;
		case IMSG_CTL_STATS:
			relay_ctl_stats(env, imsg.hdr.peerid);
			break;
		case IMSG_CTL_SESSIONS:
			relay_ctl_sessions(env, imsg.hdr.peerid);
			break;
		case IMSG_CTL_KILL:
			if (imsg.datalen != sizeof(uint64_t))
				fatalx("bad kill frame");
			relay_ctl_kill(env, imsg.hdr.peerid,
			    *(uint64_t *)imsg.data);
			break;
		case IMSG_CTL_SERVER:
			relay_ctl_server(env, &imsg);
			break;
		case IMSG_CTL_SERVER_ADD:
			relay_server_add(env, &imsg);
			break;
		case IMSG_HEALTH_STATE:
			relay_health_state(env, &imsg);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			proc_log_level(&imsg);
			break;
		case IMSG_TLS_CHANNEL:
			handoff_channel(&imsg);
			break;
		case IMSG_ACCESS_LOG:
			if (access_receive(&imsg) == -1)
				fatalx("bad access log frame");
			break;
		case IMSG_SOCKMAP:
			if (sockmap_receive(&imsg) == -1)
				fatalx("bad sockmap frame");
			break;
		default:
			fatalx("unexpected frame %u from the parent",
			    imsg.hdr.type);
		}
		imsg_free(&imsg);
	}
	imsgev_add(iev);
}

static void
counters_bytes(struct counters *c, struct session *s, int sign)
{
	if (sign > 0) {
		c->bytes_in += flow_bytes(&s->c2s);
		c->bytes_out += flow_bytes(&s->s2c);
	} else {
		c->bytes_in -= flow_bytes(&s->c2s);
		c->bytes_out -= flow_bytes(&s->s2c);
	}
}

/* Session end adds a session's bytes for good; this adds them for now. */
static void
stats_add_live(struct relay_env *env, int sign)
{
	struct session	*s;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		if (sign > 0)
			sockmap_sync(s);
		counters_bytes(&s->listener->stats->c, s, sign);
		if (s->peek != NULL && s->peek->stats != NULL)
			counters_bytes(&s->peek->stats->c, s, sign);
		if (session_linked(s)) {
			counters_bytes(&s->server->stats->c, s, sign);
			counters_bytes(&s->backend->stats->c, s, sign);
		}
	}
}

void
relay_ctl_stats(struct relay_env *env, uint32_t peerid)
{
	struct ctl_stat	 cs;
	struct stats	*st;
	int		 found = 0;

	/* bytes of live sessions count too, only for this answer */
	stats_add_live(env, 1);
	RB_FOREACH(st, stats_tree, &env->stats) {
		memset(&cs, 0, sizeof(cs));
		strlcpy(cs.key, st->key, sizeof(cs.key));
		cs.c = st->c;
		imsgev_compose(&env->parent, IMSG_CTL_STAT, peerid, -1, &cs,
		    sizeof(cs));
	}
	stats_add_live(env, -1);
	imsgev_compose(&env->parent, IMSG_CTL_END, peerid, -1, &found,
	    sizeof(found));
}

static void
session_ctl_names(struct session *s, struct ctl_session *cs)
{
	struct peek	*p = s->peek;

	if (p == NULL)
		return;
	if (p->sni != NULL)
		strlcpy(cs->sni, p->sni, sizeof(cs->sni));
	if (p->alpn != NULL)
		strlcpy(cs->alpn, p->alpn, sizeof(cs->alpn));
	if (p->route != NULL)
		route_key(p->route, cs->route, sizeof(cs->route));
	else if (p->phase == PEEK_DONE && listener_peeks(s->listener))
		strlcpy(cs->route, p->stats == s->listener->stats_default ?
		    "default" : "no_sni", sizeof(cs->route));
	if (p->tls_client != NULL) {
		strlcpy(cs->tls_version, p->tls_client->version,
		    sizeof(cs->tls_version));
		strlcpy(cs->tls_cipher, p->tls_client->cipher,
		    sizeof(cs->tls_cipher));
		cs->tls_resumed = p->tls_client->resumed;
		strlcpy(cs->tls_subject, p->tls_client->subject,
		    sizeof(cs->tls_subject));
		strlcpy(cs->tls_issuer, p->tls_client->issuer,
		    sizeof(cs->tls_issuer));
	}
}

void
relay_ctl_sessions(struct relay_env *env, uint32_t peerid)
{
	struct ctl_session	 cs;
	struct session		*s;
	long long		 now = proc_now_ms();
	int			 found = 0;

	TAILQ_FOREACH(s, &env->sessions, entry) {
		memset(&cs, 0, sizeof(cs));
		cs.id = s->id;
		cs.generation = session_conf(s)->generation;
		cs.state = s->state;
		strlcpy(cs.listener, s->listener->name, sizeof(cs.listener));
		strlcpy(cs.backend, s->backend ? s->backend->name : "-",
		    sizeof(cs.backend));
		cs.client = s->client;
		session_ctl_names(s, &cs);
		if (session_linked(s))
			memcpy(&cs.server, &s->server->ss, s->server->sslen <=
			    sizeof(cs.server) ? s->server->sslen :
			    sizeof(cs.server));
		cs.age_ms = now - s->start_ms;
		cs.idle_ms = now - s->last_ms;
		sockmap_sync(s);
		cs.bytes_in = flow_bytes(&s->c2s);
		cs.bytes_out = flow_bytes(&s->s2c);
		imsgev_compose(&env->parent, IMSG_CTL_SESSION, peerid, -1, &cs,
		    sizeof(cs));
	}
	imsgev_compose(&env->parent, IMSG_CTL_END, peerid, -1, &found,
	    sizeof(found));
}

/* Only new sessions avoid a disabled server; its sessions go on. */
static void
relay_ctl_server(struct relay_env *env, struct imsg *imsg)
{
	struct ctl_server	 cs;
	struct backend		*be;

	if (imsg->datalen != sizeof(cs))
		fatalx("bad server frame");
	memcpy(&cs, imsg->data, sizeof(cs));
	if (env->conf == NULL)
		return;
	TAILQ_FOREACH(be, &env->conf->backends, entry)
		if (be->id == cs.backend_id && cs.server_id < be->nservers) {
			be->server_index[cs.server_id]->disabled =
			    cs.disabled != 0;
			be->server_index[cs.server_id]->removed =
			    cs.removed != 0;
			return;
		}
}

/*
 * A runtime server, for the generation the parent runs: last in its
 * backend here as there.  One for another generation is stale (a
 * reload overtook it, and the new one has it already).
 */
static void
relay_server_add(struct relay_env *env, struct imsg *imsg)
{
	struct ctl_server_add	 a;
	struct backend		*be;
	struct server		*srv;

	if (imsg->datalen != sizeof(a))
		fatalx("bad server frame");
	memcpy(&a, imsg->data, sizeof(a));
	a.server.address[sizeof(a.server.address) - 1] = '\0';
	if (a.server.sslen == 0 || a.server.sslen > sizeof(a.server.ss) ||
	    a.server.weight < 1 || a.server.weight > L4D_WEIGHT_MAX)
		fatalx("bad server frame");
	if (env->conf == NULL || env->conf->generation != a.generation)
		return;
	TAILQ_FOREACH(be, &env->conf->backends, entry)
		if (be->id == a.backend_id)
			break;
	if (be == NULL || a.server.id != be->nservers)
		fatalx("server frame for backend %u, server %u",
		    a.backend_id, a.server.id);
	if ((srv = backend_add_server(be, &a.server)) == NULL)
		fatal("server %s", a.server.address);
	srv->stats = stats_get(&env->stats, "s", be->name, srv->address);
}

/*
 * Health: the parent's word on a server's state.  A frame of an older
 * generation is stale (the new one carried the state); a newer one, or
 * ids out of range, cannot come from a sane parent.
 */
static void
relay_health_state(struct relay_env *env, struct imsg *imsg)
{
	struct health_state	 hs;
	struct backend		*be;
	struct server		*srv;

	if (imsg->datalen != sizeof(hs))
		fatalx("bad health state frame");
	memcpy(&hs, imsg->data, sizeof(hs));
	if (env->conf == NULL || hs.generation < env->conf->generation)
		return;
	if (hs.generation > env->conf->generation)
		fatalx("health state of generation %u, running %u",
		    hs.generation, env->conf->generation);
	TAILQ_FOREACH(be, &env->conf->backends, entry)
		if (be->id == hs.backend_id)
			break;
	if (be == NULL || hs.server_id >= be->nservers ||
	    be->check.type == CHECK_NONE || (hs.up != 0 && hs.up != 1))
		fatalx("bad health state frame");
	srv = be->server_index[hs.server_id];
	srv->up = hs.up;
	srv->errors = 0;
}

/*
 * Passive: observe connect failures in a row take a server down for
 * this relay's picks at once; the parent tells the others and the
 * health process, whose check brings it back.
 */
static void
server_failed(struct session *s, struct server *srv)
{
	struct relay_env	*env = &relay_env;
	struct backend		*be = s->backend;
	struct health_state	 hs;

	if (be->check.type == CHECK_NONE || be->check.observe == 0 ||
	    !srv->up || session_conf(s) != env->conf)
		return;
	if (++srv->errors < (uint32_t)be->check.observe)
		return;
	srv->up = 0;
	srv->errors = 0;
	log_debug("server %s %s: %d connect failures in a row", be->name,
	    srv->address, be->check.observe);
	memset(&hs, 0, sizeof(hs));
	hs.generation = env->conf->generation;
	hs.backend_id = be->id;
	hs.server_id = srv->id;
	hs.up = 0;
	hs.changed = 1;
	hs.count = hs.of = be->check.observe;
	imsgev_compose(&env->parent, IMSG_HEALTH_PASSIVE, 0, -1, &hs,
	    sizeof(hs));
}

void
relay_ctl_kill(struct relay_env *env, uint32_t peerid, uint64_t id)
{
	struct session	*s;
	int		 found = 0;

	TAILQ_FOREACH(s, &env->sessions, entry)
		if (s->id == id)
			break;
	if (s != NULL) {
		found = 1;
		session_end(s, CAUSE_KILLED, 0);
	}
	imsgev_compose(&env->parent, IMSG_CTL_END, peerid, -1, &found,
	    sizeof(found));
}

/*
 * Accepting.  Out of descriptors, accept(2) fails without taking the
 * connection off the queue, so a level-triggered event would fire
 * again at once: pause every listener and come back later.
 */
static void
listeners_enable(int on)
{
	struct relay_env	*env = &relay_env;
	struct listener		*l;

	if (env->conf == NULL)
		return;
	TAILQ_FOREACH(l, &env->conf->listeners, entry) {
		if (on != l->ev_added && poll_listen(l, on) == -1)
			log_warn("listener %s: poll", l->name);
		else
			l->ev_added = on;
	}
}

static void
relay_accept_pause(struct relay_env *env, int error)
{
	long long	 now = proc_now_ms();

	/* the backoff grows while pauses follow each other closely */
	if (env->accept_backoff_ms == 0 ||
	    now - env->accept_paused_ms > ACCEPT_BACKOFF_RESET_MS)
		env->accept_backoff_ms = ACCEPT_BACKOFF_MIN_MS;
	else if (env->accept_backoff_ms < ACCEPT_BACKOFF_MAX_MS)
		env->accept_backoff_ms *= 2;
	if (env->accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
		env->accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
	env->accept_paused_ms = now;
	env->accept_pauses++;
	if (now - env->accept_logged_ms >= 1000) {
		log_warnx("accept: %s; pausing accepts for %lldms (%u sessions,"
		    " %llu pauses)", strerror(error), env->accept_backoff_ms,
		    env->nsessions, (unsigned long long)env->accept_pauses);
		env->accept_logged_ms = now;
	}
	listeners_enable(0);
	(void)poll_timer_add(&env->accept_timer, env->accept_backoff_ms);
}

static void
relay_accept_resume(void *arg)
{
	listeners_enable(1);
}

/* A listener is ready: a batch of accepts, the rest at the next turn. */
void
relay_accept(struct listener *l)
{
	struct relay_env	*env = &relay_env;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 s, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		s = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			switch (errno) {
			case EAGAIN:
			case EINTR:
			case ECONNABORTED:
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				relay_accept_pause(env, errno);
				return;
			default:
				log_warn("accept on %s", l->name);
				return;
			}
		}
		session_start(l, s, (struct sockaddr *)&ss, len);
	}
}

static struct session *
session_new(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct relay_env	*env = &relay_env;
	struct session		*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = ((uint64_t)env->instance << 48) | ++env->session_counter;
	s->listener = l;
	s->cfd = fd;
	s->sfd = -1;
	s->backend = listener_peeks(l) ? NULL : l->backend;
	if (salen > sizeof(s->client))
		salen = sizeof(s->client);
	memcpy(&s->client, sa, salen);
	s->start_ms = s->last_ms = proc_now_ms();
	s->c2s.dir = FLOW_C2S;
	s->s2c.dir = FLOW_S2C;
	s->c2s.pipe[0] = s->c2s.pipe[1] = -1;
	s->s2c.pipe[0] = s->s2c.pipe[1] = -1;
	poll_timer_set(&s->timer, session_timeout, s);
	session_conf(s)->refs++;
	TAILQ_INSERT_TAIL(&env->sessions, s, entry);
	env->nsessions++;
	l->active++;
	l->total++;
	l->stats->c.total++;
	l->stats->c.active++;
	return s;
}

/*
 * Refusals (denied, rate-limited) are logged at most once a second per
 * listener, with the number of those that were not: a scan or a flood
 * must not flood the log.
 */
static void
relay_refused_log(struct listener *l, const struct sockaddr *sa,
    enum end_cause cause, long long now)
{
	char	 addr[64];

	if (l->refused_logged_ms != 0 && now - l->refused_logged_ms < 1000) {
		l->refused_quiet++;
		return;
	}
	log_sockaddr(sa, addr, sizeof(addr));
	log_info("listener %s: %s %s (and %llu more refused in the second "
	    "before)", l->name, cause_name(cause), addr,
	    (unsigned long long)l->refused_quiet);
	l->refused_logged_ms = now;
	l->refused_quiet = 0;
}

/* A client refused at accept: counted, closed, no session made. */
static void
relay_refuse(struct listener *l, int fd, const struct sockaddr *sa,
    enum end_cause cause, long long now)
{
	l->stats->c.total++;
	l->stats->c.causes[cause]++;
	relay_env.counts[cause]++;
	close(fd);
	relay_refused_log(l, sa, cause, now);
}

/* The relay's share of the global max_sessions, and of the fd cap. */
static uint32_t
relay_global_cap(struct relay_env *env)
{
	uint32_t	 n = env->nrelays ? env->nrelays : 1, cap;

	cap = env->session_cap;
	if (env->conf->max_sessions != 0 &&
	    (env->conf->max_sessions + n - 1) / n < cap)
		cap = (env->conf->max_sessions + n - 1) / n;
	return cap;
}

static void
session_start(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct relay_env	*env = &relay_env;
	struct session		*s;
	enum end_cause		 cause;
	uint32_t		 cap;
	long long		 now = proc_now_ms();

	/* a PROXY header's sender is judged now, its client later */
	if (l->proxy_accept)
		cause = acl_match(l->acl[ACL_TRUSTED], sa) ? CAUSE_NONE :
		    CAUSE_DENIED;
	else
		cause = access_check(l, sa, now);
	if (cause != CAUSE_NONE) {
		relay_refuse(l, fd, sa, cause, now);
		return;
	}
	if ((s = session_new(l, fd, sa, salen)) == NULL) {
		log_warn("session");
		close(fd);
		return;
	}
	cap = relay_global_cap(env);
	if (l->max_sessions != 0 && l->active > relay_listener_cap(l))
		cap = 0;
	if (env->nsessions > cap) {
		session_end(s, CAUSE_OVER_LIMIT, 0);
		return;
	}
	if (listener_peeks(l) || l->proxy_accept)
		(void)peek_start(s);
	else if (session_read_ahead(s) == 0)
		session_connect(s);
}

/*
 * A client usually speaks at once: what it sent by the time it is
 * accepted is read now, and leaves as soon as the server is connected
 * (session_relay()).  A server that speaks first loses nothing: the
 * connect does not wait for this.  A client that already failed gets
 * no server.  An engine that speaks TLS to the server takes the client
 * unread.
 */
static int
session_read_ahead(struct session *s)
{
	int	 r;

	if (s->backend->tls_originate)
		return 0;
	if ((r = flow_read_ahead(&s->c2s, s->cfd)) == -1) {
		session_end(s, CAUSE_CLIENT_CLOSED, 0);
		return -1;
	}
	s->cdrained = r == 0;
	return 0;
}

/* A listener's cap is shared evenly by the relays. */
uint32_t
relay_listener_cap(struct listener *l)
{
	uint32_t	 n = relay_env.nrelays ? relay_env.nrelays : 1;

	return (l->max_sessions + n - 1) / n;
}

void
session_timer(struct session *s, long long ms)
{
	if (ms < 0)
		poll_timer_del(&s->timer);
	else if (poll_timer_add(&s->timer, ms) == -1)
		log_warn("session %s: timer", session_idstr(s));
}

/* The relay's bitmap of servers holds those s tried (on), or none. */
static void
session_tried(struct session *s, int on)
{
	uint64_t	*t = relay_env.tried;
	int		 i;

	for (i = 0; i < s->ntried; i++)
		t[s->tried[i] / 64] = on ? t[s->tried[i] / 64] |
		    1ULL << (s->tried[i] % 64) : 0;
}

static struct server *
session_pick(struct session *s)
{
	const uint64_t	*tried = relay_env.tried;
	struct server	*srv = NULL;

	session_tried(s, 1);
	if (balance_usable(s->backend, tried, 0) > 0)
		srv = balance_pick(s->backend, (struct sockaddr *)&s->client,
		    tried, 0);
	if (srv == NULL)
		srv = balance_pick(s->backend, (struct sockaddr *)&s->client,
		    tried, 1);
	session_tried(s, 0);
	return srv;
}

/* Whether s may try another server, without picking one. */
static int
session_can_retry(struct session *s)
{
	int	 n;

	if (s->ntried > s->backend->retries)
		return 0;
	session_tried(s, 1);
	n = balance_usable(s->backend, relay_env.tried, 0) +
	    balance_usable(s->backend, relay_env.tried, 1);
	session_tried(s, 0);
	return n > 0;
}

/*
 * Whether a session's server may give way to the next one after the
 * connect (session_redispatch()): a plain session, whose bytes to the
 * server are the client's own, the relay's to move.  Not a routed or
 * proxied one (a peeked hello, a PROXY header), not one an engine
 * carries, not one in the kernel from its start.
 */
static int
session_replayable(struct session *s)
{
	return s->peek == NULL && !s->backend->proxy_send &&
	    !s->backend->tls_originate &&
	    !(relay_env.sockmap && !relay_env.sockmap_late);
}

/*
 * When a replayable session has the client's first bytes (read ahead),
 * the kernel holds the handshake's last ACK back (compat_delay_ack())
 * and sends it with them: one packet less per connection, the server's
 * accept and first read in one.  The connection is then half open at
 * the server until they go: a server that stops listening in between
 * drops them and resets the connection, which session_redispatch()
 * takes to the next server.  Never for a silent client: a server that
 * speaks first would wait for the delayed-ACK timer (200 ms) to see
 * its connection.
 */
static int
server_socket(struct server *srv, int first)
{
	int	 fd, on = 1;

	fd = socket(srv->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (first)
		(void)compat_delay_ack(fd);
	return fd;
}

/*
 * Try servers until one accepts the connect or the retries run out.
 * What the client sends meanwhile waits for the server, so servers
 * that speak first work.
 */
void
session_connect(struct session *s)
{
	struct server	*srv;
	enum end_cause	 cause = CAUSE_NO_SERVER;
	int		 first;

	first = session_replayable(s) && flow_pending(&s->c2s);
	while (s->ntried <= s->backend->retries &&
	    (srv = session_pick(s)) != NULL) {
		s->tried[s->ntried++] = srv->id;
		s->server = srv;
		if ((s->sfd = server_socket(srv, first)) == -1) {
			/* out of descriptors: no server can be tried */
			log_warn("socket for %s", srv->address);
			s->server = NULL;
			session_end(s, CAUSE_NO_SERVER, 0);
			return;
		}
		if (connect(s->sfd, (struct sockaddr *)&srv->ss,
		    srv->sslen) == 0 || errno == EINPROGRESS) {
			session_connecting(s, first);
			return;
		}
		cause = CAUSE_CONNECT_REFUSED;
		srv->stats->c.connect_failures++;
		s->backend->stats->c.connect_failures++;
		server_failed(s, srv);
		log_debug("session %s: connect %s: %s", session_idstr(s),
		    srv->address, strerror(errno));
		close(s->sfd);
		s->sfd = -1;
		s->server = NULL;
	}
	if (s->ntried > 0 && cause == CAUSE_NO_SERVER)
		cause = s->last_connect_cause ? s->last_connect_cause :
		    CAUSE_CONNECT_REFUSED;
	session_end(s, cause, 0);
}

/*
 * A connect under way.  To a server nearby it has often finished when
 * connect(2) returns (sock_connect_done()), and the session goes on in
 * this turn when that saves something: a socket that goes to an engine
 * once connected (a terminated session's, before the handshake) never
 * enters the poller, and bytes held for the handshake's last ACK leave
 * now, not a turn later.
 */
static void
session_connecting(struct session *s, int first)
{
	int	 early = s->peek != NULL && s->peek->early;
	int	 done = (early || first) && sock_connect_done(s->sfd);

	s->state = STATE_CONNECTING;
	if (done && early) {
		session_connected(s, READY_WRITE);
		return;
	}
	if (poll_add(s, SIDE_SERVER) == -1) {
		log_warn("session %s: poll", session_idstr(s));
		session_end(s, CAUSE_NO_SERVER, 0);
		return;
	}
	s->spolled = 1;
	if (done)
		session_connected(s, READY_WRITE);
	else
		session_timer(s, s->listener->timeouts.connect);
}

/*
 * A server that reset the connection before it sent a byte, and before
 * its kernel acknowledged one of ours, never saw the session: the
 * session goes to the next server, with the bytes the relay kept, as
 * after a failed connect.  So does a server that closes its listener
 * with handshakes under way (their last ACK held back for the first
 * bytes, session_connect()), or drops them from a full accept queue.
 * A server that took a byte may have acted on it: its reset is the
 * client's.  Returns 0 if the session went on.
 */
static int
session_redispatch(struct session *s)
{
	struct flow	*c2s = &s->c2s, *s2c = &s->s2c;
	struct server	*srv = s->server;
	uint64_t	 kept, acked;

	if (s->state != STATE_RELAYING || !session_replayable(s) ||
	    s->sm != NULL || s2c->bytes != 0 || s2c->eof || c2s->inpipe > 0)
		return -1;
	/* all it read of the client is in hand: kept, or not sent yet */
	kept = s->first != NULL ? s->nfirst : c2s->off == 0 ? c2s->len : 0;
	if (c2s->bytes != kept)
		return -1;
	/* one byte is the SYN's */
	if (s->first != NULL && (compat_tcp_acked(s->sfd, &acked) == -1 ||
	    acked > 1))
		return -1;
	if (!session_can_retry(s))
		return -1;
	/* the server's attempt ended; the backend's session goes on */
	srv->active--;
	srv->stats->c.active--;
	srv->stats->c.causes[CAUSE_CONNECT_REFUSED]++;
	s->backend->stats->c.active--;
	s->redispatched = 1;
	if (s->first != NULL) {
		free(c2s->buf);
		c2s->buf = s->first;
		c2s->len = s->nfirst;
		c2s->off = 0;
		s->first = NULL;
	}
	c2s->shut = 0;
	s->sready = 0;
	s->state = STATE_CONNECTING;
	session_dequeue(s);
	session_connect_failed(s, CAUSE_CONNECT_REFUSED, ECONNRESET);
	return 0;
}

/*
 * The client's first bytes, read ahead, go to the server as soon as it
 * is connected, and stay with a replayable session until the server
 * answers or the client sends more (session_redispatch()).
 */
static void
session_send_first(struct session *s)
{
	struct flow	*f = &s->c2s;
	ssize_t		 w;

	if (f->len == 0 || f->off != 0 || s->first != NULL ||
	    !session_replayable(s))
		return;
	if ((w = send(s->sfd, f->buf, f->len, 0)) > 0)
		f->off = w;
	if (f->off < f->len)
		return;		/* the flow sends the rest, or meets the error */
	s->first = f->buf;
	s->nfirst = f->len;
	f->buf = NULL;
	f->len = f->off = 0;
}

/* The server answered, or took more: the first bytes are its own. */
static void
session_first_done(struct session *s)
{
	free(s->first);
	s->first = NULL;
	s->server->errors = 0;
}

static void
session_connect_failed(struct session *s, enum end_cause cause, int error)
{
	log_debug("session %s: connect %s: %s", session_idstr(s),
	    s->server->address, error ? strerror(error) : "timed out");
	poll_forget(s, SIDE_SERVER);
	s->spolled = 0;
	close(s->sfd);
	s->sfd = -1;
	s->server->stats->c.connect_failures++;
	s->backend->stats->c.connect_failures++;
	server_failed(s, s->server);
	s->server = NULL;
	s->last_connect_cause = cause;
	session_connect(s);
}

/*
 * The first event of the server socket ends the connect.  Only a poller
 * that reports errors exactly spares us asking the socket.
 */
static void
session_connected(struct session *s, int events)
{
	int		 error = 0;
	socklen_t	 len = sizeof(error);

	if (!(events & (READY_WRITE | READY_ERROR)))
		return;
	if ((events & READY_ERROR) || !poll_exact) {
		if (getsockopt(s->sfd, SOL_SOCKET, SO_ERROR, &error,
		    &len) == -1)
			error = errno;
		if (error != 0) {
			session_connect_failed(s, CAUSE_CONNECT_REFUSED,
			    error);
			return;
		}
	}
	s->state = STATE_RELAYING;
	s->sready = events & READY_STATE;
	/* with first bytes to replay, the server proves itself later */
	if (!session_replayable(s) || !flow_pending(&s->c2s))
		s->server->errors = 0;
	s->server->active++;
	s->server->sessions++;
	s->server->stats->c.total++;
	s->server->stats->c.active++;
	if (!s->redispatched)
		s->backend->stats->c.total++;
	s->backend->stats->c.active++;
	s->last_ms = proc_now_ms();
	session_timer(s, session_deadline(s, s->last_ms));
	if (s->backend->proxy_send && peek_proxy_send(s) == -1)
		return;
	if (s->backend->tls_originate)
		(void)handoff_server(s);
	else if (s->peek != NULL && s->peek->early) {
		if (handoff_client(s) == 0)
			(void)handoff_direct(s);
	} else if (s->peek != NULL && s->peek->direct) {
		if (peek_connected(s) == 0 && s->state == STATE_RELAYING)
			(void)handoff_direct(s);
	} else
		session_upstream(s);
}

/* The server can be spoken to: what a routed session owes it goes first. */
void
session_upstream(struct session *s)
{
	if (s->peek != NULL && peek_connected(s) == -1)
		return;
	if (s->state == STATE_RELAYING)
		session_relay(s);
}

/*
 * What the client sent meanwhile goes out now, a turn of the loop
 * earlier.  Read first, then watch: a socket drained before poll_add()
 * raises no stale event, one filled after it raises one.  One the read
 * ahead drained is not read again before it is watched.
 */
void
session_relay(struct session *s)
{
	s->cready = s->cdrained ? READY_WRITE : READY_READ | READY_WRITE;
	s->cdrained = 0;
	session_send_first(s);
	if (relay_env.sockmap && !relay_env.sockmap_late) {
		/* only quiet flows enter the map: what was read ahead first */
		if (flow_pending(&s->c2s) && flow_io(s, &s->c2s) == -1)
			return;
		sockmap_insert(s);
	}
	if (session_io(s) == -1 || s->cpolled)
		return;
	if (poll_add(s, SIDE_CLIENT) == -1) {
		log_warn("session %s: poll", session_idstr(s));
		session_end(s, CAUSE_SHUTDOWN, RESET_CLIENT);
		return;
	}
	s->cpolled = 1;
	sockmap_watch(s);
}

/* The kernel stopped moving a direction of s: the relay takes over. */
void
session_kick(struct session *s)
{
	if (s->state == STATE_RELAYING)
		(void)session_io(s);
}

void
session_ready(struct session *s, int side, int events)
{
	switch (s->state) {
	case STATE_PEEKING:
		if (side == SIDE_CLIENT &&
		    (events & (READY_READ | READY_ERROR | READY_FIN)))
			peek_ready(s);
		break;
	case STATE_CONNECTING:
		/* a routed client is read again once the server is up */
		if (side == SIDE_SERVER)
			session_connected(s, events);
		break;
	case STATE_STARTTLS:
		if (side == SIDE_SERVER)
			peek_starttls_ready(s, events);
		break;
	case STATE_RELAYING:
		if (s->sm != NULL)
			sockmap_events(s, side, events);
		if (side == SIDE_CLIENT)
			s->cready |= events & READY_STATE;
		else
			s->sready |= events & READY_STATE;
		(void)session_io(s);
		break;
	default:
		/* ended earlier in this batch */
		break;
	}
}

/*
 * A flow that used all its rounds may have more to move, and with
 * edge-triggered events nothing would say so again: it goes on the run
 * queue, served after the next poll so other sockets get their turn.
 */
static void
session_requeue(struct session *s)
{
	struct relay_env	*env = &relay_env;

	if (s->queued)
		return;
	s->queued = 1;
	TAILQ_INSERT_TAIL(&env->runq, s, run_entry);
	env->nrunq++;
	if (!poll_timer_pending(&env->runq_timer))
		(void)poll_timer_add(&env->runq_timer, 0);
}

static void
session_dequeue(struct session *s)
{
	struct relay_env	*env = &relay_env;

	if (!s->queued)
		return;
	s->queued = 0;
	TAILQ_REMOVE(&env->runq, s, run_entry);
	env->nrunq--;
}

/* Those queued before this turn; the ones they queue wait for the next. */
static void
relay_run_queue(void *arg)
{
	struct relay_env	*env = arg;
	struct session		*s;
	uint32_t		 n;

	for (n = env->nrunq; n > 0 && (s = TAILQ_FIRST(&env->runq)) != NULL;
	    n--) {
		session_dequeue(s);
		(void)session_io(s);
	}
}

/* Sessions ended while the poller holds events for them are freed later. */
void
relay_batch_begin(void)
{
	relay_env.batching++;
}

void
relay_batch_end(void)
{
	struct relay_env	*env = &relay_env;
	struct session		*s;

	if (--env->batching > 0)
		return;
	while ((s = TAILQ_FIRST(&env->ended)) != NULL) {
		TAILQ_REMOVE(&env->ended, s, entry);
		free(s);
	}
}

/*
 * The deadline that applies now: idle always, and once one side has
 * finished sending, the shorter half-closed timeout too.
 */
long long
session_deadline(struct session *s, long long now)
{
	long long	 left, drain;

	if (s->drain_ms != 0) {
		drain = s->drain_ms > now ? s->drain_ms - now : 0;
		left = session_deadline_nodrain(s, now);
		return left == -1 || left > drain ? drain : left;
	}
	return session_deadline_nodrain(s, now);
}

static long long
session_deadline_nodrain(struct session *s, long long now)
{
	struct timeouts	*t = &s->listener->timeouts;
	long long	 idle = -1, half = -1;

	if (t->idle != TIMEOUT_INFINITE)
		idle = s->last_ms + t->idle - now;
	if (s->half_closed_ms != 0 && t->half_closed != TIMEOUT_INFINITE)
		half = s->half_closed_ms + t->half_closed - now;
	if (idle < 0 && half < 0 && t->idle == TIMEOUT_INFINITE &&
	    (s->half_closed_ms == 0 || t->half_closed == TIMEOUT_INFINITE))
		return -1;
	if (idle < 0 && t->idle != TIMEOUT_INFINITE)
		return 0;
	if (half < 0 && s->half_closed_ms != 0 &&
	    t->half_closed != TIMEOUT_INFINITE)
		return 0;
	if (idle < 0)
		return half;
	if (half < 0)
		return idle;
	return idle < half ? idle : half;
}

/*
 * The timer is armed lazily: activity only moves last_ms, and an early
 * firing re-arms for what is left, so busy sessions cost no timer work.
 */
static void
session_timeout(void *arg)
{
	struct session	*s = arg;
	struct timeouts	*t = &s->listener->timeouts;
	long long	 now, left;

	if (s->state == STATE_CONNECTING) {
		session_connect_failed(s, CAUSE_CONNECT_TIMEOUT, 0);
		return;
	}
	if (s->state == STATE_PEEKING || s->state == STATE_STARTTLS ||
	    s->state == STATE_TLS_CLIENT || s->state == STATE_TLS_SERVER) {
		session_end(s, CAUSE_HANDSHAKE_TIMEOUT, 0);
		return;
	}
	now = proc_now_ms();
	/* bytes the kernel moved count as activity */
	sockmap_sync(s);
	/* its engine keeps the other timeouts */
	if (s->state == STATE_TLS_DIRECT) {
		handoff_timeout(s, now);
		return;
	}
	if ((left = session_deadline(s, now)) > 0) {
		session_timer(s, left);
		return;
	}
	if (left == -1)
		return;
	if (s->drain_ms != 0 && now >= s->drain_ms)
		session_end(s, CAUSE_DRAINED, 0);
	else if (s->half_closed_ms != 0 && t->half_closed != TIMEOUT_INFINITE &&
	    now >= s->half_closed_ms + t->half_closed)
		session_end(s, CAUSE_HALF_CLOSED_TIMEOUT, 0);
	else
		session_end(s, CAUSE_IDLE_TIMEOUT, 0);
}

/*
 * Once a direction has ended and its bytes are out, its destination
 * gets the FIN.  When both directions are over, the close(2) that
 * follows sends both FINs and no shutdown(2) is needed.
 */
static void
flow_pass_fin(struct flow *f, struct flow *other, int to)
{
	if (!f->eof || f->shut || flow_pending(f))
		return;
	if (!other->eof || flow_pending(other))
		(void)shutdown(to, SHUT_WR);
	f->shut = 1;
}

/* Whether a flow stopped for its rounds rather than for its sockets. */
static int
flow_more(struct session *s, struct flow *f)
{
	uint8_t	 rfrom = f->dir == FLOW_C2S ? s->cready : s->sready;
	uint8_t	 rto = f->dir == FLOW_C2S ? s->sready : s->cready;

	return (flow_wants_read(f) && (rfrom & READY_READ)) ||
	    (flow_pending(f) && (rto & READY_WRITE));
}

/*
 * zero_copy: adaptive: a session whose bytes changed way SOCKMAP_TURNS
 * times in messages that never filled the buffer (a request and its
 * answer, again and again) goes to the kernel, once both its sockets
 * are drained: nothing of them is half read.  Bulk sessions splice; the
 * many that only ask once never pay for the maps.
 */
static void
session_turn(struct session *s, uint64_t c2s, uint64_t s2c)
{
	uint8_t	 dir;

	if (s->c2s.bulk || s->s2c.bulk) {
		s->turns = 0;
		return;
	}
	dir = (s->c2s.bytes != c2s ? 1 : 0) | (s->s2c.bytes != s2c ? 2 : 0);
	if (dir == 0 || dir == s->turn_dir)
		return;
	s->turn_dir = dir;
	if (s->turns < SOCKMAP_TURNS)
		s->turns++;
	if (s->turns < SOCKMAP_TURNS || (s->cready & READY_READ) ||
	    (s->sready & READY_READ))
		return;
	sockmap_insert(s);
	if (s->sm == NULL)
		s->turns = 0;	/* refused: try again much later */
}

/* Returns -1 when the session ended (and is freed), 0 otherwise. */
static int
session_io(struct session *s)
{
	uint64_t	 c2s = s->c2s.bytes, s2c = s->s2c.bytes;

	s->last_ms = proc_now_ms();
	if (flow_io(s, &s->c2s) == -1 || flow_io(s, &s->s2c) == -1)
		return -1;
	if (s->first != NULL && (s->s2c.bytes != 0 ||
	    s->c2s.bytes != s->nfirst))
		session_first_done(s);
	if (relay_env.sockmap_late && s->sm == NULL)
		session_turn(s, c2s, s2c);
	flow_pass_fin(&s->c2s, &s->s2c, s->sfd);
	flow_pass_fin(&s->s2c, &s->c2s, s->cfd);
	if (flow_done(&s->c2s) && flow_done(&s->s2c)) {
		session_end(s, s->first_fin, 0);
		return -1;
	}
	if (flow_more(s, &s->c2s) || flow_more(s, &s->s2c))
		session_requeue(s);
	return 0;
}

/*
 * Move what can move in one direction.  Returns -1 when the session
 * ended (and is freed), 0 otherwise.
 */
static int
flow_io(struct session *s, struct flow *f)
{
	int	 from = f->dir == FLOW_C2S ? s->cfd : s->sfd;
	int	 to = f->dir == FLOW_C2S ? s->sfd : s->cfd;
	uint8_t	*rfrom = f->dir == FLOW_C2S ? &s->cready : &s->sready;
	uint8_t	*rto = f->dir == FLOW_C2S ? &s->sready : &s->cready;
	int	 r;

	if (f->kernel)
		r = FLOW_OK;
	else if (s->sm != NULL)
		r = sockmap_copy(s, f, from, to, rfrom, rto);
	else
		r = relay_env.zero_copy ? flow_splice(f, from, to, rfrom,
		    rto) : flow_copy(f, from, to, rfrom, rto);
	/* an engine's plaintext side ended: what the engine says first */
	if (r != FLOW_OK && s->peek != NULL && s->peek->engine >= 0 &&
	    handoff_settle(s, r == FLOW_RESET_TO ? to : from))
		return -1;
	switch (r) {
	case FLOW_OK:
		if (s->sm != NULL && !f->kernel)
			sockmap_copied(s, f);
		break;
	case FLOW_EOF:
		/* passed bytes still on their way come first */
		if (s->sm != NULL && sockmap_eof(s, f))
			break;
		if (s->first_fin == CAUSE_NONE) {
			s->first_fin = f->dir == FLOW_C2S ?
			    CAUSE_CLIENT_CLOSED : CAUSE_SERVER_CLOSED;
			s->half_closed_ms = proc_now_ms();
			session_timer(s, session_deadline(s,
			    s->half_closed_ms));
		}
		break;
	case FLOW_RESET_FROM:	/* the source reset or failed */
		session_reset_by(s, f->dir == FLOW_C2S ? SIDE_CLIENT :
		    SIDE_SERVER);
		return -1;
	case FLOW_RESET_TO:	/* the destination is gone */
		session_reset_by(s, f->dir == FLOW_C2S ? SIDE_SERVER :
		    SIDE_CLIENT);
		return -1;
	}
	return 0;
}

/* One side reset or failed: the other side gets a reset. */
static void
session_reset_by(struct session *s, int side)
{
	if (side == SIDE_SERVER && session_redispatch(s) == 0)
		return;
	if (side == SIDE_CLIENT)
		session_end(s, CAUSE_CLIENT_CLOSED, RESET_SERVER);
	else
		session_end(s, CAUSE_SERVER_CLOSED, RESET_CLIENT);
}

const char *
session_idstr(struct session *s)
{
	static char	 buf[32];

	snprintf(buf, sizeof(buf), "%u-%llu", (unsigned)(s->id >> 48),
	    (unsigned long long)(s->id & 0xffffffffffffULL));
	return buf;
}

/* A value between double quotes: a quote in it becomes a single one. */
static const char *
log_quoted(const char *s, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] == '"' ? '\'' : s[i];
	buf[i] = '\0';
	return buf;
}

/* " tls=... cipher=..." of the legs an engine carried. */
static void
session_log_tls(struct peek *p, char *buf, size_t len)
{
	struct tls_ready	*c = p->tls_client;
	char			 sub[256], iss[256], err[256];

	if (c != NULL)
		snprintf(buf, len, " tls=%s cipher=%s resumed=%d "
		    "subject=\"%s\" issuer=\"%s\"", c->version, c->cipher,
		    c->resumed, log_quoted(c->subject, sub, sizeof(sub)),
		    log_quoted(c->issuer, iss, sizeof(iss)));
	if (p->tls_server != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf),
		    " server_tls=%s", p->tls_server->version);
	if (p->tls_error != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf),
		    " tls_error=\"%s\"", log_quoted(p->tls_error, err,
		    sizeof(err)));
}

/* " sni=NAME alpn=LIST" for the sessions of routed listeners. */
static void
session_log_names(struct session *s, char *buf, size_t len)
{
	struct peek	*p = s->peek;

	char		 peer[64];

	buf[0] = '\0';
	if (p == NULL)
		return;
	if (p->proxied)
		snprintf(buf, len, " proxy=%s", log_sockaddr(
		    (struct sockaddr *)&p->proxy_peer, peer, sizeof(peer)));
	if (listener_peeks(s->listener))
		snprintf(buf + strlen(buf), len - strlen(buf),
		    " sni=%s alpn=%s", p->sni ? p->sni : "-",
		    p->alpn ? p->alpn : "-");
	session_log_tls(p, buf + strlen(buf), len - strlen(buf));
}

/* The members of a session's JSON line that its TLS legs add. */
static void
session_json_tls(struct peek *p, struct access_json *j)
{
	struct tls_ready	*c = p->tls_client;

	if (c != NULL) {
		access_json_str(j, "tls_version", c->version);
		access_json_str(j, "tls_cipher", c->cipher);
		access_json_bool(j, "tls_resumed", c->resumed);
		access_json_str(j, "tls_client_subject", c->subject);
		access_json_str(j, "tls_client_issuer", c->issuer);
	}
	if (p->tls_server != NULL)
		access_json_str(j, "server_tls_version",
		    p->tls_server->version);
	if (p->tls_error != NULL)
		access_json_str(j, "tls_error", p->tls_error);
}

/* log.access_format: json; every member is in l4d(8). */
static const char *
session_json(struct session *s, struct access_json *j, const char *client,
    const char *server, enum end_cause cause, long long now)
{
	struct peek	*p = s->peek;

	access_json_begin(j);
	access_json_num(j, "relay", relay_env.instance);
	access_json_str(j, "id", session_idstr(s));
	access_json_str(j, "listener", s->listener->name);
	access_json_str(j, "client", client);
	if (s->backend != NULL)
		access_json_str(j, "backend", s->backend->name);
	else
		access_json_null(j, "backend");
	if (session_linked(s))
		access_json_str(j, "server", server);
	else
		access_json_null(j, "server");
	if (p != NULL && listener_peeks(s->listener)) {
		access_json_str(j, "sni", p->sni ? p->sni : "");
		access_json_str(j, "alpn", p->alpn ? p->alpn : "");
	}
	if (p != NULL)
		session_json_tls(p, j);
	access_json_num(j, "bytes_in", flow_bytes(&s->c2s));
	access_json_num(j, "bytes_out", flow_bytes(&s->s2c));
	access_json_num(j, "duration_ms", now > s->start_ms ?
	    (unsigned long long)(now - s->start_ms) : 0);
	access_json_str(j, "cause", cause_name(cause));
	access_json_bool(j, "reset", s->reset);
	return access_json_end(j);
}

static void
session_log(struct session *s, enum end_cause cause, long long now)
{
	char			 client[64], server[64];
	char			 names[SNI_NAME_MAX + 1200];
	char			 line[ACCESS_LINE_MAX];
	struct access_json	 j;
	int			 format = relay_env.conf->log_access_format;

	if (cause == CAUSE_DENIED || cause == CAUSE_RATE_LIMITED) {
		relay_refused_log(s->listener, (struct sockaddr *)&s->client,
		    cause, now);
		return;
	}
	if (!relay_env.access_log)
		return;
	log_sockaddr((struct sockaddr *)&s->client, client, sizeof(client));
	if (session_linked(s))
		log_sockaddr((struct sockaddr *)&s->server->ss, server,
		    sizeof(server));
	else
		strlcpy(server, "-", sizeof(server));
	if (format == ACCESS_FORMAT_JSON) {
		access_emit(session_json(s, &j, client, server, cause, now),
		    format);
		return;
	}
	session_log_names(s, names, sizeof(names));
	snprintf(line, sizeof(line), "access id=%s listener=%s client=%s "
	    "backend=%s server=%s"
	    "%s in=%llu out=%llu duration=%lld.%03llds cause=%s%s",
	    session_idstr(s), s->listener->name, client,
	    s->backend ? s->backend->name : "-", server, names,
	    (unsigned long long)flow_bytes(&s->c2s),
	    (unsigned long long)flow_bytes(&s->s2c), (now - s->start_ms) / 1000,
	    (now - s->start_ms) % 1000, cause_name(cause),
	    s->reset ? " reset" : "");
	access_emit(line, format);
}

static void
counters_end(struct counters *c, struct session *s, enum end_cause cause)
{
	c->active--;
	c->bytes_in += flow_bytes(&s->c2s);
	c->bytes_out += flow_bytes(&s->s2c);
	c->causes[cause]++;
}

static void
session_count(struct session *s, enum end_cause cause)
{
	counters_end(&s->listener->stats->c, s, cause);
	if (s->peek != NULL && s->peek->stats != NULL)
		counters_end(&s->peek->stats->c, s, cause);
	if (session_linked(s)) {
		s->server->active--;
		counters_end(&s->server->stats->c, s, cause);
		counters_end(&s->backend->stats->c, s, cause);
	} else if (s->backend != NULL)
		s->backend->stats->c.causes[cause]++;
}

/* SO_LINGER with a zero timeout makes close(2) send a reset. */
static void
close_with_reset(int fd)
{
	struct linger	 lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * reset: RESET_NONE, or which side gets a reset because the other one
 * sent us one.
 */
void
session_end(struct session *s, enum end_cause cause, int reset)
{
	struct relay_env	*env = &relay_env;
	struct l4d_config	*conf = session_conf(s);

	s->reset = reset != RESET_NONE;
	/* the kernel's counts are final; its slots go */
	sockmap_end(s);
	session_log(s, cause, proc_now_ms());
	session_dequeue(s);
	if (s->cpolled)
		poll_forget(s, SIDE_CLIENT);
	if (s->sfd != -1)
		poll_forget(s, SIDE_SERVER);
	poll_timer_free(&s->timer);
	if (s->cfd == -1)
		;	/* an engine has it */
	else if (reset == RESET_CLIENT)
		close_with_reset(s->cfd);
	else
		close(s->cfd);
	if (s->sfd != -1) {
		if (reset == RESET_SERVER)
			close_with_reset(s->sfd);
		else
			close(s->sfd);
	}
	flow_release(&s->c2s);
	flow_release(&s->s2c);
	free(s->first);
	session_count(s, cause);
	peek_free(s);
	env->counts[cause]++;
	s->listener->active--;
	TAILQ_REMOVE(&env->sessions, s, entry);
	env->nsessions--;
	if (--conf->refs == 0 && conf != env->conf)
		config_free(conf);
	s->state = STATE_ENDED;
	if (env->batching > 0)
		TAILQ_INSERT_TAIL(&env->ended, s, entry);
	else
		free(s);
}
