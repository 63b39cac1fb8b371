/*
 * The v1 schema of the configuration: one walker per mapping, from the
 * root of a loaded document (yamlconf.c) down to servers, routes and
 * certificates, filling the model (conf.c); tlsconf.c judges what the
 * tls: blocks name.  A walker reports what is wrong where it finds it
 * and goes on.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

/*
 * Caps that keep a hostile or mistaken file (aliases make a small file
 * expand) from costing unbounded memory and time.
 */
#define PARSE_MAX_LISTENERS	1024
#define PARSE_MAX_BACKENDS	1024
#define PARSE_MAX_SERVERS	16384		/* all backends together */
#define PARSE_MAX_ROUTES	16384		/* all listeners together */

enum { TK_USER, TK_CHROOT, TK_RELAYS, TK_TLS_ENGINES, TK_ZERO_COPY,
    TK_CONTROL, TK_LOG, TK_TIMEOUTS, TK_LISTENERS, TK_BACKENDS,
    TK_MAX_SESSIONS, TK_ALLOW, TK_DENY, TK_INCLUDE, TK_CONTROL_RO,
    TK_METRICS, TK_CONTROL_GROUP, TK_N };
static const char *const top_keys[TK_N] = { "user", "chroot", "relays",
    "tls_engines", "zero_copy", "control", "log", "timeouts", "listeners",
    "backends", "max_sessions", "allow", "deny", "include",
    "control_readonly", "metrics", "control_group" };

/* What a fragment of include: may hold. */
enum { FK_LISTENERS, FK_BACKENDS, FK_N };
static const char *const fragment_keys[FK_N] = { "listeners", "backends" };

enum { MK_LISTEN, MK_N };
static const char *const metrics_keys[MK_N] = { "listen" };

enum { GK_LEVEL, GK_ACCESS, GK_ACCESS_FILE, GK_ACCESS_FORMAT, GK_N };
static const char *const log_keys[GK_N] = { "level", "access",
    "access_file", "access_format" };
/* enum access_format */
static const char *const access_format_names[] = { "kv", "json" };
static void	 check_access_file(struct parser *, yaml_node_t *);

enum { OK_CONNECT, OK_IDLE, OK_HALF_CLOSED, OK_HANDSHAKE, OK_DRAIN, OK_N };
static const char *const timeout_keys[OK_N] = { "connect", "idle",
    "half_closed", "handshake", "drain" };

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

enum { TL_CERTIFICATES, TL_CLIENT_AUTH, TL_CLIENT_CA, TL_CRL, TL_PROTOCOLS,
    TL_CIPHERS, TL_N };
static const char *const listener_tls_keys[TL_N] = { "certificates",
    "client_auth", "client_ca", "crl", "protocols", "ciphers" };

enum { CK_CERT, CK_KEY, CK_OCSP, CK_NAMES, CK_N };
static const char *const cert_keys[CK_N] = { "cert", "key", "ocsp_staple",
    "names" };

enum { RK_SNI, RK_ALPN, RK_TLS, RK_BACKEND, RK_PRIORITY, RK_N };
static const char *const route_keys[RK_N] = { "sni", "alpn", "tls",
    "backend", "priority" };

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

enum { BT_VERIFY, BT_CA, BT_SERVER_NAME, BT_CERT, BT_KEY, BT_PROTOCOLS,
    BT_N };
static const char *const backend_tls_keys[BT_N] = { "verify", "ca",
    "server_name", "cert", "key", "protocols" };

enum { SK_ADDRESS, SK_WEIGHT, SK_BACKUP, SK_N };
static const char *const server_keys[SK_N] = { "address", "weight",
    "backup" };

static const char *const level_names[] = { "error", "warning", "info",
    "debug" };
static const char *const balance_names[] = { "roundrobin", "leastconn",
    "source-hash", "random" };
static const char *const route_tls_names[] = { "passthrough", "terminate" };
/* enum tls_client_auth */
static const char *const client_auth_names[] = { "none", "optional",
    "require" };
/* enum starttls from STARTTLS_NONE + 1 */
static const char *const starttls_names[] = { "postgres" };
/* a backend's proxy_protocol: version 1 + index */
static const char *const proxy_version_names[] = { "v1", "v2" };

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
		if (v[GK_ACCESS_FILE] != NULL && get_path(p,
		    v[GK_ACCESS_FILE], "log.access_file",
		    conf->log_access_file,
		    sizeof(conf->log_access_file)) == 0 && p->resolve)
			check_access_file(p, v[GK_ACCESS_FILE]);
		if (v[GK_ACCESS_FORMAT] != NULL && get_enum(p,
		    v[GK_ACCESS_FORMAT], "log.access_format",
		    access_format_names, nitems(access_format_names), &x) == 0)
			conf->log_access_format = x;
	}
	node_leave(p, seen);
}

/*
 * log.access_file: the parent opens it for appending, as root, before
 * the children start; a file it cannot open is an error now, not a
 * daemon that dies later.
 */
static void
check_access_file(struct parser *p, yaml_node_t *n)
{
	char	 q[PARSE_QUOTE_MAX];
	int	 fd;

	if ((fd = open(p->conf->log_access_file, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0640)) == -1) {
		perr(p, &n->start_mark, E_ACCESS_FILE,
		    "a file in an existing directory that root may write",
		    "log.access_file: cannot open %s: %s",
		    quote(p->conf->log_access_file, q, sizeof(q)),
		    strerror(errno));
		return;
	}
	close(fd);
}

/* The read-only control socket needs a path of its own. */
static void
check_control_ro(struct parser *p, yaml_node_t *n)
{
	char	 q[PARSE_QUOTE_MAX];

	if (strcmp(p->conf->control_ro, p->conf->control) == 0)
		perr(p, &n->start_mark, E_CONTROL_RO,
		    "give the read-only socket a path of its own",
		    "control_readonly: %s is the control socket",
		    quote(p->conf->control_ro, q, sizeof(q)));
}

/*
 * tls: blocks.  The walkers fill the model; tlsconf.c checks the lists
 * as libtls reads them and, when the parser resolves, reads and checks
 * the files, reporting at the keys that name them.
 */

#define PROTOCOLS_HINT	"protocol names such as \"tlsv1.2,tlsv1.3\", " \
			"or secure, default, legacy, all; !NAME leaves " \
			"one out"
#define CIPHERS_HINT	"secure (the default), compat, legacy, insecure " \
			"or an OpenSSL cipher list"
#define CERT_NAME_HINT	"a DNS name such as db.example.com, or " \
			"\"*.example.com\""

/* A DNS name into buf: lower case, no final dot; -1 if it is none. */
static int
dns_name(const char *name, char *buf, size_t size)
{
	char	 tmp[SNI_NAME_MAX];
	size_t	 len = strlen(name), i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(tmp) || len >= size ||
	    name[len - 1] == '.')
		return -1;
	for (i = 0; i < len; i++)
		tmp[i] = tolower((unsigned char)name[i]);
	tmp[len] = '\0';
	if (!is_hostname(tmp))
		return -1;
	strlcpy(buf, tmp, size);
	return 0;
}

/* protocols: or ciphers:, as libtls reads them. */
static void
tls_list(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len, int ciphers)
{
	const char	*s, *hint = ciphers ? CIPHERS_HINT : PROTOCOLS_HINT;
	char		 why[256], q[PARSE_QUOTE_MAX];
	int		 rc;

	if ((s = scalar_str(p, n, path, "a string", hint)) == NULL)
		return;
	if (strlen(s) >= len) {
		fmt_into(why, sizeof(why), "longer than %zu bytes", len - 1);
		rc = -1;
	} else if (ciphers)
		rc = tlsconf_ciphers(s, why, sizeof(why));
	else
		rc = tlsconf_protocols(s, why, sizeof(why));
	if (rc == 0) {
		strlcpy(buf, s, len);
		return;
	}
	perr(p, &n->start_mark, E_TLS_LIST, hint, "%s: bad %s %s: %s", path,
	    ciphers ? "cipher list" : "protocols", quote(s, q, sizeof(q)),
	    why);
}

/* A key that names a file: into buf, and ref says where it was. */
static void
tls_path(struct parser *p, yaml_node_t *v, const char *path,
    const char *key, char *buf, size_t len, struct tls_ref *ref)
{
	ref->node = v;
	key_path(ref->path, sizeof(ref->path), path, key);
	if (v != NULL)
		get_path(p, v, ref->path, buf, len);
}

/* The items of a sequence of 1 to max, the rest left out and said so. */
static size_t
seq_count(struct parser *p, yaml_node_t *n, const char *path, size_t max,
    const char *what)
{
	char	 hint[96];
	size_t	 count;

	count = n->data.sequence.items.top - n->data.sequence.items.start;
	if (count >= 1 && count <= max)
		return count;
	snprintf(hint, sizeof(hint), "give 1 to %zu %s", max, what);
	if (count == 0)
		perr(p, &n->start_mark, E_RANGE, hint, "%s: an empty list",
		    path);
	else
		perr(p, &n->start_mark, E_RANGE, hint, "%s: more than %zu %s",
		    path, max, what);
	return count > max ? max : count;
}

/* "*.example.com" is kept with its "*.". */
static int
cert_name(struct parser *p, yaml_node_t *n, const char *path, char *buf,
    size_t len)
{
	const char	*s;
	char		 q[PARSE_QUOTE_MAX];
	size_t		 skip;

	if ((s = scalar_str(p, n, path, "a DNS name", CERT_NAME_HINT)) == NULL)
		return -1;
	skip = strncmp(s, "*.", 2) == 0 ? 2 : 0;
	memcpy(buf, s, skip);
	if (dns_name(s + skip, buf + skip, len - skip) == 0)
		return 0;
	perr(p, &n->start_mark, E_NAME, CERT_NAME_HINT, "%s: bad name %s",
	    path, quote(s, q, sizeof(q)));
	return -1;
}

/* Whether a certificate of the listener, this one too, has the name. */
static int
cert_name_dup(struct parser *p, yaml_node_t *n, const char *path,
    struct listener_tls *t, const char *name)
{
	struct tls_cert	*o;
	char		 q[PARSE_QUOTE_MAX];
	uint32_t	 i;

	TAILQ_FOREACH(o, &t->certs, entry) {
		for (i = 0; i < o->nnames; i++) {
			if (strcmp(o->names[i], name) != 0)
				continue;
			perr_always(p, &n->start_mark, E_DUP_CERT_NAME,
			    "give each name to one certificate",
			    "%s: %s is already a name of certificates[%u]",
			    path, quote(name, q, sizeof(q)), o->id);
			return 1;
		}
	}
	return 0;
}

static void
parse_cert_names(struct parser *p, yaml_node_t *n, const char *path,
    struct listener_tls *t, struct tls_cert *c)
{
	yaml_node_item_t *it;
	yaml_node_t	*item;
	char		 ip[PARSE_PATH_MAX];
	size_t		 count, i = 0;
	int		 seen;

	seen = node_enter(p, n, ROLE_CERT_NAMES);
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, path, "a sequence",
		    "list them as names: [db.example.com, \"*.example.com\"]");
		goto out;
	}
	count = seq_count(p, n, path, L4D_MAX_CERT_NAMES, "names");
	for (it = n->data.sequence.items.start; i < count; it++, i++) {
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", path, i);
		if (cert_name(p, item, ip, c->names[c->nnames],
		    sizeof(c->names[c->nnames])) == 0 &&
		    !cert_name_dup(p, item, ip, t, c->names[c->nnames]))
			c->nnames++;
	}
 out:
	node_leave(p, seen);
}

/* Ids in file order; a certificate's files are read where it is. */
static void
parse_cert(struct parser *p, yaml_node_t *n, const char *path,
    struct listener_tls *t)
{
	struct tls_cert	*c;
	struct tls_ref	 cert, key, ocsp;
	yaml_node_t	*v[CK_N];
	char		 kp[PARSE_PATH_MAX];
	int		 seen;

	seen = node_enter(p, n, ROLE_CERT);
	if (map_collect(p, n, path, cert_keys, CK_N, v) == -1)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->id = t->ncerts++;
	TAILQ_INSERT_TAIL(&t->certs, c, entry);
	tls_path(p, v[CK_CERT], path, "cert", c->cert, sizeof(c->cert),
	    &cert);
	if (cert.node == NULL)
		missing(p, n, path, "cert", "add cert: PATH, the PEM "
		    "certificate and its chain");
	tls_path(p, v[CK_KEY], path, "key", c->key, sizeof(c->key), &key);
	if (key.node == NULL)
		missing(p, n, path, "key",
		    "add key: PATH, its PEM private key");
	tls_path(p, v[CK_OCSP], path, "ocsp_staple", c->ocsp,
	    sizeof(c->ocsp), &ocsp);
	key_path(kp, sizeof(kp), path, "names");
	if (v[CK_NAMES] != NULL)
		parse_cert_names(p, v[CK_NAMES], kp, t, c);
	if (p->resolve)
		tlsconf_cert(p, c, &cert, &key, &ocsp);
 out:
	node_leave(p, seen);
}

static void
parse_certs(struct parser *p, yaml_node_t *n, const char *path,
    struct listener_tls *t)
{
	yaml_node_item_t *it;
	yaml_node_t	*item;
	char		 ip[PARSE_PATH_MAX];
	size_t		 count, i = 0;
	int		 seen;

	seen = node_enter(p, n, ROLE_CERTS);
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, path, "a sequence",
		    "list them as - { cert: PATH, key: PATH }");
		goto out;
	}
	count = seq_count(p, n, path, L4D_MAX_CERTS, "certificates");
	for (it = n->data.sequence.items.start; i < count; it++, i++) {
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "%s[%zu]", path, i);
		parse_cert(p, item, ip, t);
	}
 out:
	node_leave(p, seen);
}

/* client_auth, and the client_ca it needs and the crl it allows. */
static void
listener_client_auth(struct parser *p, yaml_node_t *n, const char *path,
    yaml_node_t **v, struct listener_tls *t)
{
	struct tls_ref	 ca, crl;
	char		 kp[PARSE_PATH_MAX];
	int		 x, auth_ok = 1;

	key_path(kp, sizeof(kp), path, "client_auth");
	if (v[TL_CLIENT_AUTH] != NULL && get_enum(p, v[TL_CLIENT_AUTH], kp,
	    client_auth_names, nitems(client_auth_names), &x) == 0)
		t->client_auth = x;
	else if (v[TL_CLIENT_AUTH] != NULL)
		auth_ok = 0;
	tls_path(p, v[TL_CLIENT_CA], path, "client_ca", t->client_ca,
	    sizeof(t->client_ca), &ca);
	tls_path(p, v[TL_CRL], path, "crl", t->crl, sizeof(t->crl), &crl);
	if (ca.node == NULL && t->client_auth != CLIENT_AUTH_NONE)
		missing(p, n, path, "client_ca", "add client_ca: PATH, the "
		    "CA certificates that client certificates chain to");
	else if (ca.node != NULL && t->client_auth == CLIENT_AUTH_NONE &&
	    auth_ok)
		perr(p, &ca.node->start_mark, E_TLS_COMBO,
		    "add client_auth: optional or require, or remove "
		    "client_ca:", "%s: client_ca with client_auth: none",
		    ca.path);
	if (crl.node != NULL && ca.node == NULL)
		perr(p, &crl.node->start_mark, E_TLS_COMBO,
		    "add client_ca: and client_auth:, or remove crl:",
		    "%s: crl without client_ca", crl.path);
	if (p->resolve && t->client_auth != CLIENT_AUTH_NONE)
		tlsconf_client_ca(p, t, &ca, &crl);
}

/* A listener's tls:, which makes it terminate TLS. */
static void
parse_listener_tls(struct parser *p, yaml_node_t *n, const char *path,
    struct listener *l)
{
	struct listener_tls	*t;
	yaml_node_t		*v[TL_N];
	char			 kp[PARSE_PATH_MAX];
	int			 seen;

	seen = node_enter(p, n, ROLE_LISTENER_TLS);
	if (map_collect(p, n, path, listener_tls_keys, TL_N, v) == -1)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("%s", __func__);
	TAILQ_INIT(&t->certs);
	strlcpy(t->ciphers, "secure", sizeof(t->ciphers));
	l->tls = t;
	l->tls_terminate = 1;
	key_path(kp, sizeof(kp), path, "certificates");
	if (v[TL_CERTIFICATES] == NULL)
		missing(p, n, path, "certificates",
		    "add certificates: - { cert: PATH, key: PATH }");
	else
		parse_certs(p, v[TL_CERTIFICATES], kp, t);
	listener_client_auth(p, n, path, v, t);
	l->tls_require = t->client_auth == CLIENT_AUTH_REQUIRE;
	key_path(kp, sizeof(kp), path, "protocols");
	if (v[TL_PROTOCOLS] != NULL)
		tls_list(p, v[TL_PROTOCOLS], kp, t->protocols,
		    sizeof(t->protocols), 0);
	key_path(kp, sizeof(kp), path, "ciphers");
	if (v[TL_CIPHERS] != NULL)
		tls_list(p, v[TL_CIPHERS], kp, t->ciphers, sizeof(t->ciphers),
		    1);
 out:
	node_leave(p, seen);
}

static void
backend_server_name(struct parser *p, yaml_node_t *n, const char *path,
    struct backend_tls *t)
{
	const char	*s;
	const char	*hint = "the DNS name the servers' certificates "
			    "carry, such as db.internal";
	char		 q[PARSE_QUOTE_MAX];

	if ((s = scalar_str(p, n, path, "a DNS name", hint)) == NULL)
		return;
	if (dns_name(s, t->server_name, sizeof(t->server_name)) == -1)
		perr(p, &n->start_mark, E_NAME, hint,
		    "%s: bad server name %s", path, quote(s, q, sizeof(q)));
}

/* verify, and the ca it trusts: without one, the system's. */
static void
backend_verify(struct parser *p, yaml_node_t **v, const char *path,
    struct backend_tls *t, struct tls_ref *ca)
{
	char	 kp[PARSE_PATH_MAX];
	int	 x;

	key_path(kp, sizeof(kp), path, "verify");
	if (v[BT_VERIFY] != NULL && get_bool(p, v[BT_VERIFY], kp, &x) == 0)
		t->verify = x;
	tls_path(p, v[BT_CA], path, "ca", t->ca, sizeof(t->ca), ca);
	if (ca->node != NULL && !t->verify)
		perr(p, &ca->node->start_mark, E_TLS_COMBO,
		    "remove ca:, or set verify: true",
		    "%s: ca with verify: false", ca->path);
}

/* A backend's tls:, which makes l4d speak TLS to its servers. */
static void
parse_backend_tls(struct parser *p, yaml_node_t *n, const char *path,
    struct backend *b)
{
	struct backend_tls	*t;
	struct tls_ref		 self, ca, cert, key;
	yaml_node_t		*v[BT_N];
	char			 kp[PARSE_PATH_MAX];
	int			 seen;

	seen = node_enter(p, n, ROLE_BACKEND_TLS);
	if (map_collect(p, n, path, backend_tls_keys, BT_N, v) == -1)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("%s", __func__);
	t->verify = 1;
	b->tls = t;
	b->tls_originate = 1;
	backend_verify(p, v, path, t, &ca);
	key_path(kp, sizeof(kp), path, "server_name");
	if (v[BT_SERVER_NAME] != NULL)
		backend_server_name(p, v[BT_SERVER_NAME], kp, t);
	tls_path(p, v[BT_CERT], path, "cert", t->cert, sizeof(t->cert),
	    &cert);
	tls_path(p, v[BT_KEY], path, "key", t->key, sizeof(t->key), &key);
	if (cert.node != NULL && key.node == NULL)
		missing(p, n, path, "key", "cert: needs key: PATH, its PEM "
		    "private key");
	else if (key.node != NULL && cert.node == NULL)
		missing(p, n, path, "cert", "key: needs cert: PATH, the PEM "
		    "client certificate");
	key_path(kp, sizeof(kp), path, "protocols");
	if (v[BT_PROTOCOLS] != NULL)
		tls_list(p, v[BT_PROTOCOLS], kp, t->protocols,
		    sizeof(t->protocols), 0);
	self.node = n;
	strlcpy(self.path, path, sizeof(self.path));
	if (p->resolve)
		tlsconf_backend(p, t, &self, &ca, &cert, &key);
 out:
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
static void
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

/*
 * include: a path or glob, or a list of them.  Each fragment is loaded
 * now, so that the walk below sees every backend before any listener.
 */
static void
parse_include(struct parser *p, yaml_node_t *n)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	char			 ip[PARSE_PATH_MAX];
	size_t			 i = 0;

	if (n->type == YAML_SCALAR_NODE) {
		include_add(p, n, "include");
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		type_err(p, n, "include", "a path or a list of paths",
		    "include: [ /etc/l4d.d/*.yaml ]");
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++, i++) {
		if ((item = node_at(p, *it)) == NULL)
			continue;
		fmt_into(ip, sizeof(ip), "include[%zu]", i);
		include_add(p, item, ip);
	}
}

/* A fragment's root: listeners: and backends:, nothing else. */
void
include_root(struct parser *p, yaml_node_t *root, struct pdoc *d)
{
	yaml_node_t	*v[FK_N];
	char		 q[PARSE_QUOTE_MAX];

	if (root == NULL)
		return;		/* empty, or said why */
	if (root->type != YAML_MAPPING_NODE) {
		perr(p, &root->start_mark, E_EMPTY,
		    "a fragment is a mapping with listeners: or backends:",
		    "top level must be a mapping, found %s",
		    node_desc(root, q, sizeof(q)));
		return;
	}
	if (map_collect(p, root, "", fragment_keys, FK_N, v) == -1)
		return;
	d->listeners = v[FK_LISTENERS];
	d->backends = v[FK_BACKENDS];
}

static yaml_node_t *
fragment_list(struct pdoc *d, int which)
{
	return which == FK_BACKENDS ? d->backends : d->listeners;
}

static int
fragments_have(struct parser *p, int which)
{
	size_t	 i;

	for (i = 0; i < p->ndocs; i++)
		if (fragment_list(&p->docs[i], which) != NULL)
			return 1;
	return 0;
}

/* Whether the main file or a fragment has that list as a sequence. */
static int
has_list(struct parser *p, yaml_node_t *main, int which)
{
	yaml_node_t	*n;
	size_t		 i;

	if (main != NULL && main->type == YAML_SEQUENCE_NODE)
		return 1;
	for (i = 0; i < p->ndocs; i++)
		if ((n = fragment_list(&p->docs[i], which)) != NULL &&
		    n->type == YAML_SEQUENCE_NODE)
			return 1;
	return 0;
}

/* The main file's list, then each fragment's, in include order. */
static void
parse_lists(struct parser *p, yaml_node_t *main, int which, const char *key,
    size_t max, void (*fn)(struct parser *, yaml_node_t *, const char *))
{
	yaml_node_t	*n;
	size_t		 i;

	if (main != NULL)
		parse_list(p, main, key, max, fn);
	for (i = 0; i < p->ndocs; i++) {
		if ((n = fragment_list(&p->docs[i], which)) == NULL)
			continue;
		doc_switch(p, i + 1);
		parse_list(p, n, key, max, fn);
		doc_switch(p, 0);
	}
}

/*
 * zero_copy: true (splice where the OS has it), false (always a copy),
 * sockmap (in-kernel forwarding of plain sessions, Linux) or adaptive
 * (sockmap for the sessions that go back and forth, splice otherwise).
 */
static void
parse_zero_copy(struct parser *p, yaml_node_t *n, struct l4d_config *conf)
{
	const char	*s;
	const char	*what = "a boolean, sockmap or adaptive";
	const char	*hint = "use true, false, sockmap or adaptive";

	if ((s = scalar_str(p, n, "zero_copy", what, hint)) == NULL)
		return;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		conf->relay_mode = RELAY_MODE_AUTO;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		conf->relay_mode = RELAY_MODE_COPY;
	else if (strcmp(s, "sockmap") == 0)
		conf->relay_mode = RELAY_MODE_SOCKMAP;
	else if (strcmp(s, "adaptive") == 0)
		conf->relay_mode = RELAY_MODE_ADAPTIVE;
	else
		type_err(p, n, "zero_copy", what, hint);
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

/*
 * metrics: { listen: ADDRESS }: the Prometheus endpoint, which may not
 * share an address with a listener.
 */
static void
parse_metrics(struct parser *p, yaml_node_t *n)
{
	struct l4d_config	*conf = p->conf;
	struct listener		*l;
	yaml_node_t		*v[MK_N];
	const char		*str;
	char			 err[128], q[PARSE_QUOTE_MAX];
	int			 seen;

	seen = node_enter(p, n, ROLE_METRICS);
	if (map_collect(p, n, "metrics", metrics_keys, MK_N, v) != 0)
		goto out;
	if (v[MK_LISTEN] == NULL) {
		missing(p, n, "metrics", "listen",
		    "add listen: \"127.0.0.1:9431\", or leave metrics: out");
		goto out;
	}
	if ((str = scalar_str(p, v[MK_LISTEN], "metrics.listen", "an address",
	    "\"IP:PORT\", \"[IPv6]:PORT\" or \"*:PORT\"")) == NULL)
		goto out;
	if (addr_parse(str, ADDR_WILDCARD, &conf->metrics_ss,
	    &conf->metrics_sslen, err, sizeof(err)) != 0) {
		perr(p, &v[MK_LISTEN]->start_mark, E_ADDRESS,
		    "\"IP:PORT\", \"[IPv6]:PORT\" or \"*:PORT\", port 1-65535",
		    "metrics.listen: bad address %s: %s",
		    quote(str, q, sizeof(q)), err);
		goto out;
	}
	strlcpy(conf->metrics_listen, str, sizeof(conf->metrics_listen));
	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (listen_conflict(&l->ss, &conf->metrics_ss)) {
			perr_always(p, &v[MK_LISTEN]->start_mark,
			    E_METRICS_CONFLICT, "use another port or address",
			    "metrics.listen: %s conflicts with listener \"%s\"",
			    quote(str, q, sizeof(q)), l->name);
			break;
		}
 out:
	node_leave(p, seen);
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

void
parse_top(struct parser *p, yaml_node_t *root)
{
	struct l4d_config	*conf = p->conf;
	struct sockaddr_un	 sun;
	yaml_node_t		*v[TK_N];
	char			 q[PARSE_QUOTE_MAX];
	long long		 e;
	int			 user_ok = 1, chroot_ok = 1;

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
	if (v[TK_TLS_ENGINES] != NULL && get_int(p, v[TK_TLS_ENGINES],
	    "tls_engines", 1, L4D_MAX_ENGINES, E_RANGE, &e) == 0)
		conf->tls_engines = (int)e;
	if (v[TK_ZERO_COPY] != NULL)
		parse_zero_copy(p, v[TK_ZERO_COPY], conf);
	if (v[TK_CONTROL] != NULL)
		get_path(p, v[TK_CONTROL], "control", conf->control,
		    sizeof(sun.sun_path));
	if (v[TK_LOG] != NULL)
		parse_log(p, v[TK_LOG]);
	if (v[TK_CONTROL_RO] != NULL)
		get_path(p, v[TK_CONTROL_RO], "control_readonly",
		    conf->control_ro, sizeof(sun.sun_path));
	if (v[TK_CONTROL_GROUP] != NULL && get_name(p, v[TK_CONTROL_GROUP],
	    "control_group", conf->control_group,
	    sizeof(conf->control_group)) == 0 && p->resolve &&
	    getgrnam(conf->control_group) == NULL)
		perr(p, &v[TK_CONTROL_GROUP]->start_mark, E_CONTROL_GROUP,
		    "create the group, or name an existing one",
		    "control_group: unknown group %s",
		    quote(conf->control_group, q, sizeof(q)));
	if (v[TK_TIMEOUTS] != NULL)
		parse_timeouts(p, v[TK_TIMEOUTS], "timeouts", &conf->timeouts);
	if (v[TK_MAX_SESSIONS] != NULL && get_int(p, v[TK_MAX_SESSIONS],
	    "max_sessions", 0, 10000000, E_RANGE, &e) == 0)
		conf->max_sessions = (uint32_t)e;
	/* before the listeners, which inherit them */
	if (v[TK_ALLOW] != NULL)
		parse_acl(p, v[TK_ALLOW], "allow", &conf->acl[ACL_ALLOW]);
	if (v[TK_DENY] != NULL)
		parse_acl(p, v[TK_DENY], "deny", &conf->acl[ACL_DENY]);
	if (v[TK_INCLUDE] != NULL)
		parse_include(p, v[TK_INCLUDE]);
	/* Backends first, so that listeners can check their references. */
	p->no_backends = !has_list(p, v[TK_BACKENDS], FK_BACKENDS);
	if (v[TK_BACKENDS] == NULL && !fragments_have(p, FK_BACKENDS))
		missing(p, root, "", "backends", "add a backends: sequence");
	else
		parse_lists(p, v[TK_BACKENDS], FK_BACKENDS, "backends",
		    PARSE_MAX_BACKENDS, parse_backend);
	if (v[TK_LISTENERS] == NULL && !fragments_have(p, FK_LISTENERS))
		missing(p, root, "", "listeners", "add a listeners: sequence");
	else {
		parse_lists(p, v[TK_LISTENERS], FK_LISTENERS, "listeners",
		    PARSE_MAX_LISTENERS, parse_listener);
		if (has_list(p, v[TK_LISTENERS], FK_LISTENERS) &&
		    conf->nlisteners == 0)
			perr(p, &(v[TK_LISTENERS] != NULL ? v[TK_LISTENERS] :
			    root)->start_mark, E_MISSING,
			    "add - name: ... listen: ... backend: ...",
			    "listeners: at least one listener is required");
	}
	if (v[TK_METRICS] != NULL)
		parse_metrics(p, v[TK_METRICS]);
	if (p->resolve)
		check_system(p, root, v, user_ok, chroot_ok);
	if (v[TK_CONTROL_RO] != NULL && conf->control_ro[0] != '\0')
		check_control_ro(p, v[TK_CONTROL_RO]);
}
