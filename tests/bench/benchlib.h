/*
 * benchlib.h -- what the C load generators share (herdload.c,
 * bench_flap.c): the monotonic clock, and a growing set of latencies with
 * its percentiles.  All static, for programs of one file.
 */
#ifndef HERD_BENCHLIB_H
#define HERD_BENCHLIB_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct bench_lat {
	uint32_t	*us;		/* microseconds, saturated */
	size_t		 n, cap;
};

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Add ns nanoseconds to l; dropped when out of memory. */
static inline void
bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	uint32_t	*nl;
	size_t		 cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 65536;
		if ((nl = realloc(l->us, cap * sizeof(*nl))) == NULL)
			return;
		l->us = nl;
		l->cap = cap;
	}
	ns /= 1000;
	l->us[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static inline int
bench_lat_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Sort l: before bench_lat_pct. */
static inline void
bench_lat_sort(struct bench_lat *l)
{
	qsort(l->us, l->n, sizeof(*l->us), bench_lat_cmp);
}

/* The p-th percentile (nearest rank) of sorted l, in milliseconds. */
static inline double
bench_lat_pct(const struct bench_lat *l, double p)
{
	size_t	 k;

	if (l->n == 0)
		return 0;
	k = (size_t)(p / 100.0 * l->n + 0.5);
	k = k == 0 ? 0 : k - 1;
	if (k >= l->n)
		k = l->n - 1;
	return l->us[k] / 1000.0;
}

#endif /* HERD_BENCHLIB_H */
