/*
 * Process plumbing: frame channels hooked into the event loop, the
 * privilege drop every child performs before it touches the network,
 * and the table-driven life of the children: start, restart, stop.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l4d.h"

/*
 * Frames composed in a turn of the loop are written at its end, in as
 * few writes as they allow; only a full socket makes us wait for
 * EV_WRITE.  The event set is not touched for a frame that goes out.
 * The end of a turn is libevent's (an active event), or, in a loop of
 * our own (a relay's, imsgev_turns()), its call to imsgev_turn_end():
 * libevent then need not run, which would cost an epoll_wait(2).
 */
static int	 own_turns;
static TAILQ_HEAD(, imsgev) turn_queue = TAILQ_HEAD_INITIALIZER(turn_queue);

void
imsgev_turns(void)
{
	own_turns = 1;
}

static void
imsgev_flush(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;

	iev->flushing = IMSGEV_FLUSH_NONE;
	/* a failure shows again to the EV_WRITE that imsgev_add() asks */
	(void)imsgbuf_write(&iev->ibuf);
	imsgev_add(iev);
}

void
imsgev_init(struct imsgev *iev, int fd, int proc_id, int instance,
    void (*handler)(int, short, void *), void *data)
{
	imsgbuf_init(&iev->ibuf, fd);
	iev->pid = getpid();
	iev->flushing = IMSGEV_FLUSH_NONE;
	evtimer_set(&iev->ev_flush, imsgev_flush, iev);
	iev->proc_id = proc_id;
	iev->instance = instance;
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	/* persistent: the event set changes only when EV_WRITE does */
	event_set(&iev->ev, fd, iev->events | EV_PERSIST, handler, iev);
	event_add(&iev->ev, NULL);
}

/* Re-arm for writing only while frames are queued and may go now. */
void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (iev->ibuf.wqlen > 0 && iev->flushing != IMSGEV_FLUSH_LATER)
		events |= EV_WRITE;
	if (events == iev->events && event_initialized(&iev->ev) &&
	    event_pending(&iev->ev, EV_READ | EV_WRITE, NULL))
		return;
	event_del(&iev->ev);
	iev->events = events;
	event_set(&iev->ev, iev->ibuf.fd, events | EV_PERSIST, iev->handler,
	    iev);
	event_add(&iev->ev, NULL);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(&iev->ibuf, type, peerid, iev->pid, fd, data,
	    len) == -1)
		return -1;
	if (iev->flushing == IMSGEV_FLUSH_NOW)
		return 0;
	if (iev->flushing == IMSGEV_FLUSH_LATER)
		evtimer_del(&iev->ev_flush);
	iev->flushing = IMSGEV_FLUSH_NOW;
	if (own_turns)
		TAILQ_INSERT_TAIL(&turn_queue, iev, turn_entry);
	else
		event_active(&iev->ev_flush, EV_TIMEOUT, 1);
	return 0;
}

void
imsgev_turn_end(void)
{
	struct imsgev	*iev;

	while ((iev = TAILQ_FIRST(&turn_queue)) != NULL) {
		TAILQ_REMOVE(&turn_queue, iev, turn_entry);
		imsgev_flush(-1, 0, iev);
	}
}

/*
 * A frame that may wait up to ms for company: news the peer only keeps
 * books by goes out with the next frame that cannot wait, or when the
 * time is up, so that a busy peer is woken once for many.
 */
int
imsgev_compose_later(struct imsgev *iev, uint32_t type, int ms,
    const void *data, size_t len)
{
	struct timeval	 tv;

	if (imsg_compose(&iev->ibuf, type, 0, iev->pid, -1, data, len) == -1)
		return -1;
	if (iev->flushing == IMSGEV_FLUSH_NONE) {
		iev->flushing = IMSGEV_FLUSH_LATER;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(&iev->ev_flush, &tv);
	}
	return 0;
}

/* Read and write what the event allows; -1: the peer is gone or broken. */
int
imsgev_io(struct imsgev *iev, short event)
{
	ssize_t	 n;

	if (event & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if ((n == -1 && errno != EAGAIN && errno != EINTR) || n == 0)
			return -1;
	}
	if ((event & EV_WRITE) && imsgbuf_write(&iev->ibuf) == -1)
		return -1;
	return 0;
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->flushing == IMSGEV_FLUSH_NOW && own_turns)
		TAILQ_REMOVE(&turn_queue, iev, turn_entry);
	else if (iev->flushing != IMSGEV_FLUSH_NONE)
		event_del(&iev->ev_flush);
	iev->flushing = IMSGEV_FLUSH_NONE;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	if (iev->ibuf.fd != -1)
		close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}

/*
 * Only root can confine a child; anyone else runs unconfined and is
 * told so once by the parent.
 */
void
proc_drop_privileges(const char *user, const char *dir)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (chroot(dir) == -1)
		fatal("chroot %s", dir);
	if (chdir("/") == -1)
		fatal("chdir /");
	if (setgroups(1, &pw->pw_gid) == -1)
		fatal("setgroups");
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		fatal("setresgid");
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("setresuid");
}

/*
 * Children.  The parent forks and re-executes itself for each child:
 * every child gets a fresh address space layout and none of the
 * parent's event loop, heap or descriptors.  The channel to the parent
 * is always descriptor CHILD_CHANNEL_FD.
 */

#define CHILD_CHANNEL_FD	3
#define RESTART_DELAY_MS	1000	/* for a child that died young */
#define STOP_WAIT_MS		5000

static const struct proc_kind	*proc_kinds;
static size_t			 proc_nkinds;
static struct child		*children;
static int			 nchildren;
static char			 self_path[PATH_MAX];
static int			 proc_foreground;
static int			 proc_announced;
static int			 proc_stopping;
static void			(*proc_event)(const char *, ...);

static void	 child_fork(struct child *);
static void	 child_restart(int, short, void *);
static void	 child_dispatch(int, short, void *);

long long
proc_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The running binary, found the way the shell found it. */
static void
find_self(const char *argv0)
{
	char	 candidate[PATH_MAX], *path, *dir, *p;

	if (strchr(argv0, '/') != NULL) {
		if (realpath(argv0, self_path) == NULL)
			fatal("%s", argv0);
		return;
	}
	if ((p = getenv("PATH")) == NULL || (path = strdup(p)) == NULL)
		fatalx("cannot find %s in PATH", argv0);
	for (p = path; (dir = strsep(&p, ":")) != NULL;) {
		snprintf(candidate, sizeof(candidate), "%s/%s",
		    *dir ? dir : ".", argv0);
		if (access(candidate, X_OK) == 0 &&
		    realpath(candidate, self_path) != NULL) {
			free(path);
			return;
		}
	}
	fatalx("cannot find %s in PATH; start l4d with a full path", argv0);
}

void
proc_init(const struct proc_kind *kinds, size_t nkinds, const char *argv0,
    int foreground, void (*event)(const char *, ...))
{
	proc_kinds = kinds;
	proc_nkinds = nkinds;
	proc_foreground = foreground;
	proc_event = event;
	find_self(argv0);
}

void
proc_start(struct l4d_config *conf)
{
	struct child	*c;
	size_t		 k;
	int		 i, n, total = 0;

	for (k = 0; k < proc_nkinds; k++)
		total += proc_kinds[k].count(conf);
	if ((children = calloc(total, sizeof(*children))) == NULL)
		fatal("calloc");
	for (k = 0; k < proc_nkinds; k++) {
		n = proc_kinds[k].count(conf);
		for (i = 0; i < n; i++) {
			c = &children[nchildren++];
			c->kind = &proc_kinds[k];
			c->instance = i;
			c->count = n;
			c->iev.ibuf.fd = -1;
			c->sandbox_fd = -1;
			evtimer_set(&c->ev_restart, child_restart, c);
		}
	}
	for (i = 0; i < nchildren; i++)
		child_fork(&children[i]);
}

/* Descriptor from to exactly to, whatever number either has. */
static void
child_fd(int from, int to)
{
	if (from == to) {
		if (fcntl(to, F_SETFD, 0) == -1)
			fatal("fcntl");
		return;
	}
	if (dup2(from, to) == -1)
		fatal("dup2");
	close(from);
}

static __dead void
child_exec(struct child *c, int fd, int report_fd)
{
	char	 inst[16], count[16], level[16];
	char	*args[20];
	int	 n = 0;

	/* above both targets first, so that neither lands on the other */
	if ((fd = fcntl(fd, F_DUPFD, SANDBOX_REPORT_FD + 1)) == -1 ||
	    (report_fd = fcntl(report_fd, F_DUPFD,
	    SANDBOX_REPORT_FD + 1)) == -1)
		fatal("fcntl");
	child_fd(fd, CHILD_CHANNEL_FD);
	child_fd(report_fd, SANDBOX_REPORT_FD);
	closefrom(SANDBOX_REPORT_FD + 1);
	debug_child_exec(c->forks);
	snprintf(inst, sizeof(inst), "%d", c->instance);
	snprintf(count, sizeof(count), "%d", c->count);
	snprintf(level, sizeof(level), "%d", log_getlevel());
	args[n++] = self_path;
	args[n++] = "-P";
	args[n++] = (char *)c->kind->name;
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
	if (proc_foreground)
		args[n++] = "-d";
	args[n] = NULL;
	execv(self_path, args);
	fatal("exec %s", self_path);
}

static void
child_fork(struct child *c)
{
	int	 sp[2], rp[2];
	pid_t	 pid;

	if (proc_stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		fatal("socketpair");
	/* the sandbox's report: the child writes, the parent reads */
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		close(sp[0]);
		close(rp[0]);
		child_exec(c, sp[1], rp[1]);
	}
	close(sp[1]);
	close(rp[1]);
	if (c->sandbox_fd != -1)
		close(c->sandbox_fd);
	c->sandbox_fd = rp[0];
	c->forks++;
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sp[0], F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	c->pid = pid;
	c->ready = 0;
	c->restarted = proc_announced;
	c->started_ms = proc_now_ms();
	imsgev_init(&c->iev, sp[0], c->kind->id, c->instance,
	    child_dispatch, c);
	c->kind->configure(c);
	if (c->kind->started != NULL)
		c->kind->started(c);
	log_debug("%s %d started, pid %d", c->kind->name, c->instance,
	    (int)pid);
}

static void
child_restart(int fd, short event, void *arg)
{
	child_fork(arg);
}

/* Hidden entry point of a re-executed child: -P kind -R instance ... */
__dead void
proc_child_main(const struct proc_kind *kinds, size_t nkinds,
    const char *kind, int instance, int count, int level, const char *user,
    const char *root, int foreground)
{
	size_t	 k;

	log_init(foreground, level, "l4d");
	/* SIGUSR1 is the parent's (log reopen): a stray one kills no child */
	signal(SIGUSR1, SIG_IGN);
	for (k = 0; k < nkinds; k++)
		if (strcmp(kinds[k].name, kind) == 0)
			break;
	if (k == nkinds)
		fatalx("unknown process kind %s", kind);
	proc_drop_privileges(user, root);
	/* before the sandbox, which has no prctl(2) */
	if (kinds[k].timer_slack_us != 0 &&
	    compat_timer_slack(kinds[k].timer_slack_us) == -1)
		log_warn("timer slack");
	sandbox_enter(kinds[k].id);
	debug_child_start(kinds[k].name);
	kinds[k].run(CHILD_CHANNEL_FD, instance, count);
}

static void
child_exited(struct child *c, int status)
{
	struct timeval	 tv = { 0, 0 };
	char		 how[192], why[128];
	pid_t		 pid = c->pid;

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS &&
	    c->sandbox_fd != -1 &&
	    sandbox_report_text(c->sandbox_fd, why, sizeof(why)) == 0)
		snprintf(how, sizeof(how), "killed by signal %d (SIGSYS): "
		    "sandbox: %s", WTERMSIG(status), why);
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (c->iev.ibuf.fd != -1)
		imsgev_clear(&c->iev);
	c->pid = 0;
	c->ready = 0;
	if (proc_stopping)
		return;
	/* a child that dies at once would otherwise fork in a loop */
	if (proc_now_ms() - c->started_ms < RESTART_DELAY_MS)
		tv.tv_sec = RESTART_DELAY_MS / 1000;
	log_warnx("%s %d (pid %d) %s; restarting%s", c->kind->name,
	    c->instance, (int)pid, how, tv.tv_sec ? " in 1s" : "");
	proc_event("%s %d (pid %d) %s; restarting", c->kind->name,
	    c->instance, (int)pid, how);
	evtimer_add(&c->ev_restart, &tv);
}

void
proc_reap(void)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < nchildren; i++)
			if (children[i].pid == pid) {
				child_exited(&children[i], status);
				break;
			}
}

static void
child_kill(struct child *c, const char *why)
{
	log_warnx("%s %d (pid %d): %s; killing it", c->kind->name,
	    c->instance, (int)c->pid, why);
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	event_del(&c->iev.ev);
}

static void
child_ready(struct child *c)
{
	int	 i;

	if (c->ready)
		return;
	c->ready = 1;
	for (i = 0; i < nchildren && children[i].ready; i++)
		;
	if (i == nchildren)
		notify_ready();	/* every child runs this generation */
	if (proc_announced) {
		if (!c->restarted)
			return;
		c->restarted = 0;
		log_info("%s %d running, pid %d, generation %u", c->kind->name,
		    c->instance, (int)c->pid, l4d_conf->generation);
		proc_event("%s %d running, pid %d, generation %u",
		    c->kind->name, c->instance, (int)c->pid,
		    l4d_conf->generation);
		return;
	}
	for (i = 0; i < nchildren; i++)
		if (!children[i].ready)
			return;
	proc_announced = 1;
	log_info("ready: generation %u, %u listeners, %d relays",
	    l4d_conf->generation, l4d_conf->nlisteners,
	    proc_ninstances(PROC_RELAY));
}

/* Everything a child sends is checked before it is believed. */
static void
child_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct child	*c = iev->data;
	struct imsgbuf	*ibuf = &c->iev.ibuf;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1) {
		/* SIGCHLD does the rest */
		event_del(&c->iev.ev);
		return;
	}
	for (;;) {
		if ((n = imsg_get(ibuf, &imsg)) == -1) {
			child_kill(c, "malformed frame");
			return;
		}
		if (n == 0)
			break;
		if (imsg.fd != -1) {
			close(imsg.fd);
			imsg.fd = -1;
			goto bad;
		}
		if (imsg.hdr.type == IMSG_CONF_END) {
			if (imsg.datalen != 0)
				goto bad;
			child_ready(c);
		} else if (c->kind->dispatch(c, &imsg) == -1)
			goto bad;
		imsg_free(&imsg);
	}
	imsgev_add(&c->iev);
	return;
bad:
	log_warnx("%s %d: bad frame type %u length %zu", c->kind->name,
	    c->instance, imsg.hdr.type, imsg.datalen);
	imsg_free(&imsg);
	child_kill(c, "protocol violation");
}

/* A new generation: every running child gets it. */
void
proc_configure_all(void)
{
	int	 i;

	for (i = 0; i < nchildren; i++)
		if (children[i].pid > 0 && children[i].iev.ibuf.fd != -1) {
			children[i].ready = 0;
			children[i].kind->configure(&children[i]);
		}
}

static struct child *
child_find(enum l4d_proc id, int instance)
{
	int	 i;

	for (i = 0; i < nchildren; i++)
		if (children[i].kind->id == id &&
		    children[i].instance == instance)
			return &children[i];
	return NULL;
}

/* A running child, whose channel is open; NULL otherwise. */
struct child *
proc_child(enum l4d_proc id, int instance)
{
	struct child	*c;

	if ((c = child_find(id, instance)) == NULL || c->pid <= 0 ||
	    c->iev.ibuf.fd == -1)
		return NULL;
	return c;
}

int
proc_send(enum l4d_proc id, int instance, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	struct child	*c;

	if ((c = child_find(id, instance)) == NULL || c->pid <= 0 ||
	    !c->ready)
		return -1;
	return imsgev_compose(&c->iev, type, peerid, -1, data, len);
}

void
proc_send_all(enum l4d_proc id, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	int	 i;

	for (i = 0; i < nchildren; i++)
		if (children[i].kind->id == id && children[i].pid > 0 &&
		    children[i].ready)
			imsgev_compose(&children[i].iev, type, peerid, -1,
			    data, len);
}

/* Children of a kind that would answer a request now. */
int
proc_nready(enum l4d_proc id)
{
	int	 i, n = 0;

	for (i = 0; i < nchildren; i++)
		if (children[i].kind->id == id && children[i].pid > 0 &&
		    children[i].ready)
			n++;
	return n;
}

int
proc_ninstances(enum l4d_proc id)
{
	int	 i, n = 0;

	for (i = 0; i < nchildren; i++)
		if (children[i].kind->id == id)
			n++;
	return n;
}

/* SIGTERM to every child, a bounded wait, then SIGKILL. */
void
proc_stop(void)
{
	long long	 deadline;
	int		 i, alive;

	proc_stopping = 1;
	for (i = 0; i < nchildren; i++)
		if (children[i].pid > 0)
			kill(children[i].pid, SIGTERM);
	deadline = proc_now_ms() + STOP_WAIT_MS;
	do {
		proc_reap();
		for (alive = 0, i = 0; i < nchildren; i++)
			if (children[i].pid > 0)
				alive++;
		if (alive == 0)
			return;
		usleep(10000);
	} while (proc_now_ms() < deadline);
	for (i = 0; i < nchildren; i++)
		if (children[i].pid > 0) {
			log_warnx("%s %d did not stop; killing it",
			    children[i].kind->name, children[i].instance);
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
		}
}

/* The parent's l4ctl log verbose, in any child. */
void
proc_log_level(struct imsg *imsg)
{
	int	 level;

	if (imsg->datalen != sizeof(level))
		fatalx("bad log level frame from the parent");
	memcpy(&level, imsg->data, sizeof(level));
	log_setlevel(level);
}
