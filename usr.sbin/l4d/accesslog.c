/*
 * The access log file (log.access_file:).  The parent opens it, as
 * root, for appending, and passes a descriptor of it to every relay,
 * which cannot open files in its chroot; SIGUSR1 (logrotate's
 * postrotate) makes the parent open the path again and pass the new
 * descriptor.  A relay writes each line with one write(2) on an
 * O_APPEND descriptor, and swaps descriptors between two lines (it is
 * one thread), so a line is whole in the old file or in the new one.
 * Without a file, lines go where the rest of the log goes.
 *
 * The JSON form of a line is built here too: one object per session.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l4d.h"

#define ACCESS_FILE_MODE	0640

/* parent: the open file, and the one a reload is about to install */
static int	 access_fd = -1;
static int	 access_pending_fd = -1;
static char	 access_path[PATH_MAX];
static char	 access_pending_path[PATH_MAX];

/* relay: where its lines go; -1: the log */
static int	 relay_access_fd = -1;

static int
access_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    ACCESS_FILE_MODE);
}

/* At start: the file of the first configuration, or nothing. */
void
access_init(struct l4d_config *conf)
{
	if (conf->log_access_file[0] == '\0')
		return;
	if ((access_fd = access_open(conf->log_access_file)) == -1)
		fatal("log.access_file %s", conf->log_access_file);
	strlcpy(access_path, conf->log_access_file, sizeof(access_path));
}

/*
 * A reload opens the new configuration's file before anything changes;
 * -1, with the reason on out, if it cannot.
 */
int
access_reload_prepare(struct l4d_config *nc, FILE *out)
{
	access_pending_fd = -1;
	access_pending_path[0] = '\0';
	if (nc->log_access_file[0] == '\0')
		return 0;
	if ((access_pending_fd = access_open(nc->log_access_file)) == -1) {
		fprintf(out, "log.access_file %s: %s\n", nc->log_access_file,
		    strerror(errno));
		return -1;
	}
	strlcpy(access_pending_path, nc->log_access_file,
	    sizeof(access_pending_path));
	return 0;
}

/* The reload is applied: its file replaces the old one. */
void
access_reload_commit(void)
{
	if (access_fd != -1)
		close(access_fd);
	access_fd = access_pending_fd;
	strlcpy(access_path, access_pending_path, sizeof(access_path));
	access_pending_fd = -1;
	access_pending_path[0] = '\0';
}

/* The frame that tells a relay where its lines go. */
int
access_send(struct imsgev *iev)
{
	int	 on = access_fd != -1, fd = -1;

	if (on && (fd = dup(access_fd)) == -1) {
		log_warn("access log: dup");
		return -1;
	}
	return imsgev_compose(iev, IMSG_ACCESS_LOG, 0, fd, &on, sizeof(on));
}

/*
 * SIGUSR1: open the path again (the old file was moved away), and pass
 * the new file to every relay.  If it cannot be opened, the old one
 * stays.
 */
void
access_reopen(void)
{
	struct child	*c;
	int		 fd, i, n;

	if (access_fd == -1) {
		log_info("SIGUSR1: no log.access_file to reopen");
		return;
	}
	if ((fd = access_open(access_path)) == -1) {
		log_warn("SIGUSR1: reopening %s; the old file is kept",
		    access_path);
		return;
	}
	close(access_fd);
	access_fd = fd;
	n = proc_ninstances(PROC_RELAY);
	for (i = 0; i < n; i++)
		if ((c = proc_child(PROC_RELAY, i)) != NULL)
			(void)access_send(&c->iev);
	log_info("SIGUSR1: reopened %s", access_path);
}

/* relay: IMSG_ACCESS_LOG from the parent. */
int
access_receive(struct imsg *imsg)
{
	int	 on;

	if (imsg->datalen != sizeof(on))
		return -1;
	memcpy(&on, imsg->data, sizeof(on));
	if ((on != 0) != (imsg->fd != -1) || (on != 0 && on != 1))
		return -1;
	if (relay_access_fd != -1)
		close(relay_access_fd);
	relay_access_fd = imsg->fd;
	imsg->fd = -1;
	if (relay_access_fd != -1)
		(void)fcntl(relay_access_fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* "2026-01-02T03:04:05.678Z" */
static void
access_time(char *buf, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", sec,
	    (int)(ts.tv_nsec / 1000000) % 1000);
}

static void
access_file_write(const char *line, size_t len)
{
	ssize_t	 n;
	int	 tries = 0;

	/* one write: O_APPEND places it whole at the end */
	while (len > 0 && tries++ < 8) {
		if ((n = write(relay_access_fd, line, len)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("access log write");
			return;
		}
		line += n;
		len -= n;
	}
}

/*
 * One access line, without its newline.  In a file a kv line starts
 * with the time (syslog and stderr carry their own); a JSON line has a
 * "time" member already.
 */
void
access_emit(const char *line, int format)
{
	char	 buf[ACCESS_LINE_MAX + 64], ts[40];
	int	 n;

	if (relay_access_fd == -1) {
		log_access("%s", line);
		return;
	}
	if (format == ACCESS_FORMAT_JSON)
		n = snprintf(buf, sizeof(buf), "%s\n", line);
	else {
		access_time(ts, sizeof(ts));
		n = snprintf(buf, sizeof(buf), "%s %s\n", ts, line);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	access_file_write(buf, n);
}

/*
 * JSON objects: members are appended to a fixed buffer; one that does
 * not fit is left out whole, so the object stays valid.
 */
void
access_json_begin(struct access_json *j)
{
	char	 ts[40];

	j->len = 0;
	j->buf[0] = '\0';
	access_time(ts, sizeof(ts));
	access_json_str(j, "time", ts);
}

static void
json_append(struct access_json *j, const char *s, size_t n)
{
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* A member "key":VALUE, VALUE already JSON. */
static void
json_member(struct access_json *j, const char *key, const char *value)
{
	size_t	 need = strlen(key) + strlen(value) + 4;

	/* the closing brace needs one byte */
	if (j->len + need + 2 > sizeof(j->buf))
		return;
	json_append(j, j->len == 0 ? "{\"" : ",\"", 2);
	json_append(j, key, strlen(key));
	json_append(j, "\":", 2);
	json_append(j, value, strlen(value));
}

/*
 * A JSON string: quotes, backslashes and control characters escaped;
 * bytes above 127 as \u00XX, so that the line is valid whatever the
 * bytes were (certificate subjects are not always UTF-8).
 */
void
access_json_str(struct access_json *j, const char *key, const char *s)
{
	char	 v[ACCESS_LINE_MAX / 2];
	size_t	 o = 0;

	v[o++] = '"';
	for (; *s != '\0' && o + 8 < sizeof(v); s++) {
		unsigned char	 c = *s;

		if (c == '"' || c == '\\') {
			v[o++] = '\\';
			v[o++] = c;
		} else if (c < 0x20 || c >= 0x7f)
			o += snprintf(v + o, sizeof(v) - o, "\\u%04x", c);
		else
			v[o++] = c;
	}
	v[o++] = '"';
	v[o] = '\0';
	json_member(j, key, v);
}

void
access_json_num(struct access_json *j, const char *key,
    unsigned long long n)
{
	char	 v[32];

	snprintf(v, sizeof(v), "%llu", n);
	json_member(j, key, v);
}

void
access_json_bool(struct access_json *j, const char *key, int b)
{
	json_member(j, key, b ? "true" : "false");
}

void
access_json_null(struct access_json *j, const char *key)
{
	json_member(j, key, "null");
}

const char *
access_json_end(struct access_json *j)
{
	if (j->len == 0)
		json_append(j, "{", 1);
	json_append(j, "}", 1);
	return j->buf;
}
