/*
 * A routed session's first bytes.  The relay reads what the client
 * sends until it can tell where the session goes: a complete TLS
 * ClientHello (its server name and ALPN pick the route), or a first
 * byte that is no TLS at all (the no_sni route, at once).  On a
 * starttls: postgres listener it answers libpq's SSLRequest itself
 * first, and once the server is connected asks it the same question
 * before the hello goes on.
 *
 * The bytes wait in a buffer of the session's own, from the first one,
 * and the server gets them all before anything else; the buffer goes
 * as soon as it is sent, so an established session owns none.
 *
 * On a listener with proxy_protocol: the PROXY header of a trusted
 * front balancer comes first, before anything else is read (the
 * ClientHello included); its source address becomes the session's
 * client, which the access lists and the rate limit judge only then.
 * Such a listener peeks even without routes, up to the header.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define PEEK_BUF_MIN		2048

/* PostgreSQL's startup packets that are no StartupMessage. */
#define PG_PACKET_LEN		8
#define PG_SSLREQUEST		80877103
#define PG_GSSENCREQUEST	80877104

static const uint8_t pg_sslrequest[PG_PACKET_LEN] = {
	0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f
};

#define READ_DATA		0
#define READ_AGAIN		1
#define READ_EOF		2
#define READ_ERROR		3

static int	 peek_read(struct session *);
static int	 peek_step(struct session *, int eof);
static int	 peek_postgres(struct session *, int eof);
static void	 peek_route(struct session *, const struct hello *);
static void	 peek_handover(struct session *);
static int	 peek_starttls_send(struct session *);
static int	 peek_proxy(struct session *, int eof);

int
peek_start(struct session *s)
{
	struct peek	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("session %s: peek", session_idstr(s));
		session_end(s, CAUSE_SHUTDOWN, 0);
		return -1;
	}
	s->peek = p;
	p->engine = -1;
	p->phase = s->listener->starttls == STARTTLS_NONE ? PEEK_TLS :
	    PEEK_START;
	if (s->listener->proxy_accept) {
		p->next_phase = p->phase;
		p->phase = PEEK_PROXY;
		p->proxy_peer = s->client;
	}
	s->state = STATE_PEEKING;
	session_timer(s, s->listener->timeouts.handshake);
	/*
	 * The hello is often there by the time we accept: read first, and
	 * watch the socket only when it has to be waited for.  The batch
	 * keeps a session that ends here until we looked at it.
	 */
	relay_batch_begin();
	peek_ready(s);
	if (s->state == STATE_PEEKING && !s->cpolled) {
		if (poll_add(s, SIDE_CLIENT) == -1) {
			log_warn("session %s: poll", session_idstr(s));
			session_end(s, CAUSE_SHUTDOWN, 0);
		} else
			s->cpolled = 1;
	}
	relay_batch_end();
	return 0;
}

void
peek_free(struct session *s)
{
	struct peek	*p = s->peek;

	if (p == NULL)
		return;
	handoff_forget(s);
	free(p->buf);
	free(p->sni);
	free(p->alpn);
	free(p);
	s->peek = NULL;
}

/* Read until the socket runs dry, deciding as soon as the bytes allow. */
void
peek_ready(struct session *s)
{
	int	 r;

	for (;;) {
		switch ((r = peek_read(s))) {
		case READ_AGAIN:
			return;
		case READ_ERROR:
			session_end(s, CAUSE_CLIENT_CLOSED, 0);
			return;
		case READ_EOF:
			s->c2s.eof = 1;
			break;
		}
		s->last_ms = proc_now_ms();
		if (peek_step(s, r == READ_EOF))
			return;
	}
}

/*
 * One read into the peek buffer, which grows up to HELLO_MAX (up to
 * the largest PROXY header while one is read).
 */
static int
peek_read(struct session *s)
{
	struct peek	*p = s->peek;
	uint8_t		*nb;
	uint32_t	 ncap, max;
	ssize_t		 n;

	max = p->phase == PEEK_PROXY ? PROXY_V2_MAX : HELLO_MAX;
	if (p->len == p->cap) {
		if (p->cap >= max)
			return READ_DATA;	/* peek_step says too long */
		ncap = p->cap ? p->cap * 2 : PEEK_BUF_MIN;
		if (ncap > max)
			ncap = max;
		if ((nb = realloc(p->buf, ncap)) == NULL) {
			log_warn("session %s: peek", session_idstr(s));
			return READ_ERROR;
		}
		p->buf = nb;
		p->cap = ncap;
	}
	n = read(s->cfd, p->buf + p->len, p->cap - p->len);
	if (n == -1)
		return flow_peer_gone(errno) ? READ_ERROR : READ_AGAIN;
	if (n == 0)
		return READ_EOF;
	p->len += n;
	s->c2s.bytes += n;
	return READ_DATA;
}

static void
peek_bad(struct session *s, const char *why)
{
	log_debug("session %s: bad hello: %s", session_idstr(s), why);
	session_end(s, CAUSE_BAD_HELLO, 0);
}

/*
 * What the bytes so far say.  Returns 1 when the session left the peek
 * (routed or ended), 0 when it waits for more.
 */
static int
peek_step(struct session *s, int eof)
{
	struct peek	*p = s->peek;
	struct hello	 h;
	int		 r;

	if (p->phase == PEEK_PROXY) {
		if ((r = peek_proxy(s, eof)) <= 0)
			return r == 0 ? 0 : 1;
		if (p->len == 0 && !eof)
			return 0;
	}
	if (p->len == 0 && eof) {
		session_end(s, CAUSE_CLIENT_CLOSED, 0);
		return 1;
	}
	if (p->phase == PEEK_START) {
		if ((r = peek_postgres(s, eof)) == -1)
			return 1;
		if (r == 0)
			return 0;
		if (r == 2) {
			peek_route(s, NULL);
			return 1;
		}
	}
	switch (hello_parse(p->buf, p->len, &h)) {
	case HELLO_NEED_MORE:
		if (p->len >= HELLO_MAX)
			peek_bad(s, "no complete hello in 16 KiB");
		else if (eof)
			peek_bad(s, "the client closed before its hello ended");
		else
			return 0;
		return 1;
	case HELLO_NOT_TLS:
		if (p->sslrequest)
			peek_bad(s, "no TLS after SSLRequest");
		else
			peek_route(s, NULL);
		return 1;
	case HELLO_BAD:
		peek_bad(s, h.why ? h.why : "malformed");
		return 1;
	case HELLO_OK:
		peek_route(s, &h);
		return 1;
	}
	return 1;
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static void
peek_consume(struct peek *p, uint32_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
}

/*
 * The start of a PostgreSQL connection.  Returns -1 when the session
 * ended, 0 to wait for more, 1 when a ClientHello follows, 2 when it is
 * no TLS (a StartupMessage, or a client that closed).
 */
static int
peek_postgres(struct session *s, int eof)
{
	struct peek	*p = s->peek;
	uint32_t	 code;
	char		 answer;

	while (p->len > 0) {
		if (p->buf[0] == 0x16) {	/* direct TLS, PostgreSQL 17 */
			p->phase = PEEK_TLS;
			return 1;
		}
		if (p->len < PG_PACKET_LEN)
			return eof ? 2 : 0;
		code = be32(p->buf + 4);
		if (be32(p->buf) != PG_PACKET_LEN || (code != PG_SSLREQUEST &&
		    code != PG_GSSENCREQUEST) || p->sslrequest)
			return 2;
		/* GSSAPI encryption is not ours to offer: the client goes
		 * on with an SSLRequest or a plain StartupMessage */
		answer = code == PG_SSLREQUEST ? 'S' : 'N';
		if (send(s->cfd, &answer, 1, 0) != 1) {
			session_end(s, CAUSE_CLIENT_CLOSED, 0);
			return -1;
		}
		s->s2c.bytes++;		/* out= counts what the client got */
		peek_consume(p, PG_PACKET_LEN);
		if (code == PG_SSLREQUEST) {
			p->sslrequest = 1;
			p->phase = PEEK_TLS;
			return 1;
		}
	}
	if (eof) {		/* a GSSENCRequest, then nothing */
		session_end(s, CAUSE_CLIENT_CLOSED, 0);
		return -1;
	}
	return 0;
}

static void
peek_names(struct peek *p, const struct hello *h)
{
	char	 alpn[256];

	if (h->sni[0] != '\0' && (p->sni = strdup(h->sni)) == NULL)
		log_warn("%s", __func__);
	if (h->alpn_len > 0) {
		hello_alpn_text(h, alpn, sizeof(alpn));
		if ((p->alpn = strdup(alpn)) == NULL)
			log_warn("%s", __func__);
	}
}

/*
 * The routing decision: the first matching route; without one, a hello
 * that names a server goes to the listener's backend, and one without
 * a name (or bytes that are no TLS: h is NULL) to no_sni.
 */
static void
peek_route(struct session *s, const struct hello *h)
{
	struct listener	*l = s->listener;
	struct peek	*p = s->peek;
	struct route	*r = NULL;
	struct backend	*be;
	int		 terminate;

	/* plaintext must not slip past a terminating listener's TLS */
	if (h == NULL && l->tls_terminate && l->no_sni_name[0] == '\0' &&
	    !l->no_sni_none) {
		peek_bad(s, "no TLS on a listener with tls:");
		return;
	}
	if (h != NULL && (r = route_find(l, h)) != NULL) {
		be = r->backend;
		p->stats = r->stats;
	} else if (h != NULL && h->sni[0] != '\0') {
		be = l->backend;
		p->stats = l->stats_default;
	} else {
		be = l->no_sni;
		p->stats = l->stats_no_sni;
	}
	p->route = r;
	p->phase = PEEK_DONE;
	/* bytes that are no TLS can only pass through */
	terminate = h != NULL && (r != NULL ? r->tls == ROUTE_TLS_TERMINATE :
	    l->tls_terminate);
	if (h != NULL)
		peek_names(p, h);
	if (p->stats != NULL) {
		p->stats->c.total++;
		p->stats->c.active++;
	}
	if (be == NULL) {
		log_debug("session %s: no route for %s", session_idstr(s),
		    p->sni ? p->sni : h != NULL ? "a hello without SNI" :
		    "bytes that are no TLS");
		session_end(s, CAUSE_NO_ROUTE, 0);
		return;
	}
	s->backend = be;
	if (s->c2s.eof) {
		s->first_fin = CAUSE_CLIENT_CLOSED;
		s->half_closed_ms = proc_now_ms();
	}
	if (be->proxy_send)
		peek_keep_dst(s);
	/*
	 * A terminated session to a plain server connects before the
	 * handshake, and its engine gets both sockets at once; a client
	 * that must show a certificate is verified before any server
	 * hears of it, and a PROXY header waits for what the handshake
	 * tells it.
	 */
	p->early = terminate && !be->tls_originate && !l->tls_require &&
	    !be->proxy_send;
	if (terminate && !p->early)
		(void)handoff_client(s);
	else
		session_connect(s);
}

/*
 * The server is connected.  Returns -1 when the session ended, 0
 * otherwise; the session is relaying unless the server has to agree to
 * TLS first.
 */
int
peek_connected(struct session *s)
{
	if (s->peek->sslrequest) {
		s->state = STATE_STARTTLS;
		session_timer(s, s->listener->timeouts.handshake);
		return peek_starttls_send(s);
	}
	peek_handover(s);
	return 0;
}

/* What the client sent goes out first, as bytes the server lags on. */
static void
peek_handover(struct session *s)
{
	struct peek	*p = s->peek;

	if (p->len > 0) {
		s->c2s.buf = (char *)p->buf;
		s->c2s.len = p->len;
		s->c2s.off = 0;
	} else
		free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

static int
peek_starttls_send(struct session *s)
{
	struct peek	*p = s->peek;
	ssize_t		 n;

	while (p->sent < PG_PACKET_LEN) {
		n = send(s->sfd, pg_sslrequest + p->sent,
		    PG_PACKET_LEN - p->sent, 0);
		if (n == -1) {
			if (!flow_peer_gone(errno))
				return 0;
			log_debug("session %s: SSLRequest to %s: %s",
			    session_idstr(s), s->server->address,
			    strerror(errno));
			session_end(s, CAUSE_SERVER_CLOSED, 0);
			return -1;
		}
		p->sent += n;
	}
	return 0;
}

/* The server's answer to our SSLRequest: one byte, S or N. */
void
peek_starttls_ready(struct session *s, int events)
{
	ssize_t	 n;
	char	 c;

	if (s->peek->sent < PG_PACKET_LEN) {
		if (events & (READY_WRITE | READY_ERROR))
			(void)peek_starttls_send(s);
		return;
	}
	if (!(events & (READY_READ | READY_ERROR)))
		return;
	if ((n = read(s->sfd, &c, 1)) == -1 && !flow_peer_gone(errno))
		return;
	if (n <= 0) {
		session_end(s, CAUSE_SERVER_CLOSED, 0);
		return;
	}
	if (c != 'S') {
		log_warnx("session %s: server %s of backend %s does not take "
		    "TLS (it answered %s to SSLRequest): turn ssl on there",
		    session_idstr(s), s->server->address, s->backend->name,
		    c == 'N' ? "N" : "no S or N");
		session_end(s, CAUSE_STARTTLS_REFUSED, 0);
		return;
	}
	s->state = STATE_RELAYING;
	s->last_ms = proc_now_ms();
	session_timer(s, session_deadline(s, s->last_ms));
	peek_handover(s);
	s->sready = READY_READ | READY_WRITE;
	session_relay(s);
}

/*
 * The PROXY header.  Returns -1 when the session left the peek (ended,
 * or on a listener that does not route: connecting), 0 to wait for
 * more, 1 when what follows the header is to be read as usual.
 */
static int
peek_proxy(struct session *s, int eof)
{
	struct listener	*l = s->listener;
	struct peek	*p = s->peek;
	struct proxy_hdr h;
	enum end_cause	 cause;
	size_t		 salen;

	switch (proxy_parse(p->buf, p->len, &h)) {
	case PROXY_NEED_MORE:
		if (!eof)
			return 0;
		if (p->len == 0) {
			session_end(s, CAUSE_CLIENT_CLOSED, 0);
			return -1;
		}
		h.why = "the sender closed before its PROXY header ended";
		/* FALLTHROUGH */
	case PROXY_BAD:
		log_debug("session %s: bad PROXY header: %s",
		    session_idstr(s), h.why);
		session_end(s, CAUSE_BAD_PROXY_HEADER, 0);
		return -1;
	case PROXY_OK:
		break;
	}
	if (!h.local) {
		salen = h.src.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memset(&s->client, 0, sizeof(s->client));
		memcpy(&s->client, &h.src, salen);
		memset(&p->proxy_dst, 0, sizeof(p->proxy_dst));
		memcpy(&p->proxy_dst, &h.dst, salen);
		p->proxied = 1;
	}
	peek_consume(p, (uint32_t)h.len);
	p->phase = p->next_phase;
	if ((cause = access_check(l, (struct sockaddr *)&s->client,
	    proc_now_ms())) != CAUSE_NONE) {
		session_end(s, cause, 0);
		return -1;
	}
	if (listener_peeks(l))
		return 1;
	/* a plain forward: what came after the header goes on as is */
	p->phase = PEEK_DONE;
	s->backend = l->backend;
	if (s->c2s.eof) {
		s->first_fin = CAUSE_CLIENT_CLOSED;
		s->half_closed_ms = proc_now_ms();
	}
	session_connect(s);
	return -1;
}

/* "/C=X/CN=name/O=Y" or "CN=name, O=Y": name, into buf. */
static const char *
subject_cn(const char *subject, char *buf, size_t len)
{
	const char	*cp;
	size_t		 n;

	for (cp = subject; (cp = strstr(cp, "CN=")) != NULL; cp += 3)
		if (cp == subject || cp[-1] == '/' || cp[-1] == ' ' ||
		    cp[-1] == ',')
			break;
	if (cp == NULL)
		return NULL;
	cp += 3;
	n = strcspn(cp, "/,");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(buf, cp, n);
	buf[n] = '\0';
	return buf;
}

/* The ALPN protocol, when known: the route's, or the only one offered. */
static const char *
peek_alpn(struct peek *p)
{
	if (p->route != NULL && p->route->alpn[0] != '\0')
		return p->route->alpn;
	if (p->alpn != NULL && strchr(p->alpn, ',') == NULL)
		return p->alpn;
	return NULL;
}

/*
 * Where the client connected to, for a header sent on: what a PROXY
 * header said, or the accepted socket's own address, kept before an
 * engine takes that socket.
 */
void
peek_keep_dst(struct session *s)
{
	struct peek	*p = s->peek;
	socklen_t	 len = sizeof(p->proxy_dst);

	if (p == NULL || p->proxy_dst.sin6_family != 0)
		return;
	if (getsockname(s->cfd, (struct sockaddr *)&p->proxy_dst,
	    &len) == -1 || (p->proxy_dst.sin6_family != AF_INET &&
	    p->proxy_dst.sin6_family != AF_INET6))
		memset(&p->proxy_dst, 0, sizeof(p->proxy_dst));
}

/*
 * The backend's proxy_protocol: the header goes to a server just
 * connected, before anything else (our SSLRequest, a TLS hello, the
 * client's bytes).  A socket just connected takes it whole.  Returns
 * -1 when the session ended.
 */
int
peek_proxy_send(struct session *s)
{
	struct peek		*p = s->peek;
	struct sockaddr_in6	 dst;
	struct proxy_ssl	 ssl, *sslp = NULL;
	socklen_t		 len = sizeof(dst);
	uint8_t			 buf[PROXY_BUILD_MAX];
	char			 cn[256];
	ssize_t			 n;

	memset(&dst, 0, sizeof(dst));
	if (p != NULL && p->proxy_dst.sin6_family != 0)
		dst = p->proxy_dst;
	else if (getsockname(s->cfd, (struct sockaddr *)&dst, &len) == -1)
		memset(&dst, 0, sizeof(dst));
	/* the hook for sessions an engine terminated: PP2_TYPE_SSL */
	if (p != NULL && p->tls_client != NULL) {
		memset(&ssl, 0, sizeof(ssl));
		ssl.version = p->tls_client->version;
		ssl.cn = subject_cn(p->tls_client->subject, cn, sizeof(cn));
		ssl.verified = ssl.cn != NULL;
		sslp = &ssl;
	}
	n = proxy_build(s->backend->proxy_send, (struct sockaddr *)&s->client,
	    dst.sin6_family != 0 ? (struct sockaddr *)&dst : NULL,
	    p != NULL ? p->sni : NULL, p != NULL ? peek_alpn(p) : NULL, sslp,
	    buf, sizeof(buf));
	if (n == -1) {
		log_warnx("session %s: no room for a PROXY header",
		    session_idstr(s));
		session_end(s, CAUSE_SHUTDOWN, 0);
		return -1;
	}
	if (send(s->sfd, buf, (size_t)n, 0) != n) {
		log_debug("session %s: PROXY header to %s: %s",
		    session_idstr(s), s->server->address, strerror(errno));
		session_end(s, CAUSE_SERVER_CLOSED, 0);
		return -1;
	}
	return 0;
}
