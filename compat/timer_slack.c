/*
 * How late a sleeping process may be woken for a timer, so that the
 * kernel wakes it once for timers that fall close together.  Linux has
 * PR_SET_TIMERSLACK (50 us by default); elsewhere timers keep their
 * own precision.
 */

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "compat.h"

int
compat_timer_slack(unsigned long usec)
{
#ifdef PR_SET_TIMERSLACK
	return prctl(PR_SET_TIMERSLACK, usec * 1000UL, 0, 0, 0);
#else
	(void)usec;
	return 0;
#endif
}
