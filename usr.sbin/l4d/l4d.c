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
#define RESTART_DELAY_MS	1000	/* for a relay that died young */
#define STOP_WAIT_MS		5000

struct relay_proc {
	int		 instance;
	pid_t		 pid;
	int		 ready;
	int		 restarted;	/* announce when it is ready */
	long long	 started_ms;
	struct imsgev	 iev;
	struct event	 ev_restart;
};

struct l4d_config	*l4d_conf;

#define RELAY_CHANNEL_FD	3

static char		 self_path[PATH_MAX];
static struct relay_proc *relays;
static int		 nrelays;
static int		 foreground;
static int		 verbose;
static int		 announced;
static int		 stopping;
static struct event	 ev_sigterm, ev_sigint, ev_sighup, ev_sigchld;

static __dead void	 usage(void);
static void		 parent_sig(int, short, void *);
static void		 parent_dispatch_relay(int, short, void *);
static void		 relay_fork(struct relay_proc *);
static void		 relay_send_config(struct relay_proc *);
static __dead void	 relay_exec(int, int);
static void		 relay_restart(int, short, void *);

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", __progname);
	exit(1);
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static int
listen_socket(struct listener *l, char *why, size_t whylen)
{
	int	 fd, on = 1;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* one socket per relay spreads accepts without a herd */
	if (HAVE_SO_REUSEPORT_LB && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
	    &on, sizeof(on)) == -1)
		goto fail;
	if (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	error_text(errno, why, whylen);
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * SO_REUSEPORT would let a second l4d (or anything else) share the
 * port silently; a plain probe bind first makes "in use" an error.
 */
static int
listen_probe(struct listener *l, char *why, size_t whylen)
{
	int	 fd, on = 1;

	if ((fd = socket(l->ss.ss_family, SOCK_STREAM, 0)) == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	close(fd);
	return 0;
fail:
	error_text(errno, why, whylen);
	if (fd != -1)
		close(fd);
	return -1;
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

static int
sockaddr_equal(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* The listener of the running generation bound to the same address. */
static struct listener *
listener_same_address(struct l4d_config *conf, struct listener *nl)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (sockaddr_equal(&l->ss, l->sslen, &nl->ss, nl->sslen))
			return l;
	return NULL;
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

static int
backend_equal(struct backend *a, struct backend *b)
{
	struct server	*x, *y;

	if (a->balance != b->balance || a->retries != b->retries ||
	    a->nservers != b->nservers)
		return 0;
	y = TAILQ_FIRST(&b->servers);
	TAILQ_FOREACH(x, &a->servers, entry) {
		if (strcmp(x->address, y->address) != 0 ||
		    x->weight != y->weight || x->backup != y->backup ||
		    !sockaddr_equal(&x->ss, x->sslen, &y->ss, y->sslen))
			return 0;
		y = TAILQ_NEXT(y, entry);
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
			    l->name, ol->backend_name, l->backend_name);
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
	    old->relays != nc->relays)
		fprintf(out, "warning: user, chroot, control and relays "
		    "change only with a restart; kept as they are\n");
	strlcpy(nc->user, old->user, sizeof(nc->user));
	strlcpy(nc->chroot, old->chroot, sizeof(nc->chroot));
	strlcpy(nc->control, old->control, sizeof(nc->control));
	nc->relays = old->relays;
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
		if ((apply ? listener_bind(l, nrelays, why, sizeof(why)) :
		    listen_probe(l, why, sizeof(why))) == -1) {
			fprintf(out, "listen %s: %s\n", l->listen, why);
			rv = -1;
			if (apply)
				break;
		}
	}
	return rv;
}

static void
reload_commit(struct l4d_config *old, struct l4d_config *nc)
{
	struct listener	*l, *ol;
	int		 i;

	TAILQ_FOREACH(l, &nc->listeners, entry) {
		if ((ol = listener_same_address(old, l)) == NULL)
			continue;
		l->relay_fds = ol->relay_fds;
		l->nrelay_fds = ol->nrelay_fds;
		ol->relay_fds = NULL;
		ol->nrelay_fds = 0;
	}
	TAILQ_FOREACH(ol, &old->listeners, entry)
		listener_unbind(ol);
	nc->generation = old->generation + 1;
	l4d_conf = nc;
	config_free(old);
	for (i = 0; i < nrelays; i++)
		if (relays[i].pid > 0 && relays[i].iev.ibuf.fd != -1) {
			relays[i].ready = 0;
			relay_send_config(&relays[i]);
		}
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
	reload_keep_fixed(old, nc, out);
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
	reload_commit(old, nc);
	fprintf(out, "reloaded %s: generation %u\n", path,
	    l4d_conf->generation);
	control_event("reload: generation %u from %s", l4d_conf->generation,
	    path);
	rv = 0;
done:
	if (rv == -1 && apply)
		control_event("reload of %s failed; generation %u kept", path,
		    l4d_conf->generation);
	if (log_fp != NULL) {
		fclose(log_fp);
		reload_log(log_text);
		free(log_text);
	}
	return rv;
}

static void
relay_send_config(struct relay_proc *rp)
{
	struct listener	*l;
	int		*fds;
	int		 i = 0;

	if ((fds = calloc(l4d_conf->nlisteners + 1, sizeof(int))) == NULL)
		fatal("calloc");
	TAILQ_FOREACH(l, &l4d_conf->listeners, entry)
		fds[i++] = l->relay_fds[rp->instance % l->nrelay_fds];
	if (config_send(&rp->iev, l4d_conf, fds) == -1)
		fatal("sending the configuration to relay %d", rp->instance);
	free(fds);
}

static void
relay_fork(struct relay_proc *rp)
{
	int	 sp[2];
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		fatal("socketpair");
	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		close(sp[0]);
		relay_exec(sp[1], rp->instance);
	}
	close(sp[1]);
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sp[0], F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	rp->pid = pid;
	rp->ready = 0;
	rp->restarted = announced;
	rp->started_ms = now_ms();
	imsgev_init(&rp->iev, sp[0], PROC_RELAY, rp->instance,
	    parent_dispatch_relay, rp);
	relay_send_config(rp);
	log_debug("relay %d started, pid %d", rp->instance, (int)pid);
}

/*
 * Relays are re-executed rather than just forked: each gets a fresh
 * address space layout and none of the parent's event loop, heap or
 * descriptors.  The channel to the parent is always descriptor 3.
 */
static __dead void
relay_exec(int fd, int instance)
{
	char	 inst[16], count[16], level[16];
	char	*args[16];
	int	 n = 0;

	if (fd != RELAY_CHANNEL_FD) {
		if (dup2(fd, RELAY_CHANNEL_FD) == -1)
			fatal("dup2");
		close(fd);
	}
	closefrom(RELAY_CHANNEL_FD + 1);
	snprintf(inst, sizeof(inst), "%d", instance);
	snprintf(count, sizeof(count), "%d", nrelays);
	snprintf(level, sizeof(level), "%d", log_getlevel());
	args[n++] = self_path;
	args[n++] = "-R";
	args[n++] = inst;
	args[n++] = "-N";
	args[n++] = count;
	args[n++] = "-L";
	args[n++] = level;
	args[n++] = "-u";
	args[n++] = l4d_conf->user;
	args[n++] = "-c";
	args[n++] = l4d_conf->chroot;
	if (foreground)
		args[n++] = "-d";
	args[n] = NULL;
	execv(self_path, args);
	fatal("exec %s", self_path);
}

/* The running binary, found the way the shell found it. */
static void
find_self(const char *argv0)
{
	char	 candidate[PATH_MAX], *path, *dir, *p;

	if (strchr(argv0, '/') != NULL) {
		if (realpath(argv0, self_path) == NULL)
			err(1, "%s", argv0);
		return;
	}
	if ((p = getenv("PATH")) == NULL || (path = strdup(p)) == NULL)
		errx(1, "cannot find %s in PATH", argv0);
	for (p = path; (dir = strsep(&p, ":")) != NULL;) {
		snprintf(candidate, sizeof(candidate), "%s/%s",
		    *dir ? dir : ".", argv0);
		if (access(candidate, X_OK) == 0 &&
		    realpath(candidate, self_path) != NULL) {
			free(path);
			return;
		}
	}
	errx(1, "cannot find %s in PATH; start l4d with a full path", argv0);
}

/* Hidden entry point of a re-executed relay. */
static __dead void
relay_start(int instance, int count, int level, const char *user,
    const char *root)
{
	log_init(foreground, level, "l4d");
	proc_drop_privileges(user, root);
	relay_main(RELAY_CHANNEL_FD, instance, count);
}

static void
relay_restart(int fd, short event, void *arg)
{
	struct relay_proc	*rp = arg;

	if (!stopping)
		relay_fork(rp);
}

static void
relay_exited(struct relay_proc *rp, int status)
{
	struct timeval	 tv = { 0, 0 };
	char		 how[64];
	pid_t		 pid = rp->pid;

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (rp->iev.ibuf.fd != -1)
		imsgev_clear(&rp->iev);
	rp->pid = 0;
	rp->ready = 0;
	if (stopping)
		return;
	/* a relay that dies at once would otherwise fork in a loop */
	if (now_ms() - rp->started_ms < RESTART_DELAY_MS)
		tv.tv_sec = RESTART_DELAY_MS / 1000;
	log_warnx("relay %d (pid %d) %s; restarting%s", rp->instance,
	    (int)pid, how, tv.tv_sec ? " in 1s" : "");
	control_event("relay %d (pid %d) %s; restarting", rp->instance,
	    (int)pid, how);
	evtimer_add(&rp->ev_restart, &tv);
}

static void
reap_children(void)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nrelays; i++) {
			if (relays[i].pid == pid) {
				relay_exited(&relays[i], status);
				break;
			}
		}
	}
}

static void
relay_kill(struct relay_proc *rp, const char *why)
{
	log_warnx("relay %d (pid %d): %s; killing it", rp->instance,
	    (int)rp->pid, why);
	if (rp->pid > 0)
		kill(rp->pid, SIGKILL);
	event_del(&rp->iev.ev);
}

static void
relay_ready(struct relay_proc *rp)
{
	int	 i;

	if (rp->ready)
		return;
	rp->ready = 1;
	if (announced) {
		if (!rp->restarted)
			return;
		rp->restarted = 0;
		log_info("relay %d running, pid %d, generation %u",
		    rp->instance, (int)rp->pid, l4d_conf->generation);
		control_event("relay %d running, pid %d, generation %u",
		    rp->instance, (int)rp->pid, l4d_conf->generation);
		return;
	}
	for (i = 0; i < nrelays; i++)
		if (!relays[i].ready)
			return;
	announced = 1;
	log_info("ready: generation %u, %u listeners, %d relays",
	    l4d_conf->generation, l4d_conf->nlisteners, nrelays);
}

/* Everything a child sends is checked before it is believed. */
static void
parent_dispatch_relay(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct relay_proc	*rp = iev->data;
	struct imsgbuf		*ibuf = &rp->iev.ibuf;
	struct imsg		 imsg;
	ssize_t			 n;

	if (event & EV_READ) {
		n = imsgbuf_read(ibuf);
		if ((n == -1 && errno != EAGAIN && errno != EINTR) || n == 0) {
			/* SIGCHLD does the rest */
			event_del(&rp->iev.ev);
			return;
		}
	}
	if ((event & EV_WRITE) && imsgbuf_write(ibuf) == -1) {
		event_del(&rp->iev.ev);
		return;
	}
	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1) {
			relay_kill(rp, "malformed frame");
			return;
		}
		if (n == 0)
			break;
		if (imsg.fd != -1) {
			close(imsg.fd);
			imsg_free(&imsg);
			relay_kill(rp, "unexpected descriptor");
			return;
		}
		switch (imsg.hdr.type) {
		case IMSG_CONF_END:
			if (imsg.datalen != 0)
				goto bad;
			relay_ready(rp);
			break;
		case IMSG_CTL_STAT:
		case IMSG_CTL_SESSION:
		case IMSG_CTL_END:
			if (control_relay_reply(&imsg, rp->instance) == -1)
				goto bad;
			break;
		default:
			goto bad;
		}
		imsg_free(&imsg);
	}
	imsgev_add(&rp->iev);
	return;
bad:
	log_warnx("relay %d: bad frame type %u length %zu", rp->instance,
	    imsg.hdr.type, imsg.datalen);
	imsg_free(&imsg);
	relay_kill(rp, "protocol violation");
}

void
parent_send_relays(uint32_t type, uint32_t peerid, const void *data,
    size_t len)
{
	int	 i;

	for (i = 0; i < nrelays; i++)
		if (relays[i].pid > 0 && relays[i].ready)
			imsgev_compose(&relays[i].iev, type, peerid, -1, data,
			    len);
}

int
parent_send_relay(int instance, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	if (instance < 0 || instance >= nrelays || relays[instance].pid <= 0 ||
	    !relays[instance].ready)
		return -1;
	return imsgev_compose(&relays[instance].iev, type, peerid, -1, data,
	    len);
}

void
parent_log_level(int level)
{
	log_setlevel(level);
	parent_send_relays(IMSG_CTL_LOG_VERBOSE, 0, &level, sizeof(level));
}

/* Relays that would answer a request now. */
int
parent_nrelays(void)
{
	int	 i, n = 0;

	for (i = 0; i < nrelays; i++)
		if (relays[i].pid > 0 && relays[i].ready)
			n++;
	return n;
}

int
parent_total_relays(void)
{
	return nrelays;
}

static void
parent_stop(void)
{
	long long	 deadline;
	int		 i, alive;

	stopping = 1;
	log_info("stopping");
	for (i = 0; i < nrelays; i++)
		if (relays[i].pid > 0)
			kill(relays[i].pid, SIGTERM);
	deadline = now_ms() + STOP_WAIT_MS;
	do {
		reap_children();
		for (alive = 0, i = 0; i < nrelays; i++)
			if (relays[i].pid > 0)
				alive++;
		if (alive == 0)
			break;
		usleep(10000);
	} while (now_ms() < deadline);
	for (i = 0; i < nrelays; i++)
		if (relays[i].pid > 0) {
			log_warnx("relay %d did not stop; killing it", i);
			kill(relays[i].pid, SIGKILL);
			waitpid(relays[i].pid, NULL, 0);
		}
	control_cleanup(l4d_conf->control);
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
		reap_children();
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading %s", l4d_conf->path);
		(void)parent_reload(NULL, NULL, 1);
		break;
	}
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
}

int
main(int argc, char *argv[], char *envp[])
{
	struct conf_errors	 errs;
	const char		*conffile = L4D_CONF, *errstr;
	const char		*user = NULL, *root = NULL;
	int			 ch, checkonly = 0, level, i;
	int			 relay = -1, count = 1;

	compat_setproctitle_init(argc, argv, envp);
	level = LOG_LEVEL_INFO;
	while ((ch = getopt(argc, argv, "c:df:L:nN:R:u:v")) != -1) {
		switch (ch) {
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
		case 'R':
			relay = strtonum(optarg, 0, L4D_MAX_RELAYS - 1,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-R %s: %s", optarg, errstr);
			break;
		case 'u':
			user = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (relay != -1) {
		if (user == NULL || root == NULL)
			usage();
		relay_start(relay, count, level, user, root);
	}
	find_self(argv[0]);

	log_init(1, LOG_LEVEL_INFO, "l4d");
	log_procname("parent");
	TAILQ_INIT(&errs);
	if ((l4d_conf = parse_config(conffile, &errs)) == NULL) {
		print_errors(&errs);
		exit(1);
	}
	if (checkonly) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	level = l4d_conf->log_level;
	if (verbose > 0 && level < LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	l4d_conf->generation = 1;

	raise_nofile();
	nrelays = relay_count(l4d_conf);
	if (listeners_bind(l4d_conf, nrelays) == -1)
		exit(1);
	if (control_init(l4d_conf->control) == -1)
		exit(1);
	if (geteuid() != 0)
		log_warnx("not running as root: children keep uid %d and are "
		    "not chrooted", (int)geteuid());
	if (!foreground && daemon(0, 0) == -1)
		err(1, "daemon");
	log_init(foreground, level, "l4d");
	setproctitle("parent");

	event_init();
	signals_init();
	if ((relays = calloc(nrelays, sizeof(*relays))) == NULL)
		fatal("calloc");
	for (i = 0; i < nrelays; i++) {
		relays[i].instance = i;
		relays[i].iev.ibuf.fd = -1;
		evtimer_set(&relays[i].ev_restart, relay_restart, &relays[i]);
		relay_fork(&relays[i]);
	}
	control_listen();
	event_dispatch();
	fatalx("event loop ended");
}
