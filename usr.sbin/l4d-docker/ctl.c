/*
 * Talking to l4d: l4d-docker runs l4ctl, so that l4d keeps one control
 * protocol and one place that checks its commands.  Every run is
 * bounded: an alarm kills an l4ctl that takes too long, and its output
 * is read up to a limit.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l4d.h"
#include "l4d-docker.h"

#define CTL_ARGV_MAX	16

static int
read_some(int fd, char **buf, size_t *len, size_t *cap, size_t max)
{
	char	*nb;
	ssize_t	 n;

	if (*len == *cap) {
		if (*cap >= max)
			return -1;
		*cap = *cap == 0 ? 4096 : *cap * 2;
		if (*cap > max)
			*cap = max;
		if ((nb = realloc(*buf, *cap + 1)) == NULL)
			return -1;
		*buf = nb;
	}
	if ((n = read(fd, *buf + *len, *cap - *len)) == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	*len += n;
	return 1;
}

static void
child(const struct ctl *ctl, const char *const *args, int out, int errfd)
{
	const char	*argv[CTL_ARGV_MAX + 4];
	int		 i = 0, j;

	argv[i++] = ctl->path;
	if (ctl->socket != NULL) {
		argv[i++] = "-s";
		argv[i++] = ctl->socket;
	}
	for (j = 0; args[j] != NULL && j < CTL_ARGV_MAX; j++)
		argv[i++] = args[j];
	argv[i] = NULL;
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(errfd, STDERR_FILENO) == -1)
		_exit(127);
	if (out != STDOUT_FILENO && out != STDERR_FILENO)
		close(out);
	if (errfd != STDOUT_FILENO && errfd != STDERR_FILENO)
		close(errfd);
	closefrom(STDERR_FILENO + 1);
	signal(SIGALRM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* an alarm survives execve: l4ctl cannot hang l4d-docker */
	alarm(DD_CTL_TIMEOUT_SEC);
	execv(ctl->path, (char *const *)argv);
	dprintf(STDERR_FILENO, "%s: %s\n", ctl->path, strerror(errno));
	_exit(127);
}

/* The last line of what l4ctl said on stderr, for a log line. */
static void
last_line(const char *s, size_t len, char *msg, size_t msglen)
{
	size_t	 end, start, n;

	end = len;
	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
		end--;
	for (start = end; start > 0 && s[start - 1] != '\n'; start--)
		;
	n = end - start;
	if (n >= msglen)
		n = msglen - 1;
	memcpy(msg, s + start, n);
	msg[n] = '\0';
}

/*
 * Run l4ctl with args; its stdout in *out (NUL-terminated, if out is
 * not NULL).  0 if it exited 0; -1 and msg otherwise.
 */
int
ctl_run(const struct ctl *ctl, const char *const *args, char **out,
    size_t *outlen, char *msg, size_t msglen)
{
	struct pollfd	 pfd[2];
	char		*ob = NULL, *eb = NULL;
	size_t		 olen = 0, ocap = 0, elen = 0, ecap = 0;
	pid_t		 pid;
	int		 op[2], ep[2], status, n, i, rv = -1;
	time_t		 deadline;

	msg[0] = '\0';
	if (pipe2(op, O_CLOEXEC) == -1)
		goto sysfail;
	if (pipe2(ep, O_CLOEXEC) == -1) {
		close(op[0]);
		close(op[1]);
		goto sysfail;
	}
	if ((pid = fork()) == -1) {
		close(op[0]);
		close(op[1]);
		close(ep[0]);
		close(ep[1]);
		goto sysfail;
	}
	if (pid == 0)
		child(ctl, args, op[1], ep[1]);
	close(op[1]);
	close(ep[1]);
	pfd[0].fd = op[0];
	pfd[1].fd = ep[0];
	pfd[0].events = pfd[1].events = POLLIN;
	deadline = time(NULL) + DD_CTL_TIMEOUT_SEC + 2;
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if ((n = poll(pfd, 2, 1000)) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2 && n > 0; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = i == 0 ? read_some(pfd[i].fd, &ob, &olen, &ocap,
			    DD_CTL_OUT_MAX) : read_some(pfd[i].fd, &eb, &elen,
			    &ecap, 64 * 1024);
			if (n <= 0) {
				if (n == -1)
					kill(pid, SIGKILL);
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			n = 1;
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rv = 0;
	else if (elen > 0)
		last_line(eb, elen, msg, msglen);
	else if (status != -1 && WIFSIGNALED(status))
		snprintf(msg, msglen, "%s killed by signal %d%s", ctl->path,
		    WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
		    " (timed out)" : "");
	else
		snprintf(msg, msglen, "%s failed", ctl->path);
	if (rv == 0 && out != NULL) {
		if (ob == NULL && (ob = malloc(1)) == NULL) {
			snprintf(msg, msglen, "out of memory");
			rv = -1;
		} else {
			ob[olen] = '\0';
			*out = ob;
			*outlen = olen;
			ob = NULL;
		}
	}
	free(ob);
	free(eb);
	return rv;
 sysfail:
	snprintf(msg, msglen, "cannot run %s: %s", ctl->path,
	    strerror(errno));
	return -1;
}

/* l4ctl -j show summary, parsed; NULL and msg on failure. */
json_t *
ctl_summary(const struct ctl *ctl, char *msg, size_t msglen)
{
	static const char *const args[] = { "-j", "show", "summary", NULL };
	json_error_t	 jerr;
	json_t		*doc;
	char		*out;
	size_t		 len;

	if (ctl_run(ctl, args, &out, &len, msg, msglen) == -1)
		return NULL;
	doc = json_loadb(out, len, JSON_REJECT_DUPLICATES, &jerr);
	free(out);
	if (doc == NULL || !json_is_array(json_object_get(doc,
	    "backends"))) {
		snprintf(msg, msglen, "l4ctl show summary: bad JSON%s%s",
		    doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* The member of an array of objects whose key says value. */
static json_t *
array_find(json_t *array, const char *key, const char *value)
{
	json_t		*o;
	size_t		 i;
	const char	*s;

	json_array_foreach(array, i, o) {
		s = json_string_value(json_object_get(o, key));
		if (s != NULL && strcmp(s, value) == 0)
			return o;
	}
	return NULL;
}

json_t *
summary_backend(json_t *summary, const char *name)
{
	return array_find(json_object_get(summary, "backends"), "name", name);
}

json_t *
backend_server(json_t *be, const char *address)
{
	return array_find(json_object_get(be, "servers"), "address", address);
}
