/*
 * The labels of a container, as /containers/json lists it, made into
 * the server it stands for.  Anything wrong is an error with a message
 * that says which label and why; nothing has a silent default but the
 * weight and backup, which l4d gives a server without them.
 */

#include <sys/types.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "l4d.h"
#include "l4d-docker.h"

#define LABEL_PREFIX	"l4d."

static const char *const known_labels[] = {
	"l4d.backend", "l4d.port", "l4d.weight", "l4d.backup", "l4d.network",
};

const char *
container_name(json_t *c)
{
	json_t		*names, *id;
	const char	*s;

	names = json_object_get(c, "Names");
	if (json_is_array(names) && json_array_size(names) > 0 &&
	    (s = json_string_value(json_array_get(names, 0))) != NULL &&
	    *s != '\0')
		return s[0] == '/' ? s + 1 : s;
	id = json_object_get(c, "Id");
	if ((s = json_string_value(id)) != NULL)
		return s;
	return "?";
}

/* A backend or network name as l4ctl can pass it: one word. */
static int
valid_word(const char *s, size_t max)
{
	size_t	 i;

	if (s[0] == '\0' || strlen(s) >= max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '_' && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* A label's value, which Docker keeps as a string; NULL if absent. */
static int
label(json_t *labels, const char *key, const char **val, char *err,
    size_t errlen)
{
	json_t	*v;

	*val = NULL;
	if ((v = json_object_get(labels, key)) == NULL)
		return 0;
	if ((*val = json_string_value(v)) == NULL) {
		snprintf(err, errlen, "label %s is not a string", key);
		return -1;
	}
	return 0;
}

static int
check_keys(json_t *labels, int *ours, char *err, size_t errlen)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	*ours = 0;
	json_object_foreach(labels, key, v) {
		if (strncmp(key, LABEL_PREFIX, strlen(LABEL_PREFIX)) != 0)
			continue;
		*ours = 1;
		for (i = 0; i < nitems(known_labels); i++)
			if (strcmp(key, known_labels[i]) == 0)
				break;
		if (i == nitems(known_labels)) {
			snprintf(err, errlen, "unknown label %.64s (known: "
			    "l4d.backend, l4d.port, l4d.weight, l4d.backup, "
			    "l4d.network)", key);
			return -1;
		}
	}
	return 0;
}

static int
parse_number(const char *key, const char *s, long long min, long long max,
    int *out, char *err, size_t errlen)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		snprintf(err, errlen, "label %s=\"%.32s\" is %s (%lld to %lld)",
		    key, s, errstr, min, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
parse_bool(const char *key, const char *s, int *out, char *err,
    size_t errlen)
{
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else {
		snprintf(err, errlen, "label %s=\"%.32s\" is not true or "
		    "false", key, s);
		return -1;
	}
	return 0;
}

/* The address on one network: IPv4 first, else the global IPv6 one. */
static const char *
network_ip(json_t *net, int *v6)
{
	const char	*ip;

	*v6 = 0;
	ip = json_string_value(json_object_get(net, "IPAddress"));
	if (ip != NULL && *ip != '\0')
		return ip;
	ip = json_string_value(json_object_get(net, "GlobalIPv6Address"));
	if (ip != NULL && *ip != '\0') {
		*v6 = 1;
		return ip;
	}
	return NULL;
}

static int
pick_address(json_t *c, const char *netname, const char **ipp, int *v6,
    char *err, size_t errlen)
{
	json_t		*hc, *nets, *net, *one = NULL;
	const char	*mode, *key, *ip;
	size_t		 n = 0;

	hc = json_object_get(c, "HostConfig");
	mode = json_string_value(json_object_get(hc, "NetworkMode"));
	if (mode != NULL && strcmp(mode, "host") == 0 &&
	    (netname == NULL || strcmp(netname, "host") == 0)) {
		*ipp = "127.0.0.1";
		*v6 = 0;
		return 0;
	}
	nets = json_object_get(json_object_get(c, "NetworkSettings"),
	    "Networks");
	if (netname != NULL) {
		if ((net = json_object_get(nets, netname)) == NULL) {
			snprintf(err, errlen, "label l4d.network=%s: not on "
			    "that network", netname);
			return -1;
		}
		if ((*ipp = network_ip(net, v6)) == NULL) {
			snprintf(err, errlen, "label l4d.network=%s: no "
			    "address on that network", netname);
			return -1;
		}
		return 0;
	}
	json_object_foreach(nets, key, net) {
		if (network_ip(net, v6) != NULL) {
			one = net;
			n++;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "no address on any network (host "
		    "networking, or a network with an address)");
		return -1;
	}
	if (n > 1) {
		snprintf(err, errlen, "addresses on %zu networks: say which "
		    "with l4d.network", n);
		return -1;
	}
	ip = network_ip(one, v6);
	*ipp = ip;
	return 0;
}

static int
check_ip(const char *ip, int v6, char *err, size_t errlen)
{
	unsigned char	 buf[sizeof(struct in6_addr)];

	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, buf) != 1) {
		snprintf(err, errlen, "Docker gave a bad address \"%.64s\"",
		    ip);
		return -1;
	}
	return 0;
}

/*
 * LABELS_NONE: no l4d.* label; LABELS_OK: *t is the server;
 * LABELS_ERROR: err says what is wrong.
 */
int
labels_parse(json_t *c, struct target *t, char *err, size_t errlen)
{
	json_t		*labels;
	const char	*backend, *port, *weight, *backup, *netname, *ip, *id;
	int		 ours, portnum, v6;

	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	if ((id = json_string_value(json_object_get(c, "Id"))) != NULL)
		strlcpy(t->id, id, sizeof(t->id));
	strlcpy(t->name, container_name(c), sizeof(t->name));
	labels = json_object_get(c, "Labels");
	if (labels == NULL || json_is_null(labels))
		return LABELS_NONE;
	if (!json_is_object(labels)) {
		snprintf(err, errlen, "Labels is not an object");
		return LABELS_ERROR;
	}
	if (check_keys(labels, &ours, err, errlen) == -1)
		return LABELS_ERROR;
	if (!ours)
		return LABELS_NONE;
	if (id == NULL || strlen(id) >= sizeof(t->id) || *id == '\0') {
		snprintf(err, errlen, "no container id");
		return LABELS_ERROR;
	}
	if (label(labels, "l4d.backend", &backend, err, errlen) == -1 ||
	    label(labels, "l4d.port", &port, err, errlen) == -1 ||
	    label(labels, "l4d.weight", &weight, err, errlen) == -1 ||
	    label(labels, "l4d.backup", &backup, err, errlen) == -1 ||
	    label(labels, "l4d.network", &netname, err, errlen) == -1)
		return LABELS_ERROR;
	if (backend == NULL) {
		snprintf(err, errlen, "label l4d.backend is missing");
		return LABELS_ERROR;
	}
	if (!valid_word(backend, sizeof(t->backend))) {
		snprintf(err, errlen, "label l4d.backend=\"%.64s\" is not a "
		    "backend name", backend);
		return LABELS_ERROR;
	}
	strlcpy(t->backend, backend, sizeof(t->backend));
	if (port == NULL) {
		snprintf(err, errlen, "label l4d.port is missing (there is "
		    "no default port)");
		return LABELS_ERROR;
	}
	if (parse_number("l4d.port", port, 1, 65535, &portnum, err,
	    errlen) == -1)
		return LABELS_ERROR;
	if (weight != NULL && parse_number("l4d.weight", weight, 1,
	    L4D_WEIGHT_MAX, &t->weight, err, errlen) == -1)
		return LABELS_ERROR;
	if (backup != NULL && parse_bool("l4d.backup", backup, &t->backup,
	    err, errlen) == -1)
		return LABELS_ERROR;
	if (netname != NULL && !valid_word(netname, DD_CNAME_MAX)) {
		snprintf(err, errlen, "label l4d.network=\"%.64s\" is not a "
		    "network name", netname);
		return LABELS_ERROR;
	}
	if (pick_address(c, netname, &ip, &v6, err, errlen) == -1 ||
	    check_ip(ip, v6, err, errlen) == -1)
		return LABELS_ERROR;
	if ((size_t)snprintf(t->address, sizeof(t->address), v6 ?
	    "[%s]:%d" : "%s:%d", ip, portnum) >= sizeof(t->address)) {
		snprintf(err, errlen, "address too long");
		return LABELS_ERROR;
	}
	return LABELS_OK;
}
