/*
 * l4d - privilege-separated layer-4 proxy daemon.
 * Private header shared by every l4d source file.
 */

#ifndef L4D_H
#define L4D_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>

#include <event.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "compat.h"

#define L4D_CONF		"/etc/l4d.conf"
#define L4D_SOCKET		"/var/run/l4d.sock"
#define L4D_USER		"_l4d"
#define L4D_CHROOT		"/var/empty"

#define L4D_NAME_MAX		64	/* listener and backend names */
#define L4D_ADDR_MAX		256	/* "host:port" as written */
#define L4D_MAX_RELAYS		64
#define L4D_MAX_SERVERS		1024	/* per backend */
#define L4D_WEIGHT_MAX		256
#define L4D_RETRIES_MAX		16
#define L4D_ERRMSG_MAX		512
#define L4D_PATTERN_MAX		256	/* a route's sni: as written */
#define L4D_ALPN_MAX		64	/* a route's alpn: protocol */
#define L4D_MAX_ROUTES		256	/* per listener */
#define L4D_PRIORITY_MAX	1000	/* route priority: -1000..1000 */
#define SNI_NAME_MAX		256	/* a server name: 255 bytes, NUL */
#define L4D_MAX_CERTS		16	/* per listener */
#define L4D_MAX_CERT_NAMES	8	/* names: per certificate */
#define L4D_MAX_ENGINES		16
#define L4D_TLS_PROTOS_MAX	64	/* "tlsv1.2,tlsv1.3" */
#define L4D_TLS_CIPHERS_MAX	256
#define L4D_TLS_FILE_MAX	(4 * 1024 * 1024)	/* a PEM file read */
#define TLS_TICKET_KEY_LEN	48	/* tls_config_add_ticket_key() */
#define L4D_ACL_MAX		100000	/* networks in one allow/deny list */
#define L4D_RATE_TABLE_MAX	(1U << 22)	/* rate_limit table_size */
#define DEFAULT_RATE_TABLE	65536
#define DEFAULT_RATE_V6_PREFIX	64

#define TIMEOUT_INFINITE	(-1LL)	/* milliseconds */

#define DEFAULT_CONNECT_MS	(5 * 1000LL)
#define DEFAULT_IDLE_MS		(3600 * 1000LL)
#define DEFAULT_HALF_CLOSED_MS	(60 * 1000LL)
#define DEFAULT_HANDSHAKE_MS	(10 * 1000LL)
#define DEFAULT_DRAIN_MS	TIMEOUT_INFINITE

/*
 * Session end causes (DESIGN.md); logged and counted.
 */
enum end_cause {
	CAUSE_NONE = 0,
	CAUSE_CLIENT_CLOSED,
	CAUSE_SERVER_CLOSED,
	CAUSE_IDLE_TIMEOUT,
	CAUSE_HALF_CLOSED_TIMEOUT,
	CAUSE_CONNECT_TIMEOUT,
	CAUSE_CONNECT_REFUSED,
	CAUSE_NO_SERVER,
	CAUSE_NO_ROUTE,
	CAUSE_DENIED,
	CAUSE_RATE_LIMITED,
	CAUSE_OVER_LIMIT,
	CAUSE_HANDSHAKE_TIMEOUT,
	CAUSE_BAD_HELLO,
	CAUSE_BAD_PROXY_HEADER,
	CAUSE_TLS_ERROR,
	CAUSE_DRAINED,
	CAUSE_KILLED,
	CAUSE_SHUTDOWN,
	CAUSE_STARTTLS_REFUSED,	/* the server answered N to SSLRequest */
	CAUSE_MAX
};

/*
 * Configuration, as the schema (parse*.c) builds it and config.c ships
 * it to children.
 */

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

enum balance_algo {
	BALANCE_ROUNDROBIN = 0,
	BALANCE_LEASTCONN,
	BALANCE_SOURCE_HASH,
	BALANCE_RANDOM
};

/* All durations in milliseconds; TIMEOUT_INFINITE where allowed. */
struct timeouts {
	long long	 connect;
	long long	 idle;
	long long	 half_closed;
	long long	 handshake;
	long long	 drain;
};

/*
 * Counters of one listener, backend or server, kept by name in each
 * relay so that they survive reloads; the parent merges the relays'.
 */
/* Why a TLS leg failed, as an engine (or the relay) classes it. */
enum tls_failure {
	TLS_FAIL_HANDSHAKE = 0,		/* versions, ciphers, bad messages */
	TLS_FAIL_NO_CLIENT_CERT,	/* client_auth require, none given */
	TLS_FAIL_BAD_CLIENT_CERT,	/* did not verify (CA, CRL, dates) */
	TLS_FAIL_SERVER_VERIFY,		/* a server's did not verify */
	TLS_FAIL_CLOSED,		/* the peer left mid-handshake */
	TLS_FAIL_RENEGOTIATION,		/* refused */
	TLS_FAIL_PROTOCOL,		/* after the handshake: bad records */
	TLS_FAIL_ENGINE,		/* no engine, or it died or refused */
	TLS_FAIL_MAX
};

struct counters {
	uint64_t	 total;		/* sessions started */
	uint64_t	 active;
	uint64_t	 bytes_in;	/* from clients */
	uint64_t	 bytes_out;	/* to clients */
	uint64_t	 connect_failures;
	uint64_t	 tls_handshakes;	/* terminated, completed */
	uint64_t	 tls_resumed;		/* of those, resumed */
	uint64_t	 tls_failures[TLS_FAIL_MAX];
	uint64_t	 causes[CAUSE_MAX];
};

/* route_key(): "SNI alpn=ALPN"; "r/LISTENER/KEY" is the longest key */
#define ROUTE_KEY_MAX		(L4D_PATTERN_MAX + L4D_ALPN_MAX + 8)
#define STATS_KEY_MAX		(L4D_NAME_MAX + ROUTE_KEY_MAX + 4)
struct stats {
	RB_ENTRY(stats)		 entry;
	char			 key[STATS_KEY_MAX];	/* "l/NAME", ... */
	struct counters		 c;
};
RB_HEAD(stats_tree, stats);

/*
 * A backend's check: (health.c runs it).  send and expect hold bytes
 * with the escapes already decoded; expect_regex: expect is a POSIX ERE
 * (written with a leading ~), otherwise a prefix of the reply.
 */
enum check_type {
	CHECK_NONE = 0,		/* no check: servers are taken as up */
	CHECK_TCP,
	CHECK_TLS,
	CHECK_SEND_EXPECT
};

#define CHECK_SEND_MAX		256	/* bytes of send: */
#define CHECK_EXPECT_MAX	256	/* bytes of expect: */
#define CHECK_READ_MAX		4096	/* reply bytes expect: looks at */
#define CHECK_COUNT_MAX		100	/* rise, fall, observe.errors */
#define CHECK_INTERVAL_MIN	100	/* ms */
#define HEALTH_TIMER_SLACK_US	10000	/* how late a check may start */
#define CHECK_RESULT_MAX	64	/* "connect refused" */

struct backend_check {
	enum check_type		 type;
	long long		 interval;	/* ms */
	long long		 timeout;	/* ms, <= interval */
	int			 rise;
	int			 fall;
	int			 observe;	/* passive: connect failures in
						   a row; 0: off */
	int			 port;		/* 0: the traffic's */
	uint32_t		 send_len;
	uint32_t		 expect_len;
	int			 expect_regex;
	int			 no_proxy;	/* proxy_protocol: false */
	uint8_t			 send[CHECK_SEND_MAX];
	char			 expect[CHECK_EXPECT_MAX + 1];
};

/*
 * Access control (acl.c): a list of networks as written, and the same
 * as sorted disjoint ranges that acl_build() makes in every process
 * that matches (a binary search, never a scan).
 */
struct cidr {
	uint8_t			 family;	/* AF_INET or AF_INET6 */
	uint8_t			 prefix;	/* 0..32 or 0..128 */
	uint8_t			 addr[16];	/* AF_INET: the first 4 */
};

struct acl_range4 {
	uint32_t		 lo, hi;
};

struct acl_range6 {
	uint8_t			 lo[16], hi[16];
};

struct acl {
	struct cidr		*cidrs;		/* as written; shipped */
	uint32_t		 ncidrs;
	uint32_t		 cap;
	struct acl_range4	*v4;		/* acl_build() */
	uint32_t		 nv4;
	struct acl_range6	*v6;
	uint32_t		 nv6;
};

#define ACL_ALLOW		0
#define ACL_DENY		1
#define ACL_TRUSTED		2	/* proxy_protocol: trusted */
#define ACL_NLISTS		3

/* A listener's rate_limit: (ratelimit.c); per_source 0: none. */
struct rate_conf {
	uint32_t		 per_source;
	uint32_t		 burst;
	long long		 interval_ms;
	uint32_t		 table_size;
	uint32_t		 ipv6_prefix;
};

struct rate_table;

struct server {
	TAILQ_ENTRY(server)	 entry;
	uint32_t		 id;		/* index within its backend */
	char			 address[L4D_ADDR_MAX];	/* as written */
	struct sockaddr_storage	 ss;		/* resolved by the parent */
	socklen_t		 sslen;
	int			 weight;	/* 1..L4D_WEIGHT_MAX */
	int			 backup;
	int			 disabled;	/* l4ctl server disable; kept
						   across reloads */
	int			 up;		/* health: shipped by the
						   parent, which owns it */
	int			 runtime;	/* l4ctl server add */
	int			 removed;	/* l4ctl server remove: no new
						   sessions, gone once idle */

	/* parent runtime state (health), shipped but unused by relays */
	char			 check_result[CHECK_RESULT_MAX];	/* last
						   check; "" none yet */
	long long		 state_ms;	/* up is what it is since */
	uint64_t		 state_changes;

	/* relay runtime state, never shipped */
	int			 current_weight;	/* smooth wrr */
	uint32_t		 active;		/* live sessions here */
	uint64_t		 sessions;		/* total sessions */
	uint32_t		 errors;	/* connect failures in a row */
	struct stats		*stats;
};
TAILQ_HEAD(serverlist, server);

struct backend {
	TAILQ_ENTRY(backend)	 entry;
	uint32_t		 id;
	char			 name[L4D_NAME_MAX];
	enum balance_algo	 balance;
	int			 retries;
	struct serverlist	 servers;
	uint32_t		 nservers;
	struct server		**server_index;	/* id -> server */
	int			 tls_originate;	/* has tls: (relays see this) */
	struct backend_tls	*tls;		/* parent and engines only */
	struct backend_check	 check;		/* type CHECK_NONE: none */
	struct stats		*stats;		/* relay runtime */
	int			 proxy_send;	/* proxy_protocol: 0, 1, 2 */
};
TAILQ_HEAD(backendlist, backend);

/*
 * A listener's routes, in match order: higher priority first, then
 * file order (the parser sorts them).  A route matches when its sni
 * (if any) matches the ClientHello's server name and its alpn (if any)
 * is among the protocols the client offers.
 */
enum route_match {
	MATCH_ANY = 0,		/* no sni: (alpn alone) */
	MATCH_EXACT,		/* db.example.com; case-insensitive */
	MATCH_WILDCARD,		/* *.example.com: one or more labels */
	MATCH_REGEX		/* ~ERE, matched against the whole name */
};

enum route_tls {
	ROUTE_TLS_PASSTHROUGH = 0,
	ROUTE_TLS_TERMINATE	/* the TLS engine: not yet accepted */
};

struct route {
	TAILQ_ENTRY(route)	 entry;
	uint32_t		 id;		/* index in match order */
	uint32_t		 listener_id;
	int			 priority;
	uint32_t		 line;		/* where it was written */
	enum route_match	 match;
	char			 sni[L4D_PATTERN_MAX];	/* lower case; no
						   "*." or "~"; no final dot */
	char			 alpn[L4D_ALPN_MAX];	/* "": any */
	enum route_tls		 tls;
	char			 backend_name[L4D_NAME_MAX];
	struct backend		*backend;	/* resolved reference */
	regex_t			 re;		/* MATCH_REGEX; config_link */
	int			 re_ok;		/* re must be regfree'd */
	struct stats		*stats;		/* relay runtime */
};
TAILQ_HEAD(routelist, route);

enum starttls {
	STARTTLS_NONE = 0,
	STARTTLS_POSTGRES
};

/*
 * TLS material.  Paths are what the file says; the bytes are read by
 * the parent (tlsconf.c) and go to the TLS engines only, never to a
 * relay: config_send() ships a relay the listener and backend without
 * their tls pointers, config_send_engine() ships the engines all of it.
 */
struct tls_blob {
	uint8_t			*mem;		/* NULL: none */
	size_t			 len;
	size_t			 fill;		/* received so far (config.c) */
};

enum tls_client_auth {
	CLIENT_AUTH_NONE = 0,
	CLIENT_AUTH_OPTIONAL,
	CLIENT_AUTH_REQUIRE
};

struct tls_cert {
	TAILQ_ENTRY(tls_cert)	 entry;
	uint32_t		 id;		/* index in the listener */
	char			 cert[PATH_MAX];
	char			 key[PATH_MAX];
	char			 ocsp[PATH_MAX];	/* "": none */
	char			 names[L4D_MAX_CERT_NAMES][SNI_NAME_MAX];
	uint32_t		 nnames;	/* names: override; 0: the
						   certificate's own */
	struct tls_blob		 cert_mem;
	struct tls_blob		 key_mem;
	struct tls_blob		 ocsp_mem;
};
TAILQ_HEAD(tls_certlist, tls_cert);

/* A listener's tls: (present: it may terminate). */
struct listener_tls {
	enum tls_client_auth	 client_auth;
	char			 client_ca[PATH_MAX];	/* "": none */
	char			 crl[PATH_MAX];		/* "": none */
	char			 protocols[L4D_TLS_PROTOS_MAX];	/* "": default */
	char			 ciphers[L4D_TLS_CIPHERS_MAX];	/* "": secure */
	struct tls_certlist	 certs;		/* the first is the default */
	uint32_t		 ncerts;
	struct tls_blob		 client_ca_mem;
	struct tls_blob		 crl_mem;
};

/* A backend's tls: (present: l4d speaks TLS to its servers). */
struct backend_tls {
	int			 verify;	/* default 1 */
	char			 ca[PATH_MAX];	/* "": the system's */
	char			 server_name[SNI_NAME_MAX];	/* "": the host
						   of the server's address */
	char			 cert[PATH_MAX];	/* client certificate */
	char			 key[PATH_MAX];
	char			 protocols[L4D_TLS_PROTOS_MAX];
	struct tls_blob		 ca_mem;
	struct tls_blob		 cert_mem;
	struct tls_blob		 key_mem;
};

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	uint32_t		 id;
	char			 name[L4D_NAME_MAX];
	char			 listen[L4D_ADDR_MAX];	/* as written */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 dual_stack;	/* [::]:PORT takes IPv4 too */
	char			 backend_name[L4D_NAME_MAX];	/* "": none
						   (only with routes) */
	struct backend		*backend;	/* resolved; NULL if none */
	struct timeouts		 timeouts;	/* defaults merged in */
	uint32_t		 max_sessions;	/* 0: no limit but the fd cap */
	struct routelist	 routes;	/* match order */
	uint32_t		 nroutes;
	char			 no_sni_name[L4D_NAME_MAX];	/* "": the
						   listener's backend */
	int			 no_sni_none;	/* no_sni: none */
	struct backend		*no_sni;	/* resolved; NULL: close */
	enum starttls		 starttls;
	int			 tls_terminate;	/* has tls: (relays see this) */
	int			 tls_require;	/* client_auth: require (and
						   relays see this) */
	struct listener_tls	*tls;		/* parent and engines only */
	struct l4d_config	*conf;		/* its generation; config_link */

	/* parent runtime state, never shipped */
	int			*relay_fds;	/* one socket per relay */
	int			 nrelay_fds;

	/* relay runtime state, never shipped */
	int			 fd;		/* this relay's socket */
	struct event		 ev;		/* poll_event.c */
	int			 ev_added;	/* watched: poll_listen() */
	uint32_t		 active;
	uint64_t		 total;
	struct stats		*stats;
	struct stats		*stats_no_sni;	/* "r/NAME/no_sni" */
	struct stats		*stats_default;	/* "r/NAME/default" */

	/* access (acl.c, ratelimit.c): lists shipped as IMSG_CONF_ACL */
	struct acl		*acl[ACL_NLISTS];	/* NULL: not given */
	int			 proxy_accept;	/* proxy_protocol: given */
	struct rate_conf	 rate;
	struct rate_table	*rate_table;	/* relay runtime */
	long long		 refused_logged_ms;	/* relay runtime */
	uint64_t		 refused_quiet;	/* not logged since */
};
TAILQ_HEAD(listenerlist, listener);

/* A listener that waits for the client's first bytes before routing. */
#define listener_peeks(l)	((l)->nroutes > 0 || \
				    (l)->starttls != STARTTLS_NONE || \
				    (l)->tls_terminate)

struct l4d_config {
	char			 path[PATH_MAX];
	char			 include_note[256];	/* include: globs
						   that matched nothing */
	char			 user[L4D_NAME_MAX];
	char			 chroot[PATH_MAX];
	int			 relays;	/* 0 = auto */
	int			 tls_engines;	/* default 1 */
	int			 for_engine;	/* shipped to an engine: no
						   sockets, key material */
	int			 relay_mode;	/* RELAY_MODE_* */
	char			 control[PATH_MAX];
	enum log_level		 log_level;
	int			 log_access;
	struct timeouts		 timeouts;	/* global defaults */
	struct listenerlist	 listeners;
	struct backendlist	 backends;
	uint32_t		 nlisteners;
	uint32_t		 nbackends;
	uint32_t		 generation;
	uint32_t		 refs;		/* relay: sessions using it */
	uint32_t		 max_sessions;	/* all listeners; 0: none */
	struct acl		*acl[2];	/* global allow, deny: the
						   parser gives them to the
						   listeners; parent only */
	/* operations: the read-only control socket, the access log */
	char			 control_ro[PATH_MAX];
	char			 control_group[L4D_NAME_MAX];	/* "": root
						   only on the control socket */
	char			 log_access_file[PATH_MAX];
	int			 log_access_format;	/* ACCESS_FORMAT_* */
	/* metrics: (metricsparent.c, metrics.c); "" none */
	char			 metrics_listen[L4D_ADDR_MAX];
	struct sockaddr_storage	 metrics_ss;
	socklen_t		 metrics_sslen;
};

#define ACCESS_FORMAT_KV	0	/* key=value, as the daemon logs */
#define ACCESS_FORMAT_JSON	1	/* one JSON object per line */

#define RELAY_MODE_AUTO		0	/* zero-copy where the OS offers it */
#define RELAY_MODE_COPY		1	/* always a user-space copy */
#define RELAY_MODE_SOCKMAP	2	/* plain sessions forwarded in the
					   kernel (sockmap_linux.c) */
#define RELAY_MODE_ADAPTIVE	3	/* splice, and sessions that go back
					   and forth to the kernel */
/* The word of a mode that uses the sockmap, NULL for the others. */
#define relay_mode_sockmap(m)	((m) == RELAY_MODE_SOCKMAP ? "sockmap" : \
				    (m) == RELAY_MODE_ADAPTIVE ? "adaptive" : NULL)

/*
 * Parse errors: every error is kept, with position and code, so that
 * l4d -n and l4ctl reload can print all of them.
 */
struct conf_error {
	TAILQ_ENTRY(conf_error)	 entry;
	char			 msg[L4D_ERRMSG_MAX];
};
TAILQ_HEAD(conf_errors, conf_error);

/*
 * Frames (imsg.c): a fixed header, then the payload; at most one file
 * descriptor travels beside a frame.
 */
struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* header + payload */
	uint16_t	 flags;
	uint16_t	 reserved;	/* zero on the wire */
	uint32_t	 peerid;
	uint32_t	 pid;
};
#define IMSG_HDR_SIZE		sizeof(struct imsg_hdr)
#define IMSG_MAX_SIZE		(64 * 1024)	/* header included */
#define IMSG_FLAG_FD		0x0001		/* an fd came with the frame */
#define IMSG_MAX_QUEUED_FDS	64

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;		/* -1 when none */
	void		*data;		/* payload, NUL-padded by one byte */
	size_t		 datalen;
};

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	uint8_t			*buf;
	size_t			 len;
	size_t			 off;	/* bytes already written */
	int			 fd;	/* rides with byte 1, then closed */
};
TAILQ_HEAD(ibufq, ibuf);

struct imsgbuf {
	int		 fd;
	uint8_t		*rbuf;		/* IMSG_MAX_SIZE bytes */
	size_t		 rlen;
	int		 rfds[IMSG_MAX_QUEUED_FDS];
	int		 nrfds;
	struct ibufq	 wq;
	size_t		 wqlen;		/* frames queued */
	pid_t		 pid;
};

/* An imsgbuf hooked into the event loop. */
/*
 * A relay's timer (poll_epoll.c, poll_event.c): relays keep no libevent
 * timer, their loop's timeout is the earliest of these.
 */
struct poll_timer {
	long long		 at;		/* proc_now_ms() */
	uint32_t		 slot;		/* in the heap; 0: idle */
	TAILQ_ENTRY(poll_timer)	 entry;		/* expired, to be called */
	struct event		*ev;		/* poll_event.c */
	void			(*cb)(void *);
	void			*arg;
};

#define IMSGEV_FLUSH_NONE	0
#define IMSGEV_FLUSH_NOW	1	/* at the end of this turn */
#define IMSGEV_FLUSH_LATER	2	/* when ev_flush's timer fires */

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	struct event	 ev_flush;	/* queued frames go out this turn */
	pid_t		 pid;		/* ours, for the frames' headers */
	uint8_t		 flushing;	/* IMSGEV_FLUSH_* */
	TAILQ_ENTRY(imsgev)	 turn_entry;	/* NOW, by the turn's end */
	short		 events;
	void		(*handler)(int, short, void *);
	void		*data;
	int		 proc_id;	/* PROC_* of the peer */
	int		 instance;
};

/* Processes. */
enum l4d_proc {
	PROC_PARENT = 0,
	PROC_RELAY,
	PROC_TLS,		/* the TLS engines */
	PROC_HEALTH,		/* the health checker */
	PROC_METRICS,		/* the Prometheus /metrics server */
	PROC_MAX
};

struct child;

/*
 * One row per kind of child process: adding a process (the TLS engine,
 * the health checker) is adding a row to the table in l4d.c.
 */
struct proc_kind {
	const char	*name;
	enum l4d_proc	 id;
	int		(*count)(struct l4d_config *);
	__attribute__((__noreturn__))
	void		(*run)(int fd, int instance, int count);
	void		(*configure)(struct child *);
	int		(*dispatch)(struct child *, struct imsg *);
	void		(*started)(struct child *);	/* once forked: its
						   channels to other children */
	unsigned long	 timer_slack_us;	/* 0: the system's */
};

struct child {
	const struct proc_kind	*kind;
	int			 instance;
	int			 count;		/* instances of its kind */
	pid_t			 pid;
	int			 ready;		/* has its configuration */
	int			 restarted;	/* announce when ready */
	long long		 started_ms;
	struct imsgev		 iev;
	struct event		 ev_restart;
	int			 sandbox_fd;	/* its report pipe; -1 none */
	int			 forks;		/* started so often */
};

/* Frame types. */
enum imsg_type {
	IMSG_NONE = 0,
	/* parent -> child: configuration */
	IMSG_CONF_START,	/* struct l4d_config (lists empty) */
	IMSG_CONF_BACKEND,	/* struct backend (lists empty) */
	IMSG_CONF_SERVER,	/* struct conf_server */
	IMSG_CONF_LISTENER,	/* struct listener, fd: listening socket */
	IMSG_CONF_ROUTE,	/* struct route, after its listener */
	IMSG_CONF_ACL,		/* struct conf_acl + cidrs, after it */
	IMSG_CONF_END,
	/* parent <-> child: control */
	IMSG_CTL_STATS,		/* request; reply: struct ctl_stat frames */
	IMSG_CTL_STAT,		/* struct ctl_stat */
	IMSG_CTL_SESSIONS,	/* request; reply: struct ctl_session frames */
	IMSG_CTL_SESSION,	/* struct ctl_session */
	IMSG_CTL_KILL,		/* uint64_t session id; reply: IMSG_CTL_END */
	IMSG_CTL_END,		/* end of a relay's reply; int found */
	IMSG_CTL_LOG_VERBOSE,	/* int level */
	/* l4ctl <-> parent */
	IMSG_CTL_REQUEST,	/* struct ctl_request */
	IMSG_CTL_DATA,		/* text or JSON chunk */
	IMSG_CTL_DONE,		/* int status (0 ok, 1 failed) */
	/* parent -> relay: an operator drained or restored a server */
	IMSG_CTL_SERVER,	/* struct ctl_server */
	IMSG_CTL_SERVER_ADD,	/* struct ctl_server_add */
	/* parent -> engine: key material (struct tls_blob_hdr + bytes) */
	IMSG_TLS_LISTENER,	/* struct tls_conf_listener */
	IMSG_TLS_CERT,		/* struct tls_conf_cert */
	IMSG_TLS_BACKEND,	/* struct tls_conf_backend */
	IMSG_TLS_BLOB,		/* struct tls_blob_hdr, then bytes */
	IMSG_TLS_TICKET_KEY,	/* struct tls_ticket_key */
	/* parent -> relay and engine: their channel to each other */
	IMSG_TLS_CHANNEL,	/* int instance of the other side; fd */
	/* relay -> engine */
	IMSG_TLS_HANDOFF,	/* struct tls_handoff + hello; fd: TLS side */
	IMSG_TLS_PLAIN,		/* struct tls_plain + bytes; fd: the
				   plaintext side (direct: the server) */
	/* engine -> relay */
	IMSG_TLS_READY,		/* struct tls_ready */
	IMSG_TLS_FAILED,	/* struct tls_failed */
	IMSG_TLS_KILL,		/* uint64_t id: the relay ended it */
	IMSG_TLS_BYTES,		/* struct tls_bytes[]: direct sessions */
	IMSG_TLS_DONE,		/* struct tls_done: the engine ends (or
				   half-closes) a plaintext side itself */
	/* parent -> health: the servers to check (after IMSG_CONF_START) */
	IMSG_HEALTH_BACKEND,	/* struct health_backend */
	IMSG_HEALTH_SERVER,	/* struct health_server */
	/* health -> parent: a check's outcome; parent -> relays, health:
	   a server's new state */
	IMSG_HEALTH_STATE,	/* struct health_state */
	/* relay -> parent: passive, connect failures in a row */
	IMSG_HEALTH_PASSIVE,	/* struct health_state */
	/* parent -> relay: where access lines go (log.access_file) */
	IMSG_ACCESS_LOG,	/* int on; fd: the file, iff on */
	/* parent -> metrics: the listening socket (fd), once per process */
	IMSG_METRICS_LISTEN,
	/* metrics -> parent: an HTTP client asks; peerid: its request */
	IMSG_METRICS_REQUEST,
	/* parent -> metrics: the text, in pieces, then int status */
	IMSG_METRICS_DATA,
	IMSG_METRICS_END,
	/* parent -> relay: a map of its own for zero_copy: sockmap
	   (uint32_t which; fd: the map), before its first configuration */
	IMSG_SOCKMAP,
	IMSG_TYPE_MAX
};

/*
 * Health frames.  The health process gets, with each generation, an
 * IMSG_CONF_START (struct health_start), one IMSG_HEALTH_BACKEND per
 * backend with a check, its IMSG_HEALTH_SERVERs, for tls checks that
 * verify the CA bytes as IMSG_TLS_BLOB (kind BLOB_CA), and IMSG_CONF_END.
 * It never sees a listener, a key or a certificate of l4d's own.
 */
struct health_start {
	uint32_t		 generation;
	uint32_t		 nbackends;
};

struct health_backend {
	uint32_t		 backend_id;
	char			 name[L4D_NAME_MAX];
	uint32_t		 nservers;
	struct backend_check	 check;
	int			 verify;	/* tls check: tls.verify */
	int			 proxy;		/* a PROXY header first, LOCAL:
						   1 or 2 (its version), 0 */
	char			 server_name[SNI_NAME_MAX];
};

struct health_server {
	uint32_t		 backend_id;
	uint32_t		 server_id;
	char			 address[L4D_ADDR_MAX];
	struct sockaddr_storage	 ss;		/* the check's port already */
	socklen_t		 sslen;
	int			 up;
	int			 checked;	/* a check ran, since added */
	int			 removed;	/* not checked any more */
};

struct health_state {
	uint32_t		 generation;
	uint32_t		 backend_id;
	uint32_t		 server_id;
	int			 up;		/* the state after this */
	int			 changed;	/* up is new: only such a frame
						   changes a server's state */
	int			 count;		/* rise or fall reached: */
	int			 of;		/*   count of of */
	char			 result[CHECK_RESULT_MAX];	/* "ok", or what
						   failed */
};

/*
 * TLS engine frames.  The parent sends an engine, after IMSG_CONF_START
 * and the plain configuration, for each listener with tls: one
 * IMSG_TLS_LISTENER, then per certificate IMSG_TLS_CERT, and for each
 * backend with tls: an IMSG_TLS_BACKEND; the files' bytes follow their
 * object as IMSG_TLS_BLOB frames (a file larger than a frame comes in
 * pieces, in order).  IMSG_CONF_END closes the configuration.
 */
struct tls_conf_listener {
	uint32_t		 listener_id;
	char			 name[L4D_NAME_MAX];
	struct listener_tls	 tls;		/* pointers and lists zero */
};

struct tls_conf_cert {
	uint32_t		 listener_id;
	struct tls_cert		 cert;		/* pointers zero */
};

struct tls_conf_backend {
	uint32_t		 backend_id;
	char			 name[L4D_NAME_MAX];
	struct backend_tls	 tls;		/* pointers zero */
};

enum tls_blob_kind {
	BLOB_CERT = 1,		/* listener: of certificate cert_id */
	BLOB_KEY,
	BLOB_OCSP,
	BLOB_CLIENT_CA,		/* listener */
	BLOB_CRL,		/* listener */
	BLOB_CA,		/* backend */
	BLOB_CLIENT_CERT,	/* backend: l4d's client certificate */
	BLOB_CLIENT_KEY		/* backend */
};

#define TLS_BLOB_CHUNK		(60 * 1024)
struct tls_blob_hdr {
	uint32_t		 kind;		/* enum tls_blob_kind */
	uint32_t		 object_id;	/* listener or backend */
	uint32_t		 cert_id;	/* listener certificates */
	uint32_t		 total;		/* the whole file */
	uint32_t		 offset;	/* of this piece */
};

struct tls_ticket_key {
	uint32_t		 keyrev;
	uint8_t			 key[TLS_TICKET_KEY_LEN];
};

/* A session's TLS leg, handed from a relay to an engine. */
#define TLS_LEG_CLIENT		0	/* terminate: accept from the client */
#define TLS_LEG_SERVER		1	/* originate: connect to the server */

struct tls_handoff {
	uint64_t		 id;		/* session id */
	uint32_t		 leg;		/* TLS_LEG_* */
	char			 name[L4D_NAME_MAX];	/* listener or backend */
	char			 sni[SNI_NAME_MAX];	/* client leg: what the
						   hello asked for */
	char			 host[SNI_NAME_MAX];	/* server leg: the
						   server's host, for
						   server_name and verify */
	uint32_t		 hello_len;	/* bytes that follow: read
						   from the client already */
	uint32_t		 direct;	/* client leg: the engine
						   gets the server socket
						   and relays itself */
};

/*
 * The plaintext side.  For a direct session it is the connected server
 * socket, with what the relay owes the server first (pending bytes)
 * and the timeouts the engine now keeps.
 */
struct tls_plain {
	uint64_t		 id;
	uint32_t		 pending_len;	/* bytes that follow */
	int32_t			 idle_ms;	/* -1: none */
	int32_t			 half_closed_ms;
	uint32_t		 pad;
};

#define TLS_PENDING_MAX		(16 * 1024)

/* What a direct session moved so far: sent once a second if it moved. */
struct tls_bytes {
	uint64_t		 id;
	uint64_t		 up;		/* client to server, plaintext */
	uint64_t		 down;
};

struct tls_ready {
	uint64_t		 id;
	uint32_t		 leg;
	int			 resumed;
	char			 version[16];	/* "TLSv1.3" */
	char			 cipher[64];
	char			 sni[SNI_NAME_MAX];
	char			 subject[256];	/* peer certificate, "" none */
	char			 issuer[256];
};

/*
 * cause and the rest only for a direct session, whose end this is;
 * otherwise the engine just says it closes the plaintext side.
 */
struct tls_done {
	uint64_t		 id;
	uint32_t		 leg;
	uint32_t		 cause;		/* enum end_cause */
	uint32_t		 kind;		/* tls-error: enum tls_failure */
	uint64_t		 up;
	uint64_t		 down;
	char			 reason[256];	/* "" or libtls' error */
};

struct tls_failed {
	uint64_t		 id;
	uint32_t		 leg;
	uint32_t		 kind;		/* enum tls_failure */
	char			 reason[256];	/* libtls' error */
};

struct conf_server {
	uint32_t	 backend_id;
	struct server	 server;
};

/* A piece of a listener's list of networks; the cidrs follow. */
#define CONF_ACL_CHUNK		2048
struct conf_acl {
	uint32_t	 listener_id;
	uint32_t	 which;		/* ACL_ALLOW, ACL_DENY, ACL_TRUSTED */
	uint32_t	 count;		/* struct cidr that follow */
};

struct ctl_stat {
	char		 key[STATS_KEY_MAX];
	struct counters	 c;
};

struct ctl_session {
	uint64_t		 id;
	uint32_t		 generation;
	uint32_t		 state;
	char			 listener[L4D_NAME_MAX];
	char			 backend[L4D_NAME_MAX];
	struct sockaddr_in6	 client;
	struct sockaddr_in6	 server;	/* family 0 while connecting */
	long long		 age_ms;
	long long		 idle_ms;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	char			 sni[256];	/* "" when none */
	char			 alpn[256];	/* offered, comma separated */
	char			 route[ROUTE_KEY_MAX];
	char			 tls_version[16];	/* "" when not */
	char			 tls_cipher[64];
	int			 tls_resumed;
	char			 tls_subject[256];
	char			 tls_issuer[256];
};

#define CTL_CMD_SHOW_SUMMARY	1
#define CTL_CMD_SHOW_SESSIONS	2
#define CTL_CMD_SHOW_STATS	3
#define CTL_CMD_RELOAD		4
#define CTL_CMD_CHECK		5
#define CTL_CMD_KILL		6
#define CTL_CMD_LOG_VERBOSE	7
#define CTL_CMD_LOG_BRIEF	8
#define CTL_CMD_MONITOR		9
#define CTL_CMD_SERVER_DISABLE	10	/* arg: "BACKEND ADDRESS" */
#define CTL_CMD_SERVER_ENABLE	11
#define CTL_CMD_SERVER_ADD	12	/* "BACKEND ADDRESS [weight N]
					   [backup]" */
#define CTL_CMD_SERVER_REMOVE	13	/* "BACKEND ADDRESS" */
#define CTL_CMD_SHOW_METRICS	14	/* Prometheus text, never JSON */

struct ctl_server {
	uint32_t	 backend_id;
	uint32_t	 server_id;
	int		 disabled;
	int		 removed;
};

/* A runtime server, for the generation the parent runs: it goes last. */
struct ctl_server_add {
	uint32_t		 generation;
	uint32_t		 backend_id;
	struct server		 server;	/* id: the backend's count */
};
#define CTL_FLAG_JSON		0x01
struct ctl_request {
	uint32_t	 cmd;
	uint32_t	 flags;
	char		 arg[PATH_MAX];
};


/*
 * Relay sessions.
 */
enum flow_dir {
	FLOW_C2S = 0,
	FLOW_S2C
};

/* One direction of a session. */
struct flow {
	uint8_t		 dir;
	uint8_t		 eof;		/* the source sent FIN */
	uint8_t		 shut;		/* we shut the destination's write */
	uint8_t		 bulk;		/* splice: reads fill the buffer */
	uint8_t		 kernel;	/* sockmap: the kernel moves it, the
					   relay does not read the source */
	uint32_t	 len;		/* copy: bytes in buf */
	uint32_t	 off;		/* copy: bytes of buf already sent */
	uint32_t	 inpipe;	/* splice: bytes held in the pipe */
	char		*buf;		/* only while the peer lags */
	int		 pipe[2];	/* only while bytes sit in it */
	uint64_t	 bytes;		/* read from the source */
	uint64_t	 kbytes;	/* sockmap: moved by the kernel, as
					   last counted */
};

#define flow_pending(f)		((f)->off < (f)->len || (f)->inpipe > 0)
#define flow_wants_read(f)	(!(f)->eof && !flow_pending(f) && !(f)->kernel)
#define flow_bytes(f)		((f)->bytes + (f)->kbytes)
#define flow_done(f)		((f)->eof && !flow_pending(f) && (f)->shut)

/* flow_copy() and flow_splice() results */
#define FLOW_OK			0
#define FLOW_EOF		1	/* the source just sent FIN */
#define FLOW_RESET_FROM		2	/* the source failed or reset */
#define FLOW_RESET_TO		3	/* the destination failed or reset */

#define STATE_CONNECTING	1
#define STATE_RELAYING		2
#define STATE_ENDED		3	/* freed after the poll batch */
#define STATE_PEEKING		4	/* reading the client's hello */
#define STATE_STARTTLS		5	/* server: SSLRequest sent, waits */
#define STATE_TLS_CLIENT	6	/* an engine accepts the client's TLS */
#define STATE_TLS_SERVER	7	/* an engine connects to the server */
#define STATE_TLS_DIRECT	8	/* an engine relays client and server */

/* Whether the session counts in its server's counters. */
#define session_linked(s)	((s)->server != NULL && \
				    ((s)->state == STATE_RELAYING || \
				    (s)->state == STATE_STARTTLS || \
				    (s)->state == STATE_TLS_SERVER || \
				    (s)->state == STATE_TLS_DIRECT))

/* The two sockets of a session, as the poller names them. */
#define SIDE_CLIENT		0
#define SIDE_SERVER		1

/*
 * What a socket may do without blocking, as far as we know: the poller
 * sets bits (edge-triggered), a short or refused read or write clears
 * them.
 */
#define READY_READ		0x01
#define READY_WRITE		0x02
#define READY_FIN		0x04	/* a clean FIN waits behind the data */
#define READY_ERROR		0x08	/* event only: socket error */
#define READY_HUP		0x10	/* an error or hang-up waits behind the
					   data: no event will say so again */
#define READY_STATE		(READY_READ | READY_WRITE | READY_FIN | \
				    READY_HUP)

#define RESET_NONE		0
#define RESET_CLIENT		1
#define RESET_SERVER		2

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;		/* relay << 48 | counter */
	int			 cfd;
	int			 sfd;
	TAILQ_ENTRY(session)	 run_entry;	/* more to move next turn */
	void			*poll;		/* the poller's own, if any */
	struct poll_timer	 timer;
	uint8_t			 cready;	/* READY_* of cfd */
	uint8_t			 sready;	/* READY_* of sfd */
	uint8_t			 queued;	/* on the run queue */
	uint8_t			 state;
	uint8_t			 reset;
	uint8_t			 ntried;
	uint8_t			 first_fin;	/* enum end_cause */
	uint8_t			 last_connect_cause;
	uint8_t			 cpolled;	/* cfd is in the poller */
	uint8_t			 spolled;	/* sfd is */
	uint8_t			 cdrained;	/* the read ahead emptied cfd */
	uint8_t			 turn_dir;	/* adaptive: last way bytes went */
	uint8_t			 redispatched;	/* counted by its backend */
	uint16_t		 turns;		/* adaptive: changes of way */
	uint16_t		 tried[L4D_RETRIES_MAX + 1];
	struct listener		*listener;
	struct backend		*backend;
	struct server		*server;
	long long		 start_ms;
	long long		 last_ms;
	long long		 half_closed_ms;
	long long		 drain_ms;	/* close then; 0: never */
	struct peek		*peek;		/* routed listeners only */
	struct sockmap_pair	*sm;		/* sockmap: in the kernel */
	char			*first;		/* the read ahead, sent and
						   kept until the server
						   answers (redispatch) */
	uint32_t		 nfirst;
	struct sockaddr_in6	 client;	/* big enough for either */
	struct flow		 c2s;
	struct flow		 s2c;
};
TAILQ_HEAD(sessionlist, session);

/* A session's generation is its listener's. */
#define session_conf(s)		((s)->listener->conf)

/*
 * What a routed session read before the routing decision, and what it
 * learnt from it (peek.c).  The buffer exists only until it is sent on
 * to the server; the names stay for the logs and l4ctl.
 */
#define PEEK_START		0	/* nothing decided yet */
#define PEEK_TLS		1	/* reading a ClientHello */
#define PEEK_DONE		2	/* routed */
#define PEEK_PROXY		3	/* reading a PROXY header */

struct peek {
	uint8_t			*buf;
	uint32_t		 len;
	uint32_t		 cap;
	uint8_t			 phase;		/* PEEK_* */
	uint8_t			 sslrequest;	/* the client asked for TLS
						   the PostgreSQL way */
	uint8_t			 sent;		/* of our SSLRequest */
	struct route		*route;		/* NULL: a fallback */
	struct stats		*stats;		/* the route's counters */
	char			*sni;		/* NULL: none */
	char			*alpn;		/* NULL: none */
	/* TLS legs an engine carries (handoff.c) */
	RB_ENTRY(peek)		 tls_entry;	/* by session id */
	struct session		*session;
	int8_t			 engine;	/* -1: none */
	uint8_t			 terminate;	/* the client leg is TLS */
	uint8_t			 server_leg;	/* the server leg is TLS */
	uint8_t			 engine_done;	/* an engine's IMSG_TLS_DONE */
	uint8_t			 direct;	/* the engine relays it */
	uint8_t			 early;		/* connect before the handshake,
						   then hand both sockets */
	struct tls_ready	*tls_client;	/* once it is up */
	struct tls_ready	*tls_server;
	char			*tls_error;	/* the engine's reason */
	/* proxy_protocol: (proxy_protocol.c) */
	uint8_t			 next_phase;	/* after the header */
	uint8_t			 proxied;	/* s->client came from it */
	struct sockaddr_in6	 proxy_peer;	/* who sent the header */
	struct sockaddr_in6	 proxy_dst;	/* the address the client
						   reached, for a header sent
						   on; family 0: unknown */
};
RB_HEAD(tls_sessions, peek);
#define ACCEPT_BATCH		64
#define ACCEPT_BACKOFF_MIN_MS	50LL
#define ACCEPT_BACKOFF_MAX_MS	1000LL
#define ACCEPT_BACKOFF_RESET_MS	10000LL
#define RELAY_BUF_SIZE		(128 * 1024)
#define FLOW_AHEAD_MAX		(4 * 1024)	/* read before the connect */
#define PIPE_POOL_MAX		128
#define DRAIN_JITTER_MAX_MS	5000LL

struct relay_env {
	int			 instance;
	uint32_t		 nrelays;
	struct imsgev		 parent;
	struct l4d_config	*conf;		/* newest generation */
	struct l4d_config	*pending;
	struct sessionlist	 sessions;
	struct sessionlist	 runq;		/* used up their rounds */
	struct sessionlist	 ended;		/* freed after the batch */
	struct poll_timer	 runq_timer;
	uint32_t		 nrunq;
	int			 batching;	/* poller delivering events */
	struct stats_tree	 stats;
	uint32_t		 nsessions;
	uint32_t		 session_cap;
	uint64_t		 session_counter;
	uint64_t		 counts[CAUSE_MAX];
	int			 zero_copy;
	int			 sockmap;	/* zero_copy: sockmap, and the
						   maps came */
	int			 sockmap_late;	/* adaptive: only sessions that
						   turned SOCKMAP_TURNS times */
	int			 access_log;
	long long		 accept_backoff_ms;
	long long		 accept_paused_ms;
	long long		 accept_logged_ms;
	uint64_t		 accept_pauses;
	struct poll_timer	 accept_timer;
	struct event		 ev_sigterm;
	struct event		 ev_sigint;
	struct event		 ev_sighup;
	uint64_t		 tried[L4D_MAX_SERVERS / 64];
	char			 procname[32];
};
extern struct relay_env	 relay_env;

/* balance.c */
struct server	*balance_pick(struct backend *, const struct sockaddr *,
		    const uint64_t *tried, int use_backup);
int		 balance_usable(struct backend *, const uint64_t *tried,
		    int backup);
uint32_t	 balance_hash_addr(const struct sockaddr *);

/*
 * sni.c: the ClientHello reader.  hello_parse() is called on the bytes
 * a client sent so far, from the first one, as often as more arrive;
 * it reassembles the handshake message across TLS records and never
 * reads outside buf[0..len).
 */
#define HELLO_MAX		(16 * 1024)	/* bytes read before routing */
#define ALPN_RAW_MAX		1024		/* the extension's list */

enum hello_status {
	HELLO_NEED_MORE = 0,	/* a complete hello needs more bytes */
	HELLO_OK,		/* a complete ClientHello: h is filled */
	HELLO_NOT_TLS,		/* the first byte is no TLS handshake */
	HELLO_BAD		/* malformed: h->why says how */
};

struct hello {
	char		 sni[SNI_NAME_MAX];	/* lower case, no final
						   dot; "" when none */
	uint8_t		 alpn[ALPN_RAW_MAX];	/* wire format: length,
						   bytes, length, ... */
	uint16_t	 alpn_len;		/* 0: no ALPN extension */
	uint16_t	 version;		/* highest offered */
	size_t		 len;			/* bytes of the records
						   holding the hello */
	const char	*why;			/* HELLO_BAD: static text */
};

enum hello_status hello_parse(const uint8_t *buf, size_t len,
		    struct hello *h);
int		 hello_has_alpn(const struct hello *, const char *proto);
void		 hello_alpn_text(const struct hello *, char *buf,
		    size_t len);

/*
 * route.c: the route a ClientHello takes.  route_find() returns the
 * first matching route of l, or NULL.
 */
struct route	*route_find(struct listener *l, const struct hello *h);
int		 route_name_match(const struct route *, const char *sni);
void		 route_key(const struct route *, char *buf, size_t len);

/*
 * config.c: a relay gets the configuration without key material, an
 * engine (config_send_engine) without listener sockets but with the
 * tls: of every listener and backend and the bytes of their files;
 * config_receive() rebuilds either.
 */
int		 config_send(struct imsgev *, struct l4d_config *, int *fds);
int		 config_send_engine(struct imsgev *, struct l4d_config *);
int		 config_receive(struct l4d_config **, struct imsg *);

/*
 * tlsconf.c: the parser reads the files a configuration's tls: names
 * (in the parent, as root, before any child sees them) and checks them
 * with libtls; every problem is a coded error, so a broken key is a
 * rejected reload.
 */
void		 tlsconf_free_listener(struct listener_tls *);
void		 tlsconf_free_backend(struct backend_tls *);
void		 tls_blob_free(struct tls_blob *);

/*
 * health.c: the health process, which owns the schedule; check_*.c:
 * one file per kind of check.  A check runs on one socket with one I/O
 * event and one timer (the timeout while it runs, the next check when
 * it does not), so that no server waits for another.
 */
struct hbackend {
	uint32_t		 id;
	char			 name[L4D_NAME_MAX];
	struct backend_check	 check;
	int			 verify;
	int			 proxy;		/* 0, or the PROXY version */
	char			 server_name[SNI_NAME_MAX];
	struct tls_blob		 ca;		/* verify: the CA bytes */
	struct tls_config	*tls;		/* tls checks */
	regex_t			 re;
	int			 re_ok;
	uint32_t		 nservers;
	struct hcheck		**servers;	/* by server id */
};

struct hcheck {
	struct hbackend		*be;
	uint32_t		 server_id;
	char			 address[L4D_ADDR_MAX];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 up;
	int			 checked;	/* a check ran, since added */
	int			 removed;	/* l4ctl server remove: none */
	int			 nok;		/* successes in a row */
	int			 nfail;		/* failures in a row */
	char			 last[CHECK_RESULT_MAX];
	int			 running;
	int			 fd;
	struct tls		*tls;
	struct event		 ev_io;
	struct event		 ev_timer;
	void			(*io)(struct hcheck *, short);
	const char		*phase;		/* for a timeout's reason */
	long long		 started_ms;
	uint32_t		 sent;
	uint32_t		 len;
	uint8_t			 buf[CHECK_READ_MAX + 1];
};

__dead void	 health_main(int fd, int instance, int count);
void		 check_io(struct hcheck *, short events);
void		 check_tcp_start(struct hcheck *);
void		 check_tls_start(struct hcheck *);
void		 check_send_start(struct hcheck *);
void		 check_done(struct hcheck *, int ok, const char *result);
int		 check_escape_decode(const char *, size_t, uint8_t *,
		    size_t, uint32_t *, char *why, size_t);

/* healthparent.c: the health row of the process table, states */
int		 health_count(struct l4d_config *);
void		 health_configure(struct child *);
int		 health_dispatch(struct child *, struct imsg *);
int		 health_passive(struct child *, struct imsg *);
void		 health_reload_keep(struct l4d_config *, struct l4d_config *);
int		 health_check_equal(const struct backend_check *,
		    const struct backend_check *);
int		 config_send_ca(struct imsgev *, struct backend *);

/* tls.c: the TLS engine process */
__dead void	 tls_main(int fd, int instance, int count);

/* tlsparent.c: the engines' row of the process table, their channels */
int		 engine_count(struct l4d_config *);
void		 engine_configure(struct child *);
int		 engine_dispatch(struct child *, struct imsg *);
void		 engine_started(struct child *);
void		 relay_started(struct child *);
void		 tickets_init(void);

/*
 * conf.c: the configuration model; config_link() resolves references
 * and compiles regexes, once per configuration, in every process.
 */
struct l4d_config *config_new_empty(void);
void		 config_free(struct l4d_config *);
struct backend	*config_find_backend(struct l4d_config *, const char *);
struct server	*backend_add_server(struct backend *,
		    const struct server *);
int		 addr_server(const char *, struct sockaddr_storage *,
		    socklen_t *, char *, size_t);
int		 config_link(struct l4d_config *);
void		 conf_errors_clear(struct conf_errors *);

/* yamlconf.c: a file or buffer read into the model (parse*.c's schema) */
struct l4d_config *parse_config(const char *path, struct conf_errors *);
struct l4d_config *parse_config_buffer(const char *name, const char *buf,
		    size_t len, int resolve, struct conf_errors *);
int		 parse_duration(const char *, long long *ms, int infinite_ok);

/* addr.c: addresses */
int		 sockaddr_equal(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
int		 parse_address(const char *, struct sockaddr_storage *,
		    socklen_t *, int resolve, char *err, size_t errlen);

/* imsg.c */
void		 imsgbuf_init(struct imsgbuf *, int fd);
void		 imsgbuf_clear(struct imsgbuf *);
ssize_t		 imsgbuf_read(struct imsgbuf *);
int		 imsgbuf_write(struct imsgbuf *);
int		 imsgbuf_flush(struct imsgbuf *);
ssize_t		 imsg_get(struct imsgbuf *, struct imsg *);
int		 imsg_compose(struct imsgbuf *, uint32_t type, uint32_t peerid,
		    pid_t pid, int fd, const void *data, size_t datalen);
void		 imsg_free(struct imsg *);
int		 imsg_hdr_valid(const struct imsg_hdr *);

/* log.c */
void		 log_init(int foreground, int level, const char *ident);
void		 log_setlevel(int level);
int		 log_getlevel(void);
void		 log_procname(const char *);
void		 log_warn(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
void		 log_info(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
void		 log_debug(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
void		 log_access(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
__dead void	 fatal(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
__dead void	 fatalx(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
const char	*log_sockaddr(const struct sockaddr *, char *, size_t);

/* accesslog.c: the access log file, and JSON lines */
#define ACCESS_LINE_MAX		4096
struct access_json {
	char		 buf[ACCESS_LINE_MAX];
	size_t		 len;
};
void		 access_init(struct l4d_config *);
int		 access_reload_prepare(struct l4d_config *, FILE *);
void		 access_reload_commit(void);
int		 access_send(struct imsgev *);
void		 access_reopen(void);
int		 access_receive(struct imsg *);
void		 access_emit(const char *, int format);
void		 access_json_begin(struct access_json *);
void		 access_json_str(struct access_json *, const char *,
		    const char *);
void		 access_json_num(struct access_json *, const char *,
		    unsigned long long);
void		 access_json_bool(struct access_json *, const char *, int);
void		 access_json_null(struct access_json *, const char *);
const char	*access_json_end(struct access_json *);

/* notify.c: the service manager (systemd's $NOTIFY_SOCKET), pid file */
void		 notify_init(void);
void		 notify_send(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
void		 notify_detach(void);
void		 notify_ready(void);
void		 notify_reloading(void);
void		 pid_file_write(const char *);
void		 pid_file_remove(void);

/* proc.c */
void		 proc_init(const struct proc_kind *, size_t, const char *argv0,
		    int foreground, void (*)(const char *, ...));
void		 proc_start(struct l4d_config *);
void		 proc_reap(void);
void		 proc_stop(void);
void		 proc_configure_all(void);
int		 proc_send(enum l4d_proc, int instance, uint32_t type,
		    uint32_t peerid, const void *, size_t);
void		 proc_send_all(enum l4d_proc, uint32_t type, uint32_t peerid,
		    const void *, size_t);
int		 proc_nready(enum l4d_proc);
struct child	*proc_child(enum l4d_proc, int instance);
int		 proc_ninstances(enum l4d_proc);
__dead void	 proc_child_main(const struct proc_kind *, size_t,
		    const char *kind, int instance, int count, int level,
		    const char *user, const char *root, int foreground);
long long	 proc_now_ms(void);
void		 imsgev_init(struct imsgev *, int fd, int proc_id, int instance,
		    void (*)(int, short, void *), void *);
void		 imsgev_add(struct imsgev *);
int		 imsgev_compose(struct imsgev *, uint32_t type, uint32_t peerid,
		    int fd, const void *, size_t);
/* a libevent timer: engines only, relays keep none (poll_epoll.c) */
int		 imsgev_compose_later(struct imsgev *, uint32_t type, int ms,
		    const void *, size_t);
int		 imsgev_io(struct imsgev *, short);
/* a loop of our own writes frames at its turn's end (poll_epoll.c) */
void		 imsgev_turns(void);
void		 imsgev_turn_end(void);
void		 proc_log_level(struct imsg *);
void		 imsgev_clear(struct imsgev *);
void		 proc_drop_privileges(const char *user, const char *chroot);

/* relay.c */
__dead void	 relay_main(int fd, int instance, int nrelays);
__dead void	 relay_shutdown(void);
const char	*cause_name(enum end_cause);
void		 relay_ctl_stats(struct relay_env *, uint32_t);
void		 relay_ctl_sessions(struct relay_env *, uint32_t);
void		 relay_ctl_kill(struct relay_env *, uint32_t, uint64_t);
uint32_t	 relay_listener_cap(struct listener *);
long long	 session_deadline(struct session *, long long);
const char	*session_idstr(struct session *);
void		 session_connect(struct session *);
void		 session_end(struct session *, enum end_cause, int);
void		 session_timer(struct session *, long long);
void		 session_relay(struct session *);
void		 session_kick(struct session *);

/* sock.c: socket helpers of the processes that connect */
int		 sock_connect_done(int);

/* handoff.c: a relay's side of the TLS engines */
void		 handoff_channel(struct imsg *);
int		 handoff_client(struct session *);
int		 handoff_server(struct session *);
int		 handoff_direct(struct session *);
void		 handoff_rearm(struct session *, long long);
void		 handoff_timeout(struct session *, long long);
void		 handoff_forget(struct session *);
int		 handoff_settle(struct session *, int fd);
void		 session_upstream(struct session *);

/* peek.c: a routed session's first bytes, up to its routing */
int		 peek_start(struct session *);
void		 peek_ready(struct session *);
int		 peek_connected(struct session *);
void		 peek_starttls_ready(struct session *, int events);
void		 peek_free(struct session *);
void		 peek_keep_dst(struct session *);
int		 peek_proxy_send(struct session *);

/*
 * flow.c: the data path.  from and to are sockets, rfrom and rto their
 * READY_* bits, which the data path clears when a socket runs dry or
 * full.
 */
int		 flow_copy(struct flow *, int from, int to, uint8_t *rfrom,
		    uint8_t *rto);
int		 flow_copy_once(struct flow *, int from, int to,
		    uint8_t *rfrom, uint8_t *rto);
int		 flow_read_ahead(struct flow *, int from);
int		 flow_peer_gone(int);
int		 flow_drained(struct flow *, uint8_t *rfrom, uint8_t was);
void		 flow_release(struct flow *);
#define FLOW_AGAIN		(-1)	/* a round moved everything: go on */
#define FLOW_ROUNDS		4

/*
 * sockmap_linux.c or sockmap_none.c: zero_copy: sockmap, plain sessions
 * forwarded in the kernel.  The parent makes each relay's maps; a relay
 * puts a session's sockets in them and takes over again when the kernel
 * stops (a peer that does not read, a FIN).
 */
struct sockmap_pair;
#define SOCKMAP_TURNS	16	/* adaptive: changes of way, then in */
void		 sockmap_parent_send(struct imsgev *, int instance, pid_t);
int		 sockmap_receive(struct imsg *);
int		 sockmap_available(void);
void		 sockmap_insert(struct session *);
void		 sockmap_watch(struct session *);
void		 sockmap_events(struct session *, int side, int events);
int		 sockmap_copy(struct session *, struct flow *, int from, int to,
		    uint8_t *rfrom, uint8_t *rto);
void		 sockmap_copied(struct session *, struct flow *);
int		 sockmap_eof(struct session *, struct flow *);
void		 sockmap_sync(struct session *);
void		 sockmap_end(struct session *);

/* splice.c (Linux) or splice_none.c: zero-copy */
int		 flow_splice(struct flow *, int from, int to, uint8_t *rfrom,
		    uint8_t *rto);
int		 flow_pipe_flush(struct flow *, int to, uint8_t *rto);
void		 pipe_pool_flush(void);

/*
 * poll_epoll.c (Linux) or poll_event.c: edge-triggered readiness of
 * session sockets, delivered to session_ready().
 */
extern const int poll_exact;	/* events tell FIN, error and neither apart */
int		 poll_init(void);	/* and libevent's: event_init() */
void		 poll_loop(void);
void		 poll_timer_set(struct poll_timer *, void (*)(void *), void *);
int		 poll_timer_add(struct poll_timer *, long long ms);
void		 poll_timer_del(struct poll_timer *);
int		 poll_timer_pending(const struct poll_timer *);
void		 poll_timer_free(struct poll_timer *);
int		 poll_add(struct session *, int side);
int		 poll_watch(struct session *, int side, int ready);
void		 poll_forget(struct session *, int side);
void		 poll_remove(struct session *, int side);
int		 poll_listen(struct listener *, int on);
void		 session_ready(struct session *, int side, int events);
void		 relay_accept(struct listener *);
void		 relay_batch_begin(void);
void		 relay_batch_end(void);

/*
 * acl.c: lists of networks.  acl_build() turns what was written into
 * sorted disjoint ranges; acl_match() is a binary search.  A v4-mapped
 * IPv6 address is matched as IPv4.
 */
int		 cidr_parse(const char *, struct cidr *, char *why, size_t);
int		 acl_add(struct acl **, const struct cidr *);
int		 acl_build(struct acl *);
int		 acl_match(const struct acl *, const struct sockaddr *);
struct acl	*acl_dup(const struct acl *);
void		 acl_free(struct acl *);
enum end_cause	 access_check(struct listener *, const struct sockaddr *,
		    long long now);

/*
 * ratelimit.c: a token bucket per source address (IPv6 by prefix) in a
 * table of fixed size whose least recently used entry is recycled.
 */
struct rate_table *rate_table_new(const struct rate_conf *);
void		 rate_table_free(struct rate_table *);
int		 rate_admit(struct rate_table *, const struct sockaddr *,
		    long long now);
size_t		 rate_table_bytes(const struct rate_conf *);
uint32_t	 rate_table_used(const struct rate_table *);

/*
 * proxy_protocol.c: the PROXY protocol, v1 and v2.  proxy_parse() is
 * called on the bytes a client sent so far, from the first one; it
 * never reads outside buf[0..len).
 */
#define PROXY_V1_MAX		107
#define PROXY_V2_HDR		16
#define PROXY_V2_MAX		(PROXY_V2_HDR + 65535)

enum proxy_status {
	PROXY_NEED_MORE = 0,
	PROXY_OK,
	PROXY_BAD
};

struct proxy_hdr {
	int			 version;	/* 1 or 2 */
	int			 local;		/* LOCAL or UNKNOWN: keep the
						   real peer's address */
	struct sockaddr_storage	 src;
	struct sockaddr_storage	 dst;
	size_t			 len;		/* bytes of the header */
	const char		*why;		/* PROXY_BAD: static text */
};

/* What a header sent on says about a session l4d terminated. */
struct proxy_ssl {
	const char		*version;	/* "TLSv1.3" */
	const char		*cn;		/* client certificate, or NULL */
	int			 verified;
};

enum proxy_status proxy_parse(const uint8_t *buf, size_t len,
		    struct proxy_hdr *);
ssize_t		 proxy_build(int version, const struct sockaddr *src,
		    const struct sockaddr *dst, const char *authority,
		    const char *alpn, const struct proxy_ssl *,
		    uint8_t *buf, size_t len);
#define PROXY_BUILD_MAX		2048

/*
 * steer_linux.c or steer_none.c: the relay a source's connections go
 * to, for a listener with rate_limit (one socket of the group given).
 */
int		 listen_steer(int fd, int family, uint32_t nsocks,
		    uint32_t v6_prefix, int on);

/* runtime.c: servers added and removed while l4d runs */
#define RUNTIME_WORDS_MAX	5	/* BACKEND ADDRESS weight N backup */
/* The longest such request: the longest name and address, one space. */
#define RUNTIME_REQ_MAX		(L4D_NAME_MAX + L4D_ADDR_MAX + \
				    sizeof(" weight 256 backup"))
int		 runtime_words(const char *, char *, size_t, char **, int);
int		 runtime_add(const char *, char *, size_t);
int		 runtime_remove(const char *, char *, size_t);
void		 server_announce(struct backend *, struct server *);
void		 runtime_keep(struct l4d_config *, struct l4d_config *,
		    FILE *, int);

/* control.c */
int		 control_init(const char *path);
void		 control_listen(void);
void		 control_cleanup(const char *path);
int		 control_ro_init(const char *path);
void		 control_ro_cleanup(const char *path);
int		 control_relay_reply(struct imsg *, int instance);
void		 control_event(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

/* stats.c */
int		 stats_cmp(struct stats *, struct stats *);
RB_PROTOTYPE(stats_tree, stats, entry, stats_cmp);
struct stats	*stats_get(struct stats_tree *, const char *kind,
		    const char *name, const char *sub);
void		 stats_merge(struct counters *, const struct counters *);
const struct counters *stats_lookup(const struct ctl_stat *, size_t,
		    const char *, const char *, const char *);
const char	*tls_failure_name(enum tls_failure);

/*
 * promtext.c: the gathered counters in the Prometheus text format;
 * metricsparent.c: the metrics row of the process table, its socket;
 * metrics.c: the process that serves them over HTTP.
 */
struct metrics_info {
	time_t		 start_time;	/* the parent's, wall clock */
	uint64_t	 reloads;
	uint64_t	 reload_failures;
	int		 relays;
	int		 answered;
};
void		 prom_write(FILE *, struct l4d_config *,
		    const struct ctl_stat *, size_t,
		    const struct metrics_info *);
int		 metrics_bind(struct l4d_config *);
int		 metrics_count(struct l4d_config *);
void		 metrics_configure(struct child *);
int		 metrics_dispatch(struct child *, struct imsg *);
void		 metrics_reply(pid_t, uint32_t, const char *, size_t, int);
void		 metrics_reload_keep(struct l4d_config *, struct l4d_config *,
		    FILE *);
int		 control_metrics_request(pid_t, uint32_t);
__dead void	 metrics_main(int fd, int instance, int count);

/*
 * sandbox_linux.c, sandbox_openbsd.c or sandbox_none.c: the syscall
 * sandbox a child enters after its privilege drop.  A child killed for
 * a forbidden call writes a struct sandbox_report on its report pipe,
 * descriptor SANDBOX_REPORT_FD, which the parent reads when it reaps it.
 */
#define SANDBOX_REPORT_FD	4
#define SANDBOX_REPORT_MAGIC	0x6c347362	/* "l4sb" */
struct sandbox_report {
	uint32_t	 magic;
	int32_t		 nr;		/* the call */
	uint32_t	 arch;		/* AUDIT_ARCH_* */
	uint32_t	 pad;
};
void		 sandbox_enter(enum l4d_proc);
int		 sandbox_report_text(int fd, char *, size_t);
const char	*sandbox_kind(void);

/* debug.c (test builds only) or debug_none.c */
void		 debug_child_start(const char *kind);
void		 debug_child_exec(int forks);

/* l4d.c */
extern struct l4d_config *l4d_conf;
extern time_t		 parent_start_time;
extern uint64_t		 parent_reloads;
extern uint64_t		 parent_reload_failures;
int		 parent_reload(const char *path, FILE *out, int apply);
void		 parent_log_level(int);

#endif /* L4D_H */
