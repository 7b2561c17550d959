/*
 * offline.c -- the embedded offline Places backend: a data set of places
 * (tools/mkcities.py describes the file) in a latitude/longitude grid.
 *
 * The loader trusts nothing in the file: the size must be exactly what the
 * header announces, every string offset must fall inside the string pool,
 * whose strings must be NUL-terminated UTF-8, and every coordinate must be
 * on the globe.  offline_load streams the file (no copy of it is kept);
 * offline_parse reads the same format from memory, for the fuzzer.
 *
 * The index is a grid of half-degree cells: the places are grouped by
 * cell (tools/mkcities.py writes them in that order; another order costs
 * a counting sort), cells[] holds the first place of each cell, and each
 * place carries its unit vector on the sphere, so that a lookup visits the
 * few cells that can hold places in range (all longitudes when the circle
 * holds a pole; across the antimeridian by wrapping the column) and
 * compares chord lengths, with no trigonometry per candidate.
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
#include <unistd.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_MAGIC		"HERDPLC\0"
#define OFFLINE_VERSION		1
#define OFFLINE_HDRSZ		32
#define OFFLINE_RECSZ		16
#define OFFLINE_DECIMALS_MAX	7	/* 180e7 still fits an int32 */
#define OFFLINE_CHUNK		4096	/* places read at a time */

#define OFFLINE_EARTH_M		6371008.8	/* mean radius (IUGG) */
#define OFFLINE_SLACK_DEG	1e-6	/* cell ranges: rounding margin */
#define OFFLINE_HEAP_STACK	64	/* hits kept on the stack */

struct offline_hdr {
	uint64_t	 nplaces;
	uint64_t	 strsize;
	uint32_t	 decimals;
	uint32_t	 attribution;
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
static int	 offline_header(const unsigned char *, uint64_t,
		    struct offline_hdr *, char *, size_t);
static struct offline_db *offline_new(const struct offline_hdr *, char *,
		    size_t);
static int	 offline_strings(const struct offline_db *, char *, size_t);
static int	 offline_boundary(const struct offline_db *, uint32_t);
static int	 offline_offsets(const struct offline_db *, char *, size_t);
static int	 offline_add(struct offline_db *, size_t,
		    const unsigned char *, char *, size_t);
static int	 offline_index(struct offline_db *, char *, size_t);
static ssize_t	 offline_readn(int, void *, size_t);
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

/*
 * Check a header against the size of the file: magic, version, fields in
 * range, and the size exactly what the header announces.
 */
static int
offline_header(const unsigned char *p, uint64_t len, struct offline_hdr *h,
    char *err, size_t errlen)
{
	uint32_t	 version, reserved;
	uint64_t	 want;

	if (len < OFFLINE_HDRSZ) {
		offline_err(err, errlen, "truncated header: %llu bytes",
		    (unsigned long long)len);
		return -1;
	}
	if (memcmp(p, OFFLINE_MAGIC, 8) != 0) {
		offline_err(err, errlen, "not a herd places data set "
		    "(bad magic)");
		return -1;
	}
	version = offline_le32(p + 8);
	h->decimals = offline_le32(p + 12);
	h->nplaces = offline_le32(p + 16);
	h->strsize = offline_le32(p + 20);
	h->attribution = offline_le32(p + 24);
	reserved = offline_le32(p + 28);
	if (version != OFFLINE_VERSION) {
		offline_err(err, errlen, "format version %u, expected %d",
		    version, OFFLINE_VERSION);
		return -1;
	}
	if (h->decimals > OFFLINE_DECIMALS_MAX || reserved != 0) {
		offline_err(err, errlen, "bad header (decimals %u, "
		    "reserved %u)", h->decimals, reserved);
		return -1;
	}
	if (h->nplaces == 0) {
		offline_err(err, errlen, "no places");
		return -1;
	}
	want = OFFLINE_HDRSZ + h->nplaces * OFFLINE_RECSZ + h->strsize;
	if (len != want) {
		offline_err(err, errlen, "%s: %llu bytes, the header announces "
		    "%llu (%llu places, %llu bytes of strings)",
		    len < want ? "truncated" : "trailing bytes",
		    (unsigned long long)len, (unsigned long long)want,
		    (unsigned long long)h->nplaces,
		    (unsigned long long)h->strsize);
		return -1;
	}
	if (h->strsize == 0) {
		offline_err(err, errlen, "no string pool");
		return -1;
	}
	if (h->attribution >= h->strsize) {
		offline_err(err, errlen, "attribution offset %u out of range",
		    h->attribution);
		return -1;
	}
	return 0;
}

/* An empty data set for a checked header: places and strings to fill. */
static struct offline_db *
offline_new(const struct offline_hdr *h, char *err, size_t errlen)
{
	struct offline_db	*db;
	uint32_t		 d;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->places = malloc(h->nplaces * sizeof(*db->places))) == NULL ||
	    (db->cells = calloc(OFFLINE_NCELLS + 1, sizeof(*db->cells))) ==
	    NULL || (db->strings = malloc(h->strsize)) == NULL) {
		offline_err(err, errlen, "%s", strerror(errno));
		offline_free(db);
		return NULL;
	}
	db->nplaces = h->nplaces;
	db->strsize = h->strsize;
	db->attribution = h->attribution;
	db->decimals = h->decimals;
	for (db->scale = 1, d = h->decimals; d > 0; d--)
		db->scale *= 10;
	return db;
}

/* Check the string pool once it is read. */
static int
offline_strings(const struct offline_db *db, char *err, size_t errlen)
{
	size_t	 bad;

	if (db->strings[db->strsize - 1] != '\0') {
		offline_err(err, errlen, "string pool not NUL-terminated");
		return -1;
	}
	if (offline_utf8((const unsigned char *)db->strings, db->strsize,
	    &bad) == -1) {
		offline_err(err, errlen, "string pool: bad UTF-8 at offset "
		    "%zu", bad);
		return -1;
	}
	return 0;
}

/* Does offset off of the (checked) pool start a character, not fall
 * inside one?  The string from there to its NUL is then UTF-8 too. */
static int
offline_boundary(const struct offline_db *db, uint32_t off)
{
	return ((unsigned char)db->strings[off] & 0xc0) != 0x80;
}

/*
 * Once the pool is checked and every place added: no string offset may
 * point inside a multi-byte character (the answer would carry bad UTF-8).
 */
static int
offline_offsets(const struct offline_db *db, char *err, size_t errlen)
{
	size_t	 i;

	if (!offline_boundary(db, db->attribution)) {
		offline_err(err, errlen, "attribution offset %u inside a "
		    "character", db->attribution);
		return -1;
	}
	for (i = 0; i < db->nplaces; i++)
		if (!offline_boundary(db, db->places[i].name) ||
		    !offline_boundary(db, db->places[i].vicinity)) {
			offline_err(err, errlen, "place %zu: string offset "
			    "inside a character", i);
			return -1;
		}
	return 0;
}

/* Check record i and store it at places[i], counting it in its cell. */
static int
offline_add(struct offline_db *db, size_t i, const unsigned char *rec,
    char *err, size_t errlen)
{
	struct offline_place	*pl = &db->places[i];
	int64_t			 lat, lng, scale = db->scale;
	double			 phi, lambda;

	lat = (int32_t)offline_le32(rec);
	lng = (int32_t)offline_le32(rec + 4);
	pl->name = offline_le32(rec + 8);
	pl->vicinity = offline_le32(rec + 12);
	if (lat < -90 * scale || lat > 90 * scale ||
	    lng < -180 * scale || lng > 180 * scale) {
		offline_err(err, errlen, "place %zu: coordinates %lld, %lld "
		    "off the globe", i, (long long)lat, (long long)lng);
		return -1;
	}
	if (pl->name >= db->strsize || pl->vicinity >= db->strsize) {
		offline_err(err, errlen, "place %zu: string offset out of "
		    "range", i);
		return -1;
	}
	pl->lat = lat;
	pl->lng = lng;
	phi = (double)lat / scale * (M_PI / 180);
	lambda = (double)lng / scale * (M_PI / 180);
	pl->x = cos(phi) * cos(lambda);
	pl->y = cos(phi) * sin(lambda);
	pl->z = sin(phi);
	db->cells[offline_cell(lat, lng, scale) + 1]++;
	return 0;
}

/*
 * Once every place is added in file order: turn the counts into the first
 * place of each cell and, unless the file was written in cell order (as
 * tools/mkcities.py does), group the places by cell.
 */
static int
offline_index(struct offline_db *db, char *err, size_t errlen)
{
	struct offline_place	*sorted, *pl;
	size_t			 i;
	uint32_t		 c, last = 0;
	int			 inorder = 1;

	for (i = 0; i < OFFLINE_NCELLS; i++)
		db->cells[i + 1] += db->cells[i];
	for (i = 0; i < db->nplaces && inorder; i++) {
		pl = &db->places[i];
		c = offline_cell(pl->lat, pl->lng, db->scale);
		if (c < last)
			inorder = 0;
		last = c;
	}
	if (inorder)
		return 0;

	if ((sorted = malloc(db->nplaces * sizeof(*sorted))) == NULL) {
		offline_err(err, errlen, "%s", strerror(errno));
		return -1;
	}
	/* cells[c] runs ahead to the next start, then all shift back. */
	for (i = 0; i < db->nplaces; i++) {
		pl = &db->places[i];
		c = offline_cell(pl->lat, pl->lng, db->scale);
		sorted[db->cells[c]++] = *pl;
	}
	memmove(db->cells + 1, db->cells, OFFLINE_NCELLS * sizeof(*db->cells));
	db->cells[0] = 0;
	free(db->places);
	db->places = sorted;
	return 0;
}

struct offline_db *
offline_parse(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	struct offline_db	*db;
	struct offline_hdr	 h;
	size_t			 i;

	if (offline_header(p, len, &h, err, errlen) == -1 ||
	    (db = offline_new(&h, err, errlen)) == NULL)
		return NULL;
	memcpy(db->strings, p + len - h.strsize, h.strsize);
	if (offline_strings(db, err, errlen) == -1)
		goto fail;
	for (i = 0; i < db->nplaces; i++)
		if (offline_add(db, i, p + OFFLINE_HDRSZ + i * OFFLINE_RECSZ,
		    err, errlen) == -1)
			goto fail;
	if (offline_offsets(db, err, errlen) == -1 ||
	    offline_index(db, err, errlen) == -1)
		goto fail;
	return db;
 fail:
	offline_free(db);
	return NULL;
}

/* Read n bytes; -1 on error, else the count read (short at end of file). */
static ssize_t
offline_readn(int fd, void *buf, size_t n)
{
	size_t	 off = 0;
	ssize_t	 r;

	while (off < n) {
		r = read(fd, (char *)buf + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		off += r;
	}
	return off;
}

/*
 * Stream the file: the places through a small buffer, the strings straight
 * into their place, so that no copy of the file is held in memory.
 */
struct offline_db *
offline_load(const char *path, char *err, size_t errlen)
{
	struct offline_db	*db = NULL;
	struct offline_hdr	 h;
	struct stat		 st;
	unsigned char		 hdr[OFFLINE_HDRSZ], *buf = NULL;
	char			 msg[256];
	size_t			 i, j, n;
	ssize_t			 r;
	int			 fd;

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
	if ((r = offline_readn(fd, hdr, sizeof(hdr))) == -1)
		goto readerr;
	if (offline_header(hdr, r < (ssize_t)sizeof(hdr) ? (uint64_t)r :
	    (uint64_t)st.st_size, &h, msg, sizeof(msg)) == -1)
		goto bad;
	if ((db = offline_new(&h, msg, sizeof(msg))) == NULL)
		goto bad;
	if ((buf = malloc(OFFLINE_CHUNK * OFFLINE_RECSZ)) == NULL) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	for (i = 0; i < db->nplaces; i += n) {
		n = db->nplaces - i < OFFLINE_CHUNK ? db->nplaces - i :
		    OFFLINE_CHUNK;
		if ((r = offline_readn(fd, buf, n * OFFLINE_RECSZ)) == -1)
			goto readerr;
		if ((size_t)r != n * OFFLINE_RECSZ)
			goto shrank;
		for (j = 0; j < n; j++)
			if (offline_add(db, i + j, buf + j * OFFLINE_RECSZ,
			    msg, sizeof(msg)) == -1)
				goto bad;
	}
	if ((r = offline_readn(fd, db->strings, db->strsize)) == -1)
		goto readerr;
	if ((size_t)r != db->strsize)
		goto shrank;
	if (offline_strings(db, msg, sizeof(msg)) == -1 ||
	    offline_offsets(db, msg, sizeof(msg)) == -1 ||
	    offline_index(db, msg, sizeof(msg)) == -1)
		goto bad;
	free(buf);
	close(fd);
	return db;
 shrank:
	offline_err(err, errlen, "%s: truncated while read", path);
	goto fail;
 readerr:
	offline_err(err, errlen, "%s: %s", path, strerror(errno));
	goto fail;
 bad:
	offline_err(err, errlen, "%s: %s", path, msg);
 fail:
	free(buf);
	offline_free(db);
	close(fd);
	return NULL;
}

void
offline_free(struct offline_db *db)
{
	if (db == NULL)
		return;
	if (db->map != NULL)		/* offline_share.c: one mapping */
		munmap(db->map, db->maplen);
	else {
		free(db->places);
		free(db->cells);
		free(db->strings);
	}
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
