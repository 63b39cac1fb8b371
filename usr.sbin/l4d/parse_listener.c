/*
 * Listeners in the schema: a name and an address (dual_stack: too),
 * where sessions go (backend, routes, no_sni, starttls) and who may
 * come (allow, deny, rate_limit, proxy_protocol).  A route matches by
 * SNI (a name, a wildcard or a regular expression, whose repeat counts
 * are bounded here) and by ALPN.  A listener's tls: is parse_tls.c's.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

enum { LK_NAME, LK_LISTEN, LK_BACKEND, LK_MAX_SESSIONS, LK_TIMEOUTS,
    LK_TLS, LK_ROUTES, LK_NO_SNI, LK_STARTTLS, LK_ALLOW, LK_DENY,
    LK_RATE_LIMIT, LK_PROXY_PROTOCOL, LK_DUAL_STACK, LK_N };
static const char *const listener_keys[LK_N] = { "name", "listen",
    "backend", "max_sessions", "timeouts", "tls", "routes", "no_sni",
    "starttls", "allow", "deny", "rate_limit", "proxy_protocol",
    "dual_stack" };

enum { RL_PER_SOURCE, RL_INTERVAL, RL_BURST, RL_TABLE_SIZE, RL_IPV6_PREFIX,
    RL_N };
static const char *const rate_limit_keys[RL_N] = { "per_source",
    "interval", "burst", "table_size", "ipv6_prefix" };

enum { PP_TRUSTED, PP_N };
static const char *const proxy_keys[PP_N] = { "trusted" };

enum { RK_SNI, RK_ALPN, RK_TLS, RK_BACKEND, RK_PRIORITY, RK_N };
static const char *const route_keys[RK_N] = { "sni", "alpn", "tls",
    "backend", "priority" };

static const char *const route_tls_names[] = { "passthrough", "terminate" };
/* enum starttls from STARTTLS_NONE + 1 */
static const char *const starttls_names[] = { "postgres" };

/* An IPv4 listener on the port of an earlier dual_stack one. */
static int
dual_stack_conflict(const struct listener *o, const struct listener *l)
{
	const struct sockaddr_in6	*o6 = (const void *)&o->ss;
	const struct sockaddr_in	*l4 = (const void *)&l->ss;

	return o->dual_stack && l->ss.ss_family == AF_INET &&
	    o6->sin6_port == l4->sin_port;
}

static void
listener_listen(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, struct pobj *me)
{
	struct listener	*o;
	const char	*str;
	char		 err[128], q[PARSE_QUOTE_MAX], w[PATH_MAX + 24];
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
		if (p->lv[i].addr_ok && (listen_conflict(&o->ss, &l->ss) ||
		    dual_stack_conflict(o, l))) {
			perr_always(p, &n->start_mark, E_CONFLICT,
			    "use another port or address",
			    "%s: %s conflicts with listener \"%s\" (%s)",
			    path, quote(str, q, sizeof(q)), o->name,
			    pobj_where(p, &p->lv[i], w, sizeof(w)));
			break;
		}
	}
}

static void
listener_name(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, struct pobj *me)
{
	char	 q[PARSE_QUOTE_MAX], w[PATH_MAX + 24];
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
			    "(first at %s)", path,
			    quote(l->name, q, sizeof(q)),
			    pobj_where(p, &p->lv[i], w, sizeof(w)));
			break;
		}
	}
}

/* A reference to a backend: backend, no_sni, a route's backend. */
static void
backend_ref(struct parser *p, yaml_node_t *n, const char *path, char *name,
    size_t len)
{
	char	 q[PARSE_QUOTE_MAX];

	if (get_name(p, n, path, name, len) == -1)
		return;
	if (!p->no_backends && config_find_backend(p->conf, name) == NULL)
		perr(p, &n->start_mark, E_UNDEF_BACKEND,
		    "define it under backends, or fix the name",
		    "%s: undefined backend %s", path,
		    quote(name, q, sizeof(q)));
}

/*
 * Routes.
 */

#define SNI_HINT	"a server name such as db.example.com, " \
			"\"*.example.com\" or \"~REGEX\""

/* An exact name or a wildcard's domain: lower case, no final dot. */
static int
sni_name(struct parser *p, yaml_node_t *n, const char *path,
    const char *name, struct route *r)
{
	char	 q[PARSE_QUOTE_MAX];

	if (dns_name(name, r->sni, sizeof(r->sni)) == 0)
		return 0;
	perr(p, &n->start_mark, E_NAME, SNI_HINT, "%s: bad server name %s",
	    path, quote((const char *)n->data.scalar.value, q, sizeof(q)));
	return -1;
}

/*
 * glibc's regcomp() copies a group once for each count of a bounded
 * repeat, so nested counts multiply: "((a{255}){255}){255}" would take
 * minutes.  The product of the counts along any nesting must stay at
 * most REPEAT_MAX, which is plenty for names of at most 253 bytes.
 * An estimate: regcomp() still judges the syntax.
 */
#define REPEAT_MAX	1024

/* Digits at *sp, as a number that stops growing past REPEAT_MAX. */
static unsigned long
digits(const char **sp)
{
	unsigned long	 n = 0;

	for (; **sp >= '0' && **sp <= '9'; (*sp)++)
		if (n <= REPEAT_MAX)
			n = n * 10 + (**sp - '0');
	return n;
}

/* The copies "{m}", "{m,n}" or "{m,}" at *sp make; *sp to its '}'. */
static unsigned long
repeat_count(const char **sp)
{
	const char	*s = *sp + 1;
	unsigned long	 m, n;

	n = m = digits(&s);
	if (*s == ',') {
		s++;
		n = (*s >= '0' && *s <= '9') ? digits(&s) : m + 1;
	}
	if (*s != '}')
		return 1;	/* not a bound: regcomp() judges it */
	*sp = s;
	return n > 0 ? n : 1;
}

/* The ']' that ends the bracket expression at s, or its last byte. */
static const char *
bracket_end(const char *s)
{
	const char	*e;
	char		 end[3];

	s++;
	if (*s == '^')
		s++;
	if (*s == ']')
		s++;
	for (; *s != '\0' && *s != ']'; s++) {
		if (*s != '[' || (s[1] != ':' && s[1] != '.' && s[1] != '='))
			continue;
		end[0] = s[1];
		end[1] = ']';
		end[2] = '\0';
		if ((e = strstr(s + 2, end)) != NULL)
			s = e + 1;
	}
	return *s == '\0' ? s - 1 : s;
}

static int
regex_repeats_ok(const char *pat)
{
	unsigned long	 inner[L4D_PATTERN_MAX + 1], last = 1;
	size_t		 depth = 0;
	const char	*s;

	inner[0] = 1;
	for (s = pat; *s != '\0'; s++) {
		if (*s == '(') {
			inner[++depth] = 1;
			last = 1;
			continue;
		}
		if (*s == ')' && depth > 0)
			last = inner[depth--];
		else if (*s == '{')
			last *= repeat_count(&s);
		else {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '[')
				s = bracket_end(s);
			last = 1;
		}
		if (last > REPEAT_MAX)
			return 0;
		if (last > inner[depth])
			inner[depth] = last;
	}
	return 1;
}

/* ~ERE: kept as written, checked here, compiled by config_link(). */
static int
sni_regex(struct parser *p, yaml_node_t *n, const char *path,
    const char *pat, struct route *r)
{
	regex_t		 re;
	char		 why[128], q[PARSE_QUOTE_MAX];
	int		 rc;

	if (*pat == '\0')
		strlcpy(why, "empty pattern", sizeof(why));
	else if (strlen(pat) >= sizeof(r->sni))
		snprintf(why, sizeof(why), "longer than %zu bytes",
		    sizeof(r->sni) - 1);
	else if (p->quiet)	/* checked on the first visit */
		why[0] = '\0';
	else if (!regex_repeats_ok(pat))
		snprintf(why, sizeof(why), "repeat counts multiply past %d",
		    REPEAT_MAX);
	else if ((rc = regcomp(&re, pat,
	    REG_EXTENDED | REG_ICASE | REG_NOSUB)) != 0)
		regerror(rc, &re, why, sizeof(why));
	else {
		regfree(&re);
		why[0] = '\0';
	}
	if (why[0] != '\0') {
		perr(p, &n->start_mark, E_REGEX,
		    "write a POSIX extended regular expression after the ~",
		    "%s: bad regex %s: %s", path,
		    quote((const char *)n->data.scalar.value, q, sizeof(q)),
		    why);
		return -1;
	}
	strlcpy(r->sni, pat, sizeof(r->sni));
	return 0;
}

static int
route_sni(struct parser *p, yaml_node_t *n, const char *path,
    struct route *r)
{
	const char	*s;

	if ((s = scalar_str(p, n, path, "a server name", SNI_HINT)) == NULL)
		return -1;
	if (s[0] == '~') {
		r->match = MATCH_REGEX;
		return sni_regex(p, n, path, s + 1, r);
	}
	if (strncmp(s, "*.", 2) == 0) {
		r->match = MATCH_WILDCARD;
		return sni_name(p, n, path, s + 2, r);
	}
	r->match = MATCH_EXACT;
	return sni_name(p, n, path, s, r);
}

/* A protocol as the client offers it: no spaces, no commas. */
static int
route_alpn(struct parser *p, yaml_node_t *n, const char *path,
    struct route *r)
{
	const char	*s, *c;
	const char	*hint = "a protocol such as h2 or postgresql: "
			    "1 to 63 printable characters, no spaces or commas";
	char		 q[PARSE_QUOTE_MAX];

	if ((s = scalar_str(p, n, path, "a protocol name", hint)) == NULL)
		return -1;
	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c > '~' ||
		    *c == ',')
			break;
	if (*s == '\0' || *c != '\0' || strlen(s) >= sizeof(r->alpn)) {
		perr(p, &n->start_mark, E_NAME, hint,
		    "%s: bad ALPN protocol %s", path, quote(s, q, sizeof(q)));
		return -1;
	}
	strlcpy(r->alpn, s, sizeof(r->alpn));
	return 0;
}

/*
 * Terminating needs the listener's certificates.  Whether it has them
 * depends on the listener, not on the route: a route reached through
 * an alias from another listener is judged again.
 */
static void
route_tls(struct parser *p, yaml_node_t *n, const char *path,
    struct route *r, int listener_tls)
{
	int	 x;

	if (get_enum(p, n, path, route_tls_names, nitems(route_tls_names),
	    &x) == -1)
		return;
	if (x == ROUTE_TLS_TERMINATE && !listener_tls) {
		perr_always(p, &n->start_mark, E_TERMINATE,
		    "add tls: with certificates: to the listener, or use "
		    "tls: passthrough",
		    "%s: tls: terminate on a listener without tls:", path);
		return;
	}
	r->tls = x;
}

static int
route_same(const struct route *a, const struct route *b)
{
	return a->match == b->match && strcmp(a->sni, b->sni) == 0 &&
	    strcmp(a->alpn, b->alpn) == 0;
}

/* rv[nr] against the routes before it in the same listener. */
static void
route_dup(struct parser *p, yaml_node_t *n, const char *path,
    struct pobj *rv, size_t nr)
{
	size_t	 i;

	if (!rv[nr].match_ok)
		return;
	for (i = 0; i < nr; i++) {
		if (rv[i].match_ok && route_same(rv[i].obj, rv[nr].obj)) {
			perr(p, &n->start_mark, E_DUP_ROUTE,
			    "remove one, or tell them apart by sni or alpn",
			    "%s: same sni and alpn as the route at line %zu",
			    path, rv[i].line);
			break;
		}
	}
}

/* What a route matches: sni, alpn, or both. */
static void
route_match(struct parser *p, yaml_node_t *n, const char *path,
    yaml_node_t **v, struct route *r, struct pobj *me)
{
	char	 kp[PARSE_PATH_MAX];
	int	 ok = 1;

	if (v[RK_SNI] == NULL && v[RK_ALPN] == NULL) {
		perr(p, &n->start_mark, E_ROUTE_MATCH,
		    "add sni: NAME or alpn: PROTOCOL; the listener's backend "
		    "takes the sessions no route matches",
		    "%s: a route needs sni or alpn", path);
		return;
	}
	key_path(kp, sizeof(kp), path, "sni");
	if (v[RK_SNI] != NULL && route_sni(p, v[RK_SNI], kp, r) == -1)
		ok = 0;
	key_path(kp, sizeof(kp), path, "alpn");
	if (v[RK_ALPN] != NULL && route_alpn(p, v[RK_ALPN], kp, r) == -1)
		ok = 0;
	me->match_ok = ok;
}

/* Without tls:, a route terminates where its listener has tls:. */
static void
parse_route(struct parser *p, yaml_node_t *n, const char *path,
    struct pobj *rv, size_t nr, int listener_tls)
{
	struct route	*r;
	yaml_node_t	*v[RK_N];
	char		 kp[PARSE_PATH_MAX];
	long long	 prio;
	int		 seen;

	seen = node_enter(p, n, ROLE_ROUTE);
	if (map_collect(p, n, path, route_keys, RK_N, v) == -1)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	p->nroutes++;
	r->match = MATCH_ANY;
	r->tls = listener_tls ? ROUTE_TLS_TERMINATE : ROUTE_TLS_PASSTHROUGH;
	r->line = n->start_mark.line + 1;
	rv[nr].obj = r;
	rv[nr].line = r->line;
	route_match(p, n, path, v, r, &rv[nr]);
	key_path(kp, sizeof(kp), path, "tls");
	if (v[RK_TLS] != NULL)
		route_tls(p, v[RK_TLS], kp, r, listener_tls);
	key_path(kp, sizeof(kp), path, "backend");
	if (v[RK_BACKEND] == NULL)
		missing(p, n, path, "backend", "add backend: NAME");
	else
		backend_ref(p, v[RK_BACKEND], kp, r->backend_name,
		    sizeof(r->backend_name));
	key_path(kp, sizeof(kp), path, "priority");
	if (v[RK_PRIORITY] != NULL && get_int(p, v[RK_PRIORITY], kp,
	    -L4D_PRIORITY_MAX, L4D_PRIORITY_MAX, E_RANGE, &prio) == 0)
		r->priority = (int)prio;
	route_dup(p, n, path, rv, nr);
 out:
	node_leave(p, seen);
}

/* Match order: higher priority first, file order among equals. */
static void
routes_sort(struct listener *l, struct pobj *rv, size_t nr)
{
	struct route	*r, *o;
	size_t		 i;

	for (i = 0; i < nr; i++) {
		if ((r = rv[i].obj) == NULL)
			continue;
		TAILQ_FOREACH(o, &l->routes, entry)
			if (o->priority < r->priority)
				break;
		if (o == NULL)
			TAILQ_INSERT_TAIL(&l->routes, r, entry);
		else
			TAILQ_INSERT_BEFORE(o, r, entry);
		l->nroutes++;
	}
}

/* Whether a listener has routes, or says something else is wrong. */
static int
routes_given(yaml_node_t *n)
{
	return n != NULL && (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top > n->data.sequence.items.start);
}

static void
parse_routes(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, int listener_tls)
{
	struct pobj	*rv;
	yaml_node_item_t *it;
	yaml_node_t	*item;
	char		 ip[PARSE_PATH_MAX];
	size_t		 count, nr = 0;
	int		 seen;

	seen = node_enter(p, n, ROLE_ROUTES);
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, path, "a sequence",
		    "list routes as - { sni: NAME, backend: NAME }");
		goto out;
	}
	count = n->data.sequence.items.top - n->data.sequence.items.start;
	if (count > L4D_MAX_ROUTES) {
		perr(p, &n->start_mark, E_RANGE,
		    "use fewer routes; one regex can match many names",
		    "%s: more than %d routes", path, L4D_MAX_ROUTES);
		count = L4D_MAX_ROUTES;
	}
	if (count == 0)
		goto out;
	if ((rv = calloc(count, sizeof(*rv))) == NULL)
		fatal("%s", __func__);
	for (it = n->data.sequence.items.start; nr < count; it++, nr++) {
		if (p->nroutes >= PARSE_MAX_ROUTES) {
			if (!p->routes_capped)
				perr_always(p, &n->start_mark, E_RANGE,
				    "use fewer routes",
				    "%s: more than %d routes in all", path,
				    PARSE_MAX_ROUTES);
			p->routes_capped = 1;
			break;
		}
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", path, nr);
		parse_route(p, item, ip, rv, nr, listener_tls);
	}
	routes_sort(l, rv, nr);
	free(rv);
 out:
	node_leave(p, seen);
}

/* no_sni: a backend, or none; only where a first byte is read. */
static void
listener_no_sni(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, int peeks)
{
	if (!peeks) {
		perr(p, &n->start_mark, E_NO_SNI,
		    "add routes:, starttls: or tls:, or remove no_sni:; "
		    "without them every session goes to backend:",
		    "%s: no_sni needs routes", path);
		return;
	}
	if (n->type == YAML_SCALAR_NODE &&
	    strcmp((const char *)n->data.scalar.value, "none") == 0) {
		l->no_sni_none = 1;
		return;
	}
	backend_ref(p, n, path, l->no_sni_name, sizeof(l->no_sni_name));
}

/*
 * Where sessions go: backend, routes, no_sni, starttls; tls: makes them
 * terminate, and so read a first byte too.
 */
static void
listener_routing(struct parser *p, yaml_node_t *n, const char *path,
    yaml_node_t **v, struct listener *l)
{
	char	 kp[PARSE_PATH_MAX];
	int	 x, tls = v[LK_TLS] != NULL;

	key_path(kp, sizeof(kp), path, "routes");
	if (v[LK_ROUTES] != NULL)
		parse_routes(p, v[LK_ROUTES], kp, l, tls);
	key_path(kp, sizeof(kp), path, "backend");
	if (v[LK_BACKEND] != NULL)
		backend_ref(p, v[LK_BACKEND], kp, l->backend_name,
		    sizeof(l->backend_name));
	else if (!routes_given(v[LK_ROUTES]))
		missing(p, n, path, "backend", "add backend: NAME");
	key_path(kp, sizeof(kp), path, "no_sni");
	if (v[LK_NO_SNI] != NULL)
		listener_no_sni(p, v[LK_NO_SNI], kp, l, tls ||
		    routes_given(v[LK_ROUTES]) || v[LK_STARTTLS] != NULL);
	key_path(kp, sizeof(kp), path, "starttls");
	if (v[LK_STARTTLS] != NULL && get_enum(p, v[LK_STARTTLS], kp,
	    starttls_names, nitems(starttls_names), &x) == 0)
		l->starttls = STARTTLS_NONE + 1 + x;
}

/*
 * Access control: allow, deny (a listener's, or the global ones it
 * inherits), rate_limit, proxy_protocol.
 */

#define CIDR_HINT	"a network such as 10.0.0.0/8, \"2001:db8::/32\" " \
			"or an address"

/* A sequence of networks into *ap (1 to L4D_ACL_MAX of them). */
void
parse_acl(struct parser *p, yaml_node_t *n, const char *path,
    struct acl **ap)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	struct cidr		 c;
	const char		*str;
	char			 ip[PARSE_PATH_MAX], why[96];
	char			 q[PARSE_QUOTE_MAX];
	size_t			 i = 0, count;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, path, "a sequence of networks",
		    "list them as [10.0.0.0/8, \"2001:db8::/32\"]");
		return;
	}
	count = seq_count(p, n, path, L4D_ACL_MAX, "networks");
	for (it = n->data.sequence.items.start; i < count &&
	    it < n->data.sequence.items.top; it++, i++) {
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", path, i);
		if ((str = scalar_str(p, item, ip, "a network",
		    CIDR_HINT)) == NULL)
			continue;
		if (cidr_parse(str, &c, why, sizeof(why)) == -1) {
			perr(p, &item->start_mark, E_CIDR, CIDR_HINT,
			    "%s: bad network %s: %s", ip,
			    quote(str, q, sizeof(q)), why);
			continue;
		}
		if (acl_add(ap, &c) == -1)
			fatal("%s", __func__);
	}
}

static void
parse_rate_limit(struct parser *p, yaml_node_t *n, const char *path,
    struct rate_conf *rc)
{
	yaml_node_t	*v[RL_N];
	char		 kp[PARSE_PATH_MAX];
	long long	 x;
	int		 seen;

	seen = node_enter(p, n, ROLE_ACCESS);
	if (map_collect(p, n, path, rate_limit_keys, RL_N, v) == -1)
		goto out;
	rc->interval_ms = 1000;
	rc->table_size = DEFAULT_RATE_TABLE;
	rc->ipv6_prefix = DEFAULT_RATE_V6_PREFIX;
	key_path(kp, sizeof(kp), path, "per_source");
	if (v[RL_PER_SOURCE] == NULL)
		missing(p, n, path, "per_source",
		    "add per_source: N (new sessions per interval)");
	else if (get_int(p, v[RL_PER_SOURCE], kp, 1, 1000000, E_RANGE,
	    &x) == 0)
		rc->per_source = (uint32_t)x;
	rc->burst = rc->per_source;
	key_path(kp, sizeof(kp), path, "interval");
	if (v[RL_INTERVAL] != NULL) {
		get_duration(p, v[RL_INTERVAL], kp, 0, &rc->interval_ms);
		if (rc->interval_ms < 1 || rc->interval_ms > 3600 * 1000LL) {
			perr(p, &v[RL_INTERVAL]->start_mark, E_RANGE,
			    "use 1ms to 1h", "%s: out of range", kp);
			rc->interval_ms = 1000;
		}
	}
	key_path(kp, sizeof(kp), path, "burst");
	if (v[RL_BURST] != NULL && get_int(p, v[RL_BURST], kp, 1, 1000000,
	    E_RANGE, &x) == 0)
		rc->burst = (uint32_t)x;
	key_path(kp, sizeof(kp), path, "table_size");
	if (v[RL_TABLE_SIZE] != NULL && get_int(p, v[RL_TABLE_SIZE], kp, 16,
	    L4D_RATE_TABLE_MAX, E_RANGE, &x) == 0)
		rc->table_size = (uint32_t)x;
	key_path(kp, sizeof(kp), path, "ipv6_prefix");
	if (v[RL_IPV6_PREFIX] != NULL && get_int(p, v[RL_IPV6_PREFIX], kp, 1,
	    128, E_RANGE, &x) == 0)
		rc->ipv6_prefix = (uint32_t)x;
 out:
	node_leave(p, seen);
}

static void
parse_proxy_accept(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l)
{
	yaml_node_t	*v[PP_N];
	char		 kp[PARSE_PATH_MAX];
	int		 seen;

	seen = node_enter(p, n, ROLE_ACCESS);
	if (n->type != YAML_MAPPING_NODE) {
		perr(p, &n->start_mark, E_PROXY_TRUSTED,
		    "write proxy_protocol: { trusted: [NETWORK, ...] }",
		    "%s: a listener takes PROXY headers only from trusted "
		    "sources", path);
		goto out;
	}
	if (map_collect(p, n, path, proxy_keys, PP_N, v) == -1)
		goto out;
	l->proxy_accept = 1;
	key_path(kp, sizeof(kp), path, "trusted");
	if (v[PP_TRUSTED] == NULL)
		perr(p, &n->start_mark, E_PROXY_TRUSTED,
		    "add trusted: [NETWORK, ...], the front balancers",
		    "%s: missing required key \"trusted\"", path);
	else
		parse_acl(p, v[PP_TRUSTED], kp, &l->acl[ACL_TRUSTED]);
 out:
	node_leave(p, seen);
}

/*
 * dual_stack: a listener on [::]:PORT that takes IPv4 clients too, as
 * v4-mapped addresses (which access lists match as IPv4).  It holds the
 * port for both families, so an IPv4 listener on it conflicts.
 */
static void
listener_dual_stack(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l, struct pobj *me)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&l->ss;
	struct sockaddr_in	*o4;
	struct listener		*o;
	char			 w[PATH_MAX + 24];
	size_t			 i;
	int			 on;

	if (get_bool(p, n, path, &on) == -1 || !on || !me->addr_ok)
		return;
	if (l->ss.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
		perr(p, &n->start_mark, E_DUAL_STACK,
		    "listen on \"[::]:PORT\", or drop dual_stack",
		    "%s: only a listener on [::] can take both families",
		    path);
		return;
	}
	l->dual_stack = 1;
	for (i = 0; i + 1 < p->nl; i++) {
		o = p->lv[i].obj;
		o4 = (struct sockaddr_in *)&o->ss;
		if (p->lv[i].addr_ok && o->ss.ss_family == AF_INET &&
		    o4->sin_port == sin6->sin6_port)
			perr_always(p, &n->start_mark, E_CONFLICT,
			    "use another port, or drop dual_stack",
			    "%s: [::]:%u for both families conflicts with "
			    "listener \"%s\" (%s)", path, ntohs(sin6->sin6_port),
			    o->name, pobj_where(p, &p->lv[i], w, sizeof(w)));
	}
}

static void
listener_access(struct parser *p, const char *path, yaml_node_t **v,
    struct listener *l)
{
	char	 kp[PARSE_PATH_MAX];

	key_path(kp, sizeof(kp), path, "allow");
	if (v[LK_ALLOW] != NULL)
		parse_acl(p, v[LK_ALLOW], kp, &l->acl[ACL_ALLOW]);
	else if ((p->conf->acl[ACL_ALLOW] != NULL &&
	    (l->acl[ACL_ALLOW] = acl_dup(p->conf->acl[ACL_ALLOW])) == NULL))
		fatal("%s", __func__);
	key_path(kp, sizeof(kp), path, "deny");
	if (v[LK_DENY] != NULL)
		parse_acl(p, v[LK_DENY], kp, &l->acl[ACL_DENY]);
	else if ((p->conf->acl[ACL_DENY] != NULL &&
	    (l->acl[ACL_DENY] = acl_dup(p->conf->acl[ACL_DENY])) == NULL))
		fatal("%s", __func__);
	key_path(kp, sizeof(kp), path, "rate_limit");
	if (v[LK_RATE_LIMIT] != NULL)
		parse_rate_limit(p, v[LK_RATE_LIMIT], kp, &l->rate);
	key_path(kp, sizeof(kp), path, "proxy_protocol");
	if (v[LK_PROXY_PROTOCOL] != NULL)
		parse_proxy_accept(p, v[LK_PROXY_PROTOCOL], kp, l);
}

void
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
	TAILQ_INIT(&l->routes);
	TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
	p->conf->nlisteners++;
	me = pobj_add(&p->lv, &p->nl, l);
	me->line = n->start_mark.line + 1;
	me->file = p->name;
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
	key_path(kp, sizeof(kp), path, "tls");
	if (v[LK_TLS] != NULL)
		parse_listener_tls(p, v[LK_TLS], kp, l);
	listener_routing(p, n, path, v, l);
	key_path(kp, sizeof(kp), path, "max_sessions");
	if (v[LK_MAX_SESSIONS] != NULL && get_int(p, v[LK_MAX_SESSIONS], kp,
	    0, 1000000, E_RANGE, &m) == 0)
		l->max_sessions = (uint32_t)m;
	key_path(kp, sizeof(kp), path, "timeouts");
	if (v[LK_TIMEOUTS] != NULL)
		parse_timeouts(p, v[LK_TIMEOUTS], kp, &l->timeouts);
	listener_access(p, path, v, l);
	key_path(kp, sizeof(kp), path, "dual_stack");
	if (v[LK_DUAL_STACK] != NULL)
		listener_dual_stack(p, v[LK_DUAL_STACK], kp, l, me);
 out:
	node_leave(p, seen);
}
