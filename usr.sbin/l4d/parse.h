/*
 * The private interface of the configuration reader, shared by its eight
 * files and nothing else:
 *
 *	conf.c		the model's life: create, link, free
 *	addr.c		addresses: parse, resolve, compare
 *	yamlconf.c	the YAML layer: loading, node access, scalar
 *			getters and the error list
 *	parse.c		the schema, one walker per mapping: its top level
 *			(log, timeouts, control, relays, zero_copy,
 *			metrics, include:, the lists of listeners and
 *			backends) and the helpers the walkers share
 *	parse_tls.c	the tls: blocks: a listener's certificates and
 *			their names, client_auth; a backend's tls:
 *	parse_backend.c	backends: their servers and health checks
 *	parse_listener.c
 *			listeners: routes and their SNI and ALPN, allow,
 *			deny, rate_limit, proxy_protocol, dual_stack
 *	tlsconf.c	what tls: blocks name: protocol and cipher lists,
 *			and the files, read and checked with libtls
 *
 * The public entry points are in l4d.h.
 */

#ifndef PARSE_H
#define PARSE_H

#include <yaml.h>

#define PARSE_PATH_MAX		96	/* key paths in messages */
#define PARSE_QUOTE_MAX		72	/* values quoted in messages */
#define MAP_KEYS_MAX		24	/* keys of one mapping */
#define PARSE_MAX_DEPTH		64	/* nesting of a YAML document */

/*
 * Caps that keep a hostile or mistaken file (aliases make a small file
 * expand) from costing unbounded memory and time.
 */
#define PARSE_MAX_LISTENERS	1024
#define PARSE_MAX_BACKENDS	1024
#define PARSE_MAX_SERVERS	16384		/* all backends together */
#define PARSE_MAX_ROUTES	16384		/* all listeners together */

/*
 * The stable codes, L4D-E001 to L4D-E041 and from L4D-E045 (access
 * control); l4d.conf(5) lists them.
 */
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
	E_CHROOT = 22,
	E_DEPTH = 23,		/* nesting too deep */
	E_REGEX = 24,		/* a route's ~pattern does not compile */
	E_ROUTE_MATCH = 25,	/* a route with neither sni nor alpn */
	E_DUP_ROUTE = 26,	/* two routes of a listener match alike */
	E_NO_SNI = 27,		/* no_sni without routes or starttls */
	E_TERMINATE = 28,	/* tls: terminate, the listener without tls: */
	E_TLS_KEYPAIR = 29,	/* a certificate or key libtls refuses */
	E_TLS_READ = 30,	/* a TLS file that cannot be read */
	E_TLS_LIST = 31,	/* protocols or ciphers libtls refuses */
	E_TLS_CA = 32,		/* CA certificates or a CRL libtls refuses */
	E_TLS_COMBO = 33,	/* a tls: key that the others make useless */
	E_DUP_CERT_NAME = 34,	/* two certificates of a listener, one name */
	E_CHECK_SEND = 35,	/* send-expect without send: or expect: */
	E_CHECK_REGEX = 36,	/* expect: ~pattern does not compile */
	E_CHECK_COUNT = 37,	/* rise, fall or observe.errors out of range */
	E_CHECK_TIMEOUT = 38,	/* check timeout longer than its interval */
	E_CHECK_INTERVAL = 39,	/* check interval under 100ms */
	E_CHECK_ESCAPE = 40,	/* send: or expect: bad escape, too long */
	E_CHECK_COMBO = 41,	/* send:/expect: with a tcp or tls check */
	E_INCLUDE = 42,		/* include: a bad pattern, too many files */
	E_DUAL_STACK = 43,	/* dual_stack: on no [::] address */
	E_CIDR = 45,		/* a network of allow, deny or trusted */
	E_PROXY_TRUSTED = 46,	/* proxy_protocol without trusted: */
	/* operations (issue 12): E060-E069 */
	E_CONTROL_RO = 60,	/* control_readonly: the control socket's path */
	E_ACCESS_FILE = 61,	/* log.access_file: cannot be opened */
	E_CONTROL_GROUP = 62,	/* control_group: no such group */
	E_METRICS_CONFLICT = 70	/* metrics.listen is a listener's address */
};

/*
 * A node reached twice in the same role (through a YAML alias) gives
 * the same local errors twice; the second time they are not repeated.
 * One bit each in parser.seen[]: at most 16 roles.
 */
enum node_role {
	ROLE_LOG,
	ROLE_TIMEOUTS,
	ROLE_LISTENER,
	ROLE_BACKEND,
	ROLE_SERVERS,
	ROLE_SERVER,
	ROLE_ROUTES,
	ROLE_ROUTE,
	ROLE_LISTENER_TLS,
	ROLE_CERTS,
	ROLE_CERT,
	ROLE_CERT_NAMES,
	ROLE_BACKEND_TLS,
	ROLE_CHECK,
	ROLE_ACCESS,		/* rate_limit:, proxy_protocol: */
	ROLE_METRICS
};

#define ADDR_WILDCARD	0x01	/* "*:PORT" allowed */
#define ADDR_NAMES	0x02	/* host names allowed */
#define ADDR_RESOLVE	0x04	/* and looked up */

/* What later checks need to know about an object already parsed. */
struct pobj {
	void		*obj;
	const char	*file;		/* the document it is in */
	size_t		 line;		/* of its name, address or mapping */
	int		 name_ok;
	int		 addr_ok;
	int		 match_ok;	/* a route's sni and alpn */
};

struct perr;
struct tlsfiles;

/* A key of a tls: block that names a file: its value, its key path. */
struct tls_ref {
	yaml_node_t	*node;		/* NULL: not given */
	char		 path[PARSE_PATH_MAX];
};

/*
 * A fragment of include:, loaded beside the main document: its own
 * nodes, marks and file name, its listeners: and backends: (NULL when
 * it has none).
 */
#define PARSE_MAX_INCLUDES	64	/* fragment files */

struct pdoc {
	char			*name;
	yaml_document_t		 doc;
	uint16_t		*seen;
	yaml_node_t		*listeners;
	yaml_node_t		*backends;
};

/* One run over a document and the fragments it includes. */
struct parser {
	const char		*name;
	yaml_document_t		*doc;
	size_t			 doc_no;	/* 0: the main one */
	const char		*main_name;
	yaml_document_t		*main_doc;
	uint16_t		*main_seen;
	struct pdoc		*docs;		/* doc_no - 1 */
	size_t			 ndocs;
	struct l4d_config	*conf;
	int			 resolve;
	int			 quiet;
	int			 servers_capped;
	int			 routes_capped;
	int			 no_backends;	/* so no E009 cascade */
	size_t			 nservers;
	size_t			 nroutes;
	uint16_t		*seen;		/* enum node_role bits */
	struct perr		*errv;
	size_t			 nerr;
	size_t			 errcap;
	struct pobj		*lv;	/* listeners */
	size_t			 nl;
	struct pobj		*bv;	/* backends */
	size_t			 nb;
	struct tlsfiles		*tls_files;	/* read once each */
	size_t			 tls_bytes;	/* copied into blobs */
	int			 tls_capped;
};

/* yamlconf.c: include: */
void		 include_add(struct parser *, yaml_node_t *, const char *);
void		 doc_switch(struct parser *, size_t);
const char	*pobj_where(struct parser *, const struct pobj *, char *,
		    size_t);

/* addr.c */
int		 is_hostname(const char *);
int		 addr_parse(const char *, int flags, struct sockaddr_storage *,
		    socklen_t *, char *err, size_t errlen);
int		 listen_conflict(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);

/*
 * yamlconf.c: errors.  perr() reports an error about one node (kept
 * quiet when an alias revisits it), perr_always() one between objects.
 */
const char	*quote(const char *, char *, size_t);
void		 fmt_into(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
void		 perr(struct parser *, const yaml_mark_t *, int,
		    const char *, const char *, ...)
		    __attribute__((__format__ (printf, 5, 6)));
void		 perr_always(struct parser *, const yaml_mark_t *, int,
		    const char *, const char *, ...)
		    __attribute__((__format__ (printf, 5, 6)));

/* yamlconf.c: nodes.  The getters return 0, or -1 once they reported. */
yaml_node_t	*node_at(struct parser *, int);
int		 node_enter(struct parser *, yaml_node_t *, enum node_role);
void		 node_leave(struct parser *, int);
const char	*node_desc(yaml_node_t *, char *, size_t);
void		 type_err(struct parser *, yaml_node_t *, const char *path,
		    const char *want, const char *hint);
const char	*scalar_str(struct parser *, yaml_node_t *, const char *path,
		    const char *want, const char *hint);
void		 key_path(char *, size_t, const char *parent, const char *key);
int		 map_collect(struct parser *, yaml_node_t *, const char *path,
		    const char *const keys[], size_t nkeys, yaml_node_t **vals);
void		 missing(struct parser *, yaml_node_t *, const char *path,
		    const char *key, const char *hint);
int		 get_bool(struct parser *, yaml_node_t *, const char *, int *);
int		 get_int(struct parser *, yaml_node_t *, const char *,
		    long long lo, long long hi, int code, long long *);
int		 get_enum(struct parser *, yaml_node_t *, const char *,
		    const char *const names[], size_t nnames, int *);
int		 get_name(struct parser *, yaml_node_t *, const char *,
		    char *, size_t);
int		 get_path(struct parser *, yaml_node_t *, const char *,
		    char *, size_t);
void		 get_duration(struct parser *, yaml_node_t *, const char *,
		    int infinite_ok, long long *);

/*
 * tlsconf.c: the strings are checked always; the files, which the refs
 * locate for the errors, only when the parser resolves (the parent,
 * l4d -n).  Each file is read once per parse, however often it is
 * named; tlsconf_done() drops those copies.
 */
int		 tlsconf_protocols(const char *, char *why, size_t);
int		 tlsconf_ciphers(const char *, char *why, size_t);
void		 tlsconf_cert(struct parser *, struct tls_cert *,
		    const struct tls_ref *cert, const struct tls_ref *key,
		    const struct tls_ref *ocsp);
void		 tlsconf_client_ca(struct parser *, struct listener_tls *,
		    const struct tls_ref *ca, const struct tls_ref *crl);
void		 tlsconf_backend(struct parser *, struct backend_tls *,
		    const struct tls_ref *tls, const struct tls_ref *ca,
		    const struct tls_ref *cert, const struct tls_ref *key);
void		 tlsconf_done(struct parser *);

/*
 * parse.c: the schema, from the root of a loaded document; the walkers'
 * shared helpers.
 */
void		 parse_top(struct parser *, yaml_node_t *root);
void		 parse_timeouts(struct parser *, yaml_node_t *,
		    const char *path, struct timeouts *);
int		 dns_name(const char *, char *buf, size_t);
size_t		 seq_count(struct parser *, yaml_node_t *, const char *path,
		    size_t max, const char *what);
struct pobj	*pobj_add(struct pobj **, size_t *, void *obj);
void		 include_root(struct parser *, yaml_node_t *, struct pdoc *);

/* parse_tls.c: tls: blocks */
void		 parse_listener_tls(struct parser *, yaml_node_t *,
		    const char *path, struct listener *);
void		 parse_backend_tls(struct parser *, yaml_node_t *,
		    const char *path, struct backend *);

/* parse_backend.c: a backend, its servers and check */
void		 parse_backend(struct parser *, yaml_node_t *,
		    const char *path);

/* parse_listener.c: a listener, its routes and access control */
void		 parse_listener(struct parser *, yaml_node_t *,
		    const char *path);
void		 parse_acl(struct parser *, yaml_node_t *, const char *path,
		    struct acl **);

#endif /* PARSE_H */
