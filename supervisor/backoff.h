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
 * Whose doing was the end of a worker herdd did not ask to go?  wait(2)
 * status; by_herdd: herdd killed it for its own fault (not ready in time,
 * no answer to the heartbeat); by_request: a herdctl kill was sent to it.
 * Returns 1 when it was ended from outside -- killed by SIGKILL, SIGTERM,
 * SIGINT or SIGHUP (an operator, the OOM killer, a kill storm), ended by
 * any signal after herdctl kill, or an exit 0 (it was told to stop) --
 * and 0 when it failed on its own: an exit other than 0, a crash by its
 * own fault (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, or any other
 * signal), or killed by herdd.  Only failures count toward the start
 * limit.  Pure.
 */
int		 backoff_from_outside(int status, int by_herdd,
		    int by_request);

/*
 * 1 when the last burst of the n crash times at[] (oldest first) lie
 * within interval_s: a crash loop to give up on.  burst 0: never.  Pure.
 */
int		 backoff_crash_loop(const double *at, unsigned int n, int burst,
		    int interval_s);

#endif /* HERD_BACKOFF_H */
