/*
 * The TLS engine: the one process that holds private keys.  A relay
 * hands it the TLS side of a session (the client's socket with the
 * hello bytes the relay already read, or a connected server socket)
 * and the plaintext side, its end of a socketpair.  The engine does
 * the handshake, tells the relay how it went, then moves bytes between
 * the two sides until both directions have ended.
 *
 * Contexts are built once per configuration (a generation, tls_ctx.c)
 * and live as long as a session uses them.  Sockets are driven through
 * libtls' callbacks, so that libtls never shuts down or closes a socket
 * on its own: half-closes are ours to pass on.  tls_engine.h is what
 * this file and tls_ctx.c share.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "l4d.h"
#include "tls_engine.h"

#define ENG_BUF_SIZE		(16 * 1024)	/* per direction, and only
						   while a side lags */
#define ENG_ROUNDS		4	/* buffers a direction moves per turn */
#define ENG_FD_RESERVE		(32 + 2 * L4D_MAX_RELAYS)
#define ENG_SWEEP_S		1	/* look for vanished plaintext sides,
					   report direct sessions' bytes */
#define ENG_NEWS_MS		10	/* a direct session's READY and DONE
					   wait so long for company */
#define ENG_BYTES_BATCH		(IMSG_MAX_SIZE / sizeof(struct tls_bytes) - 1)

#define ENG_RX_SMALL		512	/* reads below this are read ahead */
#define ENG_RX_BUF		4096

#define REC_HDR_LEN		5
#define REC_HANDSHAKE		22

#define terminated(a)		(memchr((a), '\0', sizeof(a)) != NULL)

/* Bytes a destination could not take yet; a buffer only meanwhile. */
struct pbuf {
	uint8_t			*buf;
	size_t			 off;
	size_t			 len;
};
#define pbuf_pending(b)		((b)->off < (b)->len)

#define TS_HANDSHAKE		0
#define TS_RELAY		1
#define TS_DEAD			2	/* failed; waits for its PLAIN */

/* How a session's sockets are closed. */
#define END_NORMAL		0
#define END_RESET_TLS		1	/* the TLS side gets a reset */
#define END_RESET_PLAIN		2

/*
 * up is TLS side to plaintext side, down the other way.  A direction
 * is done when its source ended, its bytes are out and its destination
 * was shut: for down that is close_notify, then SHUT_WR.
 */
struct tsess {
	TAILQ_ENTRY(tsess)	 entry;		/* its channel's */
	TAILQ_ENTRY(tsess)	 hup_entry;	/* plaintext side unwatched */
	TAILQ_ENTRY(tsess)	 run_entry;	/* more to move next turn */
	struct chan		*chan;
	struct egen		*gen;
	uint64_t		 id;
	uint32_t		 leg;
	int			 tfd;		/* TLS side */
	int			 pfd;		/* plaintext side */
	struct tls		*tls;
	uint8_t			 state;
	uint8_t			 in_hup;
	uint8_t			 queued;
	uint8_t			 up_eof;
	uint8_t			 up_shut;
	uint8_t			 down_eof;
	uint8_t			 down_shut;
	uint8_t			 t_fin;		/* the TLS socket read EOF */
	uint8_t			 t_dry;		/* its last read said EAGAIN */
	uint8_t			 t_empty;	/* read short, no event since */
	uint8_t			 t_rdhup;	/* its FIN is in (EV_CLOSED) */
	uint8_t			 p_empty;	/* the same, plaintext side */
	uint8_t			 p_rdhup;
	uint8_t			 reneg;		/* client renegotiated */
	uint8_t			 direct;	/* pfd: the server itself */
	uint8_t			 quiet;		/* the relay forgot it */
	uint8_t			 first_fin;	/* direct: enum end_cause */
	uint8_t			 cause;		/* direct: how it ends */
	int			 t_errno;	/* the TLS socket failed */
	short			 hs_want;	/* EV_* libtls waits for */
	short			 up_want;
	short			 down_want;
	short			 t_mask;	/* EV_* armed */
	short			 p_mask;
	struct event		 ev_t;
	struct event		 ev_p;
	uint8_t			*hello;		/* read by the relay */
	size_t			 hello_len;
	size_t			 hello_off;
	uint8_t			 rec_hdr[REC_HDR_LEN];
	size_t			 rec_have;
	size_t			 rec_left;
	struct pbuf		 up;
	struct pbuf		 down;
	/* direct sessions: the books and timers the relay gave us */
	RB_ENTRY(tsess)		 id_entry;
	uint64_t		 up_bytes;
	uint64_t		 down_bytes;
	uint64_t		 rep_up;	/* as last reported */
	uint64_t		 rep_down;
	long long		 last_ms;
	long long		 half_ms;	/* first FIN; 0: none yet */
	int32_t			 idle_limit;	/* ms, -1: none */
	int32_t			 half_limit;
	struct event		 ev_timer;
};

struct engine_env		 env;
static uint8_t			 scratch[ENG_BUF_SIZE];

static void	 ts_run(struct tsess *);
static void	 ts_event(int, short, void *);
static void	 ts_end(struct tsess *, int, const char *, const char *);
static void	 direct_timer(struct tsess *, long long);
static uint32_t	 ts_kind(struct tsess *, const char *, const char *);

int		 tsess_cmp(struct tsess *, struct tsess *);
RB_PROTOTYPE(tsess_ids, tsess, id_entry, tsess_cmp);

/*
 * By id and leg: a session with TLS on both sides is two legs of one
 * id, which may come to the same engine.
 */
int
tsess_cmp(struct tsess *a, struct tsess *b)
{
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->leg != b->leg)
		return a->leg < b->leg ? -1 : 1;
	return 0;
}
RB_GENERATE(tsess_ids, tsess, id_entry, tsess_cmp);

/* A direct session once the engine relays it (its server came). */
#define direct_live(s)		((s)->direct && (s)->pfd != -1)

/*
 * Small helpers.
 */

void
str_copy(char *dst, const char *src, size_t len)
{
	strlcpy(dst, src != NULL ? src : "", len);
}

/* "what: why", cut to fit: a reason is a line, not a buffer. */
void
reason_join(char *buf, size_t len, const char *what, const char *why)
{
	strlcpy(buf, what, len);
	strlcat(buf, ": ", len);
	strlcat(buf, why, len);
}

/* libtls may have no words for an error (out of memory). */
const char *
err_str(const char *e)
{
	return e != NULL ? e : "unknown error";
}

static const char *
id_str(uint64_t id)
{
	static char	 buf[32];

	snprintf(buf, sizeof(buf), "%u-%llu", (unsigned)(id >> 48),
	    (unsigned long long)(id & 0xffffffffffffULL));
	return buf;
}

/* SO_LINGER 0 makes close(2) of a TCP socket send a reset. */
static void
close_fd(int fd, int reset)
{
	struct linger	 lg = { 1, 0 };

	if (fd == -1)
		return;
	if (reset)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * A relay's channel is believed only once it is a stream socket.  A
 * session's sockets are not asked: whatever a relay passes, every read
 * and write here says MSG_DONTWAIT, and one that is no connected socket
 * fails its first recv(2) or send(2), which ends that session alone.
 */
static int
sock_prepare(int fd)
{
	int		 type, flags;
	socklen_t	 len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return -1;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/* The peer closed its end entirely, not just its writing half. */
static int
sock_hup(int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/* Sessions are capped by descriptors: two each, and a margin. */
static uint32_t
eng_session_cap(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return 1000000;
	if (rl.rlim_cur < 2 * ENG_FD_RESERVE)
		return 8;
	return (uint32_t)((rl.rlim_cur - ENG_FD_RESERVE) / 2);
}

/*
 * Sessions: the socket callbacks.
 */

/*
 * The client's records, followed from its first byte.  Once the
 * handshake is over a handshake record can only be a renegotiation
 * (TLS 1.2, which libtls refuses with a warning and goes on) or a
 * violation (TLS 1.3 sends them encrypted): either ends the session.
 */
static int
rec_track(struct tsess *s, const uint8_t *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		if (s->rec_left > 0) {
			k = n < s->rec_left ? n : s->rec_left;
			s->rec_left -= k;
			p += k;
			n -= k;
			continue;
		}
		s->rec_hdr[s->rec_have++] = *p++;
		n--;
		if (s->rec_have < REC_HDR_LEN)
			continue;
		s->rec_have = 0;
		s->rec_left = (size_t)s->rec_hdr[3] << 8 | s->rec_hdr[4];
		if (s->rec_hdr[0] == REC_HANDSHAKE && s->state == TS_RELAY)
			return -1;
	}
	return 0;
}

/*
 * A read that came back short emptied the socket, unless a FIN waits
 * behind the bytes: where the loop reports FINs (EV_CLOSED), the next
 * read waits for an event instead of asking for an EAGAIN.  Bytes that
 * come later are an edge of their own.
 */
#define read_short(fin)		(env.rdhup && !(fin))
/*
 * Nor is a socket read before it is in the event set: being added, an
 * edge-triggered socket that has bytes says so at once.
 */
#define unwatched(mask)		(env.edge && (mask) == 0)

/* The socket's bytes; what libtls makes of EAGAIN, an error, a FIN. */
static ssize_t
ts_recv(struct tsess *s, void *buf, size_t len)
{
	ssize_t	 n;

	if (s->t_empty || unwatched(s->t_mask)) {
		s->t_dry = 1;
		return TLS_WANT_POLLIN;
	}
	do {
		n = recv(s->tfd, buf, len, MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n > 0 && (size_t)n < len)
		s->t_empty = read_short(s->t_rdhup);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		s->t_dry = 1;
		return TLS_WANT_POLLIN;
	}
	if (n == -1) {
		s->t_errno = errno;
		return -1;
	}
	if (n == 0) {
		s->t_fin = 1;
		return TLS_WANT_POLLIN;
	}
	return n;
}

/*
 * OpenSSL reads a record's header, then its body: a small read takes
 * what the socket has (up to ENG_RX_BUF) and keeps the rest where the
 * hello was, so that a handshake flight or a short request costs one
 * recv(2), not two a record.  Large reads go straight to the socket.
 */
static ssize_t
ts_read_ahead(struct tsess *s, uint8_t *buf, size_t len)
{
	static uint8_t	 rx[ENG_RX_BUF];
	ssize_t		 n;

	if ((n = ts_recv(s, rx, sizeof(rx))) < 0)
		return n;
	if ((size_t)n > len) {
		if ((s->hello = malloc(n - len)) == NULL) {
			s->t_errno = ENOMEM;
			return -1;
		}
		memcpy(s->hello, rx + len, n - len);
		s->hello_off = 0;
		s->hello_len = n - len;
		n = len;
	}
	memcpy(buf, rx, n);
	return n;
}

/*
 * The hello bytes the relay read come first, then the socket.  A FIN
 * is kept from libtls: OpenSSL 3 takes one without close_notify for a
 * fatal error, which would also end the other direction, so libtls is
 * told to wait and the engine ends the direction itself.
 */
static ssize_t
ts_read_cb(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct tsess	*s = arg;
	ssize_t		 n;

	if (s->hello_off < s->hello_len) {
		n = s->hello_len - s->hello_off;
		if ((size_t)n > len)
			n = len;
		memcpy(buf, s->hello + s->hello_off, n);
		s->hello_off += n;
		if (s->hello_off == s->hello_len) {
			free(s->hello);
			s->hello = NULL;
			s->hello_off = s->hello_len = 0;
		}
	} else if ((n = len < ENG_RX_SMALL ? ts_read_ahead(s, buf, len) :
	    ts_recv(s, buf, len)) < 0)
		return n;
	if (s->leg == TLS_LEG_CLIENT && rec_track(s, buf, n) == -1) {
		s->reneg = 1;
		return -1;
	}
	return n;
}

static ssize_t
ts_write_cb(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct tsess	*s = arg;
	ssize_t		 n;

	do {
		n = send(s->tfd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TLS_WANT_POLLOUT;
	if (n == -1)
		s->t_errno = errno;
	return n;
}

/* What went wrong, in the words that say it best. */
static const char *
ts_reason(struct tsess *s)
{
	const char	*e;

	if (s->reneg)
		return "client renegotiation refused";
	if (s->t_errno != 0)
		return strerror(s->t_errno);
	if (s->t_fin && s->state == TS_HANDSHAKE)
		return "connection closed during the handshake";
	if (s->t_fin)
		return "connection closed while libtls waited to read";
	if (s->tls != NULL && (e = tls_error(s->tls)) != NULL)
		return e;
	return "unknown error";
}

/*
 * Sessions: events.
 */

static void
ev_update(struct event *ev, int fd, short *cur, short want, void *arg)
{
	if (*cur == want)
		return;
	if (*cur != 0)
		event_del(ev);
	*cur = want;
	if (want == 0)
		return;
	event_set(ev, fd, want | EV_PERSIST, ts_event, arg);
	event_add(ev, NULL);
}

/* A plaintext side we do not read from is looked at by the sweep. */
static void
hup_watch(struct tsess *s, int on)
{
	if (on == s->in_hup)
		return;
	if (on)
		TAILQ_INSERT_TAIL(&env.hup, s, hup_entry);
	else
		TAILQ_REMOVE(&env.hup, s, hup_entry);
	s->in_hup = on;
	if (on)
		env.nhup++;
	else
		env.nhup--;
}

/* A direction used up its rounds: it goes on in the next turn. */
static void
ts_again(struct tsess *s)
{
	struct timeval	 tv = { 0, 0 };

	if (s->queued)
		return;
	TAILQ_INSERT_TAIL(&env.runq, s, run_entry);
	s->queued = 1;
	env.nrunq++;
	if (!evtimer_pending(&env.ev_runq, NULL))
		evtimer_add(&env.ev_runq, &tv);
}

static void
ts_dequeue(struct tsess *s)
{
	if (!s->queued)
		return;
	TAILQ_REMOVE(&env.runq, s, run_entry);
	s->queued = 0;
	env.nrunq--;
}

static int
plain_wants_read(struct tsess *s)
{
	if (s->pfd == -1 || s->down_eof)
		return 0;
	if (s->state == TS_HANDSHAKE)
		return s->down.len < ENG_BUF_SIZE;
	return !pbuf_pending(&s->down);
}

/*
 * Where the event loop can, a socket is watched edge-triggered for
 * reading from the start to the end, and for writing too from the
 * first time a write had to wait: every event runs the session, which
 * moves what it can until the sockets say EAGAIN, or queues itself.
 * The event set is touched at most once in between, and a socket that
 * is only writable (as a fresh one is) wakes nobody while no write
 * waits.  Elsewhere the wanted events are armed as they change.
 */
#define edge_mask(cur, want)	(EV_READ | EV_ET | \
	(env.rdhup ? EV_CLOSED : 0) | (((cur) | (want)) & EV_WRITE))

static void
ts_arm(struct tsess *s)
{
	short	 t = 0, p = 0;

	if (s->state == TS_HANDSHAKE)
		t = s->hs_want;
	else if (s->pfd != -1)
		t = s->up_want | s->down_want;
	if (plain_wants_read(s))
		p |= EV_READ;
	if (pbuf_pending(&s->up))
		p |= EV_WRITE;
	hup_watch(s, s->pfd != -1 && (p & EV_READ) == 0);
	if (env.edge) {
		t = edge_mask(s->t_mask, t);
		p = edge_mask(s->p_mask, p);
	}
	ev_update(&s->ev_t, s->tfd, &s->t_mask, t, s);
	/* a direct session's server waits for the handshake unwatched */
	if (s->pfd != -1 && !(s->direct && s->state == TS_HANDSHAKE))
		ev_update(&s->ev_p, s->pfd, &s->p_mask, p, s);
}

static void
ts_unwatch(struct tsess *s)
{
	ev_update(&s->ev_t, s->tfd, &s->t_mask, 0, s);
	ev_update(&s->ev_p, s->pfd, &s->p_mask, 0, s);
	hup_watch(s, 0);
	ts_dequeue(s);
}

/*
 * Sessions: life and end.
 */

static void
chan_send(struct chan *c, uint32_t type, const void *data, size_t len)
{
	if (!c->open)
		return;
	if (imsgev_compose(&c->iev, type, 0, -1, data, len) == -1)
		log_warn("relay %d", c->instance);
}

/*
 * What a relay only keeps books by, a direct session's handshake and
 * end, waits a little for company: a relay is woken once for many.
 */
static void
chan_send_later(struct chan *c, uint32_t type, const void *data, size_t len)
{
	if (!c->open)
		return;
	if (imsgev_compose_later(&c->iev, type, ENG_NEWS_MS, data, len) == -1)
		log_warn("relay %d", c->instance);
}

/*
 * Before the engine ends or half-closes a plaintext side, it says so,
 * written at once: the relay then knows an end it sees there from one
 * that an engine's death made (whose sockets close before its channel).
 */
static void
ts_done(struct tsess *s)
{
	struct tls_done	 d;

	if (s->chan == NULL || !s->chan->open || s->direct)
		return;
	memset(&d, 0, sizeof(d));
	d.id = s->id;
	d.leg = s->leg;
	chan_send(s->chan, IMSG_TLS_DONE, &d, sizeof(d));
	(void)imsgbuf_write(&s->chan->iev.ibuf);
}

static void
ts_failed(struct tsess *s, const char *what, const char *reason)
{
	struct tls_failed	 f;

	memset(&f, 0, sizeof(f));
	f.id = s->id;
	f.leg = s->leg;
	f.kind = ts_kind(s, what, reason);
	str_copy(f.reason, reason, sizeof(f.reason));
	chan_send(s->chan, IMSG_TLS_FAILED, &f, sizeof(f));
	/* libtls' words may already say what failed */
	if (strncmp(f.reason, what, strlen(what)) == 0)
		log_debug("session %s: %s", id_str(s->id), f.reason);
	else
		log_debug("session %s: %s: %s", id_str(s->id), what,
		    f.reason);
}

static void
pbuf_free(struct pbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->off = b->len = 0;
}

static void
ts_free(struct tsess *s)
{
	TAILQ_REMOVE(&s->chan->sessions, s, entry);
	RB_REMOVE(tsess_ids, &s->chan->ids, s);
	env.nsessions--;
	free(s);
}

/*
 * what and reason, when given, are a failure the relay is told of.  A
 * session that still waits for its PLAIN stays, dead, to take it.
 */
/*
 * What kind of failure, for the counters: libtls has only words, and
 * OpenSSL's are stable enough to be read.
 */
static uint32_t
ts_kind(struct tsess *s, const char *what, const char *reason)
{
	static const char *bad_cert[] = {
		"certificate verify failed", "unknown ca", "certificate revoked",
		"certificate expired", "bad certificate", "unsupported certificate",
		"not present in server certificate", "unable to get",
		"self-signed certificate", "self signed certificate", NULL
	};
	int		 i;

	if (s->reneg)
		return TLS_FAIL_RENEGOTIATION;
	if (what != NULL && strcmp(what, "refused") == 0)
		return TLS_FAIL_ENGINE;
	if (s->state != TS_HANDSHAKE)
		return TLS_FAIL_PROTOCOL;
	if (s->t_errno != 0 || s->t_fin)
		return TLS_FAIL_CLOSED;
	if (reason != NULL && strcasestr(reason,
	    "did not return a certificate") != NULL)
		return TLS_FAIL_NO_CLIENT_CERT;
	for (i = 0; reason != NULL && bad_cert[i] != NULL; i++)
		if (strcasestr(reason, bad_cert[i]) != NULL)
			return s->leg == TLS_LEG_CLIENT ?
			    TLS_FAIL_BAD_CLIENT_CERT : TLS_FAIL_SERVER_VERIFY;
	return TLS_FAIL_HANDSHAKE;
}

/* A direct session's end, with its books: the relay logs it from these. */
static void
direct_done(struct tsess *s, const char *what, const char *reason)
{
	struct tls_done	 d;

	if (s->quiet || !s->chan->open)
		return;
	memset(&d, 0, sizeof(d));
	d.id = s->id;
	d.leg = s->leg;
	d.cause = s->cause != CAUSE_NONE ? s->cause : s->first_fin !=
	    CAUSE_NONE ? s->first_fin : CAUSE_CLIENT_CLOSED;
	d.up = s->up_bytes;
	d.down = s->down_bytes;
	if (d.cause == CAUSE_TLS_ERROR)
		d.kind = ts_kind(s, what, reason);
	if (what != NULL && d.cause == CAUSE_TLS_ERROR) {
		if (strncmp(reason, what, strlen(what)) == 0)
			str_copy(d.reason, reason, sizeof(d.reason));
		else
			reason_join(d.reason, sizeof(d.reason), what, reason);
	}
	chan_send_later(s->chan, IMSG_TLS_DONE, &d, sizeof(d));
	if (what != NULL)
		log_debug("session %s: %s: %s", id_str(s->id), what, reason);
}

static void
ts_end(struct tsess *s, int reset, const char *what, const char *reason)
{
	if (direct_live(s)) {
		direct_done(s, what, reason);
		evtimer_del(&s->ev_timer);
	} else if (what != NULL)
		ts_failed(s, what, reason);
	ts_unwatch(s);
	if (s->pfd != -1)
		ts_done(s);
	if (s->tls != NULL)
		tls_free(s->tls);
	s->tls = NULL;
	close_fd(s->tfd, reset == END_RESET_TLS);
	close_fd(s->pfd, reset == END_RESET_PLAIN);
	s->tfd = s->pfd = -1;
	pbuf_free(&s->up);
	pbuf_free(&s->down);
	free(s->hello);
	s->hello = NULL;
	if (s->gen != NULL)
		gen_unref(s->gen);
	s->gen = NULL;
	s->state = TS_DEAD;
	if (s != s->chan->awaiting)
		ts_free(s);
}

/*
 * The socket gave us its error or a reset: the relay is told, as a
 * reset cannot cross a socketpair, and its side gets one where it can.
 */
static int
ts_tls_failed(struct tsess *s)
{
	const char	*what = "tls error";

	if (s->t_errno != 0 && !s->reneg)
		what = "tls side reset";
	s->cause = s->t_errno != 0 && !s->reneg ? CAUSE_CLIENT_CLOSED :
	    CAUSE_TLS_ERROR;
	ts_end(s, END_RESET_PLAIN, what, ts_reason(s));
	return -1;
}

static void
ts_ready(struct tsess *s)
{
	struct tls_ready	 r;

	memset(&r, 0, sizeof(r));
	r.id = s->id;
	r.leg = s->leg;
	r.resumed = tls_conn_session_resumed(s->tls);
	str_copy(r.version, tls_conn_version(s->tls), sizeof(r.version));
	str_copy(r.cipher, tls_conn_cipher(s->tls), sizeof(r.cipher));
	str_copy(r.sni, tls_conn_servername(s->tls), sizeof(r.sni));
	if (tls_peer_cert_provided(s->tls)) {
		str_copy(r.subject, tls_peer_cert_subject(s->tls),
		    sizeof(r.subject));
		str_copy(r.issuer, tls_peer_cert_issuer(s->tls),
		    sizeof(r.issuer));
	}
	if (s->direct)
		chan_send_later(s->chan, IMSG_TLS_READY, &r, sizeof(r));
	else
		chan_send(s->chan, IMSG_TLS_READY, &r, sizeof(r));
	log_debug("session %s: %s %s%s%s%s", id_str(s->id), r.version,
	    r.cipher, r.resumed ? " resumed" : "", r.subject[0] ? " " : "",
	    r.subject);
}

/*
 * libtls may want to read when the socket was not read dry: after a
 * post-handshake message, OpenSSL says "want read" for what may already
 * be there.  An edge-triggered socket would not say so again, so such a
 * wait is tried again at once (a few times, then in the next turn).
 */
#define tls_wait_real(s, rv)	((rv) != TLS_WANT_POLLIN || (s)->t_dry || \
				    (s)->t_fin)
#define TS_RETRIES		4

static int
ts_handshake(struct tsess *s)
{
	int	 rv, i;

	s->hs_want = 0;
	for (i = 0;; i++) {
		s->t_dry = 0;
		rv = tls_handshake(s->tls);
		if (tls_wait_real(s, rv) || i == TS_RETRIES)
			break;
	}
	if (!tls_wait_real(s, rv))
		ts_again(s);
	if (rv == TLS_WANT_POLLOUT || (rv == TLS_WANT_POLLIN && !s->t_fin)) {
		s->hs_want = rv == TLS_WANT_POLLIN ? EV_READ : EV_WRITE;
		return 0;
	}
	if (rv != 0) {
		if (s->direct)
			s->cause = CAUSE_TLS_ERROR;
		ts_end(s, END_RESET_PLAIN, "handshake failed", ts_reason(s));
		return -1;
	}
	s->state = TS_RELAY;
	ts_ready(s);
	return 0;
}

/*
 * Sessions: the data path.
 */

/* Keep what a destination could not take; its source waits for it. */
static int
pbuf_keep(struct tsess *s, struct pbuf *b, const uint8_t *p, size_t len)
{
	if (!pbuf_pending(b))
		b->off = b->len = 0;
	if (b->buf == NULL && (b->buf = malloc(ENG_BUF_SIZE)) == NULL) {
		log_warn("session %s", id_str(s->id));
		ts_end(s, END_RESET_TLS, NULL, NULL);
		return -1;
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	return 0;
}

/* The relay's end is gone or broken: the TLS side gets a reset. */
static int
plain_broken(struct tsess *s)
{
	log_debug("session %s: plaintext side: %s", id_str(s->id),
	    strerror(errno));
	s->cause = CAUSE_SERVER_CLOSED;
	ts_end(s, END_RESET_TLS, NULL, NULL);
	return -1;
}

/* Bytes written, 0 when the plaintext side is full, -1: ended. */
static ssize_t
plain_write(struct tsess *s, const uint8_t *p, size_t len)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		n = send(s->pfd, p + done, len - done,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return plain_broken(s);
		done += n;
	}
	s->up_bytes += done;
	return done;
}

/* Bytes read, 0 at EOF, -1: ended, -2: nothing yet. */
static ssize_t
plain_read(struct tsess *s, uint8_t *buf, size_t len)
{
	ssize_t	 n;

	if (s->p_empty || unwatched(s->p_mask))
		return -2;
	do {
		n = recv(s->pfd, buf, len, MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n > 0 && (size_t)n < len)
		s->p_empty = read_short(s->p_rdhup);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	if (n == -1)
		return plain_broken(s);
	return n;
}

/* Bytes written, fewer when libtls waits (down_want), -1: ended. */
static ssize_t
tls_side_write(struct tsess *s, const uint8_t *p, size_t len)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		n = tls_write(s->tls, p + done, len - done);
		if (n == TLS_WANT_POLLIN && s->t_fin)
			return ts_tls_failed(s);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			s->down_want = n == TLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE;
			break;
		}
		if (n == -1)
			return ts_tls_failed(s);
		done += n;
	}
	s->down_bytes += done;
	return done;
}

/*
 * The plaintext side during the handshake: what it sends waits for
 * the handshake.  Closed, not just shut for writing, it means that the
 * relay gave up (its handshake timeout, a kill), and so do we.
 */
static int
plain_early(struct tsess *s)
{
	ssize_t	 n;

	n = plain_read(s, scratch, ENG_BUF_SIZE - s->down.len);
	if (n == -1 || n == -2)
		return n == -1 ? -1 : 0;
	if (n > 0)
		return pbuf_keep(s, &s->down, scratch, n);
	s->down_eof = 1;
	if (!sock_hup(s->pfd))
		return 0;
	log_debug("session %s: plaintext side closed during the handshake",
	    id_str(s->id));
	ts_end(s, END_NORMAL, NULL, NULL);
	return -1;
}

/* A direct session's first FIN: its cause, and the half-closed timer. */
static void
direct_fin(struct tsess *s, uint8_t cause)
{
	if (!s->direct || s->first_fin != CAUSE_NONE)
		return;
	s->first_fin = cause;
	s->half_ms = proc_now_ms();
	if (s->half_limit >= 0)
		direct_timer(s, s->half_ms);
}

/* TLS side to plaintext side. */
static int
pump_up(struct tsess *s)
{
	struct pbuf	*b = &s->up;
	ssize_t		 n, w;
	int		 round;

	s->up_want = 0;
	for (round = 0;; round++) {
		if (pbuf_pending(b)) {
			if ((w = plain_write(s, b->buf + b->off,
			    b->len - b->off)) == -1)
				return -1;
			b->off += w;
			if (pbuf_pending(b))
				break;
			pbuf_free(b);
		}
		if (s->up_eof)
			break;
		if (round == ENG_ROUNDS) {
			ts_again(s);
			return 0;
		}
		s->t_dry = 0;
		n = tls_read(s->tls, scratch, sizeof(scratch));
		/* a FIN without close_notify ends the direction all the same */
		if (n == TLS_WANT_POLLIN && s->t_fin)
			n = 0;
		if (!tls_wait_real(s, n))
			continue;	/* a round: the socket may hold more */
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			s->up_want = n == TLS_WANT_POLLIN ? EV_READ : EV_WRITE;
			return 0;
		}
		if (n == -1)
			return ts_tls_failed(s);
		if (n == 0) {
			s->up_eof = 1;
			direct_fin(s, CAUSE_CLIENT_CLOSED);
			break;
		}
		if ((w = plain_write(s, scratch, n)) == -1 ||
		    (w < n && pbuf_keep(s, b, scratch + w, n - w) == -1))
			return -1;
	}
	if (s->up_eof && !pbuf_pending(b) && !s->up_shut) {
		ts_done(s);
		/* the other way over too: the close(2) at the end says FIN */
		if (!s->direct || !s->down_eof || pbuf_pending(&s->down) ||
		    !s->down_shut)
			(void)shutdown(s->pfd, SHUT_WR);
		s->up_shut = 1;
	}
	return 0;
}

/* close_notify, and the FIN once it is out. */
static void
tls_side_close(struct tsess *s)
{
	int	 rv;

	rv = tls_close(s->tls);
	if (rv == TLS_WANT_POLLOUT || (rv == TLS_WANT_POLLIN && !s->t_fin)) {
		s->down_want = rv == TLS_WANT_POLLIN ? EV_READ : EV_WRITE;
		return;
	}
	/* -1: the peer went first or away; the FIN goes all the same, by
	 * the close(2) at the end when the other way is over too */
	if (!s->up_eof || pbuf_pending(&s->up) || !s->up_shut)
		(void)shutdown(s->tfd, SHUT_WR);
	s->down_shut = 1;
}

/*
 * The relay's EOF: a FIN when it only shut its writing half, the end
 * of the session when it closed its end while the TLS side still had
 * something to say (its timers, a kill), as nothing would read it.
 */
static int
plain_eof(struct tsess *s)
{
	s->down_eof = 1;
	direct_fin(s, CAUSE_SERVER_CLOSED);
	/* a server's FIN is only a FIN */
	if (s->direct || s->up_eof || !sock_hup(s->pfd))
		return 0;
	log_debug("session %s: plaintext side closed", id_str(s->id));
	(void)tls_close(s->tls);
	ts_end(s, END_NORMAL, NULL, NULL);
	return -1;
}

/* Plaintext side to TLS side. */
static int
pump_down(struct tsess *s)
{
	struct pbuf	*b = &s->down;
	ssize_t		 n, w;
	int		 round;

	s->down_want = 0;
	for (round = 0;; round++) {
		if (pbuf_pending(b)) {
			if ((w = tls_side_write(s, b->buf + b->off,
			    b->len - b->off)) == -1)
				return -1;
			b->off += w;
			if (pbuf_pending(b))
				break;
			pbuf_free(b);
		}
		if (s->down_eof)
			break;
		if (round == ENG_ROUNDS) {
			ts_again(s);
			return 0;
		}
		if ((n = plain_read(s, scratch, sizeof(scratch))) == -1)
			return -1;
		if (n == -2)
			return 0;
		if (n == 0) {
			if (plain_eof(s) == -1)
				return -1;
			break;
		}
		if ((w = tls_side_write(s, scratch, n)) == -1 ||
		    (w < n && pbuf_keep(s, b, scratch + w, n - w) == -1))
			return -1;
	}
	if (s->down_eof && !pbuf_pending(b) && !s->down_shut)
		tls_side_close(s);
	return 0;
}

#define up_done(s)	((s)->up_eof && !pbuf_pending(&(s)->up) && \
			    (s)->up_shut)
#define down_done(s)	((s)->down_eof && !pbuf_pending(&(s)->down) && \
			    (s)->down_shut)

static void
ts_run(struct tsess *s)
{
	if (s->state == TS_HANDSHAKE) {
		if (ts_handshake(s) == -1)
			return;
		if (s->state == TS_HANDSHAKE) {
			if (!s->direct && plain_wants_read(s) &&
			    plain_early(s) == -1)
				return;
			ts_arm(s);
			return;
		}
	}
	if (s->pfd == -1) {
		ts_arm(s);
		return;
	}
	if (pump_up(s) == -1 || pump_down(s) == -1)
		return;
	if (up_done(s) && down_done(s)) {
		ts_end(s, END_NORMAL, NULL, NULL);
		return;
	}
	ts_arm(s);
}

static void
ts_event(int fd, short event, void *arg)
{
	struct tsess	*s = arg;

	if (event & (EV_READ | EV_CLOSED)) {
		if (fd == s->tfd) {
			s->t_empty = 0;
			s->t_rdhup |= (event & EV_CLOSED) != 0;
		} else {
			s->p_empty = 0;
			s->p_rdhup |= (event & EV_CLOSED) != 0;
		}
	}
	if (s->direct)
		s->last_ms = proc_now_ms();
	ts_run(s);
}

/*
 * A direct session's idle and half-closed timeouts, armed lazily as in
 * a relay: activity only moves last_ms, and an early firing re-arms for
 * what is left.
 */
static long long
direct_left(struct tsess *s, long long now, uint8_t *cause)
{
	long long	 left = 0, half;
	int		 armed = 0;

	if (s->idle_limit >= 0) {
		left = s->last_ms + s->idle_limit - now;
		*cause = CAUSE_IDLE_TIMEOUT;
		armed = 1;
	}
	if (s->half_ms != 0 && s->half_limit >= 0) {
		half = s->half_ms + s->half_limit - now;
		if (!armed || half < left) {
			left = half;
			*cause = CAUSE_HALF_CLOSED_TIMEOUT;
		}
		armed = 1;
	}
	if (!armed)
		return -1;
	return left < 0 ? 0 : left;
}

static void
direct_timer(struct tsess *s, long long now)
{
	struct timeval	 tv;
	long long	 left;
	uint8_t		 cause;

	if ((left = direct_left(s, now, &cause)) < 0)
		return;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	evtimer_add(&s->ev_timer, &tv);
}

static void
direct_timeout(int fd, short event, void *arg)
{
	struct tsess	*s = arg;
	long long	 now = proc_now_ms();
	uint8_t		 cause = CAUSE_NONE;

	if (direct_left(s, now, &cause) > 0) {
		direct_timer(s, now);
		return;
	}
	log_debug("session %s: %s", id_str(s->id), cause ==
	    CAUSE_IDLE_TIMEOUT ? "idle" : "half-closed too long");
	s->cause = cause;
	(void)tls_close(s->tls);
	ts_end(s, END_NORMAL, NULL, NULL);
}

static void
eng_runq(int fd, short event, void *arg)
{
	struct tsess	*s;
	uint32_t	 n = env.nrunq;

	while (n-- > 0 && (s = TAILQ_FIRST(&env.runq)) != NULL) {
		ts_dequeue(s);
		ts_run(s);
	}
}

/* What direct sessions moved since the last turn, for show sessions. */
static void
eng_report(void)
{
	static struct tls_bytes	 b[ENG_BYTES_BATCH];
	struct tsess		*s;
	size_t			 n;
	int			 i;

	for (i = 0; i < L4D_MAX_RELAYS; i++) {
		if (!env.chans[i].open)
			continue;
		n = 0;
		TAILQ_FOREACH(s, &env.chans[i].sessions, entry) {
			if (!direct_live(s) || (s->up_bytes == s->rep_up &&
			    s->down_bytes == s->rep_down))
				continue;
			b[n].id = s->id;
			b[n].up = s->rep_up = s->up_bytes;
			b[n].down = s->rep_down = s->down_bytes;
			if (++n == ENG_BYTES_BATCH) {
				chan_send(&env.chans[i], IMSG_TLS_BYTES, b,
				    n * sizeof(b[0]));
				n = 0;
			}
		}
		if (n > 0)
			chan_send(&env.chans[i], IMSG_TLS_BYTES, b,
			    n * sizeof(b[0]));
	}
}

/*
 * A plaintext side we do not read (its direction ended, or its bytes
 * wait for the TLS side) cannot tell us it went away: the relay closes
 * it when its timers end the session, and it is looked for here.
 */
static void
eng_sweep(int fd, short event, void *arg)
{
	struct timeval	 tv = { ENG_SWEEP_S, 0 };
	struct pollfd	*pfds;
	struct tsess	*s, **ss;
	uint32_t	 i, n = 0;

	evtimer_add(&env.ev_sweep, &tv);
	eng_report();
	if (env.nhup == 0)
		return;
	pfds = calloc(env.nhup, sizeof(*pfds));
	ss = calloc(env.nhup, sizeof(*ss));
	if (pfds == NULL || ss == NULL)
		goto done;
	TAILQ_FOREACH(s, &env.hup, hup_entry) {
		pfds[n].fd = s->pfd;
		pfds[n].events = POLLIN;
		ss[n++] = s;
	}
	if (poll(pfds, n, 0) <= 0)
		goto done;
	for (i = 0; i < n; i++)
		if (pfds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			log_debug("session %s: plaintext side gone",
			    id_str(ss[i]->id));
			/* a server that went away reset, or it would be read */
			ss[i]->cause = CAUSE_SERVER_CLOSED;
			ts_end(ss[i], ss[i]->direct ? END_RESET_TLS :
			    END_NORMAL, NULL, NULL);
		}
done:
	free(pfds);
	free(ss);
}

/*
 * Sessions: the start.
 */

static const char *
ts_accept(struct tsess *s, const struct tls_handoff *h,
    const uint8_t *hello)
{
	static char		 why[REASON_MAX];
	struct elistener	*el;
	struct srvctx		*srv;

	if ((el = gen_listener(s->gen, h->name)) == NULL) {
		snprintf(why, sizeof(why), "listener %s has no tls", h->name);
		return why;
	}
	if (el->error[0] != '\0')
		return el->error;
	if (h->hello_len > 0) {
		if ((s->hello = malloc(h->hello_len)) == NULL)
			return "out of memory";
		memcpy(s->hello, hello, h->hello_len);
		s->hello_len = h->hello_len;
	}
	srv = listener_ctx(el, h->sni);
	if (tls_accept_cbs(srv->ctx, &s->tls, ts_read_cb, ts_write_cb,
	    s) == -1) {
		str_copy(why, err_str(tls_error(srv->ctx)), sizeof(why));
		return why;
	}
	return NULL;
}

static const char *
ts_connect(struct tsess *s, const struct tls_handoff *h)
{
	static char		 why[REASON_MAX];
	struct ebackend		*eb;
	const char		*name;

	if ((eb = gen_backend(s->gen, h->name)) == NULL) {
		snprintf(why, sizeof(why), "backend %s has no tls", h->name);
		return why;
	}
	if (eb->error[0] != '\0')
		return eb->error;
	name = eb->server_name[0] != '\0' ? eb->server_name : h->host;
	if ((s->tls = tls_client()) == NULL)
		return "out of memory";
	if (tls_configure(s->tls, eb->cfg) == -1 ||
	    tls_connect_cbs(s->tls, ts_read_cb, ts_write_cb, s,
	    name[0] != '\0' ? name : NULL) == -1) {
		str_copy(why, err_str(tls_error(s->tls)), sizeof(why));
		return why;
	}
	return NULL;
}

static void
ts_start(struct tsess *s, const struct tls_handoff *h,
    const uint8_t *hello)
{
	const char	*why;

	if (env.nsessions > env.cap)
		why = "over the engine's session limit";
	else if (s->tfd == -1)
		why = "no socket came with the handoff";
	else if (env.gen == NULL)
		why = "no configuration yet";
	else {
		s->gen = env.gen;
		s->gen->refs++;
		why = h->leg == TLS_LEG_CLIENT ? ts_accept(s, h, hello) :
		    ts_connect(s, h);
	}
	if (why != NULL) {
		ts_end(s, END_RESET_TLS, "refused", why);
		return;
	}
	event_set(&s->ev_t, s->tfd, 0, ts_event, s);
	ts_run(s);
}

/*
 * Relay channels.  Everything a relay sends is checked: a frame that
 * does not parse ends the channel and every session it handed over.
 */

static void
chan_close(struct chan *c, const char *why)
{
	struct tsess	*s;
	int		 n = 0;

	c->open = 0;
	c->awaiting = NULL;
	while ((s = TAILQ_FIRST(&c->sessions)) != NULL) {
		ts_end(s, END_RESET_TLS, NULL, NULL);
		n++;
	}
	imsgev_clear(&c->iev);
	if (why != NULL)
		log_warnx("relay %d: %s; channel closed, %d sessions ended",
		    c->instance, why, n);
	else
		log_debug("relay %d: channel closed, %d sessions ended",
		    c->instance, n);
}

/*
 * A PLAIN follows its HANDOFF before the next HANDOFF: one that did
 * not get it by then is not going to.
 */
static void
chan_orphan(struct chan *c)
{
	struct tsess	*s = c->awaiting;

	c->awaiting = NULL;
	if (s->state == TS_DEAD)
		ts_free(s);
	else
		ts_end(s, END_RESET_TLS, "refused",
		    "no plaintext socket followed the handoff");
}

static int
chan_handoff(struct chan *c, struct imsg *imsg)
{
	struct tls_handoff	 h;
	struct tsess		*s;

	if (imsg->datalen < sizeof(h))
		return -1;
	memcpy(&h, imsg->data, sizeof(h));
	if (h.hello_len > HELLO_MAX ||
	    imsg->datalen != sizeof(h) + h.hello_len ||
	    (h.leg != TLS_LEG_CLIENT && h.leg != TLS_LEG_SERVER) ||
	    (h.leg == TLS_LEG_SERVER && h.hello_len != 0) ||
	    (h.direct != 0 && (h.direct != 1 || h.leg != TLS_LEG_CLIENT)) ||
	    !terminated(h.name) || !terminated(h.sni) || !terminated(h.host))
		return -1;
	if (c->awaiting != NULL)
		chan_orphan(c);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session %s", id_str(h.id));
		return 0;
	}
	s->chan = c;
	s->id = h.id;
	s->leg = h.leg;
	s->direct = h.direct;
	s->tfd = imsg->fd;
	s->pfd = -1;
	imsg->fd = -1;
	if (RB_INSERT(tsess_ids, &c->ids, s) != NULL) {
		log_warnx("relay %d: session %s handed over twice",
		    c->instance, id_str(h.id));
		close_fd(s->tfd, 1);
		free(s);
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->sessions, s, entry);
	env.nsessions++;
	/* a direct session's plaintext side comes once its server is up */
	if (!s->direct)
		c->awaiting = s;
	ts_start(s, &h, (uint8_t *)imsg->data + sizeof(h));
	return 0;
}

/* A direct session, by id: its leg is the client's. */
static struct tsess *
chan_find(struct chan *c, uint64_t id)
{
	struct tsess	 key;

	key.id = id;
	key.leg = TLS_LEG_CLIENT;
	return RB_FIND(tsess_ids, &c->ids, &key);
}

/*
 * A direct session's server, during the handshake (connected alongside
 * it) or after it: what the relay owed it goes first, and the engine
 * relays from the end of the handshake on; until then the socket is
 * not watched, and what the server says first waits in it.
 * One the engine ended meanwhile (its DONE or FAILED is on the way)
 * gets the server socket closed.
 */
static int
chan_server(struct chan *c, struct imsg *imsg, const struct tls_plain *pl)
{
	struct tsess	*s;

	if ((s = chan_find(c, pl->id)) == NULL)
		return 0;
	if (!s->direct || s->pfd != -1)
		return -1;
	if (imsg->fd == -1) {
		ts_end(s, END_RESET_TLS, "refused",
		    "no socket came with the server frame");
		return 0;
	}
	s->pfd = imsg->fd;
	imsg->fd = -1;
	s->idle_limit = pl->idle_ms;
	s->half_limit = pl->half_closed_ms;
	s->last_ms = proc_now_ms();
	event_set(&s->ev_p, s->pfd, 0, ts_event, s);
	evtimer_set(&s->ev_timer, direct_timeout, s);
	if (pl->pending_len > 0 && pbuf_keep(s, &s->up,
	    (uint8_t *)imsg->data + sizeof(*pl), pl->pending_len) == -1)
		return 0;
	if (s->first_fin != CAUSE_NONE)
		s->half_ms = s->last_ms;
	direct_timer(s, s->last_ms);
	/* with the hello: the handshake has nothing new to go on */
	if (s->state == TS_HANDSHAKE)
		ts_arm(s);
	else
		ts_run(s);
	return 0;
}

static int
chan_plain(struct chan *c, struct imsg *imsg)
{
	struct tsess	*s = c->awaiting;
	struct tls_plain pl;

	if (imsg->datalen < sizeof(pl))
		return -1;
	memcpy(&pl, imsg->data, sizeof(pl));
	if (pl.pending_len > TLS_PENDING_MAX ||
	    imsg->datalen != sizeof(pl) + pl.pending_len ||
	    pl.idle_ms < -1 || pl.half_closed_ms < -1)
		return -1;
	if (s == NULL || s->id != pl.id)
		return chan_server(c, imsg, &pl);
	if (pl.pending_len != 0 || pl.idle_ms != 0 || pl.half_closed_ms != 0)
		return -1;
	c->awaiting = NULL;
	if (s->state == TS_DEAD) {
		ts_free(s);
		return 0;
	}
	if (imsg->fd == -1) {
		ts_end(s, END_RESET_TLS, "refused",
		    "no socket came with the plaintext frame");
		return 0;
	}
	s->pfd = imsg->fd;
	imsg->fd = -1;
	event_set(&s->ev_p, s->pfd, 0, ts_event, s);
	ts_run(s);
	return 0;
}

/* The relay ended a session it gave us: nothing is said back. */
static int
chan_kill(struct chan *c, struct imsg *imsg)
{
	struct tsess	*s;
	uint64_t	 id;

	if (imsg->datalen != sizeof(id))
		return -1;
	memcpy(&id, imsg->data, sizeof(id));
	if ((s = chan_find(c, id)) == NULL || s->state == TS_DEAD)
		return 0;
	if (!s->direct)
		return -1;
	log_debug("session %s: ended by its relay", id_str(id));
	s->quiet = 1;
	if (s->tls != NULL && s->state == TS_RELAY)
		(void)tls_close(s->tls);
	ts_end(s, END_NORMAL, NULL, NULL);
	return 0;
}

static void
chan_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct chan	*c = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 rv;

	if (imsgev_io(iev, event) == -1) {
		chan_close(c, NULL);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			chan_close(c, "malformed frame");
			return;
		}
		if (n == 0)
			break;
		if (imsg.hdr.type == IMSG_TLS_HANDOFF)
			rv = chan_handoff(c, &imsg);
		else if (imsg.hdr.type == IMSG_TLS_PLAIN)
			rv = chan_plain(c, &imsg);
		else if (imsg.hdr.type == IMSG_TLS_KILL)
			rv = chan_kill(c, &imsg);
		else
			rv = -1;
		close_fd(imsg.fd, 1);
		if (rv == -1) {
			log_warnx("relay %d: bad frame type %u length %zu",
			    c->instance, imsg.hdr.type, imsg.datalen);
			imsg_free(&imsg);
			chan_close(c, "protocol violation");
			return;
		}
		imsg_free(&imsg);
	}
	imsgev_add(iev);
}

/* A relay (re)started: its channel replaces any earlier one. */
static void
chan_open(struct imsg *imsg)
{
	struct chan	*c;
	int		 instance;

	if (imsg->datalen != sizeof(instance) || imsg->fd == -1)
		fatalx("bad channel frame");
	memcpy(&instance, imsg->data, sizeof(instance));
	if (instance < 0 || instance >= L4D_MAX_RELAYS)
		fatalx("channel for relay %d", instance);
	c = &env.chans[instance];
	if (c->open)
		chan_close(c, NULL);
	if (sock_prepare(imsg->fd) == -1)
		fatal("channel for relay %d", instance);
	c->instance = instance;
	c->open = 1;
	imsgev_init(&c->iev, imsg->fd, PROC_RELAY, instance, chan_dispatch,
	    c);
	imsg->fd = -1;
	log_debug("relay %d: channel open", instance);
}

/*
 * The parent.
 */

static void
eng_ticket(struct imsg *imsg)
{
	struct tls_ticket_key	 k;
	int			 i;

	if (imsg->datalen != sizeof(k))
		fatalx("bad ticket key frame");
	memcpy(&k, imsg->data, sizeof(k));
	explicit_bzero(imsg->data, imsg->datalen);
	for (i = 0; i < env.ntickets; i++)
		if (env.tickets[i].keyrev == k.keyrev)
			goto done;
	if (env.ntickets == ENG_TICKET_KEYS) {
		explicit_bzero(&env.tickets[0], sizeof(env.tickets[0]));
		memmove(&env.tickets[0], &env.tickets[1],
		    sizeof(env.tickets[0]) * (ENG_TICKET_KEYS - 1));
		env.ntickets--;
	}
	env.tickets[env.ntickets++] = k;
	if (env.gen != NULL)
		gen_ticket(env.gen, &k);
	log_debug("session ticket key %u", k.keyrev);
done:
	explicit_bzero(&k, sizeof(k));
}

static void
eng_loaded(void)
{
	struct l4d_config	*conf = env.pending;
	struct egen		*old = env.gen;

	env.pending = NULL;
	env.gen = gen_build(conf);
	conf_wipe(conf);
	config_free(conf);
	if (old != NULL && old->refs == 0)
		gen_free(old);
	imsgev_compose(&env.parent, IMSG_CONF_END, 0, -1, NULL, 0);
	log_debug("generation %u loaded", env.gen->generation);
}

static void
eng_config(struct imsg *imsg)
{
	int	 rv;

	rv = config_receive(&env.pending, imsg);
	if (imsg->hdr.type == IMSG_TLS_BLOB)
		explicit_bzero(imsg->data, imsg->datalen);
	if (rv == -1)
		fatalx("bad configuration frame %u", imsg->hdr.type);
	if (rv == 1)
		eng_loaded();
}

static __dead void
eng_shutdown(void)
{
	exit(0);
}

static void
eng_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1) {
		log_debug("parent went away");
		eng_shutdown();
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
		case IMSG_TLS_LISTENER:
		case IMSG_TLS_CERT:
		case IMSG_TLS_BACKEND:
		case IMSG_TLS_BLOB:
		case IMSG_CONF_END:
			eng_config(&imsg);
			break;
		case IMSG_TLS_TICKET_KEY:
			eng_ticket(&imsg);
			break;
		case IMSG_TLS_CHANNEL:
			chan_open(&imsg);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			proc_log_level(&imsg);
			break;
		default:
			fatalx("unexpected frame %u from the parent",
			    imsg.hdr.type);
		}
		close_fd(imsg.fd, 0);
		imsg_free(&imsg);
	}
	imsgev_add(iev);
}

static void
eng_sighandler(int sig, short event, void *arg)
{
	if (sig == SIGTERM || sig == SIGINT)
		eng_shutdown();
	/* SIGHUP: the parent alone decides about reloads */
}

__dead void
tls_main(int fd, int instance, int count)
{
	struct timeval	 tv = { ENG_SWEEP_S, 0 };
	int		 i, features;

	memset(&env, 0, sizeof(env));
	setproctitle("tls %d", instance);
	snprintf(env.procname, sizeof(env.procname), "tls[%d]", instance);
	log_procname(env.procname);
	env.instance = instance;
	env.cap = eng_session_cap();
	TAILQ_INIT(&env.hup);
	TAILQ_INIT(&env.runq);
	for (i = 0; i < L4D_MAX_RELAYS; i++) {
		TAILQ_INIT(&env.chans[i].sessions);
		RB_INIT(&env.chans[i].ids);
	}
	if (tls_init() == -1)
		fatalx("tls_init");

	features = event_base_get_features(event_init());
	env.edge = (features & EV_FEATURE_ET) != 0;
	env.rdhup = env.edge && (features & EV_FEATURE_EARLY_CLOSE) != 0;
	signal(SIGPIPE, SIG_IGN);
	signal_set(&env.ev_sigterm, SIGTERM, eng_sighandler, NULL);
	signal_set(&env.ev_sigint, SIGINT, eng_sighandler, NULL);
	signal_set(&env.ev_sighup, SIGHUP, eng_sighandler, NULL);
	signal_add(&env.ev_sigterm, NULL);
	signal_add(&env.ev_sigint, NULL);
	signal_add(&env.ev_sighup, NULL);
	evtimer_set(&env.ev_runq, eng_runq, NULL);
	evtimer_set(&env.ev_sweep, eng_sweep, NULL);
	evtimer_add(&env.ev_sweep, &tv);

	imsgev_init(&env.parent, fd, PROC_PARENT, 0, eng_dispatch_parent,
	    NULL);
	log_debug("started, %d engines, session cap %u", count, env.cap);

	event_dispatch();
	eng_shutdown();
}
