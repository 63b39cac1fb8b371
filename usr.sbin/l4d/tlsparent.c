/*
 * The parent's side of the TLS engines: their row of the process table
 * (the configuration, key material included, goes to them and to no
 * one else), the channel between every relay and every engine, and the
 * session ticket keys, which the parent makes and rotates so that a
 * client resumes on whichever engine it lands.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define TICKET_ROTATE_S		3600	/* a new key every hour */
#define TICKET_KEYS_KEPT	2	/* the new one and the one before */

static struct tls_ticket_key	 tickets[TICKET_KEYS_KEPT];
static int			 ntickets;
static struct event		 ev_tickets;

static void	 tickets_rotate(int, short, void *);

int
engine_count(struct l4d_config *conf)
{
	return conf->tls_engines > 0 ? conf->tls_engines : 1;
}

static void
tickets_send(struct child *c)
{
	int	 i;

	for (i = 0; i < ntickets; i++)
		imsgev_compose(&c->iev, IMSG_TLS_TICKET_KEY, 0, -1,
		    &tickets[i], sizeof(tickets[i]));
}

void
engine_configure(struct child *c)
{
	if (config_send_engine(&c->iev, l4d_conf) == -1)
		fatal("sending the configuration to tls engine %d",
		    c->instance);
}

/* An engine sends the parent nothing but its acknowledgements. */
int
engine_dispatch(struct child *c, struct imsg *imsg)
{
	return -1;
}

/* One socketpair between a relay and an engine, an end for each. */
static void
tls_channel(struct child *relay, struct child *engine)
{
	int	 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) == -1) {
		log_warn("channel between relay %d and tls engine %d",
		    relay->instance, engine->instance);
		return;
	}
	imsgev_compose(&relay->iev, IMSG_TLS_CHANNEL, 0, sp[0],
	    &engine->instance, sizeof(engine->instance));
	imsgev_compose(&engine->iev, IMSG_TLS_CHANNEL, 0, sp[1],
	    &relay->instance, sizeof(relay->instance));
}

/*
 * A child just forked gets a channel to every running child of the
 * other kind (a restarted one replaces its old channels), and an engine
 * the ticket keys, which it keeps for every configuration it builds.
 */
void
engine_started(struct child *c)
{
	struct child	*o;
	int		 i, n;

	tickets_send(c);
	n = proc_ninstances(PROC_RELAY);
	for (i = 0; i < n; i++)
		if ((o = proc_child(PROC_RELAY, i)) != NULL)
			tls_channel(o, c);
}

void
relay_started(struct child *c)
{
	struct child	*o;
	int		 i, n;

	n = proc_ninstances(PROC_TLS);
	for (i = 0; i < n; i++)
		if ((o = proc_child(PROC_TLS, i)) != NULL)
			tls_channel(c, o);
}

static void
tickets_new(void)
{
	static uint32_t	 keyrev;

	if (ntickets == TICKET_KEYS_KEPT) {
		explicit_bzero(&tickets[0], sizeof(tickets[0]));
		memmove(&tickets[0], &tickets[1],
		    sizeof(tickets[0]) * (TICKET_KEYS_KEPT - 1));
		ntickets--;
	}
	tickets[ntickets].keyrev = ++keyrev;
	arc4random_buf(tickets[ntickets].key, TLS_TICKET_KEY_LEN);
	ntickets++;
}

void
tickets_init(void)
{
	struct timeval	 tv = { TICKET_ROTATE_S, 0 };

	tickets_new();
	evtimer_set(&ev_tickets, tickets_rotate, NULL);
	evtimer_add(&ev_tickets, &tv);
}

/* Engines keep older keys for the tickets they issued with them. */
static void
tickets_rotate(int fd, short event, void *arg)
{
	struct timeval	 tv = { TICKET_ROTATE_S, 0 };

	tickets_new();
	proc_send_all(PROC_TLS, IMSG_TLS_TICKET_KEY, 0,
	    &tickets[ntickets - 1], sizeof(tickets[0]));
	evtimer_add(&ev_tickets, &tv);
	log_debug("session ticket key %u", tickets[ntickets - 1].keyrev);
}
