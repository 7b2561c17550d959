/*
 * test_recent.c -- the line hashes a server took lately: two generations
 * of RECENT_GEN_S, tables that grow with the rate, a bound.
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

	ok(!recent_has(&r, 1), "an empty set has nothing");
	ok(recent_add(&r, 0xdeadbeef, t) == 0 && recent_has(&r, 0xdeadbeef) &&
	    !recent_has(&r, 0xdeadbeee), "one hash");
	ok(recent_add(&r, 0, t) == 0 && recent_has(&r, 0),
	    "a hash of 0 (the empty slot's mark) is kept too");
	ok(recent_add(&r, 0xdeadbeef, t) == 0 && r.g[0].n == 2,
	    "a hash added twice is held once");

	/* grows: 100,000 in one generation */
	for (i = 1; i <= 100000; i++)
		(void)recent_add(&r, i * 2654435761u, t + 1.0);
	missing = 0;
	for (i = 1; i <= 100000; i++)
		missing += !recent_has(&r, i * 2654435761u);
	ok(missing == 0 && r.g[0].cap >= 2 * r.g[0].n,
	    "100,000 hashes held (%zu slots, at most half full)", r.g[0].cap);

	/* a generation later: still known; two later: forgotten */
	ok(recent_add(&r, 7, t + RECENT_GEN_S) == 0 &&
	    recent_has(&r, 0xdeadbeef) && recent_has(&r, 7),
	    "after one generation, the older lines are still known");
	ok(r.g[0].cap >= 4 * 100002 / 2,
	    "the new generation is sized for the last one's rate (%zu slots)",
	    r.g[0].cap);
	ok(recent_add(&r, 8, t + 2 * RECENT_GEN_S) == 0 &&
	    !recent_has(&r, 0xdeadbeef) && recent_has(&r, 7) &&
	    recent_has(&r, 8), "after two, forgotten; the last one's kept");
	ok(recent_add(&r, 9, t + 5 * RECENT_GEN_S) == 0 &&
	    r.g[0].cap == RECENT_MIN_CAP && recent_has(&r, 8) &&
	    !recent_has(&r, 7), "a quiet time: a small table again");

	/* the bound: past RECENT_MAX in a generation, the older is dropped */
	for (i = 0; i <= RECENT_MAX; i++)
		(void)recent_add(&r, i + 1000, t + 6 * RECENT_GEN_S);
	ok(r.g[0].n <= RECENT_MAX && r.g[1].n <= RECENT_MAX &&
	    r.g[0].cap <= 2 * RECENT_MAX && recent_has(&r, RECENT_MAX + 1000)
	    && !recent_has(&r, 9), "at most RECENT_MAX lines a generation "
	    "(%zu + %zu)", r.g[0].n, r.g[1].n);
	recent_free(&r);
	ok(!recent_has(&r, 8) && r.g[0].cap == 0, "freed");
	return tap_done();
}
