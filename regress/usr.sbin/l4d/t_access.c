/*
 * Unit tests for acl.c (networks, the range table), ratelimit.c (the
 * token buckets, the bounded table) and proxy_protocol.c (the PROXY
 * header reader and writer).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <atf-c.h>

#include "l4d.h"

/*
 * For t_access_asan: libatf-c keeps its test-case list until exit,
 * which is not ours to report (as in t_sni).
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

static struct sockaddr_storage
sa_of(const char *ip, int port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		ATF_REQUIRE(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

static struct acl *
acl_of(const char *const *nets, size_t n)
{
	struct acl	*a = NULL;
	struct cidr	 c;
	char		 why[96];
	size_t		 i;

	for (i = 0; i < n; i++) {
		ATF_REQUIRE_MSG(cidr_parse(nets[i], &c, why, sizeof(why)) == 0,
		    "%s: %s", nets[i], why);
		ATF_REQUIRE(acl_add(&a, &c) == 0);
	}
	ATF_REQUIRE(acl_build(a) == 0);
	return a;
}

static int
matches(struct acl *a, const char *ip)
{
	struct sockaddr_storage	 ss = sa_of(ip, 1);

	return acl_match(a, (struct sockaddr *)&ss);
}

static long long
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

ATF_TC_WITHOUT_HEAD(cidr_syntax);
ATF_TC_BODY(cidr_syntax, tc)
{
	struct cidr	 c;
	char		 why[96];

	ATF_CHECK(cidr_parse("10.0.0.0/8", &c, why, sizeof(why)) == 0 &&
	    c.family == AF_INET && c.prefix == 8);
	ATF_CHECK(cidr_parse("127.0.0.2", &c, why, sizeof(why)) == 0 &&
	    c.prefix == 32);
	ATF_CHECK(cidr_parse("2001:db8::/32", &c, why, sizeof(why)) == 0 &&
	    c.family == AF_INET6 && c.prefix == 32);
	ATF_CHECK(cidr_parse("::1", &c, why, sizeof(why)) == 0 &&
	    c.prefix == 128);
	ATF_CHECK(cidr_parse("0.0.0.0/0", &c, why, sizeof(why)) == 0);
	/* v4-mapped networks are IPv4 networks */
	ATF_CHECK(cidr_parse("::ffff:10.0.0.0/104", &c, why,
	    sizeof(why)) == 0 && c.family == AF_INET && c.prefix == 8);
	ATF_CHECK(cidr_parse("10.0.0.1/8", &c, why, sizeof(why)) == -1);
	ATF_CHECK(strstr(why, "beyond the prefix") != NULL);
	ATF_CHECK(cidr_parse("10.0.0.0/33", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("10.0.0.0/", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("10.0.0.0/-1", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("2001:db8::/129", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("db.example.com", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("10.0.0", &c, why, sizeof(why)) == -1);
	ATF_CHECK(cidr_parse("", &c, why, sizeof(why)) == -1);
}

ATF_TC_WITHOUT_HEAD(acl_lookup);
ATF_TC_BODY(acl_lookup, tc)
{
	static const char *const nets[] = { "10.0.0.0/8", "10.9.0.0/16",
	    "192.168.1.128/25", "127.0.0.2", "2001:db8::/32", "::1",
	    "fe80::/10", "0.0.0.0/32", "255.255.255.255/32" };
	struct acl	*a = acl_of(nets, nitems(nets));

	ATF_CHECK(matches(a, "10.0.0.0"));
	ATF_CHECK(matches(a, "10.255.255.255"));
	ATF_CHECK(matches(a, "10.9.3.4"));
	ATF_CHECK(!matches(a, "11.0.0.0"));
	ATF_CHECK(!matches(a, "9.255.255.255"));
	ATF_CHECK(matches(a, "192.168.1.128"));
	ATF_CHECK(matches(a, "192.168.1.255"));
	ATF_CHECK(!matches(a, "192.168.1.127"));
	ATF_CHECK(matches(a, "127.0.0.2"));
	ATF_CHECK(!matches(a, "127.0.0.3"));
	ATF_CHECK(!matches(a, "127.0.0.1"));
	ATF_CHECK(matches(a, "0.0.0.0"));
	ATF_CHECK(matches(a, "255.255.255.255"));
	ATF_CHECK(matches(a, "2001:db8:ffff::1"));
	ATF_CHECK(!matches(a, "2001:db9::"));
	ATF_CHECK(matches(a, "::1"));
	ATF_CHECK(!matches(a, "::2"));
	ATF_CHECK(matches(a, "febf:ffff::1"));
	ATF_CHECK(!matches(a, "fec0::"));
	/* a v4-mapped client is matched as IPv4 */
	ATF_CHECK(matches(a, "::ffff:127.0.0.2"));
	ATF_CHECK(matches(a, "::ffff:10.1.2.3"));
	ATF_CHECK(!matches(a, "::ffff:127.0.0.3"));
	/* nested and duplicate networks merge */
	ATF_CHECK(a->nv4 == 5);
	acl_free(a);
	ATF_CHECK(acl_match(NULL, (struct sockaddr *)&(struct
	    sockaddr_storage){ .ss_family = AF_INET }) == 0);
}

ATF_TC_WITHOUT_HEAD(acl_all);
ATF_TC_BODY(acl_all, tc)
{
	static const char *const nets[] = { "0.0.0.0/0", "::/0" };
	struct acl	*a = acl_of(nets, nitems(nets));

	ATF_CHECK(matches(a, "1.2.3.4"));
	ATF_CHECK(matches(a, "255.255.255.255"));
	ATF_CHECK(matches(a, "ffff::1"));
	ATF_CHECK(matches(a, "::"));
	acl_free(a);
}

/*
 * 10,000 networks cost a lookup as long as 14 comparisons: a lookup
 * among 10,000 must stay within a small multiple of one among 10
 * (both print their cost per lookup).
 */
ATF_TC_WITHOUT_HEAD(acl_bench);
ATF_TC_BODY(acl_bench, tc)
{
	struct acl		*small = NULL, *big = NULL;
	struct cidr		 c;
	struct sockaddr_in	 sin;
	long long		 t0, t_small, t_big;
	uint32_t		 i, hits = 0, n = 2000000;
	struct acl		*which[2];
	long long		*dt[2] = { &t_small, &t_big };
	int			 k;

	for (i = 0; i < 10000; i++) {
		memset(&c, 0, sizeof(c));
		c.family = AF_INET;
		c.prefix = 24;
		c.addr[0] = 10;
		c.addr[1] = (i >> 8) & 0xff;
		c.addr[2] = i & 0xff;
		ATF_REQUIRE(acl_add(&big, &c) == 0);
		if (i < 10)
			ATF_REQUIRE(acl_add(&small, &c) == 0);
	}
	ATF_REQUIRE(acl_build(big) == 0 && acl_build(small) == 0);
	ATF_REQUIRE(big->nv4 == 10000);
	which[0] = small;
	which[1] = big;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (k = 0; k < 2; k++) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			sin.sin_addr.s_addr = htonl(0x0a000000U +
			    ((i * 2654435761U) & 0xffffff));
			hits += acl_match(which[k], (struct sockaddr *)&sin);
		}
		*dt[k] = now_ns() - t0;
	}
	printf("acl_match: 10 networks %.1f ns, 10000 networks %.1f ns "
	    "per lookup (%u hits)\n", (double)t_small / n, (double)t_big / n,
	    hits);
	ATF_CHECK_MSG((double)t_big / n < 1000.0,
	    "a lookup among 10000 networks took %.1f ns", (double)t_big / n);
	acl_free(small);
	acl_free(big);
}

static struct rate_conf
rate_of(uint32_t per, long long interval, uint32_t burst, uint32_t size)
{
	struct rate_conf	 rc;

	memset(&rc, 0, sizeof(rc));
	rc.per_source = per;
	rc.interval_ms = interval;
	rc.burst = burst;
	rc.table_size = size;
	rc.ipv6_prefix = 64;
	return rc;
}

static int
admit(struct rate_table *t, const char *ip, long long now)
{
	struct sockaddr_storage	 ss = sa_of(ip, 1);

	return rate_admit(t, (struct sockaddr *)&ss, now);
}

ATF_TC_WITHOUT_HEAD(rate_bucket);
ATF_TC_BODY(rate_bucket, tc)
{
	struct rate_conf	 rc = rate_of(10, 1000, 10, 1024);
	struct rate_table	*t = rate_table_new(&rc);
	int			 i, n = 0;

	ATF_REQUIRE(t != NULL);
	/* the burst at once, then nothing */
	for (i = 0; i < 100; i++)
		n += admit(t, "127.0.0.2", 1000);
	ATF_CHECK_EQ(n, 10);
	/* another source has its own bucket */
	ATF_CHECK(admit(t, "127.0.0.3", 1000));
	/* one token per 100 ms */
	ATF_CHECK(!admit(t, "127.0.0.2", 1099));
	ATF_CHECK(admit(t, "127.0.0.2", 1100));
	ATF_CHECK(!admit(t, "127.0.0.2", 1100));
	/* a long pause fills the bucket to the burst, no more */
	for (i = 0, n = 0; i < 100; i++)
		n += admit(t, "127.0.0.2", 1000000);
	ATF_CHECK_EQ(n, 10);
	/* v4-mapped is the same source */
	ATF_CHECK(!admit(t, "::ffff:127.0.0.2", 1000000));
	rate_table_free(t);
}

ATF_TC_WITHOUT_HEAD(rate_ipv6_prefix);
ATF_TC_BODY(rate_ipv6_prefix, tc)
{
	struct rate_conf	 rc = rate_of(1, 1000, 2, 1024);
	struct rate_table	*t = rate_table_new(&rc);

	ATF_REQUIRE(t != NULL);
	ATF_CHECK(admit(t, "2001:db8:1:2::1", 5000));
	ATF_CHECK(admit(t, "2001:db8:1:2:ffff::9", 5000));
	/* the same /64: its bucket is empty */
	ATF_CHECK(!admit(t, "2001:db8:1:2::77", 5000));
	/* the next /64 is another source */
	ATF_CHECK(admit(t, "2001:db8:1:3::1", 5000));
	rate_table_free(t);
}

/* A spray of sources recycles the least recently used entries. */
ATF_TC_WITHOUT_HEAD(rate_table_bound);
ATF_TC_BODY(rate_table_bound, tc)
{
	struct rate_conf	 rc = rate_of(1, 1000, 1, 64);
	struct rate_table	*t = rate_table_new(&rc);
	char			 ip[32];
	int			 i;

	ATF_REQUIRE(t != NULL);
	ATF_CHECK(admit(t, "127.0.0.2", 10));
	ATF_CHECK(!admit(t, "127.0.0.2", 10));
	for (i = 0; i < 100000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 0xff,
		    (i >> 8) & 0xff, i & 0xff);
		ATF_REQUIRE(admit(t, ip, 10));
		/* a source kept in use keeps its entry */
		if (i % 16 == 0)
			ATF_CHECK(!admit(t, "127.0.0.3", 10) || i == 0);
	}
	ATF_CHECK_EQ(rate_table_used(t), 64);
	ATF_CHECK(!admit(t, "127.0.0.3", 10));
	/* 127.0.0.2 was pushed out: it comes back with a full bucket */
	ATF_CHECK(admit(t, "127.0.0.2", 10));
	printf("table of 64: %zu bytes at most; ", rate_table_bytes(&rc));
	rc.table_size = 65536;
	printf("of 65536: %zu bytes\n", rate_table_bytes(&rc));
	rate_table_free(t);
}

static enum proxy_status
pp(const char *s, size_t len, struct proxy_hdr *h)
{
	return proxy_parse((const uint8_t *)s, len, h);
}

static const char *
src_of(struct proxy_hdr *h, char *buf, size_t len)
{
	return log_sockaddr((struct sockaddr *)&h->src, buf, len);
}

ATF_TC_WITHOUT_HEAD(proxy_v1);
ATF_TC_BODY(proxy_v1, tc)
{
	struct proxy_hdr	 h;
	char			 a[64];
	const char		*v4 = "PROXY TCP4 127.0.0.2 127.0.0.1 40000 "
				    "5432\r\nhello";
	const char		*v6 = "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n";
	size_t			 i, n = strlen(v4) - 5;

	ATF_REQUIRE(pp(v4, strlen(v4), &h) == PROXY_OK);
	ATF_CHECK_EQ(h.len, n);
	ATF_CHECK_EQ(h.version, 1);
	ATF_CHECK(!h.local);
	ATF_CHECK_STREQ(src_of(&h, a, sizeof(a)), "127.0.0.2:40000");
	/* every prefix asks for more */
	for (i = 0; i < n; i++)
		ATF_CHECK_MSG(pp(v4, i, &h) == PROXY_NEED_MORE, "at %zu", i);
	ATF_REQUIRE(pp(v6, strlen(v6), &h) == PROXY_OK);
	ATF_CHECK_STREQ(src_of(&h, a, sizeof(a)), "[2001:db8::1]:1");
	ATF_CHECK(pp("PROXY UNKNOWN\r\n", 15, &h) == PROXY_OK && h.local);
	ATF_CHECK(pp("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", 31, &h) ==
	    PROXY_OK && h.local);
}

ATF_TC_WITHOUT_HEAD(proxy_v1_bad);
ATF_TC_BODY(proxy_v1_bad, tc)
{
	static const char *const bad[] = {
		"GET / HTTP/1.0\r\n",
		"PROXX",
		"proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
		"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",
		"PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
		"PROXY \r\n",
	};
	struct proxy_hdr	 h;
	char			 big[300];
	size_t			 i;

	for (i = 0; i < nitems(bad); i++)
		ATF_CHECK_MSG(pp(bad[i], strlen(bad[i]), &h) == PROXY_BAD,
		    "%s", bad[i]);
	/* longer than 107 bytes without its end */
	memset(big, '9', sizeof(big));
	memcpy(big, "PROXY TCP4 ", 11);
	ATF_CHECK(pp(big, 107, &h) == PROXY_BAD);
	ATF_CHECK(pp(big, 106, &h) == PROXY_NEED_MORE);
	ATF_CHECK(pp(big, sizeof(big), &h) == PROXY_BAD);
	/* a NUL inside */
	ATF_CHECK(pp("PROXY TCP4 1.2.3.4\0 1.2.3.4 1 2\r\n", 33, &h) ==
	    PROXY_BAD);
}

static size_t
v2_hdr(uint8_t *b, uint8_t cmd, uint8_t fam, const uint8_t *body,
    uint16_t len)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

	memcpy(b, sig, 12);
	b[12] = cmd;
	b[13] = fam;
	b[14] = len >> 8;
	b[15] = len & 0xff;
	if (len > 0 && body != NULL)
		memcpy(b + 16, body, len);
	return 16 + (size_t)len;
}

ATF_TC_WITHOUT_HEAD(proxy_v2);
ATF_TC_BODY(proxy_v2, tc)
{
	struct proxy_hdr	 h;
	uint8_t			 b[PROXY_V2_MAX + 16], body[64];
	char			 a[64];
	size_t			 n, i;

	/* TCP4 127.0.0.2:40000 -> 127.0.0.1:5432, an AUTHORITY TLV */
	memcpy(body, "\x7f\x00\x00\x02\x7f\x00\x00\x01\x9c\x40\x15\x38", 12);
	memcpy(body + 12, "\x02\x00\x04" "db.x", 7);
	n = v2_hdr(b, 0x21, 0x11, body, 19);
	ATF_REQUIRE(proxy_parse(b, n, &h) == PROXY_OK);
	ATF_CHECK_EQ(h.len, n);
	ATF_CHECK_EQ(h.version, 2);
	ATF_CHECK_STREQ(src_of(&h, a, sizeof(a)), "127.0.0.2:40000");
	for (i = 0; i < n; i++)
		ATF_CHECK_MSG(proxy_parse(b, i, &h) == PROXY_NEED_MORE,
		    "at %zu", i);
	/* LOCAL: the peer's address stands */
	n = v2_hdr(b, 0x20, 0x00, NULL, 0);
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_OK && h.local);
	n = v2_hdr(b, 0x20, 0x11, body, 12);
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_OK && h.local);
	/* UNSPEC with PROXY too */
	n = v2_hdr(b, 0x21, 0x00, NULL, 0);
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_OK && h.local);
	/* the largest header: its TLV of 65,532 bytes skipped */
	memset(b, 0, sizeof(b));
	n = v2_hdr(b, 0x21, 0x11, body, 12);
	b[14] = 0xff;
	b[15] = 0xff;
	b[28] = 0xee;
	b[29] = 0xff;
	b[30] = 0xf0;		/* 65535 - 12 - 3 */
	ATF_CHECK(proxy_parse(b, PROXY_V2_MAX, &h) == PROXY_OK &&
	    h.len == PROXY_V2_MAX);
	ATF_CHECK(proxy_parse(b, PROXY_V2_MAX - 1, &h) == PROXY_NEED_MORE);
}

ATF_TC_WITHOUT_HEAD(proxy_v2_bad);
ATF_TC_BODY(proxy_v2_bad, tc)
{
	struct proxy_hdr	 h;
	uint8_t			 b[256], body[64];
	size_t			 n;

	memset(body, 0, sizeof(body));
	n = v2_hdr(b, 0x11, 0x11, body, 12);	/* version 1 */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x22, 0x11, body, 12);	/* command 2 */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x21, 0x11, body, 11);	/* short block */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x21, 0x21, body, 35);
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x21, 0x12, body, 12);	/* UDP */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x21, 0x41, body, 12);	/* unknown family */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	body[12] = 0x01;			/* a TLV past the end */
	body[13] = 0x00;
	body[14] = 0x05;
	n = v2_hdr(b, 0x21, 0x11, body, 16);
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	n = v2_hdr(b, 0x21, 0x11, body, 14);	/* 2 bytes of a TLV */
	ATF_CHECK(proxy_parse(b, n, &h) == PROXY_BAD);
	b[5] = 'X';				/* the signature */
	ATF_CHECK(proxy_parse(b, 6, &h) == PROXY_BAD);
}

/* What proxy_build() writes, proxy_parse() reads back. */
ATF_TC_WITHOUT_HEAD(proxy_build_roundtrip);
ATF_TC_BODY(proxy_build_roundtrip, tc)
{
	static const char *const pairs[][2] = {
		{ "127.0.0.2", "127.0.0.1" },
		{ "2001:db8::5", "::1" },
		{ "::ffff:127.0.0.2", "127.0.0.1" },
	};
	struct sockaddr_storage	 s, d;
	struct proxy_hdr	 h;
	struct proxy_ssl	 ssl = { "TLSv1.3", "client.example", 1 };
	uint8_t			 buf[PROXY_BUILD_MAX];
	char			 a[64], want[64];
	ssize_t			 n;
	size_t			 i;
	int			 v;

	for (i = 0; i < nitems(pairs); i++)
		for (v = 1; v <= 2; v++) {
			s = sa_of(pairs[i][0], 40000);
			d = sa_of(pairs[i][1], 5432);
			n = proxy_build(v, (struct sockaddr *)&s,
			    (struct sockaddr *)&d, "db.example.com", "pg",
			    v == 2 ? &ssl : NULL, buf, sizeof(buf));
			ATF_REQUIRE(n > 0);
			ATF_REQUIRE(proxy_parse(buf, n, &h) == PROXY_OK);
			ATF_CHECK_EQ(h.len, (size_t)n);
			ATF_CHECK(!h.local);
			snprintf(want, sizeof(want), strchr(pairs[i][0], '.') ?
			    "%s:40000" : "[%s]:40000", strchr(pairs[i][0],
			    '.') && strchr(pairs[i][0], ':') ?
			    pairs[i][0] + 7 : pairs[i][0]);
			ATF_CHECK_STREQ(src_of(&h, a, sizeof(a)), want);
		}
	/* families that differ: UNKNOWN, or UNSPEC */
	s = sa_of("2001:db8::5", 1);
	d = sa_of("127.0.0.1", 2);
	n = proxy_build(1, (struct sockaddr *)&s, (struct sockaddr *)&d,
	    NULL, NULL, NULL, buf, sizeof(buf));
	ATF_CHECK(n == 15 && memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
	n = proxy_build(2, (struct sockaddr *)&s, NULL, NULL, NULL, NULL,
	    buf, sizeof(buf));
	ATF_CHECK(n == 16 && buf[13] == 0x00);
	/* too small a buffer */
	ATF_CHECK(proxy_build(2, (struct sockaddr *)&s, (struct sockaddr *)&s,
	    "x", NULL, NULL, buf, 20) == -1);
}

/*
 * The seeds of the fuzz corpus (regress/fuzz/corpus/proxy): ok-* read
 * as a header, bad-* refused, more-* wait for more; every prefix of
 * each, in a buffer of its exact size, is undecided or decided alike.
 */
ATF_TC(proxy_corpus);
ATF_TC_HEAD(proxy_corpus, tc)
{
	atf_tc_set_md_var(tc, "descr", "The PROXY seeds of the fuzz corpus "
	    "read as their names say, and so do their prefixes");
}
ATF_TC_BODY(proxy_corpus, tc)
{
	static uint8_t		 buf[PROXY_V2_MAX + 64];
	struct proxy_hdr	 h;
	enum proxy_status	 st, want;
	char			 dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent		*de;
	uint8_t			*b;
	DIR			*d;
	FILE			*f;
	size_t			 n, i;
	int			 nfiles = 0;

	snprintf(dir, sizeof(dir), "%s/../../fuzz/corpus/proxy",
	    atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_MSG((d = opendir(dir)) != NULL, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ATF_REQUIRE((f = fopen(path, "rb")) != NULL);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		want = strncmp(de->d_name, "ok-", 3) == 0 ? PROXY_OK :
		    strncmp(de->d_name, "bad-", 4) == 0 ? PROXY_BAD :
		    PROXY_NEED_MORE;
		ATF_CHECK_MSG(proxy_parse(buf, n, &h) == want, "%s",
		    de->d_name);
		for (i = 0; i <= n; i++) {
			ATF_REQUIRE((b = malloc(i ? i : 1)) != NULL);
			memcpy(b, buf, i);
			st = proxy_parse(b, i, &h);
			free(b);
			ATF_CHECK_MSG(st == PROXY_NEED_MORE || st == want,
			    "%s: prefix of %zu", de->d_name, i);
		}
		nfiles++;
	}
	closedir(d);
	ATF_CHECK_MSG(nfiles >= 20, "only %d seeds", nfiles);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, cidr_syntax);
	ATF_TP_ADD_TC(tp, acl_lookup);
	ATF_TP_ADD_TC(tp, acl_all);
	ATF_TP_ADD_TC(tp, acl_bench);
	ATF_TP_ADD_TC(tp, rate_bucket);
	ATF_TP_ADD_TC(tp, rate_ipv6_prefix);
	ATF_TP_ADD_TC(tp, rate_table_bound);
	ATF_TP_ADD_TC(tp, proxy_v1);
	ATF_TP_ADD_TC(tp, proxy_v1_bad);
	ATF_TP_ADD_TC(tp, proxy_v2);
	ATF_TP_ADD_TC(tp, proxy_v2_bad);
	ATF_TP_ADD_TC(tp, proxy_build_roundtrip);
	ATF_TP_ADD_TC(tp, proxy_corpus);
	return atf_no_error();
}
