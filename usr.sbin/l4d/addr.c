/*
 * Addresses: "IP:PORT", "[IPv6]:PORT", "*:PORT" and "NAME:PORT", looked
 * up when asked, and compared.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "l4d.h"
#include "parse.h"

static int
is_ipv4ish(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return 0;
	return 1;
}

/* RFC 1123 labels; '_' too, since internal zones use it. */
int
is_hostname(const char *s)
{
	size_t	 label = 0, total = 0;

	for (; *s != '\0'; s++, total++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if ((*s < 'a' || *s > 'z') && (*s < 'A' || *s > 'Z') &&
		    (*s < '0' || *s > '9') && *s != '-' && *s != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return total > 0 && total <= 253;
}

static int
port_parse(const char *s, in_port_t *port)
{
	long	 n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > 65535)
			return -1;
	}
	if (n == 0)
		return -1;
	*port = htons((in_port_t)n);
	return 0;
}

static int
host_resolve(const char *host, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -2;
	}
	if (res->ai_addrlen > sizeof(*ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "no IPv4 or IPv6 address");
		return -2;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Splits "host:port" or "[v6]:port"; host is copied into hbuf. */
static int
addr_split(const char *s, char *hbuf, size_t hlen, const char **port,
    int *bracket, char *err, size_t errlen)
{
	const char	*end, *colon;
	size_t		 n;

	*bracket = (*s == '[');
	if (*bracket) {
		if ((end = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "missing \"]\"");
			return -1;
		}
		if (end[1] != ':') {
			snprintf(err, errlen, end[1] == '\0' ? "missing port" :
			    "expected \":\" after \"]\"");
			return -1;
		}
		s++;
		n = end - s;
		*port = end + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "missing port");
			return -1;
		}
		if (strchr(s, ':') != colon) {
			snprintf(err, errlen, "IPv6 addresses need brackets");
			return -1;
		}
		n = colon - s;
		*port = colon + 1;
	}
	if (n >= hlen) {
		snprintf(err, errlen, "host too long");
		return -1;
	}
	memcpy(hbuf, s, n);
	hbuf[n] = '\0';
	return 0;
}

/* Returns 0, -1 when malformed, -2 when a host name does not resolve. */
int
addr_parse(const char *s, int flags, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[L4D_ADDR_MAX];
	const char		*portstr;
	in_port_t		 port;
	int			 bracket, rc;

	memset(ss, 0, sizeof(*ss));
	*sslen = 0;
	if (strlen(s) >= L4D_ADDR_MAX) {
		snprintf(err, errlen, "longer than %d bytes", L4D_ADDR_MAX - 1);
		return -1;
	}
	if (addr_split(s, host, sizeof(host), &portstr, &bracket, err,
	    errlen) == -1)
		return -1;
	if (port_parse(portstr, &port) == -1) {
		snprintf(err, errlen, "port must be 1-65535");
		return -1;
	}
	if (host[0] == '\0') {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	if (bracket) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "bad IPv6 address");
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		*sslen = sizeof(*sin6);
		return 0;
	}
	if (strcmp(host, "*") == 0) {
		if (!(flags & ADDR_WILDCARD)) {
			snprintf(err, errlen, "\"*\" is for listeners only");
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = port;
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		*sslen = sizeof(*sin);
		return 0;
	}
	if (is_ipv4ish(host)) {
		snprintf(err, errlen, "bad IPv4 address");
		return -1;
	}
	if (!is_hostname(host)) {
		snprintf(err, errlen, "bad host name");
		return -1;
	}
	if (!(flags & ADDR_NAMES)) {
		snprintf(err, errlen, "an IP address is needed, not a name");
		return -1;
	}
	if (!(flags & ADDR_RESOLVE))
		return 0;
	if ((rc = host_resolve(host, ss, sslen, err, errlen)) != 0)
		return rc;
	if (ss->ss_family == AF_INET)
		sin->sin_port = port;
	else
		sin6->sin6_port = port;
	return 0;
}

/*
 * "IP:PORT", "[IPv6]:PORT", "*:PORT" or "NAME:PORT".  A name is looked
 * up when resolve is set, and left with sslen 0 otherwise.  Returns 0,
 * -1 when malformed, -2 when the name does not resolve; err says why.
 */
int
parse_address(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    int resolve, char *err, size_t errlen)
{
	char	 buf[128];

	if (err == NULL || errlen == 0) {
		err = buf;
		errlen = sizeof(buf);
	}
	return addr_parse(s, ADDR_WILDCARD | ADDR_NAMES |
	    (resolve ? ADDR_RESOLVE : 0), ss, sslen, err, errlen);
}

/* Same family, address and port; the rest of the storage is ignored. */
int
sockaddr_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* Two listening sockets that could not both be bound. */
int
listen_conflict(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;	/* IPv6 sockets are bound V6ONLY */
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY));
	return a6->sin6_port == b6->sin6_port &&
	    (memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0 ||
	    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr));
}

/*
 * A server's address given at run time, checked as the file's are:
 * "HOST:PORT" or "[IPv6]:PORT", a name resolved here.  Returns 0, or -1
 * with err saying why.
 */
int
addr_server(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    char *err, size_t errlen)
{
	char	 why[128];
	int	 rc;

	rc = addr_parse(s, ADDR_NAMES | ADDR_RESOLVE, ss, sslen, why,
	    sizeof(why));
	if (rc == -2)
		snprintf(err, errlen, "host in %s does not resolve: %s", s,
		    why);
	else if (rc != 0)
		snprintf(err, errlen, "bad address %s: %s (\"HOST:PORT\" or "
		    "\"[IPv6]:PORT\", port 1-65535)", s, why);
	return rc == 0 ? 0 : -1;
}
