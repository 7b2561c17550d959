/*
 * bench_offline.c -- benchmark of the offline Places backend: load time,
 * resident memory of the loaded data set, and lookups per second of
 * offline_query plus serialization as herd-node writes it.
 *
 * usage: bench_offline DATA-FILE [LOOKUPS]
 *
 * Half the lookups are near a place of the data set (within about 30 km of
 * one), half anywhere on the globe; radii are uniform in 1..50 km and the
 * bound in 1..20, as WHATSAT allows.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "offline.h"

#define BENCH_RELOADS	10
#define BENCH_LOOKUPS	200000

struct bench_point {
	double	 lat, lng, radius;
	int	 max;
};

static double
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident set size in KiB, from /proc/self/statm; -1 if unknown. */
static long
bench_rss(void)
{
	FILE	*f;
	long	 size, rss;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss == -1 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double
bench_frand(double lo, double hi)
{
	return lo + (hi - lo) * (random() / (double)RAND_MAX);
}

static int
bench_dcmp(const void *a, const void *b)
{
	const double	*x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* Coordinates of the places, read from the file (see tools/mkcities.py). */
static double *
bench_places(const char *path, size_t *n)
{
	FILE		*f;
	unsigned char	 hdr[32], rec[16];
	double		*ll, scale = 1;
	uint32_t	 dec;
	size_t		 i;

	if ((f = fopen(path, "rb")) == NULL || fread(hdr, 1, 32, f) != 32)
		return NULL;
	dec = hdr[12] | hdr[13] << 8;
	while (dec-- > 0)
		scale *= 10;
	*n = hdr[16] | hdr[17] << 8 | hdr[18] << 16 | (size_t)hdr[19] << 24;
	if ((ll = calloc(*n * 2, sizeof(*ll))) == NULL) {
		fclose(f);
		return NULL;
	}
	for (i = 0; i < *n && fread(rec, 1, 16, f) == 16; i++) {
		ll[2 * i] = (int32_t)(rec[0] | rec[1] << 8 | rec[2] << 16 |
		    (uint32_t)rec[3] << 24) / scale;
		ll[2 * i + 1] = (int32_t)(rec[4] | rec[5] << 8 |
		    rec[6] << 16 | (uint32_t)rec[7] << 24) / scale;
	}
	*n = i;
	fclose(f);
	return ll;
}

int
main(int argc, char *argv[])
{
	struct offline_db	*db;
	struct bench_point	*pts;
	struct json_object	*doc, *res;
	double			 t0, t1, first, reload[BENCH_RELOADS], *ll;
	double			 tq, tj;
	size_t			 i, j, n, nll, nres = 0, bytes = 0, zero = 0;
	long			 rss0, rss1;
	char			 err[256];
	const char		*s;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_offline DATA-FILE [LOOKUPS]\n");
		return 64;
	}
	n = argc == 3 ? strtoul(argv[2], NULL, 10) : BENCH_LOOKUPS;
	if (n == 0)
		n = BENCH_LOOKUPS;

	rss0 = bench_rss();
	t0 = bench_now();
	if ((db = offline_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_offline: %s\n", err);
		return 1;
	}
	first = bench_now() - t0;
	rss1 = bench_rss();
	printf("places:            %zu\n", offline_count(db));
	printf("first load:        %.1f ms\n", first * 1e3);
	printf("resident memory:   %.1f MiB added by the load (%.1f MiB "
	    "in all)\n", (rss1 - rss0) / 1024.0, rss1 / 1024.0);
	offline_free(db);

	for (i = 0; i < BENCH_RELOADS; i++) {
		t0 = bench_now();
		db = offline_load(argv[1], err, sizeof(err));
		reload[i] = bench_now() - t0;
		offline_free(db);
	}
	qsort(reload, BENCH_RELOADS, sizeof(reload[0]), bench_dcmp);
	printf("reload:            %.1f ms median of %d (memory warm)\n",
	    reload[BENCH_RELOADS / 2] * 1e3, BENCH_RELOADS);

	if ((ll = bench_places(argv[1], &nll)) == NULL || nll == 0 ||
	    (pts = calloc(n, sizeof(*pts))) == NULL) {
		fprintf(stderr, "bench_offline: cannot read %s\n", argv[1]);
		return 1;
	}
	srandom(1);
	for (i = 0; i < n; i++) {
		if (i % 2 == 0) {
			j = random() % nll;
			pts[i].lat = fmax(-90, fmin(90, ll[2 * j] +
			    bench_frand(-0.2, 0.2)));
			pts[i].lng = ll[2 * j + 1] + bench_frand(-0.2, 0.2);
		} else {
			pts[i].lat = asin(bench_frand(-1, 1)) * 180 / M_PI;
			pts[i].lng = bench_frand(-180, 180);
		}
		pts[i].radius = bench_frand(1000, 50000);
		pts[i].max = 1 + random() % 20;
	}
	free(ll);
	db = offline_load(argv[1], err, sizeof(err));

	/* Queries alone, then queries with serialization. */
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		doc = offline_query(db, pts[i].lat, pts[i].lng, pts[i].radius,
		    pts[i].max);
		json_object_put(doc);
	}
	tq = bench_now() - t0;
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		doc = offline_query(db, pts[i].lat, pts[i].lng, pts[i].radius,
		    pts[i].max);
		s = json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		bytes += strlen(s);
		if (json_object_object_get_ex(doc, "results", &res)) {
			nres += json_object_array_length(res);
			if (json_object_array_length(res) == 0)
				zero++;
		}
		json_object_put(doc);
	}
	t1 = bench_now();
	tj = t1 - t0;
	printf("lookups:           %zu (%.1f results, %.0f bytes each on "
	    "average; %.0f%% none)\n", n, (double)nres / n,
	    (double)bytes / n, 100.0 * zero / n);
	printf("query only:        %.0f lookups/s (%.2f us each)\n", n / tq,
	    tq / n * 1e6);
	printf("query + JSON text: %.0f lookups/s (%.2f us each)\n", n / tj,
	    tj / n * 1e6);
	offline_free(db);
	free(pts);
	return 0;
}
