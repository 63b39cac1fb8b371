/*
 * The ClientHello reader: what a routed listener learns from a client's
 * first bytes without decrypting anything (RFC 8446 4.1.2, RFC 6066 3,
 * RFC 7301 3.1).  hello_parse() is called again each time more bytes
 * arrive, so it first walks the record headers only, which is cheap,
 * and parses the ClientHello once the whole message is there.
 *
 * It is strict: a hello whose lengths disagree is refused rather than
 * guessed at, since a proxy that reads a name differently from the
 * server it forwards to can be steered past its own routes.
 */

#include <stdint.h>
#include <string.h>

#include "l4d.h"

#define RECORD_HDR		5	/* type, version, length */
#define RECORD_MAX		16384	/* TLSPlaintext.length, 2^14 */
#define HS_HDR			4	/* msg_type, uint24 length */

#define CT_HANDSHAKE		22
#define HS_CLIENT_HELLO		1

#define EXT_SERVER_NAME		0
#define EXT_ALPN		16
#define EXT_SUPPORTED_VERSIONS	43

#define NAME_HOST		0	/* ServerName.name_type host_name */

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
#define IS_GREASE(v)		(((v) & 0x0f0f) == 0x0a0a && \
				    ((v) >> 8) == ((v) & 0xff))

/*
 * Where a hello spread over several records is put back together.
 * The relay is single-threaded and the parse finishes before it
 * returns, so one buffer is enough.
 */
static uint8_t	 scratch[HELLO_MAX];

/* A bounded read position: p[0..n) is what is left. */
struct cur {
	const uint8_t	*p;
	size_t		 n;
};

/* What the record walk found out. */
struct walk {
	uint8_t	 hs[HS_HDR];	/* the handshake header, which may
				   itself span records */
	size_t	 have;		/* handshake bytes seen */
	size_t	 need;		/* header and body; 0: unknown */
	size_t	 end;		/* end of the last hello record */
};

static enum hello_status
bad(struct hello *h, const char *why)
{
	h->why = why;
	return HELLO_BAD;
}

static int
get_u8(struct cur *c, unsigned int *v)
{
	if (c->n < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->n--;
	return 0;
}

static int
get_u16(struct cur *c, unsigned int *v)
{
	if (c->n < 2)
		return -1;
	*v = (unsigned int)c->p[0] << 8 | c->p[1];
	c->p += 2;
	c->n -= 2;
	return 0;
}

static int
skip(struct cur *c, size_t len)
{
	if (c->n < len)
		return -1;
	c->p += len;
	c->n -= len;
	return 0;
}

/* A vector with a one or two byte length: sub is its body. */
static int
get_vec(struct cur *c, int lenbytes, struct cur *sub)
{
	unsigned int	 len;

	if ((lenbytes == 1 ? get_u8(c, &len) : get_u16(c, &len)) == -1)
		return -1;
	if (c->n < len)
		return -1;
	sub->p = c->p;
	sub->n = len;
	c->p += len;
	c->n -= len;
	return 0;
}

/*
 * One record header, of which only part may have arrived: what is
 * there is checked at once, so that garbage is refused early.
 */
static enum hello_status
record_header(const uint8_t *p, size_t n, size_t *reclen, struct hello *h)
{
	if (n == 0)
		return HELLO_NEED_MORE;
	if (p[0] != CT_HANDSHAKE)
		return bad(h, "non-handshake record inside the hello");
	if (n >= 2 && p[1] != 3)
		return bad(h, "record version is not 3.x");
	if (n < RECORD_HDR)
		return HELLO_NEED_MORE;
	*reclen = (size_t)p[3] << 8 | p[4];
	if (*reclen == 0)
		return bad(h, "empty handshake record");
	if (*reclen > RECORD_MAX)
		return bad(h, "record longer than 16 KiB");
	return HELLO_OK;
}

/* Collect the handshake header from a record's first bytes. */
static enum hello_status
take_header(struct walk *w, const uint8_t *p, size_t n, struct hello *h)
{
	size_t	 i;

	for (i = 0; i < n && w->have + i < HS_HDR; i++)
		w->hs[w->have + i] = p[i];
	if (w->have + i >= 1 && w->hs[0] != HS_CLIENT_HELLO)
		return bad(h, "handshake message is not a ClientHello");
	if (w->need == 0 && w->have + i == HS_HDR) {
		w->need = HS_HDR + ((size_t)w->hs[1] << 16 |
		    (size_t)w->hs[2] << 8 | w->hs[3]);
		if (w->need > HELLO_MAX - RECORD_HDR)
			return bad(h, "hello larger than 16 KiB");
	}
	return HELLO_OK;
}

/*
 * Walk the records until they hold the whole handshake message.  Only
 * headers are read; every record must be complete, so that h->len
 * never exceeds what the client sent.
 */
static enum hello_status
walk_records(const uint8_t *buf, size_t len, struct walk *w,
    struct hello *h)
{
	enum hello_status	 st;
	size_t			 off, reclen = 0, avail;

	for (off = 0;; off += RECORD_HDR + reclen) {
		st = record_header(buf + off, len - off, &reclen, h);
		if (st != HELLO_OK)
			return st;
		if (off + RECORD_HDR + reclen > HELLO_MAX)
			return bad(h, "hello larger than 16 KiB");
		avail = len - off - RECORD_HDR;
		if (avail > reclen)
			avail = reclen;
		if (take_header(w, buf + off + RECORD_HDR, avail, h) ==
		    HELLO_BAD)
			return HELLO_BAD;
		w->have += avail;
		if (avail < reclen)
			return HELLO_NEED_MORE;
		if (w->need != 0 && w->have >= w->need) {
			w->end = off + RECORD_HDR + reclen;
			return HELLO_OK;
		}
	}
}

/* The handshake message, in place when one record holds it all. */
static const uint8_t *
assemble(const uint8_t *buf, const struct walk *w)
{
	size_t	 off, reclen, n, got;

	reclen = (size_t)buf[3] << 8 | buf[4];
	if (reclen >= w->need)
		return buf + RECORD_HDR;
	for (off = 0, got = 0; got < w->need; off += RECORD_HDR + reclen) {
		reclen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		n = w->need - got;
		if (n > reclen)
			n = reclen;
		memcpy(scratch + got, buf + off + RECORD_HDR, n);
		got += n;
	}
	return scratch;
}

/* Letters, digits, '-', '_' and dots between non-empty labels. */
static const char *
check_name(const uint8_t *p, size_t n)
{
	size_t	 i;
	uint8_t	 ch;

	if (n == 0)
		return "empty server name";
	if (n > SNI_NAME_MAX - 1)
		return "server name longer than 255 bytes";
	/* a final dot names the same host: the root label */
	if (p[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++) {
		ch = p[i];
		if (ch == '.') {
			if (i == 0 || p[i - 1] == '.')
				return "empty label in the server name";
		} else if (!((ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return "bad byte in the server name";
	}
	if (n == 0 || p[n - 1] == '.')
		return "empty label in the server name";
	return NULL;
}

/* Store a checked name lower-cased and without its final dot. */
static void
store_name(struct hello *h, const uint8_t *p, size_t n)
{
	size_t	 i;

	if (p[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		h->sni[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i];
	h->sni[n] = '\0';
}

/* server_name: one host_name at most; other name types are skipped. */
static enum hello_status
ext_server_name(struct cur ext, struct hello *h)
{
	struct cur	 list, name;
	unsigned int	 type;
	const char	*why;
	int		 seen = 0;

	if (get_vec(&ext, 2, &list) == -1 || ext.n != 0)
		return bad(h, "server name list length is wrong");
	if (list.n == 0)
		return bad(h, "empty server name list");
	while (list.n > 0) {
		if (get_u8(&list, &type) == -1 ||
		    get_vec(&list, 2, &name) == -1)
			return bad(h, "server name overruns its list");
		if (type != NAME_HOST)
			continue;
		if (seen++)
			return bad(h, "two host names");
		if ((why = check_name(name.p, name.n)) != NULL)
			return bad(h, why);
		store_name(h, name.p, name.n);
	}
	return HELLO_OK;
}

/* ALPN: kept in wire format once every protocol is known sound. */
static enum hello_status
ext_alpn(struct cur ext, struct hello *h)
{
	struct cur	 list, all, proto;

	if (get_vec(&ext, 2, &list) == -1 || ext.n != 0)
		return bad(h, "ALPN list length is wrong");
	if (list.n == 0)
		return bad(h, "empty ALPN list");
	if (list.n > ALPN_RAW_MAX)
		return bad(h, "ALPN list longer than 1024 bytes");
	all = list;
	while (list.n > 0) {
		if (get_vec(&list, 1, &proto) == -1)
			return bad(h, "ALPN protocol overruns its list");
		if (proto.n == 0)
			return bad(h, "empty ALPN protocol");
	}
	memcpy(h->alpn, all.p, all.n);
	h->alpn_len = all.n;
	return HELLO_OK;
}

/* supported_versions: the highest real one wins over legacy_version. */
static enum hello_status
ext_versions(struct cur ext, struct hello *h)
{
	struct cur	 list;
	unsigned int	 v, best = 0;

	if (get_vec(&ext, 1, &list) == -1 || ext.n != 0)
		return bad(h, "supported versions length is wrong");
	if (list.n == 0 || list.n % 2 != 0)
		return bad(h, "supported versions list is malformed");
	while (get_u16(&list, &v) == 0)
		if (!IS_GREASE(v) && v > best)
			best = v;
	if (best != 0)
		h->version = best;
	return HELLO_OK;
}

static enum hello_status
extension(unsigned int type, struct cur ext, struct hello *h)
{
	switch (type) {
	case EXT_SERVER_NAME:
		return ext_server_name(ext, h);
	case EXT_ALPN:
		return ext_alpn(ext, h);
	case EXT_SUPPORTED_VERSIONS:
		return ext_versions(ext, h);
	}
	return HELLO_OK;
}

/*
 * The extensions block fills the rest of the hello exactly.  A type
 * seen twice is refused (RFC 8446 4.2): two server names could be
 * read one way here and the other way by the server.  GREASE types
 * are exempt, being meaningless by design.
 */
static enum hello_status
extensions(struct cur *c, struct hello *h)
{
	uint64_t	 seen[65536 / 64];
	struct cur	 exts, ext;
	unsigned int	 type, len;

	if (get_u16(c, &len) == -1 || len > c->n)
		return bad(h, "extensions overrun the hello");
	if (len < c->n)
		return bad(h, "trailing bytes after the extensions");
	exts.p = c->p;
	exts.n = len;
	skip(c, len);
	memset(seen, 0, sizeof(seen));
	while (exts.n > 0) {
		if (get_u16(&exts, &type) == -1 || get_u16(&exts, &len) == -1)
			return bad(h, "truncated extension header");
		if (len > exts.n)
			return bad(h, "extension overruns the hello");
		if (!IS_GREASE(type)) {
			if (seen[type / 64] & (1ULL << (type % 64)))
				return bad(h, "duplicate extension");
			seen[type / 64] |= 1ULL << (type % 64);
		}
		ext.p = exts.p;
		ext.n = len;
		skip(&exts, len);
		if (extension(type, ext, h) == HELLO_BAD)
			return HELLO_BAD;
	}
	return HELLO_OK;
}

/* The ClientHello body, from legacy_version to the extensions. */
static enum hello_status
client_hello(const uint8_t *p, size_t n, struct hello *h)
{
	struct cur	 c = { p, n }, v;
	unsigned int	 legacy;

	if (get_u16(&c, &legacy) == -1 || skip(&c, 32) == -1)
		return bad(h, "hello too short");
	if (legacy >> 8 != 3)
		return bad(h, "client version is not 3.x");
	h->version = legacy;
	if (get_vec(&c, 1, &v) == -1)
		return bad(h, "session id overruns the hello");
	if (v.n > 32)
		return bad(h, "session id longer than 32 bytes");
	if (get_vec(&c, 2, &v) == -1)
		return bad(h, "cipher suites overrun the hello");
	if (v.n < 2 || v.n % 2 != 0)
		return bad(h, "cipher suite list is malformed");
	if (get_vec(&c, 1, &v) == -1)
		return bad(h, "compression methods overrun the hello");
	if (v.n < 1)
		return bad(h, "no compression method");
	if (c.n == 0)
		return HELLO_OK;	/* SSL 3.0 style: no extensions */
	return extensions(&c, h);
}

enum hello_status
hello_parse(const uint8_t *buf, size_t len, struct hello *h)
{
	struct walk		 w;
	enum hello_status	 st;
	const uint8_t		*msg;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return HELLO_NEED_MORE;
	if (buf[0] != CT_HANDSHAKE)
		return HELLO_NOT_TLS;
	memset(&w, 0, sizeof(w));
	st = walk_records(buf, len, &w, h);
	if (st == HELLO_NEED_MORE && len >= HELLO_MAX)
		return bad(h, "no complete hello in 16 KiB");
	if (st != HELLO_OK)
		return st;
	msg = assemble(buf, &w);
	h->len = w.end;
	st = client_hello(msg + HS_HDR, w.need - HS_HDR, h);
	if (st != HELLO_OK) {
		h->sni[0] = '\0';
		h->alpn_len = 0;
	}
	return st;
}

/* A struct hello built by hand stays inside its buffer too. */
static size_t
alpn_len(const struct hello *h)
{
	return h->alpn_len < ALPN_RAW_MAX ? h->alpn_len : ALPN_RAW_MAX;
}

int
hello_has_alpn(const struct hello *h, const char *proto)
{
	size_t	 off, n, plen, alen = alpn_len(h);

	if (proto == NULL || (plen = strlen(proto)) == 0)
		return 0;
	for (off = 0; off < alen; off += 1 + n) {
		n = h->alpn[off];
		if (n > alen - off - 1)
			break;
		if (n == plen && memcmp(h->alpn + off + 1, proto, n) == 0)
			return 1;
	}
	return 0;
}

/* Append one byte of a protocol, escaped if need be; -1: no room. */
static int
text_byte(char *buf, size_t len, size_t *o, uint8_t ch)
{
	static const char	 hex[] = "0123456789abcdef";

	if (ch > ' ' && ch < 0x7f && ch != ',' && ch != '\\') {
		if (*o + 1 >= len)
			return -1;
		buf[(*o)++] = ch;
		return 0;
	}
	if (*o + 4 >= len)
		return -1;
	buf[(*o)++] = '\\';
	buf[(*o)++] = 'x';
	buf[(*o)++] = hex[ch >> 4];
	buf[(*o)++] = hex[ch & 0xf];
	return 0;
}

/*
 * The offered protocols as "h2,http/1.1" for logs and l4ctl.  Bytes
 * that could be mistaken for the separator, split a log line's fields
 * or not print are written \xNN.  When buf is too small the text stops
 * before the first byte that does not fit whole, never after a comma.
 */
void
hello_alpn_text(const struct hello *h, char *buf, size_t len)
{
	size_t	 off, i, n, o = 0, mark, alen = alpn_len(h);

	if (len == 0)
		return;
	for (off = 0; off < alen; off += 1 + n) {
		n = h->alpn[off];
		if (n > alen - off - 1)
			break;
		mark = o;
		if (off > 0) {
			if (o + 1 >= len)
				break;
			buf[o++] = ',';
		}
		for (i = 0; i < n; i++)
			if (text_byte(buf, len, &o, h->alpn[off + 1 + i]) == -1)
				break;
		if (i < n) {
			if (i == 0)
				o = mark;	/* no dangling comma */
			break;
		}
	}
	buf[o] = '\0';
}
