/*
 * Logging: stderr in the foreground, syslog otherwise.  Every process
 * prefixes its role so that one stream tells who said what.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "l4d.h"

static int		 log_foreground = 1;
static int		 log_level = LOG_LEVEL_INFO;
static const char	*log_proc = "l4d";

static void	 log_vwrite(int, int, const char *, va_list)
		    __attribute__((__format__ (printf, 3, 0)));

void
log_init(int foreground, int level, const char *ident)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_procname(const char *name)
{
	log_proc = name;
}

static void
log_vwrite(int level, int priority, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		fprintf(stderr, "%s: %s\n", log_proc, msg);
		fflush(stderr);
	} else
		syslog(priority, "%s: %s", log_proc, msg);
	errno = saved_errno;
}

static void	 log_vwarn_errno(int, int, const char *, va_list)
		    __attribute__((__format__ (printf, 3, 0)));

static void
log_vwarn_errno(int level, int priority, const char *fmt, va_list ap)
{
	char	 buf[1024];
	int	 saved_errno = errno;

	buf[0] = '\0';
	if (fmt != NULL) {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		strlcat(buf, ": ", sizeof(buf));
	}
	strlcat(buf, strerror(saved_errno), sizeof(buf));
	if (level <= log_level) {
		if (log_foreground) {
			fprintf(stderr, "%s: %s\n", log_proc, buf);
			fflush(stderr);
		} else
			syslog(priority, "%s: %s", log_proc, buf);
	}
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwarn_errno(LOG_LEVEL_ERROR, LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Access lines are written at every level but "error". */
void
log_access(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARNING, LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwarn_errno(LOG_LEVEL_ERROR, LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/* "192.0.2.1:80" or "[2001:db8::1]:80" */
const char *
log_sockaddr(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	default:
		snprintf(buf, len, "-");
		break;
	}
	return buf;
}
