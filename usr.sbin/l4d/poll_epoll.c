/*
 * Session sockets on Linux: an epoll set of their own, edge-triggered,
 * each socket added once and taken out by its close(2).  A session that
 * changes what it waits for costs no epoll_ctl(2), and the events tell
 * a clean FIN from an error, which libevent cannot pass on.  The set is
 * a single descriptor in libevent's loop.
 */

#include <sys/types.h>
#include <sys/epoll.h>

#include <errno.h>
#include <event.h>
#include <stdint.h>
#include <unistd.h>

#include "l4d.h"

#define POLL_BATCH	256	/* events per epoll_wait(2) */
#define POLL_ROUNDS	4	/* epoll_wait(2) calls per wakeup at most */

const int		 poll_exact = 1;

static int		 poll_fd = -1;
static struct event	 poll_ev;

static void		 poll_dispatch(int, short, void *);

int
poll_init(void)
{
	if ((poll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	event_set(&poll_ev, poll_fd, EV_READ | EV_PERSIST, poll_dispatch,
	    NULL);
	return event_add(&poll_ev, NULL);
}

/* The side rides in the low bit of the session's (aligned) address. */
int
poll_add(struct session *s, int side)
{
	struct epoll_event	 ev;

	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uintptr_t)s | (uintptr_t)side;
	return epoll_ctl(poll_fd, EPOLL_CTL_ADD,
	    side == SIDE_CLIENT ? s->cfd : s->sfd, &ev);
}

void
poll_forget(struct session *s, int side)
{
	/* close(2) takes the socket out of the set */
}

/*
 * A socket handed to another process stays open there, and close(2)
 * here would leave it in the set: take it out first.
 */
void
poll_remove(struct session *s, int side)
{
	(void)epoll_ctl(poll_fd, EPOLL_CTL_DEL,
	    side == SIDE_CLIENT ? s->cfd : s->sfd, NULL);
}

static int
poll_events(uint32_t e)
{
	int	 events = 0;

	if (e & EPOLLIN)
		events |= READY_READ;
	if (e & EPOLLOUT)
		events |= READY_WRITE;
	if (e & (EPOLLERR | EPOLLHUP))
		events |= READY_READ | READY_WRITE | READY_HUP;
	if (e & EPOLLERR)
		events |= READY_ERROR;
	else if (e & EPOLLRDHUP)
		events |= READY_FIN;
	return events;
}

static void
poll_dispatch(int fd, short event, void *arg)
{
	struct epoll_event	 evs[POLL_BATCH];
	struct session		*s;
	uint64_t		 tag;
	int			 i, n, round;

	for (round = 0; round < POLL_ROUNDS; round++) {
		if ((n = epoll_wait(poll_fd, evs, POLL_BATCH, 0)) == -1) {
			if (errno != EINTR)
				log_warn("epoll_wait");
			return;
		}
		relay_batch_begin();
		for (i = 0; i < n; i++) {
			tag = evs[i].data.u64;
			s = (struct session *)(uintptr_t)(tag & ~(uint64_t)1);
			session_ready(s, (int)(tag & 1),
			    poll_events(evs[i].events));
		}
		relay_batch_end();
		if (n < POLL_BATCH)
			return;
	}
}
