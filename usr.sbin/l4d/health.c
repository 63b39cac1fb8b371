/*
 * The health process: chrooted and unprivileged, it gets the servers to
 * check from the parent with each generation, runs every server's check
 * on its own schedule, and tells the parent when a check's outcome
 * changes (the result text, or the state after rise or fall outcomes in
 * a row).  It holds no listener, no key and no certificate of l4d's.
 *
 * Each server's first check comes at a random point of its interval,
 * and each next one an interval after the last began, give or take a
 * twentieth, so checks are spread and do not fall into step.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "l4d.h"

#define HEALTH_FIRST_MS		500	/* a server never checked: soon */

struct health_gen {
	uint32_t		 generation;
	uint32_t		 nbackends;
	uint32_t		 nreceived;
	struct hbackend		**backends;
};

static struct imsgev	 health_parent;
static struct health_gen *health_cur, *health_pending;
static struct event	 ev_sigterm, ev_sigint, ev_sighup;

static void	 health_dispatch_parent(int, short, void *);
static void	 health_timer(int, short, void *);

static void
health_sig(int sig, short event, void *arg)
{
	if (sig != SIGHUP)
		exit(0);
}

__dead void
health_main(int fd, int instance, int count)
{
	setproctitle("health");
	log_procname("health");
	event_init();
	signal(SIGPIPE, SIG_IGN);
	signal_set(&ev_sigterm, SIGTERM, health_sig, NULL);
	signal_set(&ev_sigint, SIGINT, health_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, health_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	if (tls_init() == -1)
		fatalx("tls_init");
	imsgev_init(&health_parent, fd, PROC_PARENT, 0,
	    health_dispatch_parent, NULL);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}

static void
timer_ms(struct event *ev, long long ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Stop a running check: its socket, its TLS context, its events. */
static void
check_stop(struct hcheck *h)
{
	if (event_initialized(&h->ev_io))
		event_del(&h->ev_io);
	evtimer_del(&h->ev_timer);
	if (h->tls != NULL) {
		tls_free(h->tls);
		h->tls = NULL;
	}
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	h->running = 0;
}

static void
report(struct hcheck *h, int changed, int count, int of)
{
	struct health_state	 hs;

	memset(&hs, 0, sizeof(hs));
	hs.generation = health_cur->generation;
	hs.backend_id = h->be->id;
	hs.server_id = h->server_id;
	hs.up = h->up;
	hs.changed = changed;
	hs.count = count;
	hs.of = of;
	strlcpy(hs.result, h->last, sizeof(hs.result));
	imsgev_compose(&health_parent, IMSG_HEALTH_STATE, 0, -1, &hs,
	    sizeof(hs));
}

/*
 * One outcome: rise successes in a row bring a server up, fall failures
 * take it down; a server never checked is up after its first success.
 */
void
check_done(struct hcheck *h, int ok, const char *result)
{
	struct backend_check	*c = &h->be->check;
	long long		 next, jitter;
	int			 changed = 0, count = 0, of = 0, first;

	check_stop(h);
	first = !h->checked;
	h->checked = 1;
	if (ok) {
		h->nfail = 0;
		if (h->nok < CHECK_COUNT_MAX)
			h->nok++;
		if (!h->up && (first || h->nok >= c->rise)) {
			h->up = changed = 1;
			count = first ? 1 : h->nok;
			of = first ? 1 : c->rise;
		}
	} else {
		h->nok = 0;
		if (h->nfail < CHECK_COUNT_MAX)
			h->nfail++;
		if (h->up && h->nfail >= c->fall) {
			h->up = 0;
			changed = 1;
			count = h->nfail;
			of = c->fall;
		}
	}
	if (changed || first || strcmp(h->last, result) != 0) {
		strlcpy(h->last, result, sizeof(h->last));
		report(h, changed, count, of);
	}
	jitter = c->interval / 20;
	next = h->started_ms + c->interval - proc_now_ms();
	if (jitter > 0)
		next += (long long)arc4random_uniform(2 * jitter + 1) - jitter;
	timer_ms(&h->ev_timer, next);
}

static void
check_io_cb(int fd, short event, void *arg)
{
	struct hcheck	*h = arg;

	h->io(h, event);
}

/* The next I/O a check waits for: EV_READ or EV_WRITE. */
void
check_io(struct hcheck *h, short events)
{
	if (event_initialized(&h->ev_io))
		event_del(&h->ev_io);
	event_set(&h->ev_io, h->fd, events, check_io_cb, h);
	event_add(&h->ev_io, NULL);
}

static void
check_start(struct hcheck *h)
{
	h->running = 1;
	h->started_ms = proc_now_ms();
	h->sent = h->len = 0;
	h->phase = "connect";
	timer_ms(&h->ev_timer, h->be->check.timeout);
	check_tcp_start(h);
}

/* Idle: time for the next check.  Running: it took too long. */
static void
health_timer(int fd, short event, void *arg)
{
	struct hcheck	*h = arg;
	char		 why[CHECK_RESULT_MAX];

	if (!h->running) {
		check_start(h);
		return;
	}
	snprintf(why, sizeof(why), "timeout (%s)", h->phase);
	check_done(h, 0, why);
}

static void
hbackend_free(struct hbackend *be)
{
	uint32_t	 i;

	for (i = 0; i < be->nservers; i++) {
		if (be->servers[i] == NULL)
			continue;
		check_stop(be->servers[i]);
		free(be->servers[i]);
	}
	free(be->servers);
	if (be->re_ok)
		regfree(&be->re);
	if (be->tls != NULL)
		tls_config_free(be->tls);
	free(be->ca.mem);
	free(be);
}

static void
gen_free(struct health_gen *g)
{
	uint32_t	 i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nreceived; i++)
		hbackend_free(g->backends[i]);
	free(g->backends);
	free(g);
}

/* Frames from the parent: trusted more than a child's, checked anyway. */
static void
receive_start(struct imsg *imsg)
{
	struct health_start	 hs;

	if (imsg->datalen != sizeof(hs) || health_pending != NULL)
		fatalx("bad health configuration start");
	memcpy(&hs, imsg->data, sizeof(hs));
	if (hs.nbackends > UINT16_MAX)
		fatalx("bad health configuration start");
	if ((health_pending = calloc(1, sizeof(*health_pending))) == NULL ||
	    (hs.nbackends > 0 && (health_pending->backends =
	    calloc(hs.nbackends, sizeof(struct hbackend *))) == NULL))
		fatal("calloc");
	health_pending->generation = hs.generation;
	health_pending->nbackends = hs.nbackends;
}

static struct tls_config *
backend_tls_config(struct hbackend *be)
{
	struct tls_config	*cfg;

	if ((cfg = tls_config_new()) == NULL)
		fatal("tls_config_new");
	if (!be->verify) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	} else if (be->ca.mem == NULL || tls_config_set_ca_mem(cfg,
	    be->ca.mem, be->ca.len) == -1)
		fatalx("backend %s: tls check CA: %s", be->name,
		    tls_config_error(cfg));
	return cfg;
}

static void
receive_backend(struct imsg *imsg)
{
	struct health_gen	*g = health_pending;
	struct health_backend	 hb;
	struct hbackend		*be;

	if (g == NULL || imsg->datalen != sizeof(hb) ||
	    g->nreceived >= g->nbackends)
		fatalx("bad health backend frame");
	memcpy(&hb, imsg->data, sizeof(hb));
	hb.name[sizeof(hb.name) - 1] = '\0';
	hb.server_name[sizeof(hb.server_name) - 1] = '\0';
	hb.check.expect[CHECK_EXPECT_MAX] = '\0';
	if (hb.nservers == 0 || hb.nservers > L4D_MAX_SERVERS ||
	    hb.check.type < CHECK_TCP || hb.check.type > CHECK_SEND_EXPECT ||
	    hb.check.interval < CHECK_INTERVAL_MIN ||
	    hb.check.timeout <= 0 || hb.check.timeout > hb.check.interval ||
	    hb.check.send_len > CHECK_SEND_MAX || hb.proxy < 0 ||
	    hb.proxy > 2 ||
	    hb.check.expect_len > CHECK_EXPECT_MAX)
		fatalx("bad health backend frame");
	if ((be = calloc(1, sizeof(*be))) == NULL ||
	    (be->servers = calloc(hb.nservers, sizeof(*be->servers))) == NULL)
		fatal("calloc");
	be->id = hb.backend_id;
	strlcpy(be->name, hb.name, sizeof(be->name));
	be->check = hb.check;
	be->verify = hb.verify;
	be->proxy = hb.proxy;
	strlcpy(be->server_name, hb.server_name, sizeof(be->server_name));
	be->nservers = hb.nservers;
	if (be->check.type == CHECK_SEND_EXPECT && be->check.expect_regex) {
		if (regcomp(&be->re, be->check.expect, REG_EXTENDED |
		    REG_NOSUB) != 0)
			fatalx("backend %s: expect does not compile",
			    be->name);
		be->re_ok = 1;
	}
	g->backends[g->nreceived++] = be;
}

static struct hbackend *
pending_backend(uint32_t id)
{
	uint32_t	 i;

	for (i = 0; health_pending != NULL && i < health_pending->nreceived;
	    i++)
		if (health_pending->backends[i]->id == id)
			return health_pending->backends[i];
	return NULL;
}

static void
receive_server(struct imsg *imsg)
{
	struct health_server	 hs;
	struct hbackend		*be;
	struct hcheck		*h;

	if (imsg->datalen != sizeof(hs))
		fatalx("bad health server frame");
	memcpy(&hs, imsg->data, sizeof(hs));
	if ((be = pending_backend(hs.backend_id)) == NULL ||
	    hs.server_id >= be->nservers || be->servers[hs.server_id] != NULL ||
	    hs.sslen > sizeof(hs.ss) || hs.sslen == 0)
		fatalx("bad health server frame");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("calloc");
	h->be = be;
	h->server_id = hs.server_id;
	hs.address[sizeof(hs.address) - 1] = '\0';
	strlcpy(h->address, hs.address, sizeof(h->address));
	h->ss = hs.ss;
	h->sslen = hs.sslen;
	h->up = hs.up != 0;
	h->checked = hs.checked != 0;
	h->removed = hs.removed != 0;
	h->fd = -1;
	evtimer_set(&h->ev_timer, health_timer, h);
	be->servers[hs.server_id] = h;
}

/* The CA a verifying tls check trusts, in pieces as the engines get it. */
static void
receive_blob(struct imsg *imsg)
{
	struct tls_blob_hdr	 h;
	struct hbackend		*be;
	size_t			 n;

	if (imsg->datalen < sizeof(h))
		fatalx("bad health blob frame");
	memcpy(&h, imsg->data, sizeof(h));
	n = imsg->datalen - sizeof(h);
	if (h.kind != BLOB_CA || (be = pending_backend(h.object_id)) ==
	    NULL || n == 0 || h.total == 0 || h.total > L4D_TLS_FILE_MAX)
		fatalx("bad health blob frame");
	if (h.offset == 0) {
		if (be->ca.mem != NULL || (be->ca.mem = malloc(h.total)) ==
		    NULL)
			fatalx("bad health blob frame");
		be->ca.len = h.total;
		be->ca.fill = 0;
	}
	if (be->ca.mem == NULL || h.total != be->ca.len ||
	    h.offset != be->ca.fill || n > be->ca.len - be->ca.fill)
		fatalx("bad health blob frame");
	memcpy(be->ca.mem + be->ca.fill, (uint8_t *)imsg->data + sizeof(h),
	    n);
	be->ca.fill += n;
}

static void
schedule_first(struct hcheck *h)
{
	long long	 span = h->be->check.interval;

	if (!h->checked && span > HEALTH_FIRST_MS)
		span = HEALTH_FIRST_MS;
	timer_ms(&h->ev_timer, arc4random_uniform(span));
}

/* A new generation replaces the old one whole; states came with it. */
static void
receive_end(struct imsg *imsg)
{
	struct health_gen	*g = health_pending;
	struct hbackend		*be;
	uint32_t		 i, j;

	if (g == NULL || imsg->datalen != 0 || g->nreceived != g->nbackends)
		fatalx("bad health configuration end");
	for (i = 0; i < g->nbackends; i++) {
		be = g->backends[i];
		for (j = 0; j < be->nservers; j++)
			if (be->servers[j] == NULL)
				fatalx("backend %s: server %u missing",
				    be->name, j);
		if (be->verify && be->ca.fill != be->ca.len)
			fatalx("backend %s: CA incomplete", be->name);
		if (be->check.type == CHECK_TLS)
			be->tls = backend_tls_config(be);
	}
	gen_free(health_cur);
	health_cur = g;
	health_pending = NULL;
	for (i = 0; i < g->nbackends; i++) {
		be = g->backends[i];
		for (j = 0; j < be->nservers; j++)
			if (!be->servers[j]->removed)
				schedule_first(be->servers[j]);
	}
	imsgev_compose(&health_parent, IMSG_CONF_END, 0, -1, NULL, 0);
	log_debug("generation %u: %u backends with checks", g->generation,
	    g->nbackends);
}

/* The parent says a server is down (a relay saw it fail): rise again. */
static void
receive_state(struct imsg *imsg)
{
	struct health_state	 hs;
	struct hbackend		*be = NULL;
	struct hcheck		*h;
	uint32_t		 i;

	if (imsg->datalen != sizeof(hs))
		fatalx("bad health state frame");
	memcpy(&hs, imsg->data, sizeof(hs));
	if (health_cur == NULL || hs.generation != health_cur->generation)
		return;
	for (i = 0; i < health_cur->nbackends; i++)
		if (health_cur->backends[i]->id == hs.backend_id)
			be = health_cur->backends[i];
	if (be == NULL || hs.server_id >= be->nservers)
		fatalx("bad health state frame");
	h = be->servers[hs.server_id];
	h->up = hs.up != 0;
	h->nok = h->nfail = 0;
	h->checked = 1;
	hs.result[sizeof(hs.result) - 1] = '\0';
	strlcpy(h->last, hs.result, sizeof(h->last));
}

static void
health_dispatch_parent(int fd, short event, void *arg)
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
		if (imsg.fd != -1)
			fatalx("unexpected descriptor from the parent");
		switch (imsg.hdr.type) {
		case IMSG_CONF_START:
			receive_start(&imsg);
			break;
		case IMSG_HEALTH_BACKEND:
			receive_backend(&imsg);
			break;
		case IMSG_HEALTH_SERVER:
			receive_server(&imsg);
			break;
		case IMSG_TLS_BLOB:
			receive_blob(&imsg);
			break;
		case IMSG_CONF_END:
			receive_end(&imsg);
			break;
		case IMSG_HEALTH_STATE:
			receive_state(&imsg);
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
