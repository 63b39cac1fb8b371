/*
 * Server selection.  Every algorithm sees the same candidate set: the
 * servers of the requested tier (primaries or backups) that are up, not
 * disabled by the operator, and not tried yet by this session, so that
 * failover and weights compose without special cases.
 */

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "l4d.h"

#define TRIED(t, id)	((t)[(id) / 64] & (1ULL << ((id) % 64)))

static int
candidate(const struct server *srv, const uint64_t *tried, int backup)
{
	if (srv->backup != backup || !srv->up || srv->disabled ||
	    srv->removed)
		return 0;
	if (tried != NULL && TRIED(tried, srv->id))
		return 0;
	return 1;
}

int
balance_usable(struct backend *be, const uint64_t *tried, int backup)
{
	struct server	*srv;
	int		 n = 0;

	TAILQ_FOREACH(srv, &be->servers, entry)
		if (candidate(srv, tried, backup))
			n++;
	return n;
}

/*
 * Smooth weighted round robin: each pick raises every candidate by its
 * weight and lowers the winner by the total, which interleaves heavy
 * and light servers instead of sending bursts to the heavy one.
 */
static struct server *
pick_roundrobin(struct backend *be, const uint64_t *tried, int backup)
{
	struct server	*srv, *best = NULL;
	int		 total = 0;

	TAILQ_FOREACH(srv, &be->servers, entry) {
		if (!candidate(srv, tried, backup))
			continue;
		srv->current_weight += srv->weight;
		total += srv->weight;
		if (best == NULL || srv->current_weight > best->current_weight)
			best = srv;
	}
	if (best != NULL)
		best->current_weight -= total;
	return best;
}

/*
 * Fewest active sessions relative to weight; ties go to the server with
 * fewer sessions so far, again relative to weight.
 */
static struct server *
pick_leastconn(struct backend *be, const uint64_t *tried, int backup)
{
	struct server	*srv, *best = NULL;
	uint64_t	 lhs, rhs;

	TAILQ_FOREACH(srv, &be->servers, entry) {
		if (!candidate(srv, tried, backup))
			continue;
		if (best == NULL) {
			best = srv;
			continue;
		}
		lhs = (uint64_t)srv->active * (uint64_t)best->weight;
		rhs = (uint64_t)best->active * (uint64_t)srv->weight;
		if (lhs < rhs || (lhs == rhs &&
		    srv->sessions * (uint64_t)best->weight <
		    best->sessions * (uint64_t)srv->weight))
			best = srv;
	}
	return best;
}

/* Walk the candidates until the weighted point falls inside one. */
static struct server *
pick_weighted_point(struct backend *be, const uint64_t *tried, int backup,
    uint32_t point)
{
	struct server	*srv;

	TAILQ_FOREACH(srv, &be->servers, entry) {
		if (!candidate(srv, tried, backup))
			continue;
		if (point < (uint32_t)srv->weight)
			return srv;
		point -= srv->weight;
	}
	return NULL;
}

static uint32_t
total_weight(struct backend *be, const uint64_t *tried, int backup)
{
	struct server	*srv;
	uint32_t	 total = 0;

	TAILQ_FOREACH(srv, &be->servers, entry)
		if (candidate(srv, tried, backup))
			total += srv->weight;
	return total;
}

/* FNV-1a over the address bytes only: the port must not matter. */
uint32_t
balance_hash_addr(const struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 len, i;
	uint32_t	 h = 2166136261U;

	switch (sa->sa_family) {
	case AF_INET:
		p = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		len = sizeof(struct in_addr);
		break;
	case AF_INET6:
		p = (const uint8_t *)&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;
		len = sizeof(struct in6_addr);
		break;
	default:
		return 0;
	}
	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619U;
	}
	/* final avalanche so that neighbouring addresses spread out */
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	return h;
}

struct server *
balance_pick(struct backend *be, const struct sockaddr *client,
    const uint64_t *tried, int backup)
{
	uint32_t	 total;

	switch (be->balance) {
	case BALANCE_ROUNDROBIN:
		return pick_roundrobin(be, tried, backup);
	case BALANCE_LEASTCONN:
		return pick_leastconn(be, tried, backup);
	case BALANCE_SOURCE_HASH:
		if ((total = total_weight(be, tried, backup)) == 0)
			return NULL;
		return pick_weighted_point(be, tried, backup,
		    balance_hash_addr(client) % total);
	case BALANCE_RANDOM:
		if ((total = total_weight(be, tried, backup)) == 0)
			return NULL;
		return pick_weighted_point(be, tried, backup,
		    arc4random_uniform(total));
	}
	return NULL;
}
