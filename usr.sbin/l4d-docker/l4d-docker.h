/*
 * l4d-docker: servers of l4d's backends from Docker containers' labels.
 */

#ifndef L4D_DOCKER_H
#define L4D_DOCKER_H

#include <sys/queue.h>

#include <event.h>
#include <jansson.h>

#define DOCKER_SOCKET		"/var/run/docker.sock"
#ifndef L4CTL_PATH
#define L4CTL_PATH		"/usr/local/sbin/l4ctl"
#endif
#define L4DD_USER		"_l4ddocker"

#define DD_ID_MAX		72	/* a container id: 64 hex digits */
#define DD_CNAME_MAX		256	/* a container name */
#define DD_ERR_MAX		512
#define DD_HDR_LINE_MAX		8192	/* one HTTP status or header line */
#define DD_HDR_MAX		100	/* headers in one response */
#define DD_LIST_MAX		(8 * 1024 * 1024)	/* /containers/json */
#define DD_EVENT_MAX		(64 * 1024)	/* one line of /events */
#define DD_TIMEOUT_SEC		10	/* a request to Docker */
#define DD_BACKOFF_MIN_MS	250	/* reconnecting to Docker */
#define DD_BACKOFF_MAX_MS	(30 * 1000)
#define DD_CTL_TIMEOUT_SEC	10	/* one run of l4ctl */
#define DD_CTL_OUT_MAX		(8 * 1024 * 1024)
#define DD_RESYNC_SEC		30	/* a resync at least this often */
#define DD_RESYNC_MAX_SEC	3600
#define DD_MAX_CONTAINERS	10000
#define DD_MAX_TARGETS		10000	/* servers it keeps track of */

/* A server one container stands for. */
struct target {
	char			 id[DD_ID_MAX];
	char			 name[DD_CNAME_MAX];
	char			 backend[L4D_NAME_MAX];
	char			 address[L4D_ADDR_MAX];
	int			 weight;	/* 0: none given */
	int			 backup;
	TAILQ_ENTRY(target)	 entry;
};
TAILQ_HEAD(targets, target);

/* labels.c */
#define LABELS_NONE	0	/* not a container for l4d */
#define LABELS_OK	1
#define LABELS_ERROR	(-1)
int		 labels_parse(json_t *, struct target *, char *, size_t);
const char	*container_name(json_t *);

/* http.c: one request a connection to a unix socket. */
struct http_req;
typedef void	(*http_done_cb)(struct http_req *, const char *, int,
		    struct evbuffer *, void *);
typedef int	(*http_line_cb)(const char *, size_t, void *);
typedef void	(*http_head_cb)(int, void *);
struct http_req	*http_get(struct event_base *, const char *, const char *,
		    size_t, int, http_done_cb, http_head_cb, http_line_cb,
		    void *);
void		 http_cancel(struct http_req *);

/* ctl.c: the l4ctl program. */
struct ctl {
	const char	*path;		/* l4ctl */
	const char	*socket;	/* -s, or NULL */
};
int		 ctl_run(const struct ctl *, const char *const *, char **,
		    size_t *, char *, size_t);
json_t		*ctl_summary(const struct ctl *, char *, size_t);
json_t		*summary_backend(json_t *, const char *);
json_t		*backend_server(json_t *, const char *);

#endif /* L4D_DOCKER_H */
