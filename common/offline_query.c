/*
 * offline_query.c -- the places within a circle, nearest first: a lookup
 * in the grid of offline.c (offline_search), answered as offline_json.c
 * builds it (offline_query) or as offline_text.c writes it.
 *
 * A lookup visits the few cells that can hold places in range (all
 * longitudes when the circle holds a pole; across the antimeridian by
 * wrapping the column) and compares chord lengths between unit vectors,
 * with no trigonometry per candidate; the best max hits are kept in a
 * heap.  When each cell's places come in order of latitude (latsorted),
 * only those within the circle's latitudes are looked at: a binary search
 * to the first, a stop past the last (a place's latitude differs from the
 * centre's by no more than its distance).  Pure and reentrant.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_EARTH_M		6371008.8	/* mean radius (IUGG) */
#define OFFLINE_SLACK_DEG	1e-6	/* cell ranges: rounding margin */

static int	 offline_hit_less(const struct offline_hit *,
		    const struct offline_hit *);
static void	 offline_heap_push(struct offline_hit *, size_t *, size_t,
		    double, uint32_t);
static void	 offline_heap_down(struct offline_hit *, size_t, size_t);
static int	 offline_hit_cmp(const void *, const void *);

/* Order of hits: nearer first, then file order, so answers are stable. */
static int
offline_hit_less(const struct offline_hit *a, const struct offline_hit *b)
{
	return a->d2 < b->d2 || (a->d2 == b->d2 && a->place < b->place);
}

/* A max-heap of the best max hits: the worst one on top. */
static void
offline_heap_push(struct offline_hit *heap, size_t *n, size_t max, double d2,
    uint32_t place)
{
	struct offline_hit	 h = { d2, place }, t;
	size_t			 i, parent;

	if (*n == max) {
		if (!offline_hit_less(&h, &heap[0]))
			return;
		heap[0] = h;
		offline_heap_down(heap, *n, 0);
		return;
	}
	i = (*n)++;
	heap[i] = h;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!offline_hit_less(&heap[parent], &heap[i]))
			break;
		t = heap[parent];
		heap[parent] = heap[i];
		heap[i] = t;
		i = parent;
	}
}

static void
offline_heap_down(struct offline_hit *heap, size_t n, size_t i)
{
	struct offline_hit	 t;
	size_t			 big, l, r;

	for (;;) {
		big = i;
		l = 2 * i + 1;
		r = l + 1;
		if (l < n && offline_hit_less(&heap[big], &heap[l]))
			big = l;
		if (r < n && offline_hit_less(&heap[big], &heap[r]))
			big = r;
		if (big == i)
			return;
		t = heap[big];
		heap[big] = heap[i];
		heap[i] = t;
		i = big;
	}
}

static int
offline_hit_cmp(const void *a, const void *b)
{
	if (offline_hit_less(a, b))
		return -1;
	return offline_hit_less(b, a);
}

double
offline_chord2(double radius_m)
{
	double	 delta = radius_m / OFFLINE_EARTH_M, s;

	if (delta >= M_PI)
		return 4.0 * (1 + 1e-12);
	s = 2 * sin(delta / 2);
	return s * s;
}

int
offline_search(const struct offline_db *db, double lat, double lng,
    double radius_m, struct offline_hit *heap, size_t cap)
{
	const struct offline_place *pl, *end;
	double			 delta, thr2, phi, lambda, px, py, pz;
	double			 lo, hi, dlng = 0, s, dx, dy, dz, d2;
	size_t			 n = 0, i, a, b, m;
	long			 row, r0, r1, c0, c1, c, col;
	int64_t			 latlo, lathi;
	int			 allcols = 0;

	if (!isfinite(lat) || !isfinite(lng) || !isfinite(radius_m) ||
	    lat < -90 || lat > 90 || radius_m < 0)
		return -1;
	if (cap < 1)
		return 0;
	lng = remainder(lng, 360.0);	/* into [-180, 180] */

	/* The cap: angular radius delta, chord 2 sin(delta / 2). */
	delta = radius_m / OFFLINE_EARTH_M;
	if (delta >= M_PI)
		delta = M_PI;
	thr2 = offline_chord2(radius_m);
	phi = lat * (M_PI / 180);
	lambda = lng * (M_PI / 180);
	px = cos(phi) * cos(lambda);
	py = cos(phi) * sin(lambda);
	pz = sin(phi);

	/* The cells that can hold it: rows of its latitudes and, unless it
	 * holds a pole, the columns of asin(sin delta / cos phi) around. */
	lo = lat - delta * (180 / M_PI) - OFFLINE_SLACK_DEG;
	hi = lat + delta * (180 / M_PI) + OFFLINE_SLACK_DEG;
	if (lo <= -90 || hi >= 90)
		allcols = 1;
	else {
		s = sin(delta) / cos(phi);
		if (s >= 1)
			allcols = 1;
		else
			dlng = asin(s) * (180 / M_PI) + OFFLINE_SLACK_DEG;
	}
	/* the latitudes in range, as the file writes them (far outside the
	 * range of an int32_t when the circle holds a pole) */
	latlo = (int64_t)floor((lo < -91 ? -91 : lo) * db->scale);
	lathi = (int64_t)ceil((hi > 91 ? 91 : hi) * db->scale);
	if (!db->latsorted) {			/* every place of a cell */
		latlo = INT64_MIN;
		lathi = INT64_MAX;
	}
	r0 = lo <= -90 ? 0 : (long)floor((lo + 90) * OFFLINE_CELLS_PER_DEG);
	r1 = hi >= 90 ? OFFLINE_ROWS - 1 :
	    (long)floor((hi + 90) * OFFLINE_CELLS_PER_DEG);
	if (r1 > OFFLINE_ROWS - 1)
		r1 = OFFLINE_ROWS - 1;
	if (allcols) {
		c0 = 0;
		c1 = OFFLINE_COLS - 1;
	} else {
		c0 = (long)floor((lng - dlng + 180) * OFFLINE_CELLS_PER_DEG);
		c1 = (long)floor((lng + dlng + 180) * OFFLINE_CELLS_PER_DEG);
		if (c1 - c0 + 1 >= OFFLINE_COLS) {
			c0 = 0;
			c1 = OFFLINE_COLS - 1;
		}
	}

	for (row = r0; row <= r1; row++) {
		for (c = c0; c <= c1; c++) {
			col = ((c % OFFLINE_COLS) + OFFLINE_COLS) %
			    OFFLINE_COLS;
			i = (size_t)row * OFFLINE_COLS + col;
			a = db->cells[i];
			b = db->cells[i + 1];
			end = db->places + b;
			while (a < b) {		/* the first lat >= latlo */
				m = a + (b - a) / 2;
				if (db->places[m].lat < latlo)
					a = m + 1;
				else
					b = m;
			}
			pl = db->places + a;
			for (; pl < end && pl->lat <= lathi; pl++) {
				dx = pl->x - px;
				dy = pl->y - py;
				dz = pl->z - pz;
				d2 = dx * dx + dy * dy + dz * dz;
				if (d2 <= thr2)
					offline_heap_push(heap, &n, cap, d2,
					    (uint32_t)(pl - db->places));
			}
		}
	}

	qsort(heap, n, sizeof(*heap), offline_hit_cmp);
	return (int)n;
}

/* The heap's room for a query of at most max: max, or the whole data set. */
size_t
offline_search_cap(const struct offline_db *db, int max)
{
	if (max < 1)
		return 0;
	return (size_t)max < db->nplaces ? (size_t)max : db->nplaces;
}

struct json_object *
offline_query(const struct offline_db *db, double lat, double lng,
    double radius_m, int max)
{
	struct offline_hit	 stackheap[OFFLINE_HEAP_STACK], *heap;
	json_object		*resp, *results, *r;
	size_t			 cap, i;
	int			 n;

	cap = offline_search_cap(db, max);
	if (cap <= OFFLINE_HEAP_STACK)
		heap = stackheap;
	else if ((heap = calloc(cap, sizeof(*heap))) == NULL)
		return NULL;
	n = offline_search(db, lat, lng, radius_m, heap, cap);
	if (n == -1) {
		resp = offline_json_response(db, "INVALID_REQUEST");
		goto done;
	}
	if ((resp = offline_json_response(db, n > 0 ? "OK" : "ZERO_RESULTS")) ==
	    NULL)
		goto done;
	results = json_object_object_get(resp, "results");
	for (i = 0; i < (size_t)n; i++) {
		if ((r = offline_json_result(db, &db->places[heap[i].place])) ==
		    NULL) {
			json_object_put(resp);
			resp = NULL;
			goto done;
		}
		json_object_array_add(results, r);
	}
 done:
	if (heap != stackheap)
		free(heap);
	return resp;
}
