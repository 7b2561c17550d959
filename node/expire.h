/*
 * expire.h -- forgetting the reports older than expire_s (herd.ini(5)):
 * a sweep of the store, a tenth of its table every 100 ms, so each record
 * goes within a second of its time; each server judges by the record's
 * time stamp and its own clock, and says nothing to the others.  WHATSAT
 * (update_expired) and the journal read back judge at once; compaction
 * leaves what the sweep took out of the journal.
 */
#ifndef HERD_EXPIRE_H
#define HERD_EXPIRE_H

#include <ev.h>

#define EXPIRE_TICK_S	0.1
#define EXPIRE_PARTS	10	/* of the table, one each tick */

/* The sweep, running while expire_s is set (update_limits). */
void	 expire_init(struct ev_loop *loop);
/* The limits changed (SIGHUP): start or stop the sweep. */
void	 expire_again(void);
void	 expire_stop(void);

#endif /* HERD_EXPIRE_H */
