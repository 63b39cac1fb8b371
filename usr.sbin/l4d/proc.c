/*
 * Process plumbing: frame channels hooked into the event loop and the
 * privilege drop every child performs before it touches the network.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "l4d.h"

static const char *proc_names[PROC_MAX] = {
	[PROC_PARENT] = "parent",
	[PROC_RELAY] = "relay",
};

const char *
proc_name(int id)
{
	if (id < 0 || id >= PROC_MAX)
		return "unknown";
	return proc_names[id];
}

void
imsgev_init(struct imsgev *iev, int fd, int proc_id, int instance,
    void (*handler)(int, short, void *), void *data)
{
	imsgbuf_init(&iev->ibuf, fd);
	iev->proc_id = proc_id;
	iev->instance = instance;
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, handler, iev);
	event_add(&iev->ev, NULL);
}

/* Re-arm for writing only while frames are queued. */
void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (iev->ibuf.wqlen > 0)
		events |= EV_WRITE;
	if (events == iev->events && event_initialized(&iev->ev) &&
	    event_pending(&iev->ev, EV_READ | EV_WRITE, NULL))
		return;
	event_del(&iev->ev);
	iev->events = events;
	event_set(&iev->ev, iev->ibuf.fd, events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(&iev->ibuf, type, peerid, getpid(), fd, data,
	    len) == -1)
		return -1;
	imsgev_add(iev);
	return 0;
}

void
imsgev_clear(struct imsgev *iev)
{
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
