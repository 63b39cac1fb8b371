/*
 * The TLS engine's contexts, built once per configuration (a generation)
 * and kept while a session uses them: for each listener that terminates
 * TLS a server context, and one more for each certificate that names
 * itself by names:, each with the session id context and ticket keys
 * that let its sessions resume; for each backend spoken to in TLS a
 * client configuration, tried once.  Also the context a client's SNI
 * chooses, and the wipe of the keys the configuration brought once
 * libtls has them.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tls.h>
#include <unistd.h>

#include "l4d.h"
#include "tls_engine.h"

#define ENG_SESSION_LIFETIME	(2 * 3600)	/* s; keys rotate hourly */
#define ENG_SID_LEN		32	/* TLS_MAX_SESSION_ID_LENGTH */

/*
 * Sessions resume only within the context that made them, and libtls
 * gives each tls_config a random session id context: a ticket from
 * another engine, or from before a reload, would never be taken.  The
 * context is a digest of what decides who may resume: the listener,
 * which of its contexts, its client authentication.  It labels and
 * protects nothing (the ticket keys do), so FNV-1a is enough.
 */
static void
sid_add(uint64_t h[4], const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;
	int		 k;

	for (i = 0; i < len; i++)
		for (k = 0; k < 4; k++)
			h[k] = (h[k] ^ (uint8_t)(b[i] + k)) *
			    0x100000001b3ULL;
}

static void
sid_make(const struct listener *l, uint32_t which, uint8_t *sid)
{
	const struct listener_tls	*t = l->tls;
	uint64_t			 h[4];
	uint32_t			 auth = t->client_auth;
	int				 k, i;

	for (k = 0; k < 4; k++)
		h[k] = 0xcbf29ce484222325ULL + k;
	sid_add(h, "l4d", 4);
	sid_add(h, l->name, strlen(l->name) + 1);
	sid_add(h, &which, sizeof(which));
	sid_add(h, &auth, sizeof(auth));
	if (t->client_ca_mem.mem != NULL)
		sid_add(h, t->client_ca_mem.mem, t->client_ca_mem.len);
	if (t->crl_mem.mem != NULL)
		sid_add(h, t->crl_mem.mem, t->crl_mem.len);
	for (k = 0; k < 4; k++)
		for (i = 0; i < 8; i++)
			sid[k * 8 + i] = (uint8_t)(h[k] >> (i * 8));
}

static void
ticket_add(struct tls_config *cfg, struct tls_ticket_key *k)
{
	if (tls_config_add_ticket_key(cfg, k->keyrev, k->key,
	    sizeof(k->key)) == -1)
		log_warnx("ticket key %u: %s", k->keyrev,
		    tls_config_error(cfg));
}

static void
srv_free(struct srvctx *srv)
{
	tls_free(srv->ctx);
	tls_config_free(srv->cfg);
	srv->ctx = NULL;
	srv->cfg = NULL;
}

/*
 * The keypairs of a context: only one certificate, or the default
 * (first) and every other one that does not name itself by names:.
 */
static int
srv_keypairs(struct tls_config *cfg, struct listener_tls *t,
    struct tls_cert *only)
{
	struct tls_cert	*c;
	int		 n = 0, rv;

	TAILQ_FOREACH(c, &t->certs, entry) {
		if (only != NULL ? c != only : n > 0 && c->nnames > 0)
			continue;
		if (n++ == 0)
			rv = tls_config_set_keypair_ocsp_mem(cfg,
			    c->cert_mem.mem, c->cert_mem.len, c->key_mem.mem,
			    c->key_mem.len, c->ocsp_mem.mem, c->ocsp_mem.len);
		else
			rv = tls_config_add_keypair_ocsp_mem(cfg,
			    c->cert_mem.mem, c->cert_mem.len, c->key_mem.mem,
			    c->key_mem.len, c->ocsp_mem.mem, c->ocsp_mem.len);
		if (rv == -1)
			return -1;
	}
	return n > 0 ? 0 : -1;
}

/* Client certificates: the CA they must chain to, and the CRL. */
static const char *
srv_client_auth(struct tls_config *cfg, struct listener_tls *t)
{
	if (t->client_auth == CLIENT_AUTH_NONE)
		return NULL;
	if (t->client_ca_mem.mem == NULL)
		return "client_auth needs client_ca";
	if (tls_config_set_ca_mem(cfg, t->client_ca_mem.mem,
	    t->client_ca_mem.len) == -1 || (t->crl_mem.mem != NULL &&
	    tls_config_set_crl_mem(cfg, t->crl_mem.mem,
	    t->crl_mem.len) == -1))
		return err_str(tls_config_error(cfg));
	if (t->client_auth == CLIENT_AUTH_REQUIRE)
		tls_config_verify_client(cfg);
	else
		tls_config_verify_client_optional(cfg);
	return NULL;
}

static const char *
srv_settings(struct tls_config *cfg, struct listener *l, uint32_t which)
{
	struct listener_tls	*t = l->tls;
	uint8_t			 sid[ENG_SID_LEN];
	uint32_t		 protos;
	int			 i;

	if (t->protocols[0] != '\0' &&
	    (tls_config_parse_protocols(&protos, t->protocols) == -1 ||
	    tls_config_set_protocols(cfg, protos) == -1))
		return "bad protocols";
	if (tls_config_set_ciphers(cfg, t->ciphers[0] != '\0' ?
	    t->ciphers : "secure") == -1)
		return err_str(tls_config_error(cfg));
	sid_make(l, which, sid);
	if (tls_config_set_session_id(cfg, sid, sizeof(sid)) == -1 ||
	    tls_config_set_session_lifetime(cfg, ENG_SESSION_LIFETIME) == -1)
		return err_str(tls_config_error(cfg));
	for (i = 0; i < env.ntickets; i++)
		ticket_add(cfg, &env.tickets[i]);
	return srv_client_auth(cfg, t);
}

/* which: 0 for the listener's context, n for its n-th override. */
static int
srv_build(struct srvctx *srv, struct listener *l, struct tls_cert *only,
    uint32_t which, char *err, size_t errlen)
{
	const char	*why;

	if ((srv->cfg = tls_config_new()) == NULL ||
	    (srv->ctx = tls_server()) == NULL) {
		why = "out of memory";
		goto fail;
	}
	if (srv_keypairs(srv->cfg, l->tls, only) == -1) {
		why = tls_config_error(srv->cfg);
		goto fail;
	}
	if ((why = srv_settings(srv->cfg, l, which)) != NULL)
		goto fail;
	if (tls_configure(srv->ctx, srv->cfg) == -1) {
		why = tls_error(srv->ctx);
		goto fail;
	}
	/* the context has them now; the configuration needs them no more */
	tls_config_clear_keys(srv->cfg);
	return 0;
fail:
	snprintf(err, errlen, "listener %s: %s", l->name, err_str(why));
	srv_free(srv);
	return -1;
}

static void
listener_build(struct elistener *el, struct listener *l)
{
	struct tls_cert	*c;
	struct override	*o;
	uint32_t	 n = 0;

	strlcpy(el->name, l->name, sizeof(el->name));
	if (srv_build(&el->main, l, NULL, 0, el->error,
	    sizeof(el->error)) == -1)
		goto fail;
	TAILQ_FOREACH(c, &l->tls->certs, entry)
		if (c->nnames > 0)
			n++;
	if (n == 0)
		return;
	if ((el->over = calloc(n, sizeof(*el->over))) == NULL)
		fatal("calloc");
	TAILQ_FOREACH(c, &l->tls->certs, entry) {
		if (c->nnames == 0)
			continue;
		o = &el->over[el->nover++];
		memcpy(o->names, c->names, sizeof(o->names));
		o->nnames = c->nnames;
		if (srv_build(&o->srv, l, c, el->nover, el->error,
		    sizeof(el->error)) == -1)
			goto fail;
	}
	return;
fail:
	log_warnx("%s", el->error);
}

static const char *
backend_ca(struct tls_config *cfg, struct backend_tls *t, char *err,
    size_t errlen)
{
	const char	*ca = tls_default_ca_cert_file();

	if (!t->verify) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
		return NULL;
	}
	if (t->ca_mem.mem != NULL) {
		if (tls_config_set_ca_mem(cfg, t->ca_mem.mem,
		    t->ca_mem.len) == -1)
			return err_str(tls_config_error(cfg));
		return NULL;
	}
	/* chrooted: the system's CA file is there only if put there */
	if (access(ca, R_OK) == -1) {
		snprintf(err, errlen, "verify is on and no ca: was given; "
		    "%s cannot be read here (chroot)", ca);
		return err;
	}
	return tls_config_set_ca_file(cfg, ca) == -1 ?
	    err_str(tls_config_error(cfg)) : NULL;
}

static const char *
backend_settings(struct tls_config *cfg, struct backend_tls *t, char *err,
    size_t errlen)
{
	struct tls	*ctx;
	const char	*why = NULL;
	uint32_t	 protos;

	if (t->protocols[0] != '\0' &&
	    (tls_config_parse_protocols(&protos, t->protocols) == -1 ||
	    tls_config_set_protocols(cfg, protos) == -1))
		return "bad protocols";
	if ((why = backend_ca(cfg, t, err, errlen)) != NULL)
		return why;
	if (t->cert_mem.mem != NULL && t->key_mem.mem != NULL &&
	    tls_config_set_keypair_mem(cfg, t->cert_mem.mem, t->cert_mem.len,
	    t->key_mem.mem, t->key_mem.len) == -1)
		return err_str(tls_config_error(cfg));
	/* a trial context tells a bad setting now, not per session */
	if ((ctx = tls_client()) == NULL)
		return "out of memory";
	if (tls_configure(ctx, cfg) == -1) {
		str_copy(err, err_str(tls_error(ctx)), errlen);
		why = err;
	}
	tls_free(ctx);
	return why;
}

static void
backend_build(struct ebackend *eb, struct backend *be)
{
	char		 buf[REASON_MAX], what[L4D_NAME_MAX + 16];
	const char	*why;

	strlcpy(eb->name, be->name, sizeof(eb->name));
	strlcpy(eb->server_name, be->tls->server_name,
	    sizeof(eb->server_name));
	if ((eb->cfg = tls_config_new()) == NULL)
		why = "out of memory";
	else
		why = backend_settings(eb->cfg, be->tls, buf, sizeof(buf));
	if (why == NULL)
		return;
	snprintf(what, sizeof(what), "backend %s", be->name);
	reason_join(eb->error, sizeof(eb->error), what, err_str(why));
	log_warnx("%s", eb->error);
	tls_config_free(eb->cfg);
	eb->cfg = NULL;
}

struct egen *
gen_build(struct l4d_config *conf)
{
	struct egen	*g;
	struct listener	*l;
	struct backend	*be;
	struct elistener *el;
	struct ebackend	*eb;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal("calloc");
	g->generation = conf->generation;
	TAILQ_INIT(&g->listeners);
	TAILQ_INIT(&g->backends);
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->tls == NULL)
			continue;
		if ((el = calloc(1, sizeof(*el))) == NULL)
			fatal("calloc");
		listener_build(el, l);
		TAILQ_INSERT_TAIL(&g->listeners, el, entry);
	}
	TAILQ_FOREACH(be, &conf->backends, entry) {
		if (be->tls == NULL)
			continue;
		if ((eb = calloc(1, sizeof(*eb))) == NULL)
			fatal("calloc");
		backend_build(eb, be);
		TAILQ_INSERT_TAIL(&g->backends, eb, entry);
	}
	return g;
}

void
gen_free(struct egen *g)
{
	struct elistener	*el;
	struct ebackend		*eb;
	uint32_t		 i;

	while ((el = TAILQ_FIRST(&g->listeners)) != NULL) {
		TAILQ_REMOVE(&g->listeners, el, entry);
		srv_free(&el->main);
		for (i = 0; i < el->nover; i++)
			srv_free(&el->over[i].srv);
		free(el->over);
		free(el);
	}
	while ((eb = TAILQ_FIRST(&g->backends)) != NULL) {
		TAILQ_REMOVE(&g->backends, eb, entry);
		tls_config_free(eb->cfg);
		free(eb);
	}
	log_debug("generation %u freed", g->generation);
	free(g);
}

void
gen_unref(struct egen *g)
{
	if (--g->refs == 0 && g != env.gen)
		gen_free(g);
}

void
gen_ticket(struct egen *g, struct tls_ticket_key *k)
{
	struct elistener	*el;
	uint32_t		 i;

	TAILQ_FOREACH(el, &g->listeners, entry) {
		if (el->main.cfg != NULL)
			ticket_add(el->main.cfg, k);
		for (i = 0; i < el->nover; i++)
			if (el->over[i].srv.cfg != NULL)
				ticket_add(el->over[i].srv.cfg, k);
	}
}

/* An SNI against a names: entry: exact, or *.suffix for 1+ labels. */
static int
sni_match(const char *pattern, const char *sni)
{
	size_t	 plen, slen;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, sni) == 0;
	plen = strlen(pattern + 1);
	slen = strlen(sni);
	return slen > plen && strcasecmp(sni + slen - plen, pattern + 1) == 0;
}

/* Exact names before wildcards, each in the file's order. */
struct srvctx *
listener_ctx(struct elistener *el, const char *sni)
{
	struct override	*o;
	uint32_t	 i, j;
	int		 wild;

	for (wild = 0; sni[0] != '\0' && wild < 2; wild++)
		for (i = 0; i < el->nover; i++) {
			o = &el->over[i];
			for (j = 0; j < o->nnames; j++)
				if ((o->names[j][0] == '*') == wild &&
				    sni_match(o->names[j], sni))
					return &o->srv;
		}
	return &el->main;
}

struct elistener *
gen_listener(struct egen *g, const char *name)
{
	struct elistener	*el;

	TAILQ_FOREACH(el, &g->listeners, entry)
		if (strcmp(el->name, name) == 0)
			return el;
	return NULL;
}

struct ebackend *
gen_backend(struct egen *g, const char *name)
{
	struct ebackend	*eb;

	TAILQ_FOREACH(eb, &g->backends, entry)
		if (strcmp(eb->name, name) == 0)
			return eb;
	return NULL;
}

/* Keys go as soon as libtls has them; the model's copy is wiped. */
void
conf_wipe(struct l4d_config *conf)
{
	struct listener	*l;
	struct backend	*be;
	struct tls_cert	*c;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->tls != NULL)
			TAILQ_FOREACH(c, &l->tls->certs, entry)
				if (c->key_mem.mem != NULL)
					explicit_bzero(c->key_mem.mem,
					    c->key_mem.len);
	TAILQ_FOREACH(be, &conf->backends, entry)
		if (be->tls != NULL && be->tls->key_mem.mem != NULL)
			explicit_bzero(be->tls->key_mem.mem,
			    be->tls->key_mem.len);
}
