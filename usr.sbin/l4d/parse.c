/*
 * The configuration: a YAML file read with libyaml's document API and
 * checked against the v1 schema, and the helpers that build, link and
 * free the model.  Every problem is kept with its position and a stable
 * code and the walk goes on, so one run of "l4d -n" shows them all.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "l4d.h"

/*
 * Caps that keep a hostile or mistaken file (aliases make a small file
 * expand) from costing unbounded memory and time.
 */
#define PARSE_MAX_LISTENERS	1024
#define PARSE_MAX_BACKENDS	1024
#define PARSE_MAX_SERVERS	16384		/* all backends together */
#define PARSE_MAX_FILE		(4 * 1024 * 1024)
#define PARSE_MAX_MS		(2147483647LL * 1000)	/* fits a timeval */
#define PARSE_PATH_MAX		96		/* key paths in messages */
#define PARSE_QUOTE_MAX		72		/* values quoted in messages */
#define MAP_KEYS_MAX		16		/* keys of one mapping */

/* The stable codes, L4D-E001 to L4D-E022. */
enum conf_code {
	E_SYNTAX = 1,
	E_UNKNOWN_KEY = 2,
	E_TYPE = 3,
	E_DURATION = 4,
	E_ADDRESS = 5,
	E_MISSING = 6,
	E_DUP_LISTENER = 7,
	E_DUP_BACKEND = 8,
	E_UNDEF_BACKEND = 9,
	E_CONFLICT = 10,
	E_NO_SERVERS = 11,
	E_WEIGHT = 12,
	E_RANGE = 13,
	E_ENUM = 14,
	E_RESOLVE = 15,
	E_USER = 16,
	E_READ = 17,
	E_DUP_KEY = 18,
	E_NAME = 19,
	E_DUP_SERVER = 20,
	E_EMPTY = 21,
	E_CHROOT = 22
};

/*
 * A node reached twice in the same role (through a YAML alias) gives
 * the same local errors twice; the second time they are not repeated.
 */
enum node_role {
	ROLE_LOG,
	ROLE_TIMEOUTS,
	ROLE_LISTENER,
	ROLE_BACKEND,
	ROLE_SERVERS,
	ROLE_SERVER
};

#define ADDR_WILDCARD	0x01	/* "*:PORT" allowed */
#define ADDR_NAMES	0x02	/* host names allowed */
#define ADDR_RESOLVE	0x04	/* and looked up */

struct perr {
	size_t		 line;
	size_t		 col;
	size_t		 seq;
	char		 msg[L4D_ERRMSG_MAX];
};

/* What later checks need to know about an object already parsed. */
struct pobj {
	void		*obj;
	size_t		 line;		/* of its name, or its address */
	int		 name_ok;
	int		 addr_ok;
};

struct parser {
	const char		*name;
	yaml_document_t		*doc;
	struct l4d_config	*conf;
	int			 resolve;
	int			 quiet;
	int			 servers_capped;
	int			 no_backends;	/* so no E009 cascade */
	size_t			 nservers;
	unsigned char		*seen;
	struct perr		*errv;
	size_t			 nerr;
	size_t			 errcap;
	struct pobj		*lv;	/* listeners */
	size_t			 nl;
	struct pobj		*bv;	/* backends */
	size_t			 nb;
};

enum { TK_USER, TK_CHROOT, TK_RELAYS, TK_ZERO_COPY, TK_CONTROL, TK_LOG,
    TK_TIMEOUTS, TK_LISTENERS, TK_BACKENDS, TK_N };
static const char *const top_keys[TK_N] = { "user", "chroot", "relays",
    "zero_copy", "control", "log", "timeouts", "listeners", "backends" };

enum { GK_LEVEL, GK_ACCESS, GK_N };
static const char *const log_keys[GK_N] = { "level", "access" };

enum { OK_CONNECT, OK_IDLE, OK_HALF_CLOSED, OK_HANDSHAKE, OK_DRAIN, OK_N };
static const char *const timeout_keys[OK_N] = { "connect", "idle",
    "half_closed", "handshake", "drain" };

enum { LK_NAME, LK_LISTEN, LK_BACKEND, LK_MAX_SESSIONS, LK_TIMEOUTS,
    LK_N };
static const char *const listener_keys[LK_N] = { "name", "listen",
    "backend", "max_sessions", "timeouts" };

enum { BK_NAME, BK_BALANCE, BK_RETRIES, BK_SERVERS, BK_N };
static const char *const backend_keys[BK_N] = { "name", "balance",
    "retries", "servers" };

enum { SK_ADDRESS, SK_WEIGHT, SK_BACKUP, SK_N };
static const char *const server_keys[SK_N] = { "address", "weight",
    "backup" };

static const char *const level_names[] = { "error", "warning", "info",
    "debug" };
static const char *const balance_names[] = { "roundrobin", "leastconn",
    "source-hash", "random" };

static const char	*quote(const char *, char *, size_t);
static void		 verr(struct parser *, int, const yaml_mark_t *, int,
			    const char *, const char *, va_list)
			    __attribute__((__format__ (printf, 6, 0)));
static void		 perr(struct parser *, const yaml_mark_t *, int,
			    const char *, const char *, ...)
			    __attribute__((__format__ (printf, 5, 6)));
static void		 perr_always(struct parser *, const yaml_mark_t *, int,
			    const char *, const char *, ...)
			    __attribute__((__format__ (printf, 5, 6)));
static void		 errs_add(struct conf_errors *, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));
static void		 fmt_into(char *, size_t, const char *, ...)
			    __attribute__((__format__ (printf, 3, 4)));

/*
 * Model helpers.
 */

struct l4d_config *
config_new_empty(void)
{
	struct l4d_config	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	TAILQ_INIT(&conf->listeners);
	TAILQ_INIT(&conf->backends);
	strlcpy(conf->user, L4D_USER, sizeof(conf->user));
	strlcpy(conf->chroot, L4D_CHROOT, sizeof(conf->chroot));
	strlcpy(conf->control, L4D_SOCKET, sizeof(conf->control));
	conf->relays = 0;
	conf->relay_mode = RELAY_MODE_AUTO;
	conf->log_level = LOG_LEVEL_INFO;
	conf->log_access = 1;
	conf->timeouts.connect = DEFAULT_CONNECT_MS;
	conf->timeouts.idle = DEFAULT_IDLE_MS;
	conf->timeouts.half_closed = DEFAULT_HALF_CLOSED_MS;
	conf->timeouts.handshake = DEFAULT_HANDSHAKE_MS;
	conf->timeouts.drain = DEFAULT_DRAIN_MS;
	return conf;
}

/* Listener fds and events belong to whoever set them up, not to us. */
void
config_free(struct l4d_config *conf)
{
	struct listener	*l;
	struct backend	*b;
	struct server	*s;

	if (conf == NULL)
		return;
	while ((l = TAILQ_FIRST(&conf->listeners)) != NULL) {
		TAILQ_REMOVE(&conf->listeners, l, entry);
		free(l);
	}
	while ((b = TAILQ_FIRST(&conf->backends)) != NULL) {
		TAILQ_REMOVE(&conf->backends, b, entry);
		while ((s = TAILQ_FIRST(&b->servers)) != NULL) {
			TAILQ_REMOVE(&b->servers, s, entry);
			free(s);
		}
		free(b->server_index);
		free(b);
	}
	free(conf);
}

struct backend *
config_find_backend(struct l4d_config *conf, const char *name)
{
	struct backend	*b;

	TAILQ_FOREACH(b, &conf->backends, entry) {
		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

static int
backend_index(struct backend *b)
{
	struct server	*s;
	uint32_t	 n = 0;

	free(b->server_index);
	b->server_index = NULL;
	TAILQ_FOREACH(s, &b->servers, entry)
		n++;
	b->nservers = n;
	if (n > 0 &&
	    (b->server_index = calloc(n, sizeof(*b->server_index))) == NULL)
		return -1;
	n = 0;
	TAILQ_FOREACH(s, &b->servers, entry) {
		s->id = n;
		s->up = 1;	/* until a health check says otherwise */
		b->server_index[n++] = s;
	}
	return 0;
}

int
config_link(struct l4d_config *conf)
{
	struct backend	*b;
	struct listener	*l;
	uint32_t	 id = 0;
	int		 rc = 0;

	TAILQ_FOREACH(b, &conf->backends, entry) {
		b->id = id++;
		if (backend_index(b) == -1)
			rc = -1;
	}
	conf->nbackends = id;
	id = 0;
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		l->id = id++;
		if ((l->backend = config_find_backend(conf,
		    l->backend_name)) == NULL)
			rc = -1;
	}
	conf->nlisteners = id;
	return rc;
}

void
conf_errors_clear(struct conf_errors *errs)
{
	struct conf_error	*e;

	while ((e = TAILQ_FIRST(errs)) != NULL) {
		TAILQ_REMOVE(errs, e, entry);
		free(e);
	}
}

/*
 * Durations: digits and a unit (ms, s, m, h; none means seconds), or
 * "infinite" where the caller allows it.
 */
static const char *
duration_parse(const char *s, long long *ms, int infinite_ok)
{
	long long	 n = 0, unit;
	const char	*p;

	if (strcmp(s, "infinite") == 0) {
		if (!infinite_ok)
			return "\"infinite\" is not allowed here";
		*ms = TIMEOUT_INFINITE;
		return NULL;
	}
	if (*s < '0' || *s > '9')
		return "expected a number and a unit";
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > PARSE_MAX_MS)
			return "too large";
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * 1000;
	else
		return "unknown unit";
	if (n > PARSE_MAX_MS / unit)
		return "too large";
	*ms = n * unit;
	return NULL;
}

int
parse_duration(const char *s, long long *ms, int infinite_ok)
{
	long long	 v;

	if (duration_parse(s, &v, infinite_ok) != NULL)
		return -1;
	*ms = v;
	return 0;
}

/*
 * Addresses.
 */

static int
is_ipv4ish(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return 0;
	return 1;
}

/* RFC 1123 labels; '_' too, since internal zones use it. */
static int
is_hostname(const char *s)
{
	size_t	 label = 0, total = 0;

	for (; *s != '\0'; s++, total++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if ((*s < 'a' || *s > 'z') && (*s < 'A' || *s > 'Z') &&
		    (*s < '0' || *s > '9') && *s != '-' && *s != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return total > 0 && total <= 253;
}

static int
port_parse(const char *s, in_port_t *port)
{
	long	 n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > 65535)
			return -1;
	}
	if (n == 0)
		return -1;
	*port = htons((in_port_t)n);
	return 0;
}

static int
host_resolve(const char *host, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -2;
	}
	if (res->ai_addrlen > sizeof(*ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "no IPv4 or IPv6 address");
		return -2;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Splits "host:port" or "[v6]:port"; host is copied into hbuf. */
static int
addr_split(const char *s, char *hbuf, size_t hlen, const char **port,
    int *bracket, char *err, size_t errlen)
{
	const char	*end, *colon;
	size_t		 n;

	*bracket = (*s == '[');
	if (*bracket) {
		if ((end = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "missing \"]\"");
			return -1;
		}
		if (end[1] != ':') {
			snprintf(err, errlen, end[1] == '\0' ? "missing port" :
			    "expected \":\" after \"]\"");
			return -1;
		}
		s++;
		n = end - s;
		*port = end + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "missing port");
			return -1;
		}
		if (strchr(s, ':') != colon) {
			snprintf(err, errlen, "IPv6 addresses need brackets");
			return -1;
		}
		n = colon - s;
		*port = colon + 1;
	}
	if (n >= hlen) {
		snprintf(err, errlen, "host too long");
		return -1;
	}
	memcpy(hbuf, s, n);
	hbuf[n] = '\0';
	return 0;
}

/* Returns 0, -1 when malformed, -2 when a host name does not resolve. */
static int
addr_parse(const char *s, int flags, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[L4D_ADDR_MAX];
	const char		*portstr;
	in_port_t		 port;
	int			 bracket, rc;

	memset(ss, 0, sizeof(*ss));
	*sslen = 0;
	if (strlen(s) >= L4D_ADDR_MAX) {
		snprintf(err, errlen, "longer than %d bytes", L4D_ADDR_MAX - 1);
		return -1;
	}
	if (addr_split(s, host, sizeof(host), &portstr, &bracket, err,
	    errlen) == -1)
		return -1;
	if (port_parse(portstr, &port) == -1) {
		snprintf(err, errlen, "port must be 1-65535");
		return -1;
	}
	if (host[0] == '\0') {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	if (bracket) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "bad IPv6 address");
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		*sslen = sizeof(*sin6);
		return 0;
	}
	if (strcmp(host, "*") == 0) {
		if (!(flags & ADDR_WILDCARD)) {
			snprintf(err, errlen, "\"*\" is for listeners only");
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = port;
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		*sslen = sizeof(*sin);
		return 0;
	}
	if (is_ipv4ish(host)) {
		snprintf(err, errlen, "bad IPv4 address");
		return -1;
	}
	if (!is_hostname(host)) {
		snprintf(err, errlen, "bad host name");
		return -1;
	}
	if (!(flags & ADDR_NAMES)) {
		snprintf(err, errlen, "an IP address is needed, not a name");
		return -1;
	}
	if (!(flags & ADDR_RESOLVE))
		return 0;
	if ((rc = host_resolve(host, ss, sslen, err, errlen)) != 0)
		return rc;
	if (ss->ss_family == AF_INET)
		sin->sin_port = port;
	else
		sin6->sin6_port = port;
	return 0;
}

/*
 * "IP:PORT", "[IPv6]:PORT", "*:PORT" or "NAME:PORT".  A name is looked
 * up when resolve is set, and left with sslen 0 otherwise.  Returns 0,
 * -1 when malformed, -2 when the name does not resolve; err says why.
 */
int
parse_address(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    int resolve, char *err, size_t errlen)
{
	char	 buf[128];

	if (err == NULL || errlen == 0) {
		err = buf;
		errlen = sizeof(buf);
	}
	return addr_parse(s, ADDR_WILDCARD | ADDR_NAMES |
	    (resolve ? ADDR_RESOLVE : 0), ss, sslen, err, errlen);
}

/* Same family, address and port; the rest of the storage is ignored. */
int
sockaddr_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* Two listening sockets that could not both be bound. */
static int
listen_conflict(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;	/* IPv6 sockets are bound V6ONLY */
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY));
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0 ||
	    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr));
}

/*
 * Errors.
 */

/* A value fit for a one-line message: escaped and cut short. */
static const char *
quote(const char *s, char *buf, size_t len)
{
	size_t	 o = 0;
	char	 c;

	buf[o++] = '"';
	for (; *s != '\0' && o + 8 < len; s++) {
		c = *s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if ((unsigned char)c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, len - o, "\\x%02x",
			    (unsigned char)c);
		else
			buf[o++] = c;
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Messages and key paths may be cut short; that is fine. */
static void
fmt_into(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
verr(struct parser *p, int always, const yaml_mark_t *m, int code,
    const char *hint, const char *fmt, va_list ap)
{
	struct perr	*e, *nv;
	char		 msg[L4D_ERRMSG_MAX];
	size_t		 ncap;

	if (p->quiet && !always)
		return;
	if (p->nerr == p->errcap) {
		ncap = p->errcap ? p->errcap * 2 : 16;
		if ((nv = reallocarray(p->errv, ncap, sizeof(*nv))) == NULL)
			fatal("%s", __func__);
		p->errv = nv;
		p->errcap = ncap;
	}
	e = &p->errv[p->nerr];
	e->line = m->line + 1;
	e->col = m->column + 1;
	e->seq = p->nerr++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fmt_into(e->msg, sizeof(e->msg), "%s:%zu:%zu: L4D-E%03d: %s (hint: %s)",
	    p->name, e->line, e->col, code, msg, hint);
}

/* An error about this node alone: not repeated when an alias revisits. */
static void
perr(struct parser *p, const yaml_mark_t *m, int code, const char *hint,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(p, 0, m, code, hint, fmt, ap);
	va_end(ap);
}

/* An error between objects, reported whichever path reached it. */
static void
perr_always(struct parser *p, const yaml_mark_t *m, int code,
    const char *hint, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(p, 1, m, code, hint, fmt, ap);
	va_end(ap);
}

static void
errs_add(struct conf_errors *errs, const char *fmt, ...)
{
	struct conf_error	*e;
	va_list			 ap;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("%s", __func__);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	TAILQ_INSERT_TAIL(errs, e, entry);
}

static int
perr_cmp(const void *a, const void *b)
{
	const struct perr	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* The walk does not follow the file; the reader wants file order. */
static void
perr_flush(struct parser *p, struct conf_errors *errs)
{
	size_t	 i;

	if (p->nerr > 1)
		qsort(p->errv, p->nerr, sizeof(*p->errv), perr_cmp);
	for (i = 0; i < p->nerr; i++)
		errs_add(errs, "%s", p->errv[i].msg);
}

/*
 * Node access.
 */

static yaml_node_t *
node_at(struct parser *p, int idx)
{
	return yaml_document_get_node(p->doc, idx);
}

/* Returns whether the node was already walked in this role. */
static int
node_enter(struct parser *p, yaml_node_t *n, enum node_role role)
{
	size_t	 i = n - p->doc->nodes.start;
	int	 seen;

	seen = (p->seen[i] >> role) & 1;
	p->seen[i] |= 1 << role;
	if (seen)
		p->quiet++;
	return seen;
}

static void
node_leave(struct parser *p, int seen)
{
	if (seen)
		p->quiet--;
}

static const char *
node_desc(yaml_node_t *n, char *buf, size_t len)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (n->data.scalar.length == 0)
			return "an empty value";
		return quote((const char *)n->data.scalar.value, buf, len);
	default:
		return "nothing";
	}
}

static void
type_err(struct parser *p, yaml_node_t *n, const char *path,
    const char *want, const char *hint)
{
	char	 q[PARSE_QUOTE_MAX];

	perr(p, &n->start_mark, E_TYPE, hint, "%s: expected %s, found %s",
	    path, want, node_desc(n, q, sizeof(q)));
}

/* The scalar as a C string, or NULL once E003 is reported. */
static const char *
scalar_str(struct parser *p, yaml_node_t *n, const char *path,
    const char *want, const char *hint)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE) {
		type_err(p, n, path, want, hint);
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		perr(p, &n->start_mark, E_TYPE, hint,
		    "%s: expected %s, found a string with a NUL byte",
		    path, want);
		return NULL;
	}
	return s;
}

static void
key_path(char *buf, size_t len, const char *parent, const char *key)
{
	if (parent[0] == '\0')
		fmt_into(buf, len, "%s", key);
	else
		fmt_into(buf, len, "%s.%s", parent, key);
}

static void
key_list(char *buf, size_t len, const char *const keys[], size_t nkeys)
{
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < nkeys; i++) {
		if (i > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, keys[i], len);
	}
}

/*
 * Sorts a mapping's values into vals[] by key, reporting keys that are
 * not scalars, unknown or repeated.  Returns -1 if it is no mapping.
 */
static int
map_collect(struct parser *p, yaml_node_t *map, const char *path,
    const char *const keys[], size_t nkeys, yaml_node_t **vals)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *first[MAP_KEYS_MAX];
	char			 valid[256], hint[300], q[PARSE_QUOTE_MAX];
	const char		*ks;
	size_t			 i;

	if (nkeys > MAP_KEYS_MAX)
		fatalx("%s: too many keys", __func__);
	for (i = 0; i < nkeys; i++)
		vals[i] = first[i] = NULL;
	if (map->type != YAML_MAPPING_NODE) {
		type_err(p, map, path[0] ? path : "top level", "a mapping",
		    "write key: value pairs here");
		return -1;
	}
	key_list(valid, sizeof(valid), keys, nkeys);
	snprintf(hint, sizeof(hint), "valid keys here: %s", valid);
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		if ((k = node_at(p, pair->key)) == NULL)
			continue;
		if ((ks = scalar_str(p, k, path[0] ? path : "top level",
		    "a scalar key", hint)) == NULL)
			continue;
		for (i = 0; i < nkeys; i++)
			if (strcmp(ks, keys[i]) == 0)
				break;
		if (i == nkeys) {
			perr(p, &k->start_mark, E_UNKNOWN_KEY, hint,
			    "%s%sunknown key %s", path, path[0] ? ": " : "",
			    quote(ks, q, sizeof(q)));
			continue;
		}
		if (vals[i] != NULL) {
			perr(p, &k->start_mark, E_DUP_KEY,
			    "remove one of them",
			    "%s%skey \"%s\" appears twice (first at line %zu)",
			    path, path[0] ? ": " : "", keys[i],
			    first[i]->start_mark.line + 1);
			continue;
		}
		first[i] = k;
		vals[i] = node_at(p, pair->value);
	}
	return 0;
}

static void
missing(struct parser *p, yaml_node_t *map, const char *path,
    const char *key, const char *hint)
{
	perr(p, &map->start_mark, E_MISSING, hint,
	    "%s%smissing required key \"%s\"", path, path[0] ? ": " : "", key);
}

/*
 * Scalar values.
 */

static int
get_bool(struct parser *p, yaml_node_t *n, const char *path, int *out)
{
	const char	*s;
	const char	*hint = "use true or false";

	if ((s = scalar_str(p, n, path, "a boolean", hint)) == NULL)
		return -1;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*out = 0;
	else {
		type_err(p, n, path, "a boolean", hint);
		return -1;
	}
	return 0;
}

/* An integer in [lo, hi]; E003 if it is none, code if out of range. */
static int
get_int(struct parser *p, yaml_node_t *n, const char *path, long long lo,
    long long hi, int code, long long *out)
{
	const char	*s, *d;
	char		 hint[64], q[PARSE_QUOTE_MAX];
	long long	 v = 0;
	int		 big = 0;

	snprintf(hint, sizeof(hint), "use a whole number from %lld to %lld",
	    lo, hi);
	if ((s = scalar_str(p, n, path, "an integer", hint)) == NULL)
		return -1;
	d = (*s == '-' || *s == '+') ? s + 1 : s;
	if (*d == '\0') {
		type_err(p, n, path, "an integer", hint);
		return -1;
	}
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9') {
			type_err(p, n, path, "an integer", hint);
			return -1;
		}
		if (v > 1000000000000LL)
			big = 1;
		else
			v = v * 10 + (*d - '0');
	}
	if (*s == '-')
		v = -v;
	if (big || v < lo || v > hi) {
		perr(p, &n->start_mark, code, hint, "%s: %s is out of range",
		    path, quote(s, q, sizeof(q)));
		return -1;
	}
	*out = v;
	return 0;
}

static int
get_enum(struct parser *p, yaml_node_t *n, const char *path,
    const char *const names[], size_t nnames, int *out)
{
	const char	*s;
	char		 valid[128], hint[160], q[PARSE_QUOTE_MAX];
	size_t		 i;

	key_list(valid, sizeof(valid), names, nnames);
	snprintf(hint, sizeof(hint), "one of: %s", valid);
	if ((s = scalar_str(p, n, path, "a scalar", hint)) == NULL)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	perr(p, &n->start_mark, E_ENUM, hint, "%s: bad value %s", path,
	    quote(s, q, sizeof(q)));
	return -1;
}

/* Names of listeners, backends and users. */
static int
get_name(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len)
{
	const char	*s, *c;
	const char	*hint = "1 to 63 of A-Z a-z 0-9 _ . -";
	char		 q[PARSE_QUOTE_MAX];

	if ((s = scalar_str(p, n, path, "a scalar", hint)) == NULL)
		return -1;
	for (c = s; *c != '\0'; c++)
		if ((*c < 'a' || *c > 'z') && (*c < 'A' || *c > 'Z') &&
		    (*c < '0' || *c > '9') && *c != '_' && *c != '.' &&
		    *c != '-')
			break;
	if (*s == '\0' || *c != '\0' || strlen(s) >= len ||
	    strlen(s) >= L4D_NAME_MAX) {
		perr(p, &n->start_mark, E_NAME, hint, "%s: bad name %s", path,
		    quote(s, q, sizeof(q)));
		return -1;
	}
	strlcpy(buf, s, len);
	return 0;
}

static int
get_path(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len)
{
	const char	*s;
	char		 hint[64], q[PARSE_QUOTE_MAX];

	snprintf(hint, sizeof(hint), "an absolute path shorter than %zu bytes",
	    len);
	if ((s = scalar_str(p, n, path, "a path", hint)) == NULL)
		return -1;
	if (s[0] != '/' || strlen(s) >= len) {
		perr(p, &n->start_mark, E_NAME, hint, "%s: bad path %s", path,
		    quote(s, q, sizeof(q)));
		return -1;
	}
	strlcpy(buf, s, len);
	return 0;
}

static void
get_duration(struct parser *p, yaml_node_t *n, const char *path,
    int infinite_ok, long long *out)
{
	const char	*s, *why;
	const char	*hint;
	char		 q[PARSE_QUOTE_MAX];
	long long	 ms;

	hint = infinite_ok ?
	    "e.g. 250ms, 5s, 2m, 1h, 30 (seconds) or infinite" :
	    "e.g. 250ms, 5s, 2m, 1h or 30 (seconds)";
	if ((s = scalar_str(p, n, path, "a duration", hint)) == NULL)
		return;
	if ((why = duration_parse(s, &ms, infinite_ok)) != NULL) {
		perr(p, &n->start_mark, E_DURATION, hint,
		    "%s: bad duration %s: %s", path, quote(s, q, sizeof(q)),
		    why);
		return;
	}
	if (ms == 0 && !infinite_ok) {
		perr(p, &n->start_mark, E_DURATION, hint,
		    "%s: bad duration %s: must be > 0", path,
		    quote(s, q, sizeof(q)));
		return;
	}
	*out = ms;
}

/*
 * The schema, one function per mapping.
 */

static void
parse_timeouts(struct parser *p, yaml_node_t *n, const char *path,
    struct timeouts *t)
{
	yaml_node_t	*v[OK_N];
	long long	*field[OK_N];
	char		 kp[PARSE_PATH_MAX];
	size_t		 i;
	int		 seen;

	field[OK_CONNECT] = &t->connect;
	field[OK_IDLE] = &t->idle;
	field[OK_HALF_CLOSED] = &t->half_closed;
	field[OK_HANDSHAKE] = &t->handshake;
	field[OK_DRAIN] = &t->drain;
	seen = node_enter(p, n, ROLE_TIMEOUTS);
	if (map_collect(p, n, path, timeout_keys, OK_N, v) == 0) {
		for (i = 0; i < OK_N; i++) {
			if (v[i] == NULL)
				continue;
			key_path(kp, sizeof(kp), path, timeout_keys[i]);
			get_duration(p, v[i], kp,
			    i != OK_CONNECT && i != OK_HANDSHAKE, field[i]);
		}
	}
	node_leave(p, seen);
}

static void
parse_log(struct parser *p, yaml_node_t *n)
{
	struct l4d_config	*conf = p->conf;
	yaml_node_t		*v[GK_N];
	int			 seen, x;

	seen = node_enter(p, n, ROLE_LOG);
	if (map_collect(p, n, "log", log_keys, GK_N, v) == 0) {
		if (v[GK_LEVEL] != NULL && get_enum(p, v[GK_LEVEL],
		    "log.level", level_names, nitems(level_names), &x) == 0)
			conf->log_level = x;
		if (v[GK_ACCESS] != NULL &&
		    get_bool(p, v[GK_ACCESS], "log.access", &x) == 0)
			conf->log_access = x;
	}
	node_leave(p, seen);
}

static int
server_same(struct server *a, struct server *b)
{
	if (a->sslen != 0 && b->sslen != 0)
		return sockaddr_equal(&a->ss, &b->ss);
	if (a->sslen == 0 && b->sslen == 0)
		return strcasecmp(a->address, b->address) == 0;
	return 0;
}

static void
server_address(struct parser *p, yaml_node_t *n, const char *path,
    struct server *s, struct pobj *sv, size_t ns)
{
	const char	*str;
	char		 err[128], q[PARSE_QUOTE_MAX];
	size_t		 i;
	int		 rc;

	if ((str = scalar_str(p, n, path, "an address",
	    "\"HOST:PORT\" or \"[IPv6]:PORT\"")) == NULL)
		return;
	rc = addr_parse(str, ADDR_NAMES | (p->resolve ? ADDR_RESOLVE : 0),
	    &s->ss, &s->sslen, err, sizeof(err));
	if (rc == -2) {
		perr(p, &n->start_mark, E_RESOLVE,
		    "check the name, or use an IP address",
		    "%s: host in %s does not resolve: %s", path,
		    quote(str, q, sizeof(q)), err);
		return;
	} else if (rc != 0) {
		perr(p, &n->start_mark, E_ADDRESS,
		    "\"HOST:PORT\" or \"[IPv6]:PORT\", port 1-65535",
		    "%s: bad address %s: %s", path, quote(str, q, sizeof(q)),
		    err);
		return;
	}
	strlcpy(s->address, str, sizeof(s->address));
	sv[ns].addr_ok = 1;
	sv[ns].line = n->start_mark.line + 1;
	for (i = 0; i < ns; i++) {
		if (sv[i].addr_ok && server_same(sv[i].obj, s)) {
			perr_always(p, &n->start_mark, E_DUP_SERVER,
			    "list each server once",
			    "%s: server %s is already listed at line %zu",
			    path, quote(str, q, sizeof(q)), sv[i].line);
			break;
		}
	}
}

static void
parse_server(struct parser *p, yaml_node_t *n, const char *path,
    struct backend *b, struct pobj *sv, size_t ns)
{
	struct server	*s;
	yaml_node_t	*v[SK_N];
	char		 kp[PARSE_PATH_MAX];
	long long	 w;
	int		 seen, x;

	seen = node_enter(p, n, ROLE_SERVER);
	if (map_collect(p, n, path, server_keys, SK_N, v) == -1)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	s->weight = 1;
	TAILQ_INSERT_TAIL(&b->servers, s, entry);
	b->nservers++;
	p->nservers++;
	sv[ns].obj = s;
	if (v[SK_ADDRESS] == NULL)
		missing(p, n, path, "address", "add address: \"HOST:PORT\"");
	else {
		key_path(kp, sizeof(kp), path, "address");
		server_address(p, v[SK_ADDRESS], kp, s, sv, ns);
	}
	key_path(kp, sizeof(kp), path, "weight");
	if (v[SK_WEIGHT] != NULL && get_int(p, v[SK_WEIGHT], kp, 1,
	    L4D_WEIGHT_MAX, E_WEIGHT, &w) == 0)
		s->weight = (int)w;
	key_path(kp, sizeof(kp), path, "backup");
	if (v[SK_BACKUP] != NULL && get_bool(p, v[SK_BACKUP], kp, &x) == 0)
		s->backup = x;
 out:
	node_leave(p, seen);
}

static void
parse_servers(struct parser *p, yaml_node_t *n, const char *path,
    struct backend *b)
{
	struct pobj	*sv;
	yaml_node_t	*item;
	yaml_node_item_t *it;
	char		 ip[PARSE_PATH_MAX];
	size_t		 count, ns = 0;
	int		 seen;

	seen = node_enter(p, n, ROLE_SERVERS);
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, path, "a sequence",
		    "list servers as - address: \"HOST:PORT\"");
		goto out;
	}
	count = n->data.sequence.items.top - n->data.sequence.items.start;
	if (count == 0) {
		perr(p, &n->start_mark, E_NO_SERVERS,
		    "add at least one server", "%s: empty server list", path);
		goto out;
	}
	if (count > L4D_MAX_SERVERS) {
		perr(p, &n->start_mark, E_RANGE, "split the backend",
		    "%s: more than %d servers", path, L4D_MAX_SERVERS);
		count = L4D_MAX_SERVERS;
	}
	if ((sv = calloc(count, sizeof(*sv))) == NULL)
		fatal("%s", __func__);
	for (it = n->data.sequence.items.start; ns < count; it++, ns++) {
		if (p->nservers >= PARSE_MAX_SERVERS) {
			if (!p->servers_capped)
				perr_always(p, &n->start_mark, E_RANGE,
				    "use fewer servers",
				    "%s: more than %d servers in all", path,
				    PARSE_MAX_SERVERS);
			p->servers_capped = 1;
			break;
		}
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", path, ns);
		parse_server(p, item, ip, b, sv, ns);
	}
	free(sv);
 out:
	node_leave(p, seen);
}

static void
backend_name(struct parser *p, yaml_node_t *n, const char *path,
    struct backend *b, struct pobj *me)
{
	char	 q[PARSE_QUOTE_MAX];
	size_t	 i;

	if (get_name(p, n, path, b->name, sizeof(b->name)) == -1)
		return;
	me->name_ok = 1;
	me->line = n->start_mark.line + 1;
	for (i = 0; i + 1 < p->nb; i++) {
		if (p->bv[i].name_ok &&
		    strcmp(((struct backend *)p->bv[i].obj)->name,
		    b->name) == 0) {
			perr_always(p, &n->start_mark, E_DUP_BACKEND,
			    "give each backend its own name",
			    "%s: duplicate backend name %s (first at line %zu)",
			    path, quote(b->name, q, sizeof(q)), p->bv[i].line);
			break;
		}
	}
}

static struct pobj *
pobj_add(struct pobj **v, size_t *n, void *obj)
{
	struct pobj	*nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		fatal("%s", __func__);
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].obj = obj;
	return &nv[(*n)++];
}

static void
parse_backend(struct parser *p, yaml_node_t *n, const char *path)
{
	struct backend	*b;
	struct pobj	*me;
	yaml_node_t	*v[BK_N];
	char		 kp[PARSE_PATH_MAX];
	long long	 r;
	int		 seen, x;

	seen = node_enter(p, n, ROLE_BACKEND);
	if (map_collect(p, n, path, backend_keys, BK_N, v) == -1)
		goto out;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("%s", __func__);
	TAILQ_INIT(&b->servers);
	b->balance = BALANCE_ROUNDROBIN;
	b->retries = 2;
	TAILQ_INSERT_TAIL(&p->conf->backends, b, entry);
	p->conf->nbackends++;
	me = pobj_add(&p->bv, &p->nb, b);
	key_path(kp, sizeof(kp), path, "name");
	if (v[BK_NAME] == NULL)
		missing(p, n, path, "name", "add name: NAME");
	else
		backend_name(p, v[BK_NAME], kp, b, me);
	key_path(kp, sizeof(kp), path, "balance");
	if (v[BK_BALANCE] != NULL && get_enum(p, v[BK_BALANCE], kp,
	    balance_names, nitems(balance_names), &x) == 0)
		b->balance = x;
	key_path(kp, sizeof(kp), path, "retries");
	if (v[BK_RETRIES] != NULL && get_int(p, v[BK_RETRIES], kp, 0,
	    L4D_RETRIES_MAX, E_RANGE, &r) == 0)
		b->retries = (int)r;
	key_path(kp, sizeof(kp), path, "servers");
	if (v[BK_SERVERS] == NULL)
		missing(p, n, path, "servers",
		    "add servers: - address: \"HOST:PORT\"");
	else
		parse_servers(p, v[BK_SERVERS], kp, b);
 out:
	node_leave(p, seen);
}

static void
listener_listen(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, struct pobj *me)
{
	struct listener	*o;
	const char	*str;
	char		 err[128], q[PARSE_QUOTE_MAX];
	size_t		 i;

	if ((str = scalar_str(p, n, path, "an address",
	    "\"IP:PORT\", \"[IPv6]:PORT\" or \"*:PORT\"")) == NULL)
		return;
	if (addr_parse(str, ADDR_WILDCARD, &l->ss, &l->sslen, err,
	    sizeof(err)) != 0) {
		perr(p, &n->start_mark, E_ADDRESS,
		    "\"IP:PORT\", \"[IPv6]:PORT\" or \"*:PORT\", port 1-65535",
		    "%s: bad address %s: %s", path, quote(str, q, sizeof(q)),
		    err);
		return;
	}
	strlcpy(l->listen, str, sizeof(l->listen));
	me->addr_ok = 1;
	for (i = 0; i + 1 < p->nl; i++) {
		o = p->lv[i].obj;
		if (p->lv[i].addr_ok && listen_conflict(&o->ss, &l->ss)) {
			perr_always(p, &n->start_mark, E_CONFLICT,
			    "use another port or address",
			    "%s: %s conflicts with listener \"%s\" (line %zu)",
			    path, quote(str, q, sizeof(q)), o->name,
			    p->lv[i].line);
			break;
		}
	}
}

static void
listener_name(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, struct pobj *me)
{
	char	 q[PARSE_QUOTE_MAX];
	size_t	 i;

	if (get_name(p, n, path, l->name, sizeof(l->name)) == -1)
		return;
	me->name_ok = 1;
	for (i = 0; i + 1 < p->nl; i++) {
		if (p->lv[i].name_ok &&
		    strcmp(((struct listener *)p->lv[i].obj)->name,
		    l->name) == 0) {
			perr_always(p, &n->start_mark, E_DUP_LISTENER,
			    "give each listener its own name",
			    "%s: duplicate listener name %s "
			    "(first at line %zu)", path,
			    quote(l->name, q, sizeof(q)), p->lv[i].line);
			break;
		}
	}
}

static void
listener_backend(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l)
{
	char	 q[PARSE_QUOTE_MAX];

	if (get_name(p, n, path, l->backend_name,
	    sizeof(l->backend_name)) == -1)
		return;
	if (!p->no_backends &&
	    config_find_backend(p->conf, l->backend_name) == NULL)
		perr(p, &n->start_mark, E_UNDEF_BACKEND,
		    "define it under backends, or fix the name",
		    "%s: undefined backend %s", path,
		    quote(l->backend_name, q, sizeof(q)));
}

static void
parse_listener(struct parser *p, yaml_node_t *n, const char *path)
{
	struct listener	*l;
	struct pobj	*me;
	yaml_node_t	*v[LK_N];
	char		 kp[PARSE_PATH_MAX];
	long long	 m;
	int		 seen;

	seen = node_enter(p, n, ROLE_LISTENER);
	if (map_collect(p, n, path, listener_keys, LK_N, v) == -1)
		goto out;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s", __func__);
	l->fd = -1;
	l->timeouts = p->conf->timeouts;
	TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
	p->conf->nlisteners++;
	me = pobj_add(&p->lv, &p->nl, l);
	me->line = n->start_mark.line + 1;
	key_path(kp, sizeof(kp), path, "name");
	if (v[LK_NAME] == NULL)
		missing(p, n, path, "name", "add name: NAME");
	else
		listener_name(p, v[LK_NAME], kp, l, me);
	key_path(kp, sizeof(kp), path, "listen");
	if (v[LK_LISTEN] == NULL)
		missing(p, n, path, "listen", "add listen: \"IP:PORT\"");
	else
		listener_listen(p, v[LK_LISTEN], kp, l, me);
	key_path(kp, sizeof(kp), path, "backend");
	if (v[LK_BACKEND] == NULL)
		missing(p, n, path, "backend", "add backend: NAME");
	else
		listener_backend(p, v[LK_BACKEND], kp, l);
	key_path(kp, sizeof(kp), path, "max_sessions");
	if (v[LK_MAX_SESSIONS] != NULL && get_int(p, v[LK_MAX_SESSIONS], kp,
	    0, 1000000, E_RANGE, &m) == 0)
		l->max_sessions = (uint32_t)m;
	key_path(kp, sizeof(kp), path, "timeouts");
	if (v[LK_TIMEOUTS] != NULL)
		parse_timeouts(p, v[LK_TIMEOUTS], kp, &l->timeouts);
 out:
	node_leave(p, seen);
}

/* Walks a sequence of objects: listeners or backends. */
static void
parse_list(struct parser *p, yaml_node_t *n, const char *key, size_t max,
    void (*fn)(struct parser *, yaml_node_t *, const char *))
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	char			 ip[PARSE_PATH_MAX], hint[64];
	size_t			 i = 0;

	snprintf(hint, sizeof(hint), "list them as - name: ...");
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, key, "a sequence", hint);
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++, i++) {
		if (i == max) {
			perr(p, &n->start_mark, E_RANGE, "use fewer of them",
			    "%s: more than %zu entries", key, max);
			break;
		}
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", key, i);
		fn(p, item, ip);
	}
}

static void
parse_relays(struct parser *p, yaml_node_t *n)
{
	long long	 r;

	if (n->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)n->data.scalar.value, "auto") == 0) {
		p->conf->relays = 0;
		return;
	}
	if (n->type == YAML_SCALAR_NODE && get_int(p, n, "relays", 1,
	    L4D_MAX_RELAYS, E_RANGE, &r) == 0)
		p->conf->relays = (int)r;
	else if (n->type != YAML_SCALAR_NODE)
		type_err(p, n, "relays", "an integer or \"auto\"",
		    "use auto or a number from 1 to 64");
}

/* Checks against the running system, for the parent and l4d -n. */
static void
check_system(struct parser *p, yaml_node_t *root, yaml_node_t **v,
    int user_ok, int chroot_ok)
{
	struct l4d_config	*conf = p->conf;
	struct stat		 st;
	yaml_node_t		*n;
	char			 q[PARSE_QUOTE_MAX];

	n = v[TK_USER] != NULL ? v[TK_USER] : root;
	if (user_ok && getpwnam(conf->user) == NULL)
		perr(p, &n->start_mark, E_USER,
		    "create the user, or set user: to an existing one",
		    "user: unknown user %s%s", quote(conf->user, q, sizeof(q)),
		    v[TK_USER] == NULL ? " (the default)" : "");
	n = v[TK_CHROOT] != NULL ? v[TK_CHROOT] : root;
	if (chroot_ok &&
	    (stat(conf->chroot, &st) == -1 || !S_ISDIR(st.st_mode)))
		perr(p, &n->start_mark, E_CHROOT,
		    "create the directory, or set chroot: to an existing one",
		    "chroot: %s is not a directory%s",
		    quote(conf->chroot, q, sizeof(q)),
		    v[TK_CHROOT] == NULL ? " (the default)" : "");
}

static void
parse_top(struct parser *p, yaml_node_t *root)
{
	struct l4d_config	*conf = p->conf;
	struct sockaddr_un	 sun;
	yaml_node_t		*v[TK_N];
	char			 q[PARSE_QUOTE_MAX];
	int			 x, user_ok = 1, chroot_ok = 1;

	if (root->type != YAML_MAPPING_NODE) {
		perr(p, &root->start_mark, E_EMPTY,
		    "the file is a mapping with listeners: and backends:",
		    "top level must be a mapping, found %s",
		    node_desc(root, q, sizeof(q)));
		return;
	}
	map_collect(p, root, "", top_keys, TK_N, v);
	if (v[TK_USER] != NULL && get_name(p, v[TK_USER], "user",
	    conf->user, sizeof(conf->user)) == -1)
		user_ok = 0;
	if (v[TK_CHROOT] != NULL && get_path(p, v[TK_CHROOT], "chroot",
	    conf->chroot, sizeof(conf->chroot)) == -1)
		chroot_ok = 0;
	if (v[TK_RELAYS] != NULL)
		parse_relays(p, v[TK_RELAYS]);
	if (v[TK_ZERO_COPY] != NULL &&
	    get_bool(p, v[TK_ZERO_COPY], "zero_copy", &x) == 0)
		conf->relay_mode = x ? RELAY_MODE_AUTO : RELAY_MODE_COPY;
	if (v[TK_CONTROL] != NULL)
		get_path(p, v[TK_CONTROL], "control", conf->control,
		    sizeof(sun.sun_path));
	if (v[TK_LOG] != NULL)
		parse_log(p, v[TK_LOG]);
	if (v[TK_TIMEOUTS] != NULL)
		parse_timeouts(p, v[TK_TIMEOUTS], "timeouts", &conf->timeouts);
	/* Backends first, so that listeners can check their references. */
	p->no_backends = v[TK_BACKENDS] == NULL ||
	    v[TK_BACKENDS]->type != YAML_SEQUENCE_NODE;
	if (v[TK_BACKENDS] == NULL)
		missing(p, root, "", "backends", "add a backends: sequence");
	else
		parse_list(p, v[TK_BACKENDS], "backends", PARSE_MAX_BACKENDS,
		    parse_backend);
	if (v[TK_LISTENERS] == NULL)
		missing(p, root, "", "listeners", "add a listeners: sequence");
	else {
		parse_list(p, v[TK_LISTENERS], "listeners",
		    PARSE_MAX_LISTENERS, parse_listener);
		if (v[TK_LISTENERS]->type == YAML_SEQUENCE_NODE &&
		    conf->nlisteners == 0)
			perr(p, &v[TK_LISTENERS]->start_mark, E_MISSING,
			    "add - name: ... listen: ... backend: ...",
			    "listeners: at least one listener is required");
	}
	if (p->resolve)
		check_system(p, root, v, user_ok, chroot_ok);
}

/*
 * The YAML layer.
 */

/* Reader errors carry a byte offset instead of a line and column. */
static void
offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else
			m->column++;
	}
}

static void
syntax_error(struct parser *p, yaml_parser_t *yp, const char *buf,
    size_t len)
{
	yaml_mark_t	 m = yp->problem_mark;
	char		 ctx[128] = "";
	const char	*problem = yp->problem ? yp->problem : "unknown error";

	if (yp->error == YAML_READER_ERROR)
		offset_mark(buf, len, yp->problem_offset, &m);
	else if (yp->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (yp->context != NULL)
		snprintf(ctx, sizeof(ctx), " (%s at line %zu)", yp->context,
		    yp->context_mark.line + 1);
	perr(p, &m, E_SYNTAX, "check indentation, quoting and brackets here",
	    "YAML syntax error: %s%s", problem, ctx);
}

/* A second document would be silently ignored; say so instead. */
static void
check_one_document(struct parser *p, yaml_parser_t *yp, const char *buf,
    size_t len)
{
	yaml_document_t	 doc;
	yaml_node_t	*root;

	if (!yaml_parser_load(yp, &doc)) {
		syntax_error(p, yp, buf, len);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		perr(p, &doc.start_mark, E_SYNTAX,
		    "keep the whole configuration in one document",
		    "more than one YAML document");
	yaml_document_delete(&doc);
}

static void
parse_document(struct parser *p, const char *buf, size_t len)
{
	yaml_parser_t	 yp;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	yaml_mark_t	 start = { 0, 0, 0 };
	size_t		 nnodes;

	if (!yaml_parser_initialize(&yp))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&yp, &doc)) {
		syntax_error(p, &yp, buf, len);
		yaml_parser_delete(&yp);
		return;
	}
	p->doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL)
		perr(p, &start, E_EMPTY,
		    "the file is a mapping with listeners: and backends:",
		    "the configuration is empty");
	else {
		check_one_document(p, &yp, buf, len);
		nnodes = doc.nodes.top - doc.nodes.start;
		if ((p->seen = calloc(nnodes, 1)) == NULL)
			fatal("%s", __func__);
		parse_top(p, root);
	}
	p->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
}

struct l4d_config *
parse_config_buffer(const char *name, const char *buf, size_t len,
    int resolve, struct conf_errors *errs)
{
	struct parser		 p;
	struct l4d_config	*conf;

	if (name == NULL)
		name = "<buffer>";
	if (buf == NULL)
		buf = "";
	if ((conf = config_new_empty()) == NULL)
		fatal("%s", __func__);
	strlcpy(conf->path, name, sizeof(conf->path));
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.conf = conf;
	p.resolve = resolve;
	parse_document(&p, buf, len);
	if (p.nerr == 0 && config_link(conf) == -1)
		fatalx("%s: config_link failed after a clean parse", __func__);
	perr_flush(&p, errs);
	free(p.seen);
	free(p.errv);
	free(p.lv);
	free(p.bv);
	if (p.nerr > 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

static char *
read_file(const char *path, size_t *lenp, struct conf_errors *errs)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if (st.st_size > PARSE_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc(st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		if ((n = read(fd, buf + off, st.st_size - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		off += n;
	}
	close(fd);
	*lenp = off;
	return buf;
 fail:
	errs_add(errs, "%s:1:1: L4D-E%03d: cannot read the file: %s "
	    "(hint: check the path and its permissions)", path, E_READ,
	    strerror(errno));
	free(buf);
	if (fd != -1)
		close(fd);
	return NULL;
}

struct l4d_config *
parse_config(const char *path, struct conf_errors *errs)
{
	struct l4d_config	*conf;
	char			*buf;
	size_t			 len;

	if ((buf = read_file(path, &len, errs)) == NULL)
		return NULL;
	conf = parse_config_buffer(path, buf, len, 1, errs);
	free(buf);
	return conf;
}
