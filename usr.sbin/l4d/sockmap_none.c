/*
 * No sockmap on this system: zero_copy: sockmap is said once and the
 * relays splice (or copy) as zero_copy: true would.  See
 * sockmap_linux.c.
 */

#include <sys/types.h>

#include "l4d.h"

void
sockmap_parent_send(struct imsgev *iev, int instance, pid_t pid)
{
	static int	 said;
	const char	*mode = relay_mode_sockmap(l4d_conf->relay_mode);

	if (mode == NULL || said)
		return;
	log_warnx("zero_copy: %s: no sockmap on this system; the relays "
	    "splice instead", mode);
	said = 1;
}

int
sockmap_receive(struct imsg *imsg)
{
	return -1;
}

int
sockmap_available(void)
{
	return 0;
}

void
sockmap_insert(struct session *s)
{
}

void
sockmap_watch(struct session *s)
{
}

void
sockmap_events(struct session *s, int side, int events)
{
}

int
sockmap_copy(struct session *s, struct flow *f, int from, int to,
    uint8_t *rfrom, uint8_t *rto)
{
	return flow_copy(f, from, to, rfrom, rto);
}

void
sockmap_copied(struct session *s, struct flow *f)
{
}

int
sockmap_eof(struct session *s, struct flow *f)
{
	return 0;
}

void
sockmap_sync(struct session *s)
{
}

void
sockmap_end(struct session *s)
{
}
