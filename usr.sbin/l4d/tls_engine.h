/*
 * The TLS engine's private interface between tls.c and tls_ctx.c,
 * shared by those two files and nothing else:
 *
 *	tls.c		the process: the parent's channel and the relays',
 *			the sessions (the client's records, libtls' socket
 *			callbacks, the pump both ways, their end), and the
 *			small helpers both files use
 *	tls_ctx.c	what a configuration becomes here (a generation):
 *			its listeners' server contexts, their session id
 *			contexts and ticket keys, its backends' client
 *			configurations; a context chosen by SNI
 *
 * This header holds the constants both use, a generation's shape, the
 * engine's state (tls_ctx.c reads its ticket keys and its newest
 * generation), and what one file calls in the other.  It comes after
 * l4d.h; the process' entry point, tls_main(), is in l4d.h.
 */

#ifndef TLS_ENGINE_H
#define TLS_ENGINE_H

#define ENG_TICKET_KEYS		4	/* as many as libtls keeps */

#define REASON_MAX		sizeof(((struct tls_failed *)0)->reason)

/* A server context: its tls_config (kept for ticket keys) and itself. */
struct srvctx {
	struct tls_config	*cfg;
	struct tls		*ctx;
};

/* A certificate whose names: replace its own, served alone. */
struct override {
	char			 names[L4D_MAX_CERT_NAMES][SNI_NAME_MAX];
	uint32_t		 nnames;
	struct srvctx		 srv;
};

struct elistener {
	TAILQ_ENTRY(elistener)	 entry;
	char			 name[L4D_NAME_MAX];
	struct srvctx		 main;
	struct override		*over;
	uint32_t		 nover;
	char			 error[REASON_MAX];	/* "": usable */
};
TAILQ_HEAD(elistenerlist, elistener);

struct ebackend {
	TAILQ_ENTRY(ebackend)	 entry;
	char			 name[L4D_NAME_MAX];
	char			 server_name[SNI_NAME_MAX];
	struct tls_config	*cfg;
	char			 error[REASON_MAX];	/* "": usable */
};
TAILQ_HEAD(ebackendlist, ebackend);

/* What one configuration becomes here. */
struct egen {
	uint32_t		 generation;
	uint32_t		 refs;		/* sessions using it */
	struct elistenerlist	 listeners;
	struct ebackendlist	 backends;
};

struct tsess;
TAILQ_HEAD(tsesslist, tsess);
RB_HEAD(tsess_ids, tsess);

/* The channel to one relay, and the sessions it handed over. */
struct chan {
	struct imsgev		 iev;
	int			 instance;
	int			 open;
	struct tsesslist	 sessions;
	struct tsess_ids	 ids;		/* the same, by id */
	struct tsess		*awaiting;	/* handed over, no PLAIN yet */
};

struct engine_env {
	int			 instance;
	struct imsgev		 parent;
	struct l4d_config	*pending;
	struct egen		*gen;		/* the newest */
	struct chan		 chans[L4D_MAX_RELAYS];
	struct tsesslist	 hup;
	struct tsesslist	 runq;
	uint32_t		 nrunq;
	uint32_t		 nhup;
	uint32_t		 nsessions;
	uint32_t		 cap;
	struct tls_ticket_key	 tickets[ENG_TICKET_KEYS];	/* oldest
						   first */
	int			 ntickets;
	int			 edge;		/* EV_ET works here */
	int			 rdhup;		/* and EV_CLOSED: a short read
						   is a dry socket */
	struct event		 ev_runq;
	struct event		 ev_sweep;
	struct event		 ev_sigterm;
	struct event		 ev_sigint;
	struct event		 ev_sighup;
	char			 procname[32];
};

extern struct engine_env	 env;

/* tls.c: small helpers */
void		 str_copy(char *, const char *, size_t);
void		 reason_join(char *, size_t, const char *, const char *);
const char	*err_str(const char *);

/* tls_ctx.c: a generation's contexts, and the one an SNI chooses */
struct egen	*gen_build(struct l4d_config *);
void		 gen_free(struct egen *);
void		 gen_unref(struct egen *);
void		 gen_ticket(struct egen *, struct tls_ticket_key *);
struct srvctx	*listener_ctx(struct elistener *, const char *);
struct elistener *gen_listener(struct egen *, const char *);
struct ebackend	*gen_backend(struct egen *, const char *);
void		 conf_wipe(struct l4d_config *);

#endif /* TLS_ENGINE_H */
