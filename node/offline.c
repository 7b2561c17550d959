/*
 * offline.c -- the embedded offline Places backend: a data set of places
 * (tools/mkcities.py describes the file) in a latitude/longitude grid.
 *
 * The loader trusts nothing in the file: the size must be exactly what the
 * header announces, every string offset must fall inside the string pool,
 * whose strings must be NUL-terminated UTF-8, and every coordinate must be
 * on the globe.  The places are then bucketed into cells of OFFLINE_CELL
 * degrees (a counting sort: one pass to count, one to place), each place
 * carrying its unit vector on the sphere, so that a lookup visits the few
 * cells that can hold places in range and compares chord lengths, with
 * no trigonometry per candidate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "offline.h"

#define OFFLINE_MAGIC		"HERDPLC\0"
#define OFFLINE_VERSION		1
#define OFFLINE_HDRSZ		32
#define OFFLINE_RECSZ		16
#define OFFLINE_DECIMALS_MAX	7	/* 180e7 still fits an int32 */
#define OFFLINE_FILE_MAX	(1024L * 1024 * 1024)

#define OFFLINE_CELLS_PER_DEG	2	/* cells of half a degree */
#define OFFLINE_ROWS		(180 * OFFLINE_CELLS_PER_DEG)
#define OFFLINE_COLS		(360 * OFFLINE_CELLS_PER_DEG)
#define OFFLINE_NCELLS		(OFFLINE_ROWS * OFFLINE_COLS)

#define OFFLINE_EARTH_M		6371008.8	/* mean radius (IUGG) */
#define OFFLINE_SLACK_DEG	1e-6	/* cell ranges: rounding margin */
#define OFFLINE_HEAP_STACK	64	/* hits kept on the stack */

struct offline_place {
	double		 x, y, z;	/* unit vector */
	int32_t		 lat, lng;	/* degrees * 10^decimals */
	uint32_t	 name;		/* offset in strings */
	uint32_t	 vicinity;	/* offset in strings */
};

struct offline_db {
	struct offline_place	*places;	/* grouped by cell */
	uint32_t		*cells;		/* first place of each cell,
						 * OFFLINE_NCELLS + 1 */
	char			*strings;	/* the file's string pool */
	size_t			 nplaces;
	size_t			 strsize;
	uint32_t		 attribution;	/* offset in strings */
	int			 decimals;
	int64_t			 scale;		/* 10^decimals */
};

struct offline_hit {
	double		 d2;		/* squared chord length */
	uint32_t	 place;
};

static void	 offline_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static uint32_t	 offline_le32(const unsigned char *);
static int	 offline_utf8(const unsigned char *, size_t, size_t *);
static uint32_t	 offline_cell(int64_t, int64_t, int64_t);
static int	 offline_hit_less(const struct offline_hit *,
		    const struct offline_hit *);
static void	 offline_heap_push(struct offline_hit *, size_t *, size_t,
		    double, uint32_t);
static void	 offline_heap_down(struct offline_hit *, size_t, size_t);
static int	 offline_hit_cmp(const void *, const void *);
static json_object *offline_coord(const struct offline_db *, int32_t);
static json_object *offline_result(const struct offline_db *,
		    const struct offline_place *);
static json_object *offline_response(const struct offline_db *,
		    const char *);

static void
offline_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint32_t
offline_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * Check that the len bytes at s are well-formed UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF).  0 when they are; -1 with the
 * offset of the first bad byte in *bad.
 */
static int
offline_utf8(const unsigned char *s, size_t len, size_t *bad)
{
	size_t	 i = 0, n, k;
	uint32_t c, min;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			goto fail;
		if (len - i <= n)
			goto fail;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			goto fail;
		i += n + 1;
	}
	return 0;
 fail:
	*bad = i;
	return -1;
}

/* The cell of a place whose coordinates, in units of 1/scale degree, are
 * already known to be on the globe.  The exact integer arithmetic puts a
 * place on a cell edge in the cell north or east of it; lat 90 goes to
 * the last row, lng 180 to the column of -180. */
static uint32_t
offline_cell(int64_t lat, int64_t lng, int64_t scale)
{
	int64_t	 row, col;

	row = (lat + 90 * scale) * OFFLINE_CELLS_PER_DEG / scale;
	if (row >= OFFLINE_ROWS)
		row = OFFLINE_ROWS - 1;
	col = (lng + 180 * scale) * OFFLINE_CELLS_PER_DEG / scale;
	col %= OFFLINE_COLS;
	return (uint32_t)(row * OFFLINE_COLS + col);
}

struct offline_db *
offline_parse(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*p = buf, *rec;
	struct offline_db	*db = NULL;
	struct offline_place	*pl;
	uint32_t		*cellof = NULL, version, reserved, cell;
	uint64_t		 nplaces, strsize, want;
	int64_t			 lat, lng, scale;
	size_t			 i, bad;
	uint32_t		 decimals, name, vic, attribution;
	double			 phi, lambda;

	if (len < OFFLINE_HDRSZ) {
		offline_err(err, errlen, "truncated header: %zu bytes", len);
		return NULL;
	}
	if (memcmp(p, OFFLINE_MAGIC, 8) != 0) {
		offline_err(err, errlen, "not a herd places data set "
		    "(bad magic)");
		return NULL;
	}
	version = offline_le32(p + 8);
	decimals = offline_le32(p + 12);
	nplaces = offline_le32(p + 16);
	strsize = offline_le32(p + 20);
	attribution = offline_le32(p + 24);
	reserved = offline_le32(p + 28);
	if (version != OFFLINE_VERSION) {
		offline_err(err, errlen, "format version %u, expected %d",
		    version, OFFLINE_VERSION);
		return NULL;
	}
	if (decimals > OFFLINE_DECIMALS_MAX || reserved != 0) {
		offline_err(err, errlen, "bad header (decimals %u, "
		    "reserved %u)", decimals, reserved);
		return NULL;
	}
	if (nplaces == 0) {
		offline_err(err, errlen, "no places");
		return NULL;
	}
	want = OFFLINE_HDRSZ + nplaces * OFFLINE_RECSZ + strsize;
	if ((uint64_t)len != want) {
		offline_err(err, errlen, "%s: %zu bytes, the header announces "
		    "%llu (%llu places, %llu bytes of strings)",
		    (uint64_t)len < want ? "truncated" : "trailing bytes", len,
		    (unsigned long long)want, (unsigned long long)nplaces,
		    (unsigned long long)strsize);
		return NULL;
	}
	if (strsize == 0 || p[len - 1] != '\0') {
		offline_err(err, errlen, "string pool not NUL-terminated");
		return NULL;
	}
	if (offline_utf8(p + len - strsize, strsize, &bad) == -1) {
		offline_err(err, errlen, "string pool: bad UTF-8 at offset "
		    "%zu", bad);
		return NULL;
	}
	if (attribution >= strsize) {
		offline_err(err, errlen, "attribution offset %u out of range",
		    attribution);
		return NULL;
	}

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->places = calloc(nplaces, sizeof(*db->places))) == NULL ||
	    (db->cells = calloc(OFFLINE_NCELLS + 1, sizeof(*db->cells))) ==
	    NULL || (db->strings = malloc(strsize)) == NULL ||
	    (cellof = calloc(nplaces, sizeof(*cellof))) == NULL) {
		offline_err(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	db->nplaces = nplaces;
	db->strsize = strsize;
	db->attribution = attribution;
	db->decimals = decimals;
	for (scale = 1; decimals-- > 0; )
		scale *= 10;
	db->scale = scale;
	memcpy(db->strings, p + len - strsize, strsize);

	/* Validate, and count the places of each cell. */
	for (i = 0; i < nplaces; i++) {
		rec = p + OFFLINE_HDRSZ + i * OFFLINE_RECSZ;
		lat = (int32_t)offline_le32(rec);
		lng = (int32_t)offline_le32(rec + 4);
		name = offline_le32(rec + 8);
		vic = offline_le32(rec + 12);
		if (lat < -90 * scale || lat > 90 * scale ||
		    lng < -180 * scale || lng > 180 * scale) {
			offline_err(err, errlen, "place %zu: coordinates "
			    "%lld, %lld off the globe", i, (long long)lat,
			    (long long)lng);
			goto fail;
		}
		if (name >= strsize || vic >= strsize) {
			offline_err(err, errlen, "place %zu: string offset "
			    "out of range", i);
			goto fail;
		}
		cellof[i] = offline_cell(lat, lng, scale);
		db->cells[cellof[i] + 1]++;
	}
	for (i = 0; i < OFFLINE_NCELLS; i++)
		db->cells[i + 1] += db->cells[i];

	/* Place them; cells[c] runs ahead and ends at the next start. */
	for (i = 0; i < nplaces; i++) {
		rec = p + OFFLINE_HDRSZ + i * OFFLINE_RECSZ;
		cell = cellof[i];
		pl = &db->places[db->cells[cell]++];
		pl->lat = (int32_t)offline_le32(rec);
		pl->lng = (int32_t)offline_le32(rec + 4);
		pl->name = offline_le32(rec + 8);
		pl->vicinity = offline_le32(rec + 12);
		phi = (double)pl->lat / scale * (M_PI / 180);
		lambda = (double)pl->lng / scale * (M_PI / 180);
		pl->x = cos(phi) * cos(lambda);
		pl->y = cos(phi) * sin(lambda);
		pl->z = sin(phi);
	}
	memmove(db->cells + 1, db->cells, OFFLINE_NCELLS * sizeof(*db->cells));
	db->cells[0] = 0;
	free(cellof);
	return db;
 fail:
	free(cellof);
	offline_free(db);
	return NULL;
}

struct offline_db *
offline_load(const char *path, char *err, size_t errlen)
{
	struct offline_db	*db;
	struct stat		 st;
	unsigned char		*buf = NULL;
	char			 msg[256];
	size_t			 len, off = 0;
	ssize_t			 n;
	int			 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		offline_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > OFFLINE_FILE_MAX) {
		offline_err(err, errlen, "%s: too large (%lld bytes)", path,
		    (long long)st.st_size);
		goto fail;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			offline_err(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;		/* shrank under us: parse says so */
		off += n;
	}
	close(fd);
	fd = -1;
	if ((db = offline_parse(buf, off, msg, sizeof(msg))) == NULL)
		offline_err(err, errlen, "%s: %s", path, msg);
	free(buf);
	return db;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(buf);
	errno = saved;
	return NULL;
}

void
offline_free(struct offline_db *db)
{
	if (db == NULL)
		return;
	free(db->places);
	free(db->cells);
	free(db->strings);
	free(db);
}

size_t
offline_count(const struct offline_db *db)
{
	return db->nplaces;
}

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

/* A coordinate as a JSON number written with the file's exact digits. */
static json_object *
offline_coord(const struct offline_db *db, int32_t v)
{
	char		 buf[32];
	int64_t		 a = v < 0 ? -(int64_t)v : v;
	int		 len;

	if (db->decimals == 0)
		len = snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else {
		len = snprintf(buf, sizeof(buf), "%s%lld.%0*lld",
		    v < 0 ? "-" : "", (long long)(a / db->scale),
		    db->decimals, (long long)(a % db->scale));
		while (len > 0 && buf[len - 1] == '0')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '.')
			buf[--len] = '\0';
	}
	return json_object_new_double_s((double)v / db->scale, buf);
}

static json_object *
offline_result(const struct offline_db *db, const struct offline_place *pl)
{
	json_object	*res, *geo, *loc, *types;

	res = json_object_new_object();
	geo = json_object_new_object();
	loc = json_object_new_object();
	types = json_object_new_array_ext(2);
	if (res == NULL || geo == NULL || loc == NULL || types == NULL)
		goto fail;
	json_object_object_add(loc, "lat", offline_coord(db, pl->lat));
	json_object_object_add(loc, "lng", offline_coord(db, pl->lng));
	json_object_object_add(geo, "location", loc);
	loc = NULL;
	json_object_object_add(res, "geometry", geo);
	geo = NULL;
	json_object_object_add(res, "name",
	    json_object_new_string(db->strings + pl->name));
	json_object_array_add(types, json_object_new_string("locality"));
	json_object_array_add(types, json_object_new_string("political"));
	json_object_object_add(res, "types", types);
	json_object_object_add(res, "vicinity",
	    json_object_new_string(db->strings + pl->vicinity));
	return res;
 fail:
	json_object_put(res);
	json_object_put(geo);
	json_object_put(loc);
	json_object_put(types);
	return NULL;
}

/* An answer with no results yet. */
static json_object *
offline_response(const struct offline_db *db, const char *status)
{
	json_object	*resp, *attr;

	if ((resp = json_object_new_object()) == NULL)
		return NULL;
	if ((attr = json_object_new_array_ext(1)) == NULL) {
		json_object_put(resp);
		return NULL;
	}
	json_object_array_add(attr,
	    json_object_new_string(db->strings + db->attribution));
	json_object_object_add(resp, "html_attributions", attr);
	json_object_object_add(resp, "results", json_object_new_array());
	json_object_object_add(resp, "status",
	    json_object_new_string(status));
	return resp;
}

struct json_object *
offline_query(const struct offline_db *db, double lat, double lng,
    double radius_m, int max)
{
	struct offline_hit	 stackheap[OFFLINE_HEAP_STACK], *heap;
	const struct offline_place *pl, *end;
	json_object		*resp, *results, *r;
	double			 delta, thr2, phi, lambda, px, py, pz;
	double			 lo, hi, dlng = 0, s, dx, dy, dz, d2;
	size_t			 n = 0, cap, i;
	long			 row, r0, r1, c0, c1, c, col;
	int			 allcols = 0;

	if (!isfinite(lat) || !isfinite(lng) || !isfinite(radius_m) ||
	    lat < -90 || lat > 90 || radius_m < 0)
		return offline_response(db, "INVALID_REQUEST");
	if (max < 1)
		return offline_response(db, "ZERO_RESULTS");
	lng = remainder(lng, 360.0);	/* into [-180, 180] */

	/* The cap: angular radius delta, chord 2 sin(delta / 2). */
	delta = radius_m / OFFLINE_EARTH_M;
	if (delta >= M_PI) {
		delta = M_PI;
		thr2 = 4.0 * (1 + 1e-12);
	} else {
		s = 2 * sin(delta / 2);
		thr2 = s * s;
	}
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

	cap = (size_t)max < db->nplaces ? (size_t)max : db->nplaces;
	if (cap <= OFFLINE_HEAP_STACK)
		heap = stackheap;
	else if ((heap = calloc(cap, sizeof(*heap))) == NULL)
		return NULL;

	for (row = r0; row <= r1; row++) {
		for (c = c0; c <= c1; c++) {
			col = ((c % OFFLINE_COLS) + OFFLINE_COLS) %
			    OFFLINE_COLS;
			i = (size_t)row * OFFLINE_COLS + col;
			pl = db->places + db->cells[i];
			end = db->places + db->cells[i + 1];
			for (; pl < end; pl++) {
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
	if ((resp = offline_response(db, n > 0 ? "OK" : "ZERO_RESULTS")) ==
	    NULL)
		goto done;
	results = json_object_object_get(resp, "results");
	for (i = 0; i < n; i++) {
		if ((r = offline_result(db, &db->places[heap[i].place])) ==
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
