/*
 * l4ctl: talk to l4d over its control socket.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define ARG_NONE	0
#define ARG_FILE	1	/* optional -f FILE */
#define ARG_SESSION	2	/* one session id */
#define ARG_SERVER	3	/* BACKEND ADDRESS */
#define ARG_SERVER_ADD	4	/* BACKEND ADDRESS [weight N] [backup] */

struct command {
	const char	*words[3];
	uint32_t	 cmd;
	int		 arg;
};

static const struct command commands[] = {
	{ { "show", "summary", NULL }, CTL_CMD_SHOW_SUMMARY, ARG_NONE },
	{ { "show", "sessions", NULL }, CTL_CMD_SHOW_SESSIONS, ARG_NONE },
	{ { "show", "stats", NULL }, CTL_CMD_SHOW_STATS, ARG_NONE },
	{ { "show", "metrics", NULL }, CTL_CMD_SHOW_METRICS, ARG_NONE },
	{ { "reload", NULL, NULL }, CTL_CMD_RELOAD, ARG_FILE },
	{ { "check", NULL, NULL }, CTL_CMD_CHECK, ARG_FILE },
	{ { "kill", NULL, NULL }, CTL_CMD_KILL, ARG_SESSION },
	{ { "log", "verbose", NULL }, CTL_CMD_LOG_VERBOSE, ARG_NONE },
	{ { "log", "brief", NULL }, CTL_CMD_LOG_BRIEF, ARG_NONE },
	{ { "monitor", NULL, NULL }, CTL_CMD_MONITOR, ARG_NONE },
	{ { "server", "disable", NULL }, CTL_CMD_SERVER_DISABLE, ARG_SERVER },
	{ { "server", "enable", NULL }, CTL_CMD_SERVER_ENABLE, ARG_SERVER },
	{ { "server", "add", NULL }, CTL_CMD_SERVER_ADD, ARG_SERVER_ADD },
	{ { "server", "remove", NULL }, CTL_CMD_SERVER_REMOVE, ARG_SERVER },
};

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n"
	    "commands:\n"
	    "\treload [-f file]\n"
	    "\tcheck [-f file]\n"
	    "\tshow summary | sessions | stats | metrics\n"
	    "\tkill session\n"
	    "\tlog verbose | brief\n"
	    "\tmonitor\n"
	    "\tserver disable | enable | remove backend address\n"
	    "\tserver add backend address [weight n] [backup]\n",
	    __progname);
	exit(1);
}

/* Match the command words; *used says how many argv entries they took. */
static const struct command *
lookup(int argc, char **argv, int *used)
{
	size_t	 i;
	int	 j;

	for (i = 0; i < nitems(commands); i++) {
		for (j = 0; j < argc && commands[i].words[j] != NULL; j++)
			if (strcmp(argv[j], commands[i].words[j]) != 0)
				break;
		if (commands[i].words[j] == NULL && j > 0) {
			*used = j;
			return &commands[i];
		}
	}
	return NULL;
}

/* The daemon runs elsewhere: send an absolute path. */
static void
command_arg(const struct command *cmd, int argc, char **argv,
    struct ctl_request *req)
{
	char	 path[PATH_MAX];
	int	 i;

	switch (cmd->arg) {
	case ARG_NONE:
		if (argc != 0)
			usage();
		break;
	case ARG_FILE:
		if (argc == 0)
			break;
		if (argc != 2 || strcmp(argv[0], "-f") != 0)
			usage();
		if (realpath(argv[1], path) == NULL)
			err(1, "%s", argv[1]);
		if (strlcpy(req->arg, path, sizeof(req->arg)) >=
		    sizeof(req->arg))
			errx(1, "%s: path too long", argv[1]);
		break;
	case ARG_SERVER:
		if (argc != 2)
			usage();
		if ((size_t)snprintf(req->arg, sizeof(req->arg), "%s %s",
		    argv[0], argv[1]) >= sizeof(req->arg))
			errx(1, "%s %s: too long", argv[0], argv[1]);
		break;
	case ARG_SERVER_ADD:
		if (argc < 2 || argc > 5)
			usage();
		req->arg[0] = '\0';
		for (i = 0; i < argc; i++)
			if ((i > 0 && strlcat(req->arg, " ", sizeof(req->arg)) >=
			    sizeof(req->arg)) || strlcat(req->arg, argv[i],
			    sizeof(req->arg)) >= sizeof(req->arg))
				errx(1, "server add: too long");
		break;
	case ARG_SESSION:
		if (argc != 1)
			usage();
		if (strlcpy(req->arg, argv[0], sizeof(req->arg)) >=
		    sizeof(req->arg))
			errx(1, "%s: not a session id", argv[0]);
		break;
	}
}

static int
control_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "%s: socket path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s (is l4d running?)", path);
	return fd;
}

/* Print the reply as it streams in; the last frame carries the status. */
static int
read_reply(struct imsgbuf *ibuf)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 status;

	for (;;) {
		if ((n = imsgbuf_read(ibuf)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err(1, "read");
		}
		if (n == 0)
			errx(1, "l4d closed the connection");
		while ((n = imsg_get(ibuf, &imsg)) > 0) {
			switch (imsg.hdr.type) {
			case IMSG_CTL_DATA:
				fwrite(imsg.data, 1, imsg.datalen, stdout);
				break;
			case IMSG_CTL_DONE:
				if (imsg.datalen != sizeof(status))
					errx(1, "malformed reply");
				memcpy(&status, imsg.data, sizeof(status));
				imsg_free(&imsg);
				return status;
			default:
				errx(1, "unexpected reply %u", imsg.hdr.type);
			}
			imsg_free(&imsg);
		}
		if (n == -1)
			errx(1, "malformed reply");
		/* monitor lines must reach a pipe as they happen */
		fflush(stdout);
	}
}

int
main(int argc, char *argv[])
{
	const struct command	*cmd;
	struct ctl_request	 req;
	struct imsgbuf		 ibuf;
	const char		*sock = L4D_SOCKET;
	int			 ch, fd, status, used;

	memset(&req, 0, sizeof(req));
	while ((ch = getopt(argc, argv, "+js:")) != -1) {
		switch (ch) {
		case 'j':
			req.flags |= CTL_FLAG_JSON;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	if ((cmd = lookup(argc, argv, &used)) == NULL) {
		warnx("unknown command");
		usage();
	}
	command_arg(cmd, argc - used, argv + used, &req);
	req.cmd = cmd->cmd;

	fd = control_connect(sock);
	imsgbuf_init(&ibuf, fd);
	if (imsg_compose(&ibuf, IMSG_CTL_REQUEST, 0, getpid(), -1, &req,
	    sizeof(req)) == -1 || imsgbuf_flush(&ibuf) == -1)
		err(1, "send");
	status = read_reply(&ibuf);
	fflush(stdout);
	imsgbuf_clear(&ibuf);
	close(fd);
	return status == 0 ? 0 : 1;
}
