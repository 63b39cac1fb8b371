/*
 * Unit tests for sni.c and route.c: hellos built here, byte by byte,
 * to reach every rule of the reader, the real ones of the fuzz corpus
 * (captured from openssl, curl, python, wget, node, java and psql), and
 * the route matcher's order, wildcard, regex and alpn rules.
 *
 * Every parse goes through a copy of exactly the bytes given, so that
 * the AddressSanitizer build (t_sni_asan) sees a read past them.
 */

#include <sys/types.h>

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "l4d.h"

/*
 * For t_sni_asan: libatf-c keeps its test-case list until exit, which
 * is not ours to report, and kyua wants no word on stderr about it.
 */
const char	*__lsan_default_suppressions(void);
const char	*__lsan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libatf-c.so\n";
}

const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/*
 * A byte builder, big enough for hellos over the limit.
 */
struct buf {
	uint8_t		 b[4 * HELLO_MAX];
	size_t		 n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	ATF_REQUIRE(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put8(struct buf *b, unsigned int v)
{
	uint8_t	 c = v;

	put(b, &c, 1);
}

static void
put16(struct buf *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void
fill(struct buf *b, uint8_t c, size_t n)
{
	ATF_REQUIRE(b->n + n <= sizeof(b->b));
	memset(b->b + b->n, c, n);
	b->n += n;
}

/* A vector: vopen() leaves room for its length, vclose() writes it. */
static size_t
vopen(struct buf *b, int lenbytes)
{
	size_t	 at = b->n;

	fill(b, 0, lenbytes);
	return at;
}

static void
vclose(struct buf *b, size_t at, int lenbytes)
{
	size_t	 len = b->n - at - lenbytes;
	int	 i;

	for (i = lenbytes - 1; i >= 0; i--, len >>= 8)
		b->b[at + i] = len & 0xff;
}

static void
set16(struct buf *b, size_t at, unsigned int v)
{
	ATF_REQUIRE(at + 2 <= b->n);
	b->b[at] = v >> 8;
	b->b[at + 1] = v & 0xff;
}

/*
 * The layout of a one-record hello built by body_begin(): record header
 * 0-4, handshake header 5-8, legacy_version 9, random 11, session id
 * 43, cipher suites 76 (three), compression 84, extensions 86, the
 * first extension 88.
 */
#define OFF_HS		5
#define OFF_SID		43
#define OFF_CIPHERS	76
#define OFF_COMP	84
#define OFF_EXTS	86
#define OFF_EXT1	88

/* The body up to its extensions; returns where their length goes. */
static size_t
body_begin(struct buf *b, unsigned int legacy)
{
	b->n = 0;
	put16(b, legacy);
	fill(b, 0x42, 32);
	put8(b, 32);
	fill(b, 0x11, 32);
	put16(b, 6);
	put16(b, 0x1301);
	put16(b, 0x1302);
	put16(b, 0xc02f);
	put8(b, 1);
	put8(b, 0);
	return vopen(b, 2);
}

static void
ext_raw(struct buf *b, unsigned int type, const void *data, size_t n)
{
	put16(b, type);
	put16(b, n);
	put(b, data, n);
}

/* server_name with one host_name of n bytes. */
static void
ext_sni_n(struct buf *b, const void *name, size_t n)
{
	size_t	 ext, list;

	put16(b, 0);
	ext = vopen(b, 2);
	list = vopen(b, 2);
	put8(b, 0);
	put16(b, n);
	put(b, name, n);
	vclose(b, list, 2);
	vclose(b, ext, 2);
}

static void
ext_sni(struct buf *b, const char *name)
{
	ext_sni_n(b, name, strlen(name));
}

/* ALPN from a comma-separated list. */
static void
ext_alpn(struct buf *b, const char *protos)
{
	size_t		 ext, list, n;
	const char	*p = protos;

	put16(b, 16);
	ext = vopen(b, 2);
	list = vopen(b, 2);
	for (;;) {
		n = strcspn(p, ",");
		put8(b, n);
		put(b, p, n);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	vclose(b, list, 2);
	vclose(b, ext, 2);
}

static void
ext_versions(struct buf *b, const unsigned int *v, size_t n)
{
	size_t	 ext, list, i;

	put16(b, 43);
	ext = vopen(b, 2);
	list = vopen(b, 1);
	for (i = 0; i < n; i++)
		put16(b, v[i]);
	vclose(b, list, 1);
	vclose(b, ext, 2);
}

static void
ext_keyshare(struct buf *b, unsigned int group, size_t n)
{
	size_t	 ext, list;

	put16(b, 51);
	ext = vopen(b, 2);
	list = vopen(b, 2);
	put16(b, group);
	put16(b, n);
	fill(b, 0x5a, n);
	vclose(b, list, 2);
	vclose(b, ext, 2);
}

/* padding (RFC 7685): how clients grow a hello. */
static void
ext_pad(struct buf *b, size_t n)
{
	put16(b, 21);
	put16(b, n);
	fill(b, 0, n);
}

static void
tls13(struct buf *b)
{
	static const unsigned int v[] = { 0x0304, 0x0303 };

	ext_versions(b, v, 2);
	ext_keyshare(b, 0x001d, 32);
}

/* Records of the given sizes (0 ends the list), then of 16 KiB. */
static void
records(struct buf *out, const uint8_t *p, size_t n, const size_t *cuts)
{
	size_t	 off = 0, len;

	out->n = 0;
	while (off < n) {
		len = (cuts != NULL && *cuts != 0) ? *cuts++ : 16384;
		if (len > n - off)
			len = n - off;
		put8(out, 22);
		put16(out, 0x0301);
		put16(out, len);
		put(out, p + off, len);
		off += len;
	}
}

/* The body as a ClientHello message, cut into records. */
static void
wrap(struct buf *out, const struct buf *body, const size_t *cuts)
{
	static struct buf	 msg;

	msg.n = 0;
	put8(&msg, 1);
	put8(&msg, body->n >> 16);
	put16(&msg, body->n & 0xffff);
	put(&msg, body->b, body->n);
	records(out, msg.b, msg.n, cuts);
}

/* A TLS 1.3 hello with sni and alpn (NULL: without), cut by cuts. */
static void
simple_hello(struct buf *out, const char *sni, const char *alpn,
    const size_t *cuts)
{
	static struct buf	 body;
	size_t			 at;

	at = body_begin(&body, 0x0303);
	if (sni != NULL)
		ext_sni(&body, sni);
	if (alpn != NULL)
		ext_alpn(&body, alpn);
	tls13(&body);
	vclose(&body, at, 2);
	wrap(out, &body, cuts);
}

/* hello_parse() on a copy of exactly n bytes. */
static enum hello_status
parse(const uint8_t *p, size_t n, struct hello *h)
{
	enum hello_status	 st;
	uint8_t			*copy;

	ATF_REQUIRE((copy = malloc(n > 0 ? n : 1)) != NULL);
	memcpy(copy, p, n);
	st = hello_parse(copy, n, h);
	free(copy);
	return st;
}

/* The whole of b is a hello naming sni; failures name the caller's line. */
#define expect_ok(b, sni)	expect_ok_at(__LINE__, (b), (sni))
static void
expect_ok_at(int line, const struct buf *b, const char *sni)
{
	struct hello	 h;

	ATF_REQUIRE_EQ_MSG(parse(b->b, b->n, &h), HELLO_OK, "line %d: %s",
	    line, h.why ? h.why : "");
	ATF_CHECK_STREQ_MSG(h.sni, sni, "line %d", line);
	ATF_CHECK_EQ_MSG(h.len, b->n, "line %d", line);
}

/* b is refused, for the reason why (NULL: any). */
#define expect_bad(b, why)	expect_bad_at(__LINE__, (b), (why))
static void
expect_bad_at(int line, const struct buf *b, const char *why)
{
	struct hello	 h;

	ATF_REQUIRE_EQ_MSG(parse(b->b, b->n, &h), HELLO_BAD, "line %d",
	    line);
	ATF_REQUIRE(h.why != NULL);
	if (why != NULL)
		ATF_CHECK_STREQ_MSG(h.why, why, "line %d", line);
	ATF_CHECK_STREQ_MSG(h.sni, "", "line %d", line);
}

/* Every prefix waits for more; the whole is a hello. */
static void
expect_prefixes(const struct buf *b)
{
	struct hello	 h;
	size_t		 n;

	for (n = 0; n < b->n; n++)
		ATF_REQUIRE_EQ_MSG(parse(b->b, n, &h), HELLO_NEED_MORE,
		    "prefix %zu of %zu", n, b->n);
	ATF_REQUIRE_EQ(parse(b->b, b->n, &h), HELLO_OK);
}

/* The first prefix that is decided, and how. */
static size_t
decided_at(const struct buf *b, enum hello_status *st)
{
	struct hello	 h;
	size_t		 n;

	for (n = 0; n <= b->n; n++)
		if ((*st = parse(b->b, n, &h)) != HELLO_NEED_MORE)
			return n;
	return n;
}

/*
 * The record layer.
 */

ATF_TC_WITHOUT_HEAD(not_tls);
ATF_TC_BODY(not_tls, tc)
{
	static const uint8_t	 sslv2[] = { 0x80, 0x2b, 0x01, 0x03, 0x01 };
	static const uint8_t	 pgssl[] = { 0, 0, 0, 8, 4, 210, 22, 47 };
	struct hello		 h;

	ATF_CHECK_EQ(parse((const uint8_t *)"", 0, &h), HELLO_NEED_MORE);
	ATF_CHECK_EQ(parse((const uint8_t *)"G", 1, &h), HELLO_NOT_TLS);
	ATF_CHECK_EQ(parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &h),
	    HELLO_NOT_TLS);
	ATF_CHECK_EQ(parse(sslv2, sizeof(sslv2), &h), HELLO_NOT_TLS);
	ATF_CHECK_EQ(parse(pgssl, sizeof(pgssl), &h), HELLO_NOT_TLS);
	/* an alert or application data record is not a hello either */
	ATF_CHECK_EQ(parse((const uint8_t *)"\x15\x03\x03\x00\x02", 5, &h),
	    HELLO_NOT_TLS);
	ATF_CHECK_EQ(parse((const uint8_t *)"\x17", 1, &h), HELLO_NOT_TLS);
	ATF_CHECK_EQ(parse((const uint8_t *)"\x16", 1, &h), HELLO_NEED_MORE);
}

ATF_TC_WITHOUT_HEAD(record_header);
ATF_TC_BODY(record_header, tc)
{
	static struct buf	 b;
	struct hello		 h;

	simple_hello(&b, "a.example", NULL, NULL);
	b.b[1] = 2;
	ATF_CHECK_EQ(parse(b.b, 2, &h), HELLO_BAD);
	ATF_CHECK_STREQ(h.why, "record version is not 3.x");
	b.b[1] = 3;
	b.b[2] = 0;		/* an SSL 3.0 record version is fine */
	expect_ok(&b, "a.example");
	set16(&b, 3, 0);
	expect_bad(&b, "empty handshake record");
	ATF_CHECK_EQ(parse(b.b, 5, &h), HELLO_BAD);
	set16(&b, 3, 16385);
	ATF_CHECK_EQ(parse(b.b, 5, &h), HELLO_BAD);
	ATF_CHECK_STREQ(h.why, "record longer than 16 KiB");
}

ATF_TC_WITHOUT_HEAD(not_client_hello);
ATF_TC_BODY(not_client_hello, tc)
{
	static struct buf	 b;
	struct hello		 h;

	simple_hello(&b, "a.example", NULL, NULL);
	b.b[OFF_HS] = 2;	/* ServerHello */
	ATF_CHECK_EQ(parse(b.b, OFF_HS + 1, &h), HELLO_BAD);
	ATF_CHECK_STREQ(h.why, "handshake message is not a ClientHello");
}

ATF_TC_WITHOUT_HEAD(split_records);
ATF_TC_BODY(split_records, tc)
{
	static const size_t	 two[] = { 100, 0 };
	static const size_t	 five[] = { 7, 1, 30, 60, 0 };
	static const size_t	 header[] = { 1, 1, 1, 1, 2, 0 };
	static struct buf	 b;
	struct hello		 h;
	char			 text[64];

	simple_hello(&b, "split.example.com", "h2,http/1.1", two);
	ATF_CHECK_EQ(b.b[4], 100);
	ATF_CHECK_EQ(b.b[5 + 100], 22);
	expect_ok(&b, "split.example.com");
	expect_prefixes(&b);

	simple_hello(&b, "split.example.com", "h2,http/1.1", five);
	expect_ok(&b, "split.example.com");
	expect_prefixes(&b);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	hello_alpn_text(&h, text, sizeof(text));
	ATF_CHECK_STREQ(text, "h2,http/1.1");
	ATF_CHECK_EQ(h.version, 0x0304);

	/* the handshake header itself across four records */
	simple_hello(&b, "split.example.com", NULL, header);
	expect_ok(&b, "split.example.com");
	expect_prefixes(&b);
}

ATF_TC_WITHOUT_HEAD(record_middle);
ATF_TC_BODY(record_middle, tc)
{
	static const size_t	 cuts[] = { 50, 50, 0 };
	static struct buf	 b;
	enum hello_status	 st;
	size_t			 at;

	simple_hello(&b, "a.example", NULL, cuts);
	b.b[5 + 50] = 23;	/* application data between two parts */
	expect_bad(&b, "non-handshake record inside the hello");
	at = decided_at(&b, &st);
	ATF_CHECK_EQ(st, HELLO_BAD);
	ATF_CHECK_EQ(at, 5 + 50 + 1);
	b.b[5 + 50] = 21;	/* an alert */
	expect_bad(&b, "non-handshake record inside the hello");
}

ATF_TC_WITHOUT_HEAD(record_tail);
ATF_TC_BODY(record_tail, tc)
{
	static struct buf	 b, body, more;
	struct hello		 h;
	size_t			 at, hello_len;

	/* the record holding the end of the hello holds more after it */
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "tail.example");
	vclose(&body, at, 2);
	more.n = 0;
	put8(&more, 1);
	put8(&more, 0);
	put16(&more, body.n);
	put(&more, body.b, body.n);
	fill(&more, 0xee, 10);
	records(&b, more.b, more.n, NULL);
	expect_ok(&b, "tail.example");
	/* the record is waited for whole, so h->len never exceeds len */
	ATF_CHECK_EQ(parse(b.b, b.n - 1, &h), HELLO_NEED_MORE);

	/* records after the hello's are not the hello's */
	simple_hello(&b, "tail.example", NULL, NULL);
	hello_len = b.n;
	put8(&b, 23);
	put16(&b, 0x0303);
	put16(&b, 3);
	fill(&b, 0, 3);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.len, hello_len);
	ATF_CHECK_EQ(parse(b.b, hello_len, &h), HELLO_OK);
}

/*
 * Sizes.
 */

ATF_TC_WITHOUT_HEAD(big_hellos);
ATF_TC_BODY(big_hellos, tc)
{
	static const unsigned int v[] = { 0x0304 };
	static struct buf	 b, body;
	size_t			 at;

	/* X25519MLKEM768 (0x11ec): a key share of 1216 bytes */
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "pq.example.com");
	ext_alpn(&body, "h2");
	ext_versions(&body, v, 1);
	ext_keyshare(&body, 0x11ec, 1216);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_CHECK(b.n > 1300 && b.n < 1600);
	expect_ok(&b, "pq.example.com");
	expect_prefixes(&b);

	/* about 8 KB, as with several post-quantum shares and padding */
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "big.example.com");
	ext_versions(&body, v, 1);
	ext_keyshare(&body, 0x11ec, 1216);
	ext_pad(&body, 8192 - 1400);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_CHECK(b.n > 8000 && b.n < 8300);
	expect_ok(&b, "big.example.com");
	expect_prefixes(&b);
}

/* A hello whose handshake message is msglen bytes, padding included. */
static void
padded_hello(struct buf *b, size_t msglen, const size_t *cuts)
{
	static struct buf	 body;
	size_t			 at;

	at = body_begin(&body, 0x0303);
	ext_sni(&body, "max.example");
	ATF_REQUIRE(msglen >= 4 + body.n + 4);
	ext_pad(&body, msglen - 4 - body.n - 4);
	vclose(&body, at, 2);
	wrap(b, &body, cuts);
	ATF_REQUIRE_EQ(body.n + 4, msglen);
}

ATF_TC_WITHOUT_HEAD(max_size);
ATF_TC_BODY(max_size, tc)
{
	static const size_t	 small[] = { 100, 0 };
	static const size_t	 halves[] = { 8000, 0 };
	static const size_t	 thirds[] = {
		8000, HELLO_MAX - 10 - 8001, 0
	};
	static struct buf	 b;
	enum hello_status	 st;
	struct hello		 h;

	/* the largest hello, in one record and in two */
	padded_hello(&b, HELLO_MAX - 5, NULL);
	ATF_REQUIRE_EQ(b.n, HELLO_MAX);
	expect_ok(&b, "max.example");
	expect_prefixes(&b);
	padded_hello(&b, HELLO_MAX - 10, halves);
	ATF_REQUIRE_EQ(b.n, HELLO_MAX);
	expect_ok(&b, "max.example");
	expect_prefixes(&b);

	/* one byte more is refused once the record header says so */
	padded_hello(&b, HELLO_MAX - 4, NULL);
	ATF_REQUIRE_EQ(b.n, HELLO_MAX + 1);
	expect_bad(&b, "hello larger than 16 KiB");
	ATF_CHECK_EQ(decided_at(&b, &st), 5);
	ATF_CHECK_EQ(st, HELLO_BAD);
	/* or the handshake header, when the first record is small */
	padded_hello(&b, HELLO_MAX - 4, small);
	expect_bad(&b, "hello larger than 16 KiB");
	ATF_CHECK_EQ(decided_at(&b, &st), 9);
	ATF_CHECK_EQ(st, HELLO_BAD);
	/* or, split, once a record header says it ends past HELLO_MAX */
	padded_hello(&b, HELLO_MAX - 9, halves);
	ATF_REQUIRE_EQ(b.n, HELLO_MAX + 1);
	expect_bad(&b, "hello larger than 16 KiB");
	ATF_CHECK_EQ(decided_at(&b, &st), 5 + 8000 + 5);
	ATF_CHECK_EQ(st, HELLO_BAD);

	/* 16 KiB without the hello's end: the relay reads no more */
	padded_hello(&b, HELLO_MAX - 10, thirds);
	ATF_REQUIRE_EQ(b.n, HELLO_MAX + 5);
	ATF_CHECK_EQ(parse(b.b, HELLO_MAX - 1, &h), HELLO_NEED_MORE);
	ATF_CHECK_EQ(parse(b.b, HELLO_MAX, &h), HELLO_BAD);
	ATF_CHECK_STREQ(h.why, "no complete hello in 16 KiB");
	expect_bad(&b, "hello larger than 16 KiB");
}

ATF_TC_WITHOUT_HEAD(tiny_records);
ATF_TC_BODY(tiny_records, tc)
{
	static size_t		 ones[HELLO_MAX];	/* 0-terminated */
	static struct buf	 b;
	enum hello_status	 st;
	size_t			 i;

	/* one byte per record: six bytes on the wire for each */
	for (i = 0; i < HELLO_MAX - 1; i++)
		ones[i] = 1;
	simple_hello(&b, "tiny.example", "h2", ones);
	expect_ok(&b, "tiny.example");
	expect_prefixes(&b);

	/* so 3000 bytes of hello take more than 16 KiB */
	padded_hello(&b, 3000, ones);
	ATF_REQUIRE_EQ(b.n, 6 * 3000);
	ATF_CHECK_EQ(decided_at(&b, &st), HELLO_MAX);
	ATF_CHECK_EQ(st, HELLO_BAD);
}

/*
 * The ClientHello body.
 */

ATF_TC_WITHOUT_HEAD(basic);
ATF_TC_BODY(basic, tc)
{
	static struct buf	 b;
	struct hello		 h;

	simple_hello(&b, "db.example.com", "h2,http/1.1", NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_STREQ(h.sni, "db.example.com");
	ATF_CHECK_EQ(h.alpn_len, 1 + 2 + 1 + 8);
	ATF_CHECK_EQ(h.version, 0x0304);
	ATF_CHECK_EQ(h.len, b.n);
	ATF_CHECK(h.why == NULL);
	expect_prefixes(&b);
}

ATF_TC_WITHOUT_HEAD(no_sni);
ATF_TC_BODY(no_sni, tc)
{
	static struct buf	 b, body;
	struct hello		 h;
	size_t			 at;

	simple_hello(&b, NULL, "h2", NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_STREQ(h.sni, "");
	ATF_CHECK(hello_has_alpn(&h, "h2"));

	/* an old hello: no extensions at all, legacy_version stands */
	body_begin(&body, 0x0301);
	body.n -= 2;
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_STREQ(h.sni, "");
	ATF_CHECK_EQ(h.alpn_len, 0);
	ATF_CHECK_EQ(h.version, 0x0301);

	/* an empty extension block */
	at = body_begin(&body, 0x0303);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_ok(&b, "");

	/* a name of an unknown type is skipped */
	at = body_begin(&body, 0x0303);
	put16(&body, 0);
	put16(&body, 2 + 3 + 4);
	put16(&body, 3 + 4);
	put8(&body, 7);
	put16(&body, 4);
	put(&body, "\x01\x02\x03\x04", 4);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_ok(&b, "");
}

ATF_TC_WITHOUT_HEAD(sni_case_dot);
ATF_TC_BODY(sni_case_dot, tc)
{
	static struct buf	 b;

	simple_hello(&b, "DB.Example.COM.", NULL, NULL);
	expect_ok(&b, "db.example.com");
	simple_hello(&b, "Under_Score-9.x", NULL, NULL);
	expect_ok(&b, "under_score-9.x");
	simple_hello(&b, "localhost", NULL, NULL);
	expect_ok(&b, "localhost");
}

ATF_TC_WITHOUT_HEAD(sni_bad_names);
ATF_TC_BODY(sni_bad_names, tc)
{
	static const char *const bad[] = {
		"a..example.com", ".example.com", ".", "..", "a..",
		"a b.example", "*.example.com", "a/b", "caf\xc3\xa9.example",
		"a\x7f.b", "a\0b", "a:443"
	};
	static struct buf	 b, body;
	char			 name[300];
	size_t			 at, i;

	simple_hello(&b, "", NULL, NULL);
	expect_bad(&b, "empty server name");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at = body_begin(&body, 0x0303);
		/* "a\0b" is three bytes */
		ext_sni_n(&body, bad[i], i == 10 ? 3 : strlen(bad[i]));
		vclose(&body, at, 2);
		wrap(&b, &body, NULL);
		expect_bad(&b, NULL);
	}
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "b\xfc" "cher.example");
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "bad byte in the server name");

	/* 255 bytes is the most; a final dot may come on top of 254 */
	memset(name, 'a', sizeof(name));
	for (i = 63; i < 255; i += 64)
		name[i] = '.';
	name[255] = '\0';
	simple_hello(&b, name, NULL, NULL);
	expect_ok(&b, name);
	name[255] = 'a';
	name[256] = '\0';
	simple_hello(&b, name, NULL, NULL);
	expect_bad(&b, "server name longer than 255 bytes");
	name[254] = '.';
	name[255] = '\0';
	simple_hello(&b, name, NULL, NULL);
	name[254] = '\0';
	expect_ok(&b, name);
}

ATF_TC_WITHOUT_HEAD(sni_two_names);
ATF_TC_BODY(sni_two_names, tc)
{
	static struct buf	 b, body;
	size_t			 at, ext, list;

	at = body_begin(&body, 0x0303);
	put16(&body, 0);
	ext = vopen(&body, 2);
	list = vopen(&body, 2);
	put8(&body, 0);
	put16(&body, 9);
	put(&body, "a.example", 9);
	put8(&body, 0);
	put16(&body, 9);
	put(&body, "b.example", 9);
	vclose(&body, list, 2);
	vclose(&body, ext, 2);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "two host names");
}

ATF_TC_WITHOUT_HEAD(sni_lengths_lie);
ATF_TC_BODY(sni_lengths_lie, tc)
{
	static struct buf	 b;

	/* server_name at OFF_EXT1: type, length, list length, entry */
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXT1 + 4, 3 + 9 + 1);
	expect_bad(&b, "server name list length is wrong");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXT1 + 4, 3 + 9 - 1);
	expect_bad(&b, "server name list length is wrong");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXT1 + 7, 10);
	expect_bad(&b, "server name overruns its list");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXT1 + 4, 0);
	expect_bad(&b, "server name list length is wrong");
}

ATF_TC_WITHOUT_HEAD(body_lengths_lie);
ATF_TC_BODY(body_lengths_lie, tc)
{
	static struct buf	 b, body;
	struct hello		 h;
	size_t			 at;

	simple_hello(&b, "a.example", NULL, NULL);
	b.b[OFF_SID] = 33;
	expect_bad(&b, "session id longer than 32 bytes");
	simple_hello(&b, "a.example", NULL, NULL);
	b.b[OFF_SID] = 255;
	expect_bad(&b, "session id overruns the hello");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_CIPHERS, 0xfff0);
	expect_bad(&b, "cipher suites overrun the hello");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_CIPHERS, 5);
	expect_bad(&b, "cipher suite list is malformed");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_CIPHERS, 0);
	expect_bad(&b, "cipher suite list is malformed");
	simple_hello(&b, "a.example", NULL, NULL);
	b.b[OFF_COMP] = 0;
	expect_bad(&b, "no compression method");
	simple_hello(&b, "a.example", NULL, NULL);
	b.b[OFF_COMP] = 200;
	expect_bad(&b, "compression methods overrun the hello");

	/* the extension block's length, one way and the other */
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXTS, b.n - OFF_EXT1 + 1);
	expect_bad(&b, "extensions overrun the hello");
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_EXTS, b.n - OFF_EXT1 - 1);
	expect_bad(&b, "trailing bytes after the extensions");

	/* trailing bytes inside the hello */
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "a.example");
	vclose(&body, at, 2);
	put8(&body, 0);
	wrap(&b, &body, NULL);
	expect_bad(&b, "trailing bytes after the extensions");

	/* the handshake length shorter than what the record holds */
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_HS + 2, b.n - 9 - 1);
	expect_bad(&b, "extensions overrun the hello");
	/* longer: the rest may still come */
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, OFF_HS + 2, b.n - 9 + 1);
	ATF_CHECK_EQ(parse(b.b, b.n, &h), HELLO_NEED_MORE);

	/* a hello too short for its fixed fields */
	body.n = 0;
	put16(&body, 0x0303);
	fill(&body, 0, 20);
	wrap(&b, &body, NULL);
	expect_bad(&b, "hello too short");
	/* a client version that is not 3.x */
	body_begin(&body, 0x0200);
	body.n -= 2;
	wrap(&b, &body, NULL);
	expect_bad(&b, "client version is not 3.x");
}

ATF_TC_WITHOUT_HEAD(extension_overrun);
ATF_TC_BODY(extension_overrun, tc)
{
	static struct buf	 b, body;
	size_t			 at;

	at = body_begin(&body, 0x0303);
	put16(&body, 23);
	put16(&body, 9);
	put(&body, "abc", 3);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "extension overruns the hello");

	/* a lone byte where an extension header should be */
	at = body_begin(&body, 0x0303);
	ext_sni(&body, "a.example");
	put8(&body, 0);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, NULL);

	/* the last extension's length one past the end */
	simple_hello(&b, "a.example", NULL, NULL);
	set16(&b, b.n - (32 + 6) - 2, 32 + 6 + 1);
	expect_bad(&b, "extension overruns the hello");
}

ATF_TC_WITHOUT_HEAD(duplicate_extension);
ATF_TC_BODY(duplicate_extension, tc)
{
	static struct buf	 b, body;
	size_t			 at;

	at = body_begin(&body, 0x0303);
	ext_sni(&body, "a.example");
	ext_sni(&body, "b.example");
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "duplicate extension");

	at = body_begin(&body, 0x0303);
	ext_raw(&body, 23, "", 0);
	ext_sni(&body, "a.example");
	ext_raw(&body, 23, "", 0);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "duplicate extension");

	/* the highest type, twice */
	at = body_begin(&body, 0x0303);
	ext_raw(&body, 0xffff, "", 0);
	ext_raw(&body, 0xffff, "x", 1);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "duplicate extension");
}

ATF_TC_WITHOUT_HEAD(grease);
ATF_TC_BODY(grease, tc)
{
	static const unsigned int v[] = { 0x7a7a, 0x0303, 0x0304, 0x0302 };
	static const unsigned int g[] = { 0xdada };
	static struct buf	 b, body;
	struct hello		 h;
	size_t			 at;

	at = body_begin(&body, 0x0303);
	set16(&body, OFF_CIPHERS - 9 + 2, 0x2a2a);
	ext_raw(&body, 0x0a0a, "", 0);
	ext_sni(&body, "grease.example.com");
	ext_versions(&body, v, 4);
	ext_alpn(&body, "\x1a\x1a,h2");
	ext_keyshare(&body, 0x3a3a, 1);
	ext_raw(&body, 0xfafa, "\0", 1);
	ext_raw(&body, 0x0a0a, "", 0);	/* GREASE may repeat */
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_STREQ(h.sni, "grease.example.com");
	ATF_CHECK_EQ(h.version, 0x0304);
	ATF_CHECK(hello_has_alpn(&h, "h2"));

	/* nothing but GREASE offered: legacy_version stands */
	at = body_begin(&body, 0x0303);
	ext_versions(&body, g, 1);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.version, 0x0303);
}

ATF_TC_WITHOUT_HEAD(many_extensions);
ATF_TC_BODY(many_extensions, tc)
{
	static struct buf	 b, body;
	struct hello		 h;
	size_t			 at, i;

	at = body_begin(&body, 0x0303);
	for (i = 0; i < 30; i++)
		ext_raw(&body, 1000 + i, "abcd", i % 5);
	ext_sni(&body, "many.example.com");
	ext_alpn(&body, "h2,http/1.1");
	tls13(&body);
	for (i = 0; i < 20; i++)
		ext_raw(&body, 2000 + 7 * i, "", 0);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_STREQ(h.sni, "many.example.com");
	ATF_CHECK(hello_has_alpn(&h, "http/1.1"));
	expect_prefixes(&b);
}

ATF_TC_WITHOUT_HEAD(versions);
ATF_TC_BODY(versions, tc)
{
	static const unsigned int v[] = { 0x0301, 0x0304, 0x0302 };
	static struct buf	 b, body;
	struct hello		 h;
	size_t			 at;

	simple_hello(&b, "v.example", NULL, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.version, 0x0304);

	at = body_begin(&body, 0x0303);
	ext_versions(&body, v, 3);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.version, 0x0304);

	at = body_begin(&body, 0x0302);
	ext_sni(&body, "v.example");
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.version, 0x0302);

	/* an odd list, an empty one, a list length that lies */
	at = body_begin(&body, 0x0303);
	ext_raw(&body, 43, "\x03\x03\x04\x03", 4);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, NULL);
	at = body_begin(&body, 0x0303);
	ext_raw(&body, 43, "\x00", 1);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, NULL);
	at = body_begin(&body, 0x0303);
	ext_raw(&body, 43, "\x04\x03\x04", 3);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "supported versions length is wrong");
}

/*
 * ALPN.
 */

ATF_TC_WITHOUT_HEAD(alpn_match);
ATF_TC_BODY(alpn_match, tc)
{
	static struct buf	 b;
	struct hello		 h;

	simple_hello(&b, "a.example", "h2,http/1.1,postgresql", NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK(hello_has_alpn(&h, "h2"));
	ATF_CHECK(hello_has_alpn(&h, "http/1.1"));
	ATF_CHECK(hello_has_alpn(&h, "postgresql"));
	ATF_CHECK(!hello_has_alpn(&h, "h"));
	ATF_CHECK(!hello_has_alpn(&h, "h2c"));
	ATF_CHECK(!hello_has_alpn(&h, "H2"));
	ATF_CHECK(!hello_has_alpn(&h, "http/1.1,"));
	ATF_CHECK(!hello_has_alpn(&h, ""));
	ATF_CHECK(!hello_has_alpn(&h, NULL));

	simple_hello(&b, "a.example", NULL, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	ATF_CHECK_EQ(h.alpn_len, 0);
	ATF_CHECK(!hello_has_alpn(&h, "h2"));

	/* a struct filled by hand whose length exceeds its buffer */
	memset(&h, 0, sizeof(h));
	h.alpn_len = 0xffff;
	ATF_CHECK(!hello_has_alpn(&h, "h2"));
}

ATF_TC_WITHOUT_HEAD(alpn_bad);
ATF_TC_BODY(alpn_bad, tc)
{
	static struct buf	 b, body;
	struct hello		 h;
	char			 proto[256];
	size_t			 at, ext, list, i, j;

	/* ALPN at OFF_EXT1 when there is no sni */
	simple_hello(&b, NULL, "h2,http/1.1", NULL);
	set16(&b, OFF_EXT1 + 4, 12 + 1);
	expect_bad(&b, "ALPN list length is wrong");
	simple_hello(&b, NULL, "h2,http/1.1", NULL);
	b.b[OFF_EXT1 + 6 + 3] = 9;
	expect_bad(&b, "ALPN protocol overruns its list");
	simple_hello(&b, NULL, "h2,,http/1.1", NULL);
	expect_bad(&b, "empty ALPN protocol");
	at = body_begin(&body, 0x0303);
	ext_raw(&body, 16, "\0\0", 2);
	vclose(&body, at, 2);
	wrap(&b, &body, NULL);
	expect_bad(&b, "empty ALPN list");

	/* 1024 bytes of list are kept, 1025 refused */
	memset(proto, 'p', sizeof(proto));
	for (i = 0; i < 2; i++) {
		at = body_begin(&body, 0x0303);
		put16(&body, 16);
		ext = vopen(&body, 2);
		list = vopen(&body, 2);
		for (j = 0; j < 4; j++) {
			put8(&body, 255 - i * (j == 3));
			put(&body, proto, 255 - i * (j == 3));
		}
		if (i == 1) {
			put8(&body, 1);
			put8(&body, 'x');
		}
		vclose(&body, list, 2);
		vclose(&body, ext, 2);
		vclose(&body, at, 2);
		wrap(&b, &body, NULL);
		if (i == 1) {
			expect_bad(&b, "ALPN list longer than 1024 bytes");
			break;
		}
		ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
		ATF_CHECK_EQ(h.alpn_len, ALPN_RAW_MAX);
		proto[255] = '\0';
		ATF_CHECK(hello_has_alpn(&h, proto));
	}
}

ATF_TC_WITHOUT_HEAD(alpn_text);
ATF_TC_BODY(alpn_text, tc)
{
	static struct buf	 b;
	struct hello		 h;
	char			 text[64];

	simple_hello(&b, "a.example", "h2,http/1.1", NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	hello_alpn_text(&h, text, sizeof(text));
	ATF_CHECK_STREQ(text, "h2,http/1.1");
	/* truncated between units, never after a comma */
	hello_alpn_text(&h, text, 1);
	ATF_CHECK_STREQ(text, "");
	hello_alpn_text(&h, text, 3);
	ATF_CHECK_STREQ(text, "h2");
	hello_alpn_text(&h, text, 4);
	ATF_CHECK_STREQ(text, "h2");
	hello_alpn_text(&h, text, 5);
	ATF_CHECK_STREQ(text, "h2,h");
	text[0] = 'X';
	hello_alpn_text(&h, text, 0);
	ATF_CHECK_EQ(text[0], 'X');

	/* separators, backslashes, spaces and bytes that do not print */
	memset(&h, 0, sizeof(h));
	memcpy(h.alpn, "\x03" "a,b" "\x02" "\x00\xff" "\x03" "a b"
	    "\x02" "\\x", 14);
	h.alpn_len = 14;
	hello_alpn_text(&h, text, sizeof(text));
	ATF_CHECK_STREQ(text, "a\\x2cb,\\x00\\xff,a\\x20b,\\x5cx");
	/* an escape is written whole or not at all */
	hello_alpn_text(&h, text, 5);
	ATF_CHECK_STREQ(text, "a");
	hello_alpn_text(&h, text, 6);
	ATF_CHECK_STREQ(text, "a\\x2c");

	/* no ALPN: an empty text */
	h.alpn_len = 0;
	hello_alpn_text(&h, text, sizeof(text));
	ATF_CHECK_STREQ(text, "");
}

/*
 * Real hellos: the captured seeds of the fuzz corpus.
 */

static const char *
corpus_dir(const atf_tc_t *tc, char *buf, size_t len)
{
	snprintf(buf, len, "%s/../../fuzz/corpus/sni",
	    atf_tc_get_config_var(tc, "srcdir"));
	return buf;
}

static size_t
read_seed(const char *dir, const char *name, uint8_t *buf, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ATF_REQUIRE_MSG((f = fopen(path, "rb")) != NULL, "%s", path);
	n = fread(buf, 1, len, f);
	ATF_REQUIRE(!ferror(f));
	fclose(f);
	return n;
}

ATF_TC(real_clients);
ATF_TC_HEAD(real_clients, tc)
{
	atf_tc_set_md_var(tc, "descr", "ClientHellos captured from real "
	    "clients give the name, protocols and version they sent");
}
ATF_TC_BODY(real_clients, tc)
{
	static const struct {
		const char	*file;
		const char	*sni;
		const char	*alpn;
		unsigned int	 version;
	} seeds[] = {
		{ "real-openssl-tls13-sni", "db.example.com", "", 0x0304 },
		{ "real-openssl-tls12-sni", "db.example.com", "", 0x0303 },
		{ "real-openssl-tls13-nosni", "", "", 0x0304 },
		{ "real-openssl-tls12-nosni", "", "", 0x0303 },
		{ "real-openssl-alpn", "www.example.com", "h2,http/1.1",
		    0x0304 },
		{ "real-openssl-upper-dot", "db.example.com", "postgresql",
		    0x0304 },
		{ "real-openssl-tls10", "db.example.com", "", 0x0301 },
		{ "real-openssl-groups", "db.example.com", "", 0x0304 },
		{ "real-curl", "db.example.com", "h2,http/1.1", 0x0304 },
		{ "real-curl-http11-tls12", "db.example.com", "http/1.1",
		    0x0303 },
		{ "real-python-ssl", "db.example.com", "h2,http/1.1", 0x0304 },
		{ "real-python-ssl-nosni", "", "", 0x0304 },
		{ "real-wget-gnutls", "localhost", "", 0x0304 },
		{ "real-node", "db.example.com", "h2,http/1.1", 0x0304 },
		{ "real-java-jsse", "db.example.com", "h2,http/1.1", 0x0304 },
		{ "real-psql", "db.example.com", "", 0x0304 },
	};
	static struct buf	 b;
	struct hello		 h;
	char			 dir[PATH_MAX], text[256];
	size_t			 i;

	corpus_dir(tc, dir, sizeof(dir));
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		b.n = read_seed(dir, seeds[i].file, b.b, sizeof(b.b));
		ATF_REQUIRE_EQ_MSG(parse(b.b, b.n, &h), HELLO_OK, "%s: %s",
		    seeds[i].file, h.why ? h.why : "");
		ATF_CHECK_STREQ_MSG(h.sni, seeds[i].sni, "%s", seeds[i].file);
		hello_alpn_text(&h, text, sizeof(text));
		ATF_CHECK_STREQ_MSG(text, seeds[i].alpn, "%s", seeds[i].file);
		ATF_CHECK_EQ_MSG(h.version, seeds[i].version, "%s",
		    seeds[i].file);
		ATF_CHECK_EQ(h.len, b.n);
		expect_prefixes(&b);
	}
}

/* What any OK hello promises: a short, lower-case, dotted name. */
static void
check_name_sane(const char *file, const struct hello *h)
{
	const char	*p;

	ATF_REQUIRE(strnlen(h->sni, sizeof(h->sni)) < sizeof(h->sni));
	for (p = h->sni; *p != '\0'; p++)
		ATF_REQUIRE_MSG((*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.', "%s: byte %#x in the name", file,
		    (unsigned char)*p);
	ATF_REQUIRE(h->alpn_len <= ALPN_RAW_MAX);
}

/*
 * Every prefix of every seed: a status from the enum, BAD with a
 * reason, OK with a sane name, and once decided, decided for good.
 */
static void
replay(const char *file, const struct buf *b)
{
	struct hello		 h;
	enum hello_status	 st, first = HELLO_NEED_MORE;
	size_t			 n;

	for (n = 0; n <= b->n; n++) {
		st = parse(b->b, n, &h);
		ATF_REQUIRE_MSG(st <= HELLO_BAD, "%s: status %d", file, st);
		if (st == HELLO_BAD)
			ATF_REQUIRE_MSG(h.why != NULL, "%s: no reason", file);
		if (st == HELLO_OK) {
			check_name_sane(file, &h);
			ATF_REQUIRE(h.len <= n);
		}
		if (first != HELLO_NEED_MORE)
			ATF_REQUIRE_EQ_MSG(st, first, "%s: prefix %zu",
			    file, n);
		first = st;
	}
}

ATF_TC(corpus);
ATF_TC_HEAD(corpus, tc)
{
	atf_tc_set_md_var(tc, "descr", "Every prefix of every file of the "
	    "fuzz seed corpus parses to a valid status");
}
ATF_TC_BODY(corpus, tc)
{
	static struct buf	 b;
	char			 dir[PATH_MAX];
	struct dirent		*de;
	DIR			*d;
	int			 nfiles = 0;

	corpus_dir(tc, dir, sizeof(dir));
	ATF_REQUIRE_MSG((d = opendir(dir)) != NULL, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		b.n = read_seed(dir, de->d_name, b.b, sizeof(b.b));
		replay(de->d_name, &b);
		nfiles++;
	}
	closedir(d);
	ATF_CHECK_MSG(nfiles >= 30, "only %d seeds", nfiles);
}

/*
 * Routes.
 */

struct fixture {
	struct listener	 l;
	struct route	 r[8];
	int		 n;
};

static struct route *
fx_add(struct fixture *fx, enum route_match m, const char *sni,
    const char *alpn)
{
	struct route	*r;

	ATF_REQUIRE(fx->n < 8);
	r = &fx->r[fx->n];
	memset(r, 0, sizeof(*r));
	r->id = fx->n++;
	r->match = m;
	strlcpy(r->sni, sni, sizeof(r->sni));
	strlcpy(r->alpn, alpn, sizeof(r->alpn));
	if (m == MATCH_REGEX) {
		ATF_REQUIRE(regcomp(&r->re, sni,
		    REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0);
		r->re_ok = 1;
	}
	TAILQ_INSERT_TAIL(&fx->l.routes, r, entry);
	fx->l.nroutes++;
	return r;
}

static void
fx_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	TAILQ_INIT(&fx->l.routes);
}

static void
fx_free(struct fixture *fx)
{
	int	 i;

	for (i = 0; i < fx->n; i++)
		if (fx->r[i].re_ok)
			regfree(&fx->r[i].re);
}

/* The route a hello naming sni and offering alpn takes. */
static struct route *
find(struct fixture *fx, const char *sni, const char *alpn)
{
	static struct buf	 b;
	struct hello		 h;

	simple_hello(&b, sni, alpn, NULL);
	ATF_REQUIRE_EQ(parse(b.b, b.n, &h), HELLO_OK);
	return route_find(&fx->l, &h);
}

ATF_TC_WITHOUT_HEAD(route_order);
ATF_TC_BODY(route_order, tc)
{
	struct fixture	 fx;
	struct route	*exact, *wild_h2, *re, *pg, *wild;

	fx_init(&fx);
	exact = fx_add(&fx, MATCH_EXACT, "db.example.com", "");
	wild_h2 = fx_add(&fx, MATCH_WILDCARD, "example.com", "h2");
	re = fx_add(&fx, MATCH_REGEX, "^read-[0-9]+\\.example\\.com$", "");
	pg = fx_add(&fx, MATCH_ANY, "", "postgresql");
	wild = fx_add(&fx, MATCH_WILDCARD, "example.com", "");

	ATF_CHECK(find(&fx, "db.example.com", NULL) == exact);
	ATF_CHECK(find(&fx, "DB.Example.com.", "h2") == exact);
	ATF_CHECK(find(&fx, "x.example.com", "h2") == wild_h2);
	ATF_CHECK(find(&fx, "x.example.com", "http/1.1,h2") == wild_h2);
	ATF_CHECK(find(&fx, "x.example.com", "h2c") == wild);
	ATF_CHECK(find(&fx, "x.example.com", NULL) == wild);
	/* order decides between routes that both match */
	ATF_CHECK(find(&fx, "read-12.example.com", "h2") == wild_h2);
	ATF_CHECK(find(&fx, "read-12.example.com", NULL) == re);
	ATF_CHECK(find(&fx, "READ-7.example.com", NULL) == re);
	ATF_CHECK(find(&fx, "read-x.example.com", NULL) == wild);
	ATF_CHECK(find(&fx, "read-12.example.com", "postgresql") == re);
	ATF_CHECK(find(&fx, "other.org", "postgresql") == pg);
	/* a hello without a name only takes routes without sni */
	ATF_CHECK(find(&fx, NULL, "postgresql") == pg);
	ATF_CHECK(find(&fx, NULL, "h2") == NULL);
	ATF_CHECK(find(&fx, NULL, NULL) == NULL);
	ATF_CHECK(find(&fx, "other.org", NULL) == NULL);
	ATF_CHECK(find(&fx, "example.com", NULL) == NULL);
	ATF_CHECK(find(&fx, "a.b.example.com", NULL) == wild);
	ATF_CHECK(find(&fx, "xexample.com", NULL) == NULL);
	fx_free(&fx);

	/* an empty list and a catch-all */
	fx_init(&fx);
	ATF_CHECK(find(&fx, "db.example.com", NULL) == NULL);
	wild = fx_add(&fx, MATCH_ANY, "", "");
	ATF_CHECK(find(&fx, "db.example.com", NULL) == wild);
	ATF_CHECK(find(&fx, NULL, NULL) == wild);
	fx_free(&fx);
}

ATF_TC_WITHOUT_HEAD(route_wildcard);
ATF_TC_BODY(route_wildcard, tc)
{
	struct fixture	 fx;
	struct route	*r;

	fx_init(&fx);
	r = fx_add(&fx, MATCH_WILDCARD, "example.com", "");
	ATF_CHECK(route_name_match(r, "a.example.com"));
	ATF_CHECK(route_name_match(r, "a.b.example.com"));
	ATF_CHECK(route_name_match(r, "A.EXAMPLE.COM"));
	ATF_CHECK(route_name_match(r, "_x-1.example.com"));
	ATF_CHECK(!route_name_match(r, "example.com"));
	ATF_CHECK(!route_name_match(r, ".example.com"));
	ATF_CHECK(!route_name_match(r, "a..example.com"));
	ATF_CHECK(!route_name_match(r, ".a.example.com"));
	ATF_CHECK(!route_name_match(r, "xexample.com"));
	ATF_CHECK(!route_name_match(r, "a.example.com.evil"));
	ATF_CHECK(!route_name_match(r, "a.example.org"));
	ATF_CHECK(!route_name_match(r, "com"));
	ATF_CHECK(!route_name_match(r, ""));

	r = fx_add(&fx, MATCH_EXACT, "db.example.com", "");
	ATF_CHECK(route_name_match(r, "db.example.com"));
	ATF_CHECK(route_name_match(r, "DB.EXAMPLE.COM"));
	ATF_CHECK(!route_name_match(r, "x.db.example.com"));
	ATF_CHECK(!route_name_match(r, "db.example.co"));
	fx_free(&fx);
}

ATF_TC_WITHOUT_HEAD(route_regex);
ATF_TC_BODY(route_regex, tc)
{
	struct fixture	 fx;
	struct route	*r;

	fx_init(&fx);
	r = fx_add(&fx, MATCH_REGEX, "^read-[0-9]+\\.example\\.com$", "");
	ATF_CHECK(route_name_match(r, "read-1.example.com"));
	ATF_CHECK(route_name_match(r, "Read-42.Example.COM"));
	ATF_CHECK(!route_name_match(r, "read-.example.com"));
	ATF_CHECK(!route_name_match(r, "xread-1.example.com"));
	ATF_CHECK(!route_name_match(r, "read-1.example.com.evil"));
	/* unanchored: anywhere in the name */
	r = fx_add(&fx, MATCH_REGEX, "staging", "");
	ATF_CHECK(route_name_match(r, "db.staging.example.com"));
	ATF_CHECK(!route_name_match(r, "db.prod.example.com"));
	/* a regex that did not compile matches nothing */
	regfree(&r->re);
	r->re_ok = 0;
	ATF_CHECK(!route_name_match(r, "db.staging.example.com"));
	fx_free(&fx);
}

ATF_TC_WITHOUT_HEAD(route_key);
ATF_TC_BODY(route_key, tc)
{
	struct fixture	 fx;
	struct route	*r;
	char		 key[STATS_KEY_MAX], small[8];

	fx_init(&fx);
	r = fx_add(&fx, MATCH_EXACT, "db.example.com", "");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "db.example.com");
	r = fx_add(&fx, MATCH_WILDCARD, "example.com", "");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "*.example.com");
	r = fx_add(&fx, MATCH_REGEX, "^read-[0-9]+\\.example\\.com$", "");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "~^read-[0-9]+\\.example\\.com$");
	r = fx_add(&fx, MATCH_WILDCARD, "staging.example.com", "h2");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "*.staging.example.com alpn=h2");
	r = fx_add(&fx, MATCH_ANY, "", "postgresql");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "alpn=postgresql");
	r = fx_add(&fx, MATCH_ANY, "", "");
	route_key(r, key, sizeof(key));
	ATF_CHECK_STREQ(key, "any");
	/* truncated, terminated */
	r = &fx.r[0];
	route_key(r, small, sizeof(small));
	ATF_CHECK_STREQ(small, "db.exam");
	fx_free(&fx);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, not_tls);
	ATF_TP_ADD_TC(tp, record_header);
	ATF_TP_ADD_TC(tp, not_client_hello);
	ATF_TP_ADD_TC(tp, split_records);
	ATF_TP_ADD_TC(tp, record_middle);
	ATF_TP_ADD_TC(tp, record_tail);
	ATF_TP_ADD_TC(tp, big_hellos);
	ATF_TP_ADD_TC(tp, max_size);
	ATF_TP_ADD_TC(tp, tiny_records);
	ATF_TP_ADD_TC(tp, basic);
	ATF_TP_ADD_TC(tp, no_sni);
	ATF_TP_ADD_TC(tp, sni_case_dot);
	ATF_TP_ADD_TC(tp, sni_bad_names);
	ATF_TP_ADD_TC(tp, sni_two_names);
	ATF_TP_ADD_TC(tp, sni_lengths_lie);
	ATF_TP_ADD_TC(tp, body_lengths_lie);
	ATF_TP_ADD_TC(tp, extension_overrun);
	ATF_TP_ADD_TC(tp, duplicate_extension);
	ATF_TP_ADD_TC(tp, grease);
	ATF_TP_ADD_TC(tp, many_extensions);
	ATF_TP_ADD_TC(tp, versions);
	ATF_TP_ADD_TC(tp, alpn_match);
	ATF_TP_ADD_TC(tp, alpn_bad);
	ATF_TP_ADD_TC(tp, alpn_text);
	ATF_TP_ADD_TC(tp, real_clients);
	ATF_TP_ADD_TC(tp, corpus);
	ATF_TP_ADD_TC(tp, route_order);
	ATF_TP_ADD_TC(tp, route_wildcard);
	ATF_TP_ADD_TC(tp, route_regex);
	ATF_TP_ADD_TC(tp, route_key);
	return atf_no_error();
}
