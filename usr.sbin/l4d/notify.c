/*
 * Telling a service manager how the daemon is doing, without its
 * library: systemd's notification protocol is a datagram of
 * "KEY=VALUE" lines to the AF_UNIX socket named in $NOTIFY_SOCKET (a
 * path, or an abstract name written with a leading '@').  READY=1 when
 * every child has its configuration (the listeners are bound before
 * the children start), RELOADING=1 when a reload begins, READY=1 again
 * when every child has the new generation.  Elsewhere nothing is sent.
 *
 * Without -d the process started from a shell or an rc script is told
 * the same way, through a pipe: it returns once the daemon runs.
 *
 * And the pid file of -p, for rc scripts.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l4d.h"

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;
static int			 notify_readied;	/* READY=1 sent */
static int			 notify_reload;		/* RELOADING=1 sent */
static char			 pidfile_path[PATH_MAX];
static int			 notify_detach_fd = -1;

#define DETACH_WAIT_SEC		30

/* Before the children start: they must not see the variable. */
void
notify_init(void)
{
	const char	*path;
	size_t		 len;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL)
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(notify_sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket path; ignored",
		    path);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract name */
	notify_len = offsetof(struct sockaddr_un, sun_path) + len;
	unsetenv("NOTIFY_SOCKET");
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		log_warn("NOTIFY_SOCKET: socket");
}

void
notify_send(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];
	int	 n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (sendto(notify_fd, msg, n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sun, notify_len) == -1)
		log_warn("NOTIFY_SOCKET: sendto");
}

/*
 * Without -d: the process that was started waits until the daemon
 * runs (every child has its configuration) and exits 0, or 1 if the
 * daemon exited first (why is in the log); after DETACH_WAIT_SEC it
 * returns anyway.  The daemon goes on in a session of its own, in /,
 * with /dev/null for standard input, output and error.
 */
void
notify_detach(void)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	char		 c;
	int		 p[2], fd, rv;

	if (pipe(p) == -1)
		fatal("pipe");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(p[1]);
		pfd.fd = p[0];
		pfd.events = POLLIN;
		while ((rv = poll(&pfd, 1, DETACH_WAIT_SEC * 1000)) == -1 &&
		    errno == EINTR)
			;
		if (rv == 0) {
			fprintf(stderr, "l4d: still starting after %d s; see "
			    "the system log\n", DETACH_WAIT_SEC);
			_exit(0);
		}
		while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
			;
		if (n == 1)
			_exit(0);
		fprintf(stderr, "l4d: the daemon exited while starting; see "
		    "the system log\n");
		_exit(1);
	}
	close(p[0]);
	if (fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		fatal("dup2");
	if (fd > STDERR_FILENO)
		close(fd);
	notify_detach_fd = p[1];
}

/* Every child runs the current generation. */
void
notify_ready(void)
{
	if (notify_detach_fd != -1) {
		(void)write(notify_detach_fd, "1", 1);
		close(notify_detach_fd);
		notify_detach_fd = -1;
	}
	if (notify_readied && !notify_reload)
		return;
	notify_readied = 1;
	notify_reload = 0;
	notify_send("READY=1\nSTATUS=generation %u, %u listeners\n"
	    "MAINPID=%ld\n", l4d_conf->generation, l4d_conf->nlisteners,
	    (long)getpid());
}

/* A reload begins; READY=1 follows when it is over, applied or not. */
void
notify_reloading(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_reload = 1;
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\n",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}

/* -p FILE: the parent's pid, once it has detached. */
void
pid_file_write(const char *path)
{
	char	 buf[32];
	int	 fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		fatal("pid file %s", path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, n) != n)
		fatal("pid file %s", path);
	close(fd);
	strlcpy(pidfile_path, path, sizeof(pidfile_path));
}

void
pid_file_remove(void)
{
	if (pidfile_path[0] != '\0')
		(void)unlink(pidfile_path);
}
