/*
 * counters.h -- what a worker counts (notify.h's NOTIFY_C_*): plain
 * integers, bumped where things happen (defined in counters.c), sent to
 * herdd in STATS by status.c.  Counted from the start of the process; herdd
 * adds up the processes of a server.
 */
#ifndef HERD_COUNTERS_H
#define HERD_COUNTERS_H

#include "notify.h"

extern unsigned long long counters[NOTIFY_C_N];
extern unsigned long long counters_hist[NOTIFY_HIST_N];

#define COUNT(c)	(counters[NOTIFY_C_ ## c]++)

/*
 * A Places lookup ended after seconds: NOTIFY_C_PL_OK, _ERROR, _TIMEOUT or
 * _CANCEL (its client went away first).
 */
void	 counters_places(enum notify_ctr status, double seconds);

#endif /* HERD_COUNTERS_H */
