/*
 * Session sockets through libevent, where poll_epoll.c does not build.
 * Edge-triggered too (EV_ET: EV_CLEAR under kqueue), so a session that
 * changes what it waits for changes nothing here.  libevent does not
 * tell a FIN from an error: the events carry neither, and reading the
 * socket finds out.
 */

#include <sys/types.h>

#include <event.h>
#include <stdlib.h>

#include "l4d.h"

struct poll_events {
	struct event	 ev[2];		/* by side */
	uint8_t		 added[2];
};

const int	 poll_exact = 0;

static void	 poll_callback(int, short, void *);

int
poll_init(void)
{
	event_init();
	return 0;
}

void
poll_loop(void)
{
	event_dispatch();
}

static void
timer_callback(int fd, short what, void *arg)
{
	struct poll_timer	*t = arg;

	t->cb(t->arg);
}

void
poll_timer_set(struct poll_timer *t, void (*cb)(void *), void *arg)
{
	t->ev = NULL;
	t->cb = cb;
	t->arg = arg;
}

/* The event is made on first use, and kept. */
int
poll_timer_add(struct poll_timer *t, long long ms)
{
	struct timeval	 tv;

	if (t->ev == NULL) {
		if ((t->ev = malloc(sizeof(*t->ev))) == NULL)
			return -1;
		evtimer_set(t->ev, timer_callback, t);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(t->ev, &tv);
}

void
poll_timer_del(struct poll_timer *t)
{
	if (t->ev != NULL)
		evtimer_del(t->ev);
}

int
poll_timer_pending(const struct poll_timer *t)
{
	return t->ev != NULL && evtimer_pending(t->ev, NULL);
}

/* Before the memory holding it goes. */
void
poll_timer_free(struct poll_timer *t)
{
	if (t->ev == NULL)
		return;
	evtimer_del(t->ev);
	free(t->ev);
	t->ev = NULL;
}

int
poll_add(struct session *s, int side)
{
	struct poll_events	*pe = s->poll;
	int			 fd = side == SIDE_CLIENT ? s->cfd : s->sfd;

	if (pe == NULL && (pe = s->poll = calloc(1, sizeof(*pe))) == NULL)
		return -1;
	event_set(&pe->ev[side], fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET,
	    poll_callback, s);
	if (event_add(&pe->ev[side], NULL) == -1)
		return -1;
	pe->added[side] = 1;
	return 0;
}

/*
 * libevent cannot watch for a FIN alone, and its events do not say a
 * FIN came (poll_exact is 0): the relays use no sockmap with it, and
 * this only narrows what wakes the session.
 */
int
poll_watch(struct session *s, int side, int ready)
{
	struct poll_events	*pe = s->poll;
	int			 fd = side == SIDE_CLIENT ? s->cfd : s->sfd;
	short			 what = EV_PERSIST | EV_ET;

	if (pe == NULL || !pe->added[side])
		return -1;
	if (ready & READY_READ)
		what |= EV_READ;
	if (ready & READY_WRITE)
		what |= EV_WRITE;
	event_del(&pe->ev[side]);
	event_set(&pe->ev[side], fd, what, poll_callback, s);
	return event_add(&pe->ev[side], NULL);
}

/* Before the close(2): libevent must not meet a reused descriptor. */
void
poll_forget(struct session *s, int side)
{
	struct poll_events	*pe = s->poll;

	if (pe == NULL || !pe->added[side])
		return;
	event_del(&pe->ev[side]);
	pe->added[side] = 0;
	if (!pe->added[!side]) {
		free(pe);
		s->poll = NULL;
	}
}

void
poll_remove(struct session *s, int side)
{
	poll_forget(s, side);
}

static void
poll_accept(int fd, short what, void *arg)
{
	relay_accept(arg);
}

int
poll_listen(struct listener *l, int on)
{
	if (!on)
		return event_del(&l->ev);
	event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, poll_accept, l);
	return event_add(&l->ev, NULL);
}

static void
poll_callback(int fd, short what, void *arg)
{
	struct session	*s = arg;
	int		 events = 0;

	if (what & EV_READ)
		events |= READY_READ;
	if (what & EV_WRITE)
		events |= READY_WRITE;
	session_ready(s, fd == s->cfd ? SIDE_CLIENT : SIDE_SERVER, events);
}
