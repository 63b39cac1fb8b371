/*
 * l4d: the parent process.  It reads the configuration, binds every
 * listener, owns the control socket, forks the relays, hands them
 * their configuration and sockets, and restarts a relay that dies.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
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

#define LISTEN_BACKLOG		4096

struct l4d_config	*l4d_conf;
time_t			 parent_start_time;	/* for the metrics */
uint64_t		 parent_reloads;
uint64_t		 parent_reload_failures;

static int		 foreground;
static int		 verbose;
static struct event	 ev_sigterm, ev_sigint, ev_sighup, ev_sigchld;
static struct event	 ev_sigusr1;
static const char	*pidfile;

static __dead void	 usage(void);
static void		 parent_sig(int, short, void *);

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-f file] [-p pidfile]\n",
	    __progname);
	exit(1);
}

static void
print_errors(struct conf_errors *errs)
{
	struct conf_error	*e;
	int			 n = 0;

	TAILQ_FOREACH(e, errs, entry) {
		fprintf(stderr, "%s\n", e->msg);
		n++;
	}
	fprintf(stderr, "%d error%s\n", n, n == 1 ? "" : "s");
}

/* Descriptors bound the number of sessions: take all we may have. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const char *
error_text(int error, char *buf, size_t len)
{
	strlcpy(buf, strerror(error), len);
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] += 'a' - 'A';
	return buf;
}

/*
 * A socket bound to the listener's address.  shared: one of a set of
 * SO_REUSEPORT sockets, one per relay, which spread accepts without a
 * herd; otherwise a plain socket, which fails with "in use" if anything
 * else holds the port.
 */
static int
listen_bound(struct listener *l, int shared, char *why, size_t whylen)
{
	int	 fd, on = 1, v6only;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (shared && HAVE_SO_REUSEPORT_LB && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	v6only = !l->dual_stack;
	if (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	return fd;
fail:
	error_text(errno, why, whylen);
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_socket(struct listener *l, char *why, size_t whylen)
{
	int	 fd, on = 1;

	if ((fd = listen_bound(l, 1, why, whylen)) == -1)
		return -1;
	/* accepted sockets inherit it */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		error_text(errno, why, whylen);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SO_REUSEPORT would let a second l4d (or anything else) share the
 * port silently; a plain probe bind first makes "in use" an error.
 */
static int
listen_probe(struct listener *l, char *why, size_t whylen)
{
	int	 fd;

	if ((fd = listen_bound(l, 0, why, whylen)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * A listener that waits for the client's first bytes anyway (a hello,
 * an SSLRequest) has the kernel wait for them: the relay then reads
 * them at once instead of watching a silent socket.  A client that says
 * nothing is held by the kernel up to the handshake timeout, then
 * handed over to meet it.  Set again on a reload, which may change it.
 */
static void
listener_defer(struct listener *l)
{
	int	 i, secs = 0;

	if (listener_peeks(l))
		secs = l->timeouts.handshake == TIMEOUT_INFINITE ? 30 :
		    (int)((l->timeouts.handshake + 999) / 1000);
	for (i = 0; i < l->nrelay_fds; i++)
		if (compat_defer_accept(l->relay_fds[i], secs) == -1)
			log_warn("listener %s: deferred accept", l->name);
}

/*
 * A listener with rate_limit has each source's connections go to one
 * relay, whose bucket of it is then the only one; without, the OS's
 * spreading.  Failing that, each relay counts on its own (l4d.conf(5)).
 */
static void
listener_steer(struct listener *l)
{
	if (l->nrelay_fds < 2)
		return;
	if (listen_steer(l->relay_fds[0], l->ss.ss_family, l->nrelay_fds,
	    l->rate.ipv6_prefix, l->rate.per_source != 0) == -1)
		log_warn("listener %s: steering sources to relays", l->name);
}

/* Bind one listener: one socket per relay where the OS spreads them. */
static int
listener_bind(struct listener *l, int n, char *why, size_t whylen)
{
	int	 i, count = HAVE_SO_REUSEPORT_LB ? n : 1;

	if (listen_probe(l, why, whylen) == -1)
		return -1;
	if ((l->relay_fds = calloc(count, sizeof(int))) == NULL)
		fatal("calloc");
	for (i = 0; i < count; i++)
		l->relay_fds[i] = -1;
	l->nrelay_fds = count;
	for (i = 0; i < count; i++)
		if ((l->relay_fds[i] = listen_socket(l, why, whylen)) == -1)
			return -1;
	listener_defer(l);
	listener_steer(l);
	return 0;
}

static void
listener_unbind(struct listener *l)
{
	int	 i;

	for (i = 0; i < l->nrelay_fds; i++)
		if (l->relay_fds[i] != -1)
			close(l->relay_fds[i]);
	free(l->relay_fds);
	l->relay_fds = NULL;
	l->nrelay_fds = 0;
}

static int
listeners_bind(struct l4d_config *conf, int n)
{
	struct listener	*l;
	char		 why[128];

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (listener_bind(l, n, why, sizeof(why)) == -1) {
			log_warnx("listen %s: %s", l->listen, why);
			return -1;
		}
	}
	return 0;
}

/* The listener of the running generation bound to the same address. */
static struct listener *
listener_same_address(struct l4d_config *conf, struct listener *nl)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (sockaddr_equal(&l->ss, &nl->ss))
			return l;
	return NULL;
}

/* A bound socket's families are fixed: dual_stack needs a restart. */
static void
reload_keep_dual_stack(struct l4d_config *old, struct l4d_config *nc,
    FILE *out)
{
	struct listener	*l, *ol;

	TAILQ_FOREACH(l, &nc->listeners, entry)
		if ((ol = listener_same_address(old, l)) != NULL &&
		    ol->dual_stack != l->dual_stack) {
			fprintf(out, "warning: listener %s: dual_stack changes "
			    "only with a restart; kept as it is\n", l->name);
			l->dual_stack = ol->dual_stack;
		}
}

static struct listener *
listener_by_name(struct l4d_config *conf, const char *name)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static int	 backend_tls_equal(struct backend_tls *, struct backend_tls *);

static int
backend_equal(struct backend *a, struct backend *b)
{
	struct server	*x, *y;

	if (a->balance != b->balance || a->retries != b->retries ||
	    a->nservers != b->nservers || !backend_tls_equal(a->tls, b->tls) ||
	    !health_check_equal(&a->check, &b->check) ||
	    a->proxy_send != b->proxy_send)
		return 0;
	y = TAILQ_FIRST(&b->servers);
	TAILQ_FOREACH(x, &a->servers, entry) {
		if (strcmp(x->address, y->address) != 0 ||
		    x->weight != y->weight || x->backup != y->backup ||
		    !sockaddr_equal(&x->ss, &y->ss))
			return 0;
		y = TAILQ_NEXT(y, entry);
	}
	return 1;
}

static int
blob_equal(const struct tls_blob *a, const struct tls_blob *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->mem, b->mem, a->len) == 0);
}

static int
cert_equal(const struct tls_cert *a, const struct tls_cert *b)
{
	return a->nnames == b->nnames &&
	    memcmp(a->names, b->names, sizeof(a->names)) == 0 &&
	    blob_equal(&a->cert_mem, &b->cert_mem) &&
	    blob_equal(&a->key_mem, &b->key_mem) &&
	    blob_equal(&a->ocsp_mem, &b->ocsp_mem);
}

/* The same TLS settings and the same bytes in every file. */
static int
tls_equal(struct listener_tls *a, struct listener_tls *b)
{
	struct tls_cert	*x, *y;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->client_auth != b->client_auth || a->ncerts != b->ncerts ||
	    strcmp(a->protocols, b->protocols) != 0 ||
	    strcmp(a->ciphers, b->ciphers) != 0 ||
	    !blob_equal(&a->client_ca_mem, &b->client_ca_mem) ||
	    !blob_equal(&a->crl_mem, &b->crl_mem))
		return 0;
	y = TAILQ_FIRST(&b->certs);
	TAILQ_FOREACH(x, &a->certs, entry) {
		if (!cert_equal(x, y))
			return 0;
		y = TAILQ_NEXT(y, entry);
	}
	return 1;
}

static int
backend_tls_equal(struct backend_tls *a, struct backend_tls *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->verify == b->verify &&
	    strcmp(a->server_name, b->server_name) == 0 &&
	    strcmp(a->protocols, b->protocols) == 0 &&
	    blob_equal(&a->ca_mem, &b->ca_mem) &&
	    blob_equal(&a->cert_mem, &b->cert_mem) &&
	    blob_equal(&a->key_mem, &b->key_mem);
}

/* Same routes in the same order, same fallbacks. */
static int
routes_equal(struct listener *a, struct listener *b)
{
	struct route	*x, *y;

	if (a->nroutes != b->nroutes || a->starttls != b->starttls ||
	    a->no_sni_none != b->no_sni_none ||
	    strcmp(a->no_sni_name, b->no_sni_name) != 0)
		return 0;
	y = TAILQ_FIRST(&b->routes);
	TAILQ_FOREACH(x, &a->routes, entry) {
		if (x->match != y->match || x->tls != y->tls ||
		    x->priority != y->priority || strcmp(x->sni, y->sni) != 0 ||
		    strcmp(x->alpn, y->alpn) != 0 ||
		    strcmp(x->backend_name, y->backend_name) != 0)
			return 0;
		y = TAILQ_NEXT(y, entry);
	}
	return 1;
}

/* allow, deny, trusted, rate_limit and proxy_protocol, as written. */
static int
access_equal(struct listener *a, struct listener *b)
{
	struct acl	*x, *y;
	int		 i;

	if (a->proxy_accept != b->proxy_accept ||
	    memcmp(&a->rate, &b->rate, sizeof(a->rate)) != 0)
		return 0;
	for (i = 0; i < ACL_NLISTS; i++) {
		x = a->acl[i];
		y = b->acl[i];
		if (x == NULL || y == NULL) {
			if (x != y)
				return 0;
			continue;
		}
		if (x->ncidrs != y->ncidrs || memcmp(x->cidrs, y->cidrs,
		    x->ncidrs * sizeof(*x->cidrs)) != 0)
			return 0;
	}
	return 1;
}

/* What a reload changes, one line per object, for l4ctl and the log. */
static void
reload_plan(struct l4d_config *old, struct l4d_config *nc, FILE *out)
{
	struct listener	*l, *ol;
	struct backend	*be, *ob;

	TAILQ_FOREACH(l, &nc->listeners, entry) {
		if ((ol = listener_by_name(old, l->name)) == NULL)
			fprintf(out, "listener %s: added, %s\n", l->name,
			    l->listen);
		else if (strcmp(ol->listen, l->listen) != 0)
			fprintf(out, "listener %s: moved, %s -> %s\n", l->name,
			    ol->listen, l->listen);
		else if (strcmp(ol->backend_name, l->backend_name) != 0)
			fprintf(out, "listener %s: backend %s -> %s\n",
			    l->name, ol->backend_name[0] ? ol->backend_name :
			    "none", l->backend_name[0] ? l->backend_name :
			    "none");
		else if (!routes_equal(ol, l))
			fprintf(out, "listener %s: routes changed, %u routes\n",
			    l->name, l->nroutes);
		else if (!tls_equal(ol->tls, l->tls))
			fprintf(out, "listener %s: tls changed\n", l->name);
		else if (!access_equal(ol, l))
			fprintf(out, "listener %s: access control changed\n",
			    l->name);
		else
			fprintf(out, "listener %s: unchanged\n", l->name);
	}
	TAILQ_FOREACH(ol, &old->listeners, entry)
		if (listener_by_name(nc, ol->name) == NULL)
			fprintf(out, "listener %s: removed\n", ol->name);
	TAILQ_FOREACH(be, &nc->backends, entry) {
		if ((ob = config_find_backend(old, be->name)) == NULL)
			fprintf(out, "backend %s: added\n", be->name);
		else
			fprintf(out, "backend %s: %s\n", be->name,
			    backend_equal(ob, be) ? "unchanged" : "changed");
	}
	TAILQ_FOREACH(ob, &old->backends, entry)
		if (config_find_backend(nc, ob->name) == NULL)
			fprintf(out, "backend %s: removed\n", ob->name);
}

/* Settings a running daemon cannot change; the old value stays. */
static void
reload_keep_fixed(struct l4d_config *old, struct l4d_config *nc, FILE *out)
{
	if (strcmp(old->user, nc->user) != 0 ||
	    strcmp(old->chroot, nc->chroot) != 0 ||
	    strcmp(old->control, nc->control) != 0 ||
	    strcmp(old->control_ro, nc->control_ro) != 0 ||
	    strcmp(old->control_group, nc->control_group) != 0 ||
	    old->relays != nc->relays || old->tls_engines != nc->tls_engines)
		fprintf(out, "warning: user, chroot, control, "
		    "control_readonly, control_group, relays and tls_engines "
		    "change only with a restart; kept as they are\n");
	strlcpy(nc->user, old->user, sizeof(nc->user));
	strlcpy(nc->chroot, old->chroot, sizeof(nc->chroot));
	strlcpy(nc->control, old->control, sizeof(nc->control));
	strlcpy(nc->control_ro, old->control_ro, sizeof(nc->control_ro));
	strlcpy(nc->control_group, old->control_group,
	    sizeof(nc->control_group));
	nc->relays = old->relays;
	nc->tls_engines = old->tls_engines;
}

static void
reload_fail(struct l4d_config *nc, FILE *out, uint32_t generation)
{
	struct listener	*l;

	if (nc != NULL) {
		TAILQ_FOREACH(l, &nc->listeners, entry)
			listener_unbind(l);
		config_free(nc);
	}
	fprintf(out, "configuration unchanged, generation %u\n", generation);
}

/*
 * New addresses are bound before anything changes, so that a reload
 * either applies whole or not at all.
 */
static int
reload_bind(struct l4d_config *old, struct l4d_config *nc, FILE *out,
    int apply)
{
	struct listener	*l;
	char		 why[128];
	int		 rv = 0;

	TAILQ_FOREACH(l, &nc->listeners, entry) {
		if (listener_same_address(old, l) != NULL)
			continue;
		if ((apply ? listener_bind(l,
		    proc_ninstances(PROC_RELAY), why, sizeof(why)) :
		    listen_probe(l, why, sizeof(why))) == -1) {
			fprintf(out, "listen %s: %s\n", l->listen, why);
			rv = -1;
			if (apply)
				break;
		}
	}
	return rv;
}

/* A server the operator disabled stays disabled across reloads. */
static void
reload_keep_disabled(struct l4d_config *old, struct l4d_config *nc)
{
	struct backend	*be, *ob;
	struct server	*srv, *os;

	TAILQ_FOREACH(be, &nc->backends, entry) {
		if ((ob = config_find_backend(old, be->name)) == NULL)
			continue;
		TAILQ_FOREACH(srv, &be->servers, entry)
			TAILQ_FOREACH(os, &ob->servers, entry)
				if (os->disabled &&
				    strcmp(os->address, srv->address) == 0)
					srv->disabled = 1;
	}
}

static void
reload_commit(struct l4d_config *old, struct l4d_config *nc)
{
	struct listener	*l, *ol;

	TAILQ_FOREACH(l, &nc->listeners, entry) {
		if ((ol = listener_same_address(old, l)) == NULL)
			continue;
		l->relay_fds = ol->relay_fds;
		l->nrelay_fds = ol->nrelay_fds;
		ol->relay_fds = NULL;
		ol->nrelay_fds = 0;
		listener_defer(l);
		if (l->rate.per_source != 0 || ol->rate.per_source != 0)
			listener_steer(l);
	}
	TAILQ_FOREACH(ol, &old->listeners, entry)
		listener_unbind(ol);
	reload_keep_disabled(old, nc);
	health_reload_keep(old, nc);
	nc->generation = old->generation + 1;
	l4d_conf = nc;
	config_free(old);
	access_reload_commit();
	proc_configure_all();
}

static void
reload_log(char *text)
{
	char	*line;

	while ((line = strsep(&text, "\n")) != NULL)
		if (*line != '\0')
			log_info("reload: %s", line);
}

/*
 * Check a file and, with apply, make it the running configuration.
 * Everything the operator needs to know is written to out (the log when
 * out is NULL).  Returns 0 on success.
 */
int
parent_reload(const char *path, FILE *out, int apply)
{
	struct conf_errors	 errs;
	struct conf_error	*e;
	struct l4d_config	*old = l4d_conf, *nc;
	char			 file[PATH_MAX];
	FILE			*log_fp = NULL;
	char			*log_text = NULL;
	size_t			 log_len = 0;
	int			 rv = -1;

	if (out == NULL) {
		if ((log_fp = open_memstream(&log_text, &log_len)) == NULL)
			return -1;
		out = log_fp;
	}
	TAILQ_INIT(&errs);
	if (apply)
		notify_reloading();
	/* the old configuration, and its path, go away on success */
	strlcpy(file, path != NULL ? path : old->path, sizeof(file));
	path = file;
	if ((nc = parse_config(path, &errs)) == NULL) {
		TAILQ_FOREACH(e, &errs, entry)
			fprintf(out, "%s\n", e->msg);
		conf_errors_clear(&errs);
		reload_fail(NULL, out, old->generation);
		goto done;
	}
	if (nc->include_note[0] != '\0')
		fprintf(out, "%s\n", nc->include_note);
	runtime_keep(old, nc, out, apply);
	reload_keep_fixed(old, nc, out);
	reload_keep_dual_stack(old, nc, out);
	metrics_reload_keep(old, nc, out);
	reload_plan(old, nc, out);
	if (reload_bind(old, nc, out, apply) == -1) {
		reload_fail(nc, out, old->generation);
		goto done;
	}
	if (!apply) {
		fprintf(out, "check OK: would become generation %u\n",
		    old->generation + 1);
		reload_fail(nc, out, old->generation);
		rv = 0;
		goto done;
	}
	if (access_reload_prepare(nc, out) == -1) {
		reload_fail(nc, out, old->generation);
		goto done;
	}
	reload_commit(old, nc);
	fprintf(out, "reloaded %s: generation %u\n", path,
	    l4d_conf->generation);
	control_event("reload: generation %u from %s", l4d_conf->generation,
	    path);
	parent_reloads++;
	rv = 0;
done:
	if (rv == -1 && apply) {
		parent_reload_failures++;
		control_event("reload of %s failed; generation %u kept", path,
		    l4d_conf->generation);
		notify_ready();
	}
	if (log_fp != NULL) {
		fclose(log_fp);
		reload_log(log_text);
		free(log_text);
	}
	return rv;
}

static int
relay_count(struct l4d_config *conf)
{
	long	 n;

	if (conf->relays > 0)
		return conf->relays;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > L4D_MAX_RELAYS)
		n = L4D_MAX_RELAYS;
	return (int)n;
}

/*
 * The relay row of the process table.  A relay gets the configuration
 * with its own socket of every listener.
 */
static void
relay_configure(struct child *c)
{
	struct listener	*l;
	int		*fds;
	int		 i = 0;

	if ((fds = calloc(l4d_conf->nlisteners + 1, sizeof(int))) == NULL)
		fatal("calloc");
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry)
		fds[i++] = l->relay_fds[c->instance % l->nrelay_fds];
	/* zero_copy: sockmap: its maps, once per process */
	sockmap_parent_send(&c->iev, c->instance, c->pid);
	/* where its access lines go, before it accepts anything */
	if (access_send(&c->iev) == -1)
		fatal("sending the access log to relay %d", c->instance);
	if (config_send(&c->iev, l4d_conf, fds) == -1)
		fatal("sending the configuration to relay %d", c->instance);
	free(fds);
}

static int
relay_dispatch(struct child *c, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_STAT:
	case IMSG_CTL_SESSION:
	case IMSG_CTL_END:
		return control_relay_reply(imsg, c->instance);
	case IMSG_HEALTH_PASSIVE:
		return health_passive(c, imsg);
	}
	return -1;
}

static const struct proc_kind proc_table[] = {
	{ "relay", PROC_RELAY, relay_count, relay_main, relay_configure,
	    relay_dispatch, relay_started, 0 },
	{ "tls", PROC_TLS, engine_count, tls_main, engine_configure,
	    engine_dispatch, engine_started, 0 },
	/* checks a second or more apart take a wake-up for several */
	{ "health", PROC_HEALTH, health_count, health_main, health_configure,
	    health_dispatch, NULL, HEALTH_TIMER_SLACK_US },
	{ "metrics", PROC_METRICS, metrics_count, metrics_main,
	    metrics_configure, metrics_dispatch, NULL, 0 },
};

void
parent_log_level(int level)
{
	log_setlevel(level);
	proc_send_all(PROC_RELAY, IMSG_CTL_LOG_VERBOSE, 0, &level,
	    sizeof(level));
	proc_send_all(PROC_TLS, IMSG_CTL_LOG_VERBOSE, 0, &level,
	    sizeof(level));
	proc_send_all(PROC_HEALTH, IMSG_CTL_LOG_VERBOSE, 0, &level,
	    sizeof(level));
	proc_send_all(PROC_METRICS, IMSG_CTL_LOG_VERBOSE, 0, &level,
	    sizeof(level));
}

static void
parent_stop(void)
{
	log_info("stopping");
	proc_stop();
	control_cleanup(l4d_conf->control);
	control_ro_cleanup(l4d_conf->control_ro);
	pid_file_remove();
	log_info("stopped");
	exit(0);
}

static void
parent_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		parent_stop();
		break;
	case SIGCHLD:
		proc_reap();
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading %s", l4d_conf->path);
		(void)parent_reload(NULL, NULL, 1);
		break;
	case SIGUSR1:
		access_reopen();
		break;
	}
}

static void
signals_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal_set(&ev_sigusr1, SIGUSR1, parent_sig, NULL);
	signal_add(&ev_sigusr1, NULL);
}

int
main(int argc, char *argv[], char *envp[])
{
	struct conf_errors	 errs;
	const char		*conffile = L4D_CONF, *errstr;
	const char		*kind = NULL, *user = NULL, *root = NULL;
	int			 ch, checkonly = 0, level, nrelays;
	int			 instance = 0, count = 1;

	compat_setproctitle_init(argc, argv, envp);
	level = LOG_LEVEL_INFO;
	while ((ch = getopt(argc, argv, "c:df:L:nN:p:P:R:u:v")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'v':
			verbose++;
			break;
		/* hidden: how the parent starts its children */
		case 'c':
			root = optarg;
			break;
		case 'L':
			level = strtonum(optarg, 0, LOG_LEVEL_DEBUG, &errstr);
			if (errstr != NULL)
				errx(1, "-L %s: %s", optarg, errstr);
			break;
		case 'N':
			count = strtonum(optarg, 1, L4D_MAX_RELAYS, &errstr);
			if (errstr != NULL)
				errx(1, "-N %s: %s", optarg, errstr);
			break;
		case 'P':
			kind = optarg;
			break;
		case 'R':
			instance = strtonum(optarg, 0, L4D_MAX_RELAYS - 1,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-R %s: %s", optarg, errstr);
			break;
		case 'u':
			user = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (kind != NULL) {
		if (user == NULL || root == NULL)
			usage();
		proc_child_main(proc_table, nitems(proc_table), kind, instance,
		    count, level, user, root, foreground);
	}

	log_init(1, LOG_LEVEL_INFO, "l4d");
	log_procname("parent");
	TAILQ_INIT(&errs);
	if ((l4d_conf = parse_config(conffile, &errs)) == NULL) {
		print_errors(&errs);
		exit(1);
	}
	if (checkonly) {
		if (l4d_conf->include_note[0] != '\0')
			fprintf(stderr, "%s\n", l4d_conf->include_note);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	if (l4d_conf->include_note[0] != '\0')
		log_info("%s", l4d_conf->include_note);
	level = l4d_conf->log_level;
	if (verbose > 0 && level < LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	l4d_conf->generation = 1;
	health_reload_keep(NULL, l4d_conf);
	proc_init(proc_table, nitems(proc_table), argv[0], foreground,
	    control_event);

	raise_nofile();
	nrelays = relay_count(l4d_conf);
	if (listeners_bind(l4d_conf, nrelays) == -1)
		exit(1);
	if (metrics_bind(l4d_conf) == -1)
		exit(1);
	parent_start_time = time(NULL);
	if (control_init(l4d_conf->control) == -1)
		exit(1);
	if (l4d_conf->control_ro[0] != '\0' &&
	    control_ro_init(l4d_conf->control_ro) == -1)
		exit(1);
	access_init(l4d_conf);
	notify_init();
	if (geteuid() != 0)
		log_warnx("not running as root: children keep uid %d and are "
		    "not chrooted", (int)geteuid());
	if (!foreground)
		notify_detach();	/* returns in the daemon */
	log_init(foreground, level, "l4d");
	if (pidfile != NULL)
		pid_file_write(pidfile);
	setproctitle("parent");

	event_init();
	signals_init();
	tickets_init();
	proc_start(l4d_conf);
	control_listen();
	event_dispatch();
	fatalx("event loop ended");
}
