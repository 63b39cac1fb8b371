/*
 * A relay's side of the TLS engines.  A relay never holds a key: where
 * a session's TLS is to end at l4d (a listener's tls:) or start there
 * (a backend's tls:), the relay hands that socket to an engine, with
 * the hello bytes it already read, and one end of a socketpair on
 * which the engine passes the plaintext.  The relay keeps the other end
 * and goes on as if it were the client (or the server) itself: routing,
 * balancing, timeouts, kill, counters and the data path stay the
 * relay's, and the engine does nothing but TLS.
 *
 * Frames from an engine are checked like any other; a session whose
 * engine dies ends with tls-error.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

struct engine {
	struct imsgev	 iev;
	int		 up;
};

static struct engine		 engines[L4D_MAX_ENGINES];
static struct tls_sessions	 tls_sessions = RB_INITIALIZER(&tls_sessions);
static unsigned int		 next_engine;

static void	 handoff_dispatch(int, short, void *);
static void	 tls_failure(struct session *, uint32_t);
static void	 engine_lost(int);
static int	 handoff_alive(uint64_t);

int		 peek_id_cmp(struct peek *, struct peek *);
RB_PROTOTYPE(tls_sessions, peek, tls_entry, peek_id_cmp);

int
peek_id_cmp(struct peek *a, struct peek *b)
{
	if (a->session->id != b->session->id)
		return a->session->id < b->session->id ? -1 : 1;
	return 0;
}
RB_GENERATE(tls_sessions, peek, tls_entry, peek_id_cmp);

/* The parent's frame: a new channel to engine N, replacing the old. */
void
handoff_channel(struct imsg *imsg)
{
	struct engine	*e;
	int		 n;

	if (imsg->datalen != sizeof(n) || imsg->fd == -1)
		fatalx("bad tls channel frame");
	memcpy(&n, imsg->data, sizeof(n));
	if (n < 0 || n >= L4D_MAX_ENGINES)
		fatalx("bad tls channel frame");
	e = &engines[n];
	if (e->up)
		engine_lost(n);
	imsgev_init(&e->iev, imsg->fd, PROC_TLS, n, handoff_dispatch, e);
	imsg->fd = -1;
	e->up = 1;
	log_debug("channel to tls engine %d", n);
}

/* Its sessions end with it: their TLS state was in that process. */
static void
engine_lost(int n)
{
	struct peek	*p, *next;

	log_debug("tls engine %d went away", n);
	engines[n].up = 0;
	imsgev_clear(&engines[n].iev);
	RB_FOREACH_SAFE(p, tls_sessions, &tls_sessions, next)
		if (p->engine == n) {
			if (p->tls_error == NULL)
				p->tls_error = strdup("the tls engine died");
			tls_failure(p->session, TLS_FAIL_ENGINE);
			session_end(p->session, CAUSE_TLS_ERROR, 0);
		}
}

/*
 * A plaintext side of a session ended: before believing it, read what
 * its engine said, which may be why (a FAILED), or that it is gone.
 * Returns 1 when that ended the session.
 */
int
handoff_settle(struct session *s, int fd)
{
	struct peek	*p = s->peek;
	struct engine	*e;
	uint64_t	 id = s->id;
	int		 n;

	if (p == NULL || (n = p->engine) < 0 ||
	    !((p->terminate && fd == s->cfd) ||
	    (p->server_leg && fd == s->sfd)))
		return 0;
	if (engines[n].up) {
		e = &engines[n];
		handoff_dispatch(e->iev.ibuf.fd, EV_READ, e);
		/* ended by what came: it may be gone, do not touch it */
		if (!handoff_alive(id))
			return 1;
	}
	if (p->engine_done)
		return 0;
	/* no word from the engine: it died, its channel not closed yet */
	if (p->tls_error == NULL)
		p->tls_error = strdup("the tls engine died");
	tls_failure(s, TLS_FAIL_ENGINE);
	session_end(s, CAUSE_TLS_ERROR, fd == s->cfd ? RESET_SERVER :
	    RESET_CLIENT);
	return 1;
}

static int
engine_pick(void)
{
	unsigned int	 i, n;

	for (i = 0; i < L4D_MAX_ENGINES; i++) {
		n = (next_engine + i) % L4D_MAX_ENGINES;
		if (engines[n].up) {
			next_engine = n + 1;
			return (int)n;
		}
	}
	return -1;
}

/*
 * Give fd (and the hello bytes) to an engine; returns our end of the
 * plaintext socketpair (for a direct session, whose plaintext side
 * comes later, 0), or -1 with fd still ours.
 */
static int
handoff_send(struct session *s, struct tls_handoff *h, int fd,
    const uint8_t *hello)
{
	static uint8_t	 buf[sizeof(struct tls_handoff) + HELLO_MAX];
	struct tls_plain pl;
	struct peek	*p = s->peek;
	struct engine	*e;
	int		 sp[2] = { -1, -1 }, n;

	if ((n = p->engine) < 0 && (n = engine_pick()) == -1) {
		log_warnx("session %s: no tls engine", session_idstr(s));
		return -1;
	}
	e = &engines[n];
	if (h->hello_len > HELLO_MAX || (!h->direct &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) == -1))
		return -1;
	h->id = s->id;
	memcpy(buf, h, sizeof(*h));
	if (h->hello_len > 0)
		memcpy(buf + sizeof(*h), hello, h->hello_len);
	if (imsgev_compose(&e->iev, IMSG_TLS_HANDOFF, 0, fd, buf,
	    sizeof(*h) + h->hello_len) == -1) {
		if (sp[0] != -1) {
			close(sp[0]);
			close(sp[1]);
		}
		return -1;
	}
	memset(&pl, 0, sizeof(pl));
	pl.id = s->id;
	if (!h->direct && imsgev_compose(&e->iev, IMSG_TLS_PLAIN, 0, sp[1],
	    &pl, sizeof(pl)) == -1)
		close(sp[1]);	/* the engine fails the session */
	if (p->engine < 0) {
		p->engine = n;
		p->session = s;
		RB_INSERT(tls_sessions, &tls_sessions, p);
	}
	return h->direct ? 0 : sp[0];
}

/*
 * The client's TLS ends at l4d: the engine gets the client's socket,
 * out of our poller first, since it stays open in the engine.  Returns
 * -1 when the session ended.
 */
int
handoff_client(struct session *s)
{
	struct peek		*p = s->peek;
	struct tls_handoff	 h;
	int			 fd;

	memset(&h, 0, sizeof(h));
	h.leg = TLS_LEG_CLIENT;
	strlcpy(h.name, s->listener->name, sizeof(h.name));
	if (p->sni != NULL)
		strlcpy(h.sni, p->sni, sizeof(h.sni));
	h.hello_len = p->len;
	/* a plain server: the engine relays, and we keep the books */
	h.direct = s->backend != NULL && !s->backend->tls_originate;
	if (s->cpolled)
		poll_remove(s, SIDE_CLIENT);
	s->cpolled = 0;
	if ((fd = handoff_send(s, &h, s->cfd, p->buf)) == -1) {
		tls_failure(s, TLS_FAIL_ENGINE);
		session_end(s, CAUSE_TLS_ERROR, 0);
		return -1;
	}
	s->cfd = h.direct ? -1 : fd;
	p->direct = h.direct;
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
	/* in= and out= of a terminated session count plaintext */
	s->c2s.bytes = s->s2c.bytes = 0;
	p->terminate = 1;
	p->sslrequest = 0;	/* the server gets plaintext */
	s->state = STATE_TLS_CLIENT;
	return 0;
}

/* The host part of "host:port" or "[v6]:port", for server_name. */
static void
server_host(const char *addr, char *buf, size_t len)
{
	const char	*end;
	size_t		 n;

	if (*addr == '[') {
		addr++;
		end = strchr(addr, ']');
	} else
		end = strrchr(addr, ':');
	n = end != NULL ? (size_t)(end - addr) : strlen(addr);
	if (n >= len)
		n = len - 1;
	memcpy(buf, addr, n);
	buf[n] = '\0';
}

/* TLS to the server: the engine connects over the socket we opened. */
int
handoff_server(struct session *s)
{
	struct tls_handoff	 h;
	int			 fd;

	/* a plain listener's session gets the state of its TLS leg now */
	if (s->peek == NULL) {
		if ((s->peek = calloc(1, sizeof(*s->peek))) == NULL) {
			session_end(s, CAUSE_TLS_ERROR, 0);
			return -1;
		}
		s->peek->engine = -1;
	}
	memset(&h, 0, sizeof(h));
	h.leg = TLS_LEG_SERVER;
	strlcpy(h.name, s->backend->name, sizeof(h.name));
	server_host(s->server->address, h.host, sizeof(h.host));
	poll_remove(s, SIDE_SERVER);
	s->spolled = 0;
	if ((fd = handoff_send(s, &h, s->sfd, NULL)) == -1) {
		tls_failure(s, TLS_FAIL_ENGINE);
		session_end(s, CAUSE_TLS_ERROR, 0);
		return -1;
	}
	s->sfd = fd;
	s->peek->server_leg = 1;
	s->state = STATE_TLS_SERVER;
	session_timer(s, s->listener->timeouts.handshake);
	return 0;
}

/*
 * The server is connected: a direct session's engine gets its socket,
 * with what we owe the server first, and relays from now on.  Its
 * timeouts go with it; a drain stays ours.  Returns -1 when the session
 * ended.
 */
int
handoff_direct(struct session *s)
{
	static uint8_t	 buf[sizeof(struct tls_plain) + TLS_PENDING_MAX];
	struct timeouts	*t = &s->listener->timeouts;
	struct peek	*p = s->peek;
	struct tls_plain pl;
	struct flow	*f = &s->c2s;
	size_t		 pending = f->len - f->off;

	if (p->engine < 0 || !engines[p->engine].up) {
		if (p->tls_error == NULL)
			p->tls_error = strdup("the tls engine died");
		tls_failure(s, TLS_FAIL_ENGINE);
		session_end(s, CAUSE_TLS_ERROR, RESET_SERVER);
		return -1;
	}
	if (pending > TLS_PENDING_MAX) {
		log_warnx("session %s: %zu bytes owed to the server",
		    session_idstr(s), pending);
		session_end(s, CAUSE_TLS_ERROR, RESET_SERVER);
		return -1;
	}
	memset(&pl, 0, sizeof(pl));
	pl.id = s->id;
	pl.pending_len = pending;
	pl.idle_ms = t->idle == TIMEOUT_INFINITE ? -1 : t->idle;
	pl.half_closed_ms = t->half_closed == TIMEOUT_INFINITE ? -1 :
	    t->half_closed;
	memcpy(buf, &pl, sizeof(pl));
	if (pending > 0)
		memcpy(buf + sizeof(pl), f->buf + f->off, pending);
	if (s->spolled)
		poll_remove(s, SIDE_SERVER);
	s->spolled = 0;
	if (imsgev_compose(&engines[p->engine].iev, IMSG_TLS_PLAIN, 0,
	    s->sfd, buf, sizeof(pl) + pending) == -1) {
		session_end(s, CAUSE_TLS_ERROR, RESET_SERVER);
		return -1;
	}
	s->sfd = -1;
	flow_release(f);
	s->state = STATE_TLS_DIRECT;
	handoff_rearm(s, proc_now_ms());
	return 0;
}

/*
 * A direct session's timer is ours for a drain and, until its engine
 * says the handshake is done, for the handshake; the rest is the
 * engine's.  Returns the milliseconds left, 0 when it is time (the
 * cause in *cause), -1 when nothing is left to watch.
 */
static long long
direct_left(struct session *s, long long now, enum end_cause *cause)
{
	long long	 hs = s->listener->timeouts.handshake, left = -1;

	if (s->peek->tls_client == NULL && hs != TIMEOUT_INFINITE) {
		left = s->start_ms + hs > now ? s->start_ms + hs - now : 0;
		*cause = CAUSE_HANDSHAKE_TIMEOUT;
	}
	if (s->drain_ms != 0 && (left == -1 || s->drain_ms - now < left)) {
		left = s->drain_ms > now ? s->drain_ms - now : 0;
		*cause = CAUSE_DRAINED;
	}
	return left;
}

void
handoff_rearm(struct session *s, long long now)
{
	enum end_cause	 cause;
	long long	 left;

	if ((left = direct_left(s, now, &cause)) == -1)
		poll_timer_del(&s->timer);
	else
		session_timer(s, left);
}

/* The timer of a direct session fired. */
void
handoff_timeout(struct session *s, long long now)
{
	enum end_cause	 cause;
	long long	 left;

	if ((left = direct_left(s, now, &cause)) > 0)
		session_timer(s, left);
	else if (left == 0)
		session_end(s, cause, 0);
}

void
handoff_forget(struct session *s)
{
	struct peek	*p = s->peek;

	if (p == NULL)
		return;
	/* ended here (a timeout, a kill): the engine lets go of it too */
	if (p->direct && p->engine >= 0 && !p->engine_done &&
	    engines[p->engine].up)
		(void)imsgev_compose(&engines[p->engine].iev, IMSG_TLS_KILL,
		    0, -1, &s->id, sizeof(s->id));
	if (p->engine >= 0 && p->session != NULL)
		RB_REMOVE(tls_sessions, &tls_sessions, p);
	free(p->tls_client);
	free(p->tls_server);
	free(p->tls_error);
	p->engine = -1;
}

/*
 * The session an engine's frame names, if it still carries that leg;
 * a READY only counts while the session waits for it, a FAILED at any
 * time (a TLS session can break after its handshake).
 */
/* Whether a session that had a TLS leg is still there. */
static int
handoff_alive(uint64_t id)
{
	struct session	 key_s;
	struct peek	 key;

	key_s.id = id;
	key.session = &key_s;
	return RB_FIND(tls_sessions, &tls_sessions, &key) != NULL;
}

static struct session *
handoff_find(uint64_t id, int engine, uint32_t leg, int ready)
{
	struct session	 key_s;
	struct peek	 key, *p;
	struct session	*s;

	key_s.id = id;
	key.session = &key_s;
	if ((p = RB_FIND(tls_sessions, &tls_sessions, &key)) == NULL ||
	    p->engine != engine)
		return NULL;
	s = p->session;
	if (!ready)
		return leg == TLS_LEG_CLIENT ? (p->terminate ? s : NULL) :
		    (s->backend != NULL && s->backend->tls_originate ? s :
		    NULL);
	if ((leg == TLS_LEG_CLIENT && s->state != STATE_TLS_CLIENT &&
	    (s->state != STATE_TLS_DIRECT || p->tls_client != NULL)) ||
	    (leg == TLS_LEG_SERVER && s->state != STATE_TLS_SERVER))
		return NULL;
	return s;
}

static void
tls_ready_terminate(struct tls_ready *r)
{
	r->version[sizeof(r->version) - 1] = '\0';
	r->cipher[sizeof(r->cipher) - 1] = '\0';
	r->sni[sizeof(r->sni) - 1] = '\0';
	r->subject[sizeof(r->subject) - 1] = '\0';
	r->issuer[sizeof(r->issuer) - 1] = '\0';
}

/* A leg is up: the session goes on to its server, or to relaying. */
static void
handoff_ready(struct session *s, const struct tls_ready *in)
{
	struct peek	*p = s->peek;
	struct counters	*c = &s->listener->stats->c;
	struct tls_ready *r;

	if ((r = malloc(sizeof(*r))) == NULL) {
		session_end(s, CAUSE_TLS_ERROR, 0);
		return;
	}
	*r = *in;
	if (s->state == STATE_TLS_CLIENT || s->state == STATE_TLS_DIRECT) {
		p->tls_client = r;
		c->tls_handshakes++;
		if (r->resumed)
			c->tls_resumed++;
		if (s->state == STATE_TLS_DIRECT)
			handoff_rearm(s, proc_now_ms());
		else
			session_connect(s);
		return;
	}
	p->tls_server = r;
	s->state = STATE_RELAYING;
	s->last_ms = proc_now_ms();
	session_timer(s, session_deadline(s, s->last_ms));
	s->sready = READY_READ | READY_WRITE;
	if (poll_add(s, SIDE_SERVER) == -1) {
		session_end(s, CAUSE_SHUTDOWN, 0);
		return;
	}
	session_upstream(s);
}

/* A failed TLS leg counts where its session came in. */
static void
tls_failure(struct session *s, uint32_t kind)
{
	s->listener->stats->c.tls_failures[kind]++;
	if (s->peek != NULL && s->peek->stats != NULL)
		s->peek->stats->c.tls_failures[kind]++;
}

/* How a direct session can end in its engine. */
static int
direct_cause(uint32_t cause)
{
	return cause == CAUSE_CLIENT_CLOSED || cause == CAUSE_SERVER_CLOSED ||
	    cause == CAUSE_IDLE_TIMEOUT || cause == CAUSE_HALF_CLOSED_TIMEOUT ||
	    cause == CAUSE_TLS_ERROR;
}

/* The engine closed both sockets: what is left is the books. */
static void
direct_end(struct session *s, const struct tls_done *d)
{
	struct peek	*p = s->peek;

	s->c2s.bytes = d->up;
	s->s2c.bytes = d->down;
	if (d->cause == CAUSE_TLS_ERROR)
		tls_failure(s, d->kind);
	if (d->reason[0] != '\0' && p->tls_error == NULL)
		p->tls_error = strdup(d->reason);
	if (d->reason[0] != '\0')
		log_debug("session %s: tls: %s", session_idstr(s), d->reason);
	session_end(s, d->cause, RESET_NONE);
}

static void
direct_bytes(int n, const void *data, size_t count)
{
	struct tls_bytes	 b;
	struct session		*s;
	size_t			 i;

	for (i = 0; i < count; i++) {
		memcpy(&b, (const uint8_t *)data + i * sizeof(b), sizeof(b));
		if ((s = handoff_find(b.id, n, TLS_LEG_CLIENT, 0)) == NULL ||
		    s->state != STATE_TLS_DIRECT)
			continue;
		if (b.up > s->c2s.bytes || b.down > s->s2c.bytes)
			s->last_ms = proc_now_ms();
		s->c2s.bytes = b.up;
		s->s2c.bytes = b.down;
	}
}

static void
handoff_frame(struct engine *e, int n, struct imsg *imsg)
{
	struct tls_ready	 r;
	struct tls_failed	 f;
	struct tls_done		 d;
	struct session		*s;

	switch (imsg->hdr.type) {
	case IMSG_TLS_READY:
		if (imsg->datalen != sizeof(r))
			break;
		memcpy(&r, imsg->data, sizeof(r));
		tls_ready_terminate(&r);
		if ((s = handoff_find(r.id, n, r.leg, 1)) == NULL)
			return;		/* it ended meanwhile */
		handoff_ready(s, &r);
		return;
	case IMSG_TLS_DONE:
		if (imsg->datalen != sizeof(d))
			break;
		memcpy(&d, imsg->data, sizeof(d));
		d.reason[sizeof(d.reason) - 1] = '\0';
		if ((s = handoff_find(d.id, n, d.leg, 0)) == NULL)
			return;
		s->peek->engine_done = 1;
		if (s->state != STATE_TLS_DIRECT)
			return;
		if (!direct_cause(d.cause) || d.kind >= TLS_FAIL_MAX)
			break;
		direct_end(s, &d);
		return;
	case IMSG_TLS_BYTES:
		if (imsg->datalen == 0 ||
		    imsg->datalen % sizeof(struct tls_bytes) != 0)
			break;
		direct_bytes(n, imsg->data,
		    imsg->datalen / sizeof(struct tls_bytes));
		return;
	case IMSG_TLS_FAILED:
		if (imsg->datalen != sizeof(f))
			break;
		memcpy(&f, imsg->data, sizeof(f));
		f.reason[sizeof(f.reason) - 1] = '\0';
		if (f.kind >= TLS_FAIL_MAX)
			break;
		if ((s = handoff_find(f.id, n, f.leg, 0)) == NULL)
			return;
		tls_failure(s, f.kind);
		log_debug("session %s: tls: %s", session_idstr(s), f.reason);
		s->peek->engine_done = 1;
		if (s->peek->tls_error == NULL)
			s->peek->tls_error = strdup(f.reason);
		/* the other side learns of it as it would of a reset */
		session_end(s, CAUSE_TLS_ERROR, f.leg == TLS_LEG_CLIENT ?
		    RESET_SERVER : RESET_CLIENT);
		return;
	}
	log_warnx("tls engine %d: bad frame %u length %zu", n,
	    imsg->hdr.type, imsg->datalen);
	engine_lost(n);
}

static void
handoff_dispatch(int fd, short event, void *arg)
{
	struct engine	*e = arg;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 i = e->iev.instance;

	if (imsgev_io(&e->iev, event) == -1) {
		engine_lost(i);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&e->iev.ibuf, &imsg)) == -1) {
			log_warnx("tls engine %d: malformed frame", i);
			engine_lost(i);
			return;
		}
		if (n == 0)
			break;
		if (imsg.fd != -1)	/* an engine passes us nothing */
			close(imsg.fd);
		handoff_frame(e, i, &imsg);
		imsg_free(&imsg);
		if (!e->up)
			return;
	}
	imsgev_add(&e->iev);
}
