/*
 * Fuzz the requests of l4ctl server add and server remove as l4d's
 * parent reads them (runtime.c): runtime_words() on each, then
 * runtime_add() or runtime_remove() on a small model, request after
 * request, so that an add, a remove and an add again (a revival) of one
 * server are reached.  The rest of the daemon is stubbed below: what
 * would go to the relays and the health process is only looked at, and
 * host names are "resolved" here, offline and always the same way.
 *
 * Input: lines; "add ARGS" is runtime_add(ARGS), "remove ARGS"
 * runtime_remove(ARGS), any other line goes to both.  ARGS is copied to
 * a struct ctl_request's arg as l4ctl sends it (NUL-terminated there,
 * as control.c does).
 *
 * Besides not crashing or leaking: the words are those of an
 * independent split of the request on spaces (at most
 * RUNTIME_WORDS_MAX, inside the buffer, none empty), a request that
 * does not fit is refused whole, never cut; a server added is the one
 * the request names, at the weight and with the backup it says, and
 * is announced as such; a request refused changes nothing.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

#define LINES_MAX	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2), __noreturn__));

struct l4d_config	*l4d_conf;

/* What runtime.c announced last. */
static struct ctl_server_add	 announced;
static int			 nannounced;

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The daemon around runtime.c. */
void
proc_send_all(enum l4d_proc id, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	if (id != PROC_RELAY)
		fail("sent to process %d", id);
	if (type == IMSG_CTL_SERVER_ADD) {
		if (len != sizeof(announced))
			fail("IMSG_CTL_SERVER_ADD of %zu bytes", len);
		memcpy(&announced, data, len);
		nannounced++;
	} else if (type != IMSG_CTL_SERVER)
		fail("sent imsg %u", type);
}

struct child *
proc_child(enum l4d_proc id, int instance)
{
	return NULL;
}

void
health_configure(struct child *c)
{
	fail("health_configure without a child");
}

long long
proc_now_ms(void)
{
	return 1000;
}

void
control_event(const char *fmt, ...)
{
}

/*
 * Names, offline: *.invalid and one name in five do not resolve, one in
 * five is IPv6, the others IPv4, each always to the same address.
 */
int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo		*ai;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	uint32_t		 h = 2166136261U;
	size_t			 len;
	const char		*p;

	if (node == NULL)
		return EAI_NONAME;
	for (p = node; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619U;
	len = strlen(node);
	if ((len >= 8 && strcmp(node + len - 8, ".invalid") == 0) ||
	    h % 5 == 0)
		return EAI_NONAME;
	if ((ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6))) ==
	    NULL)
		return EAI_MEMORY;
	ai->ai_socktype = SOCK_STREAM;
	ai->ai_addr = (struct sockaddr *)(ai + 1);
	if (h % 5 == 1) {
		sin6 = (struct sockaddr_in6 *)ai->ai_addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr.s6_addr[0] = 0x20;
		sin6->sin6_addr.s6_addr[1] = 0x01;
		sin6->sin6_addr.s6_addr[2] = 0x0d;
		sin6->sin6_addr.s6_addr[3] = 0xb8;
		memcpy(&sin6->sin6_addr.s6_addr[12], &h, sizeof(h));
		ai->ai_family = AF_INET6;
		ai->ai_addrlen = sizeof(*sin6);
	} else {
		sin = (struct sockaddr_in *)ai->ai_addr;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0xc0000200 | (h & 0xff));
		ai->ai_family = AF_INET;
		ai->ai_addrlen = sizeof(*sin);
	}
	*res = ai;
	return 0;
}

void
freeaddrinfo(struct addrinfo *ai)
{
	free(ai);
}

static struct backend *
model_backend(struct l4d_config *conf, const char *name, int check)
{
	struct backend	*be;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		abort();
	strlcpy(be->name, name, sizeof(be->name));
	TAILQ_INIT(&be->servers);
	be->check.type = check;
	TAILQ_INSERT_TAIL(&conf->backends, be, entry);
	return be;
}

static void
model_server(struct backend *be, const char *address, int weight)
{
	struct server	 s;
	char		 err[256];

	memset(&s, 0, sizeof(s));
	strlcpy(s.address, address, sizeof(s.address));
	if (addr_server(address, &s.ss, &s.sslen, err, sizeof(err)) == -1)
		fail("model: %s", err);
	s.weight = weight;
	s.up = 1;
	if (backend_add_server(be, &s) == NULL)
		abort();
}

/* Two backends, one checked, with servers from "the file". */
static struct l4d_config *
model(void)
{
	struct l4d_config	*conf;
	struct backend		*be;

	if ((conf = config_new_empty()) == NULL)
		abort();
	conf->generation = 7;
	be = model_backend(conf, "pool", CHECK_NONE);
	be->id = 0;
	model_server(be, "127.0.0.2:8080", 1);
	model_server(be, "[::1]:8080", 2);
	model_server(be, "app.internal:80", 1);
	be = model_backend(conf, "db", CHECK_TCP);
	be->id = 1;
	model_server(be, "10.0.0.5:5432", 1);
	return conf;
}

/* The model's state that a request may change. */
static uint64_t
model_digest(struct l4d_config *conf)
{
	struct backend	*be;
	struct server	*s;
	uint64_t	 h = 1469598103934665603ULL;

	TAILQ_FOREACH(be, &conf->backends, entry) {
		h = (h ^ be->nservers) * 1099511628211ULL;
		TAILQ_FOREACH(s, &be->servers, entry)
			h = (h ^ (uint64_t)(s->removed | s->disabled << 1 |
			    s->runtime << 2 | s->backup << 3 |
			    (uint64_t)s->weight << 4)) * 1099511628211ULL;
	}
	return h;
}

/* A server by its address as written, or (resolve) by what it is. */
static struct server *
model_find(const char *backend, const char *address, int resolve)
{
	struct sockaddr_storage	 ss;
	struct backend		*be;
	struct server		*s;
	socklen_t		 sslen;
	char			 err[256];

	if ((be = config_find_backend(l4d_conf, backend)) == NULL)
		return NULL;
	TAILQ_FOREACH(s, &be->servers, entry)
		if (strcmp(s->address, address) == 0)
			return s;
	if (!resolve || addr_server(address, &ss, &sslen, err,
	    sizeof(err)) == -1)
		return NULL;
	TAILQ_FOREACH(s, &be->servers, entry)
		if (s->sslen == sslen && memcmp(&s->ss, &ss, sslen) == 0)
			return s;
	return NULL;
}

/* The words of s, split on spaces here; at most max, then max + 1. */
static int
split(const char *s, char w[][PATH_MAX], int max)
{
	size_t	 len;
	int	 n = 0;

	for (;;) {
		s += strspn(s, " ");
		if (*s == '\0')
			return n;
		if (n == max)
			return max + 1;
		len = strcspn(s, " ");
		memcpy(w[n], s, len);
		w[n++][len] = '\0';
		s += len;
	}
}

static void
check_words(const char *arg, char ow[][PATH_MAX], int on)
{
	char	 buf[RUNTIME_REQ_MAX], *w[RUNTIME_WORDS_MAX];
	int	 i, n;

	n = runtime_words(arg, buf, sizeof(buf), w, RUNTIME_WORDS_MAX);
	if (strlen(arg) >= sizeof(buf)) {
		if (n != -2)
			fail("words: %d of a request that does not fit", n);
		return;
	}
	if (on > RUNTIME_WORDS_MAX) {
		if (n != -1)
			fail("words: %d, more than %d here", n,
			    RUNTIME_WORDS_MAX);
		return;
	}
	if (n != on)
		fail("words: %d, %d here", n, on);
	for (i = 0; i < n; i++) {
		if (w[i] < buf || w[i] >= buf + sizeof(buf))
			fail("words: word %d outside the buffer", i);
		if (strcmp(w[i], ow[i]) != 0)
			fail("words: \"%s\", \"%s\" here", w[i], ow[i]);
	}
	/* fewer allowed: the same, or too many */
	n = runtime_words(arg, buf, sizeof(buf), w, 2);
	if (n != (on > 2 ? -1 : on))
		fail("words: %d of at most 2, %d here", n, on);
}

/* A successful add: the server the words say, announced as such. */
static void
check_added(char ow[][PATH_MAX], int on, int announced_before)
{
	struct server	*s;
	const char	*errstr;
	int		 i, weight = 1, backup = 0;

	if (on < 2 || on > RUNTIME_WORDS_MAX)
		fail("add: done with %d words", on);
	for (i = 2; i < on; i++) {
		if (strcmp(ow[i], "backup") == 0)
			backup = 1;
		else if (strcmp(ow[i], "weight") == 0 && i + 1 < on) {
			weight = strtonum(ow[++i], 1, L4D_WEIGHT_MAX, &errstr);
			if (errstr != NULL)
				fail("add: done with weight %s", ow[i]);
		} else
			fail("add: done with \"%s\"", ow[i]);
	}
	/* another spelling of a removed server revives it */
	if ((s = model_find(ow[0], ow[1], 1)) == NULL)
		fail("add: no server %s in %s", ow[1], ow[0]);
	if (s->removed || s->weight != weight || s->backup != backup ||
	    (s->sslen != sizeof(struct sockaddr_in) &&
	    s->sslen != sizeof(struct sockaddr_in6)) ||
	    s->sslen != (s->ss.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
		fail("add: %s is not what was asked", s->address);
	if (nannounced == announced_before + 1 &&
	    (strcmp(announced.server.address, s->address) != 0 ||
	    announced.server.weight != weight ||
	    announced.server.backup != backup ||
	    announced.server.id != s->id || !announced.server.runtime ||
	    announced.generation != l4d_conf->generation))
		fail("add: %s announced as %s", s->address,
		    announced.server.address);
}

static void
request(const char *line, size_t len, int op)
{
	static char	 ow[RUNTIME_WORDS_MAX + 1][PATH_MAX];
	char		 arg[PATH_MAX], msg[512];
	struct server	*s;
	uint64_t	 before;
	int		 on, rv, nbefore;

	/* struct ctl_request's arg, as control.c takes it */
	if (len >= sizeof(arg))
		len = sizeof(arg) - 1;
	memcpy(arg, line, len);
	arg[len] = '\0';
	on = split(arg, ow, RUNTIME_WORDS_MAX);
	check_words(arg, ow, on);

	before = model_digest(l4d_conf);
	nbefore = nannounced;
	memset(msg, 0xa5, sizeof(msg));
	rv = op ? runtime_add(arg, msg, sizeof(msg)) :
	    runtime_remove(arg, msg, sizeof(msg));
	if (memchr(msg, '\0', sizeof(msg)) == NULL || msg[0] == '\0')
		fail("no message");
	if (rv == -1) {
		if (model_digest(l4d_conf) != before || nannounced != nbefore)
			fail("refused, but the model changed: %s", msg);
		return;
	}
	if (rv != 0)
		fail("returned %d", rv);
	if (op) {
		check_added(ow, on, nbefore);
		return;
	}
	if (on != 2 || (s = model_find(ow[0], ow[1], 0)) == NULL ||
	    !s->removed || !s->runtime)
		fail("remove: done, but not removed: %s", msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *end = p + size, *nl;
	size_t		 len;
	int		 n;

	if (l4d_conf == NULL)
		log_init(1, LOG_LEVEL_WARNING, "fuzz_ctlargs");
	l4d_conf = model();
	for (n = 0; p < end && n < LINES_MAX; n++, p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		len = nl - p;
		if (len >= 4 && memcmp(p, "add ", 4) == 0)
			request(p + 4, len - 4, 1);
		else if (len >= 7 && memcmp(p, "remove ", 7) == 0)
			request(p + 7, len - 7, 0);
		else {
			request(p, len, 1);
			request(p, len, 0);
		}
	}
	config_free(l4d_conf);
	return 0;
}
