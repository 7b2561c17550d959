/*
 * counters.c -- what a worker counts (see counters.h): the counters
 * themselves, here so that every file that counts depends on this one
 * alone, and status.c only reads them.
 */
#include "counters.h"

unsigned long long	 counters[NOTIFY_C_N];
unsigned long long	 counters_hist[NOTIFY_HIST_N];

void
counters_places(enum notify_ctr status, double seconds)
{
	counters[status]++;
	if (seconds < 0)
		seconds = 0;
	counters[NOTIFY_C_PL_USEC] += (unsigned long long)(seconds * 1e6 + 0.5);
	counters_hist[notify_hist_bucket(seconds)]++;
}
