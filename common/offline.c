/*
 * offline.c -- the offline data set's file format, checked, and the data
 * set made from it (tools/mkcities.py describes the file).  No I/O:
 * offline_load.c reads the file, offline_query.c answers lookups.
 *
 * Nothing in the file is trusted: the size must be exactly what the
 * header announces, every string offset must fall inside the string pool,
 * whose strings must be NUL-terminated UTF-8, and every coordinate must be
 * on the globe.  offline_parse reads the format from memory (the fuzzer's
 * way in); offline_load streams a file through the same steps, exported
 * to it in offline_int.h.
 *
 * The index is a grid of half-degree cells: the places are grouped by
 * cell (tools/mkcities.py writes them in that order; another order costs
 * a counting sort), cells[] holds the first place of each cell, and each
 * place carries its unit vector on the sphere, for offline_query.c.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_MAGIC		"HERDPLC\0"
#define OFFLINE_VERSION		1
#define OFFLINE_DECIMALS_MAX	7	/* 180e7 still fits an int32 */

static uint32_t	 offline_le32(const unsigned char *);
static int	 offline_utf8(const unsigned char *, size_t, size_t *);
static uint32_t	 offline_cell(int64_t, int64_t, int64_t);
static int	 offline_boundary(const struct offline_db *, uint32_t);

void
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
int
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
struct offline_db *
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
int
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
int
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
int
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
int
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
	if (inorder) {
		db->latsorted = offline_latsorted(db);
		return 0;
	}

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
	db->latsorted = offline_latsorted(db);
	return 0;
}

int
offline_latsorted(const struct offline_db *db)
{
	size_t	 c, i;

	for (c = 0; c < OFFLINE_NCELLS; c++)
		for (i = db->cells[c]; i + 1 < db->cells[c + 1]; i++)
			if (db->places[i].lat > db->places[i + 1].lat)
				return 0;
	return 1;
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
