/*
 * test_recent.c -- the line hashes a server took lately: a ring of
 * RECENT_SEGS tables of RECENT_SEG_S, sized for the rate, a bound.
 */
#include <stdint.h>
#include <stdio.h>

#include "recent.h"
#include "tap.h"

int
main(void)
{
	struct recent	 r = { 0 };
	uint32_t	 i, missing;
	double		 t = 100.0;
	size_t		 cap;

	ok(!recent_has(&r, 1), "an empty set has nothing");
	ok(recent_add(&r, 0xdeadbeef, t) == 0 && recent_has(&r, 0xdeadbeef) &&
	    !recent_has(&r, 0xdeadbeee), "one hash");
	ok(recent_add(&r, 0, t) == 0 && recent_has(&r, 0),
	    "a hash of 0 (the empty slot's mark) is kept too");
	ok(recent_add(&r, 0xdeadbeef, t) == 0 && recent_count(&r) == 2,
	    "a hash added twice in a table is held once");

	/* grows: 100,000 in one table */
	for (i = 1; i <= 100000; i++)
		(void)recent_add(&r, i * 2654435761u, t + 0.01);
	missing = 0;
	for (i = 1; i <= 100000; i++)
		missing += !recent_has(&r, i * 2654435761u);
	cap = r.seg[r.cur].cap;
	ok(missing == 0 && cap >= 2 * r.seg[r.cur].n,
	    "100,000 hashes held (%zu slots, at most half full)", cap);

	/* the next table: sized for the last one's rate; the older known */
	ok(recent_add(&r, 7, t + RECENT_SEG_S) == 0 &&
	    recent_has(&r, 0xdeadbeef) && recent_has(&r, 7),
	    "in the next table, the older lines are still known");
	ok(r.seg[r.cur].cap >= 2 * 100002,
	    "the new table is sized for the last one's rate (%zu slots)",
	    r.seg[r.cur].cap);

	/* known for RECENT_KEEP_S at least, forgotten after a whole ring */
	ok(recent_add(&r, 8, t + RECENT_KEEP_S - 0.001) == 0 &&
	    recent_has(&r, 0xdeadbeef) && recent_has(&r, 7),
	    "known for RECENT_KEEP_S (%.3f s)", RECENT_KEEP_S);
	ok(recent_add(&r, 9, t + RECENT_KEEP_S + RECENT_SEG_S) == 0 &&
	    !recent_has(&r, 0xdeadbeef) && recent_has(&r, 7) &&
	    recent_has(&r, 8) && recent_has(&r, 9),
	    "a ring later, forgotten; the later ones kept");
	for (i = 0; i < 100; i++)	/* each table turned once */
		(void)recent_add(&r, 50000 + i, t + 10 + i * RECENT_SEG_S);
	ok(!recent_has(&r, 8) && recent_has(&r, 50099) &&
	    r.seg[r.cur].cap == RECENT_MIN_CAP,
	    "at a slow rate, small tables again (%zu slots)", r.seg[r.cur].cap);
	ok(recent_add(&r, 11, t + 1000) == 0 && !recent_has(&r, 50099) &&
	    recent_has(&r, 11) && recent_count(&r) == 1,
	    "after a long quiet time, only the new line");

	/* the bound: past RECENT_SEG_MAX lines, the next table starts */
	for (i = 0; i <= 3 * RECENT_SEG_MAX; i++)
		(void)recent_add(&r, i + 1000, t + 1001);
	missing = 0;
	for (i = 0; i <= 3 * RECENT_SEG_MAX; i++)
		missing += !recent_has(&r, i + 1000);
	ok(missing == 0 && r.seg[r.cur].n <= RECENT_SEG_MAX &&
	    r.seg[r.cur].cap <= 2 * RECENT_SEG_MAX, "at most RECENT_SEG_MAX "
	    "lines a table, the lines of a burst all kept (%zu in all)",
	    recent_count(&r));
	for (i = 0; i <= RECENT_SEGS * RECENT_SEG_MAX; i++)
		(void)recent_add(&r, i + 5000000, t + 1002);
	ok(recent_count(&r) <= RECENT_SEGS * RECENT_SEG_MAX &&
	    !recent_has(&r, 11) && recent_has(&r, RECENT_SEGS *
	    RECENT_SEG_MAX + 5000000), "bounded: the oldest go first "
	    "(%zu lines)", recent_count(&r));
	recent_free(&r);
	ok(!recent_has(&r, 11) && r.seg[0].cap == 0, "freed");
	return tap_done();
}
