/*
 * The tls: blocks of the schema: a listener's, which makes it terminate
 * TLS (its certificates and their names, client authentication,
 * protocols and ciphers), and a backend's, which makes l4d speak TLS to
 * its servers.  The walkers fill the model; tlsconf.c checks the lists
 * as libtls reads them and, when the parser resolves, reads and checks
 * the files, reporting at the keys that name them.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

enum { TL_CERTIFICATES, TL_CLIENT_AUTH, TL_CLIENT_CA, TL_CRL, TL_PROTOCOLS,
    TL_CIPHERS, TL_N };
static const char *const listener_tls_keys[TL_N] = { "certificates",
    "client_auth", "client_ca", "crl", "protocols", "ciphers" };

enum { CK_CERT, CK_KEY, CK_OCSP, CK_NAMES, CK_N };
static const char *const cert_keys[CK_N] = { "cert", "key", "ocsp_staple",
    "names" };

enum { BT_VERIFY, BT_CA, BT_SERVER_NAME, BT_CERT, BT_KEY, BT_PROTOCOLS,
    BT_N };
static const char *const backend_tls_keys[BT_N] = { "verify", "ca",
    "server_name", "cert", "key", "protocols" };

/* enum tls_client_auth */
static const char *const client_auth_names[] = { "none", "optional",
    "require" };

#define PROTOCOLS_HINT	"protocol names such as \"tlsv1.2,tlsv1.3\", " \
			"or secure, default, legacy, all; !NAME leaves " \
			"one out"
#define CIPHERS_HINT	"secure (the default), compat, legacy, insecure " \
			"or an OpenSSL cipher list"
#define CERT_NAME_HINT	"a DNS name such as db.example.com, or " \
			"\"*.example.com\""

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
void
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
void
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
