/*
 * Access lists: allow, deny and proxy_protocol's trusted.  A list is
 * kept as written (so that the parent can ship it) and, once built, as
 * two arrays of sorted, disjoint address ranges, one per family: a
 * lookup is a binary search, whatever the length of the list.
 *
 * A client on a dual-stack socket whose address is v4-mapped
 * (::ffff:a.b.c.d) is matched as the IPv4 address it is.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Whether addr has no bit set beyond prefix. */
static int
cidr_host_bits(const uint8_t *addr, int bytes, int prefix)
{
	int	 i, bit;

	for (i = 0; i < bytes; i++) {
		bit = i * 8;
		if (bit >= prefix) {
			if (addr[i] != 0)
				return 1;
		} else if (bit + 8 > prefix &&
		    (addr[i] & (0xff >> (prefix - bit))) != 0)
			return 1;
	}
	return 0;
}

/*
 * "10.0.0.0/8", "2001:db8::/32", or an address alone (all its bits).
 * Returns 0, or -1 with why filled.
 */
int
cidr_parse(const char *str, struct cidr *c, char *why, size_t whylen)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	const char	*errstr = NULL;
	long long	 prefix;
	int		 max;

	memset(c, 0, sizeof(*c));
	if (strlcpy(buf, str, sizeof(buf)) >= sizeof(buf)) {
		strlcpy(why, "too long for an address", whylen);
		return -1;
	}
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		strlcpy(why, "not an IPv4 or IPv6 address", whylen);
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		prefix = strtonum(slash, 0, max, &errstr);
		if (errstr != NULL || *slash == '\0') {
			snprintf(why, whylen, "prefix length %s: not 0 to %d",
			    slash, max);
			return -1;
		}
	}
	c->prefix = (uint8_t)prefix;
	if (cidr_host_bits(c->addr, max / 8, c->prefix)) {
		strlcpy(why, "bits set beyond the prefix length", whylen);
		return -1;
	}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
	if (c->family == AF_INET6 && c->prefix >= 96 &&
	    memcmp(c->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->prefix -= 96;
	}
	return 0;
}

int
acl_add(struct acl **ap, const struct cidr *c)
{
	struct acl	*a = *ap;
	struct cidr	*nv;
	uint32_t	 ncap;

	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return -1;
		*ap = a;
	}
	if (a->ncidrs >= L4D_ACL_MAX)
		return -1;
	if (a->ncidrs == a->cap) {
		ncap = a->cap ? a->cap * 2 : 16;
		if ((nv = reallocarray(a->cidrs, ncap, sizeof(*nv))) == NULL)
			return -1;
		a->cidrs = nv;
		a->cap = ncap;
	}
	a->cidrs[a->ncidrs++] = *c;
	return 0;
}

struct acl *
acl_dup(const struct acl *a)
{
	struct acl	*n = NULL;
	uint32_t	 i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < a->ncidrs; i++)
		if (acl_add(&n, &a->cidrs[i]) == -1) {
			acl_free(n);
			return NULL;
		}
	return n;
}

void
acl_free(struct acl *a)
{
	if (a == NULL)
		return;
	free(a->cidrs);
	free(a->v4);
	free(a->v6);
	free(a);
}

static int
range4_cmp(const void *a, const void *b)
{
	const struct acl_range4	*x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? 1 : x->hi > y->hi ? -1 : 0;
}

static int
range6_cmp(const void *a, const void *b)
{
	const struct acl_range6	*x = a, *y = b;
	int			 r;

	if ((r = memcmp(x->lo, y->lo, 16)) != 0)
		return r;
	return -memcmp(x->hi, y->hi, 16);
}

static uint32_t
be32dec(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static void
range6_of(const struct cidr *c, struct acl_range6 *r)
{
	int	 i, bit;

	for (i = 0; i < 16; i++) {
		bit = i * 8;
		if (bit >= c->prefix) {
			r->lo[i] = 0;
			r->hi[i] = 0xff;
		} else if (bit + 8 > c->prefix) {
			r->lo[i] = c->addr[i];
			r->hi[i] = c->addr[i] | (0xff >> (c->prefix - bit));
		} else
			r->lo[i] = r->hi[i] = c->addr[i];
	}
}

/*
 * Networks are nested or apart, never overlapping otherwise: sorted by
 * start (the wider first), each range either lies inside the last one
 * kept or starts a new one.
 */
int
acl_build(struct acl *a)
{
	uint32_t	 i, n4 = 0, n6 = 0, k;
	uint32_t	 mask;

	if (a == NULL)
		return 0;
	free(a->v4);
	free(a->v6);
	a->v4 = NULL;
	a->v6 = NULL;
	a->nv4 = a->nv6 = 0;
	for (i = 0; i < a->ncidrs; i++) {
		if (a->cidrs[i].family == AF_INET)
			n4++;
		else
			n6++;
	}
	if ((n4 > 0 && (a->v4 = calloc(n4, sizeof(*a->v4))) == NULL) ||
	    (n6 > 0 && (a->v6 = calloc(n6, sizeof(*a->v6))) == NULL))
		return -1;
	n4 = n6 = 0;
	for (i = 0; i < a->ncidrs; i++) {
		if (a->cidrs[i].family == AF_INET) {
			mask = a->cidrs[i].prefix == 0 ? 0xffffffffU :
			    (1U << (32 - a->cidrs[i].prefix)) - 1;
			if (a->cidrs[i].prefix == 32)
				mask = 0;
			a->v4[n4].lo = be32dec(a->cidrs[i].addr) & ~mask;
			a->v4[n4].hi = a->v4[n4].lo | mask;
			n4++;
		} else
			range6_of(&a->cidrs[i], &a->v6[n6++]);
	}
	if (n4 > 0) {
		qsort(a->v4, n4, sizeof(*a->v4), range4_cmp);
		for (i = 1, k = 0; i < n4; i++)
			if (a->v4[i].lo > a->v4[k].hi)
				a->v4[++k] = a->v4[i];
		a->nv4 = k + 1;
	}
	if (n6 > 0) {
		qsort(a->v6, n6, sizeof(*a->v6), range6_cmp);
		for (i = 1, k = 0; i < n6; i++)
			if (memcmp(a->v6[i].lo, a->v6[k].hi, 16) > 0)
				a->v6[++k] = a->v6[i];
		a->nv6 = k + 1;
	}
	return 0;
}

static int
match4(const struct acl *a, uint32_t x)
{
	uint32_t	 lo = 0, hi = a->nv4, mid;

	/* the last range that starts at or before x */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->v4[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && x <= a->v4[lo - 1].hi;
}

static int
match6(const struct acl *a, const uint8_t *x)
{
	uint32_t	 lo = 0, hi = a->nv6, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(a->v6[mid].lo, x, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && memcmp(x, a->v6[lo - 1].hi, 16) <= 0;
}

/* Whether sa is in one of the networks of a (built). */
int
acl_match(const struct acl *a, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	if (a == NULL)
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return match4(a, ntohl(sin->sin_addr.s_addr));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		b = sin6->sin6_addr.s6_addr;
		if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0)
			return match4(a, be32dec(b + 12));
		return match6(a, b);
	}
	return 0;
}

/*
 * Whether a listener takes a client from sa now: deny wins, an absent
 * allow lets everyone in, then the source's rate.  CAUSE_NONE: yes.
 */
enum end_cause
access_check(struct listener *l, const struct sockaddr *sa, long long now)
{
	if (acl_match(l->acl[ACL_DENY], sa))
		return CAUSE_DENIED;
	if (l->acl[ACL_ALLOW] != NULL && !acl_match(l->acl[ACL_ALLOW], sa))
		return CAUSE_DENIED;
	if (l->rate_table != NULL && !rate_admit(l->rate_table, sa, now))
		return CAUSE_RATE_LIMITED;
	return CAUSE_NONE;
}
