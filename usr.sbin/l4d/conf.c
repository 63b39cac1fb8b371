/*
 * The configuration model's life: a new configuration with the
 * defaults, the links between its objects (ids, references by name,
 * compiled route patterns), and its end.  The parent links what it
 * parsed; each relay links what it received, so every process holds
 * its own compiled patterns, once per generation.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"
#include "parse.h"

struct l4d_config *
config_new_empty(void)
{
	struct l4d_config	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	TAILQ_INIT(&conf->listeners);
	TAILQ_INIT(&conf->backends);
	strlcpy(conf->user, L4D_USER, sizeof(conf->user));
	strlcpy(conf->chroot, L4D_CHROOT, sizeof(conf->chroot));
	strlcpy(conf->control, L4D_SOCKET, sizeof(conf->control));
	conf->relays = 0;
	conf->tls_engines = 1;
	conf->relay_mode = RELAY_MODE_AUTO;
	conf->log_level = LOG_LEVEL_INFO;
	conf->log_access = 1;
	conf->timeouts.connect = DEFAULT_CONNECT_MS;
	conf->timeouts.idle = DEFAULT_IDLE_MS;
	conf->timeouts.half_closed = DEFAULT_HALF_CLOSED_MS;
	conf->timeouts.handshake = DEFAULT_HANDSHAKE_MS;
	conf->timeouts.drain = DEFAULT_DRAIN_MS;
	return conf;
}

static void
routes_free(struct listener *l)
{
	struct route	*r;

	while ((r = TAILQ_FIRST(&l->routes)) != NULL) {
		TAILQ_REMOVE(&l->routes, r, entry);
		if (r->re_ok)
			regfree(&r->re);
		free(r);
	}
}

/*
 * Listener fds and events belong to whoever set them up, not to us;
 * the tls: blocks, key material and all, are ours (their bytes are
 * wiped).  A process that received a listener or backend without them
 * has them NULL.
 */
void
config_free(struct l4d_config *conf)
{
	struct listener	*l;
	struct backend	*b;
	struct server	*s;
	int		 i;

	if (conf == NULL)
		return;
	while ((l = TAILQ_FIRST(&conf->listeners)) != NULL) {
		TAILQ_REMOVE(&conf->listeners, l, entry);
		routes_free(l);
		tlsconf_free_listener(l->tls);
		for (i = 0; i < ACL_NLISTS; i++)
			acl_free(l->acl[i]);
		rate_table_free(l->rate_table);
		free(l);
	}
	acl_free(conf->acl[ACL_ALLOW]);
	acl_free(conf->acl[ACL_DENY]);
	while ((b = TAILQ_FIRST(&conf->backends)) != NULL) {
		TAILQ_REMOVE(&conf->backends, b, entry);
		while ((s = TAILQ_FIRST(&b->servers)) != NULL) {
			TAILQ_REMOVE(&b->servers, s, entry);
			free(s);
		}
		free(b->server_index);
		tlsconf_free_backend(b->tls);
		free(b);
	}
	free(conf);
}

struct backend *
config_find_backend(struct l4d_config *conf, const char *name)
{
	struct backend	*b;

	TAILQ_FOREACH(b, &conf->backends, entry) {
		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

/*
 * A server that comes while l4d runs goes last, so that the ids of the
 * others stay what every process knows them as.  Returns it, or NULL.
 */
struct server *
backend_add_server(struct backend *b, const struct server *tmpl)
{
	struct server	*s, **index;

	if (b->nservers >= L4D_MAX_SERVERS ||
	    (s = malloc(sizeof(*s))) == NULL)
		return NULL;
	if ((index = reallocarray(b->server_index, b->nservers + 1,
	    sizeof(*index))) == NULL) {
		free(s);
		return NULL;
	}
	*s = *tmpl;
	s->id = b->nservers;
	s->current_weight = 0;
	s->active = 0;
	s->sessions = 0;
	s->errors = 0;
	s->stats = NULL;
	index[b->nservers++] = s;
	b->server_index = index;
	TAILQ_INSERT_TAIL(&b->servers, s, entry);
	return s;
}

static int
backend_index(struct backend *b)
{
	struct server	*s;
	uint32_t	 n = 0;

	free(b->server_index);
	b->server_index = NULL;
	TAILQ_FOREACH(s, &b->servers, entry)
		n++;
	b->nservers = n;
	if (n > 0 &&
	    (b->server_index = calloc(n, sizeof(*b->server_index))) == NULL)
		return -1;
	n = 0;
	TAILQ_FOREACH(s, &b->servers, entry) {
		s->id = n;
		b->server_index[n++] = s;
	}
	return 0;
}

/*
 * A route's references and pattern.  re and re_ok are set afresh,
 * whatever a received copy holds: a pattern is compiled once per
 * configuration, in the process that uses it.
 */
static int
route_link(struct l4d_config *conf, struct listener *l, struct route *r,
    uint32_t id)
{
	r->id = id;
	r->listener_id = l->id;
	r->re_ok = 0;
	if ((r->backend = config_find_backend(conf, r->backend_name)) == NULL)
		return -1;
	if (r->match != MATCH_REGEX)
		return 0;
	if (regcomp(&r->re, r->sni, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		return -1;
	r->re_ok = 1;
	return 0;
}

/*
 * backend_name "" is no default backend, which only a listener with
 * routes may have; no_sni_name "" is the listener's backend.
 */
static int
listener_link(struct l4d_config *conf, struct listener *l)
{
	struct route	*r;
	uint32_t	 n = 0;
	int		 rc = 0;

	l->conf = conf;
	TAILQ_FOREACH(r, &l->routes, entry)
		if (route_link(conf, l, r, n++) == -1)
			rc = -1;
	l->nroutes = n;
	if (l->backend_name[0] == '\0') {
		l->backend = NULL;
		if (n == 0)
			rc = -1;
	} else if ((l->backend = config_find_backend(conf,
	    l->backend_name)) == NULL)
		rc = -1;
	if (l->no_sni_none)
		l->no_sni = NULL;
	else if (l->no_sni_name[0] == '\0')
		l->no_sni = l->backend;
	else if ((l->no_sni = config_find_backend(conf,
	    l->no_sni_name)) == NULL)
		rc = -1;
	for (n = 0; n < ACL_NLISTS; n++)
		if (acl_build(l->acl[n]) == -1)
			rc = -1;
	return rc;
}

/* Ids, indexes and references; -1 if one of them cannot be made. */
int
config_link(struct l4d_config *conf)
{
	struct backend	*b;
	struct listener	*l;
	uint32_t	 id = 0;
	int		 rc = 0;

	TAILQ_FOREACH(b, &conf->backends, entry) {
		b->id = id++;
		if (backend_index(b) == -1)
			rc = -1;
	}
	conf->nbackends = id;
	id = 0;
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		l->id = id++;
		if (listener_link(conf, l) == -1)
			rc = -1;
	}
	conf->nlisteners = id;
	return rc;
}

void
conf_errors_clear(struct conf_errors *errs)
{
	struct conf_error	*e;

	while ((e = TAILQ_FIRST(errs)) != NULL) {
		TAILQ_REMOVE(errs, e, entry);
		free(e);
	}
}
