/*
 * The v1 schema of the configuration: one walker per mapping, from the
 * root of a loaded document (yamlconf.c) down to servers, routes and
 * certificates, filling the model (conf.c).  A walker reports what is
 * wrong where it finds it and goes on.  This file holds the top level
 * (the top keys, log, timeouts, the control sockets, relays, zero_copy,
 * metrics, include: and the lists of listeners and backends, of the
 * main file and of its fragments) and the helpers the other walkers
 * share: parse_tls.c walks the tls: blocks (tlsconf.c judges what they
 * name), parse_backend.c the backends, parse_listener.c the listeners.
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
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

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

static const char *const level_names[] = { "error", "warning", "info",
    "debug" };

/*
 * Helpers of the walkers here and in parse_tls.c, parse_backend.c and
 * parse_listener.c.
 */

/* A DNS name into buf: lower case, no final dot; -1 if it is none. */
int
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

/* The items of a sequence of 1 to max, the rest left out and said so. */
size_t
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

struct pobj *
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
 * The schema, one function per mapping.
 */

void
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
