/*
 * test_bounds.c -- whether a server takes a report (node/bounds.c): the
 * clock skew, expiry and the room for new ids, for clients and neighbours.
 */
#include <string.h>

#include "bounds.h"
#include "tap.h"

int
main(void)
{
	struct herd_limits	 l;
	struct htime		 now = { 1800000000, 500000000 }, t;

	memset(&l, 0, sizeof(l));
	l.max_clients = 800;
	l.max_clock_skew = 3600;

	t = now;
	ok(bounds_judge(&l, &t, &now, 1, 0, 0) == BOUNDS_OK, "now: taken");
	t.sec = now.sec + 3600;
	ok(bounds_judge(&l, &t, &now, 1, 0, 0) == BOUNDS_OK,
	    "max_clock_skew ahead: taken");
	t.nsec++;
	ok(bounds_judge(&l, &t, &now, 0, 0, 1) == BOUNDS_SKEW,
	    "a nanosecond more: refused, from a neighbour too, for a known id");
	t.sec = now.sec + 10LL * 365 * 86400;
	ok(bounds_judge(&l, &t, &now, 0, 0, 0) == BOUNDS_SKEW,
	    "ten years ahead: refused");
	l.max_clock_skew = 0;
	ok(bounds_judge(&l, &t, &now, 0, 0, 0) == BOUNDS_OK,
	    "max_clock_skew 0: no bound");

	t.sec = now.sec - 1000000;
	ok(bounds_judge(&l, &t, &now, 0, 0, 0) == BOUNDS_OK &&
	    !bounds_expired(&l, &t, &now), "expire_s 0: kept for ever");
	l.expire_s = 2;
	t.sec = now.sec - 2;
	t.nsec = now.nsec;
	ok(!bounds_expired(&l, &t, &now) &&
	    bounds_judge(&l, &t, &now, 1, 0, 0) == BOUNDS_OK,
	    "exactly expire_s old: kept");
	t.nsec--;
	ok(bounds_expired(&l, &t, &now) &&
	    bounds_judge(&l, &t, &now, 0, 0, 1) == BOUNDS_EXPIRED,
	    "a nanosecond older: forgotten");
	t = now;

	ok(bounds_judge(&l, &t, &now, 1, 799, 0) == BOUNDS_OK &&
	    bounds_judge(&l, &t, &now, 1, 800, 0) == BOUNDS_FULL,
	    "a client's new id: room up to max_clients");
	ok(bounds_judge(&l, &t, &now, 0, 5000, 0) == BOUNDS_OK,
	    "a known id takes updates past it");
	ok(bounds_judge(&l, &t, &now, 1, 899, 1) == BOUNDS_OK &&
	    bounds_judge(&l, &t, &now, 1, 900, 1) == BOUNDS_FULL &&
	    bounds_room(&l, 1) == 900,
	    "a neighbour's: an eighth more");
	ok(bounds_full(&l, 800, 0) && !bounds_full(&l, 800, 1),
	    "full for clients, not yet for neighbours");
	l.max_clients = 0;
	ok(bounds_judge(&l, &t, &now, 1, 1000000000, 0) == BOUNDS_OK &&
	    !bounds_full(&l, 1000000000, 1), "max_clients 0: no bound");
	ok(strcmp(bounds_why(BOUNDS_FULL), "table full (max_clients)") == 0,
	    "why: for the log");
	return tap_done();
}
