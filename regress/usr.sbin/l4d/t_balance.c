/*
 * Server selection: smooth weighted round robin, least connections,
 * source hash and weighted random, all seen through the same candidate
 * filter (tier, up, tried bitmap).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

#define NSRV_MAX	130
#define NTRIED		(L4D_MAX_SERVERS / 64)

struct fixture {
	struct backend	 be;
	struct server	 srv[NSRV_MAX];
	uint32_t	 n;
	uint64_t	 tried[NTRIED];
};

static const enum balance_algo algos[] = {
	BALANCE_ROUNDROBIN, BALANCE_LEASTCONN,
	BALANCE_SOURCE_HASH, BALANCE_RANDOM
};
#define NALGOS	(sizeof(algos) / sizeof(algos[0]))

static void
fx_init(struct fixture *fx, enum balance_algo algo)
{
	memset(fx, 0, sizeof(*fx));
	TAILQ_INIT(&fx->be.servers);
	fx->be.balance = algo;
	strlcpy(fx->be.name, "test", sizeof(fx->be.name));
}

static struct server *
fx_add(struct fixture *fx, int weight, int backup)
{
	struct server		*srv;
	struct sockaddr_in	*sin;

	ATF_REQUIRE(fx->n < NSRV_MAX);
	srv = &fx->srv[fx->n];
	srv->id = fx->n;
	srv->weight = weight;
	srv->backup = backup;
	srv->up = 1;
	snprintf(srv->address, sizeof(srv->address), "192.0.2.%u:80",
	    fx->n % 256);
	sin = (struct sockaddr_in *)&srv->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(80);
	sin->sin_addr.s_addr = htonl(0xc0000200U + (fx->n % 256));
	srv->sslen = sizeof(*sin);
	TAILQ_INSERT_TAIL(&fx->be.servers, srv, entry);
	fx->be.nservers = ++fx->n;
	return srv;
}

static void
fx_algo(struct fixture *fx, enum balance_algo algo)
{
	uint32_t	 i;

	fx->be.balance = algo;
	for (i = 0; i < fx->n; i++)
		fx->srv[i].current_weight = 0;
}

static void
tried_set(uint64_t *tried, uint32_t id)
{
	tried[id / 64] |= 1ULL << (id % 64);
}

static void
sin_make(struct sockaddr_in *sin, uint32_t addr, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	sin->sin_port = htons(port);
}

static void
sin_parse(struct sockaddr_in *sin, const char *addr, uint16_t port)
{
	sin_make(sin, 0, port);
	ATF_REQUIRE(inet_pton(AF_INET, addr, &sin->sin_addr) == 1);
}

/* Pick once with a fixed client and return the chosen server id. */
static int
pick_id(struct fixture *fx, const uint64_t *tried, int backup)
{
	struct sockaddr_in	 sin;
	struct server		*srv;

	sin_make(&sin, 0x0a000001U, 12345);
	srv = balance_pick(&fx->be, (struct sockaddr *)&sin, tried, backup);
	return srv == NULL ? -1 : (int)srv->id;
}

ATF_TC_WITHOUT_HEAD(roundrobin_3_1);
ATF_TC_BODY(roundrobin_3_1, tc)
{
	struct fixture	 fx;
	int		 count[2] = { 0, 0 }, id, prev = -1, run = 0, i;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	fx_add(&fx, 3, 0);
	fx_add(&fx, 1, 0);
	for (i = 0; i < 400; i++) {
		id = pick_id(&fx, NULL, 0);
		ATF_REQUIRE(id == 0 || id == 1);
		count[id]++;
		run = (id == prev) ? run + 1 : 1;
		prev = id;
		if (id == 1)
			ATF_CHECK_MSG(run <= 1,
			    "light server picked %d times in a row at %d",
			    run, i);
		else
			ATF_CHECK_MSG(run < 4,
			    "heavy server picked %d times in a row at %d",
			    run, i);
	}
	ATF_CHECK_EQ_MSG(count[0], 300, "heavy %d", count[0]);
	ATF_CHECK_EQ_MSG(count[1], 100, "light %d", count[1]);
}

ATF_TC_WITHOUT_HEAD(roundrobin_5_1_1);
ATF_TC_BODY(roundrobin_5_1_1, tc)
{
	struct fixture	 fx;
	const char	*expect = "aabacaa";
	char		 seq[71];
	int		 count[3], i, j;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	fx_add(&fx, 5, 0);
	fx_add(&fx, 1, 0);
	fx_add(&fx, 1, 0);
	for (i = 0; i < 70; i++) {
		j = pick_id(&fx, NULL, 0);
		ATF_REQUIRE(j >= 0 && j <= 2);
		seq[i] = 'a' + j;
	}
	seq[70] = '\0';
	ATF_CHECK_MSG(strncmp(seq, expect, 7) == 0, "sequence %s", seq);

	/* every window of 7 consecutive picks holds exactly 5/1/1 */
	for (i = 0; i + 7 <= 70; i++) {
		memset(count, 0, sizeof(count));
		for (j = i; j < i + 7; j++)
			count[seq[j] - 'a']++;
		ATF_CHECK_MSG(count[0] == 5 && count[1] == 1 &&
		    count[2] == 1, "window at %d: %d/%d/%d in %s",
		    i, count[0], count[1], count[2], seq);
	}
}

ATF_TC_WITHOUT_HEAD(tried_excludes);
ATF_TC_BODY(tried_excludes, tc)
{
	struct fixture	 fx;
	size_t		 a;
	int		 i, id;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	fx_add(&fx, 1, 0);
	fx_add(&fx, 5, 0);
	fx_add(&fx, 1, 0);
	tried_set(fx.tried, 1);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 2);
	ATF_CHECK_EQ(balance_usable(&fx.be, NULL, 0), 3);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		for (i = 0; i < 200; i++) {
			id = pick_id(&fx, fx.tried, 0);
			ATF_CHECK_MSG(id == 0 || id == 2,
			    "algo %d picked %d", (int)algos[a], id);
		}
	}
}

ATF_TC_WITHOUT_HEAD(backup_failover);
ATF_TC_BODY(backup_failover, tc)
{
	struct fixture	 fx;
	size_t		 a;
	int		 id;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	fx_add(&fx, 1, 0);
	fx_add(&fx, 2, 0);
	fx_add(&fx, 1, 1);
	fx_add(&fx, 1, 1);
	/* without failover the primaries win and backups stay idle */
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		id = pick_id(&fx, fx.tried, 0);
		ATF_CHECK_MSG(id == 0 || id == 1, "algo %d picked %d",
		    (int)algos[a], id);
	}
	tried_set(fx.tried, 0);
	tried_set(fx.tried, 1);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 0);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 1), 2);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		ATF_CHECK_EQ_MSG(pick_id(&fx, fx.tried, 0), -1,
		    "algo %d returned a tried primary", (int)algos[a]);
		id = pick_id(&fx, fx.tried, 1);
		ATF_CHECK_MSG(id == 2 || id == 3, "algo %d backup pick %d",
		    (int)algos[a], id);
	}
}

ATF_TC_WITHOUT_HEAD(down_never_picked);
ATF_TC_BODY(down_never_picked, tc)
{
	struct fixture	 fx;
	size_t		 a;
	int		 i, id;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	fx_add(&fx, 10, 0)->up = 0;
	fx_add(&fx, 1, 0);
	fx_add(&fx, 10, 0)->up = 0;
	fx_add(&fx, 1, 0);
	ATF_CHECK_EQ(balance_usable(&fx.be, NULL, 0), 2);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		for (i = 0; i < 500; i++) {
			id = pick_id(&fx, NULL, 0);
			ATF_CHECK_MSG(id == 1 || id == 3,
			    "algo %d picked %d", (int)algos[a], id);
		}
	}
	/* all down: nothing to pick */
	fx.srv[1].up = fx.srv[3].up = 0;
	ATF_CHECK_EQ(balance_usable(&fx.be, NULL, 0), 0);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		ATF_CHECK_EQ(pick_id(&fx, NULL, 0), -1);
	}
}

static int
leastconn_pair(int first_is_a, uint32_t act_a, int w_a, uint64_t ses_a,
    uint32_t act_b, int w_b, uint64_t ses_b)
{
	struct fixture	 fx;
	struct server	*a, *b;

	fx_init(&fx, BALANCE_LEASTCONN);
	if (first_is_a) {
		a = fx_add(&fx, w_a, 0);
		b = fx_add(&fx, w_b, 0);
	} else {
		b = fx_add(&fx, w_b, 0);
		a = fx_add(&fx, w_a, 0);
	}
	a->active = act_a;
	a->sessions = ses_a;
	b->active = act_b;
	b->sessions = ses_b;
	/* 'a' or 'b' regardless of list order */
	return pick_id(&fx, NULL, 0) == (int)a->id ? 'a' : 'b';
}

ATF_TC_WITHOUT_HEAD(leastconn);
ATF_TC_BODY(leastconn, tc)
{
	int	 order;

	for (order = 0; order < 2; order++) {
		/* 2/1 = 2.0 against 3/2 = 1.5: the second one */
		ATF_CHECK_EQ(leastconn_pair(order, 2, 1, 0, 3, 2, 0), 'b');
		/* plain fewest active with equal weights */
		ATF_CHECK_EQ(leastconn_pair(order, 4, 1, 0, 1, 1, 100), 'b');
		/* 0 active beats anything */
		ATF_CHECK_EQ(leastconn_pair(order, 0, 1, 50, 1, 100, 0),
		    'a');
		/* equal load: fewer total sessions wins */
		ATF_CHECK_EQ(leastconn_pair(order, 2, 1, 10, 2, 1, 7), 'b');
		ATF_CHECK_EQ(leastconn_pair(order, 3, 2, 5, 3, 2, 9), 'a');
	}
}

ATF_TC_WITHOUT_HEAD(source_hash_sticky);
ATF_TC_BODY(source_hash_sticky, tc)
{
	struct fixture		 fx;
	struct sockaddr_in	 sin;
	struct server		*first, *srv;
	uint32_t		 addr;
	int			 port;

	fx_init(&fx, BALANCE_SOURCE_HASH);
	fx_add(&fx, 1, 0);
	fx_add(&fx, 2, 0);
	fx_add(&fx, 1, 0);
	for (addr = 0x0a000000U; addr < 0x0a000000U + 50; addr++) {
		sin_make(&sin, addr, 1);
		first = balance_pick(&fx.be, (struct sockaddr *)&sin, NULL, 0);
		ATF_REQUIRE(first != NULL);
		for (port = 2; port < 65536; port += 4099) {
			sin_make(&sin, addr, port);
			srv = balance_pick(&fx.be, (struct sockaddr *)&sin,
			    NULL, 0);
			ATF_CHECK_MSG(srv == first,
			    "addr %08x port %d moved", addr, port);
		}
	}
}

ATF_TC_WITHOUT_HEAD(source_hash_spread);
ATF_TC_BODY(source_hash_spread, tc)
{
	struct fixture		 fx;
	struct sockaddr_in	 sin;
	struct server		*srv;
	uint32_t		 i;
	int			 count[2] = { 0, 0 };

	fx_init(&fx, BALANCE_SOURCE_HASH);
	fx_add(&fx, 1, 0);
	fx_add(&fx, 1, 0);
	for (i = 0; i < 1000; i++) {
		/* consecutive addresses, the hard case for a weak hash */
		sin_make(&sin, 0x0a000000U + i, 40000);
		srv = balance_pick(&fx.be, (struct sockaddr *)&sin, NULL, 0);
		ATF_REQUIRE(srv != NULL);
		count[srv->id]++;
	}
	ATF_CHECK_MSG(count[0] >= 400 && count[0] <= 600,
	    "spread %d/%d", count[0], count[1]);
}

ATF_TC_WITHOUT_HEAD(random_weights);
ATF_TC_BODY(random_weights, tc)
{
	struct fixture	 fx;
	int		 count[2] = { 0, 0 }, i, id;

	fx_init(&fx, BALANCE_RANDOM);
	fx_add(&fx, 3, 0);
	fx_add(&fx, 1, 0);
	for (i = 0; i < 40000; i++) {
		id = pick_id(&fx, NULL, 0);
		ATF_REQUIRE(id == 0 || id == 1);
		count[id]++;
	}
	/* expected 30000/10000, each within 5% */
	ATF_CHECK_MSG(count[0] >= 28500 && count[0] <= 31500,
	    "heavy %d", count[0]);
	ATF_CHECK_MSG(count[1] >= 9500 && count[1] <= 10500,
	    "light %d", count[1]);
}

ATF_TC_WITHOUT_HEAD(hash_addr);
ATF_TC_BODY(hash_addr, tc)
{
	struct sockaddr_in	 a, b;
	struct sockaddr_in6	 c, d;

	sin_parse(&a, "10.0.0.1", 80);
	sin_parse(&b, "10.0.0.2", 80);
	ATF_CHECK(balance_hash_addr((struct sockaddr *)&a) !=
	    balance_hash_addr((struct sockaddr *)&b));

	sin_parse(&b, "10.0.0.1", 65535);
	ATF_CHECK_EQ(balance_hash_addr((struct sockaddr *)&a),
	    balance_hash_addr((struct sockaddr *)&b));

	memset(&c, 0, sizeof(c));
	c.sin6_family = AF_INET6;
	ATF_REQUIRE(inet_pton(AF_INET6, "2001:db8::1", &c.sin6_addr) == 1);
	c.sin6_port = htons(1);
	d = c;
	d.sin6_port = htons(2);
	ATF_CHECK_EQ(balance_hash_addr((struct sockaddr *)&c),
	    balance_hash_addr((struct sockaddr *)&d));
	d.sin6_addr.s6_addr[15] = 2;
	ATF_CHECK(balance_hash_addr((struct sockaddr *)&c) !=
	    balance_hash_addr((struct sockaddr *)&d));
}

ATF_TC_WITHOUT_HEAD(many_servers);
ATF_TC_BODY(many_servers, tc)
{
	struct fixture	 fx;
	uint32_t	 i;
	size_t		 a;
	int		 k, id;

	fx_init(&fx, BALANCE_ROUNDROBIN);
	for (i = 0; i < 130; i++)
		fx_add(&fx, 1, 0);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 130);

	/* excluding ids on either side of the word boundaries */
	tried_set(fx.tried, 63);
	tried_set(fx.tried, 64);
	tried_set(fx.tried, 127);
	tried_set(fx.tried, 129);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 126);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		for (k = 0; k < 400; k++) {
			id = pick_id(&fx, fx.tried, 0);
			ATF_CHECK_MSG(id >= 0 && id != 63 && id != 64 &&
			    id != 127 && id != 129,
			    "algo %d picked %d", (int)algos[a], id);
		}
	}

	/* only id 100 left */
	for (i = 0; i < 130; i++)
		if (i != 100)
			tried_set(fx.tried, i);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 1);
	for (a = 0; a < NALGOS; a++) {
		fx_algo(&fx, algos[a]);
		ATF_CHECK_EQ_MSG(pick_id(&fx, fx.tried, 0), 100,
		    "algo %d", (int)algos[a]);
	}
	tried_set(fx.tried, 100);
	ATF_CHECK_EQ(balance_usable(&fx.be, fx.tried, 0), 0);
	ATF_CHECK_EQ(pick_id(&fx, fx.tried, 0), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundrobin_3_1);
	ATF_TP_ADD_TC(tp, roundrobin_5_1_1);
	ATF_TP_ADD_TC(tp, tried_excludes);
	ATF_TP_ADD_TC(tp, backup_failover);
	ATF_TP_ADD_TC(tp, down_never_picked);
	ATF_TP_ADD_TC(tp, leastconn);
	ATF_TP_ADD_TC(tp, source_hash_sticky);
	ATF_TP_ADD_TC(tp, source_hash_spread);
	ATF_TP_ADD_TC(tp, random_weights);
	ATF_TP_ADD_TC(tp, hash_addr);
	ATF_TP_ADD_TC(tp, many_servers);

	return atf_no_error();
}
