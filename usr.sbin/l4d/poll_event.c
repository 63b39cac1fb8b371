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
	return 0;
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
