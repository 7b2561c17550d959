/*
 * test_offline.c -- unit tests of the offline Places backend (TAP).
 *
 * usage: test_offline DATA-FILE
 *
 * Loads the real data set, checks answers against a brute-force scan made
 * with its own reader of the file, checks the poles and the antimeridian on
 * data sets of its own, and feeds the loader truncated and corrupt files.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "offline.h"

#define EARTH_M		6371008.8
#define HDRSZ		32
#define RECSZ		16
#define NRANDOM		3000

struct brute {
	double		 lat, lng;
	double		 d;
};

static int		 ntest, nfail;
static unsigned char	*image;		/* the real file */
static size_t		 imagelen;
static char		 tmpdir[64];

static void
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	ntest++;
	if (!cond)
		nfail++;
	printf("%s %d - ", cond ? "ok" : "not ok", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

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

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static unsigned char *
readfile(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*buf;
	long		 n;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc(n + 1)) == NULL || fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
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

/* A data set image of its own: n places, 5 decimals. */
static unsigned char *
mkimage(const double (*pts)[2], size_t n, size_t *len)
{
	static const char	 pool[] = "credit\0place\0somewhere";
	unsigned char		*b;
	size_t			 i;

	*len = HDRSZ + n * RECSZ + sizeof(pool);
	if ((b = calloc(1, *len)) == NULL)
		exit(1);
	memcpy(b, "HERDPLC\0", 8);
	put32(b + 8, 1);
	put32(b + 12, 5);
	put32(b + 16, n);
	put32(b + 20, sizeof(pool));
	put32(b + 24, 0);
	for (i = 0; i < n; i++) {
		put32(b + HDRSZ + i * RECSZ, (uint32_t)(int32_t)lround(pts[i][0]
		    * 1e5));
		put32(b + HDRSZ + i * RECSZ + 4,
		    (uint32_t)(int32_t)lround(pts[i][1] * 1e5));
		put32(b + HDRSZ + i * RECSZ + 8, 7);
		put32(b + HDRSZ + i * RECSZ + 12, 13);
	}
	memcpy(b + HDRSZ + n * RECSZ, pool, sizeof(pool));
	return b;
}

/* Write len bytes to a file in tmpdir and try to load it. */
static int
load_rejects(const char *what, const unsigned char *buf, size_t len)
{
	struct offline_db	*db;
	char			 path[128], err[256] = "";
	int			 fd, rejected;

	snprintf(path, sizeof(path), "%s/corrupt.dat", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	db = offline_load(path, err, sizeof(err));
	rejected = db == NULL && err[0] != '\0';
	ok(rejected, "rejects %s: %s", what, err);
	offline_free(db);
	unlink(path);
	return rejected;
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

static void
test_corrupt(void)
{
	struct offline_db	*db;
	unsigned char		*b;
	size_t			 cuts[] = { 0, 1, 8, 31, 32, 33, 48, 1000 };
	size_t			 i, off, nplaces, strsize, nok = 0;
	char			 err[256], what[128];

	if ((b = malloc(imagelen + 1)) == NULL)
		exit(1);
	nplaces = le32(image + 16);
	strsize = le32(image + 20);

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(what, sizeof(what), "a file cut at %zu bytes",
		    cuts[i]);
		load_rejects(what, image, cuts[i]);
	}
	load_rejects("a file missing its last byte", image, imagelen - 1);
	memcpy(b, image, imagelen);
	b[imagelen] = 0;
	load_rejects("a byte too many", b, imagelen + 1);

#define CORRUPT(what, stmt) do {					\
	memcpy(b, image, imagelen);					\
	stmt;								\
	load_rejects(what, b, imagelen);				\
} while (0)
	CORRUPT("a bad magic", b[0] = 'X');
	CORRUPT("version 2", put32(b + 8, 2));
	CORRUPT("decimals 8", put32(b + 12, 8));
	CORRUPT("reserved bits", put32(b + 28, 1));
	CORRUPT("0 places", put32(b + 16, 0));
	CORRUPT("one place too many", put32(b + 16, nplaces + 1));
	CORRUPT("0xffffffff places", put32(b + 16, 0xffffffff));
	CORRUPT("a string pool too large", put32(b + 20, strsize + 16));
	CORRUPT("a string pool of 0xffffffff", put32(b + 20, 0xffffffff));
	CORRUPT("an attribution past the pool", put32(b + 24, strsize));
	CORRUPT("a name past the pool", put32(b + HDRSZ + 8, strsize));
	CORRUPT("a vicinity past the pool",
	    put32(b + HDRSZ + 100 * RECSZ + 12, 0xfffffff0));
	CORRUPT("lat 90.00001", put32(b + HDRSZ + 5 * RECSZ, 9000001));
	CORRUPT("lat -2^31", put32(b + HDRSZ + 5 * RECSZ, 0x80000000));
	CORRUPT("lng 180.00001", put32(b + HDRSZ + 7 * RECSZ + 4, 18000001));
	CORRUPT("an unterminated pool", b[imagelen - 1] = 'x');
	CORRUPT("bad UTF-8", b[imagelen - 2] = 0xc3);
	CORRUPT("an overlong NUL", (b[imagelen - 3] = 0xc0,
	    b[imagelen - 2] = 0x80));
	CORRUPT("a surrogate", (b[imagelen - 4] = 0xed,
	    b[imagelen - 3] = 0xa0, b[imagelen - 2] = 0x80));
#undef CORRUPT

	/* A name offset inside a two-byte character (the pool stays UTF-8):
	 * the answer would carry a stray continuation byte. */
	{
		static const double	 pt[1][2] = { { 10, 20 } };
		unsigned char		*m;
		size_t			 mlen;

		m = mkimage(pt, 1, &mlen);
		memcpy(m + HDRSZ + RECSZ + 7, "pl\xc3\xa9" "e", 5);
		db = offline_parse(m, mlen, err, sizeof(err));
		ok(db != NULL, "a place named with an e-acute loads: %s",
		    db != NULL ? "ok" : err);
		offline_free(db);
		put32(m + HDRSZ + 8, 7 + 3);
		load_rejects("a name offset inside a character", m, mlen);
		put32(m + HDRSZ + 8, 7);
		put32(m + HDRSZ + 12, 7 + 3);
		db = offline_parse(m, mlen, err, sizeof(err));
		ok(db == NULL, "parse rejects a vicinity offset inside a "
		    "character: %s", err);
		offline_free(db);
		put32(m + HDRSZ + 12, 13);
		put32(m + 24, 7 + 3);
		load_rejects("an attribution offset inside a character", m,
		    mlen);
		free(m);
	}

	snprintf(what, sizeof(what), "%s/none.dat", tmpdir);
	db = offline_load(what, err, sizeof(err));
	ok(db == NULL && strstr(err, "No such file") != NULL,
	    "rejects a missing file: %s", err);
	db = offline_load(tmpdir, err, sizeof(err));
	ok(db == NULL, "rejects a directory: %s", err);

	/* Random damage: parse must reject it or give a usable data set. */
	srandom(7);
	for (i = 0; i < 40; i++) {
		memcpy(b, image, imagelen);
		off = i < 20 ? (size_t)random() % (HDRSZ + 64 * RECSZ) :
		    (size_t)random() % imagelen;
		b[off] ^= 1 + random() % 255;
		db = offline_parse(b, imagelen, err, sizeof(err));
		if (db != NULL) {
			json_object_put(offline_query(db, 34, -118, 50000,
			    20));
			offline_free(db);
			nok++;
		}
	}
	ok(1, "40 randomly damaged images: no crash (%zu of them still "
	    "load)", nok);
	free(b);
}

/* The same answer from two data sets, at a few places and radii. */
static int
same_answers(const struct offline_db *a, const struct offline_db *b)
{
	static const double q[][3] = { { 34.068930, -118.445127, 10000 },
	    { 48.8566, 2.3522, 50000 }, { -33.87, 151.21, 20000 },
	    { 89.9, 0, 500000 }, { 0, 179.99, 300000 } };
	struct json_object	*ja, *jb;
	size_t			 i;
	int			 same = 1;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		ja = offline_query(a, q[i][0], q[i][1], q[i][2], 20);
		jb = offline_query(b, q[i][0], q[i][1], q[i][2], 20);
		if (ja == NULL || jb == NULL ||
		    strcmp(json_object_to_json_string(ja),
		    json_object_to_json_string(jb)) != 0)
			same = 0;
		json_object_put(ja);
		json_object_put(jb);
	}
	return same;
}

/* A copy of the image on fd in a new memfd, sealable or not; -1. */
static int
copy_image(int fd, unsigned int flags)
{
	char	 buf[65536];
	ssize_t	 n;
	off_t	 off = 0;
	int	 copy;

	if ((copy = memfd_create("test", MFD_CLOEXEC | flags)) == -1)
		return -1;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(copy, buf, (size_t)n) != n) {
			close(copy);
			return -1;
		}
		off += n;
	}
	return copy;
}

/* herdd's shared image (offline_share.c): made, mapped, and refused. */
static void
test_share(const struct offline_db *db, const char *path)
{
	struct offline_db	*m;
	char			 err[256];
	uint64_t		 cells;
	uint32_t		 bad = 0xffffffff;
	int			 fd, copy, seals;

	fd = offline_share(db, path, err, sizeof(err));
	ok(fd >= 0, "share: an image made%s%s", fd < 0 ? ": " : "",
	    fd < 0 ? err : "");
	if (fd < 0)
		return;
	seals = fcntl(fd, F_GET_SEALS);
	ok(seals != -1 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_GROW),
	    "share: sealed against writes and growth");
	m = offline_map(fd, path, err, sizeof(err));
	ok(m != NULL && offline_count(m) == offline_count(db),
	    "share: mapped back, %zu places", m ? offline_count(m) : 0);
	ok(m != NULL && same_answers(db, m),
	    "share: the mapping answers as the loaded data set does");
	offline_free(m);
	m = offline_map(fd, "/elsewhere/cities.dat", err, sizeof(err));
	ok(m == NULL && strstr(err, "not /elsewhere/cities.dat") != NULL,
	    "share: an image of another file is refused: %s", err);

	copy = copy_image(fd, 0);
	m = copy == -1 ? NULL : offline_map(copy, path, err, sizeof(err));
	ok(copy != -1 && m == NULL && strstr(err, "not a sealed") != NULL,
	    "share: an unsealed copy is refused: %s", err);
	if (copy != -1)
		close(copy);

	/* sealed, but a cell points past the places */
	copy = copy_image(fd, MFD_ALLOW_SEALING);
	m = NULL;
	err[0] = '\0';
	/* the header's cells_off: magic, 2 x u32, 3 x u64, places_off */
	if (copy != -1 && pread(copy, &cells, sizeof(cells), 48) ==
	    sizeof(cells) && pwrite(copy, &bad, sizeof(bad),
	    (off_t)cells + 4) == sizeof(bad) && fcntl(copy, F_ADD_SEALS,
	    F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == 0)
		m = offline_map(copy, path, err, sizeof(err));
	ok(copy != -1 && m == NULL && strstr(err, "damaged") != NULL,
	    "share: a damaged image is refused: %s", err);
	if (copy != -1)
		close(copy);
	close(fd);
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_offline.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
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
	test_share(db, argv[1]);
	offline_free(db);
	test_poles();
	test_corrupt();
 done:
	rmdir(tmpdir);
	free(image);
	printf("1..%d\n", ntest);
	return nfail > 0;
}
