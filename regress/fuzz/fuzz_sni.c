/*
 * Fuzz the ClientHello reader the way a client reaches it: the relay
 * calls hello_parse() on every longer prefix of what arrived.  Each
 * prefix is copied to a buffer of its exact size, so that AddressSanitizer
 * sees a read past it.  Besides not crashing, the reader must be
 * consistent: once a prefix is decided (OK, BAD or NOT_TLS) every longer
 * input is decided the same way, since the relay stops reading there.
 * What an OK hello yields then goes through the route matcher.
 */

#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct listener	 l;
static struct route	 routes[5];

static void
add_route(struct route *r, enum route_match m, const char *sni,
    const char *alpn)
{
	r->match = m;
	strlcpy(r->sni, sni, sizeof(r->sni));
	strlcpy(r->alpn, alpn, sizeof(r->alpn));
	if (m == MATCH_REGEX) {
		if (regcomp(&r->re, sni, REG_EXTENDED | REG_ICASE |
		    REG_NOSUB) != 0)
			abort();
		r->re_ok = 1;
	}
	TAILQ_INSERT_TAIL(&l.routes, r, entry);
}

static void
setup(void)
{
	static int	 done;

	if (done++)
		return;
	TAILQ_INIT(&l.routes);
	add_route(&routes[0], MATCH_EXACT, "db.example.com", "");
	add_route(&routes[1], MATCH_REGEX, "^read-[0-9]+\\.example\\.com$",
	    "");
	add_route(&routes[2], MATCH_WILDCARD, "example.com", "h2");
	add_route(&routes[3], MATCH_ANY, "", "postgresql");
	add_route(&routes[4], MATCH_WILDCARD, "example.com", "");
}

/* What an OK hello promises its users. */
static void
check_ok(const struct hello *h, size_t len)
{
	const char	*p;

	if (h->len == 0 || h->len > len || h->len > HELLO_MAX)
		abort();
	if (strnlen(h->sni, sizeof(h->sni)) >= sizeof(h->sni))
		abort();
	for (p = h->sni; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.'))
			abort();
	if (h->sni[0] == '.' || strstr(h->sni, "..") != NULL ||
	    (h->sni[0] != '\0' && p[-1] == '.'))
		abort();
	if (h->alpn_len > ALPN_RAW_MAX)
		abort();
}

static void
use_hello(const struct hello *h)
{
	char		 text[3 * 256], key[STATS_KEY_MAX];
	size_t		 sizes[] = { 1, 2, 5, 9, sizeof(text) }, i;
	struct route	*r;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(text, 'X', sizeof(text));
		hello_alpn_text(h, text, sizes[i]);
		if (strnlen(text, sizes[i]) >= sizes[i])
			abort();
	}
	(void)hello_has_alpn(h, "h2");
	if ((r = route_find(&l, h)) != NULL)
		route_key(r, key, sizeof(key));
	if (h->sni[0] != '\0' && routes[0].match == MATCH_EXACT &&
	    strcmp(h->sni, "db.example.com") == 0 && r != &routes[0])
		abort();
}

static enum hello_status
parse_exact(const uint8_t *data, size_t len, struct hello *h)
{
	enum hello_status	 st;
	uint8_t			*copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, data, len);
	st = hello_parse(copy, len, h);
	free(copy);
	if (st == HELLO_BAD && (h->why == NULL || h->why[0] == '\0'))
		abort();
	if (st == HELLO_OK)
		check_ok(h, len);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hello	 full, part;
	enum hello_status	 st, pst;
	size_t			 cuts[5], i;

	setup();
	st = parse_exact(data, size, &full);
	if (st > HELLO_BAD)
		abort();
	if (st == HELLO_OK)
		use_hello(&full);

	cuts[0] = size / 2;
	cuts[1] = size > 0 ? size - 1 : 0;
	cuts[2] = size > 5 ? 5 : size;
	cuts[3] = st == HELLO_OK ? full.len : size / 3;
	/* where the relay gives up waiting */
	cuts[4] = size > HELLO_MAX ? HELLO_MAX : size / 4;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		pst = parse_exact(data, cuts[i], &part);
		if (pst == HELLO_NEED_MORE)
			continue;
		if (pst != st)
			abort();
		if (st == HELLO_OK && (part.len != full.len ||
		    strcmp(part.sni, full.sni) != 0 ||
		    part.alpn_len != full.alpn_len ||
		    part.version != full.version))
			abort();
	}
	return 0;
}
