/*
 * The PROXY protocol (haproxy's proxy-protocol.txt), versions 1 and 2:
 * reading the header a trusted front balancer puts before a client's
 * bytes, and writing one before ours to a server.
 *
 * The reader is given what a client sent so far, from its first byte,
 * as often as more arrives.  It says "bad" as soon as the bytes cannot
 * begin a header any more (the spec forbids guessing, so there is no
 * fallback to a connection without one), "more" while a header could
 * still complete, and never reads outside buf[0..len).  A v1 header is
 * at most 107 bytes; a v2 one 16 + 65,535, its TLVs walked and skipped.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1sig[] = "PROXY ";

#define V2_CMD_LOCAL		0x0
#define V2_CMD_PROXY		0x1
#define V2_FAM_UNSPEC		0x00
#define V2_FAM_TCP4		0x11
#define V2_FAM_UDP4		0x12
#define V2_FAM_TCP6		0x21
#define V2_FAM_UDP6		0x22
#define V2_FAM_UNIX		0x31
#define V2_FAM_UNIX_DGRAM	0x32

#define PP2_TYPE_ALPN		0x01
#define PP2_TYPE_AUTHORITY	0x02
#define PP2_TYPE_SSL		0x20
#define PP2_SUBTYPE_SSL_VERSION	0x21
#define PP2_SUBTYPE_SSL_CN	0x22
#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04

static enum proxy_status
bad(struct proxy_hdr *h, const char *why)
{
	h->why = why;
	return PROXY_BAD;
}

static size_t
min_len(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* A decimal port, 0 to 65535, without leading zeros or signs. */
static int
v1_port(const char *s, in_port_t *port)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

static int
v1_addr(int family, const char *a, const char *p, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	in_port_t		 port;

	memset(ss, 0, sizeof(*ss));
	if (v1_port(p, &port) == -1)
		return -1;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		return inet_pton(AF_INET, a, &sin->sin_addr) == 1 ? 0 : -1;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = port;
	return inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* "PROXY TCP4 1.2.3.4 5.6.7.8 1234 5678\r\n", or "PROXY UNKNOWN...". */
static enum proxy_status
parse_v1(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	char		 line[PROXY_V1_MAX + 1], *f[6], *cp;
	size_t		 i, n;
	int		 family, nf;

	for (i = 0; i < len && i < PROXY_V1_MAX; i++)
		if (buf[i] == '\n')
			break;
	if (i == len && len < PROXY_V1_MAX)
		return PROXY_NEED_MORE;
	if (i == len || i == PROXY_V1_MAX)
		return bad(h, "v1 header longer than 107 bytes");
	if (i == 0 || buf[i - 1] != '\r')
		return bad(h, "v1 header not ended by CRLF");
	n = i - 1;
	memcpy(line, buf, n);
	line[n] = '\0';
	if (strlen(line) != n)
		return bad(h, "NUL in a v1 header");
	h->version = 1;
	h->len = i + 1;
	cp = line + sizeof(v1sig) - 1;
	if (strncmp(cp, "UNKNOWN", 7) == 0 && (cp[7] == '\0' || cp[7] == ' ')) {
		h->local = 1;
		return PROXY_OK;
	}
	for (nf = 0; nf < 6; nf++) {
		f[nf] = cp;
		if ((cp = strchr(cp, ' ')) == NULL) {
			nf++;
			break;
		}
		*cp++ = '\0';
	}
	if (nf != 5 || cp != NULL)
		return bad(h, "v1 header without 5 fields");
	if (strcmp(f[0], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[0], "TCP6") == 0)
		family = AF_INET6;
	else
		return bad(h, "v1 protocol neither TCP4, TCP6 nor UNKNOWN");
	if (v1_addr(family, f[1], f[3], &h->src) == -1 ||
	    v1_addr(family, f[2], f[4], &h->dst) == -1)
		return bad(h, "v1 address or port malformed");
	return PROXY_OK;
}

static uint16_t
be16dec(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The TLVs after the addresses: walked to their end, their values skipped. */
static int
v2_tlvs(const uint8_t *p, size_t len)
{
	size_t	 off = 0, n;

	while (off < len) {
		if (len - off < 3)
			return -1;
		n = be16dec(p + off + 1);
		if (n > len - off - 3)
			return -1;
		off += 3 + n;
	}
	return 0;
}

static enum proxy_status
parse_v2(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6	*d6 = (struct sockaddr_in6 *)&h->dst;
	const uint8_t		*a;
	size_t			 alen, need;
	int			 cmd, fam;

	if (len < PROXY_V2_HDR)
		return PROXY_NEED_MORE;
	if ((buf[12] >> 4) != 2)
		return bad(h, "v2 header of another version");
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	alen = be16dec(buf + 14);
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return bad(h, "v2 command neither LOCAL nor PROXY");
	if (len < PROXY_V2_HDR + alen)
		return PROXY_NEED_MORE;
	h->version = 2;
	h->len = PROXY_V2_HDR + alen;
	/* LOCAL (a front balancer's health check): the address block, if
	 * any, means nothing and the real peer's address stands */
	if (cmd == V2_CMD_LOCAL) {
		h->local = 1;
		return PROXY_OK;
	}
	a = buf + PROXY_V2_HDR;
	switch (fam) {
	case V2_FAM_TCP4:
		need = 12;
		break;
	case V2_FAM_TCP6:
		need = 36;
		break;
	case V2_FAM_UNIX:
		need = 216;
		break;
	case V2_FAM_UNSPEC:
		need = 0;
		break;
	case V2_FAM_UDP4:
	case V2_FAM_UDP6:
	case V2_FAM_UNIX_DGRAM:
		return bad(h, "v2 header of a datagram connection");
	default:
		return bad(h, "v2 address family unknown");
	}
	if (alen < need)
		return bad(h, "v2 address block too short for its family");
	if (v2_tlvs(a + need, alen - need) == -1)
		return bad(h, "v2 TLVs malformed");
	/* UNSPEC and UNIX: no address to use, the real peer's stands */
	if (fam == V2_FAM_UNSPEC || fam == V2_FAM_UNIX) {
		h->local = 1;
		return PROXY_OK;
	}
	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (fam == V2_FAM_TCP4) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
	} else {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
	}
	return PROXY_OK;
}

enum proxy_status
proxy_parse(const uint8_t *buf, size_t len, struct proxy_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_NEED_MORE;
	if (buf[0] == v2sig[0]) {
		if (memcmp(buf, v2sig, min_len(len, sizeof(v2sig))) != 0)
			return bad(h, "no PROXY header signature");
		if (len < sizeof(v2sig))
			return PROXY_NEED_MORE;
		return parse_v2(buf, len, h);
	}
	if (memcmp(buf, v1sig, min_len(len, sizeof(v1sig) - 1)) != 0)
		return bad(h, "no PROXY header signature");
	if (len < sizeof(v1sig) - 1)
		return PROXY_NEED_MORE;
	return parse_v1(buf, len, h);
}

/*
 * Writing a header.  A v4-mapped address is written as the IPv4
 * address it is; two addresses of different families (or of none we
 * know) make "PROXY UNKNOWN" (v1) or an UNSPEC block (v2).
 */
static int
addr_norm(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	struct sockaddr_in		*sin = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return AF_UNSPEC;
	if (sa->sa_family == AF_INET) {
		memcpy(out, sa, sizeof(struct sockaddr_in));
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return AF_UNSPEC;
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(out, sa, sizeof(struct sockaddr_in6));
		return AF_INET6;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = sin6->sin6_port;
	memcpy(&sin->sin_addr, sin6->sin6_addr.s6_addr + 12, 4);
	return AF_INET;
}

static ssize_t
build_v1(int fam, const struct sockaddr_storage *s,
    const struct sockaddr_storage *d, uint8_t *buf, size_t len)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)s;
	const struct sockaddr_in	*d4 = (const struct sockaddr_in *)d;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)s;
	const struct sockaddr_in6	*d6 = (const struct sockaddr_in6 *)d;
	char				 sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int				 n;

	if (fam == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, sa, sizeof(sa));
		inet_ntop(AF_INET, &d4->sin_addr, da, sizeof(da));
		n = snprintf((char *)buf, len, "PROXY TCP4 %s %s %u %u\r\n",
		    sa, da, ntohs(s4->sin_port), ntohs(d4->sin_port));
	} else if (fam == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, sa, sizeof(sa));
		inet_ntop(AF_INET6, &d6->sin6_addr, da, sizeof(da));
		n = snprintf((char *)buf, len, "PROXY TCP6 %s %s %u %u\r\n",
		    sa, da, ntohs(s6->sin6_port), ntohs(d6->sin6_port));
	} else
		n = snprintf((char *)buf, len, "PROXY UNKNOWN\r\n");
	if (n < 0 || (size_t)n >= len || n > PROXY_V1_MAX)
		return -1;
	return n;
}

/* One TLV at buf + *off; -1 when it does not fit. */
static int
put_tlv(uint8_t *buf, size_t len, size_t *off, uint8_t type,
    const void *val, size_t vlen)
{
	if (vlen > 0xffff || len - *off < 3 + vlen)
		return -1;
	buf[*off] = type;
	buf[*off + 1] = (uint8_t)(vlen >> 8);
	buf[*off + 2] = (uint8_t)vlen;
	if (vlen > 0)
		memcpy(buf + *off + 3, val, vlen);
	*off += 3 + vlen;
	return 0;
}

/*
 * PP2_TYPE_SSL: client flags, verify (0: the certificate was
 * verified), then the version and the certificate's CN as sub-TLVs.
 */
static int
put_ssl(uint8_t *buf, size_t len, size_t *off, const struct proxy_ssl *ssl)
{
	size_t	 start = *off, body;
	uint32_t verify = ssl->verified ? 0 : 1;

	if (len - *off < 3 + 5)
		return -1;
	*off += 3;
	buf[(*off)++] = PP2_CLIENT_SSL | (ssl->cn != NULL ?
	    PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS : 0);
	buf[(*off)++] = (uint8_t)(verify >> 24);
	buf[(*off)++] = (uint8_t)(verify >> 16);
	buf[(*off)++] = (uint8_t)(verify >> 8);
	buf[(*off)++] = (uint8_t)verify;
	if (ssl->version != NULL && put_tlv(buf, len, off,
	    PP2_SUBTYPE_SSL_VERSION, ssl->version, strlen(ssl->version)) == -1)
		return -1;
	if (ssl->cn != NULL && put_tlv(buf, len, off, PP2_SUBTYPE_SSL_CN,
	    ssl->cn, strlen(ssl->cn)) == -1)
		return -1;
	body = *off - start - 3;
	buf[start] = PP2_TYPE_SSL;
	buf[start + 1] = (uint8_t)(body >> 8);
	buf[start + 2] = (uint8_t)body;
	return 0;
}

static ssize_t
build_v2(int fam, const struct sockaddr_storage *s,
    const struct sockaddr_storage *d, const char *authority,
    const char *alpn, const struct proxy_ssl *ssl, uint8_t *buf, size_t len)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)s;
	const struct sockaddr_in	*d4 = (const struct sockaddr_in *)d;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)s;
	const struct sockaddr_in6	*d6 = (const struct sockaddr_in6 *)d;
	size_t				 off = PROXY_V2_HDR, body;

	if (len < PROXY_V2_HDR + 36)
		return -1;
	memcpy(buf, v2sig, sizeof(v2sig));
	buf[12] = 0x20 | V2_CMD_PROXY;
	if (fam == AF_INET) {
		buf[13] = V2_FAM_TCP4;
		memcpy(buf + off, &s4->sin_addr, 4);
		memcpy(buf + off + 4, &d4->sin_addr, 4);
		memcpy(buf + off + 8, &s4->sin_port, 2);
		memcpy(buf + off + 10, &d4->sin_port, 2);
		off += 12;
	} else if (fam == AF_INET6) {
		buf[13] = V2_FAM_TCP6;
		memcpy(buf + off, &s6->sin6_addr, 16);
		memcpy(buf + off + 16, &d6->sin6_addr, 16);
		memcpy(buf + off + 32, &s6->sin6_port, 2);
		memcpy(buf + off + 34, &d6->sin6_port, 2);
		off += 36;
	} else
		buf[13] = V2_FAM_UNSPEC;
	if (alpn != NULL && alpn[0] != '\0' &&
	    put_tlv(buf, len, &off, PP2_TYPE_ALPN, alpn, strlen(alpn)) == -1)
		return -1;
	if (authority != NULL && authority[0] != '\0' &&
	    put_tlv(buf, len, &off, PP2_TYPE_AUTHORITY, authority,
	    strlen(authority)) == -1)
		return -1;
	if (ssl != NULL && put_ssl(buf, len, &off, ssl) == -1)
		return -1;
	body = off - PROXY_V2_HDR;
	buf[14] = (uint8_t)(body >> 8);
	buf[15] = (uint8_t)body;
	return (ssize_t)off;
}

/*
 * The header for a session from src to dst (the address the client
 * reached): v1 has addresses only; v2 carries the SNI as AUTHORITY,
 * the ALPN protocol and, for sessions l4d terminated, PP2_TYPE_SSL.
 * Returns its length, or -1 when it does not fit in len.
 */
ssize_t
proxy_build(int version, const struct sockaddr *src,
    const struct sockaddr *dst, const char *authority, const char *alpn,
    const struct proxy_ssl *ssl, uint8_t *buf, size_t len)
{
	struct sockaddr_storage	 s, d;
	int			 fs, fd;

	fs = addr_norm(src, &s);
	fd = addr_norm(dst, &d);
	if (fs != fd)
		fs = AF_UNSPEC;
	if (version == 1)
		return build_v1(fs, &s, &d, buf, len);
	return build_v2(fs, &s, &d, authority, alpn, ssl, buf, len);
}
