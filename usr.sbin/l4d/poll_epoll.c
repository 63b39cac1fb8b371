/*
 * Session sockets on Linux: an epoll set of their own, edge-triggered,
 * each socket added once and taken out by its close(2).  A session that
 * changes what it waits for costs no epoll_ctl(2), and the events tell
 * a clean FIN from an error, which libevent cannot pass on.
 *
 * The listening sockets are in the set too, level-triggered (a batch of
 * accepts may leave some for the next turn).
 *
 * The set is the relay's one poller: libevent's own epoll set (the
 * channels, the signals) sits in it as one descriptor,
 * and libevent runs only when that is ready or it has events made
 * active, so a wakeup costs one epoll_wait(2), not one in each set.
 * The relay's timers are ours (a heap, its deadline the wait's
 * timeout): libevent keeps none.  Where libevent is not on epoll (its
 * EVENT_NOEPOLL), the set sits in libevent's loop instead, and one
 * libevent timer stands for the heap.
 */

#include <sys/types.h>
#include <sys/epoll.h>

#include <errno.h>
#include <event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define POLL_BATCH	256	/* events per epoll_wait(2) */
#define POLL_ROUNDS	4	/* epoll_wait(2) calls per wakeup at most */
#define POLL_TAG_EVENT	0	/* libevent's set; sessions are pointers */
#define POLL_TAG_SIDE	1	/* a session's: its side */
#define POLL_TAG_LISTEN	2	/* a listener's */
#define POLL_TAG_MASK	3
#define TIMER_IDLE	0
#define TIMER_DUE	UINT32_MAX	/* popped, its callback to come */

const int		 poll_exact = 1;

static int		 poll_fd = -1;
static int		 event_fd = -1;	/* libevent's set, in ours; -1: nested
					   the other way */
static struct event_base *poll_base;
static struct event	 poll_ev;	/* nested: our set in libevent's */
static struct event	 heap_ev;	/* nested: the heap's deadline */

static struct poll_timer **heap;	/* by deadline; slot = index + 1 */
static uint32_t		 heap_len, heap_cap;
static TAILQ_HEAD(, poll_timer) due = TAILQ_HEAD_INITIALIZER(due);

static void		 poll_dispatch(int, short, void *);
static void		 poll_batch(struct epoll_event *, int, int *);
static void		 heap_fire(int, short, void *);
static void		 heap_sync(void);

/*
 * libevent's set is made by event_init() with the lowest free
 * descriptor: that one is taken for it if epoll(7) agrees it is a set.
 */
int
poll_init(void)
{
	struct epoll_event	 ev;
	int			 probe;

	if ((poll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (probe = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	close(probe);
	poll_base = event_init();
	evtimer_set(&heap_ev, heap_fire, NULL);
	if (strcmp(event_base_get_method(poll_base), "epoll") == 0 &&
	    epoll_ctl(probe, EPOLL_CTL_DEL, poll_fd, NULL) == -1 &&
	    errno == ENOENT) {
		ev.events = EPOLLIN;
		ev.data.u64 = POLL_TAG_EVENT;
		if (epoll_ctl(poll_fd, EPOLL_CTL_ADD, probe, &ev) == 0) {
			event_fd = probe;
			imsgev_turns();
			return 0;
		}
	}
	log_debug("libevent on %s: session sockets nested in its loop",
	    event_base_get_method(poll_base));
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

/*
 * What a socket is watched for: READY_READ, READY_WRITE or neither; a
 * FIN, a hang-up and an error always (sockmap: a direction the kernel
 * moves must not wake the relay at every batch).
 */
int
poll_watch(struct session *s, int side, int ready)
{
	struct epoll_event	 ev;

	ev.events = EPOLLRDHUP | EPOLLET;
	if (ready & READY_READ)
		ev.events |= EPOLLIN;
	if (ready & READY_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.u64 = (uintptr_t)s | (uintptr_t)side;
	return epoll_ctl(poll_fd, EPOLL_CTL_MOD,
	    side == SIDE_CLIENT ? s->cfd : s->sfd, &ev);
}

void
poll_forget(struct session *s, int side)
{
	/* close(2) takes the socket out of the set */
}

/*
 * A listener's socket is the parent's too, and close(2) here would
 * leave it in the set: it is taken out first (on 0).
 */
int
poll_listen(struct listener *l, int on)
{
	struct epoll_event	 ev;

	if (!on)
		return epoll_ctl(poll_fd, EPOLL_CTL_DEL, l->fd, NULL);
	ev.events = EPOLLIN;
	ev.data.u64 = (uintptr_t)l | POLL_TAG_LISTEN;
	return epoll_ctl(poll_fd, EPOLL_CTL_ADD, l->fd, &ev);
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
poll_batch(struct epoll_event *evs, int n, int *libevent)
{
	struct session	*s;
	void		*obj;
	uint64_t	 tag;
	int		 i;

	relay_batch_begin();
	for (i = 0; i < n; i++) {
		if ((tag = evs[i].data.u64) == POLL_TAG_EVENT) {
			*libevent = 1;
			continue;
		}
		obj = (void *)(uintptr_t)(tag & ~(uint64_t)POLL_TAG_MASK);
		if (tag & POLL_TAG_LISTEN) {
			relay_accept(obj);
			continue;
		}
		s = obj;
		session_ready(s, (int)(tag & POLL_TAG_SIDE),
		    poll_events(evs[i].events));
	}
	relay_batch_end();
}

/* Nested: our set is one descriptor in libevent's loop. */
static void
poll_dispatch(int fd, short event, void *arg)
{
	struct epoll_event	 evs[POLL_BATCH];
	int			 n, round, libevent = 0;

	for (round = 0; round < POLL_ROUNDS; round++) {
		if ((n = epoll_wait(poll_fd, evs, POLL_BATCH, 0)) == -1) {
			if (errno != EINTR)
				log_warn("epoll_wait");
			return;
		}
		poll_batch(evs, n, &libevent);
		if (n < POLL_BATCH)
			return;
	}
}

static int
poll_timeout(void)
{
	long long	 left;

	if (event_base_get_num_events(poll_base, EVENT_BASE_COUNT_ACTIVE) > 0)
		return 0;
	if (heap_len == 0)
		return -1;
	left = heap[0]->at - proc_now_ms();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* The relay's loop; it returns when libevent was told to stop. */
void
poll_loop(void)
{
	struct epoll_event	 evs[POLL_BATCH];
	int			 n, libevent;

	if (event_fd == -1) {
		event_dispatch();
		return;
	}
	for (;;) {
		libevent = 0;
		imsgev_turn_end();
		if ((n = epoll_wait(poll_fd, evs, POLL_BATCH,
		    poll_timeout())) == -1) {
			if (errno != EINTR)
				fatal("epoll_wait");
			n = 0;
			libevent = 1;	/* a signal: libevent has it */
		}
		poll_batch(evs, n, &libevent);
		heap_fire(-1, 0, NULL);
		if (libevent || event_base_get_num_events(poll_base,
		    EVENT_BASE_COUNT_ACTIVE) > 0)
			event_base_loop(poll_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (event_base_got_exit(poll_base) ||
		    event_base_got_break(poll_base))
			return;
	}
}

/*
 * Timers: a binary heap of deadlines.  The expired ones are taken out
 * first and called after, so that a callback that arms a timer for
 * now (the run queue's "next turn") is called in the next turn.
 */
static int
heap_less(uint32_t a, uint32_t b)
{
	return heap[a]->at < heap[b]->at;
}

static void
heap_swap(uint32_t a, uint32_t b)
{
	struct poll_timer	*t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->slot = a + 1;
	heap[b]->slot = b + 1;
}

static void
heap_up(uint32_t i)
{
	while (i > 0 && heap_less(i, (i - 1) / 2)) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(uint32_t i)
{
	uint32_t	 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= heap_len)
			return;
		if (c + 1 < heap_len && heap_less(c + 1, c))
			c++;
		if (!heap_less(c, i))
			return;
		heap_swap(i, c);
		i = c;
	}
}

static void
heap_remove(struct poll_timer *t)
{
	uint32_t	 i = t->slot - 1;

	t->slot = TIMER_IDLE;
	if (i != --heap_len) {
		heap[i] = heap[heap_len];
		heap[i]->slot = i + 1;
		heap_down(i);
		heap_up(i);
	}
}

/* Nested only: one libevent timer for the heap's first deadline. */
static void
heap_sync(void)
{
	struct timeval	 tv;
	long long	 left;

	if (event_fd != -1)
		return;
	if (heap_len == 0) {
		evtimer_del(&heap_ev);
		return;
	}
	left = heap[0]->at - proc_now_ms();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	evtimer_add(&heap_ev, &tv);
}

static void
heap_fire(int fd, short event, void *arg)
{
	struct poll_timer	*t;
	long long		 now = proc_now_ms();

	while (heap_len > 0 && heap[0]->at <= now) {
		t = heap[0];
		heap_remove(t);
		t->slot = TIMER_DUE;
		TAILQ_INSERT_TAIL(&due, t, entry);
	}
	while ((t = TAILQ_FIRST(&due)) != NULL) {
		TAILQ_REMOVE(&due, t, entry);
		t->slot = TIMER_IDLE;
		t->cb(t->arg);
	}
	heap_sync();
}

void
poll_timer_set(struct poll_timer *t, void (*cb)(void *), void *arg)
{
	t->slot = TIMER_IDLE;
	t->cb = cb;
	t->arg = arg;
}

void
poll_timer_del(struct poll_timer *t)
{
	if (t->slot == TIMER_DUE)
		TAILQ_REMOVE(&due, t, entry);
	else if (t->slot != TIMER_IDLE)
		heap_remove(t);
	else
		return;
	t->slot = TIMER_IDLE;
	heap_sync();
}

/* ms from now; a timer already armed moves. */
int
poll_timer_add(struct poll_timer *t, long long ms)
{
	struct poll_timer	**h;
	uint32_t		 cap;

	poll_timer_del(t);
	if (heap_len == heap_cap) {
		cap = heap_cap ? heap_cap * 2 : 256;
		if ((h = reallocarray(heap, cap, sizeof(*h))) == NULL)
			return -1;
		heap = h;
		heap_cap = cap;
	}
	t->at = proc_now_ms() + ms;
	heap[heap_len] = t;
	t->slot = ++heap_len;
	heap_up(heap_len - 1);
	heap_sync();
	return 0;
}

int
poll_timer_pending(const struct poll_timer *t)
{
	return t->slot != TIMER_IDLE;
}

void
poll_timer_free(struct poll_timer *t)
{
	poll_timer_del(t);
}
