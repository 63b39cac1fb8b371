/*
 * Counters by name.  A relay keeps one entry per listener, backend and
 * server it has ever been configured with, so a reload that keeps a
 * name keeps its counts.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

int
stats_cmp(struct stats *a, struct stats *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE(stats_tree, stats, entry, stats_cmp);

/* kind "l", "b" or "s"; sub is the server address or NULL. */
struct stats *
stats_get(struct stats_tree *tree, const char *kind, const char *name,
    const char *sub)
{
	struct stats	 key, *st;

	snprintf(key.key, sizeof(key.key), "%s/%s%s%s", kind, name,
	    sub ? "/" : "", sub ? sub : "");
	if ((st = RB_FIND(stats_tree, tree, &key)) != NULL)
		return st;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("%s", __func__);
	strlcpy(st->key, key.key, sizeof(st->key));
	RB_INSERT(stats_tree, tree, st);
	return st;
}

void
stats_merge(struct counters *to, const struct counters *from)
{
	int	 i;

	to->total += from->total;
	to->active += from->active;
	to->bytes_in += from->bytes_in;
	to->bytes_out += from->bytes_out;
	to->connect_failures += from->connect_failures;
	to->tls_handshakes += from->tls_handshakes;
	to->tls_resumed += from->tls_resumed;
	for (i = 0; i < TLS_FAIL_MAX; i++)
		to->tls_failures[i] += from->tls_failures[i];
	for (i = 0; i < CAUSE_MAX; i++)
		to->causes[i] += from->causes[i];
}

static const char *tls_failure_names[TLS_FAIL_MAX] = {
	[TLS_FAIL_HANDSHAKE] = "handshake",
	[TLS_FAIL_NO_CLIENT_CERT] = "no-client-cert",
	[TLS_FAIL_BAD_CLIENT_CERT] = "bad-client-cert",
	[TLS_FAIL_SERVER_VERIFY] = "server-verify",
	[TLS_FAIL_CLOSED] = "closed",
	[TLS_FAIL_RENEGOTIATION] = "renegotiation",
	[TLS_FAIL_PROTOCOL] = "protocol",
	[TLS_FAIL_ENGINE] = "engine",
};

const char *
tls_failure_name(enum tls_failure k)
{
	return k < TLS_FAIL_MAX ? tls_failure_names[k] : "unknown";
}

/*
 * The counters of "KIND/NAME[/SUB]" among those the relays sent, or
 * zeros: what l4ctl's summaries and the metrics print.
 */
const struct counters *
stats_lookup(const struct ctl_stat *stats, size_t n, const char *kind,
    const char *name, const char *sub)
{
	static const struct counters	 zero;
	char				 key[STATS_KEY_MAX];
	size_t				 i;

	if ((size_t)snprintf(key, sizeof(key), "%s/%s%s%s", kind, name,
	    sub ? "/" : "", sub ? sub : "") >= sizeof(key))
		return &zero;
	for (i = 0; i < n; i++)
		if (strcmp(stats[i].key, key) == 0)
			return &stats[i].c;
	return &zero;
}
