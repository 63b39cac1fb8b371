/*
 * Unit tests for the schema (parse.c, parse_tls.c, parse_backend.c,
 * parse_listener.c): the defaults, and every error code with the exact
 * position it is reported at; tlsconf.c: the files tls: blocks name,
 * read and checked (made here with openssl(1)).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atf-c.h>

#include "l4d.h"

static struct conf_errors errs = TAILQ_HEAD_INITIALIZER(errs);

/* Lines 1-4: one listener "a" on 127.0.0.1:80 to backend "b". */
#define LISTENER_A							\
	"listeners:\n"							\
	"  - name: a\n"							\
	"    listen: \"127.0.0.1:80\"\n"				\
	"    backend: b\n"

/* Four lines: backend "b" with one server. */
#define BACKEND_B							\
	"backends:\n"							\
	"  - name: b\n"							\
	"    servers:\n"						\
	"      - address: \"127.0.0.1:8080\"\n"

/* 63 bytes: the longest DNS label */
#define LABEL63								\
	"x12345678x12345678x12345678x12345678x12345678x12345678x12345678"

/* Lines 1-4: listener "r" on 127.0.0.1:443, its routes from line 5. */
#define ROUTED_R							\
	"listeners:\n"							\
	"  - name: r\n"							\
	"    listen: \"127.0.0.1:443\"\n"				\
	"    routes:\n"

static struct l4d_config *
parse_str(const char *yaml, int resolve)
{
	conf_errors_clear(&errs);
	return parse_config_buffer("t.yaml", yaml, strlen(yaml), resolve,
	    &errs);
}

static size_t
nerrors(void)
{
	struct conf_error	*e;
	size_t			 n = 0;

	TAILQ_FOREACH(e, &errs, entry) {
		fprintf(stderr, "%s\n", e->msg);
		n++;
	}
	return n;
}

/* The message of error i, or fails. */
static const char *
error_at(size_t i)
{
	struct conf_error	*e;

	TAILQ_FOREACH(e, &errs, entry)
		if (i-- == 0)
			return e->msg;
	atf_tc_fail("no error %zu", i);
	return NULL;
}

static void
check_prefix(const char *msg, const char *code, int line, int col)
{
	char	 want[128];

	if (col > 0)
		snprintf(want, sizeof(want), "t.yaml:%d:%d: L4D-%s: ", line,
		    col, code);
	else
		snprintf(want, sizeof(want), "t.yaml:%d:", line);
	ATF_CHECK_MSG(strncmp(msg, want, strlen(want)) == 0,
	    "want prefix \"%s\", got \"%s\"", want, msg);
	snprintf(want, sizeof(want), " L4D-%s: ", code);
	ATF_CHECK_MSG(strstr(msg, want) != NULL, "want %s in \"%s\"", code,
	    msg);
	ATF_CHECK_MSG(strstr(msg, " (hint: ") != NULL &&
	    msg[strlen(msg) - 1] == ')', "no hint in \"%s\"", msg);
}

/* Exactly one error, with this code, at this line (and column). */
static void
check_one(const char *yaml, const char *code, int line, int col)
{
	struct l4d_config	*conf;

	conf = parse_str(yaml, 0);
	ATF_REQUIRE_MSG(conf == NULL, "an invalid config was accepted");
	ATF_REQUIRE_EQ_MSG(nerrors(), 1, "want exactly one error");
	check_prefix(error_at(0), code, line, col);
	conf_errors_clear(&errs);
}

static void
check_contains(const char *text)
{
	ATF_CHECK_MSG(strstr(error_at(0), text) != NULL,
	    "want \"%s\" in \"%s\"", text, error_at(0));
}

static struct listener *
nth_listener(struct l4d_config *conf, int n)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (n-- == 0)
			return l;
	return NULL;
}

static struct server *
nth_server(struct backend *b, int n)
{
	struct server	*s;

	TAILQ_FOREACH(s, &b->servers, entry)
		if (n-- == 0)
			return s;
	return NULL;
}

static struct route *
nth_route(struct listener *l, int n)
{
	struct route	*r;

	TAILQ_FOREACH(r, &l->routes, entry)
		if (n-- == 0)
			return r;
	return NULL;
}

/* A string of n copies of s, for deep and long documents. */
static char *
repeat(const char *s, size_t n, const char *tail)
{
	char	*buf;
	size_t	 len = strlen(s), i;

	buf = malloc(len * n + strlen(tail) + 1);
	ATF_REQUIRE(buf != NULL);
	for (i = 0; i < n; i++)
		memcpy(buf + i * len, s, len);
	strcpy(buf + n * len, tail);
	return buf;
}

/*
 * Valid files.
 */

static const char full_config[] =
	"user: nobody\n"
	"chroot: /\n"
	"relays: 4\n"
	"zero_copy: false\n"
	"control: /tmp/l4d.sock\n"
	"log:\n"
	"  level: debug\n"
	"  access: no\n"
	"timeouts:\n"
	"  connect: 2s\n"
	"  idle: 30m\n"
	"  half_closed: 45\n"
	"  handshake: 500ms\n"
	"  drain: 1h\n"
	"listeners:\n"
	"  - name: pg\n"
	"    listen: \"0.0.0.0:5432\"\n"
	"    backend: pool\n"
	"    max_sessions: 100\n"
	"    timeouts: { idle: infinite, connect: 1s }\n"
	"  - name: v6\n"
	"    listen: \"[::1]:8080\"\n"
	"    backend: web\n"
	"backends:\n"
	"  - name: pool\n"
	"    balance: leastconn\n"
	"    retries: 0\n"
	"    servers:\n"
	"      - { address: \"10.0.0.5:5432\", weight: 90 }\n"
	"      - { address: \"db2.internal:5432\", weight: 10 }\n"
	"      - { address: \"10.0.0.9:5432\", backup: true }\n"
	"  - name: web\n"
	"    servers:\n"
	"      - address: \"[2001:db8::1]:80\"\n";

ATF_TC(full_valid);
ATF_TC_HEAD(full_valid, tc)
{
	atf_tc_set_md_var(tc, "descr", "a full valid file and its values");
}
ATF_TC_BODY(full_valid, tc)
{
	struct l4d_config	*conf;
	struct listener		*pg, *v6;
	struct backend		*pool, *web;
	struct server		*s;
	struct sockaddr_in	*sin;

	conf = parse_str(full_config, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_STREQ(conf->path, "t.yaml");
	ATF_CHECK_STREQ(conf->user, "nobody");
	ATF_CHECK_STREQ(conf->chroot, "/");
	ATF_CHECK_EQ(conf->relays, 4);
	ATF_CHECK_EQ(conf->relay_mode, RELAY_MODE_COPY);
	ATF_CHECK_STREQ(conf->control, "/tmp/l4d.sock");
	ATF_CHECK_EQ(conf->log_level, LOG_LEVEL_DEBUG);
	ATF_CHECK_EQ(conf->log_access, 0);
	ATF_CHECK_EQ(conf->timeouts.connect, 2000);
	ATF_CHECK_EQ(conf->timeouts.idle, 30 * 60 * 1000);
	ATF_CHECK_EQ(conf->timeouts.half_closed, 45000);
	ATF_CHECK_EQ(conf->timeouts.handshake, 500);
	ATF_CHECK_EQ(conf->timeouts.drain, 3600 * 1000);
	ATF_CHECK_EQ(conf->nlisteners, 2);
	ATF_CHECK_EQ(conf->nbackends, 2);

	pg = nth_listener(conf, 0);
	v6 = nth_listener(conf, 1);
	ATF_REQUIRE(pg != NULL && v6 != NULL);
	ATF_CHECK_STREQ(pg->name, "pg");
	ATF_CHECK_STREQ(pg->listen, "0.0.0.0:5432");
	ATF_CHECK_EQ(pg->id, 0);
	ATF_CHECK_EQ(v6->id, 1);
	ATF_CHECK_EQ(pg->max_sessions, 100);
	ATF_CHECK_EQ(v6->max_sessions, 0);
	ATF_CHECK_EQ(pg->fd, -1);
	sin = (struct sockaddr_in *)&pg->ss;
	ATF_CHECK_EQ(pg->sslen, sizeof(struct sockaddr_in));
	ATF_CHECK_EQ(sin->sin_family, AF_INET);
	ATF_CHECK_EQ(ntohs(sin->sin_port), 5432);
	ATF_CHECK_EQ(v6->sslen, sizeof(struct sockaddr_in6));
	ATF_CHECK_EQ(v6->ss.ss_family, AF_INET6);
	/* Overrides, then inheritance from the global timeouts. */
	ATF_CHECK_EQ(pg->timeouts.idle, TIMEOUT_INFINITE);
	ATF_CHECK_EQ(pg->timeouts.connect, 1000);
	ATF_CHECK_EQ(pg->timeouts.half_closed, 45000);
	ATF_CHECK_EQ(pg->timeouts.handshake, 500);
	ATF_CHECK_EQ(pg->timeouts.drain, 3600 * 1000);
	ATF_CHECK_EQ(v6->timeouts.idle, 30 * 60 * 1000);
	ATF_CHECK_EQ(v6->timeouts.connect, 2000);

	pool = config_find_backend(conf, "pool");
	web = config_find_backend(conf, "web");
	ATF_REQUIRE(pool != NULL && web != NULL);
	ATF_CHECK(config_find_backend(conf, "nope") == NULL);
	ATF_CHECK(pg->backend == pool);
	ATF_CHECK(v6->backend == web);
	ATF_CHECK_EQ(pool->id, 0);
	ATF_CHECK_EQ(web->id, 1);
	ATF_CHECK_EQ(pool->balance, BALANCE_LEASTCONN);
	ATF_CHECK_EQ(pool->retries, 0);
	ATF_CHECK_EQ(web->balance, BALANCE_ROUNDROBIN);
	ATF_CHECK_EQ(web->retries, 2);
	ATF_REQUIRE_EQ(pool->nservers, 3);
	ATF_CHECK_EQ(web->nservers, 1);

	s = nth_server(pool, 0);
	ATF_CHECK_STREQ(s->address, "10.0.0.5:5432");
	ATF_CHECK_EQ(s->weight, 90);
	ATF_CHECK_EQ(s->backup, 0);
	ATF_CHECK_EQ(s->id, 0);
	ATF_CHECK(pool->server_index[0] == s);
	s = nth_server(pool, 1);
	ATF_CHECK_STREQ(s->address, "db2.internal:5432");
	ATF_CHECK_EQ(s->sslen, 0);	/* not resolved */
	ATF_CHECK_EQ(s->weight, 10);
	ATF_CHECK(pool->server_index[1] == s);
	s = nth_server(pool, 2);
	ATF_CHECK_EQ(s->weight, 1);
	ATF_CHECK_EQ(s->backup, 1);
	ATF_CHECK_EQ(s->id, 2);
	s = nth_server(web, 0);
	ATF_CHECK_EQ(s->sslen, sizeof(struct sockaddr_in6));
	config_free(conf);
}

ATF_TC(defaults);
ATF_TC_HEAD(defaults, tc)
{
	atf_tc_set_md_var(tc, "descr", "defaults of a minimal file");
}
ATF_TC_BODY(defaults, tc)
{
	struct l4d_config	*conf;
	struct listener		*l;

	conf = parse_str(LISTENER_A BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_STREQ(conf->user, L4D_USER);
	ATF_CHECK_STREQ(conf->chroot, L4D_CHROOT);
	ATF_CHECK_STREQ(conf->control, L4D_SOCKET);
	ATF_CHECK_EQ(conf->relays, 0);
	ATF_CHECK_EQ(conf->relay_mode, RELAY_MODE_AUTO);
	ATF_CHECK_EQ(conf->log_level, LOG_LEVEL_INFO);
	ATF_CHECK_EQ(conf->log_access, 1);
	l = nth_listener(conf, 0);
	ATF_CHECK_EQ(l->timeouts.connect, DEFAULT_CONNECT_MS);
	ATF_CHECK_EQ(l->timeouts.idle, DEFAULT_IDLE_MS);
	ATF_CHECK_EQ(l->timeouts.half_closed, DEFAULT_HALF_CLOSED_MS);
	ATF_CHECK_EQ(l->timeouts.handshake, DEFAULT_HANDSHAKE_MS);
	ATF_CHECK_EQ(l->timeouts.drain, DEFAULT_DRAIN_MS);
	ATF_CHECK_EQ(l->max_sessions, 0);
	ATF_CHECK_EQ(TAILQ_FIRST(&l->backend->servers)->weight, 1);
	config_free(conf);

	conf = config_new_empty();
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(conf->timeouts.drain, DEFAULT_DRAIN_MS);
	ATF_CHECK(TAILQ_EMPTY(&conf->listeners));
	ATF_CHECK_EQ(config_link(conf), 0);
	config_free(conf);
	config_free(NULL);
}

ATF_TC(zero_copy_words);
ATF_TC_HEAD(zero_copy_words, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "zero_copy: true, false, sockmap and adaptive");
}
ATF_TC_BODY(zero_copy_words, tc)
{
	static const struct {
		const char	*word;
		int		 mode;
	} w[] = {
		{ "true", RELAY_MODE_AUTO },
		{ "false", RELAY_MODE_COPY },
		{ "sockmap", RELAY_MODE_SOCKMAP },
		{ "adaptive", RELAY_MODE_ADAPTIVE },
	};
	struct l4d_config	*conf;
	char			 buf[256];
	size_t			 i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		(void)snprintf(buf, sizeof(buf), "zero_copy: %s\n%s%s",
		    w[i].word, LISTENER_A, BACKEND_B);
		conf = parse_str(buf, 0);
		ATF_REQUIRE_EQ_MSG(nerrors(), 0, "%s", w[i].word);
		ATF_REQUIRE(conf != NULL);
		ATF_CHECK_EQ_MSG(conf->relay_mode, w[i].mode, "%s",
		    w[i].word);
		config_free(conf);
	}
}

ATF_TC(valid_variants);
ATF_TC_HEAD(valid_variants, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "relays auto, yes/no booleans, v4 and v6 wildcards on one port, "
	    "a shared server list through an alias");
}
ATF_TC_BODY(valid_variants, tc)
{
	struct l4d_config	*conf;
	struct backend		*b;

	conf = parse_str(
	    "relays: auto\n"
	    "zero_copy: yes\n"
	    "listeners:\n"
	    "  - { name: a, listen: \"*:80\", backend: b }\n"
	    "  - { name: a6, listen: \"[::]:80\", backend: c }\n"
	    "  - { name: x, listen: \"127.0.0.1:81\", backend: c }\n"
	    "  - { name: y, listen: \"127.0.0.2:81\", backend: c }\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers: &pool\n"
	    "      - address: \"10.0.0.1:1\"\n"
	    "      - address: \"10.0.0.2:1\"\n"
	    "  - name: c\n"
	    "    balance: source-hash\n"
	    "    servers: *pool\n", 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(conf->relays, 0);
	ATF_CHECK_EQ(conf->relay_mode, RELAY_MODE_AUTO);
	b = config_find_backend(conf, "c");
	ATF_REQUIRE(b != NULL);
	ATF_CHECK_EQ(b->nservers, 2);
	ATF_CHECK_EQ(b->balance, BALANCE_SOURCE_HASH);
	ATF_CHECK(TAILQ_FIRST(&b->servers) !=
	    TAILQ_FIRST(&config_find_backend(conf, "b")->servers));
	config_free(conf);
}

ATF_TC(durations);
ATF_TC_HEAD(durations, tc)
{
	atf_tc_set_md_var(tc, "descr", "parse_duration");
}
ATF_TC_BODY(durations, tc)
{
	long long	 ms = 42;

	ATF_CHECK_EQ(parse_duration("250ms", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 250);
	ATF_CHECK_EQ(parse_duration("5s", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 5000);
	ATF_CHECK_EQ(parse_duration("2m", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 120000);
	ATF_CHECK_EQ(parse_duration("1h", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 3600000);
	ATF_CHECK_EQ(parse_duration("30", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 30000);
	ATF_CHECK_EQ(parse_duration("0", &ms, 0), 0);
	ATF_CHECK_EQ(ms, 0);
	ATF_CHECK_EQ(parse_duration("infinite", &ms, 1), 0);
	ATF_CHECK_EQ(ms, TIMEOUT_INFINITE);

	ms = 42;
	ATF_CHECK_EQ(parse_duration("infinite", &ms, 0), -1);
	ATF_CHECK_EQ(parse_duration("", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("s", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("5x", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("-5s", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("1.5s", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("5 s", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("5sec", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("99999999999999999999", &ms, 1), -1);
	ATF_CHECK_EQ(parse_duration("9999999999h", &ms, 1), -1);
	ATF_CHECK_EQ(ms, 42);
}

ATF_TC(addresses);
ATF_TC_HEAD(addresses, tc)
{
	atf_tc_set_md_var(tc, "descr", "parse_address");
}
ATF_TC_BODY(addresses, tc)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	char			 err[128];

	ATF_REQUIRE_EQ(parse_address("192.0.2.1:80", &ss, &sslen, 0, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(sslen, sizeof(*sin));
	ATF_CHECK_EQ(sin->sin_family, AF_INET);
	ATF_CHECK_EQ(ntohs(sin->sin_port), 80);
	ATF_CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000201);

	ATF_REQUIRE_EQ(parse_address("[2001:db8::1]:443", &ss, &sslen, 0,
	    err, sizeof(err)), 0);
	ATF_CHECK_EQ(sslen, sizeof(*sin6));
	ATF_CHECK_EQ(sin6->sin6_family, AF_INET6);
	ATF_CHECK_EQ(ntohs(sin6->sin6_port), 443);
	ATF_CHECK_EQ(sin6->sin6_addr.s6_addr[0], 0x20);
	ATF_CHECK_EQ(sin6->sin6_addr.s6_addr[15], 1);

	ATF_REQUIRE_EQ(parse_address("*:65535", &ss, &sslen, 0, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(sin->sin_family, AF_INET);
	ATF_CHECK_EQ(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	ATF_CHECK_EQ(ntohs(sin->sin_port), 65535);

	ATF_REQUIRE_EQ(parse_address("db.internal:5432", &ss, &sslen, 0, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(sslen, 0);
	ATF_REQUIRE_EQ(parse_address("localhost:5432", &ss, &sslen, 1, err,
	    sizeof(err)), 0);
	ATF_CHECK(sslen == sizeof(*sin) || sslen == sizeof(*sin6));
	ATF_CHECK_EQ(ntohs(sin->sin_port), 5432);

	ATF_CHECK_EQ(parse_address("192.0.2.1:0", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "port must be 1-65535");
	ATF_CHECK_EQ(parse_address("192.0.2.1:65536", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("192.0.2.1:http", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("192.0.2.1:", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("192.0.2.1", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "missing port");
	ATF_CHECK_EQ(parse_address("[::1]", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "missing port");
	ATF_CHECK_EQ(parse_address("::1:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "IPv6 addresses need brackets");
	ATF_CHECK_EQ(parse_address("[::1:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("[10.0.0.1]:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("1.2.3:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "bad IPv4 address");
	ATF_CHECK_EQ(parse_address("256.1.1.1:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address(":80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("bad host:80", &ss, &sslen, 0, err,
	    sizeof(err)), -1);
	ATF_CHECK_EQ(parse_address("", &ss, &sslen, 0, NULL, 0), -1);
	ATF_CHECK_EQ(parse_address("no-such-host.invalid:80", &ss, &sslen, 1,
	    err, sizeof(err)), -2);
}

/*
 * Routes, no_sni and starttls.
 */

static const char routes_config[] =
	"listeners:\n"
	"  - name: tls\n"
	"    listen: \"127.0.0.1:443\"\n"
	"    routes:\n"
	"      - { sni: DB.Example.COM., backend: a }\n"		/* 5 */
	"      - { sni: \"*.Staging.example.com\", backend: b, "
	"priority: 5 }\n"
	"      - sni: \"~^read-[0-9]+\\\\.example\\\\.com$\"\n"	/* 7 */
	"        backend: a\n"
	"        priority: 10\n"
	"      - { alpn: postgresql, backend: b, tls: passthrough }\n"
	"      - { sni: web.example.com, alpn: h2, backend: b }\n"	/* 11 */
	"    no_sni: none\n"
	"  - name: pg\n"
	"    listen: \"127.0.0.1:5432\"\n"
	"    backend: a\n"
	"    starttls: postgres\n"
	"    no_sni: b\n"
	"  - name: mixed\n"
	"    listen: \"127.0.0.1:8443\"\n"
	"    backend: a\n"
	"    routes: [{ sni: x.example.com, backend: b }]\n"
	"backends:\n"
	"  - name: a\n"
	"    servers: [{ address: \"127.0.0.1:1\" }]\n"
	"  - name: b\n"
	"    servers: [{ address: \"127.0.0.1:2\" }]\n";

ATF_TC(routes_valid);
ATF_TC_HEAD(routes_valid, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "routes of every kind, in match order, linked; no_sni, starttls");
}
ATF_TC_BODY(routes_valid, tc)
{
	struct l4d_config	*conf;
	struct listener		*l, *pg, *mixed;
	struct backend		*a, *b;
	struct route		*r;

	conf = parse_str(routes_config, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	a = config_find_backend(conf, "a");
	b = config_find_backend(conf, "b");
	l = nth_listener(conf, 0);
	ATF_REQUIRE(l != NULL && a != NULL && b != NULL);
	ATF_CHECK(l->conf == conf);
	ATF_REQUIRE_EQ(l->nroutes, 5);
	ATF_CHECK_STREQ(l->backend_name, "");
	ATF_CHECK(l->backend == NULL);
	ATF_CHECK_EQ(l->no_sni_none, 1);
	ATF_CHECK(l->no_sni == NULL);
	ATF_CHECK_EQ(l->starttls, STARTTLS_NONE);

	r = nth_route(l, 0);		/* priority 10 */
	ATF_CHECK_EQ(r->match, MATCH_REGEX);
	ATF_CHECK_STREQ(r->sni, "^read-[0-9]+\\.example\\.com$");
	ATF_CHECK_EQ(r->priority, 10);
	ATF_CHECK_EQ(r->line, 7);
	ATF_CHECK(r->backend == a);
	ATF_REQUIRE_EQ(r->re_ok, 1);
	ATF_CHECK(regexec(&r->re, "read-12.example.com", 0, NULL, 0) == 0);
	ATF_CHECK(regexec(&r->re, "READ-1.EXAMPLE.COM", 0, NULL, 0) == 0);
	ATF_CHECK(regexec(&r->re, "read-x.example.com", 0, NULL, 0) != 0);
	r = nth_route(l, 1);		/* priority 5 */
	ATF_CHECK_EQ(r->match, MATCH_WILDCARD);
	ATF_CHECK_STREQ(r->sni, "staging.example.com");
	ATF_CHECK_EQ(r->priority, 5);
	ATF_CHECK(r->backend == b);
	ATF_CHECK_EQ(r->re_ok, 0);
	r = nth_route(l, 2);		/* then file order */
	ATF_CHECK_EQ(r->match, MATCH_EXACT);
	ATF_CHECK_STREQ(r->sni, "db.example.com");
	ATF_CHECK_STREQ(r->alpn, "");
	ATF_CHECK_EQ(r->priority, 0);
	ATF_CHECK_EQ(r->line, 5);
	ATF_CHECK_EQ(r->tls, ROUTE_TLS_PASSTHROUGH);
	r = nth_route(l, 3);
	ATF_CHECK_EQ(r->match, MATCH_ANY);
	ATF_CHECK_STREQ(r->sni, "");
	ATF_CHECK_STREQ(r->alpn, "postgresql");
	r = nth_route(l, 4);
	ATF_CHECK_EQ(r->match, MATCH_EXACT);
	ATF_CHECK_STREQ(r->sni, "web.example.com");
	ATF_CHECK_STREQ(r->alpn, "h2");
	ATF_CHECK_EQ(r->line, 11);
	ATF_CHECK_EQ(r->id, 4);
	ATF_CHECK_EQ(r->listener_id, l->id);
	ATF_CHECK_STREQ(r->backend_name, "b");

	pg = nth_listener(conf, 1);
	ATF_CHECK_EQ(pg->starttls, STARTTLS_POSTGRES);
	ATF_CHECK_EQ(pg->nroutes, 0);
	ATF_CHECK(pg->backend == a);
	ATF_CHECK_STREQ(pg->no_sni_name, "b");
	ATF_CHECK(pg->no_sni == b);
	ATF_CHECK(listener_peeks(pg));
	mixed = nth_listener(conf, 2);
	ATF_CHECK(mixed->backend == a);
	ATF_CHECK(mixed->no_sni == a);	/* absent: the backend */
	ATF_CHECK_EQ(nth_route(mixed, 0)->listener_id, 2);
	ATF_CHECK_EQ(nth_route(mixed, 0)->id, 0);
	config_free(conf);
}

ATF_TC(routes_order);
ATF_TC_HEAD(routes_order, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "routes sort by priority, higher first, stable in file order");
}
ATF_TC_BODY(routes_order, tc)
{
	static const uint32_t	 lines[] = { 6, 8, 5, 7, 9 };
	struct l4d_config	*conf;
	struct listener		*l;
	struct route		*r;
	int			 i = 0;

	conf = parse_str(ROUTED_R
	    "      - { sni: a.example.com, backend: b }\n"
	    "      - { sni: b.example.com, backend: b, priority: 1000 }\n"
	    "      - { sni: c.example.com, backend: b, priority: 0 }\n"
	    "      - { sni: d.example.com, backend: b, priority: 1000 }\n"
	    "      - { sni: e.example.com, backend: b, priority: -1000 }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	l = nth_listener(conf, 0);
	ATF_REQUIRE_EQ(l->nroutes, 5);
	TAILQ_FOREACH(r, &l->routes, entry) {
		ATF_CHECK_EQ_MSG(r->line, lines[i], "route %d: line %u", i,
		    r->line);
		ATF_CHECK_EQ(r->id, (uint32_t)i);
		i++;
	}
	config_free(conf);
}

ATF_TC(routes_not_duplicates);
ATF_TC_HEAD(routes_not_duplicates, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "routes that look alike but match differently are fine");
}
ATF_TC_BODY(routes_not_duplicates, tc)
{
	struct l4d_config	*conf;

	conf = parse_str(ROUTED_R
	    "      - { sni: example.com, backend: b }\n"
	    "      - { sni: \"*.example.com\", backend: b }\n"
	    "      - { sni: \"~example.com\", backend: b }\n"
	    "      - { sni: example.com, alpn: h2, backend: b }\n"
	    "      - { alpn: h2, backend: b }\n"
	    "      - { alpn: H2, backend: b }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(nth_listener(conf, 0)->nroutes, 6);
	config_free(conf);
}

ATF_TC(routes_alias);
ATF_TC_HEAD(routes_alias, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "listeners sharing routes through an alias get their own copies; "
	    "an error in them is reported once");
}
ATF_TC_BODY(routes_alias, tc)
{
	struct l4d_config	*conf;
	struct listener		*x, *y;

	conf = parse_str(
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    routes: &r\n"
	    "      - { sni: \"~^a\", backend: b }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", routes: *r }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	x = nth_listener(conf, 0);
	y = nth_listener(conf, 1);
	ATF_REQUIRE(x->nroutes == 1 && y->nroutes == 1);
	ATF_CHECK(nth_route(x, 0) != nth_route(y, 0));
	ATF_CHECK_EQ(nth_route(y, 0)->listener_id, 1);
	ATF_CHECK_EQ(nth_route(y, 0)->re_ok, 1);
	config_free(conf);

	ATF_CHECK(parse_str(
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    routes: &r\n"
	    "      - { sni: \"~^(a\", backend: b }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", routes: *r }\n"
	    BACKEND_B, 0) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E024", 5, 16);
	conf_errors_clear(&errs);
}

ATF_TC(no_sni_starttls);
ATF_TC_HEAD(no_sni_starttls, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "no_sni with starttls alone; routes without backend or no_sni");
}
ATF_TC_BODY(no_sni_starttls, tc)
{
	struct l4d_config	*conf;
	struct listener		*l;

	conf = parse_str(LISTENER_A "    starttls: postgres\n"
	    "    no_sni: none\n" BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	l = nth_listener(conf, 0);
	ATF_CHECK_EQ(l->starttls, STARTTLS_POSTGRES);
	ATF_CHECK_EQ(l->no_sni_none, 1);
	ATF_CHECK(l->no_sni == NULL);
	ATF_CHECK(l->backend != NULL);
	config_free(conf);

	conf = parse_str(ROUTED_R "      - { sni: a.example, backend: b }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	l = nth_listener(conf, 0);
	ATF_CHECK(l->backend == NULL);
	ATF_CHECK(l->no_sni == NULL);	/* unmatched sessions close */
	ATF_CHECK_EQ(l->no_sni_none, 0);
	ATF_CHECK(listener_peeks(l));
	config_free(conf);

	conf = parse_str(LISTENER_A BACKEND_B, 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK(!listener_peeks(nth_listener(conf, 0)));
	config_free(conf);
}

/* Listener "r" with n routes, each its own name. */
static char *
many_routes(size_t n)
{
	char	*buf;
	size_t	 len, i, o;

	len = strlen(ROUTED_R) + n * 64 + strlen(BACKEND_B) + 1;
	ATF_REQUIRE((buf = malloc(len)) != NULL);
	o = strlcpy(buf, ROUTED_R, len);
	for (i = 0; i < n; i++)
		o += snprintf(buf + o, len - o,
		    "      - { sni: h%zu.example.com, backend: b }\n", i);
	strlcpy(buf + o, BACKEND_B, len - o);
	return buf;
}

ATF_TC(routes_too_many);
ATF_TC_HEAD(routes_too_many, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "L4D_MAX_ROUTES routes are fine, one more is E013");
}
ATF_TC_BODY(routes_too_many, tc)
{
	struct l4d_config	*conf;
	char			*yaml;

	yaml = many_routes(L4D_MAX_ROUTES);
	conf = parse_str(yaml, 0);
	free(yaml);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(nth_listener(conf, 0)->nroutes, L4D_MAX_ROUTES);
	config_free(conf);
	yaml = many_routes(L4D_MAX_ROUTES + 1);
	check_one(yaml, "E013", 5, 7);
	free(yaml);
}

/*
 * Invalid files: one test each, exactly one error, code and position.
 */

#define ERR_CASE(name, code, line, col, yaml)				\
	ATF_TC(name);							\
	ATF_TC_HEAD(name, tc)						\
	{								\
		atf_tc_set_md_var(tc, "descr",				\
		    "L4D-" code " at line " #line ", column " #col);	\
	}								\
	ATF_TC_BODY(name, tc)						\
	{								\
		check_one(yaml, code, line, col);			\
	}

ERR_CASE(e001_unclosed_flow, "E001", 2, 1,
    "listeners: [a, b\n")
ERR_CASE(e001_tab_indent, "E001", 2, 1,
    "listeners:\n\t- name: a\n")
ERR_CASE(e001_bad_utf8, "E001", 2, 9,
    "user: x\nchroot: \xff\xfe\n")
ERR_CASE(e001_two_documents, "E001", 9, 1,
    LISTENER_A BACKEND_B "---\nuser: x\n")
ERR_CASE(e002_top_key, "E002", 9, 1,
    LISTENER_A BACKEND_B "includes: [/etc/l4d.d/a.conf]\n")
ERR_CASE(e017_include_missing, "E017", 9, 11,
    LISTENER_A BACKEND_B "include: [/nonexistent/l4d.d/a.conf]\n")
ERR_CASE(e042_include_empty, "E042", 9, 10,
    LISTENER_A BACKEND_B "include: \"\"\n")
ERR_CASE(e002_listener_allow, "E002", 5, 5,
    LISTENER_A "    alow: [10.0.0.0/8]\n" BACKEND_B)
ERR_CASE(e002_check_key, "E002", 9, 14,
    LISTENER_A BACKEND_B "    check: { typ: tcp }\n")
ERR_CASE(e035_no_send, "E035", 9, 12,
    LISTENER_A BACKEND_B "    check: { type: send-expect, expect: x }\n")
ERR_CASE(e035_no_expect, "E035", 9, 12,
    LISTENER_A BACKEND_B "    check: { type: send-expect, send: x }\n")
ERR_CASE(e036_bad_regex, "E036", 9, 50,
    LISTENER_A BACKEND_B
    "    check: { type: send-expect, send: a, expect: \"~(\" }\n")
ERR_CASE(e037_rise, "E037", 9, 20,
    LISTENER_A BACKEND_B "    check: { rise: 0 }\n")
ERR_CASE(e037_fall, "E037", 9, 20,
    LISTENER_A BACKEND_B "    check: { fall: 101 }\n")
ERR_CASE(e038_timeout, "E038", 9, 37,
    LISTENER_A BACKEND_B "    check: { interval: 1s, timeout: 2s }\n")
ERR_CASE(e039_interval, "E039", 9, 24,
    LISTENER_A BACKEND_B "    check: { interval: 50ms }\n")
ERR_CASE(e040_escape, "E040", 9, 39,
    LISTENER_A BACKEND_B
    "    check: { type: send-expect, send: 'a\\q', expect: x }\n")
ERR_CASE(e041_send_tcp, "E041", 9, 20,
    LISTENER_A BACKEND_B "    check: { send: a }\n")
ERR_CASE(e002_server_tls, "E002", 8, 35,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      - { address: \"10.0.0.1:80\", tls: true }\n")
ERR_CASE(e002_timeouts_key, "E002", 1, 26,
    "timeouts: { connect: 1s, idel: 5s }\n" LISTENER_A BACKEND_B)
ERR_CASE(e003_listeners_scalar, "E003", 1, 12,
    "listeners: none\n" BACKEND_B)
ERR_CASE(e003_servers_mapping, "E003", 4, 7,
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      address: \"10.0.0.1:80\"\n"
    "listeners: [{ name: a, listen: \"*:1\", backend: b }]\n")
ERR_CASE(e003_bool, "E003", 1, 12,
    "zero_copy: maybe\n" LISTENER_A BACKEND_B)
ERR_CASE(e003_integer, "E003", 9, 14,
    LISTENER_A BACKEND_B "    retries: many\n")
ERR_CASE(e003_relays, "E003", 1, 9,
    "relays: [1]\n" LISTENER_A BACKEND_B)
ERR_CASE(e003_nul_byte, "E003", 2, 11,
    "listeners:\n"
    "  - name: \"a\\0b\"\n"
    "    listen: \"*:1\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e004_bad_unit, "E004", 2, 9,
    "timeouts:\n  idle: 5x\n" LISTENER_A BACKEND_B)
ERR_CASE(e004_connect_infinite, "E004", 2, 12,
    "timeouts:\n  connect: infinite\n" LISTENER_A BACKEND_B)
ERR_CASE(e004_handshake_zero, "E004", 5, 38,
    "listeners:\n"
    "  - name: a\n"
    "    listen: \"127.0.0.1:80\"\n"
    "    backend: b\n"
    "    timeouts: { idle: 1s, handshake: 0 }\n"
    BACKEND_B)
ERR_CASE(e005_bad_port, "E005", 3, 13,
    "listeners:\n"
    "  - name: a\n"
    "    listen: \"1.2.3:x\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e005_listen_hostname, "E005", 3, 13,
    "listeners:\n"
    "  - name: a\n"
    "    listen: \"localhost:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e005_v6_no_brackets, "E005", 3, 13,
    "listeners:\n"
    "  - name: a\n"
    "    listen: \"::1:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e005_server_no_port, "E005", 8, 18,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      - address: \"10.0.0.1\"\n")
ERR_CASE(e006_listener_name, "E006", 2, 5,
    "listeners:\n"
    "  - listen: \"127.0.0.1:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e006_no_listeners, "E006", 1, 1,
    BACKEND_B)
ERR_CASE(e006_no_backends, "E006", 1, 1,
    LISTENER_A)
ERR_CASE(e006_empty_listeners, "E006", 1, 12,
    "listeners: []\n" BACKEND_B)
ERR_CASE(e006_server_address, "E006", 8, 9,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      - weight: 5\n")
ERR_CASE(e007_dup_listener, "E007", 5, 11,
    LISTENER_A
    "  - name: a\n"
    "    listen: \"127.0.0.1:81\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e008_dup_backend, "E008", 9, 11,
    LISTENER_A BACKEND_B
    "  - name: b\n"
    "    servers: [{ address: \"127.0.0.1:9\" }]\n")
ERR_CASE(e009_undefined_backend, "E009", 4, 14,
    "listeners:\n"
    "  - name: a\n"
    "    listen: \"127.0.0.1:80\"\n"
    "    backend: nope\n"
    BACKEND_B)
ERR_CASE(e010_wildcard_conflict, "E010", 6, 13,
    LISTENER_A
    "  - name: c\n"
    "    listen: \"*:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e010_same_v6, "E010", 3, 36,
    "listeners:\n"
    "  - { name: a, listen: \"[::1]:80\", backend: b }\n"
    "  - { name: c, backend: b, listen: \"[0::1]:80\" }\n"
    BACKEND_B)
ERR_CASE(e011_empty_servers, "E011", 7, 14,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers: []\n")
ERR_CASE(e012_weight_zero, "E012", 8, 46,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      - { address: \"127.0.0.1:8080\", weight: 0 }\n")
ERR_CASE(e012_weight_big, "E012", 9, 17,
    LISTENER_A BACKEND_B
    "        weight: 257\n")
ERR_CASE(e013_relays, "E013", 1, 9,
    "relays: 65\n" LISTENER_A BACKEND_B)
ERR_CASE(e013_retries, "E013", 7, 14,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    retries: 17\n"
    "    servers:\n"
    "      - address: \"127.0.0.1:8080\"\n")
ERR_CASE(e013_max_sessions, "E013", 5, 19,
    LISTENER_A "    max_sessions: 1000001\n" BACKEND_B)
ERR_CASE(e014_balance, "E014", 7, 14,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    balance: fastest\n"
    "    servers:\n"
    "      - address: \"127.0.0.1:8080\"\n")
ERR_CASE(e014_log_level, "E014", 2, 10,
    "log:\n  level: verbose\n" LISTENER_A BACKEND_B)
ERR_CASE(e018_dup_key, "E018", 5, 5,
    LISTENER_A "    backend: b\n" BACKEND_B)
ERR_CASE(e018_dup_key_line, "E018", 5, 1,
    BACKEND_B "backends:\n  - name: c\n" LISTENER_A)
ERR_CASE(e018_dup_top_key, "E018", 10, 1,
    "relays: 2\n" LISTENER_A BACKEND_B "relays: 3\n")
ERR_CASE(e019_bad_chars, "E019", 2, 11,
    "listeners:\n"
    "  - name: \"a b\"\n"
    "    listen: \"127.0.0.1:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e019_too_long, "E019", 8, 11,
    LISTENER_A
    "backends:\n"
    "  - name: b\n"
    "    servers: [{ address: \"127.0.0.1:9\" }]\n"
    "  - name: "
    "x123456789x123456789x123456789x123456789x123456789x123456789abcd\n"
    "    servers:\n"
    "      - address: \"127.0.0.1:8080\"\n")
ERR_CASE(e019_empty_name, "E019", 2, 11,
    "listeners:\n"
    "  - name: \"\"\n"
    "    listen: \"127.0.0.1:80\"\n"
    "    backend: b\n"
    BACKEND_B)
ERR_CASE(e019_relative_control, "E019", 1, 10,
    "control: l4d.sock\n" LISTENER_A BACKEND_B)
ERR_CASE(e020_dup_server, "E020", 9, 18,
    LISTENER_A BACKEND_B
    "      - address: \"127.0.0.1:08080\"\n")
ERR_CASE(e021_empty, "E021", 1, 1,
    "")
ERR_CASE(e021_comment_only, "E021", 1, 1,
    "# nothing here\n")
ERR_CASE(e021_sequence, "E021", 1, 1,
    "- listeners\n- backends\n")
ERR_CASE(e002_route_key, "E002", 5, 39,
    ROUTED_R "      - { sni: a.example, backend: b, weight: 1 }\n" BACKEND_B)
ERR_CASE(e002_listener_proxy, "E002", 5, 48,
    LISTENER_A "    proxy_protocol: { trusted: [192.0.2.0/24], send: v2 }\n"
    BACKEND_B)
ERR_CASE(e003_routes_scalar, "E003", 5, 13,
    LISTENER_A "    routes: all\n" BACKEND_B)
ERR_CASE(e003_route_scalar, "E003", 5, 9,
    ROUTED_R "      - a.example\n" BACKEND_B)
ERR_CASE(e003_sni_sequence, "E003", 5, 16,
    ROUTED_R "      - { sni: [a], backend: b }\n" BACKEND_B)
ERR_CASE(e006_listener_backend, "E006", 2, 5,
    "listeners:\n  - name: a\n    listen: \"127.0.0.1:80\"\n" BACKEND_B)
ERR_CASE(e006_empty_routes, "E006", 2, 5,
    "listeners:\n  - name: a\n    listen: \"127.0.0.1:80\"\n"
    "    routes: []\n" BACKEND_B)
ERR_CASE(e006_route_backend, "E006", 5, 9,
    ROUTED_R "      - { sni: a.example }\n" BACKEND_B)
ERR_CASE(e009_route_backend, "E009", 5, 36,
    ROUTED_R "      - { sni: a.example, backend: c }\n" BACKEND_B)
ERR_CASE(e009_no_sni, "E009", 6, 13,
    LISTENER_A "    starttls: postgres\n    no_sni: c\n" BACKEND_B)
ERR_CASE(e013_priority_high, "E013", 5, 43,
    ROUTED_R "      - { alpn: h2, backend: b, priority: 1001 }\n" BACKEND_B)
ERR_CASE(e013_priority_low, "E013", 5, 43,
    ROUTED_R "      - { alpn: h2, backend: b, priority: -1001 }\n" BACKEND_B)
ERR_CASE(e014_route_tls, "E014", 5, 38,
    ROUTED_R "      - { alpn: h2, backend: b, tls: decrypt }\n" BACKEND_B)
ERR_CASE(e014_starttls, "E014", 5, 15,
    LISTENER_A "    starttls: mysql\n" BACKEND_B)
ERR_CASE(e019_sni_empty_label, "E019", 5, 16,
    ROUTED_R "      - { sni: a..example.com, backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_two_final_dots, "E019", 5, 16,
    ROUTED_R "      - { sni: example.com.., backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_bare_wildcard, "E019", 5, 16,
    ROUTED_R "      - { sni: \"*.\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_star, "E019", 5, 16,
    ROUTED_R "      - { sni: \"*\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_inner_star, "E019", 5, 16,
    ROUTED_R "      - { sni: \"a.*.example.com\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_bad_char, "E019", 5, 16,
    ROUTED_R "      - { sni: \"db example.com\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_long_label, "E019", 5, 16,
    ROUTED_R "      - { sni: x" LABEL63 ".com, backend: b }\n" BACKEND_B)
ERR_CASE(e019_sni_too_long, "E019", 5, 16,
    ROUTED_R "      - { sni: " LABEL63 "." LABEL63 "." LABEL63 "."
    LABEL63 ", backend: b }\n" BACKEND_B)
ERR_CASE(e019_alpn_comma, "E019", 5, 17,
    ROUTED_R "      - { alpn: \"h2,http/1.1\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_alpn_space, "E019", 5, 17,
    ROUTED_R "      - { alpn: \"h 2\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_alpn_empty, "E019", 5, 17,
    ROUTED_R "      - { alpn: \"\", backend: b }\n" BACKEND_B)
ERR_CASE(e019_alpn_long, "E019", 5, 17,
    ROUTED_R "      - { alpn: x" LABEL63 ", backend: b }\n" BACKEND_B)
ERR_CASE(e024_bad_regex, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~^(db\", backend: b }\n" BACKEND_B)
ERR_CASE(e024_bad_repeat, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~a{2,1}\", backend: b }\n" BACKEND_B)
ERR_CASE(e024_empty_regex, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~\", backend: b }\n" BACKEND_B)
ERR_CASE(e024_long_regex, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~" LABEL63 LABEL63 LABEL63 LABEL63 "xxxx\", "
    "backend: b }\n" BACKEND_B)
ERR_CASE(e024_repeats, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~((a{255}){255}){255}\", backend: b }\n"
    BACKEND_B)
ERR_CASE(e024_repeats_open, "E024", 5, 16,
    ROUTED_R "      - { sni: \"~(x(a{2,}){99999})\", backend: b }\n"
    BACKEND_B)
ERR_CASE(e025_no_match, "E025", 5, 9,
    ROUTED_R "      - { backend: b, priority: 1 }\n" BACKEND_B)
ERR_CASE(e025_block_route, "E025", 6, 9,
    ROUTED_R "      - { sni: a.example, backend: b }\n"
    "      - backend: b\n        tls: passthrough\n" BACKEND_B)
ERR_CASE(e026_dup_exact, "E026", 6, 9,
    ROUTED_R "      - { sni: a.example, backend: b }\n"
    "      - { sni: A.Example., backend: b, priority: 3 }\n" BACKEND_B)
ERR_CASE(e026_dup_regex, "E026", 7, 9,
    ROUTED_R "      - { sni: \"~^a\", backend: b }\n"
    "      - { sni: \"~^b\", backend: b }\n"
    "      - { sni: \"~^a\", backend: b }\n" BACKEND_B)
ERR_CASE(e026_dup_alpn, "E026", 6, 9,
    ROUTED_R "      - { alpn: h2, sni: \"*.a.example\", backend: b }\n"
    "      - { sni: \"*.A.example\", alpn: h2, backend: b }\n" BACKEND_B)
ERR_CASE(e027_no_routes, "E027", 5, 13,
    LISTENER_A "    no_sni: b\n" BACKEND_B)
ERR_CASE(e027_empty_routes, "E027", 6, 13,
    LISTENER_A "    routes: []\n    no_sni: none\n" BACKEND_B)
ERR_CASE(e028_terminate, "E028", 5, 44,
    ROUTED_R "      - { sni: a.example, backend: b, tls: terminate }\n"
    BACKEND_B)

ATF_TC(route_limits);
ATF_TC_HEAD(route_limits, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a 253-byte name, a 63-byte protocol and a 255-byte regex fit; "
	    "so do repeats that multiply to 1024");
}
ATF_TC_BODY(route_limits, tc)
{
	struct l4d_config	*conf;
	struct listener		*l;
	struct route		*r;

	conf = parse_str(ROUTED_R
	    "      - { sni: " LABEL63 "." LABEL63 "." LABEL63 "."
	    "x123456789x123456789x123456789x123456789x123456789x1234567890.,"
	    " backend: b }\n"
	    "      - { alpn: " LABEL63 ", backend: b }\n"
	    "      - { sni: \"~" LABEL63 LABEL63 LABEL63 LABEL63 "xxx\", "
	    "backend: b }\n"
	    "      - { sni: \"*.a-b_c.example\", backend: b }\n"
	    "      - { sni: \"~^(([a-z0-9-]{1,63})\\\\.){1,4}example$\", "
	    "backend: b }\n"
	    "      - { sni: \"~^[[:alpha:]{]{2}(a|b){0,}[]{]{1024}$\", "
	    "backend: b }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	l = nth_listener(conf, 0);
	ATF_REQUIRE(l != NULL && l->nroutes == 6);
	r = TAILQ_FIRST(&l->routes);
	ATF_CHECK_EQ(strlen(r->sni), 253);
	r = TAILQ_NEXT(r, entry);
	ATF_CHECK_EQ(strlen(r->alpn), 63);
	r = TAILQ_NEXT(r, entry);
	ATF_CHECK_EQ(strlen(r->sni), 255);
	r = TAILQ_NEXT(r, entry);
	ATF_CHECK_STREQ(r->sni, "a-b_c.example");
	config_free(conf);
}

ATF_TC(route_messages);
ATF_TC_HEAD(route_messages, tc)
{
	atf_tc_set_md_var(tc, "descr", "what the route errors say");
}
ATF_TC_BODY(route_messages, tc)
{
	parse_str(ROUTED_R "      - { sni: \"~^(db\", backend: b }\n"
	    BACKEND_B, 0);
	check_contains("listeners[0].routes[0].sni: bad regex \"~^(db\": ");
	parse_str(ROUTED_R "      - { sni: a.example, backend: b }\n"
	    "      - { sni: A.Example., backend: b, priority: 3 }\n"
	    BACKEND_B, 0);
	check_contains("listeners[0].routes[1]: same sni and alpn as the "
	    "route at line 5 (hint: ");
	parse_str(ROUTED_R "      - { backend: b }\n" BACKEND_B, 0);
	check_contains("listeners[0].routes[0]: a route needs sni or alpn");
	parse_str(LISTENER_A "    no_sni: b\n" BACKEND_B, 0);
	check_contains("listeners[0].no_sni: no_sni needs routes (hint: ");
	parse_str(ROUTED_R "      - { alpn: h2, backend: b, tls: terminate }\n"
	    BACKEND_B, 0);
	check_contains("listeners[0].routes[0].tls: tls: terminate on a "
	    "listener without tls: (hint: add tls: with certificates: to "
	    "the listener, or use tls: passthrough)");
	parse_str(LISTENER_A "    starttls: mysql\n" BACKEND_B, 0);
	check_contains("(hint: one of: postgres)");
	parse_str("listeners:\n  - name: a\n    listen: \"127.0.0.1:80\"\n"
	    BACKEND_B, 0);
	check_contains("listeners[0]: missing required key \"backend\" "
	    "(hint: add backend: NAME)");
	conf_errors_clear(&errs);
}

ATF_TC(did_you_mean);
ATF_TC_HEAD(did_you_mean, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "an unknown key one or two edits from a valid one is named");
}
ATF_TC_BODY(did_you_mean, tc)
{
	check_one(LISTENER_A BACKEND_B "        wieght: 2\n", "E002", 9, 9);
	parse_str(LISTENER_A BACKEND_B "        wieght: 2\n", 0);
	check_contains("unknown key \"wieght\" (hint: did you mean "
	    "\"weight\"? valid keys here: address, weight, backup)");
	parse_str(LISTENER_A "    bakend: b\n" BACKEND_B, 0);
	check_contains("did you mean \"backend\"? valid keys here: name, ");
	parse_str("timeouts: { idel: 5s }\n" LISTENER_A BACKEND_B, 0);
	check_contains("did you mean \"idle\"?");
	parse_str(LISTENER_A "    max_sesions: 5\n" BACKEND_B, 0);
	check_contains("did you mean \"max_sessions\"?");
	parse_str(ROUTED_R "      - { sni: a.example, backend: b, "
	    "priorty: 2 }\n" BACKEND_B, 0);
	check_contains("did you mean \"priority\"? valid keys here: sni, "
	    "alpn, tls, backend, priority)");
	parse_str(LISTENER_A "    nosni: none\n" BACKEND_B, 0);
	check_contains("did you mean \"no_sni\"?");
	parse_str(LISTENER_A "    colour: blue\n" BACKEND_B, 0);
	ATF_CHECK(strstr(error_at(0), "did you mean") == NULL);
	parse_str(LISTENER_A "    x: 1\n" BACKEND_B, 0);
	ATF_CHECK(strstr(error_at(0), "did you mean") == NULL);
	parse_str(LISTENER_A "    backendbackend: b\n" BACKEND_B, 0);
	ATF_CHECK(strstr(error_at(0), "did you mean") == NULL);
	conf_errors_clear(&errs);
}

/* Exactly one error, E023 at line:col, and in good time. */
static void
check_deep(const char *yaml, int line, int col)
{
	struct timespec	 t0, t1;
	double		 secs;

	ATF_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
	check_one(yaml, "E023", line, col);
	ATF_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &t1) == 0);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ATF_CHECK_MSG(secs < 0.5, "took %.3f s", secs);
}

ATF_TC(e023_deep_sequence);
ATF_TC_HEAD(e023_deep_sequence, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "L4D-E023 for 65 and 100000 nested flow sequences, at once");
}
ATF_TC_BODY(e023_deep_sequence, tc)
{
	char	*yaml;

	yaml = repeat("[", 65, "\n");
	check_deep(yaml, 1, 65);
	free(yaml);
	yaml = repeat("[", 100000, "\n");
	check_deep(yaml, 1, 65);
	free(yaml);
	yaml = repeat("- ", 100000, "x\n");
	check_deep(yaml, 1, 129);
	free(yaml);
	parse_str(LISTENER_A BACKEND_B "---\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n", 0);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E023", 10, 65);
	check_contains("YAML nesting too deep: more than 64 levels");
	conf_errors_clear(&errs);
}

ATF_TC(e023_deep_mapping);
ATF_TC_HEAD(e023_deep_mapping, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "L4D-E023 for deep flow and block mappings, at once");
}
ATF_TC_BODY(e023_deep_mapping, tc)
{
	char	*yaml, *p;
	size_t	 i;

	yaml = repeat("{a: ", 100000, "x\n");
	check_deep(yaml, 1, 257);
	free(yaml);
	/* a:\n a:\n  a:\n ... each one column further in */
	ATF_REQUIRE((yaml = malloc(1000 * 1000)) != NULL);
	for (p = yaml, i = 0; i < 1000; i++) {
		memset(p, ' ', i);
		memcpy(p + i, "a:\n", 3);
		p += i + 3;
	}
	*p = '\0';
	check_deep(yaml, 65, 65);
	free(yaml);
}

ATF_TC(depth_64_ok);
ATF_TC_HEAD(depth_64_ok, tc)
{
	atf_tc_set_md_var(tc, "descr", "64 levels of nesting are no E023");
}
ATF_TC_BODY(depth_64_ok, tc)
{
	struct conf_error	*e;
	char			*open, *yaml;
	size_t			 n;

	open = repeat("[", 64, "");
	yaml = repeat("]", 64, "\n");
	n = strlen(open) + strlen(yaml) + 1;
	ATF_REQUIRE((open = realloc(open, n)) != NULL);
	strlcat(open, yaml, n);
	check_one(open, "E021", 1, 1);
	free(open);
	free(yaml);

	open = repeat("{a: ", 64, "x");
	yaml = repeat("}", 64, "\n");
	n = strlen(open) + strlen(yaml) + 1;
	ATF_REQUIRE((open = realloc(open, n)) != NULL);
	strlcat(open, yaml, n);
	ATF_CHECK(parse_str(open, 0) == NULL);
	ATF_CHECK(nerrors() > 0);
	TAILQ_FOREACH(e, &errs, entry)
		ATF_CHECK_MSG(strstr(e->msg, "E023") == NULL, "%s", e->msg);
	conf_errors_clear(&errs);
	free(open);
	free(yaml);
}

/*
 * Many errors, and the checks that need the system.
 */

ATF_TC(three_errors);
ATF_TC_HEAD(three_errors, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "three independent errors are all reported, in file order");
}
ATF_TC_BODY(three_errors, tc)
{
	struct l4d_config	*conf;

	conf = parse_str(
	    "listeners:\n"
	    "  - name: a\n"
	    "    listen: \"127.0.0.1:99999\"\n"
	    "    backend: b\n"
	    "    colour: blue\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers:\n"
	    "      - { address: \"127.0.0.1:8080\", weight: 300 }\n", 0);
	ATF_REQUIRE(conf == NULL);
	ATF_REQUIRE_EQ(nerrors(), 3);
	check_prefix(error_at(0), "E005", 3, 13);
	check_prefix(error_at(1), "E002", 5, 5);
	check_prefix(error_at(2), "E012", 9, 46);
}

ATF_TC(messages);
ATF_TC_HEAD(messages, tc)
{
	atf_tc_set_md_var(tc, "descr", "messages name the key path");
}
ATF_TC_BODY(messages, tc)
{
	check_one(
	    "listeners:\n"
	    "  - { name: a, listen: \"127.0.0.1:80\", backend: b }\n"
	    "  - name: c\n"
	    "    listen: \"1.2.3:x\"\n"
	    "    backend: b\n"
	    BACKEND_B, "E005", 4, 13);
	parse_str(
	    "listeners:\n"
	    "  - { name: a, listen: \"127.0.0.1:80\", backend: b }\n"
	    "  - name: c\n"
	    "    listen: \"1.2.3:x\"\n"
	    "    backend: b\n"
	    BACKEND_B, 0);
	check_contains("listeners[1].listen: bad address \"1.2.3:x\": "
	    "port must be 1-65535 (hint: ");
	parse_str(LISTENER_A "  - name: c\n    listen: \"*:80\"\n"
	    "    backend: b\n" BACKEND_B, 0);
	check_contains("conflicts with listener \"a\" (line 2)");
	parse_str(BACKEND_B "backends:\n  - name: c\n" LISTENER_A, 0);
	check_contains("key \"backends\" appears twice (first at line 1)");
	parse_str(LISTENER_A "    rate_limt: 5\n" BACKEND_B, 0);
	check_contains("hint: did you mean \"rate_limit\"? valid keys here: "
	    "name, listen, backend, max_sessions, timeouts, tls, routes, "
	    "no_sni, starttls, allow, deny, rate_limit, proxy_protocol, dual_stack)");
	conf_errors_clear(&errs);
}

ATF_TC(alias_no_repeat);
ATF_TC_HEAD(alias_no_repeat, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "an error inside an aliased node is reported once");
}
ATF_TC_BODY(alias_no_repeat, tc)
{
	ATF_CHECK(parse_str(
	    "listeners:\n"
	    "  - name: a\n"
	    "    listen: \"127.0.0.1:80\"\n"
	    "    backend: b\n"
	    "    timeouts: &t { idle: 5x }\n"
	    "  - name: c\n"
	    "    listen: \"127.0.0.1:81\"\n"
	    "    backend: b\n"
	    "    timeouts: *t\n"
	    BACKEND_B, 0) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E004", 5, 26);
	conf_errors_clear(&errs);
}

ATF_TC(e015_no_such_host);
ATF_TC_HEAD(e015_no_such_host, tc)
{
	atf_tc_set_md_var(tc, "descr", "E015 when resolving, not otherwise");
}
ATF_TC_BODY(e015_no_such_host, tc)
{
	static const char	 yaml[] =
	    "user: root\n"
	    "chroot: /\n"
	    LISTENER_A
	    "backends:\n"
	    "  - name: b\n"
	    "    servers:\n"
	    "      - address: \"no-such-host.invalid:80\"\n";
	struct l4d_config	*conf;

	ATF_REQUIRE(parse_str(yaml, 1) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E015", 10, 18);
	conf = parse_str(yaml, 0);
	ATF_CHECK_EQ(nerrors(), 0);
	ATF_CHECK(conf != NULL);
	config_free(conf);
}

ATF_TC(e016_unknown_user);
ATF_TC_HEAD(e016_unknown_user, tc)
{
	atf_tc_set_md_var(tc, "descr", "E016 for a user that does not exist");
}
ATF_TC_BODY(e016_unknown_user, tc)
{
	ATF_REQUIRE(parse_str("chroot: /\nuser: l4d-no-such-user\n"
	    LISTENER_A BACKEND_B, 1) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E016", 2, 7);
	conf_errors_clear(&errs);
}

ATF_TC(e017_cannot_read);
ATF_TC_HEAD(e017_cannot_read, tc)
{
	atf_tc_set_md_var(tc, "descr", "E017 for a file that is not there");
}
ATF_TC_BODY(e017_cannot_read, tc)
{
	const char	*path = "/nonexistent/l4d.conf";

	ATF_REQUIRE(parse_config(path, &errs) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	ATF_CHECK_STREQ(error_at(0), "/nonexistent/l4d.conf:1:1: L4D-E017: "
	    "cannot read the file: No such file or directory "
	    "(hint: check the path and its permissions)");
	conf_errors_clear(&errs);
	ATF_REQUIRE(parse_config("/", &errs) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	conf_errors_clear(&errs);
}

ATF_TC(e022_no_chroot);
ATF_TC_HEAD(e022_no_chroot, tc)
{
	atf_tc_set_md_var(tc, "descr", "E022 for a missing chroot directory");
}
ATF_TC_BODY(e022_no_chroot, tc)
{
	ATF_REQUIRE(parse_str("user: root\nchroot: /nonexistent/empty\n"
	    LISTENER_A BACKEND_B, 1) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E022", 2, 9);
	conf_errors_clear(&errs);
}

ATF_TC(parse_file);
ATF_TC_HEAD(parse_file, tc)
{
	atf_tc_set_md_var(tc, "descr", "parse_config reads a file");
}
ATF_TC_BODY(parse_file, tc)
{
	struct l4d_config	*conf;
	FILE			*fp;

	ATF_REQUIRE((fp = fopen("l4d.conf", "w")) != NULL);
	fputs("user: root\nchroot: /\n" LISTENER_A BACKEND_B, fp);
	ATF_REQUIRE(fclose(fp) == 0);
	conf = parse_config("l4d.conf", &errs);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_STREQ(conf->path, "l4d.conf");
	ATF_CHECK(nth_listener(conf, 0)->backend != NULL);
	config_free(conf);
	unlink("l4d.conf");
}

/*
 * tls: blocks, without the files (resolve 0): the keys, the defaults,
 * the codes.
 */

/* Lines 1-6: listener "a" with tls:, its certificates from line 7. */
#define TLS_HEAD							\
	"listeners:\n"							\
	"  - name: a\n"							\
	"    listen: \"127.0.0.1:443\"\n"				\
	"    backend: b\n"						\
	"    tls:\n"							\
	"      certificates:\n"

/* Lines 1-7: the same with one certificate; more tls: keys at line 8. */
#define TLS_A								\
	TLS_HEAD							\
	"        - { cert: /c/a.crt, key: /c/a.key }\n"

/* Lines 1-9: listener "a", backend "b" with tls:, its keys at line 10. */
#define BACKEND_TLS							\
	LISTENER_A BACKEND_B						\
	"    tls:\n"

static struct tls_cert *
nth_cert(struct listener_tls *t, int n)
{
	struct tls_cert	*c;

	TAILQ_FOREACH(c, &t->certs, entry)
		if (n-- == 0)
			return c;
	return NULL;
}

static const char tls_config[] =
	"tls_engines: 4\n"
	"listeners:\n"
	"  - name: a\n"
	"    listen: \"127.0.0.1:443\"\n"
	"    backend: b\n"
	"    tls:\n"
	"      certificates:\n"
	"        - cert: /c/a.crt\n"
	"          key: /c/a.key\n"
	"          ocsp_staple: /c/a.ocsp\n"
	"          names: [A.Example., \"*.B.example\"]\n"
	"        - { cert: /c/b.crt, key: /c/b.key }\n"
	"      client_auth: require\n"
	"      client_ca: /c/ca.crt\n"
	"      crl: /c/ca.crl\n"
	"      protocols: \"tlsv1.2,tlsv1.3\"\n"
	"      ciphers: compat\n"
	"    routes:\n"
	"      - { sni: x.example, backend: b }\n"
	"      - { sni: y.example, backend: b, tls: passthrough }\n"
	"      - { sni: z.example, backend: b, tls: terminate }\n"
	"  - name: pg\n"
	"    listen: \"127.0.0.1:5432\"\n"
	"    backend: b\n"
	"    starttls: postgres\n"
	"    tls: { certificates: [{ cert: /c/a.crt, key: /c/a.key }] }\n"
	"    no_sni: plain\n"
	"  - name: plain\n"
	"    listen: \"127.0.0.1:80\"\n"
	"    routes:\n"
	"      - { sni: x.example, backend: b }\n"
	"backends:\n"
	"  - name: b\n"
	"    servers: [{ address: \"127.0.0.1:8080\" }]\n"
	"    tls:\n"
	"      verify: true\n"
	"      ca: /c/ca.crt\n"
	"      server_name: DB.Internal.\n"
	"      cert: /c/client.crt\n"
	"      key: /c/client.key\n"
	"      protocols: tlsv1.3\n"
	"  - name: insecure\n"
	"    servers: [{ address: \"127.0.0.1:8081\" }]\n"
	"    tls: { verify: false }\n"
	"  - name: plain\n"
	"    servers: [{ address: \"127.0.0.1:8082\" }]\n";

static void
check_listener_tls(struct listener *l)
{
	struct listener_tls	*t = l->tls;
	struct tls_cert		*c;

	ATF_REQUIRE(t != NULL);
	ATF_CHECK_EQ(l->tls_terminate, 1);
	ATF_CHECK(listener_peeks(l));
	ATF_CHECK_EQ(t->client_auth, CLIENT_AUTH_REQUIRE);
	ATF_CHECK_STREQ(t->client_ca, "/c/ca.crt");
	ATF_CHECK_STREQ(t->crl, "/c/ca.crl");
	ATF_CHECK_STREQ(t->protocols, "tlsv1.2,tlsv1.3");
	ATF_CHECK_STREQ(t->ciphers, "compat");
	ATF_CHECK(t->client_ca_mem.mem == NULL && t->crl_mem.mem == NULL);
	ATF_REQUIRE_EQ(t->ncerts, 2);
	c = nth_cert(t, 0);
	ATF_CHECK_EQ(c->id, 0);
	ATF_CHECK_STREQ(c->cert, "/c/a.crt");
	ATF_CHECK_STREQ(c->key, "/c/a.key");
	ATF_CHECK_STREQ(c->ocsp, "/c/a.ocsp");
	ATF_REQUIRE_EQ(c->nnames, 2);
	ATF_CHECK_STREQ(c->names[0], "a.example");
	ATF_CHECK_STREQ(c->names[1], "*.b.example");
	/* Not resolving: no file is read. */
	ATF_CHECK(c->cert_mem.mem == NULL && c->key_mem.mem == NULL &&
	    c->ocsp_mem.mem == NULL && c->key_mem.len == 0);
	c = nth_cert(t, 1);
	ATF_CHECK_EQ(c->id, 1);
	ATF_CHECK_STREQ(c->cert, "/c/b.crt");
	ATF_CHECK_STREQ(c->ocsp, "");
	ATF_CHECK_EQ(c->nnames, 0);
}

ATF_TC(tls_valid);
ATF_TC_HEAD(tls_valid, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "every tls: key of listeners and backends, tls_engines, the "
	    "routes' default mode; no file read without resolving");
}
ATF_TC_BODY(tls_valid, tc)
{
	struct l4d_config	*conf;
	struct listener		*l;
	struct backend		*b;

	conf = parse_str(tls_config, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(conf->tls_engines, 4);
	l = nth_listener(conf, 0);
	check_listener_tls(l);
	ATF_REQUIRE_EQ(l->nroutes, 3);
	ATF_CHECK_EQ(nth_route(l, 0)->tls, ROUTE_TLS_TERMINATE);
	ATF_CHECK_EQ(nth_route(l, 1)->tls, ROUTE_TLS_PASSTHROUGH);
	ATF_CHECK_EQ(nth_route(l, 2)->tls, ROUTE_TLS_TERMINATE);
	l = nth_listener(conf, 1);
	ATF_REQUIRE(l->tls != NULL);
	ATF_CHECK_EQ(l->starttls, STARTTLS_POSTGRES);
	ATF_CHECK_EQ(l->tls->client_auth, CLIENT_AUTH_NONE);
	ATF_CHECK_STREQ(l->tls->ciphers, "secure");
	ATF_CHECK_STREQ(l->tls->protocols, "");
	ATF_CHECK(l->no_sni == config_find_backend(conf, "plain"));
	l = nth_listener(conf, 2);
	ATF_CHECK(l->tls == NULL);
	ATF_CHECK_EQ(l->tls_terminate, 0);
	ATF_CHECK_EQ(nth_route(l, 0)->tls, ROUTE_TLS_PASSTHROUGH);

	b = config_find_backend(conf, "b");
	ATF_REQUIRE(b != NULL && b->tls != NULL);
	ATF_CHECK_EQ(b->tls_originate, 1);
	ATF_CHECK_EQ(b->tls->verify, 1);
	ATF_CHECK_STREQ(b->tls->ca, "/c/ca.crt");
	ATF_CHECK_STREQ(b->tls->server_name, "db.internal");
	ATF_CHECK_STREQ(b->tls->cert, "/c/client.crt");
	ATF_CHECK_STREQ(b->tls->key, "/c/client.key");
	ATF_CHECK_STREQ(b->tls->protocols, "tlsv1.3");
	ATF_CHECK(b->tls->ca_mem.mem == NULL && b->tls->key_mem.mem == NULL);
	b = config_find_backend(conf, "insecure");
	ATF_REQUIRE(b != NULL && b->tls != NULL);
	ATF_CHECK_EQ(b->tls->verify, 0);
	ATF_CHECK_STREQ(b->tls->ca, "");
	ATF_CHECK_STREQ(b->tls->server_name, "");
	b = config_find_backend(conf, "plain");
	ATF_CHECK(b->tls == NULL);
	ATF_CHECK_EQ(b->tls_originate, 0);
	config_free(conf);
}

ATF_TC(tls_defaults);
ATF_TC_HEAD(tls_defaults, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "tls_engines 1; no tls: is no TLS; tls: and no routes "
	    "terminates, and may have no_sni");
}
ATF_TC_BODY(tls_defaults, tc)
{
	struct l4d_config	*conf;
	struct listener		*l;

	conf = parse_str(LISTENER_A BACKEND_B, 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(conf->tls_engines, 1);
	l = nth_listener(conf, 0);
	ATF_CHECK(l->tls == NULL && l->tls_terminate == 0);
	ATF_CHECK(!listener_peeks(l));
	ATF_CHECK(TAILQ_FIRST(&conf->backends)->tls == NULL);
	config_free(conf);
	conf = config_new_empty();
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(conf->tls_engines, 1);
	config_free(conf);

	conf = parse_str(TLS_A "    no_sni: none\n" BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	l = nth_listener(conf, 0);
	ATF_CHECK(l->tls != NULL && l->tls_terminate == 1);
	ATF_CHECK(listener_peeks(l));
	ATF_CHECK_EQ(l->nroutes, 0);
	ATF_CHECK_EQ(l->no_sni_none, 1);
	ATF_CHECK_EQ(l->tls->ncerts, 1);
	ATF_CHECK_EQ(l->tls->client_auth, CLIENT_AUTH_NONE);
	ATF_CHECK_STREQ(l->tls->ciphers, "secure");
	config_free(conf);

	conf = parse_str(TLS_A "      client_auth: optional\n"
	    "      client_ca: /c/ca.crt\n" BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_CHECK_EQ(nth_listener(conf, 0)->tls->client_auth,
	    CLIENT_AUTH_OPTIONAL);
	config_free(conf);
}

ATF_TC(tls_alias);
ATF_TC_HEAD(tls_alias, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "listeners sharing a tls: through an alias get their own "
	    "copies; an error in it is reported once");
}
ATF_TC_BODY(tls_alias, tc)
{
	struct l4d_config	*conf;
	struct listener		*x, *y;

	conf = parse_str(
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    backend: b\n"
	    "    tls: &t { certificates: [{ cert: /c/a.crt, key: /c/a.key,"
	    " names: [a.example] }] }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", backend: b, tls: *t }\n"
	    BACKEND_B, 0);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	x = nth_listener(conf, 0);
	y = nth_listener(conf, 1);
	ATF_REQUIRE(x->tls != NULL && y->tls != NULL && x->tls != y->tls);
	ATF_REQUIRE(y->tls->ncerts == 1);
	ATF_CHECK(nth_cert(x->tls, 0) != nth_cert(y->tls, 0));
	ATF_CHECK_STREQ(nth_cert(y->tls, 0)->names[0], "a.example");
	config_free(conf);

	ATF_CHECK(parse_str(
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    backend: b\n"
	    "    tls: &t { certificates: [{ cert: /c/a.crt, key: /c/a.key,"
	    " names: [\"a..b\"] }] }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", backend: b, tls: *t }\n"
	    BACKEND_B, 0) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E019", 5, 71);
	conf_errors_clear(&errs);
}

/* TLS_HEAD, n certificates, BACKEND_B. */
static char *
many_certs(size_t n)
{
	char	*certs, *yaml;

	certs = repeat("        - { cert: /c/a.crt, key: /c/a.key }\n", n,
	    BACKEND_B);
	yaml = malloc(strlen(TLS_HEAD) + strlen(certs) + 1);
	ATF_REQUIRE(yaml != NULL);
	strcpy(yaml, TLS_HEAD);
	strcat(yaml, certs);
	free(certs);
	return yaml;
}

ATF_TC(tls_too_many_certs);
ATF_TC_HEAD(tls_too_many_certs, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "16 certificates fit, ids in file order; 17 are E013");
}
ATF_TC_BODY(tls_too_many_certs, tc)
{
	struct l4d_config	*conf;
	struct tls_cert		*c;
	char			*yaml;
	uint32_t		 i = 0;

	yaml = many_certs(L4D_MAX_CERTS);
	conf = parse_str(yaml, 0);
	free(yaml);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	ATF_REQUIRE_EQ(nth_listener(conf, 0)->tls->ncerts, L4D_MAX_CERTS);
	TAILQ_FOREACH(c, &nth_listener(conf, 0)->tls->certs, entry)
		ATF_CHECK_EQ(c->id, i++);
	config_free(conf);
	yaml = many_certs(L4D_MAX_CERTS + 1);
	check_one(yaml, "E013", 7, 9);
	free(yaml);
}

ATF_TC(tls_terminate_alias);
ATF_TC_HEAD(tls_terminate_alias, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "routes that terminate, shared by a listener with tls: and one "
	    "without: E028 for the second");
}
ATF_TC_BODY(tls_terminate_alias, tc)
{
	ATF_CHECK(parse_str(
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    tls: { certificates: [{ cert: /c/a.crt, key: /c/a.key }] }\n"
	    "    routes: &r\n"
	    "      - { sni: a.example, backend: b, tls: terminate }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", routes: *r }\n"
	    BACKEND_B, 0) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_prefix(error_at(0), "E028", 6, 44);
	conf_errors_clear(&errs);
}

ATF_TC(tls_messages);
ATF_TC_HEAD(tls_messages, tc)
{
	atf_tc_set_md_var(tc, "descr", "what the tls: errors say");
}
ATF_TC_BODY(tls_messages, tc)
{
	parse_str(TLS_A "      ciphres: secure\n" BACKEND_B, 0);
	check_contains("listeners[0].tls: unknown key \"ciphres\" (hint: "
	    "did you mean \"ciphers\"? valid keys here: certificates, "
	    "client_auth, client_ca, crl, protocols, ciphers)");
	parse_str(BACKEND_TLS "      sever_name: db\n", 0);
	check_contains("did you mean \"server_name\"? valid keys here: "
	    "verify, ca, server_name, cert, key, protocols)");
	parse_str(TLS_A "      ciphers: nope\n" BACKEND_B, 0);
	check_contains("listeners[0].tls.ciphers: bad cipher list \"nope\": "
	    "no ciphers for 'nope' (hint: ");
	parse_str(TLS_A "      protocols: \"!all\"\n" BACKEND_B, 0);
	check_contains("listeners[0].tls.protocols: bad protocols \"!all\": "
	    "it leaves no protocol (hint: ");
	parse_str(TLS_A "      protocols: sslv3\n" BACKEND_B, 0);
	check_contains("bad protocols \"sslv3\": not a list of protocol "
	    "names");
	parse_str(TLS_A "      client_auth: require\n" BACKEND_B, 0);
	check_contains("listeners[0].tls: missing required key \"client_ca\" "
	    "(hint: add client_ca: PATH");
	parse_str(TLS_A "      client_ca: /c/ca.crt\n" BACKEND_B, 0);
	check_contains("listeners[0].tls.client_ca: client_ca with "
	    "client_auth: none (hint: add client_auth: optional or "
	    "require, or remove client_ca:)");
	parse_str(TLS_A "      crl: /c/ca.crl\n" BACKEND_B, 0);
	check_contains("listeners[0].tls.crl: crl without client_ca");
	parse_str(BACKEND_TLS "      verify: no\n      ca: /c/ca.crt\n", 0);
	check_contains("backends[0].tls.ca: ca with verify: false");
	parse_str(BACKEND_TLS "      key: /c/c.key\n", 0);
	check_contains("backends[0].tls: missing required key \"cert\"");
	parse_str(TLS_HEAD
	    "        - { cert: /c/a.crt, key: /c/a.key, names: [a.example] }\n"
	    "        - { cert: /c/b.crt, key: /c/b.key, names: [A.example.] }\n"
	    BACKEND_B, 0);
	check_contains("listeners[0].tls.certificates[1].names[0]: "
	    "\"a.example\" is already a name of certificates[0] (hint: ");
	parse_str(LISTENER_A "    tls: { certificates: [] }\n" BACKEND_B, 0);
	check_contains("listeners[0].tls.certificates: an empty list (hint: "
	    "give 1 to 16 certificates)");
	parse_str(ROUTED_R "      - { sni: a.example, backend: b, "
	    "tls: terminate }\n" BACKEND_B, 0);
	check_contains("tls: terminate on a listener without tls:");
	conf_errors_clear(&errs);
}

ERR_CASE(e002_tls_key, "E002", 8, 7,
    TLS_A "      ciphres: secure\n" BACKEND_B)
ERR_CASE(e002_cert_key, "E002", 7, 44,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, nmaes: [a.b] }\n"
    BACKEND_B)
ERR_CASE(e002_backend_tls_key, "E002", 10, 7,
    BACKEND_TLS "      verfiy: false\n")
ERR_CASE(e003_tls_scalar, "E003", 5, 10,
    LISTENER_A "    tls: yes\n" BACKEND_B)
ERR_CASE(e003_certificates_mapping, "E003", 6, 21,
    LISTENER_A "    tls:\n      certificates: { cert: /c/a.crt, "
    "key: /c/a.key }\n" BACKEND_B)
ERR_CASE(e003_cert_scalar, "E003", 7, 11,
    TLS_HEAD "        - /c/a.crt\n" BACKEND_B)
ERR_CASE(e003_names_scalar, "E003", 7, 51,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, names: a.b }\n"
    BACKEND_B)
ERR_CASE(e003_verify, "E003", 10, 15,
    BACKEND_TLS "      verify: maybe\n")
ERR_CASE(e003_backend_tls_sequence, "E003", 9, 10,
    LISTENER_A BACKEND_B "    tls: [verify]\n")
ERR_CASE(e003_tls_engines, "E003", 1, 14,
    "tls_engines: many\n" LISTENER_A BACKEND_B)
ERR_CASE(e006_certificates, "E006", 5, 10,
    LISTENER_A "    tls: { client_auth: none }\n" BACKEND_B)
ERR_CASE(e006_cert_key, "E006", 7, 11,
    TLS_HEAD "        - { cert: /c/a.crt }\n" BACKEND_B)
ERR_CASE(e006_cert_cert, "E006", 7, 11,
    TLS_HEAD "        - { key: /c/a.key }\n" BACKEND_B)
ERR_CASE(e006_client_ca, "E006", 6, 7,
    TLS_A "      client_auth: require\n" BACKEND_B)
ERR_CASE(e006_backend_key, "E006", 10, 7,
    BACKEND_TLS "      cert: /c/c.crt\n")
ERR_CASE(e006_backend_cert, "E006", 10, 7,
    BACKEND_TLS "      key: /c/c.key\n")
ERR_CASE(e013_tls_engines_zero, "E013", 1, 14,
    "tls_engines: 0\n" LISTENER_A BACKEND_B)
ERR_CASE(e013_tls_engines_big, "E013", 1, 14,
    "tls_engines: 17\n" LISTENER_A BACKEND_B)
ERR_CASE(e013_no_certs, "E013", 5, 26,
    LISTENER_A "    tls: { certificates: [] }\n" BACKEND_B)
ERR_CASE(e013_no_names, "E013", 7, 51,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, names: [] }\n"
    BACKEND_B)
ERR_CASE(e013_many_names, "E013", 7, 51,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, names: [a1.b, "
    "a2.b, a3.b, a4.b, a5.b, a6.b, a7.b, a8.b, a9.b] }\n" BACKEND_B)
ERR_CASE(e014_client_auth, "E014", 8, 20,
    TLS_A "      client_auth: always\n" BACKEND_B)
ERR_CASE(e019_cert_path, "E019", 7, 19,
    TLS_HEAD "        - { cert: a.crt, key: /c/a.key }\n" BACKEND_B)
ERR_CASE(e019_cert_name, "E019", 7, 52,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, names: [\"a..b\"] }\n"
    BACKEND_B)
ERR_CASE(e019_cert_name_star, "E019", 7, 52,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, names: [\"*\"] }\n"
    BACKEND_B)
ERR_CASE(e019_cert_name_inner_star, "E019", 7, 52,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, "
    "names: [\"a.*.b\"] }\n" BACKEND_B)
ERR_CASE(e019_client_ca_path, "E019", 9, 18,
    TLS_A "      client_auth: require\n      client_ca: ca.crt\n" BACKEND_B)
ERR_CASE(e019_server_name, "E019", 10, 20,
    BACKEND_TLS "      server_name: \"*.internal\"\n")
ERR_CASE(e019_backend_ca_path, "E019", 10, 11,
    BACKEND_TLS "      ca: certs.pem\n")
ERR_CASE(e031_protocols, "E031", 8, 18,
    TLS_A "      protocols: tlsv9\n" BACKEND_B)
ERR_CASE(e031_no_protocol, "E031", 8, 18,
    TLS_A "      protocols: \"!all\"\n" BACKEND_B)
ERR_CASE(e031_ciphers, "E031", 8, 16,
    TLS_A "      ciphers: nope\n" BACKEND_B)
ERR_CASE(e031_ciphers_empty, "E031", 8, 16,
    TLS_A "      ciphers: \"\"\n" BACKEND_B)
ERR_CASE(e031_backend_protocols, "E031", 10, 18,
    BACKEND_TLS "      protocols: \"tlsv1.2,sslv3\"\n")
ERR_CASE(e033_client_ca_none, "E033", 8, 18,
    TLS_A "      client_ca: /c/ca.crt\n" BACKEND_B)
ERR_CASE(e033_client_ca_said_none, "E033", 9, 18,
    TLS_A "      client_auth: none\n      client_ca: /c/ca.crt\n" BACKEND_B)
ERR_CASE(e033_crl, "E033", 8, 12,
    TLS_A "      crl: /c/ca.crl\n" BACKEND_B)
ERR_CASE(e033_ca_no_verify, "E033", 11, 11,
    BACKEND_TLS "      verify: false\n      ca: /c/ca.crt\n")
ERR_CASE(e034_dup_name, "E034", 8, 52,
    TLS_HEAD
    "        - { cert: /c/a.crt, key: /c/a.key, names: [a.example] }\n"
    "        - { cert: /c/b.crt, key: /c/b.key, names: [A.example.] }\n"
    BACKEND_B)
ERR_CASE(e034_dup_name_one_cert, "E034", 7, 78,
    TLS_HEAD "        - { cert: /c/a.crt, key: /c/a.key, "
    "names: [a.example, \"*.A.example\", A.EXAMPLE] }\n" BACKEND_B)
ERR_CASE(e034_dup_name_alias, "E034", 7, 55,
    TLS_HEAD
    "        - { cert: /c/a.crt, key: /c/a.key, names: &n [a.example] }\n"
    "        - { cert: /c/b.crt, key: /c/b.key, names: *n }\n"
    BACKEND_B)

/*
 * Access control: allow, deny, rate_limit, proxy_protocol.
 */
ERR_CASE(e045_host_bits, "E045", 5, 13,
    LISTENER_A "    allow: [10.0.0.1/8]\n" BACKEND_B)
ERR_CASE(e045_name, "E045", 5, 24,
    LISTENER_A "    deny: [10.0.0.0/8, db.example.com]\n" BACKEND_B)
ERR_CASE(e045_prefix, "E045", 1, 9,
    "allow: [10.0.0.0/33]\n" LISTENER_A BACKEND_B)
ERR_CASE(e045_v6_prefix, "E045", 5, 33,
    LISTENER_A "    proxy_protocol: { trusted: [\"::1/129\"] }\n" BACKEND_B)
ERR_CASE(e046_no_trusted, "E046", 5, 21,
    LISTENER_A "    proxy_protocol: {}\n" BACKEND_B)
ERR_CASE(e046_scalar, "E046", 5, 21,
    LISTENER_A "    proxy_protocol: v2\n" BACKEND_B)
ERR_CASE(e013_acl_empty, "E013", 5, 12,
    LISTENER_A "    allow: []\n" BACKEND_B)
ERR_CASE(e013_rate_zero, "E013", 5, 31,
    LISTENER_A "    rate_limit: { per_source: 0 }\n" BACKEND_B)
ERR_CASE(e013_rate_table, "E013", 5, 46,
    LISTENER_A "    rate_limit: { per_source: 5, table_size: 8 }\n"
    BACKEND_B)
ERR_CASE(e006_rate_per_source, "E006", 5, 17,
    LISTENER_A "    rate_limit: { burst: 5 }\n" BACKEND_B)
ERR_CASE(e014_backend_proxy, "E014", 9, 21,
    LISTENER_A BACKEND_B "    proxy_protocol: v3\n")
ERR_CASE(e013_global_max_sessions, "E013", 1, 15,
    "max_sessions: -1\n" LISTENER_A BACKEND_B)

ATF_TC_WITHOUT_HEAD(access_keys);
ATF_TC_BODY(access_keys, tc)
{
	static const char yaml[] =
	    "max_sessions: 5000\n"
	    "allow: [10.0.0.0/8, \"2001:db8::/32\"]\n"
	    "deny: [10.9.0.0/16]\n"
	    "listeners:\n"
	    "  - name: a\n"
	    "    listen: \"127.0.0.1:80\"\n"
	    "    backend: b\n"
	    "  - name: c\n"
	    "    listen: \"127.0.0.1:81\"\n"
	    "    backend: b\n"
	    "    deny: [192.0.2.1]\n"
	    "    rate_limit: { per_source: 20 }\n"
	    "    proxy_protocol: { trusted: [192.0.2.0/24, \"::1\"] }\n"
	    "  - name: d\n"
	    "    listen: \"127.0.0.1:82\"\n"
	    "    backend: b\n"
	    "    allow: [0.0.0.0/0]\n"
	    "    rate_limit: { per_source: 3, interval: 250ms, burst: 9,\n"
	    "      table_size: 1024, ipv6_prefix: 56 }\n"
	    BACKEND_B
	    "    proxy_protocol: v2\n";
	struct l4d_config	*conf = parse_str(yaml, 0);
	struct listener		*a, *c, *d;
	struct backend		*b;

	ATF_REQUIRE_MSG(conf != NULL, "rejected: %zu errors", nerrors());
	ATF_CHECK_EQ(conf->max_sessions, 5000);
	a = nth_listener(conf, 0);
	c = nth_listener(conf, 1);
	d = nth_listener(conf, 2);
	/* a inherits both lists, c the allow, d the deny */
	ATF_REQUIRE(a->acl[ACL_ALLOW] != NULL && a->acl[ACL_DENY] != NULL);
	ATF_CHECK_EQ(a->acl[ACL_ALLOW]->ncidrs, 2);
	ATF_CHECK_EQ(a->acl[ACL_DENY]->ncidrs, 1);
	ATF_CHECK(a->rate.per_source == 0 && !a->proxy_accept);
	ATF_REQUIRE(c->acl[ACL_ALLOW] != NULL && c->acl[ACL_DENY] != NULL);
	ATF_CHECK_EQ(c->acl[ACL_ALLOW]->ncidrs, 2);
	ATF_CHECK_EQ(c->acl[ACL_DENY]->cidrs[0].prefix, 32);
	ATF_CHECK_EQ(c->rate.per_source, 20);
	ATF_CHECK_EQ(c->rate.burst, 20);
	ATF_CHECK_EQ(c->rate.interval_ms, 1000);
	ATF_CHECK_EQ(c->rate.table_size, 65536);
	ATF_CHECK_EQ(c->rate.ipv6_prefix, 64);
	ATF_CHECK(c->proxy_accept && c->acl[ACL_TRUSTED] != NULL &&
	    c->acl[ACL_TRUSTED]->ncidrs == 2);
	ATF_REQUIRE(d->acl[ACL_ALLOW] != NULL && d->acl[ACL_DENY] != NULL);
	ATF_CHECK_EQ(d->acl[ACL_ALLOW]->cidrs[0].prefix, 0);
	ATF_CHECK_EQ(d->acl[ACL_DENY]->cidrs[0].prefix, 16);
	ATF_CHECK_EQ(d->rate.per_source, 3);
	ATF_CHECK_EQ(d->rate.interval_ms, 250);
	ATF_CHECK_EQ(d->rate.burst, 9);
	ATF_CHECK_EQ(d->rate.table_size, 1024);
	ATF_CHECK_EQ(d->rate.ipv6_prefix, 56);
	/* the lists are built: matched in the parent as in the relays */
	ATF_CHECK(d->acl[ACL_ALLOW]->nv4 == 1);
	b = TAILQ_FIRST(&conf->backends);
	ATF_CHECK_EQ(b->proxy_send, 2);
	config_free(conf);
}

/*
 * tls: blocks with their files (resolve 1, through parse_config): the
 * test makes the certificates with openssl(1).
 */

/* Lines 1-8: listener "a" with tls:, its certificates from line 9. */
#define FILES_HEAD							\
	"user: root\n"							\
	"chroot: /\n"							\
	TLS_HEAD

static void
run(const char *cmd)
{
	int	 rc;

	rc = system(cmd);
	ATF_REQUIRE_MSG(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "failed: %s", cmd);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	fputs(text, fp);
	ATF_REQUIRE(fclose(fp) == 0);
}

/* NAME.crt and NAME.key: a self-signed certificate for NAME.example. */
static void
make_cert(const char *name)
{
	char	 cmd[512];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
	    "-subj /CN=%s.example -keyout %s.key -out %s.crt 2>/dev/null",
	    name, name, name);
	run(cmd);
}

/* ca.crt, ca.key, and ca.crl: that CA's CRL, which revokes nothing. */
static void
make_crl(void)
{
	make_cert("ca");
	write_file("ca.cnf", "[ca]\ndefault_ca = d\n[d]\n"
	    "database = index.txt\ncrlnumber = crlnumber\n"
	    "default_md = sha256\ndefault_crl_days = 30\n");
	write_file("index.txt", "");
	write_file("crlnumber", "01\n");
	run("openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.crt "
	    "-out ca.crl 2>/dev/null");
}

/*
 * l4d.conf from text, in which "@" is the test's directory: columns
 * after the first "@" of a line move.
 */
static void
write_conf(const char *text)
{
	char	 dir[PATH_MAX];
	FILE	*fp;

	ATF_REQUIRE(getcwd(dir, sizeof(dir)) != NULL);
	ATF_REQUIRE((fp = fopen("l4d.conf", "w")) != NULL);
	for (; *text != '\0'; text++) {
		if (*text == '@')
			fputs(dir, fp);
		else
			fputc(*text, fp);
	}
	ATF_REQUIRE(fclose(fp) == 0);
}

static struct l4d_config *
parse_conf(const char *text)
{
	write_conf(text);
	conf_errors_clear(&errs);
	return parse_config("l4d.conf", &errs);
}

/* Error i of l4d.conf: code, line, column, and text in the message. */
static void
check_conf_error(size_t i, const char *code, int line, int col,
    const char *text)
{
	const char	*msg = error_at(i);
	char		 want[128];

	snprintf(want, sizeof(want), "l4d.conf:%d:%d: L4D-%s: ", line, col,
	    code);
	ATF_CHECK_MSG(strncmp(msg, want, strlen(want)) == 0,
	    "want prefix \"%s\", got \"%s\"", want, msg);
	ATF_CHECK_MSG(strstr(msg, text) != NULL, "want \"%s\" in \"%s\"",
	    text, msg);
	ATF_CHECK_MSG(strstr(msg, " (hint: ") != NULL, "no hint in \"%s\"",
	    msg);
}

/* Whether b holds exactly the bytes of the file. */
static int
same_bytes(const struct tls_blob *b, const char *path)
{
	char	 buf[65536];
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return b->mem != NULL && b->len == n && memcmp(b->mem, buf, n) == 0;
}

ATF_TC(tls_files_read);
ATF_TC_HEAD(tls_files_read, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "resolving, every file a tls: names is read into its blob");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
}
ATF_TC_BODY(tls_files_read, tc)
{
	struct l4d_config	*conf;
	struct listener_tls	*t;
	struct backend_tls	*bt;

	make_cert("a");
	make_cert("b");
	make_cert("c");
	make_crl();
	write_file("a.ocsp", "an OCSP response, as far as l4d knows");
	conf = parse_conf(FILES_HEAD
	    "        - cert: @/a.crt\n"
	    "          key: @/a.key\n"
	    "          ocsp_staple: @/a.ocsp\n"
	    "        - { cert: @/b.crt, key: @/b.key }\n"
	    "      client_auth: optional\n"
	    "      client_ca: @/ca.crt\n"
	    "      crl: @/ca.crl\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers: [{ address: \"127.0.0.1:8080\" }]\n"
	    "    tls: { ca: @/ca.crt, cert: @/c.crt, key: @/c.key }\n");
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	t = nth_listener(conf, 0)->tls;
	ATF_CHECK(same_bytes(&nth_cert(t, 0)->cert_mem, "a.crt"));
	ATF_CHECK(same_bytes(&nth_cert(t, 0)->key_mem, "a.key"));
	ATF_CHECK(same_bytes(&nth_cert(t, 0)->ocsp_mem, "a.ocsp"));
	ATF_CHECK(same_bytes(&nth_cert(t, 1)->cert_mem, "b.crt"));
	ATF_CHECK(same_bytes(&nth_cert(t, 1)->key_mem, "b.key"));
	ATF_CHECK(nth_cert(t, 1)->ocsp_mem.mem == NULL);
	ATF_CHECK(same_bytes(&t->client_ca_mem, "ca.crt"));
	ATF_CHECK(same_bytes(&t->crl_mem, "ca.crl"));
	bt = TAILQ_FIRST(&conf->backends)->tls;
	ATF_CHECK(same_bytes(&bt->ca_mem, "ca.crt"));
	ATF_CHECK(same_bytes(&bt->cert_mem, "c.crt"));
	ATF_CHECK(same_bytes(&bt->key_mem, "c.key"));
	config_free(conf);
}

ATF_TC(tls_files_alias);
ATF_TC_HEAD(tls_files_alias, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a tls: shared through an alias: each listener its own bytes; "
	    "a missing file is reported once");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
}
ATF_TC_BODY(tls_files_alias, tc)
{
	static const char	 yaml[] =
	    "user: root\n"
	    "chroot: /\n"
	    "listeners:\n"
	    "  - name: x\n"
	    "    listen: \"127.0.0.1:1\"\n"
	    "    backend: b\n"
	    "    tls: &t { certificates: [{ key: @/%s, cert: @/a.crt }] }\n"
	    "  - { name: y, listen: \"127.0.0.1:2\", backend: b, tls: *t }\n"
	    BACKEND_B;
	struct l4d_config	*conf;
	struct tls_cert		*x, *y;
	char			 text[sizeof(yaml) + 16];

	make_cert("a");
	snprintf(text, sizeof(text), yaml, "a.key");
	conf = parse_conf(text);
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	x = nth_cert(nth_listener(conf, 0)->tls, 0);
	y = nth_cert(nth_listener(conf, 1)->tls, 0);
	ATF_CHECK(same_bytes(&x->key_mem, "a.key"));
	ATF_CHECK(same_bytes(&y->key_mem, "a.key"));
	ATF_CHECK(x->key_mem.mem != y->key_mem.mem);
	config_free(conf);

	snprintf(text, sizeof(text), yaml, "no.key");
	ATF_CHECK(parse_conf(text) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_conf_error(0, "E030", 7, 37, "No such file or directory");
	conf_errors_clear(&errs);
}

ATF_TC(e029_keypair);
ATF_TC_HEAD(e029_keypair, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "E029: a key that does not match its certificate, a file that "
	    "is no certificate, a backend's client key");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
}
ATF_TC_BODY(e029_keypair, tc)
{
	make_cert("a");
	make_cert("b");
	write_file("junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
	ATF_CHECK(parse_conf(FILES_HEAD
	    "        - cert: @/a.crt\n"
	    "          key: @/b.key\n"
	    "        - cert: @/junk.pem\n"
	    "          key: @/a.key\n"
	    "        - cert: @/a.crt\n"
	    "          key: @/a.crt\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers: [{ address: \"127.0.0.1:8080\" }]\n"
	    "    tls: { verify: false, key: @/a.key, cert: @/b.crt }\n")
	    == NULL);
	ATF_REQUIRE_EQ(nerrors(), 4);
	check_conf_error(0, "E029", 10, 16,
	    "listeners[0].tls.certificates[0].key: bad key \"");
	check_conf_error(1, "E029", 11, 17,
	    "listeners[0].tls.certificates[1].cert: bad certificate \"");
	check_conf_error(2, "E029", 14, 16, "certificates[2].key: bad key");
	check_conf_error(3, "E029", 18, 32, "backends[0].tls.key: bad key");
	ATF_CHECK(strstr(error_at(1), "error:") == NULL);
	conf_errors_clear(&errs);
}

ATF_TC(e030_cannot_read);
ATF_TC_HEAD(e030_cannot_read, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "E030: a missing file, a directory, a FIFO, an empty file, one "
	    "too large; the FIFO does not block");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
}
ATF_TC_BODY(e030_cannot_read, tc)
{
	make_cert("a");
	ATF_REQUIRE(mkfifo("fifo", 0600) == 0);
	write_file("empty.pem", "");
	write_file("big.pem", "");
	ATF_REQUIRE(truncate("big.pem", L4D_TLS_FILE_MAX + 1) == 0);
	ATF_CHECK(parse_conf(FILES_HEAD
	    "        - { key: @/no.key, cert: @/a.crt }\n"
	    "        - { cert: @, key: @/a.key }\n"
	    "        - { ocsp_staple: @/fifo, cert: @/a.crt, key: @/a.key }\n"
	    "      client_auth: require\n"
	    "      client_ca: @/empty.pem\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers: [{ address: \"127.0.0.1:8080\" }]\n"
	    "    tls: { ca: @/big.pem }\n") == NULL);
	ATF_REQUIRE_EQ(nerrors(), 5);
	check_conf_error(0, "E030", 9, 18, "key: cannot read \"");
	check_conf_error(0, "E030", 9, 18, "\": No such file or directory");
	check_conf_error(1, "E030", 10, 19, "not a regular file");
	check_conf_error(2, "E030", 11, 26, "ocsp_staple: cannot read");
	check_conf_error(2, "E030", 11, 26, "not a regular file");
	check_conf_error(3, "E030", 13, 18, "the file is empty");
	check_conf_error(4, "E030", 17, 16, "larger than 4 MiB");
	conf_errors_clear(&errs);
}

ATF_TC(e030_permission);
ATF_TC_HEAD(e030_permission, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "E030: a key that the user who checks may not read");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
	atf_tc_set_md_var(tc, "require.user", "unprivileged");
}
ATF_TC_BODY(e030_permission, tc)
{
	make_cert("a");
	ATF_REQUIRE(chmod("a.key", 0) == 0);
	ATF_CHECK(parse_conf(FILES_HEAD
	    "        - { key: @/a.key, cert: @/a.crt }\n" BACKEND_B) == NULL);
	ATF_REQUIRE_EQ(nerrors(), 1);
	check_conf_error(0, "E030", 9, 18, "Permission denied");
	conf_errors_clear(&errs);
}

ATF_TC(e032_bad_ca);
ATF_TC_HEAD(e032_bad_ca, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "E032: CA files that are no certificates, a CRL file with no "
	    "CRL; a good CA and CRL pass");
	atf_tc_set_md_var(tc, "require.progs", "openssl");
}
ATF_TC_BODY(e032_bad_ca, tc)
{
	make_cert("a");
	make_crl();
	write_file("junk.pem", "no certificates here\n");
	ATF_CHECK(parse_conf(FILES_HEAD
	    "        - { cert: @/a.crt, key: @/a.key }\n"
	    "      client_auth: require\n"
	    "      client_ca: @/ca.crt\n"
	    "      crl: @/a.crt\n"
	    "  - name: c\n"
	    "    listen: \"127.0.0.1:444\"\n"
	    "    backend: b\n"
	    "    tls:\n"
	    "      certificates: [{ cert: @/a.crt, key: @/a.key }]\n"
	    "      client_auth: require\n"
	    "      client_ca: @/junk.pem\n"
	    "backends:\n"
	    "  - name: b\n"
	    "    servers: [{ address: \"127.0.0.1:8080\" }]\n"
	    "    tls: { ca: @/a.key }\n") == NULL);
	ATF_REQUIRE_EQ(nerrors(), 3);
	check_conf_error(0, "E032", 12, 12, "tls.crl: bad CRL \"");
	check_conf_error(0, "E032", 12, 12, "\": no PEM CRL in the file");
	check_conf_error(1, "E032", 19, 18,
	    "listeners[1].tls.client_ca: bad CA certificates in \"");
	check_conf_error(2, "E032", 23, 16, "backends[0].tls.ca: bad CA");
	conf_errors_clear(&errs);
}

ATF_TC(tls_default_ca);
ATF_TC_HEAD(tls_default_ca, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "a verifying backend without ca: gets the system's CA file; "
	    "without verify, none");
}
ATF_TC_BODY(tls_default_ca, tc)
{
	struct l4d_config	*conf;
	struct backend		*b;

	conf = parse_conf("user: root\nchroot: /\n" LISTENER_A BACKEND_B
	    "    tls: { server_name: db.internal }\n"
	    "  - name: c\n"
	    "    servers: [{ address: \"127.0.0.1:8081\" }]\n"
	    "    tls: { verify: false }\n");
	if (conf == NULL && nerrors() == 1 &&
	    strstr(error_at(0), "the default CA file") != NULL)
		atf_tc_skip("%s", error_at(0));
	ATF_REQUIRE_EQ(nerrors(), 0);
	ATF_REQUIRE(conf != NULL);
	b = config_find_backend(conf, "b");
	ATF_CHECK_STREQ(b->tls->ca, "");
	ATF_REQUIRE(b->tls->ca_mem.mem != NULL);
	ATF_CHECK(memmem(b->tls->ca_mem.mem, b->tls->ca_mem.len,
	    "-----BEGIN CERTIFICATE-----", 27) != NULL);
	b = config_find_backend(conf, "c");
	ATF_CHECK(b->tls->ca_mem.mem == NULL);
	config_free(conf);
}

ATF_TC(tls_blob_free);
ATF_TC_HEAD(tls_blob_free, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "tls_blob_free and the tls: frees take what they are given");
}
ATF_TC_BODY(tls_blob_free, tc)
{
	struct tls_blob	 b;

	memset(&b, 0, sizeof(b));
	tls_blob_free(&b);
	ATF_REQUIRE((b.mem = malloc(16)) != NULL);
	memset(b.mem, 'k', 16);
	b.len = 16;
	tls_blob_free(&b);
	ATF_CHECK(b.mem == NULL && b.len == 0);
	tlsconf_free_listener(NULL);
	tlsconf_free_backend(NULL);
}

ATF_TC_WITHOUT_HEAD(check_escapes);
ATF_TC_BODY(check_escapes, tc)
{
	uint8_t		 out[8];
	uint32_t	 n;
	char		 why[128];

	ATF_REQUIRE_EQ(check_escape_decode("PING\\r\\n", 8, out,
	    sizeof(out), &n, why, sizeof(why)), 0);
	ATF_CHECK_EQ(n, 6);
	ATF_CHECK(memcmp(out, "PING\r\n", 6) == 0);
	ATF_REQUIRE_EQ(check_escape_decode("\\x00\\xfF\\t\\\\", 12, out,
	    sizeof(out), &n, why, sizeof(why)), 0);
	ATF_CHECK_EQ(n, 4);
	ATF_CHECK(out[0] == 0 && out[1] == 0xff && out[2] == '\t' &&
	    out[3] == '\\');
	ATF_CHECK_EQ(check_escape_decode("a\\", 2, out, sizeof(out), &n, why,
	    sizeof(why)), -1);
	ATF_CHECK_EQ(check_escape_decode("\\x4", 3, out, sizeof(out), &n,
	    why, sizeof(why)), -1);
	ATF_CHECK_EQ(check_escape_decode("\\xg0", 4, out, sizeof(out), &n,
	    why, sizeof(why)), -1);
	ATF_CHECK_EQ(check_escape_decode("\\q", 2, out, sizeof(out), &n,
	    why, sizeof(why)), -1);
	ATF_CHECK_EQ(check_escape_decode("123456789", 9, out, sizeof(out), &n,
	    why, sizeof(why)), -1);
}

ATF_TC_WITHOUT_HEAD(check_defaults);
ATF_TC_BODY(check_defaults, tc)
{
	struct l4d_config	*conf;
	struct backend		*be;

	conf = parse_str(LISTENER_A BACKEND_B "    check: { interval: 1s }\n",
	    0);
	ATF_REQUIRE(conf != NULL);
	be = TAILQ_FIRST(&conf->backends);
	ATF_CHECK_EQ(be->check.type, CHECK_TCP);
	ATF_CHECK_EQ(be->check.interval, 1000);
	ATF_CHECK_EQ(be->check.timeout, 1000);	/* 2s, at most the interval */
	ATF_CHECK_EQ(be->check.rise, 2);
	ATF_CHECK_EQ(be->check.fall, 3);
	ATF_CHECK_EQ(be->check.observe, 3);
	ATF_CHECK_EQ(TAILQ_FIRST(&be->servers)->up, 0);
	config_free(conf);
	conf = parse_str(LISTENER_A BACKEND_B, 0);
	ATF_REQUIRE(conf != NULL);
	be = TAILQ_FIRST(&conf->backends);
	ATF_CHECK_EQ(be->check.type, CHECK_NONE);
	ATF_CHECK_EQ(TAILQ_FIRST(&be->servers)->up, 1);
	config_free(conf);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, full_valid);
	ATF_TP_ADD_TC(tp, defaults);
	ATF_TP_ADD_TC(tp, valid_variants);
	ATF_TP_ADD_TC(tp, zero_copy_words);
	ATF_TP_ADD_TC(tp, durations);
	ATF_TP_ADD_TC(tp, addresses);
	ATF_TP_ADD_TC(tp, e001_unclosed_flow);
	ATF_TP_ADD_TC(tp, e001_tab_indent);
	ATF_TP_ADD_TC(tp, e001_bad_utf8);
	ATF_TP_ADD_TC(tp, e001_two_documents);
	ATF_TP_ADD_TC(tp, e002_top_key);
	ATF_TP_ADD_TC(tp, e017_include_missing);
	ATF_TP_ADD_TC(tp, e042_include_empty);
	ATF_TP_ADD_TC(tp, e002_listener_allow);
	ATF_TP_ADD_TC(tp, e002_check_key);
	ATF_TP_ADD_TC(tp, e035_no_send);
	ATF_TP_ADD_TC(tp, e035_no_expect);
	ATF_TP_ADD_TC(tp, e036_bad_regex);
	ATF_TP_ADD_TC(tp, e037_rise);
	ATF_TP_ADD_TC(tp, e037_fall);
	ATF_TP_ADD_TC(tp, e038_timeout);
	ATF_TP_ADD_TC(tp, e039_interval);
	ATF_TP_ADD_TC(tp, e040_escape);
	ATF_TP_ADD_TC(tp, e041_send_tcp);
	ATF_TP_ADD_TC(tp, check_escapes);
	ATF_TP_ADD_TC(tp, check_defaults);
	ATF_TP_ADD_TC(tp, e002_server_tls);
	ATF_TP_ADD_TC(tp, e002_timeouts_key);
	ATF_TP_ADD_TC(tp, e003_listeners_scalar);
	ATF_TP_ADD_TC(tp, e003_servers_mapping);
	ATF_TP_ADD_TC(tp, e003_bool);
	ATF_TP_ADD_TC(tp, e003_integer);
	ATF_TP_ADD_TC(tp, e003_relays);
	ATF_TP_ADD_TC(tp, e003_nul_byte);
	ATF_TP_ADD_TC(tp, e004_bad_unit);
	ATF_TP_ADD_TC(tp, e004_connect_infinite);
	ATF_TP_ADD_TC(tp, e004_handshake_zero);
	ATF_TP_ADD_TC(tp, e005_bad_port);
	ATF_TP_ADD_TC(tp, e005_listen_hostname);
	ATF_TP_ADD_TC(tp, e005_v6_no_brackets);
	ATF_TP_ADD_TC(tp, e005_server_no_port);
	ATF_TP_ADD_TC(tp, e006_listener_name);
	ATF_TP_ADD_TC(tp, e006_no_listeners);
	ATF_TP_ADD_TC(tp, e006_no_backends);
	ATF_TP_ADD_TC(tp, e006_empty_listeners);
	ATF_TP_ADD_TC(tp, e006_server_address);
	ATF_TP_ADD_TC(tp, e007_dup_listener);
	ATF_TP_ADD_TC(tp, e008_dup_backend);
	ATF_TP_ADD_TC(tp, e009_undefined_backend);
	ATF_TP_ADD_TC(tp, e010_wildcard_conflict);
	ATF_TP_ADD_TC(tp, e010_same_v6);
	ATF_TP_ADD_TC(tp, e011_empty_servers);
	ATF_TP_ADD_TC(tp, e012_weight_zero);
	ATF_TP_ADD_TC(tp, e012_weight_big);
	ATF_TP_ADD_TC(tp, e013_relays);
	ATF_TP_ADD_TC(tp, e013_retries);
	ATF_TP_ADD_TC(tp, e013_max_sessions);
	ATF_TP_ADD_TC(tp, e014_balance);
	ATF_TP_ADD_TC(tp, e014_log_level);
	ATF_TP_ADD_TC(tp, e018_dup_key);
	ATF_TP_ADD_TC(tp, e018_dup_top_key);
	ATF_TP_ADD_TC(tp, e018_dup_key_line);
	ATF_TP_ADD_TC(tp, e019_bad_chars);
	ATF_TP_ADD_TC(tp, e019_too_long);
	ATF_TP_ADD_TC(tp, e019_empty_name);
	ATF_TP_ADD_TC(tp, e019_relative_control);
	ATF_TP_ADD_TC(tp, e020_dup_server);
	ATF_TP_ADD_TC(tp, e021_empty);
	ATF_TP_ADD_TC(tp, e021_comment_only);
	ATF_TP_ADD_TC(tp, e021_sequence);
	ATF_TP_ADD_TC(tp, three_errors);
	ATF_TP_ADD_TC(tp, messages);
	ATF_TP_ADD_TC(tp, alias_no_repeat);
	ATF_TP_ADD_TC(tp, e015_no_such_host);
	ATF_TP_ADD_TC(tp, e016_unknown_user);
	ATF_TP_ADD_TC(tp, e017_cannot_read);
	ATF_TP_ADD_TC(tp, e022_no_chroot);
	ATF_TP_ADD_TC(tp, parse_file);
	ATF_TP_ADD_TC(tp, e002_route_key);
	ATF_TP_ADD_TC(tp, e002_listener_proxy);
	ATF_TP_ADD_TC(tp, e003_routes_scalar);
	ATF_TP_ADD_TC(tp, e003_route_scalar);
	ATF_TP_ADD_TC(tp, e003_sni_sequence);
	ATF_TP_ADD_TC(tp, e006_listener_backend);
	ATF_TP_ADD_TC(tp, e006_empty_routes);
	ATF_TP_ADD_TC(tp, e006_route_backend);
	ATF_TP_ADD_TC(tp, e009_route_backend);
	ATF_TP_ADD_TC(tp, e009_no_sni);
	ATF_TP_ADD_TC(tp, e013_priority_high);
	ATF_TP_ADD_TC(tp, e013_priority_low);
	ATF_TP_ADD_TC(tp, e014_route_tls);
	ATF_TP_ADD_TC(tp, e014_starttls);
	ATF_TP_ADD_TC(tp, e019_sni_empty_label);
	ATF_TP_ADD_TC(tp, e019_sni_two_final_dots);
	ATF_TP_ADD_TC(tp, e019_sni_bare_wildcard);
	ATF_TP_ADD_TC(tp, e019_sni_star);
	ATF_TP_ADD_TC(tp, e019_sni_inner_star);
	ATF_TP_ADD_TC(tp, e019_sni_bad_char);
	ATF_TP_ADD_TC(tp, e019_sni_long_label);
	ATF_TP_ADD_TC(tp, e019_sni_too_long);
	ATF_TP_ADD_TC(tp, e019_alpn_comma);
	ATF_TP_ADD_TC(tp, e019_alpn_space);
	ATF_TP_ADD_TC(tp, e019_alpn_empty);
	ATF_TP_ADD_TC(tp, e019_alpn_long);
	ATF_TP_ADD_TC(tp, e024_bad_regex);
	ATF_TP_ADD_TC(tp, e024_bad_repeat);
	ATF_TP_ADD_TC(tp, e024_empty_regex);
	ATF_TP_ADD_TC(tp, e024_long_regex);
	ATF_TP_ADD_TC(tp, e024_repeats);
	ATF_TP_ADD_TC(tp, e024_repeats_open);
	ATF_TP_ADD_TC(tp, e025_no_match);
	ATF_TP_ADD_TC(tp, e025_block_route);
	ATF_TP_ADD_TC(tp, e026_dup_exact);
	ATF_TP_ADD_TC(tp, e026_dup_regex);
	ATF_TP_ADD_TC(tp, e026_dup_alpn);
	ATF_TP_ADD_TC(tp, e027_no_routes);
	ATF_TP_ADD_TC(tp, e027_empty_routes);
	ATF_TP_ADD_TC(tp, e028_terminate);
	ATF_TP_ADD_TC(tp, routes_valid);
	ATF_TP_ADD_TC(tp, routes_order);
	ATF_TP_ADD_TC(tp, routes_not_duplicates);
	ATF_TP_ADD_TC(tp, routes_alias);
	ATF_TP_ADD_TC(tp, no_sni_starttls);
	ATF_TP_ADD_TC(tp, routes_too_many);
	ATF_TP_ADD_TC(tp, route_limits);
	ATF_TP_ADD_TC(tp, route_messages);
	ATF_TP_ADD_TC(tp, did_you_mean);
	ATF_TP_ADD_TC(tp, e023_deep_sequence);
	ATF_TP_ADD_TC(tp, e023_deep_mapping);
	ATF_TP_ADD_TC(tp, depth_64_ok);
	ATF_TP_ADD_TC(tp, tls_valid);
	ATF_TP_ADD_TC(tp, tls_defaults);
	ATF_TP_ADD_TC(tp, tls_alias);
	ATF_TP_ADD_TC(tp, tls_too_many_certs);
	ATF_TP_ADD_TC(tp, tls_terminate_alias);
	ATF_TP_ADD_TC(tp, tls_messages);
	ATF_TP_ADD_TC(tp, e002_tls_key);
	ATF_TP_ADD_TC(tp, e002_cert_key);
	ATF_TP_ADD_TC(tp, e002_backend_tls_key);
	ATF_TP_ADD_TC(tp, e003_tls_scalar);
	ATF_TP_ADD_TC(tp, e003_certificates_mapping);
	ATF_TP_ADD_TC(tp, e003_cert_scalar);
	ATF_TP_ADD_TC(tp, e003_names_scalar);
	ATF_TP_ADD_TC(tp, e003_verify);
	ATF_TP_ADD_TC(tp, e003_backend_tls_sequence);
	ATF_TP_ADD_TC(tp, e003_tls_engines);
	ATF_TP_ADD_TC(tp, e006_certificates);
	ATF_TP_ADD_TC(tp, e006_cert_key);
	ATF_TP_ADD_TC(tp, e006_cert_cert);
	ATF_TP_ADD_TC(tp, e006_client_ca);
	ATF_TP_ADD_TC(tp, e006_backend_key);
	ATF_TP_ADD_TC(tp, e006_backend_cert);
	ATF_TP_ADD_TC(tp, e013_tls_engines_zero);
	ATF_TP_ADD_TC(tp, e013_tls_engines_big);
	ATF_TP_ADD_TC(tp, e013_no_certs);
	ATF_TP_ADD_TC(tp, e013_no_names);
	ATF_TP_ADD_TC(tp, e013_many_names);
	ATF_TP_ADD_TC(tp, e014_client_auth);
	ATF_TP_ADD_TC(tp, e019_cert_path);
	ATF_TP_ADD_TC(tp, e019_cert_name);
	ATF_TP_ADD_TC(tp, e019_cert_name_star);
	ATF_TP_ADD_TC(tp, e019_cert_name_inner_star);
	ATF_TP_ADD_TC(tp, e019_client_ca_path);
	ATF_TP_ADD_TC(tp, e019_server_name);
	ATF_TP_ADD_TC(tp, e019_backend_ca_path);
	ATF_TP_ADD_TC(tp, e031_protocols);
	ATF_TP_ADD_TC(tp, e031_no_protocol);
	ATF_TP_ADD_TC(tp, e031_ciphers);
	ATF_TP_ADD_TC(tp, e031_ciphers_empty);
	ATF_TP_ADD_TC(tp, e031_backend_protocols);
	ATF_TP_ADD_TC(tp, e033_client_ca_none);
	ATF_TP_ADD_TC(tp, e033_client_ca_said_none);
	ATF_TP_ADD_TC(tp, e033_crl);
	ATF_TP_ADD_TC(tp, e033_ca_no_verify);
	ATF_TP_ADD_TC(tp, e034_dup_name);
	ATF_TP_ADD_TC(tp, e034_dup_name_one_cert);
	ATF_TP_ADD_TC(tp, e034_dup_name_alias);
	ATF_TP_ADD_TC(tp, e045_host_bits);
	ATF_TP_ADD_TC(tp, e045_name);
	ATF_TP_ADD_TC(tp, e045_prefix);
	ATF_TP_ADD_TC(tp, e045_v6_prefix);
	ATF_TP_ADD_TC(tp, e046_no_trusted);
	ATF_TP_ADD_TC(tp, e046_scalar);
	ATF_TP_ADD_TC(tp, e013_acl_empty);
	ATF_TP_ADD_TC(tp, e013_rate_zero);
	ATF_TP_ADD_TC(tp, e013_rate_table);
	ATF_TP_ADD_TC(tp, e006_rate_per_source);
	ATF_TP_ADD_TC(tp, e014_backend_proxy);
	ATF_TP_ADD_TC(tp, e013_global_max_sessions);
	ATF_TP_ADD_TC(tp, access_keys);
	ATF_TP_ADD_TC(tp, tls_files_read);
	ATF_TP_ADD_TC(tp, tls_files_alias);
	ATF_TP_ADD_TC(tp, e029_keypair);
	ATF_TP_ADD_TC(tp, e030_cannot_read);
	ATF_TP_ADD_TC(tp, e030_permission);
	ATF_TP_ADD_TC(tp, e032_bad_ca);
	ATF_TP_ADD_TC(tp, tls_default_ca);
	ATF_TP_ADD_TC(tp, tls_blob_free);
	return atf_no_error();
}
