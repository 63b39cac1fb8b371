/*
 * What a configuration's tls: blocks name.  Protocol and cipher lists
 * are checked as libtls reads them, always.  The files are read only
 * when the parser resolves, that is in the parent (as root, before any
 * child sees them, and again at every reload) and in l4d -n: regular
 * files, bounded, each read once per parse however often it is named.
 * Each is then checked the way a TLS engine will use it, with a
 * scratch libtls context, so that a key that does not match its
 * certificate is an error at its line and a rejected reload rather
 * than failed handshakes.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "l4d.h"
#include "parse.h"

#include <tls.h>

/* The bytes of all the blobs of one configuration together. */
#define TLS_BYTES_MAX		(256 * 1024 * 1024)
#define TLS_WHY_MAX		256

#define READ_HINT	"check the path and its permissions; l4d reads " \
			"the file as root, at start and at every reload"
#define DEFAULT_CA_HINT	"install the system's CA certificates, or name " \
			"a file with ca: PATH"
#define CERT_HINT	"a PEM certificate, the chain to its CA after it"
#define KEY_HINT	"the unencrypted PEM private key of the " \
			"certificate in cert:; another key fails to load"
#define CA_HINT		"PEM certificates of the certificate authorities " \
			"to trust"
#define CRL_HINT	"a PEM CRL (-----BEGIN X509 CRL-----) of one of " \
			"the client_ca authorities"

#define CRL_PEM		"-----BEGIN X509 CRL-----"

/* A file as this parse read it, or why it could not. */
struct tlsfile {
	RB_ENTRY(tlsfile)	 entry;
	char			 path[PATH_MAX];
	struct tls_blob		 bytes;
	char			 why[TLS_WHY_MAX];	/* "": read */
	int			 ca_checked;	/* as CA certificates */
	char			 ca_why[TLS_WHY_MAX];	/* "": good */
};
RB_HEAD(tlsfiles, tlsfile);

static int
tlsfile_cmp(struct tlsfile *a, struct tlsfile *b)
{
	return strcmp(a->path, b->path);
}
RB_PROTOTYPE(tlsfiles, tlsfile, entry, tlsfile_cmp);
RB_GENERATE(tlsfiles, tlsfile, entry, tlsfile_cmp)

static const struct tls_blob	 no_blob;

/*
 * Key material: wiped before it is freed, wherever it was copied.
 */

void
tls_blob_free(struct tls_blob *b)
{
	if (b->mem != NULL) {
		explicit_bzero(b->mem, b->len);
		free(b->mem);
	}
	b->mem = NULL;
	b->len = 0;
}

void
tlsconf_free_listener(struct listener_tls *t)
{
	struct tls_cert	*c;

	if (t == NULL)
		return;
	while ((c = TAILQ_FIRST(&t->certs)) != NULL) {
		TAILQ_REMOVE(&t->certs, c, entry);
		tls_blob_free(&c->cert_mem);
		tls_blob_free(&c->key_mem);
		tls_blob_free(&c->ocsp_mem);
		free(c);
	}
	tls_blob_free(&t->client_ca_mem);
	tls_blob_free(&t->crl_mem);
	free(t);
}

void
tlsconf_free_backend(struct backend_tls *t)
{
	if (t == NULL)
		return;
	tls_blob_free(&t->ca_mem);
	tls_blob_free(&t->cert_mem);
	tls_blob_free(&t->key_mem);
	free(t);
}

void
tlsconf_done(struct parser *p)
{
	struct tlsfile	*f;

	if (p->tls_files == NULL)
		return;
	while ((f = RB_MIN(tlsfiles, p->tls_files)) != NULL) {
		RB_REMOVE(tlsfiles, p->tls_files, f);
		tls_blob_free(&f->bytes);
		free(f);
	}
	free(p->tls_files);
	p->tls_files = NULL;
}

/*
 * libtls.
 */

/*
 * libtls' message, without what it appends: the oldest error in the
 * thread's OpenSSL queue, which an earlier check may have left there
 * and so may be about another file, or strerror() of an errno of 0.
 */
static void
libtls_why(const char *msg, char *why, size_t len)
{
	const char	*tail = ": Success";
	char		*cut;
	size_t		 n;

	fmt_into(why, len, "%s", msg != NULL ? msg : "unknown error");
	if ((cut = strstr(why, ": error:")) != NULL)
		*cut = '\0';
	n = strlen(why);
	if (n > strlen(tail) && strcmp(why + n - strlen(tail), tail) == 0)
		why[n - strlen(tail)] = '\0';
}

static struct tls_config *
scratch_config(void)
{
	struct tls_config	*cfg;

	if ((cfg = tls_config_new()) == NULL)
		fatal("tls_config_new");
	return cfg;
}

int
tlsconf_protocols(const char *s, char *why, size_t len)
{
	uint32_t	 protocols;

	if (tls_config_parse_protocols(&protocols, s) == -1) {
		fmt_into(why, len, "not a list of protocol names");
		return -1;
	}
	if (protocols == 0) {
		fmt_into(why, len, "it leaves no protocol");
		return -1;
	}
	return 0;
}

int
tlsconf_ciphers(const char *s, char *why, size_t len)
{
	struct tls_config	*cfg;
	int			 rc = 0;

	cfg = scratch_config();
	if (tls_config_set_ciphers(cfg, s) == -1) {
		libtls_why(tls_config_error(cfg), why, len);
		rc = -1;
	}
	tls_config_free(cfg);
	return rc;
}

/*
 * A keypair as a server loads it; *cert_bad tells whose fault it is.
 * A key that does not match its certificate fails tls_configure().
 */
static int
keypair_check(const struct tls_blob *cert, const struct tls_blob *key,
    const struct tls_blob *ocsp, int *cert_bad, char *why, size_t len)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	int			 rc = -1;

	cfg = scratch_config();
	*cert_bad = 1;
	if (tls_config_set_cert_mem(cfg, cert->mem, cert->len) == -1) {
		libtls_why(tls_config_error(cfg), why, len);
		goto done;
	}
	*cert_bad = 0;
	if (tls_config_set_keypair_ocsp_mem(cfg, cert->mem, cert->len,
	    key->mem, key->len, ocsp->mem, ocsp->len) == -1) {
		libtls_why(tls_config_error(cfg), why, len);
		goto done;
	}
	if ((ctx = tls_server()) == NULL)
		fatal("tls_server");
	if (tls_configure(ctx, cfg) == -1) {
		libtls_why(tls_error(ctx), why, len);
		goto done;
	}
	rc = 0;
 done:
	tls_free(ctx);
	tls_config_free(cfg);
	return rc;
}

/*
 * CA certificates, and a CRL, as a verifying client loads them: libtls
 * reads them into the store when it sets up a connection, before any
 * byte is sent, so a connection over a socketpair that is never used
 * shows whether they load.
 */
static int
verify_check(const struct tls_blob *ca, const struct tls_blob *crl,
    char *why, size_t len)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	int			 sv[2] = { -1, -1 }, rc = -1;

	cfg = scratch_config();
	if (tls_config_set_ca_mem(cfg, ca->mem, ca->len) == -1 ||
	    (crl->mem != NULL &&
	    tls_config_set_crl_mem(cfg, crl->mem, crl->len) == -1)) {
		libtls_why(tls_config_error(cfg), why, len);
		goto done;
	}
	if ((ctx = tls_client()) == NULL)
		fatal("tls_client");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
	if (tls_configure(ctx, cfg) == -1 ||
	    tls_connect_fds(ctx, sv[0], sv[0], "localhost") == -1) {
		libtls_why(tls_error(ctx), why, len);
		goto done;
	}
	rc = 0;
 done:
	tls_free(ctx);
	tls_config_free(cfg);
	if (sv[0] != -1) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
}

/*
 * Files.
 */

static void
file_fill(struct tlsfile *f, int fd, size_t size)
{
	struct tls_blob	*b = &f->bytes;
	ssize_t		 n;

	while (b->len < size) {
		if ((n = read(fd, b->mem + b->len, size - b->len)) == -1) {
			if (errno == EINTR)
				continue;
			fmt_into(f->why, sizeof(f->why), "%s",
			    strerror(errno));
			return;
		}
		if (n == 0)
			break;
		b->len += n;
	}
	if (b->len == 0)
		fmt_into(f->why, sizeof(f->why), "the file is empty");
}

/* A FIFO must not block the open, nor a terminal become ours. */
static void
file_read(struct tlsfile *f)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(f->path,
	    O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) == -1) {
		fmt_into(f->why, sizeof(f->why), "%s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1)
		fmt_into(f->why, sizeof(f->why), "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fmt_into(f->why, sizeof(f->why), "not a regular file");
	else if (st.st_size > L4D_TLS_FILE_MAX)
		fmt_into(f->why, sizeof(f->why), "larger than %d MiB",
		    L4D_TLS_FILE_MAX / (1024 * 1024));
	else if (st.st_size == 0)
		fmt_into(f->why, sizeof(f->why), "the file is empty");
	else if ((f->bytes.mem = malloc(st.st_size)) == NULL)
		fatal("%s", __func__);
	else
		file_fill(f, fd, st.st_size);
	close(fd);
}

static struct tlsfile *
file_get(struct parser *p, const char *path)
{
	struct tlsfile	*f, *o;

	if (p->tls_files == NULL) {
		if ((p->tls_files = calloc(1, sizeof(*p->tls_files))) == NULL)
			fatal("%s", __func__);
		RB_INIT(p->tls_files);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("%s", __func__);
	strlcpy(f->path, path, sizeof(f->path));
	if ((o = RB_INSERT(tlsfiles, p->tls_files, f)) != NULL) {
		free(f);
		return o;
	}
	file_read(f);
	return f;
}

/*
 * The file at path into b; -1 once an error is reported.  dflt is NULL
 * for a file the configuration names, else what the file is instead.
 */
static int
blob_load(struct parser *p, const struct tls_ref *ref, const char *path,
    const char *dflt, struct tls_blob *b)
{
	struct tlsfile	*f;
	char		 q[PARSE_QUOTE_MAX];

	f = file_get(p, path);
	if (f->why[0] != '\0') {
		perr(p, &ref->node->start_mark, E_TLS_READ,
		    dflt != NULL ? DEFAULT_CA_HINT : READ_HINT,
		    "%s: cannot read %s%s: %s", ref->path,
		    dflt != NULL ? dflt : "", quote(path, q, sizeof(q)),
		    f->why);
		return -1;
	}
	if (f->bytes.len > TLS_BYTES_MAX - p->tls_bytes) {
		if (!p->tls_capped)
			perr_always(p, &ref->node->start_mark, E_RANGE,
			    "name fewer or smaller files; a file named "
			    "twice counts twice",
			    "%s: more than %d MiB of TLS files in all",
			    ref->path, TLS_BYTES_MAX / (1024 * 1024));
		p->tls_capped = 1;
		return -1;
	}
	if ((b->mem = malloc(f->bytes.len)) == NULL)
		fatal("%s", __func__);
	memcpy(b->mem, f->bytes.mem, f->bytes.len);
	b->len = f->bytes.len;
	p->tls_bytes += f->bytes.len;
	return 0;
}

/* CA certificates: checked once per file, reported at each use. */
static int
ca_check(struct parser *p, const struct tls_ref *ref, const char *path,
    const char *dflt, const struct tls_blob *ca)
{
	struct tlsfile	*f;
	char		 q[PARSE_QUOTE_MAX];

	f = file_get(p, path);
	if (!f->ca_checked) {
		verify_check(ca, &no_blob, f->ca_why, sizeof(f->ca_why));
		f->ca_checked = 1;
	}
	if (f->ca_why[0] == '\0')
		return 0;
	perr(p, &ref->node->start_mark, E_TLS_CA, CA_HINT,
	    "%s: bad CA certificates in %s%s: %s", ref->path,
	    dflt != NULL ? dflt : "", quote(path, q, sizeof(q)), f->ca_why);
	return -1;
}

/* libtls skips what is no CRL in the file, and then trusts nothing. */
static void
crl_check(struct parser *p, const struct tls_ref *ref, const char *path,
    const struct tls_blob *ca, const struct tls_blob *crl)
{
	char	 why[TLS_WHY_MAX], q[PARSE_QUOTE_MAX];

	if (memmem(crl->mem, crl->len, CRL_PEM, strlen(CRL_PEM)) == NULL)
		fmt_into(why, sizeof(why), "no PEM CRL in the file");
	else if (verify_check(ca, crl, why, sizeof(why)) == 0)
		return;
	perr(p, &ref->node->start_mark, E_TLS_CA, CRL_HINT,
	    "%s: bad CRL %s: %s", ref->path, quote(path, q, sizeof(q)), why);
}

/* One file of a keypair: where its bytes go, its path, its key. */
struct kp_file {
	struct tls_blob		*blob;
	const char		*path;		/* "": none */
	const struct tls_ref	*ref;
};
enum { KP_CERT, KP_KEY, KP_OCSP, KP_N };

/* A certificate, its key and its OCSP response, read and checked. */
static void
keypair_load(struct parser *p, const struct kp_file kv[KP_N])
{
	const struct kp_file	*bad;
	char			 why[TLS_WHY_MAX], q[PARSE_QUOTE_MAX];
	size_t			 i;
	int			 failed = 0, cert_bad;

	for (i = 0; i < KP_N; i++)
		if (kv[i].path[0] != '\0' && blob_load(p, kv[i].ref,
		    kv[i].path, NULL, kv[i].blob) == -1)
			failed = 1;
	if (failed || kv[KP_CERT].path[0] == '\0' ||
	    kv[KP_KEY].path[0] == '\0')
		return;
	if (keypair_check(kv[KP_CERT].blob, kv[KP_KEY].blob,
	    kv[KP_OCSP].blob, &cert_bad, why, sizeof(why)) == 0)
		return;
	bad = &kv[cert_bad ? KP_CERT : KP_KEY];
	perr(p, &bad->ref->node->start_mark, E_TLS_KEYPAIR,
	    cert_bad ? CERT_HINT : KEY_HINT,
	    "%s: bad %s %s: %s", bad->ref->path,
	    cert_bad ? "certificate" : "key", quote(bad->path, q, sizeof(q)),
	    why);
}

/*
 * The parser's entry points, called where it walked the keys; a path
 * that is "" was not given, or was wrong and said so.
 */

void
tlsconf_cert(struct parser *p, struct tls_cert *c,
    const struct tls_ref *cert, const struct tls_ref *key,
    const struct tls_ref *ocsp)
{
	const struct kp_file	 kv[KP_N] = {
		{ &c->cert_mem, c->cert, cert },
		{ &c->key_mem, c->key, key },
		{ &c->ocsp_mem, c->ocsp, ocsp }
	};

	keypair_load(p, kv);
}

void
tlsconf_client_ca(struct parser *p, struct listener_tls *t,
    const struct tls_ref *ca, const struct tls_ref *crl)
{
	int	 ca_ok, crl_ok;

	if (t->client_ca[0] == '\0')
		return;
	ca_ok = blob_load(p, ca, t->client_ca, NULL, &t->client_ca_mem) == 0;
	crl_ok = t->crl[0] != '\0' &&
	    blob_load(p, crl, t->crl, NULL, &t->crl_mem) == 0;
	if (ca_ok && ca_check(p, ca, t->client_ca, NULL,
	    &t->client_ca_mem) == 0 && crl_ok)
		crl_check(p, crl, t->crl, &t->client_ca_mem, &t->crl_mem);
}

/*
 * Without ca:, a verifying backend trusts the system's CA file, which
 * an engine in its chroot could not open: the parent reads it too.
 */
void
tlsconf_backend(struct parser *p, struct backend_tls *t,
    const struct tls_ref *tls, const struct tls_ref *ca,
    const struct tls_ref *cert, const struct tls_ref *key)
{
	struct tls_blob		 none = { .mem = NULL };
	const struct kp_file	 kv[KP_N] = {
		{ &t->cert_mem, t->cert, cert },
		{ &t->key_mem, t->key, key },
		{ &none, "", NULL }
	};
	const char		*dflt = "the default CA file ", *path;

	if (t->cert[0] != '\0' && t->key[0] != '\0')
		keypair_load(p, kv);
	if (!t->verify)
		return;
	if (ca->node != NULL) {
		if (t->ca[0] != '\0' &&
		    blob_load(p, ca, t->ca, NULL, &t->ca_mem) == 0)
			ca_check(p, ca, t->ca, NULL, &t->ca_mem);
		return;
	}
	path = tls_default_ca_cert_file();
	if (blob_load(p, tls, path, dflt, &t->ca_mem) == 0)
		ca_check(p, tls, path, dflt, &t->ca_mem);
}
