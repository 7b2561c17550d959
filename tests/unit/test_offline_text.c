/*
 * test_offline_text.c -- unit tests of the offline answer written as text
 * (offline_text.c), TAP: byte for byte what json-c prints for
 * offline_query's document with herd-node's flags.
 *
 * usage: test_offline_text DATA-FILE
 *
 * On the real data set: a query at every place (its radius and bound
 * varying), random ones, nearby points that must differ in their order,
 * the invalid and empty ones, more hits than the stack holds, and the same
 * query twice into a reused buffer; the same through the table of recent
 * centres (offline_near.c).  On data sets of its own: every
 * character json-c escapes, in names, vicinities and the attribution, and
 * coordinates of every shape at 0, 5 and 7 decimals.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_image.h"
#include "tap.h"

#define PRINT_FLAGS	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
#define NRANDOM		20000

static char	*text;			/* offline_text's buffer, reused */
static struct offline_frags *frags;	/* or NULL: each answer anew */
static struct offline_near *near;	/* or NULL: each searched anew */
static size_t	 textsize;

/*
 * Does offline_text answer exactly as json-c prints offline_query's
 * answer?  1 if so; else 0, with the first difference on stderr.
 */
static int
same(const struct offline_db *db, double lat, double lng, double radius,
    int max)
{
	json_object	*doc;
	const char	*want, *st;
	ssize_t		 len;
	size_t		 i;
	int		 st_ok = -1, rc, wantok;

	if ((doc = offline_query(db, lat, lng, radius, max)) == NULL)
		return 0;
	want = json_object_to_json_string_ext(doc, PRINT_FLAGS);
	st = json_object_get_string(json_object_object_get(doc, "status"));
	wantok = strcmp(st, "INVALID_REQUEST") != 0;
	len = offline_text(db, frags, near, lat, lng, radius, max, &text,
	    &textsize, &st_ok);
	rc = len > 0 && memmem(text, (size_t)len, "\n\n", 2) == NULL &&
	    text[len - 1] != '\n' &&		/* plain, as offline.h says */
	    (size_t)len == strlen(want) &&
	    memcmp(text, want, (size_t)len) == 0 && text[len] == '\0' &&
	    st_ok == wantok;
	if (!rc) {
		for (i = 0; len >= 0 && i < (size_t)len && text[i] == want[i];
		    i++)
			;
		fprintf(stderr, "# %.7f %.7f %g %d: length %zd, want %zu, "
		    "differ at %zu, ok %d\n# got:  %.80s\n# want: %.80s\n",
		    lat, lng, radius, max, len, strlen(want), i, st_ok,
		    len >= 0 ? text + i : "", want + i);
	}
	json_object_put(doc);
	return rc;
}

static double
frand(double lo, double hi)
{
	return lo + (hi - lo) * (rand() / (RAND_MAX + 1.0));
}

/*
 * The queries of the real data set, answered with frags as it stands (none,
 * kept places, a small arena that is emptied again and again); how names
 * them in the output.
 */
static void
test_queries(const unsigned char *image, const struct offline_db *db,
    const char *how)
{
	char		*first;
	size_t		 i, n = offline_count(db), bad = 0, firstlen;
	ssize_t		 len;
	double		 lat, lng;
	int		 st_ok;

	for (i = 0; i < n; i++) {
		lat = (int32_t)le32(image + HDRSZ + i * RECSZ) / 1e5;
		lng = (int32_t)le32(image + HDRSZ + i * RECSZ + 4) / 1e5;
		if (!same(db, lat, lng, 1000.0 * (1 + i % 50), 1 + i % 20) &&
		    bad++ > 3)
			break;
	}
	ok(bad == 0, "%s: a query at each of the %zu places", how, n);

	srand(21);
	for (i = 0, bad = 0; i < NRANDOM && bad < 4; i++)
		bad += !same(db, frand(-90, 90), frand(-180, 180),
		    frand(0, 3e6), (int)frand(1, 21));
	ok(bad == 0, "%s: random queries", how);

	/* two clients a few metres apart in one cell: each its own order */
	ok(same(db, 34.068930, -118.445127, 10000, 5) &&
	    same(db, 34.068930, -118.445227, 10000, 5) &&
	    same(db, 34.068930, -118.455127, 10000, 5) &&
	    same(db, 34.070000, -118.445127, 3000, 20),
	    "%s: nearby points in one cell", how);

	ok(same(db, 91, 0, 1000, 5) && same(db, 0, NAN, 1000, 5) &&
	    same(db, 0, 0, -1, 5) && same(db, 0, 0, INFINITY, 5),
	    "%s: INVALID_REQUEST", how);
	ok(same(db, 0, -150, 1000, 5) && same(db, 48.85, 2.35, 10000, 0),
	    "%s: ZERO_RESULTS: none in range, and a bound below 1", how);
	ok(same(db, 48.85, 2.35, 500000, 200),
	    "%s: more hits than the stack holds", how);
	ok(same(db, 90, 0, 2.1e7, 3) && same(db, 0, 180, 50000, 20) &&
	    same(db, -89.9, -180, 3e6, 20),
	    "%s: poles, antimeridian, the globe", how);

	/* the same query twice: the same bytes, however the buffer grew */
	len = offline_text(db, frags, near, 40.7128, -74.006, 50000, 20,
	    &text, &textsize, &st_ok);
	firstlen = len >= 0 ? (size_t)len : 0;
	first = strndup(text, firstlen);
	(void)offline_text(db, frags, near, 51.5, -0.12, 1000, 1, &text,
	    &textsize, &st_ok);
	len = offline_text(db, frags, near, 40.7128, -74.006, 50000, 20,
	    &text, &textsize, &st_ok);
	ok(first != NULL && len >= 0 && (size_t)len == firstlen &&
	    memcmp(first, text, firstlen) == 0 && same(db, 40.7128, -74.006,
	    50000, 20), "%s: the same query twice", how);
	free(first);
}

/*
 * The nearest places of recent centres (offline_near.c): questions about
 * the same centres (each noted the first time, kept the second) with every radius and bound within the kept ones are
 * answered from the table, byte for byte as a search answers them; those
 * beyond the bounds, invalid ones and another data set's go past it; a
 * table of one set, taken over at every question, is as exact.
 */
static void
test_near(const unsigned char *image, size_t imagelen,
    const struct offline_db *db)
{
	struct offline_db	*other;
	size_t			 i, k, bad = 0, hits, misses, h2, m2;
	double			 c[64][2];
	char			 err[256];

	srand(7);
	for (i = 0; i < 64; i++) {	/* places, and points between them */
		k = (size_t)rand() % offline_count(db);
		c[i][0] = (int32_t)le32(image + HDRSZ + k * RECSZ) / 1e5 +
		    (i % 2 ? frand(-0.05, 0.05) : 0);
		c[i][1] = (int32_t)le32(image + HDRSZ + k * RECSZ + 4) / 1e5;
	}
	near = offline_near_new(db, 4096, 50000, 20);	/* 1,024 sets */
	ok(near != NULL, "near: a table of 4,096 centres");
	for (k = 0; k < 8000 && bad < 4; k++)
		bad += !same(db, c[k % 64][0], c[k % 64][1],
		    k % 7 == 0 ? 50000 : frand(1, 50000), 1 + (int)(k % 20));
	offline_near_counts(near, &hits, &misses);
	ok(bad == 0 && misses <= 128 && hits >= 8000 - 128,	/* noted once,
								 * then kept */
	    "near: 64 centres asked 8,000 times with radii to 50 km and "
	    "bounds to 20, as searched (%zu from the table, %zu searched)",
	    hits, misses);
	other = offline_parse(image, imagelen, err, sizeof(err));
	ok(other != NULL && same(db, c[0][0], c[0][1], 50001, 5) &&
	    same(db, c[1][0], c[1][1], 10000, 21) &&
	    same(db, 91, 0, 1000, 5) && same(db, 0, NAN, 1000, 5) &&
	    same(db, c[2][0], c[2][1], -1, 5) &&
	    same(db, c[3][0], c[3][1], 1000, 0) &&
	    same(other, c[4][0], c[4][1], 1000, 5), "near: beyond its bounds, "
	    "invalid, and another data set's, as searched");
	offline_near_counts(near, &h2, &m2);
	ok(h2 == hits && m2 == misses, "near: those go past the table");
	offline_free(other);
	offline_near_free(near);

	/* one set of four slots, five centres in turn: each new one takes
	 * the slot of the one asked longest ago, the next to be asked */
	near = offline_near_new(db, 1, 50000, 20);
	for (k = 0, bad = 0; k < 2000 && bad < 4; k++)
		bad += !same(db, c[k % 5][0], c[k % 5][1], frand(1, 50000),
		    1 + (int)(k % 20));
	offline_near_counts(near, &hits, &misses);
	ok(bad == 0 && misses == 2000, "near: four slots taken over in turn "
	    "by five centres, as searched (%zu searched)", misses);
	offline_near_free(near);
	near = NULL;
}

static void
test_real(const unsigned char *image, size_t imagelen)
{
	struct offline_db	*db, *other;
	char			 err[256];
	size_t			 used, resets, small = 2000;

	db = offline_parse(image, imagelen, err, sizeof(err));
	ok(db != NULL, "the real data set loads");
	if (db == NULL)
		return;
	test_queries(image, db, "anew");

	frags = offline_frags_new(db, 8u << 20);
	ok(frags != NULL, "places kept in 8 MiB");
	test_queries(image, db, "kept");
	used = offline_frags_used(frags, &resets);
	ok(used > 0 && used <= (8u << 20), "8 MiB: %zu bytes used, emptied "
	    "%zu times", used, resets);
	offline_frags_free(frags);

	/* a few places' room: emptied over and over, never over its bound */
	frags = offline_frags_new(db, small);
	ok(frags != NULL, "places kept in %zu bytes", small);
	test_queries(image, db, "small");
	used = offline_frags_used(frags, &resets);
	ok(used <= small && resets > 1000, "%zu bytes: %zu used, emptied %zu "
	    "times", small, used, resets);

	/* kept for another data set: not used for this one */
	other = offline_parse(image, imagelen, err, sizeof(err));
	ok(other != NULL && same(other, 34.068930, -118.445127, 10000, 5) &&
	    offline_frags_used(frags, NULL) == used,
	    "another data set's places are not used");
	offline_free(other);
	offline_frags_free(frags);
	frags = NULL;
	test_near(image, imagelen, db);
	offline_free(db);
}

/*
 * A data set of its own: n places at decimals digits, place i named
 * names[i % nn] in vicinity names[(i + 1) % nn], credited to names[0].
 */
static unsigned char *
mkstrings(const int32_t (*pts)[2], size_t n, int decimals,
    const char *const *names, size_t nn, size_t *len)
{
	unsigned char	*b;
	size_t		 i, pool = 0, off[16], o;

	for (i = 0; i < nn; i++) {
		off[i] = pool;
		pool += strlen(names[i]) + 1;
	}
	*len = HDRSZ + n * RECSZ + pool;
	if ((b = calloc(1, *len)) == NULL)
		exit(1);
	memcpy(b, "HERDPLC\0", 8);
	put32(b + 8, 1);
	put32(b + 12, (uint32_t)decimals);
	put32(b + 16, (uint32_t)n);
	put32(b + 20, (uint32_t)pool);
	put32(b + 24, 0);
	for (i = 0; i < n; i++) {
		put32(b + HDRSZ + i * RECSZ, (uint32_t)pts[i][0]);
		put32(b + HDRSZ + i * RECSZ + 4, (uint32_t)pts[i][1]);
		put32(b + HDRSZ + i * RECSZ + 8, (uint32_t)off[i % nn]);
		put32(b + HDRSZ + i * RECSZ + 12, (uint32_t)off[(i + 1) % nn]);
	}
	o = HDRSZ + n * RECSZ;
	for (i = 0; i < nn; i++) {
		memcpy(b + o, names[i], strlen(names[i]) + 1);
		o += strlen(names[i]) + 1;
	}
	return b;
}

static void
test_escapes(void)
{
	static const char *const names[] = {
		"a \"quoted\" <a href=\"x/y\">credit</a> \\ back",
		"tab\there, nl\nthere, cr\r, ff\f, bs\b",
		"\x01\x02\x1f\x7f end",
		"S\xc3\xa3o Paulo / \xe6\x9d\xb1\xe4\xba\xac",
		"",
		"/",
	};
	static const int32_t	 pts5[][2] = {
		{ 0, 0 }, { 1, -1 }, { -100000, 100000 }, { 4500000, 1234500 },
		{ -99999, -18000000 }, { 9000000, 0 }, { -9000000, 17999999 },
		{ 10, -10 }, { 3410001, -11844512 },
	};
	static const int32_t	 pts0[][2] = {
		{ 0, 0 }, { 1, -1 }, { -90, 180 }, { 45, -179 },
	};
	static const int32_t	 pts7[][2] = {
		{ 0, 0 }, { 1, -1 }, { -900000000, 1800000000 },
		{ 123456789, -1000000000 }, { 10000000, 10 },
	};
	struct {
		const int32_t	(*pts)[2];
		size_t		 n;
		int		 decimals;
	} sets[] = {
		{ pts5, sizeof(pts5) / sizeof(pts5[0]), 5 },
		{ pts0, sizeof(pts0) / sizeof(pts0[0]), 0 },
		{ pts7, sizeof(pts7) / sizeof(pts7[0]), 7 },
	};
	struct offline_db	*db;
	unsigned char		*img;
	char			 err[256];
	size_t			 i, len;
	int			 good;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		img = mkstrings(sets[i].pts, sets[i].n, sets[i].decimals,
		    names, sizeof(names) / sizeof(names[0]), &len);
		db = offline_parse(img, len, err, sizeof(err));
		free(img);
		if (db == NULL) {
			ok(0, "data set at %d decimals: %s", sets[i].decimals,
			    err);
			continue;
		}
		good = same(db, 0, 0, 2.1e7, 20) && same(db, 0, 0, 2.1e7, 3) &&
		    same(db, 45, 12, 2.1e7, 1) && same(db, 0, 0, 1, 20);
		/* and kept: each place, and the attribution's opening */
		frags = offline_frags_new(db, 1u << 20);
		good = good && frags != NULL && same(db, 0, 0, 2.1e7, 20) &&
		    same(db, 0, 0, 2.1e7, 20) && same(db, 0, 0, 1, 20) &&
		    same(db, 45, 12, 2.1e7, 1);
		offline_frags_free(frags);
		frags = NULL;
		ok(good, "escapes and coordinates at %d decimals, written and "
		    "kept", sets[i].decimals);
		offline_free(db);
	}
}

int
main(int argc, char *argv[])
{
	unsigned char	*image;
	size_t		 imagelen;

	if (argc != 2) {
		fprintf(stderr, "usage: test_offline_text DATA-FILE\n");
		return 64;
	}
	image = readfile(argv[1], &imagelen);
	test_real(image, imagelen);
	test_escapes();
	free(image);
	free(text);
	return tap_done();
}
