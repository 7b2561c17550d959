/*
 * bounds.h -- whether a server takes a report (herd.ini(5) LIMITS,
 * herd-protocol(7) LIMITS): the same judgement for a client's IAMAT, a
 * neighbour's UPDATE, a catch-up and a journal read back, by the report's
 * own time stamp and this server's clock.  Pure.
 */
#ifndef HERD_BOUNDS_H
#define HERD_BOUNDS_H

#include <stddef.h>

#include "conf.h"
#include "htime.h"

enum bounds_verdict {
	BOUNDS_OK = 0,
	BOUNDS_FULL,		/* a new id, and max_clients are stored */
	BOUNDS_SKEW,		/* more than max_clock_skew ahead of now */
	BOUNDS_EXPIRED,		/* older than expire_s */
	BOUNDS_N
};

/*
 * The verdict on a report of time t at now, for an id that is_new (not
 * stored here) while count ids are: a neighbour's (from_peer) may take
 * the table past max_clients by an eighth (what other servers took while
 * this one was filling), a client's not.
 */
enum bounds_verdict bounds_judge(const struct herd_limits *l,
	    const struct htime *t, const struct htime *now, int is_new,
	    size_t count, int from_peer);

/* Seconds since the epoch (ev_now's) as an htime. */
void	 bounds_now(double t, struct htime *now);

/* 1 when a record of time t is forgotten at now (expire_s). */
int	 bounds_expired(const struct herd_limits *l, const struct htime *t,
	    const struct htime *now);

/* The time before which records are forgotten at now (expire_s set). */
void	 bounds_expiry(const struct herd_limits *l, const struct htime *now,
	    struct htime *before);

/*
 * The ids a server stores at most: max_clients for a client's new id, an
 * eighth more for a neighbour's (0: no bound).
 */
long long bounds_room(const struct herd_limits *l, int from_peer);

/* count ids fill the room (bounds_room) for a client's or a neighbour's. */
int	 bounds_full(const struct herd_limits *l, size_t count, int from_peer);

/* "table full", "clock skew", "expired": for logs and messages. */
const char *bounds_why(enum bounds_verdict v);

#endif /* HERD_BOUNDS_H */
