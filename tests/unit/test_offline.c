/*
 * test_offline.c -- unit tests of the offline Places backend's answers
 * (TAP).
 *
 * usage: test_offline DATA-FILE
 *
 * Loads the real data set, checks answers against a brute-force scan made
 * with its own reader of the file and against a copy of it in another
 * order, and checks the poles and the antimeridian on data sets of its
 * own.  The loader's checks and the shared image: test_offline_load.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_image.h"
#include "tap.h"

#define EARTH_M		6371008.8
#define NRANDOM		3000

struct brute {
	double		 lat, lng;
	double		 d;
};

static unsigned char	*image;		/* the real file */
static size_t		 imagelen;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
haversine(double lat1, double lng1, double lat2, double lng2)
{
	double	 p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
	double	 dp = p2 - p1, dl = (lng2 - lng1) * M_PI / 180, a;

	a = sin(dp / 2) * sin(dp / 2) +
	    cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	if (a > 1)
		a = 1;
	return 2 * EARTH_M * asin(sqrt(a));
}


/* The results of an answer: status, count, and each one's place. */
static const char *
status(json_object *resp)
{
	json_object	*s;

	if (resp == NULL || !json_object_object_get_ex(resp, "status", &s))
		return "(none)";
	return json_object_get_string(s);
}

static json_object *
results(json_object *resp)
{
	json_object	*r;

	if (resp == NULL || !json_object_object_get_ex(resp, "results", &r) ||
	    !json_object_is_type(r, json_type_array))
		return NULL;
	return r;
}

static size_t
nresults(json_object *resp)
{
	json_object	*r = results(resp);

	return r == NULL ? (size_t)-1 : json_object_array_length(r);
}

static void
location(json_object *resp, size_t i, double *lat, double *lng)
{
	json_object	*r, *g, *l, *v;

	r = json_object_array_get_idx(results(resp), i);
	json_object_object_get_ex(r, "geometry", &g);
	json_object_object_get_ex(g, "location", &l);
	json_object_object_get_ex(l, "lat", &v);
	*lat = json_object_get_double(v);
	json_object_object_get_ex(l, "lng", &v);
	*lng = json_object_get_double(v);
}

static const char *
field(json_object *resp, size_t i, const char *key)
{
	json_object	*r, *v;

	r = json_object_array_get_idx(results(resp), i);
	if (!json_object_object_get_ex(r, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* Within radius, nearest first, bound honoured; 0 when all hold. */
static int
sane(json_object *resp, double lat, double lng, double radius, int max)
{
	double	 plat, plng, d, prev = -1;
	size_t	 i, n = nresults(resp);

	if (n == (size_t)-1 || n > (size_t)max)
		return -1;
	if (strcmp(status(resp), n > 0 ? "OK" : "ZERO_RESULTS") != 0)
		return -1;
	for (i = 0; i < n; i++) {
		location(resp, i, &plat, &plng);
		d = haversine(lat, lng, plat, plng);
		if (d > radius * (1 + 1e-9) + 1e-6 || d < prev - 1e-6)
			return -1;
		prev = d;
	}
	return 0;
}

static int
brute_cmp(const void *a, const void *b)
{
	const struct brute	*x = a, *y = b;

	return (x->d > y->d) - (x->d < y->d);
}

/*
 * Compare an answer with a scan of every place of the file: the same
 * number of places (but for ties at the edge of the circle), and the same
 * distances in the same order.
 */
static int
brute_check(const struct brute *all, size_t n, struct brute *tmp,
    json_object *resp, double lat, double lng, double radius, int max)
{
	size_t	 i, in = 0, edge = 0, got, want;
	double	 plat, plng, band;

	band = (radius * (1 + 1e-9) + 1) / EARTH_M * (180 / M_PI);
	for (i = 0; i < n; i++) {
		/* Nothing further in latitude alone can be in range. */
		if (fabs(all[i].lat - lat) > band)
			continue;
		tmp[in] = all[i];
		tmp[in].d = haversine(lat, lng, all[i].lat, all[i].lng);
		if (tmp[in].d <= radius * (1 - 1e-9))
			in++;
		else if (tmp[in].d <= radius * (1 + 1e-9) + 1e-6)
			edge++, in++;
	}
	qsort(tmp, in, sizeof(*tmp), brute_cmp);
	got = nresults(resp);
	want = in < (size_t)max ? in : (size_t)max;
	if (got == (size_t)-1 || got > want || got + edge < want)
		return -1;
	for (i = 0; i < got; i++) {
		location(resp, i, &plat, &plng);
		if (fabs(haversine(lat, lng, plat, plng) - tmp[i].d) > 1e-3)
			return -1;
	}
	return 0;
}

static double
frand(double lo, double hi)
{
	return lo + (hi - lo) * (random() / (double)RAND_MAX);
}

static void
test_real(const struct offline_db *db)
{
	json_object	*resp, *attr;
	double		 lat, lng;
	size_t		 i, n;
	int		 found;

	/* Los Angeles, near UCLA. */
	lat = 34.068930;
	lng = -118.445127;
	resp = offline_query(db, lat, lng, 10000, 20);
	n = nresults(resp);
	ok(strcmp(status(resp), "OK") == 0 && n >= 10 && n <= 20,
	    "Los Angeles, 10 km: OK, %zu results", n);
	ok(sane(resp, lat, lng, 10000, 20) == 0,
	    "Los Angeles: within 10 km, nearest first");
	for (found = 0, i = 0; i < nresults(resp); i++)
		if (strcmp(field(resp, i, "name"), "Beverly Hills") == 0 &&
		    strcmp(field(resp, i, "vicinity"),
		    "Los Angeles County, California, US") == 0)
			found = 1;
	ok(found, "Los Angeles: Beverly Hills, Los Angeles County, "
	    "California, US");
	ok(json_object_object_get_ex(resp, "html_attributions", &attr) &&
	    json_object_array_length(attr) == 1 &&
	    strstr(json_object_get_string(json_object_array_get_idx(attr, 0)),
	    "GeoNames") != NULL, "html_attributions credits GeoNames");
	ok(field(resp, 0, "place_id") == NULL &&
	    field(resp, 0, "rating") == NULL &&
	    field(resp, 0, "photos") == NULL &&
	    strstr(json_object_to_json_string_ext(
	    json_object_array_get_idx(results(resp), 0),
	    JSON_C_TO_STRING_PLAIN), "\"types\":[\"locality\",\"political\"]")
	    != NULL, "result shape: no invented fields, locality/political");
	json_object_put(resp);

	for (n = 1; n <= 5; n += 4) {
		resp = offline_query(db, lat, lng, 50000, n);
		ok(nresults(resp) == n && sane(resp, lat, lng, 50000, n) == 0,
		    "bound %zu honoured", n);
		json_object_put(resp);
	}
	resp = offline_query(db, lat, lng, 50000, 1000);
	n = nresults(resp);
	ok(n > 100 && n < 1000 && sane(resp, lat, lng, 50000, 1000) == 0,
	    "max 1000 within 50 km: %zu places", n);
	json_object_put(resp);

	resp = offline_query(db, 0, -30, 50000, 20);
	ok(strcmp(status(resp), "ZERO_RESULTS") == 0 && nresults(resp) == 0,
	    "mid-Atlantic (0, -30): ZERO_RESULTS, empty results");
	json_object_put(resp);

	/* Across the antimeridian, both ways. */
	resp = offline_query(db, 66.32, 179.9, 50000, 20);
	location(resp, 0, &lat, &lng);
	ok(sane(resp, 66.32, 179.9, 50000, 20) == 0 && nresults(resp) >= 1 &&
	    lng < -179, "(66.32, 179.9) finds a place at lng %.5f", lng);
	json_object_put(resp);
	resp = offline_query(db, -16.8, -179.9, 100000, 20);
	location(resp, 0, &lat, &lng);
	ok(sane(resp, -16.8, -179.9, 100000, 20) == 0 &&
	    nresults(resp) >= 1 && lng > 179, "(-16.8, -179.9) finds a "
	    "place at lng %.5f", lng);
	json_object_put(resp);

	resp = offline_query(db, 91, 0, 1000, 20);
	ok(strcmp(status(resp), "INVALID_REQUEST") == 0, "lat 91: %s",
	    status(resp));
	json_object_put(resp);
	resp = offline_query(db, NAN, 0, 1000, 20);
	ok(strcmp(status(resp), "INVALID_REQUEST") == 0, "lat NaN: %s",
	    status(resp));
	json_object_put(resp);
	resp = offline_query(db, 0, 0, -1, 20);
	ok(strcmp(status(resp), "INVALID_REQUEST") == 0, "radius -1: %s",
	    status(resp));
	json_object_put(resp);
	resp = offline_query(db, 34, -118, 10000, 0);
	ok(strcmp(status(resp), "ZERO_RESULTS") == 0, "max 0: %s",
	    status(resp));
	json_object_put(resp);
	resp = offline_query(db, 34.068930, -118.445127 + 720, 10000, 20);
	ok(sane(resp, 34.068930, -118.445127, 10000, 20) == 0 &&
	    nresults(resp) >= 10, "lng + 720 is the same place");
	json_object_put(resp);
}

static void
test_brute(const struct offline_db *db)
{
	struct brute	*all, *tmp;
	json_object	*resp;
	double		 lat, lng, radius;
	size_t		 i, n, bad = 0;
	int		 max;

	n = le32(image + 16);
	if ((all = calloc(n, sizeof(*all))) == NULL ||
	    (tmp = calloc(n, sizeof(*tmp))) == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		all[i].lat = (int32_t)le32(image + HDRSZ + i * RECSZ) / 1e5;
		all[i].lng = (int32_t)le32(image + HDRSZ + i * RECSZ + 4) / 1e5;
	}
	srandom(3);
	for (i = 0; i < NRANDOM; i++) {
		if (i % 2 == 0) {	/* near a place */
			lat = all[random() % n].lat + frand(-0.3, 0.3);
			lng = all[random() % n].lng + frand(-0.3, 0.3);
			if (lat > 90)
				lat = 90;
			if (lat < -90)
				lat = -90;
		} else {
			lat = asin(frand(-1, 1)) * 180 / M_PI;
			lng = frand(-180, 180);
		}
		if (i % 2 == 0)
			lng = remainder(lng, 360);
		radius = i % 10 == 0 ? frand(0, 500000) : frand(0, 50000);
		max = 1 + random() % 20;
		resp = offline_query(db, lat, lng, radius, max);
		if (sane(resp, lat, lng, radius, max) == -1 ||
		    brute_check(all, n, tmp, resp, lat, lng, radius, max) ==
		    -1) {
			if (bad++ < 5)
				printf("# mismatch at %.6f, %.6f, %.1f m, "
				    "max %d\n", lat, lng, radius, max);
		}
		json_object_put(resp);
	}
	ok(bad == 0, "%d random lookups agree with a scan of every place "
	    "(%zu differ)", NRANDOM, bad);
	free(all);
	free(tmp);
}

/* The same places in reverse order (not grouped by cell) answer alike. */
static void
test_order(const struct offline_db *db)
{
	struct offline_db	*rev;
	json_object		*a, *b;
	unsigned char		*img;
	char			 err[256];
	size_t			 i, n = le32(image + 16), same = 0;
	double			 lat, lng;

	if ((img = malloc(imagelen)) == NULL)
		exit(1);
	memcpy(img, image, imagelen);
	for (i = 0; i < n; i++)
		memcpy(img + HDRSZ + i * RECSZ,
		    image + HDRSZ + (n - 1 - i) * RECSZ, RECSZ);
	rev = offline_parse(img, imagelen, err, sizeof(err));
	free(img);
	ok(rev != NULL, "a reversed copy parses: %s", rev ? "ok" : err);
	if (rev == NULL)
		return;
	srandom(5);
	for (i = 0; i < 200; i++) {
		lat = frand(-60, 70);
		lng = frand(-180, 180);
		a = offline_query(db, lat, lng, 300000, 20);
		b = offline_query(rev, lat, lng, 300000, 20);
		if (strcmp(json_object_to_json_string(a),
		    json_object_to_json_string(b)) == 0)
			same++;
		json_object_put(a);
		json_object_put(b);
	}
	ok(same == 200, "reversed order: %zu of 200 answers identical", same);
	offline_free(rev);
}

static void
test_poles(void)
{
	static const double pts[][2] = {
		{ 89.9, 0 }, { 89.9, 90 }, { 89.9, -170 }, { 89.99, 180 },
		{ 90, 0 }, { -89.9, 45 }, { -90, 0 },
		{ 0, -179.9 }, { 0, 179.95 }, { 0, 180 }, { 0, -180 },
		{ 10, 179.99 }, { 10, -179.99 },
	};
	struct offline_db	*db;
	json_object		*resp;
	unsigned char		*b;
	double			 lat, lng;
	char			 err[256];
	size_t			 len;

	b = mkimage(pts, sizeof(pts) / sizeof(pts[0]), &len);
	db = offline_parse(b, len, err, sizeof(err));
	free(b);
	ok(db != NULL && offline_count(db) == 13, "a data set of 13 places");
	if (db == NULL)
		return;

	resp = offline_query(db, 90, 0, 20000, 20);
	ok(nresults(resp) == 5 && sane(resp, 90, 0, 20000, 20) == 0,
	    "north pole, 20 km: all 5 places around it");
	location(resp, 0, &lat, &lng);
	ok(lat == 90, "north pole: the pole itself first");
	json_object_put(resp);
	resp = offline_query(db, 89.95, 175, 20000, 20);
	ok(nresults(resp) == 5 && sane(resp, 89.95, 175, 20000, 20) == 0,
	    "(89.95, 175), 20 km: the 5 places past the pole");
	json_object_put(resp);
	resp = offline_query(db, -89.95, -135, 20000, 20);
	ok(nresults(resp) == 2 && sane(resp, -89.95, -135, 20000, 20) == 0,
	    "south pole: both places");
	json_object_put(resp);

	resp = offline_query(db, 0, 179.9, 30000, 20);
	ok(nresults(resp) == 4 && sane(resp, 0, 179.9, 30000, 20) == 0,
	    "(0, 179.9), 30 km: 4 places, across the antimeridian");
	location(resp, 3, &lat, &lng);
	ok(lng == -179.9, "(0, 179.9): the place at -179.9 last");
	json_object_put(resp);
	resp = offline_query(db, 0, -179.9, 1000, 20);
	ok(nresults(resp) == 1, "(0, -179.9), 1 km: itself only");
	json_object_put(resp);
	resp = offline_query(db, 0, -180, 10, 20);
	ok(nresults(resp) == 2, "(0, -180): the places at 180 and -180");
	json_object_put(resp);
	resp = offline_query(db, 10, 180, 2500, 20);
	ok(nresults(resp) == 2 && sane(resp, 10, 180, 2500, 20) == 0,
	    "(10, 180): 179.99 and -179.99");
	json_object_put(resp);
	resp = offline_query(db, 0, 0, 2.1e7, 100);
	ok(nresults(resp) == 13, "a radius beyond the antipode: every place");
	json_object_put(resp);
	offline_free(db);
}

int
main(int argc, char *argv[])
{
	struct offline_db	*db;
	char			 err[256];
	double			 t0, t1;

	if (argc != 2) {
		fprintf(stderr, "usage: test_offline DATA-FILE\n");
		return 64;
	}
	image = readfile(argv[1], &imagelen);

	t0 = now();
	db = offline_load(argv[1], err, sizeof(err));
	t1 = now();
	ok(db != NULL, "load %s: %s", argv[1], db != NULL ? "ok" : err);
	if (db == NULL)
		goto done;
	printf("# loaded %zu places in %.1f ms\n", offline_count(db),
	    (t1 - t0) * 1e3);
	ok(offline_count(db) == le32(image + 16), "%zu places",
	    offline_count(db));

	test_real(db);
	test_brute(db);
	test_order(db);
	offline_free(db);
	test_poles();
 done:
	free(image);
	return tap_done();
}
