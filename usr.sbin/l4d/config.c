/*
 * Shipping a parsed configuration from the parent to a child as a
 * sequence of frames, and rebuilding it on the other side.  The child
 * trusts nothing about the layout it receives beyond exact sizes and
 * terminated strings; pointers are rebuilt locally.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define TERMINATE(s)	((s)[sizeof(s) - 1] = '\0')

/* A listener's networks, a frame's worth at a time. */
static int
send_acls(struct imsgev *iev, struct listener *l)
{
	static uint8_t		 buf[sizeof(struct conf_acl) +
				    CONF_ACL_CHUNK * sizeof(struct cidr)];
	struct conf_acl		 h;
	struct acl		*a;
	uint32_t		 which, off, n;

	for (which = 0; which < ACL_NLISTS; which++) {
		if ((a = l->acl[which]) == NULL)
			continue;
		for (off = 0; off < a->ncidrs; off += n) {
			n = a->ncidrs - off;
			if (n > CONF_ACL_CHUNK)
				n = CONF_ACL_CHUNK;
			h.listener_id = l->id;
			h.which = which;
			h.count = n;
			memcpy(buf, &h, sizeof(h));
			memcpy(buf + sizeof(h), a->cidrs + off,
			    n * sizeof(struct cidr));
			if (imsgev_compose(iev, IMSG_CONF_ACL, 0, -1, buf,
			    sizeof(h) + n * sizeof(struct cidr)) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * A listener, with a copy of its socket (-1: none), then its routes;
 * a relay's then its networks (an engine needs none).
 */
static int
send_listener(struct imsgev *iev, struct listener *l, int lfd)
{
	struct route	*r;
	int		 fd = -1;

	if (lfd != -1 && (fd = dup(lfd)) == -1)
		return -1;
	if (imsgev_compose(iev, IMSG_CONF_LISTENER, 0, fd, l,
	    sizeof(*l)) == -1) {
		close(fd);
		return -1;
	}
	TAILQ_FOREACH(r, &l->routes, entry)
		if (imsgev_compose(iev, IMSG_CONF_ROUTE, 0, -1, r,
		    sizeof(*r)) == -1)
			return -1;
	return 0;
}

/*
 * fds[i] is the listening socket for the i-th listener; it is dup'ed
 * so that the parent keeps its own copy for the daemon's life.
 */
int
config_send(struct imsgev *iev, struct l4d_config *conf, int *fds)
{
	struct backend		*be;
	struct server		*srv;
	struct listener		*l;
	struct conf_server	 cs;
	int			 i = 0;

	if (imsgev_compose(iev, IMSG_CONF_START, 0, -1, conf,
	    sizeof(*conf)) == -1)
		return -1;
	TAILQ_FOREACH(be, &conf->backends, entry) {
		if (imsgev_compose(iev, IMSG_CONF_BACKEND, 0, -1, be,
		    sizeof(*be)) == -1)
			return -1;
		TAILQ_FOREACH(srv, &be->servers, entry) {
			memset(&cs, 0, sizeof(cs));
			cs.backend_id = be->id;
			cs.server = *srv;
			if (imsgev_compose(iev, IMSG_CONF_SERVER, 0, -1, &cs,
			    sizeof(cs)) == -1)
				return -1;
		}
	}
	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (send_listener(iev, l, fds[i++]) == -1 ||
		    send_acls(iev, l) == -1)
			return -1;
	return imsgev_compose(iev, IMSG_CONF_END, 0, -1, NULL, 0);
}

/*
 * The engines' configuration: no listening sockets, and after each
 * listener and backend with tls: its settings and the bytes of its
 * files, a frame's worth at a time.
 */
static int
send_blob(struct imsgev *iev, uint32_t kind, uint32_t object,
    uint32_t cert, const struct tls_blob *b)
{
	static uint8_t		 buf[sizeof(struct tls_blob_hdr) +
				    TLS_BLOB_CHUNK];
	struct tls_blob_hdr	 h;
	size_t			 off, n;
	int			 rc = 0;

	for (off = 0; b->mem != NULL && off < b->len && rc == 0; off += n) {
		n = b->len - off;
		if (n > TLS_BLOB_CHUNK)
			n = TLS_BLOB_CHUNK;
		h.kind = kind;
		h.object_id = object;
		h.cert_id = cert;
		h.total = b->len;
		h.offset = off;
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), b->mem + off, n);
		rc = imsgev_compose(iev, IMSG_TLS_BLOB, 0, -1, buf,
		    sizeof(h) + n);
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int
send_listener_tls(struct imsgev *iev, struct listener *l)
{
	struct tls_conf_listener	 cl;
	struct tls_conf_cert		 cc;
	struct tls_cert			*c;
	int				 rc;

	memset(&cl, 0, sizeof(cl));
	cl.listener_id = l->id;
	strlcpy(cl.name, l->name, sizeof(cl.name));
	cl.tls = *l->tls;
	memset(&cl.tls.certs, 0, sizeof(cl.tls.certs));
	memset(&cl.tls.client_ca_mem, 0, sizeof(cl.tls.client_ca_mem));
	memset(&cl.tls.crl_mem, 0, sizeof(cl.tls.crl_mem));
	if (imsgev_compose(iev, IMSG_TLS_LISTENER, 0, -1, &cl,
	    sizeof(cl)) == -1 ||
	    send_blob(iev, BLOB_CLIENT_CA, l->id, 0,
	    &l->tls->client_ca_mem) == -1 ||
	    send_blob(iev, BLOB_CRL, l->id, 0, &l->tls->crl_mem) == -1)
		return -1;
	TAILQ_FOREACH(c, &l->tls->certs, entry) {
		memset(&cc, 0, sizeof(cc));
		cc.listener_id = l->id;
		cc.cert = *c;
		memset(&cc.cert.entry, 0, sizeof(cc.cert.entry));
		memset(&cc.cert.cert_mem, 0, sizeof(cc.cert.cert_mem));
		memset(&cc.cert.key_mem, 0, sizeof(cc.cert.key_mem));
		memset(&cc.cert.ocsp_mem, 0, sizeof(cc.cert.ocsp_mem));
		rc = imsgev_compose(iev, IMSG_TLS_CERT, 0, -1, &cc,
		    sizeof(cc));
		if (rc == -1 ||
		    send_blob(iev, BLOB_CERT, l->id, c->id, &c->cert_mem) ||
		    send_blob(iev, BLOB_KEY, l->id, c->id, &c->key_mem) ||
		    send_blob(iev, BLOB_OCSP, l->id, c->id, &c->ocsp_mem))
			return -1;
	}
	return 0;
}

static int
send_backend_tls(struct imsgev *iev, struct backend *be)
{
	struct tls_conf_backend	 cb;

	memset(&cb, 0, sizeof(cb));
	cb.backend_id = be->id;
	strlcpy(cb.name, be->name, sizeof(cb.name));
	cb.tls = *be->tls;
	memset(&cb.tls.ca_mem, 0, sizeof(cb.tls.ca_mem));
	memset(&cb.tls.cert_mem, 0, sizeof(cb.tls.cert_mem));
	memset(&cb.tls.key_mem, 0, sizeof(cb.tls.key_mem));
	if (imsgev_compose(iev, IMSG_TLS_BACKEND, 0, -1, &cb,
	    sizeof(cb)) == -1)
		return -1;
	return send_blob(iev, BLOB_CA, be->id, 0, &be->tls->ca_mem) ||
	    send_blob(iev, BLOB_CLIENT_CERT, be->id, 0,
	    &be->tls->cert_mem) ||
	    send_blob(iev, BLOB_CLIENT_KEY, be->id, 0,
	    &be->tls->key_mem) ? -1 : 0;
}

int
config_send_engine(struct imsgev *iev, struct l4d_config *conf)
{
	struct l4d_config	 c = *conf;
	struct backend		*be;
	struct listener		*l;

	c.for_engine = 1;
	if (imsgev_compose(iev, IMSG_CONF_START, 0, -1, &c, sizeof(c)) == -1)
		return -1;
	TAILQ_FOREACH(be, &conf->backends, entry) {
		if (imsgev_compose(iev, IMSG_CONF_BACKEND, 0, -1, be,
		    sizeof(*be)) == -1)
			return -1;
		if (be->tls != NULL && send_backend_tls(iev, be) == -1)
			return -1;
	}
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (send_listener(iev, l, -1) == -1)
			return -1;
		if (l->tls != NULL && send_listener_tls(iev, l) == -1)
			return -1;
	}
	return imsgev_compose(iev, IMSG_CONF_END, 0, -1, NULL, 0);
}

/* The health process: a verifying tls check's CA, as the engines get it. */
int
config_send_ca(struct imsgev *iev, struct backend *be)
{
	return send_blob(iev, BLOB_CA, be->id, 0, &be->tls->ca_mem);
}

static int
receive_start(struct l4d_config **confp, struct imsg *imsg)
{
	struct l4d_config	*conf;

	if (imsg->datalen != sizeof(*conf) || *confp != NULL)
		return -1;
	if ((conf = malloc(sizeof(*conf))) == NULL)
		return -1;
	memcpy(conf, imsg->data, sizeof(*conf));
	TERMINATE(conf->path);
	TERMINATE(conf->user);
	TERMINATE(conf->chroot);
	TERMINATE(conf->control);
	memset(conf->acl, 0, sizeof(conf->acl));
	TAILQ_INIT(&conf->listeners);
	TAILQ_INIT(&conf->backends);
	conf->nlisteners = conf->nbackends = 0;
	conf->refs = 0;
	*confp = conf;
	return 0;
}

static int
receive_backend(struct l4d_config *conf, struct imsg *imsg)
{
	struct backend	*be;

	if (imsg->datalen != sizeof(*be) || conf->nbackends >= UINT16_MAX)
		return -1;
	if ((be = malloc(sizeof(*be))) == NULL)
		return -1;
	memcpy(be, imsg->data, sizeof(*be));
	TERMINATE(be->name);
	TAILQ_INIT(&be->servers);
	be->nservers = 0;
	be->server_index = NULL;
	be->tls = NULL;
	be->stats = NULL;
	if (be->proxy_send < 0 || be->proxy_send > 2) {
		free(be);
		return -1;
	}
	TAILQ_INSERT_TAIL(&conf->backends, be, entry);
	conf->nbackends++;
	return 0;
}

static int
receive_server(struct l4d_config *conf, struct imsg *imsg)
{
	struct conf_server	 cs;
	struct backend		*be;

	if (imsg->datalen != sizeof(cs))
		return -1;
	memcpy(&cs, imsg->data, sizeof(cs));
	TAILQ_FOREACH(be, &conf->backends, entry)
		if (be->id == cs.backend_id)
			break;
	if (be == NULL || be->nservers >= L4D_MAX_SERVERS ||
	    cs.server.sslen > sizeof(cs.server.ss))
		return -1;
	TERMINATE(cs.server.address);
	cs.server.up = cs.server.up != 0;
	cs.server.disabled = cs.server.disabled != 0;
	cs.server.runtime = cs.server.runtime != 0;
	cs.server.removed = cs.server.removed != 0;
	/* the same append as a runtime server's; config_link() indexes */
	return backend_add_server(be, &cs.server) == NULL ? -1 : 0;
}

static int
receive_listener(struct l4d_config *conf, struct imsg *imsg)
{
	struct listener	*l;

	/* relays get their socket, engines none */
	if (imsg->datalen != sizeof(*l) || (imsg->fd == -1) !=
	    conf->for_engine || conf->nlisteners >= UINT16_MAX)
		return -1;
	if ((l = malloc(sizeof(*l))) == NULL)
		return -1;
	memcpy(l, imsg->data, sizeof(*l));
	TERMINATE(l->name);
	TERMINATE(l->listen);
	TERMINATE(l->backend_name);
	TERMINATE(l->no_sni_name);
	if (l->starttls != STARTTLS_NONE && l->starttls != STARTTLS_POSTGRES) {
		free(l);
		return -1;
	}
	TAILQ_INIT(&l->routes);
	l->nroutes = 0;
	l->no_sni = NULL;
	l->tls = NULL;
	l->conf = conf;
	l->stats_no_sni = l->stats_default = NULL;
	l->backend = NULL;
	l->relay_fds = NULL;
	l->nrelay_fds = 0;
	l->fd = imsg->fd;
	imsg->fd = -1;
	l->ev_added = 0;
	l->active = 0;
	l->total = 0;
	l->stats = NULL;
	memset(l->acl, 0, sizeof(l->acl));
	l->rate_table = NULL;
	l->refused_logged_ms = 0;
	l->refused_quiet = 0;
	l->proxy_accept = l->proxy_accept != 0;
	TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
	conf->nlisteners++;
	return 0;
}

static struct listener *
listener_by_id(struct l4d_config *conf, uint32_t id)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->id == id)
			return l;
	return NULL;
}

static struct backend *
backend_by_id(struct l4d_config *conf, uint32_t id)
{
	struct backend	*be;

	TAILQ_FOREACH(be, &conf->backends, entry)
		if (be->id == id)
			return be;
	return NULL;
}

static int
receive_listener_tls(struct l4d_config *conf, struct imsg *imsg)
{
	struct tls_conf_listener	 cl;
	struct listener			*l;

	if (!conf->for_engine || imsg->datalen != sizeof(cl))
		return -1;
	memcpy(&cl, imsg->data, sizeof(cl));
	if ((l = listener_by_id(conf, cl.listener_id)) == NULL ||
	    l->tls != NULL || !l->tls_terminate ||
	    (l->tls = malloc(sizeof(*l->tls))) == NULL)
		return -1;
	*l->tls = cl.tls;
	TERMINATE(l->tls->client_ca);
	TERMINATE(l->tls->crl);
	TERMINATE(l->tls->protocols);
	TERMINATE(l->tls->ciphers);
	TAILQ_INIT(&l->tls->certs);
	l->tls->ncerts = 0;
	memset(&l->tls->client_ca_mem, 0, sizeof(l->tls->client_ca_mem));
	memset(&l->tls->crl_mem, 0, sizeof(l->tls->crl_mem));
	return l->tls->client_auth > CLIENT_AUTH_REQUIRE ? -1 : 0;
}

static int
receive_cert(struct l4d_config *conf, struct imsg *imsg)
{
	struct tls_conf_cert	 cc;
	struct listener		*l;
	struct tls_cert		*c;
	uint32_t		 i;

	if (!conf->for_engine || imsg->datalen != sizeof(cc))
		return -1;
	memcpy(&cc, imsg->data, sizeof(cc));
	if ((l = listener_by_id(conf, cc.listener_id)) == NULL ||
	    l->tls == NULL || l->tls->ncerts >= L4D_MAX_CERTS ||
	    cc.cert.id != l->tls->ncerts ||
	    cc.cert.nnames > L4D_MAX_CERT_NAMES ||
	    (c = malloc(sizeof(*c))) == NULL)
		return -1;
	*c = cc.cert;
	TERMINATE(c->cert);
	TERMINATE(c->key);
	TERMINATE(c->ocsp);
	for (i = 0; i < L4D_MAX_CERT_NAMES; i++)
		TERMINATE(c->names[i]);
	memset(&c->cert_mem, 0, sizeof(c->cert_mem));
	memset(&c->key_mem, 0, sizeof(c->key_mem));
	memset(&c->ocsp_mem, 0, sizeof(c->ocsp_mem));
	TAILQ_INSERT_TAIL(&l->tls->certs, c, entry);
	l->tls->ncerts++;
	return 0;
}

static int
receive_backend_tls(struct l4d_config *conf, struct imsg *imsg)
{
	struct tls_conf_backend	 cb;
	struct backend		*be;

	if (!conf->for_engine || imsg->datalen != sizeof(cb))
		return -1;
	memcpy(&cb, imsg->data, sizeof(cb));
	if ((be = backend_by_id(conf, cb.backend_id)) == NULL ||
	    be->tls != NULL || !be->tls_originate ||
	    (be->tls = malloc(sizeof(*be->tls))) == NULL)
		return -1;
	*be->tls = cb.tls;
	TERMINATE(be->tls->ca);
	TERMINATE(be->tls->server_name);
	TERMINATE(be->tls->cert);
	TERMINATE(be->tls->key);
	TERMINATE(be->tls->protocols);
	memset(&be->tls->ca_mem, 0, sizeof(be->tls->ca_mem));
	memset(&be->tls->cert_mem, 0, sizeof(be->tls->cert_mem));
	memset(&be->tls->key_mem, 0, sizeof(be->tls->key_mem));
	return 0;
}

static struct tls_cert *
cert_by_id(struct listener *l, uint32_t id)
{
	struct tls_cert	*c;

	TAILQ_FOREACH(c, &l->tls->certs, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static struct tls_blob *
backend_blob(struct l4d_config *conf, const struct tls_blob_hdr *h)
{
	struct backend	*be;

	if ((be = backend_by_id(conf, h->object_id)) == NULL ||
	    be->tls == NULL)
		return NULL;
	switch (h->kind) {
	case BLOB_CA:
		return &be->tls->ca_mem;
	case BLOB_CLIENT_CERT:
		return &be->tls->cert_mem;
	case BLOB_CLIENT_KEY:
		return &be->tls->key_mem;
	}
	return NULL;
}

/* Where a piece of a file goes, or NULL for a frame that names nothing. */
static struct tls_blob *
blob_target(struct l4d_config *conf, const struct tls_blob_hdr *h)
{
	struct listener	*l;
	struct tls_cert	*c = NULL;

	if (h->kind >= BLOB_CA)
		return backend_blob(conf, h);
	if ((l = listener_by_id(conf, h->object_id)) == NULL ||
	    l->tls == NULL)
		return NULL;
	if (h->kind != BLOB_CLIENT_CA && h->kind != BLOB_CRL &&
	    (c = cert_by_id(l, h->cert_id)) == NULL)
		return NULL;
	switch (h->kind) {
	case BLOB_CLIENT_CA:
		return &l->tls->client_ca_mem;
	case BLOB_CRL:
		return &l->tls->crl_mem;
	case BLOB_CERT:
		return &c->cert_mem;
	case BLOB_KEY:
		return &c->key_mem;
	case BLOB_OCSP:
		return &c->ocsp_mem;
	}
	return NULL;
}

static int
receive_blob(struct l4d_config *conf, struct imsg *imsg)
{
	struct tls_blob_hdr	 h;
	struct tls_blob		*b;
	size_t			 n;

	if (!conf->for_engine || imsg->datalen < sizeof(h))
		return -1;
	memcpy(&h, imsg->data, sizeof(h));
	n = imsg->datalen - sizeof(h);
	if ((b = blob_target(conf, &h)) == NULL || n == 0 ||
	    h.total == 0 || h.total > L4D_TLS_FILE_MAX)
		return -1;
	if (h.offset == 0) {
		if (b->mem != NULL || (b->mem = malloc(h.total)) == NULL)
			return -1;
		b->len = h.total;
		b->fill = 0;
	}
	if (b->mem == NULL || h.total != b->len || h.offset != b->fill ||
	    n > b->len - b->fill)
		return -1;
	memcpy(b->mem + b->fill, (uint8_t *)imsg->data + sizeof(h), n);
	b->fill += n;
	return 0;
}

static int
blob_complete(const struct tls_blob *b)
{
	return b->mem == NULL || b->fill == b->len;
}

/* Every file an engine was sent arrived whole. */
static int
receive_tls_complete(struct l4d_config *conf)
{
	struct listener	*l;
	struct backend	*be;
	struct tls_cert	*c;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->tls_terminate != (l->tls != NULL) && conf->for_engine)
			return 0;
		if (l->tls == NULL)
			continue;
		if (!blob_complete(&l->tls->client_ca_mem) ||
		    !blob_complete(&l->tls->crl_mem) || l->tls->ncerts == 0)
			return 0;
		TAILQ_FOREACH(c, &l->tls->certs, entry)
			if (c->cert_mem.mem == NULL ||
			    c->key_mem.mem == NULL ||
			    !blob_complete(&c->cert_mem) ||
			    !blob_complete(&c->key_mem) ||
			    !blob_complete(&c->ocsp_mem))
				return 0;
	}
	TAILQ_FOREACH(be, &conf->backends, entry)
		if ((conf->for_engine && be->tls_originate !=
		    (be->tls != NULL)) ||
		    (be->tls != NULL && (!blob_complete(&be->tls->ca_mem) ||
		    !blob_complete(&be->tls->cert_mem) ||
		    !blob_complete(&be->tls->key_mem))))
			return 0;
	return 1;
}

/* Routes follow their listener: the last one received. */
static int
receive_route(struct l4d_config *conf, struct imsg *imsg)
{
	struct listener	*l;
	struct route	*r;

	l = TAILQ_LAST(&conf->listeners, listenerlist);
	if (imsg->datalen != sizeof(*r) || l == NULL ||
	    l->nroutes >= L4D_MAX_ROUTES)
		return -1;
	if ((r = malloc(sizeof(*r))) == NULL)
		return -1;
	memcpy(r, imsg->data, sizeof(*r));
	TERMINATE(r->sni);
	TERMINATE(r->alpn);
	TERMINATE(r->backend_name);
	if (r->listener_id != l->id || r->match > MATCH_REGEX ||
	    r->tls > ROUTE_TLS_TERMINATE) {
		free(r);
		return -1;
	}
	r->backend = NULL;
	memset(&r->re, 0, sizeof(r->re));
	r->re_ok = 0;
	r->stats = NULL;
	TAILQ_INSERT_TAIL(&l->routes, r, entry);
	l->nroutes++;
	return 0;
}

/* Networks follow their listener, after its routes. */
static int
receive_acl(struct l4d_config *conf, struct imsg *imsg)
{
	struct listener	*l;
	struct conf_acl	 h;
	struct cidr	 c;
	uint32_t	 i;
	const uint8_t	*p;

	l = TAILQ_LAST(&conf->listeners, listenerlist);
	if (imsg->datalen < sizeof(h) || l == NULL)
		return -1;
	memcpy(&h, imsg->data, sizeof(h));
	if (h.listener_id != l->id || h.which >= ACL_NLISTS ||
	    h.count == 0 || h.count > CONF_ACL_CHUNK ||
	    imsg->datalen != sizeof(h) + h.count * sizeof(c))
		return -1;
	p = (const uint8_t *)imsg->data + sizeof(h);
	for (i = 0; i < h.count; i++) {
		memcpy(&c, p + i * sizeof(c), sizeof(c));
		if ((c.family != AF_INET || c.prefix > 32) &&
		    (c.family != AF_INET6 || c.prefix > 128))
			return -1;
		if (acl_add(&l->acl[h.which], &c) == -1)
			return -1;
	}
	return 0;
}

/*
 * Feed one frame; returns 1 when the configuration is complete and
 * linked, 0 when more frames are expected, -1 on a frame that does not
 * belong (the caller treats the sender as broken).
 */
int
config_receive(struct l4d_config **confp, struct imsg *imsg)
{
	if (imsg->hdr.type == IMSG_CONF_START)
		return receive_start(confp, imsg);
	if (*confp == NULL)
		return -1;
	switch (imsg->hdr.type) {
	case IMSG_CONF_BACKEND:
		return receive_backend(*confp, imsg);
	case IMSG_CONF_SERVER:
		return receive_server(*confp, imsg);
	case IMSG_CONF_LISTENER:
		return receive_listener(*confp, imsg);
	case IMSG_CONF_ROUTE:
		return receive_route(*confp, imsg);
	case IMSG_CONF_ACL:
		return receive_acl(*confp, imsg);
	case IMSG_TLS_LISTENER:
		return receive_listener_tls(*confp, imsg);
	case IMSG_TLS_CERT:
		return receive_cert(*confp, imsg);
	case IMSG_TLS_BACKEND:
		return receive_backend_tls(*confp, imsg);
	case IMSG_TLS_BLOB:
		return receive_blob(*confp, imsg);
	case IMSG_CONF_END:
		if (imsg->datalen != 0 || !receive_tls_complete(*confp) ||
		    config_link(*confp) == -1)
			return -1;
		return 1;
	}
	return -1;
}
