/*
 * The route a ClientHello takes.  The parser has already sorted a
 * listener's routes into match order, so the first route whose name
 * and protocol conditions both hold wins; a route without sni matches
 * hellos with or without a name, a route with one never matches a
 * hello without one (those go to no_sni).
 */

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "l4d.h"

/*
 * "*.example.com" (stored as "example.com") covers one or more labels
 * before the suffix, never the bare suffix, as a certificate wildcard
 * would not cover it either.
 */
static int
wildcard_match(const char *suffix, const char *sni)
{
	size_t	 n = strlen(sni), m = strlen(suffix), i;

	if (n < m + 2 || sni[n - m - 1] != '.')
		return 0;
	if (strcasecmp(sni + n - m, suffix) != 0)
		return 0;
	/* what precedes the dot: labels, none of them empty */
	for (i = 0; i < n - m - 1; i++)
		if (sni[i] == '.' && (i == 0 || sni[i - 1] == '.'))
			return 0;
	return sni[n - m - 2] != '.';
}

int
route_name_match(const struct route *r, const char *sni)
{
	switch (r->match) {
	case MATCH_ANY:
		return 1;
	case MATCH_EXACT:
		return strcasecmp(r->sni, sni) == 0;
	case MATCH_WILDCARD:
		return wildcard_match(r->sni, sni);
	case MATCH_REGEX:
		return r->re_ok && regexec(&r->re, sni, 0, NULL, 0) == 0;
	}
	return 0;
}

struct route *
route_find(struct listener *l, const struct hello *h)
{
	struct route	*r;

	TAILQ_FOREACH(r, &l->routes, entry) {
		if (r->match != MATCH_ANY &&
		    (h->sni[0] == '\0' || !route_name_match(r, h->sni)))
			continue;
		if (r->alpn[0] != '\0' && !hello_has_alpn(h, r->alpn))
			continue;
		return r;
	}
	return NULL;
}

/*
 * The route as the configuration wrote it, "*.example.com alpn=h2",
 * which names its counters: it must not change between reloads of the
 * same file, or the counters would restart from zero.
 */
void
route_key(const struct route *r, char *buf, size_t len)
{
	const char	*mark = "";

	if (len == 0)
		return;
	if (r->match == MATCH_WILDCARD)
		mark = "*.";
	else if (r->match == MATCH_REGEX)
		mark = "~";
	if (r->match == MATCH_ANY && r->alpn[0] == '\0')
		strlcpy(buf, "any", len);
	else if (r->match == MATCH_ANY)
		snprintf(buf, len, "alpn=%s", r->alpn);
	else if (r->alpn[0] == '\0')
		snprintf(buf, len, "%s%s", mark, r->sni);
	else
		snprintf(buf, len, "%s%s alpn=%s", mark, r->sni, r->alpn);
}
