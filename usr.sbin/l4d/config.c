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

/* A listener, with a copy of its socket, then its routes. */
static int
send_listener(struct imsgev *iev, struct listener *l, int lfd)
{
	struct route	*r;
	int		 fd;

	if ((fd = dup(lfd)) == -1)
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
		if (send_listener(iev, l, fds[i++]) == -1)
			return -1;
	return imsgev_compose(iev, IMSG_CONF_END, 0, -1, NULL, 0);
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
	be->stats = NULL;
	TAILQ_INSERT_TAIL(&conf->backends, be, entry);
	conf->nbackends++;
	return 0;
}

static int
receive_server(struct l4d_config *conf, struct imsg *imsg)
{
	struct conf_server	 cs;
	struct backend		*be;
	struct server		*srv;

	if (imsg->datalen != sizeof(cs))
		return -1;
	memcpy(&cs, imsg->data, sizeof(cs));
	TAILQ_FOREACH(be, &conf->backends, entry)
		if (be->id == cs.backend_id)
			break;
	if (be == NULL || be->nservers >= L4D_MAX_SERVERS ||
	    cs.server.sslen > sizeof(cs.server.ss))
		return -1;
	if ((srv = malloc(sizeof(*srv))) == NULL)
		return -1;
	*srv = cs.server;
	TERMINATE(srv->address);
	srv->current_weight = 0;
	srv->active = 0;
	srv->sessions = 0;
	srv->up = 1;
	srv->disabled = cs.server.disabled != 0;
	srv->stats = NULL;
	TAILQ_INSERT_TAIL(&be->servers, srv, entry);
	be->nservers++;
	return 0;
}

static int
receive_listener(struct l4d_config *conf, struct imsg *imsg)
{
	struct listener	*l;

	if (imsg->datalen != sizeof(*l) || imsg->fd == -1 ||
	    conf->nlisteners >= UINT16_MAX)
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
	TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
	conf->nlisteners++;
	return 0;
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
	case IMSG_CONF_END:
		if (imsg->datalen != 0 || config_link(*confp) == -1)
			return -1;
		return 1;
	}
	return -1;
}
