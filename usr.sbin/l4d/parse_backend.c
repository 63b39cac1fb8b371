/*
 * Backends in the schema: their names, balancing and retries, their
 * servers (each listed once) and their health checks: the type, the
 * times and counts, the bytes a send-expect check sends and expects.
 * A backend's tls: is parse_tls.c's.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

enum { BK_NAME, BK_BALANCE, BK_RETRIES, BK_SERVERS, BK_TLS, BK_CHECK,
    BK_PROXY_PROTOCOL, BK_N };
static const char *const backend_keys[BK_N] = { "name", "balance",
    "retries", "servers", "tls", "check", "proxy_protocol" };

enum { HK_TYPE, HK_INTERVAL, HK_TIMEOUT, HK_RISE, HK_FALL, HK_PORT,
    HK_OBSERVE, HK_SEND, HK_EXPECT, HK_PROXY, HK_N };
static const char *const check_keys[HK_N] = { "type", "interval",
    "timeout", "rise", "fall", "port", "observe", "send", "expect",
    "proxy_protocol" };

enum { HO_ERRORS, HO_N };
static const char *const observe_keys[HO_N] = { "errors" };

/* enum check_type from CHECK_TCP */
static const char *const check_type_names[] = { "tcp", "tls",
    "send-expect" };

enum { SK_ADDRESS, SK_WEIGHT, SK_BACKUP, SK_N };
static const char *const server_keys[SK_N] = { "address", "weight",
    "backup" };

static const char *const balance_names[] = { "roundrobin", "leastconn",
    "source-hash", "random" };
/* a backend's proxy_protocol: version 1 + index */
static const char *const proxy_version_names[] = { "v1", "v2" };

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
	s->up = 1;	/* parse_check() says otherwise */
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
	char	 q[PARSE_QUOTE_MAX], w[PATH_MAX + 24];
	size_t	 i;

	if (get_name(p, n, path, b->name, sizeof(b->name)) == -1)
		return;
	me->name_ok = 1;
	me->line = n->start_mark.line + 1;
	me->file = p->name;
	for (i = 0; i + 1 < p->nb; i++) {
		if (p->bv[i].name_ok &&
		    strcmp(((struct backend *)p->bv[i].obj)->name,
		    b->name) == 0) {
			perr_always(p, &n->start_mark, E_DUP_BACKEND,
			    "give each backend its own name",
			    "%s: duplicate backend name %s (first at %s)",
			    path, quote(b->name, q, sizeof(q)),
			    pobj_where(p, &p->bv[i], w, sizeof(w)));
			break;
		}
	}
}

/*
 * check: of a backend.  Escapes in send: and a prefix expect: are
 * l4d's own (\r \n \t \\ \xHH), so that a NUL byte can be written.
 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
check_escape_decode(const char *s, size_t len, uint8_t *out, size_t cap,
    uint32_t *outlen, char *why, size_t whylen)
{
	size_t	 i, n = 0;
	int	 c, h, l;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\\') {
			if (++i == len) {
				strlcpy(why, "a backslash at the end", whylen);
				return -1;
			}
			switch (s[i]) {
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
				c = '\\';
				break;
			case 'x':
				if (i + 2 >= len) {
					strlcpy(why, "\\x needs two hex digits",
					    whylen);
					return -1;
				}
				if ((h = hexval(s[i + 1])) == -1 ||
				    (l = hexval(s[i + 2])) == -1) {
					strlcpy(why, "\\x needs two hex digits",
					    whylen);
					return -1;
				}
				c = h * 16 + l;
				i += 2;
				break;
			default:
				snprintf(why, whylen, "unknown escape \\%c "
				    "(\\r \\n \\t \\\\ \\xHH)", s[i]);
				return -1;
			}
		}
		if (n >= cap) {
			snprintf(why, whylen, "longer than %zu bytes", cap);
			return -1;
		}
		out[n++] = (uint8_t)c;
	}
	*outlen = n;
	return 0;
}

static void
check_send(struct parser *p, yaml_node_t *n, const char *path,
    struct backend_check *c)
{
	char	 why[128];

	if (n->type != YAML_SCALAR_NODE) {
		type_err(p, n, path, "a string", "the bytes to send, such as "
		    "'PING\\r\\n'");
		return;
	}
	if (check_escape_decode((const char *)n->data.scalar.value,
	    n->data.scalar.length, c->send, sizeof(c->send), &c->send_len,
	    why, sizeof(why)) == -1)
		perr(p, &n->start_mark, E_CHECK_ESCAPE,
		    "write bytes as \\r \\n \\t \\\\ or \\xHH, at most 256",
		    "%s: %s", path, why);
	else if (c->send_len == 0)
		perr(p, &n->start_mark, E_CHECK_SEND, "give send: bytes, "
		    "such as 'PING\\r\\n'", "%s: empty", path);
}

static void
check_expect(struct parser *p, yaml_node_t *n, const char *path,
    struct backend_check *c)
{
	const char	*s;
	char		 why[128], err[128];
	regex_t		 re;
	uint8_t		 buf[CHECK_EXPECT_MAX];
	int		 rc;

	if ((s = scalar_str(p, n, path, "a string", "a prefix of the "
	    "reply, such as +PONG, or ~ and a regular expression")) == NULL)
		return;
	if (s[0] == '~') {
		if (strlcpy(c->expect, s + 1, sizeof(c->expect)) >=
		    sizeof(c->expect)) {
			perr(p, &n->start_mark, E_CHECK_ESCAPE, "shorten it",
			    "%s: longer than %d bytes", path,
			    CHECK_EXPECT_MAX);
			return;
		}
		c->expect_regex = 1;
		c->expect_len = strlen(c->expect);
		if ((rc = regcomp(&re, c->expect, REG_EXTENDED |
		    REG_NOSUB)) != 0) {
			regerror(rc, &re, err, sizeof(err));
			perr(p, &n->start_mark, E_CHECK_REGEX,
			    "a POSIX extended regular expression after ~",
			    "%s: bad regular expression: %s", path, err);
			return;
		}
		regfree(&re);
		return;
	}
	if (check_escape_decode(s, strlen(s), buf, sizeof(buf),
	    &c->expect_len, why, sizeof(why)) == -1) {
		perr(p, &n->start_mark, E_CHECK_ESCAPE,
		    "write bytes as \\r \\n \\t \\\\ or \\xHH, at most 256",
		    "%s: %s", path, why);
		return;
	}
	if (c->expect_len == 0) {
		perr(p, &n->start_mark, E_CHECK_SEND, "give expect: bytes, "
		    "such as +PONG", "%s: empty", path);
		return;
	}
	memcpy(c->expect, buf, c->expect_len);
	c->expect[c->expect_len] = '\0';
}

static void
check_count(struct parser *p, yaml_node_t *n, const char *path, int lo,
    int *out)
{
	long long	 v;

	if (get_int(p, n, path, lo, CHECK_COUNT_MAX, E_CHECK_COUNT, &v) == 0)
		*out = (int)v;
}

static void
check_observe(struct parser *p, yaml_node_t *n, const char *path,
    struct backend_check *c, int *given)
{
	yaml_node_t	*v[HO_N];
	char		 kp[PARSE_PATH_MAX];

	if (map_collect(p, n, path, observe_keys, HO_N, v) == -1)
		return;
	key_path(kp, sizeof(kp), path, "errors");
	if (v[HO_ERRORS] != NULL) {
		check_count(p, v[HO_ERRORS], kp, 0, &c->observe);
		*given = 1;
	}
}

/* What goes with what: send-expect needs both, the others neither. */
static void
check_combos(struct parser *p, yaml_node_t *n, yaml_node_t **v,
    const char *path, struct backend_check *c)
{
	if (c->type == CHECK_SEND_EXPECT) {
		if (v[HK_SEND] == NULL)
			perr(p, &n->start_mark, E_CHECK_SEND,
			    "add send: with the bytes to send, such as "
			    "'PING\\r\\n'", "%s: type send-expect without send",
			    path);
		if (v[HK_EXPECT] == NULL)
			perr(p, &n->start_mark, E_CHECK_SEND,
			    "add expect: with what the reply starts with, "
			    "such as +PONG", "%s: type send-expect without "
			    "expect", path);
		return;
	}
	if (v[HK_SEND] != NULL)
		perr(p, &v[HK_SEND]->start_mark, E_CHECK_COMBO,
		    "use type: send-expect, or remove send:",
		    "%s: send with type %s", path,
		    check_type_names[c->type - CHECK_TCP]);
	if (v[HK_EXPECT] != NULL)
		perr(p, &v[HK_EXPECT]->start_mark, E_CHECK_COMBO,
		    "use type: send-expect, or remove expect:",
		    "%s: expect with type %s", path,
		    check_type_names[c->type - CHECK_TCP]);
}

static void
check_times(struct parser *p, yaml_node_t *n, yaml_node_t **v,
    const char *path, struct backend_check *c)
{
	char	 kp[PARSE_PATH_MAX];

	key_path(kp, sizeof(kp), path, "interval");
	if (v[HK_INTERVAL] != NULL)
		get_duration(p, v[HK_INTERVAL], kp, 0, &c->interval);
	if (c->interval < CHECK_INTERVAL_MIN) {
		perr(p, &v[HK_INTERVAL]->start_mark, E_CHECK_INTERVAL,
		    "check at most every 100ms", "%s: %lldms is under 100ms",
		    kp, c->interval);
		return;
	}
	key_path(kp, sizeof(kp), path, "timeout");
	if (v[HK_TIMEOUT] != NULL)
		get_duration(p, v[HK_TIMEOUT], kp, 0, &c->timeout);
	else if (c->timeout > c->interval)
		c->timeout = c->interval;
	if (c->timeout > c->interval)
		perr(p, &v[HK_TIMEOUT]->start_mark, E_CHECK_TIMEOUT,
		    "make the timeout at most the interval",
		    "%s: %lldms is longer than the interval (%lldms)", kp,
		    c->timeout, c->interval);
}

static void
parse_check(struct parser *p, yaml_node_t *n, const char *path,
    struct backend *b)
{
	struct backend_check	*c = &b->check;
	struct server		*s;
	yaml_node_t		*v[HK_N];
	char			 kp[PARSE_PATH_MAX];
	long long		 port;
	int			 seen, x, on, observed = 0;

	seen = node_enter(p, n, ROLE_CHECK);
	if (map_collect(p, n, path, check_keys, HK_N, v) == -1)
		goto out;
	c->type = CHECK_TCP;
	c->interval = 5000;
	c->timeout = 2000;
	c->rise = 2;
	c->fall = 3;
	key_path(kp, sizeof(kp), path, "type");
	if (v[HK_TYPE] != NULL && get_enum(p, v[HK_TYPE], kp,
	    check_type_names, nitems(check_type_names), &x) == 0)
		c->type = CHECK_TCP + x;
	check_times(p, n, v, path, c);
	key_path(kp, sizeof(kp), path, "rise");
	if (v[HK_RISE] != NULL)
		check_count(p, v[HK_RISE], kp, 1, &c->rise);
	key_path(kp, sizeof(kp), path, "fall");
	if (v[HK_FALL] != NULL)
		check_count(p, v[HK_FALL], kp, 1, &c->fall);
	key_path(kp, sizeof(kp), path, "port");
	if (v[HK_PORT] != NULL && get_int(p, v[HK_PORT], kp, 1, 65535,
	    E_RANGE, &port) == 0)
		c->port = (int)port;
	key_path(kp, sizeof(kp), path, "observe");
	if (v[HK_OBSERVE] != NULL)
		check_observe(p, v[HK_OBSERVE], kp, c, &observed);
	if (!observed)
		c->observe = c->fall;
	key_path(kp, sizeof(kp), path, "send");
	if (v[HK_SEND] != NULL)
		check_send(p, v[HK_SEND], kp, c);
	key_path(kp, sizeof(kp), path, "expect");
	if (v[HK_EXPECT] != NULL)
		check_expect(p, v[HK_EXPECT], kp, c);
	key_path(kp, sizeof(kp), path, "proxy_protocol");
	if (v[HK_PROXY] != NULL && get_bool(p, v[HK_PROXY], kp, &on) == 0)
		c->no_proxy = !on;
	check_combos(p, n, v, path, c);
	/* a server with a check is up after its first successful one */
	TAILQ_FOREACH(s, &b->servers, entry)
		s->up = 0;
 out:
	node_leave(p, seen);
}

void
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
	key_path(kp, sizeof(kp), path, "tls");
	if (v[BK_TLS] != NULL)
		parse_backend_tls(p, v[BK_TLS], kp, b);
	key_path(kp, sizeof(kp), path, "check");
	if (v[BK_CHECK] != NULL)
		parse_check(p, v[BK_CHECK], kp, b);
	key_path(kp, sizeof(kp), path, "proxy_protocol");
	if (v[BK_PROXY_PROTOCOL] != NULL && get_enum(p, v[BK_PROXY_PROTOCOL],
	    kp, proxy_version_names, nitems(proxy_version_names), &x) == 0)
		b->proxy_send = 1 + x;
 out:
	node_leave(p, seen);
}
