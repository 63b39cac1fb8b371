/*
 * A small HTTP/1.1 client for Docker's API on its unix socket: one GET
 * a connection, the body read whole (bounded) or line by line as it
 * streams (each line bounded), chunked or not.
 *
 * libevent 2.1's evhttp cannot be given a unix socket: it closes the
 * descriptor it is handed and connects again by host name.  So the
 * bytes go through a bufferevent and this file reads the response's
 * framing; the JSON is jansson's.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "l4d.h"
#include "l4d-docker.h"

enum http_state {
	ST_STATUS,
	ST_HEADERS,
	ST_BODY_LEN,
	ST_BODY_EOF,
	ST_CHUNK_SIZE,
	ST_CHUNK_DATA,
	ST_CHUNK_END,
	ST_TRAILER,
	ST_DONE,
};

struct http_req {
	struct bufferevent	*bev;
	enum http_state		 state;
	int			 status;
	int			 nheaders;
	int			 chunked;
	int			 has_length;
	size_t			 left;		/* of the body or chunk */
	size_t			 max;		/* body, or one line */
	struct evbuffer		*body;		/* whole body, or a line */
	int			 stream;	/* lines as they come */
	http_done_cb		 done;
	http_head_cb		 head;
	http_line_cb		 line;
	void			*arg;
};

static void	 http_finish(struct http_req *, const char *);

static void
http_free(struct http_req *r)
{
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r);
}

void
http_cancel(struct http_req *r)
{
	if (r != NULL)
		http_free(r);
}

/* The callback may start another request, never free this one. */
static void
http_finish(struct http_req *r, const char *error)
{
	r->state = ST_DONE;
	bufferevent_disable(r->bev, EV_READ | EV_WRITE);
	r->done(r, error, r->status, r->body, r->arg);
	http_free(r);
}

/* Complete lines to the reader; -2 if it says stop. */
static int
http_lines(struct http_req *r)
{
	char	*line;
	size_t	 len;

	while ((line = evbuffer_readln(r->body, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0 && r->line(line, len, r->arg) == -1) {
			free(line);
			return -2;
		}
		free(line);
	}
	return 0;
}

/*
 * n body bytes, after the chunked framing: to the body (bounded), or
 * to the reader line by line (each line bounded, however many lines
 * one chunk holds).
 */
static int
http_deliver(struct http_req *r, struct evbuffer *in, size_t n)
{
	size_t	 have, take;

	while (n > 0) {
		have = evbuffer_get_length(r->body);
		if (have >= r->max)
			return -1;
		take = n < r->max - have ? n : r->max - have;
		if (evbuffer_remove_buffer(in, r->body, take) != (int)take)
			return -1;
		n -= take;
		if (!r->stream) {
			if (n > 0)
				return -1;
			break;
		}
		if (http_lines(r) == -2)
			return -2;
	}
	return 0;
}

static int
parse_status(struct http_req *r, const char *line)
{
	const char	*errstr;
	char		 code[4];

	if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] == '\0' ||
	    line[8] != ' ' || strlen(line) < 12)
		return -1;
	memcpy(code, line + 9, 3);
	code[3] = '\0';
	r->status = (int)strtonum(code, 100, 599, &errstr);
	if (errstr != NULL || (line[12] != ' ' && line[12] != '\0'))
		return -1;
	return 0;
}

static int
parse_header(struct http_req *r, char *line)
{
	const char	*errstr;
	char		*v;

	if (++r->nheaders > DD_HDR_MAX || (v = strchr(line, ':')) == NULL)
		return -1;
	*v++ = '\0';
	v += strspn(v, " \t");
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return -1;
		r->chunked = 1;
	} else if (strcasecmp(line, "Content-Length") == 0) {
		r->left = (size_t)strtonum(v, 0, r->stream ? LLONG_MAX :
		    (long long)r->max, &errstr);
		if (errstr != NULL)
			return -1;
		r->has_length = 1;
	}
	return 0;
}

static int
parse_chunk_size(struct http_req *r, char *line)
{
	char		*end;
	unsigned long	 n;

	line[strcspn(line, "; \t")] = '\0';
	if (line[0] == '\0' || strlen(line) > 8)
		return -1;
	errno = 0;
	n = strtoul(line, &end, 16);
	if (*end != '\0' || errno != 0)
		return -1;
	r->left = n;
	return 0;
}

/* One step of the response; 1: go on, 0: need more bytes, -1: error. */
static int
http_step(struct http_req *r, struct evbuffer *in, const char **error)
{
	char	*line = NULL;
	size_t	 len, n;
	int	 rv = 1;

	switch (r->state) {
	case ST_STATUS:
	case ST_HEADERS:
	case ST_CHUNK_SIZE:
	case ST_CHUNK_END:
	case ST_TRAILER:
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			/* a line at the bound, and its CR, may wait for LF */
			if (evbuffer_get_length(in) > DD_HDR_LINE_MAX + 1) {
				*error = "line too long";
				return -1;
			}
			return 0;
		}
		if (len > DD_HDR_LINE_MAX) {
			*error = "line too long";
			rv = -1;
		}
		break;
	default:
		break;
	}
	if (rv == -1)
		goto out;
	switch (r->state) {
	case ST_STATUS:
		if (parse_status(r, line) == -1) {
			*error = "bad status line";
			rv = -1;
		} else
			r->state = ST_HEADERS;
		break;
	case ST_HEADERS:
		if (len > 0) {
			if (parse_header(r, line) == -1) {
				*error = "bad or too many headers";
				rv = -1;
			}
			break;
		}
		if (r->head != NULL)
			r->head(r->status, r->arg);
		if (r->chunked)
			r->state = ST_CHUNK_SIZE;
		else if (r->has_length)
			r->state = ST_BODY_LEN;
		else
			r->state = ST_BODY_EOF;
		if (r->state == ST_BODY_LEN && r->left == 0)
			r->state = ST_DONE;
		break;
	case ST_BODY_LEN:
	case ST_CHUNK_DATA:
	case ST_BODY_EOF:
		if ((n = evbuffer_get_length(in)) == 0)
			return 0;
		if (r->state != ST_BODY_EOF && n > r->left)
			n = r->left;
		switch (http_deliver(r, in, n)) {
		case -1:
			*error = r->stream ? "line too long" : "body too large";
			return -1;
		case -2:
			*error = "stopped by the reader";
			return -1;
		}
		if (r->state == ST_BODY_EOF)
			return 0;
		r->left -= n;
		if (r->left == 0)
			r->state = r->state == ST_BODY_LEN ? ST_DONE :
			    ST_CHUNK_END;
		break;
	case ST_CHUNK_SIZE:
		if (parse_chunk_size(r, line) == -1) {
			*error = "bad chunk size";
			rv = -1;
		} else
			r->state = r->left == 0 ? ST_TRAILER : ST_CHUNK_DATA;
		break;
	case ST_CHUNK_END:
		if (len != 0) {
			*error = "bad chunk end";
			rv = -1;
		} else
			r->state = ST_CHUNK_SIZE;
		break;
	case ST_TRAILER:
		if (len == 0)
			r->state = ST_DONE;
		else if (++r->nheaders > DD_HDR_MAX) {
			*error = "too many trailers";
			rv = -1;
		}
		break;
	case ST_DONE:
		return 0;
	}
 out:
	free(line);
	return rv;
}

/* What has arrived; 1 if the request is over (and freed). */
static int
http_process(struct http_req *r)
{
	struct evbuffer	*in = bufferevent_get_input(r->bev);
	const char	*error = NULL;
	int		 rv, n;

	/* bounded: each step consumes bytes or changes state */
	for (n = 0; n < 100000; n++) {
		if ((rv = http_step(r, in, &error)) == -1) {
			http_finish(r, error);
			return 1;
		}
		if (r->state == ST_DONE) {
			http_finish(r, NULL);
			return 1;
		}
		if (rv == 0)
			return 0;
	}
	return 0;
}

static void
http_read(struct bufferevent *bev, void *arg)
{
	http_process(arg);
}

static void
http_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_req	*r = arg;
	char		 buf[128];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		if (http_process(r))
			return;
		if (r->state == ST_BODY_EOF)
			http_finish(r, NULL);
		else
			http_finish(r, "connection closed");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		http_finish(r, "timed out");
		return;
	}
	snprintf(buf, sizeof(buf), "%s", strerror(EVUTIL_SOCKET_ERROR()));
	http_finish(r, buf);
}

/*
 * GET path on the unix socket sock.  max bounds the body (or, with
 * stream, one line, which goes to line as it arrives); timeout in
 * seconds, 0 for none (a stream of events may be quiet for ever).
 * done is called once, unless http_cancel() is called first; NULL if
 * the request could not even start.
 */
struct http_req *
http_get(struct event_base *base, const char *sock, const char *path,
    size_t max, int timeout, http_done_cb done, http_head_cb head,
    http_line_cb line, void *arg)
{
	struct http_req		*r;
	struct sockaddr_un	 sun;
	struct timeval		 tv;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sock, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->max = max;
	r->stream = line != NULL;
	r->done = done;
	r->head = head;
	r->line = line;
	r->arg = arg;
	/* close-on-exec: l4ctl, run meanwhile, must not get Docker's socket */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	if ((r->body = evbuffer_new()) == NULL ||
	    (r->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		goto fail;
	}
	bufferevent_setcb(r->bev, http_read, NULL, http_event, r);
	bufferevent_setwatermark(r->bev, EV_READ, 0, 256 * 1024);
	if (timeout > 0) {
		tv.tv_sec = timeout;
		tv.tv_usec = 0;
		bufferevent_set_timeouts(r->bev, &tv, &tv);
	}
	if (evbuffer_add_printf(bufferevent_get_output(r->bev),
	    "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: l4d-docker\r\n"
	    "Accept: application/json\r\nConnection: close\r\n\r\n",
	    path) == -1)
		goto fail;
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		goto fail;
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	return r;
 fail:
	http_free(r);
	return NULL;
}
