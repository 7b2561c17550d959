/*
 * backoff.h -- when herdd restarts a crashed worker, and when it gives up.
 * Pure functions; unit tested.
 */
#ifndef HERD_BACKOFF_H
#define HERD_BACKOFF_H

/*
 * The delay before restart number crashes (1 = the first crash) of a
 * worker; healthy: it had been ready before this crash.  Pure; unit tested.
 */
long		 backoff_delay_ms(unsigned int crashes, int healthy,
		    int delay_ms, int max_ms);

/*
 * 1 when the last burst of the n crash times at[] (oldest first) lie
 * within interval_s: a crash loop to give up on.  burst 0: never.  Pure.
 */
int		 backoff_crash_loop(const double *at, unsigned int n, int burst,
		    int interval_s);

#endif /* HERD_BACKOFF_H */
