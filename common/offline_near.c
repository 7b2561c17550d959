/*
 * offline_near.c -- the nearest places of recent centres (offline.h): a
 * centre asked about again, with any radius and bound within the kept
 * ones, is answered from memory instead of a search.
 *
 * Each slot keeps one centre (its latitude and longitude, exactly as
 * asked) and the at most max places within radius_m of it, in the
 * search's order (nearer first, then file order).  Every place within a
 * smaller circle is nearer than every place outside it, so the places
 * within radius r <= radius_m are a prefix of that list, and its first
 * m <= max of them are offline_search's answer for r and m: the same
 * hits, the same d2 (computed once, by the same code), compared with the
 * same threshold (offline_chord2).  A question outside those bounds, or
 * an invalid one, goes to offline_search as it is.
 *
 * A centre is kept the second time it is asked about: the first time it
 * is only noted (its slot taken, no places), and searched as asked, so
 * that questions about ever new centres cost no more than a search each
 * (keeping costs a search of the largest circle).
 *
 * The table is 4-way set-associative: a centre may be in any of the four
 * slots of its set; a new one takes an empty slot of the set, or else the
 * next in turn (a clock over the whole table).  Memory is fixed at
 * creation; the data set never changes, so nothing kept is stale.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_NEAR_WAYS	4

struct offline_near_slot {
	double			 lat, lng;
	int			 kept;		/* 1 + hits kept; -1 seen
						 * once; 0 unused */
	struct offline_hit	 hits[];	/* max of them */
};

struct offline_near {
	const struct offline_db	*db;
	char			*slots;
	size_t			 nslots;	/* a power of two, >= WAYS */
	unsigned		 clock;		/* the next victim's way */
	size_t			 slotsize;
	double			 radius_m, thr2;
	int			 max;
	size_t			 hits, misses;
};

#define OFFLINE_NEAR_SLOT(nc, i) \
	((struct offline_near_slot *)((nc)->slots + (size_t)(i) * (nc)->slotsize))

static size_t	 offline_near_set(const struct offline_near *, double,
		    double);
static struct offline_near_slot *offline_near_slot(struct offline_near *,
		    double, double, int *);

struct offline_near *
offline_near_new(const struct offline_db *db, size_t slots, double radius_m,
    int max)
{
	struct offline_near	*nc;
	size_t			 n = OFFLINE_NEAR_WAYS;

	if (db == NULL || max < 1 || !isfinite(radius_m) || radius_m < 0 ||
	    slots < 1 || slots > ((size_t)1 << 24))
		return NULL;
	while (n < slots)
		n *= 2;
	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return NULL;
	nc->db = db;
	nc->nslots = n;
	nc->slotsize = sizeof(struct offline_near_slot) +
	    (size_t)max * sizeof(struct offline_hit);
	nc->slotsize = (nc->slotsize + 15) & ~(size_t)15;
	nc->radius_m = radius_m;
	nc->thr2 = offline_chord2(radius_m);
	nc->max = max;
	if ((nc->slots = calloc(n, nc->slotsize)) == NULL) {
		free(nc);
		return NULL;
	}
	return nc;		/* calloc: pages untouched until a slot is used */
}

void
offline_near_free(struct offline_near *nc)
{
	if (nc == NULL)
		return;
	free(nc->slots);
	free(nc);
}

void
offline_near_counts(const struct offline_near *nc, size_t *hits,
    size_t *misses)
{
	*hits = nc != NULL ? nc->hits : 0;
	*misses = nc != NULL ? nc->misses : 0;
}

/*
 * The set of a centre, as the number of its first slot: the bits of its
 * coordinates, mixed as splitmix64 finishes.
 */
static size_t
offline_near_set(const struct offline_near *nc, double lat, double lng)
{
	uint64_t	 a, b, h;

	memcpy(&a, &lat, sizeof(a));
	memcpy(&b, &lng, sizeof(b));
	h = a * 0x9e3779b97f4a7c15ULL ^ b;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (size_t)(h & (nc->nslots - 1) &
	    ~(uint64_t)(OFFLINE_NEAR_WAYS - 1));
}

/* The slot that holds a centre, or the one to take for it (*found 0). */
static struct offline_near_slot *
offline_near_slot(struct offline_near *nc, double lat, double lng,
    int *found)
{
	struct offline_near_slot	*s, *empty = NULL;
	size_t				 i, first;

	first = offline_near_set(nc, lat, lng);
	for (i = 0; i < OFFLINE_NEAR_WAYS; i++) {
		s = OFFLINE_NEAR_SLOT(nc, first + i);
		if (s->kept != 0 && s->lat == lat && s->lng == lng) {
			*found = 1;
			return s;
		}
		if (s->kept == 0 && empty == NULL)
			empty = s;
	}
	*found = 0;
	if (empty != NULL)
		return empty;
	return OFFLINE_NEAR_SLOT(nc, first +
	    (nc->clock++ % OFFLINE_NEAR_WAYS));
}

int
offline_near_search(struct offline_near *nc, const struct offline_db *db,
    double lat, double lng, double radius_m, struct offline_hit *hits,
    size_t cap)
{
	struct offline_near_slot	*s;
	double				 thr2;
	size_t				 i;
	int				 n, found;

	if (nc == NULL || nc->db != db || cap < 1 || cap > (size_t)nc->max ||
	    !isfinite(lat) || !isfinite(lng) || lat < -90 || lat > 90 ||
	    !isfinite(radius_m) || radius_m < 0 || radius_m > nc->radius_m ||
	    (thr2 = offline_chord2(radius_m)) > nc->thr2)
		return offline_search(db, lat, lng, radius_m, hits, cap);
	lat += 0.0;			/* -0.0 as 0.0: the same answers */
	lng += 0.0;
	s = offline_near_slot(nc, lat, lng, &found);
	if (!found) {			/* seen: searched as asked */
		nc->misses++;
		s->lat = lat;
		s->lng = lng;
		s->kept = -1;
		return offline_search(db, lat, lng, radius_m, hits, cap);
	}
	if (s->kept < 0) {		/* asked again: kept from now on */
		nc->misses++;
		if ((n = offline_search(db, lat, lng, nc->radius_m, s->hits,
		    (size_t)nc->max)) < 0) {
			s->kept = 0;
			return offline_search(db, lat, lng, radius_m, hits,
			    cap);
		}
		s->kept = n + 1;
	} else
		nc->hits++;
	n = s->kept - 1;
	for (i = 0; i < (size_t)n && i < cap && s->hits[i].d2 <= thr2; i++)
		hits[i] = s->hits[i];
	return (int)i;
}
