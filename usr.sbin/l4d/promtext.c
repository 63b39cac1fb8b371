/*
 * The counters the parent gathered from the relays, in the Prometheus
 * text exposition format (version 0.0.4), for `l4ctl show metrics' and
 * the metrics process's /metrics.  HAProxy's exporter is the model for
 * the names: one family per counter and kind of object (l4d_listener_*,
 * l4d_backend_*, l4d_server_*, l4d_route_*), labelled with the object's
 * names; every family has its HELP and TYPE lines, and every object of
 * the running configuration its sample, zero or not.
 *
 * The end causes and the TLS failure reasons are walked by their
 * tables (cause_name(), tls_failure_name()), so a new one shows without
 * an edit here; the scalar counters of struct counters have a row each
 * below, and the build fails when the struct grows without one.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "l4d.h"

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE
};

/* One scalar of struct counters. */
struct counter_row {
	const char	*suffix;	/* after "l4d_KIND_" */
	size_t		 off;
	enum metric_type type;
	const char	*help;		/* "... of the KIND" follows */
};

static const struct counter_row counter_rows[] = {
	{ "current_sessions", offsetof(struct counters, active),
	    METRIC_GAUGE, "Sessions open now" },
	{ "sessions_total", offsetof(struct counters, total),
	    METRIC_COUNTER, "Sessions started" },
	{ "bytes_in_total", offsetof(struct counters, bytes_in),
	    METRIC_COUNTER, "Bytes received from clients" },
	{ "bytes_out_total", offsetof(struct counters, bytes_out),
	    METRIC_COUNTER, "Bytes sent to clients" },
	{ "connection_errors_total", offsetof(struct counters,
	    connect_failures), METRIC_COUNTER,
	    "Connections to servers that failed" },
	{ "tls_handshakes_total", offsetof(struct counters, tls_handshakes),
	    METRIC_COUNTER, "TLS handshakes completed by l4d" },
	{ "tls_resumed_total", offsetof(struct counters, tls_resumed),
	    METRIC_COUNTER, "TLS handshakes that resumed a session" },
};

/* A new uint64_t in struct counters needs a row above. */
_Static_assert(sizeof(struct counters) == nitems(counter_rows) *
    sizeof(uint64_t) + sizeof(((struct counters *)0)->tls_failures) +
    sizeof(((struct counters *)0)->causes),
    "struct counters has a field that promtext.c does not export");

enum obj_kind {
	OBJ_LISTENER,
	OBJ_ROUTE,
	OBJ_BACKEND,
	OBJ_SERVER,
	OBJ_MAX
};

static const char *const obj_names[OBJ_MAX] = { "listener", "route",
    "backend", "server" };

/*
 * Every session belongs to one listener: the listener's end causes and
 * TLS outcomes are the daemon's, and their families carry no kind in
 * their names (l4d_sessions_ended_total{listener=,cause=}).
 */
#define family_prefix(k, daemon_wide) \
	((k) == OBJ_LISTENER && (daemon_wide) ? "l4d_" : NULL)

struct prom {
	FILE			*fp;
	struct l4d_config	*conf;
	const struct ctl_stat	*stats;
	size_t			 nstats;
};

static const struct counters *
prom_find(struct prom *pm, const char *kind, const char *name,
    const char *sub)
{
	return stats_lookup(pm->stats, pm->nstats, kind, name, sub);
}

/* A label value: backslash, double quote and newline are escaped. */
static void
prom_label(FILE *fp, const char *name, const char *value, int first)
{
	fprintf(fp, "%s%s=\"", first ? "" : ",", name);
	for (; *value != '\0'; value++) {
		if (*value == '\\' || *value == '"')
			fprintf(fp, "\\%c", *value);
		else if (*value == '\n')
			fprintf(fp, "\\n");
		else
			fputc(*value, fp);
	}
	fputc('"', fp);
}

static void
prom_head(FILE *fp, const char *name, enum metric_type type,
    const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type == METRIC_COUNTER ? "counter" : "gauge");
}

static void
family_name(char *buf, size_t len, enum obj_kind k, int daemon_wide,
    const char *suffix)
{
	const char	*prefix = family_prefix(k, daemon_wide);

	if (prefix != NULL)
		snprintf(buf, len, "%s%s", prefix, suffix);
	else
		snprintf(buf, len, "l4d_%s_%s", obj_names[k], suffix);
}

/*
 * The labels of one object; extra (cause or reason) last.  A route is
 * its listener's: route is its match ("sni alpn=..."), no_sni or
 * default.
 */
struct obj_labels {
	const char	*listener;
	const char	*route;
	const char	*backend;
	const char	*server;
};

static void
prom_sample_start(FILE *fp, const char *family, const struct obj_labels *ol,
    const char *xname, const char *xvalue)
{
	int	 first = 1;

	fprintf(fp, "%s{", family);
	if (ol->listener != NULL) {
		prom_label(fp, "listener", ol->listener, first);
		first = 0;
	}
	if (ol->route != NULL) {
		prom_label(fp, "route", ol->route, first);
		first = 0;
	}
	if (ol->backend != NULL) {
		prom_label(fp, "backend", ol->backend, first);
		first = 0;
	}
	if (ol->server != NULL) {
		prom_label(fp, "server", ol->server, first);
		first = 0;
	}
	if (xname != NULL)
		prom_label(fp, xname, xvalue, first);
	fprintf(fp, "} ");
}

/*
 * Walk every object of kind k in the running configuration, calling fn
 * with its labels and counters.
 */
typedef void	(*obj_fn)(struct prom *, const struct obj_labels *,
		    const struct counters *, void *);

static void
walk(struct prom *pm, enum obj_kind k, obj_fn fn, void *arg)
{
	struct listener		*l;
	struct route		*r;
	struct backend		*be;
	struct server		*srv;
	struct obj_labels	 ol;
	char			 key[ROUTE_KEY_MAX];
	static const char *const fallbacks[] = { "no_sni", "default" };
	size_t			 i;

	memset(&ol, 0, sizeof(ol));
	switch (k) {
	case OBJ_LISTENER:
		TAILQ_FOREACH(l, &pm->conf->listeners, entry) {
			ol.listener = l->name;
			fn(pm, &ol, prom_find(pm, "l", l->name, NULL), arg);
		}
		break;
	case OBJ_ROUTE:
		TAILQ_FOREACH(l, &pm->conf->listeners, entry) {
			if (!listener_peeks(l))
				continue;
			ol.listener = l->name;
			TAILQ_FOREACH(r, &l->routes, entry) {
				route_key(r, key, sizeof(key));
				ol.route = key;
				fn(pm, &ol, prom_find(pm, "r", l->name, key),
				    arg);
			}
			for (i = 0; i < nitems(fallbacks); i++) {
				ol.route = fallbacks[i];
				fn(pm, &ol, prom_find(pm, "r", l->name,
				    fallbacks[i]), arg);
			}
		}
		break;
	case OBJ_BACKEND:
		TAILQ_FOREACH(be, &pm->conf->backends, entry) {
			ol.backend = be->name;
			fn(pm, &ol, prom_find(pm, "b", be->name, NULL), arg);
		}
		break;
	case OBJ_SERVER:
		TAILQ_FOREACH(be, &pm->conf->backends, entry) {
			ol.backend = be->name;
			TAILQ_FOREACH(srv, &be->servers, entry) {
				ol.server = srv->address;
				fn(pm, &ol, prom_find(pm, "s", be->name,
				    srv->address), arg);
			}
		}
		break;
	case OBJ_MAX:
		break;
	}
}

struct sample_arg {
	const char	*family;
	size_t		 off;		/* of a scalar */
	int		 index;		/* of a vector */
	int		 vector;	/* 0: scalar, 1: causes, 2: tls */
};

static void
sample_fn(struct prom *pm, const struct obj_labels *ol,
    const struct counters *k, void *arg)
{
	struct sample_arg	*sa = arg;
	uint64_t		 v;

	switch (sa->vector) {
	case 1:
		prom_sample_start(pm->fp, sa->family, ol, "cause",
		    cause_name(sa->index));
		v = k->causes[sa->index];
		break;
	case 2:
		prom_sample_start(pm->fp, sa->family, ol, "reason",
		    tls_failure_name(sa->index));
		v = k->tls_failures[sa->index];
		break;
	default:
		prom_sample_start(pm->fp, sa->family, ol, NULL, NULL);
		memcpy(&v, (const char *)k + sa->off, sizeof(v));
		break;
	}
	fprintf(pm->fp, "%llu\n", (unsigned long long)v);
}

static void
kind_families(struct prom *pm, enum obj_kind k)
{
	struct sample_arg	 sa;
	char			 family[96], help[160];
	size_t			 i;
	int			 j;

	memset(&sa, 0, sizeof(sa));
	sa.family = family;
	for (i = 0; i < nitems(counter_rows); i++) {
		family_name(family, sizeof(family), k,
		    strncmp(counter_rows[i].suffix, "tls_", 4) == 0,
		    counter_rows[i].suffix);
		snprintf(help, sizeof(help), "%s, by %s.",
		    counter_rows[i].help, obj_names[k]);
		prom_head(pm->fp, family, counter_rows[i].type, help);
		sa.off = counter_rows[i].off;
		sa.vector = 0;
		walk(pm, k, sample_fn, &sa);
	}
	family_name(family, sizeof(family), k, 1, "tls_failures_total");
	snprintf(help, sizeof(help), "TLS legs that failed, by %s and "
	    "reason.", obj_names[k]);
	prom_head(pm->fp, family, METRIC_COUNTER, help);
	sa.vector = 2;
	for (j = 0; j < TLS_FAIL_MAX; j++) {
		sa.index = j;
		walk(pm, k, sample_fn, &sa);
	}
	family_name(family, sizeof(family), k, 1, "sessions_ended_total");
	snprintf(help, sizeof(help), "Sessions that ended, by %s and cause.",
	    obj_names[k]);
	prom_head(pm->fp, family, METRIC_COUNTER, help);
	sa.vector = 1;
	for (j = 1; j < CAUSE_MAX; j++) {
		sa.index = j;
		walk(pm, k, sample_fn, &sa);
	}
}

/* The health fields the parent owns: no relay is asked. */
enum server_field {
	SF_UP,
	SF_DISABLED,
	SF_CHECKED,
	SF_CHANGES,
	SF_WEIGHT,
	SF_BACKUP,
	SF_MAX
};

static const struct {
	const char		*name;
	enum metric_type	 type;
	const char		*help;
} server_fields[SF_MAX] = {
	[SF_UP] = { "l4d_server_up", METRIC_GAUGE,
	    "1 if the server is up (health), 0 if it is down." },
	[SF_DISABLED] = { "l4d_server_disabled", METRIC_GAUGE,
	    "1 if an operator disabled the server (l4ctl server disable)." },
	[SF_CHECKED] = { "l4d_server_check_enabled", METRIC_GAUGE,
	    "1 if the server's backend has a health check." },
	[SF_CHANGES] = { "l4d_server_state_changes_total", METRIC_COUNTER,
	    "Health state changes of the server." },
	[SF_WEIGHT] = { "l4d_server_weight", METRIC_GAUGE,
	    "The server's configured weight." },
	[SF_BACKUP] = { "l4d_server_backup", METRIC_GAUGE,
	    "1 if the server is a backup." },
};

static void
server_health(struct prom *pm)
{
	struct backend		*be;
	struct server		*srv;
	struct obj_labels	 ol;
	unsigned long long	 v;
	int			 f;

	memset(&ol, 0, sizeof(ol));
	for (f = 0; f < SF_MAX; f++) {
		prom_head(pm->fp, server_fields[f].name, server_fields[f].type,
		    server_fields[f].help);
		TAILQ_FOREACH(be, &pm->conf->backends, entry) {
			ol.backend = be->name;
			TAILQ_FOREACH(srv, &be->servers, entry) {
				ol.server = srv->address;
				switch (f) {
				case SF_UP:
					v = srv->up != 0;
					break;
				case SF_DISABLED:
					v = srv->disabled != 0;
					break;
				case SF_CHECKED:
					v = be->check.type != CHECK_NONE;
					break;
				case SF_CHANGES:
					v = srv->state_changes;
					break;
				case SF_WEIGHT:
					v = (unsigned long long)srv->weight;
					break;
				default:
					v = srv->backup != 0;
					break;
				}
				prom_sample_start(pm->fp,
				    server_fields[f].name, &ol, NULL, NULL);
				fprintf(pm->fp, "%llu\n", v);
			}
		}
	}
}

static void
process_families(struct prom *pm, const struct metrics_info *mi)
{
	FILE	*fp = pm->fp;

	prom_head(fp, "l4d_process_start_time_seconds", METRIC_GAUGE,
	    "Start time of the l4d parent since the Unix epoch in seconds.");
	fprintf(fp, "l4d_process_start_time_seconds %lld\n",
	    (long long)mi->start_time);
	prom_head(fp, "l4d_config_generation", METRIC_GAUGE,
	    "Generation of the running configuration (1 at start).");
	fprintf(fp, "l4d_config_generation %u\n", pm->conf->generation);
	prom_head(fp, "l4d_reloads_total", METRIC_COUNTER,
	    "Reloads that were applied.");
	fprintf(fp, "l4d_reloads_total %llu\n",
	    (unsigned long long)mi->reloads);
	prom_head(fp, "l4d_reload_failures_total", METRIC_COUNTER,
	    "Reloads that were refused; the configuration stayed.");
	fprintf(fp, "l4d_reload_failures_total %llu\n",
	    (unsigned long long)mi->reload_failures);
	prom_head(fp, "l4d_relays", METRIC_GAUGE,
	    "Relay processes configured.");
	fprintf(fp, "l4d_relays %d\n", mi->relays);
	prom_head(fp, "l4d_relays_answered", METRIC_GAUGE,
	    "Relays whose counters are in this answer; fewer than l4d_relays "
	    "while one restarts.");
	fprintf(fp, "l4d_relays_answered %d\n", mi->answered);
}

void
prom_write(FILE *fp, struct l4d_config *conf, const struct ctl_stat *stats,
    size_t nstats, const struct metrics_info *mi)
{
	struct prom	 pm;
	int		 k;

	pm.fp = fp;
	pm.conf = conf;
	pm.stats = stats;
	pm.nstats = nstats;
	process_families(&pm, mi);
	for (k = 0; k < OBJ_MAX; k++)
		kind_families(&pm, k);
	server_health(&pm);
}
