/*
 * stall.h -- herdd's own stalls: a watch on its loop that notices when
 * herdd itself did not run (stopped by SIGSTOP or a debugger, the machine
 * or VM paused or suspended, a swap storm, a callback that blocked), so
 * that time herdd was away is not held against its workers.
 *
 * Every iteration of the loop (an ev_check, run before any other callback
 * of the iteration) reads CLOCK_MONOTONIC and CLOCK_BOOTTIME; a tick
 * every limit / 8 keeps the loop from sleeping longer than that.  When
 * either clock moved more than limit seconds since the last iteration,
 * herdd was away: the callback is told how long, before anything else
 * of that iteration runs.
 */
#ifndef HERD_STALL_H
#define HERD_STALL_H

struct ev_loop;

/* Watch loop; cb(gap) after each stall longer than limit seconds. */
void	 stall_start(struct ev_loop *loop, double limit,
	    void (*cb)(double gap));
void	 stall_stop(struct ev_loop *loop);

/* Look now (as each iteration does): for a callback that may run after
 * another one that blocked, in the same iteration. */
void	 stall_poll(void);

/* Seconds on CLOCK_MONOTONIC: for intervals that wall-clock steps must
 * not change (the heartbeat's). */
double	 stall_clock(void);

#endif /* HERD_STALL_H */
