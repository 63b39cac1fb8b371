/*
 * The one portability header: what differs between Linux (glibc +
 * libbsd-overlay), OpenBSD and FreeBSD is settled here, so that daemon
 * code never needs an #ifdef of its own.
 */

#ifndef L4D_COMPAT_H
#define L4D_COMPAT_H

#include <sys/cdefs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifdef __linux__
#define HAVE_SPLICE		1
#define HAVE_ACCEPT4		1
#define HAVE_SO_REUSEPORT_LB	1	/* reuseport spreads accepts */
#else
#define HAVE_SPLICE		0
#define HAVE_ACCEPT4		0
#define HAVE_SO_REUSEPORT_LB	0
#endif

#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK	0
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC	0
#endif

#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC	0
#endif

void	compat_setproctitle_init(int, char **, char **);

/* defer_accept.c: accept(2) once the client has sent something, and
 * connect(2) with the last ACK held back for the bytes that follow */
int	compat_defer_accept(int, int);
int	compat_delay_ack(int);
/* acked_linux.c (TCP_INFO) or acked_none.c (-1, ENOTSUP): the bytes the
 * peer acknowledged, the SYN's one included */
int	compat_tcp_acked(int, uint64_t *);
/* timer_slack.c: timers may wake the process this much late */
int	compat_timer_slack(unsigned long);
/* peer_linux.c (SO_PEERCRED) or peer_bsd.c (getpeereid) */
int	compat_peer_uid(int, uid_t *);
int	compat_peer_in_group(int, gid_t);

#endif /* L4D_COMPAT_H */
