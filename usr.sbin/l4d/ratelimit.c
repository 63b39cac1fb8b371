/*
 * Rate limits: a token bucket per source address, in a table of fixed
 * size.  IPv4 sources count by address, IPv6 ones by prefix (/64 by
 * default: one host holds a /64).  Every entry is allocated up front
 * and a new source takes the least recently used entry when the table
 * is full, so a spray of addresses costs no more memory than the
 * table's size says; the buckets it pushes out start full again when
 * they come back, which is what they would have been after a while.
 *
 * Tokens are counted in interval_ms units: a bucket gains per_source
 * of them each millisecond, holds burst * interval_ms at most, and a
 * session costs interval_ms.  That is exact integer arithmetic.
 *
 * Buckets are found through a hash keyed at random per table, so that
 * a client cannot aim its addresses at one chain.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "l4d.h"

#define RATE_NONE	UINT32_MAX

struct rate_entry {
	uint8_t		 key[16];	/* v4-mapped, or the v6 prefix */
	uint64_t	 tokens;
	long long	 last_ms;
	uint32_t	 hnext;		/* hash chain */
	uint32_t	 prev, next;	/* LRU list, most recent first */
};

struct rate_table {
	struct rate_conf	 conf;
	struct rate_entry	*e;
	uint32_t		*bucket;
	uint32_t		 mask;		/* buckets - 1 */
	uint32_t		 used;
	uint32_t		 head, tail;	/* LRU */
	uint64_t		 seed[2];
};

static uint32_t
rate_buckets(uint32_t size)
{
	uint32_t	 n = 1;

	while (n < size && n < (1U << 31))
		n <<= 1;
	return n;
}

/* What a table of this configuration costs at most. */
size_t
rate_table_bytes(const struct rate_conf *rc)
{
	return sizeof(struct rate_table) +
	    (size_t)rc->table_size * sizeof(struct rate_entry) +
	    (size_t)rate_buckets(rc->table_size) * sizeof(uint32_t);
}

struct rate_table *
rate_table_new(const struct rate_conf *rc)
{
	struct rate_table	*t;
	uint32_t		 nb, i;

	if (rc->per_source == 0 || rc->table_size == 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->conf = *rc;
	nb = rate_buckets(rc->table_size);
	/* calloc'ed pages are only touched as entries come into use */
	if ((t->e = calloc(rc->table_size, sizeof(*t->e))) == NULL ||
	    (t->bucket = malloc((size_t)nb * sizeof(*t->bucket))) == NULL) {
		rate_table_free(t);
		return NULL;
	}
	for (i = 0; i < nb; i++)
		t->bucket[i] = RATE_NONE;
	t->mask = nb - 1;
	t->head = t->tail = RATE_NONE;
	arc4random_buf(t->seed, sizeof(t->seed));
	return t;
}

void
rate_table_free(struct rate_table *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->bucket);
	free(t);
}

uint32_t
rate_table_used(const struct rate_table *t)
{
	return t != NULL ? t->used : 0;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t
rate_hash(const struct rate_table *t, const uint8_t *key)
{
	uint64_t	 a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (uint32_t)mix64(mix64(a ^ t->seed[0]) ^ b ^ t->seed[1]) &
	    t->mask;
}

/* The source's key: an IPv4 address v4-mapped, an IPv6 one's prefix. */
static int
rate_key(const struct rate_table *t, const struct sockaddr *sa,
    uint8_t *key)
{
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_in	*sin;
	uint32_t			 bits, i;

	memset(key, 0, 16);
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(key, &sin6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return 0;
		bits = t->conf.ipv6_prefix;
		for (i = 0; i < 16; i++) {
			if (bits >= 8)
				bits -= 8;
			else {
				key[i] &= (uint8_t)(0xff00 >> bits);
				bits = 0;
			}
		}
		return 0;
	}
	return -1;
}

static void
lru_unlink(struct rate_table *t, uint32_t i)
{
	struct rate_entry	*e = &t->e[i];

	if (e->prev != RATE_NONE)
		t->e[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != RATE_NONE)
		t->e[e->next].prev = e->prev;
	else
		t->tail = e->prev;
}

static void
lru_push(struct rate_table *t, uint32_t i)
{
	struct rate_entry	*e = &t->e[i];

	e->prev = RATE_NONE;
	e->next = t->head;
	if (t->head != RATE_NONE)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail == RATE_NONE)
		t->tail = i;
}

static void
hash_unlink(struct rate_table *t, uint32_t i)
{
	uint32_t	*pp;

	for (pp = &t->bucket[rate_hash(t, t->e[i].key)]; *pp != RATE_NONE;
	    pp = &t->e[*pp].hnext)
		if (*pp == i) {
			*pp = t->e[i].hnext;
			return;
		}
}

/* A new source's entry: a fresh one, or the least recently used. */
static uint32_t
rate_take(struct rate_table *t, const uint8_t *key, uint32_t h)
{
	uint32_t	 i;

	if (t->used < t->conf.table_size)
		i = t->used++;
	else {
		i = t->tail;
		lru_unlink(t, i);
		hash_unlink(t, i);
	}
	memcpy(t->e[i].key, key, 16);
	t->e[i].tokens = (uint64_t)t->conf.burst * t->conf.interval_ms;
	t->e[i].last_ms = 0;
	t->e[i].hnext = t->bucket[h];
	t->bucket[h] = i;
	lru_push(t, i);
	return i;
}

/* Whether a new session from sa is within its source's rate; 1: yes. */
int
rate_admit(struct rate_table *t, const struct sockaddr *sa, long long now)
{
	struct rate_entry	*e;
	uint8_t			 key[16];
	uint64_t		 cap, gain, cost;
	uint32_t		 h, i;

	if (rate_key(t, sa, key) == -1)
		return 1;
	h = rate_hash(t, key);
	for (i = t->bucket[h]; i != RATE_NONE; i = t->e[i].hnext)
		if (memcmp(t->e[i].key, key, 16) == 0)
			break;
	if (i == RATE_NONE)
		i = rate_take(t, key, h);
	else {
		lru_unlink(t, i);
		lru_push(t, i);
	}
	e = &t->e[i];
	cap = (uint64_t)t->conf.burst * t->conf.interval_ms;
	cost = (uint64_t)t->conf.interval_ms;
	if (e->last_ms != 0 && now > e->last_ms) {
		gain = (uint64_t)(now - e->last_ms) * t->conf.per_source;
		e->tokens = gain >= cap - e->tokens ? cap : e->tokens + gain;
	}
	e->last_ms = now;
	if (e->tokens < cost)
		return 0;
	e->tokens -= cost;
	return 1;
}
