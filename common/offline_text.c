/*
 * offline_text.c -- the offline backend's answer written straight as text
 * (offline.h): the very bytes json-c prints for offline_query's document
 * with JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, without
 * building the document.
 *
 * Building it cost a dozen allocations per place and json-c's printbuf:
 * most of a WHATSAT's time.  The answer's shape is fixed (offline_json.c),
 * so it is written here from constant pieces, the file's strings escaped
 * as json-c escapes them (json_escape_str: \b \f \n \r \t \" \\, any other
 * byte below 0x20 as \u00xx, '/' as it is, bytes from 0x7f up as they are),
 * and the coordinates with the file's digits (offline_json_coord).  The
 * unit test and fuzz_offline compare the two byte for byte.
 *
 * A place's element is the same bytes in every answer that holds it, so a
 * caller may keep them (struct offline_frags): each place's element is
 * written once and copied from then on, in an arena of a fixed size that
 * is emptied at once when full (grown by doubling up to that size, so a
 * worker asked about one town holds one town's).  The data set never
 * changes under it, so nothing is ever stale; the bound is the arena's
 * size plus 4 bytes a place, and the answers' opening (the attribution),
 * kept the same way.
 *
 * json-c's pretty printer: an object is "{", "\n", its members joined by
 * ",\n", each indented two spaces a level as "\"key\":value", then "\n",
 * the indent of its own level and "}"; an array the same with "[" and "]",
 * but an empty array is "[\n" then its own indent and "]".
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_TEXT_MIN	4096	/* the first buffer's size */

struct offline_frags {
	const struct offline_db	*db;
	uint32_t		*off;	/* per place: 1 + its element's offset
					 * in arena, 0 when not kept */
	char			*arena;	/* elements: 4-byte length, bytes */
	size_t			 used;
	size_t			 size;	/* the arena's, grown as it fills */
	size_t			 max;	/* the most it may grow to */
	size_t			 resets;	/* times emptied (tests) */
	char			*head;	/* every answer's opening, up to its
					 * results, once written; or NULL */
	size_t			 headlen;
};

struct offline_text {
	char		**buf;
	size_t		 *size;
	size_t		  len;
};

static int	 offline_text_room(struct offline_text *, size_t);
static void	 offline_text_put(struct offline_text *, const char *, size_t);
static int	 offline_text_str(struct offline_text *, const char *);
static int	 offline_text_coord(struct offline_text *,
		    const struct offline_db *, int32_t);
static int	 offline_text_place(struct offline_text *,
		    const struct offline_db *, const struct offline_place *);
static int	 offline_text_kept(struct offline_text *,
		    struct offline_frags *, uint32_t);
static ssize_t	 offline_text_answer(struct offline_text *,
		    const struct offline_db *, struct offline_frags *,
		    const char *, const struct offline_hit *, size_t);

#define OFFLINE_PUT(t, s)	offline_text_put((t), (s), sizeof(s) - 1)

/* Room for n more bytes and a NUL: 0, or -1 when memory runs out. */
static int
offline_text_room(struct offline_text *t, size_t n)
{
	size_t	 size = *t->size;
	char	*p;

	if (t->len + n + 1 <= size && *t->buf != NULL)
		return 0;
	if (size < OFFLINE_TEXT_MIN)
		size = OFFLINE_TEXT_MIN;
	while (size < t->len + n + 1)
		size *= 2;
	if ((p = realloc(*t->buf, size)) == NULL)
		return -1;
	*t->buf = p;
	*t->size = size;
	return 0;
}

/* Append n bytes there is room for. */
static void
offline_text_put(struct offline_text *t, const char *s, size_t n)
{
	memcpy(*t->buf + t->len, s, n);
	t->len += n;
}

/* A string, quoted and escaped as json-c does (see the top). */
static int
offline_text_str(struct offline_text *t, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 n = strlen(s), i, run;
	unsigned char		 c;
	char			*p;

	if (offline_text_room(t, 6 * n + 2) == -1)	/* \u00xx at worst */
		return -1;
	p = *t->buf + t->len;
	*p++ = '"';
	for (i = 0; i < n; ) {
		for (run = i; run < n; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		memcpy(p, s + i, run - i);
		p += run - i;
		if ((i = run) == n)
			break;
		c = (unsigned char)s[i++];
		*p++ = '\\';
		switch (c) {
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		default:
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p++ = '"';
	t->len = (size_t)(p - *t->buf);
	return 0;
}

/*
 * A coordinate with the file's exact digits, as offline_json_coord writes
 * it: -123.45 for -12345000 at 5 decimals, trailing zeros and a bare
 * point dropped.
 */
static int
offline_text_coord(struct offline_text *t, const struct offline_db *db,
    int32_t v)
{
	char		 buf[32], *p = buf + sizeof(buf), *e;
	int64_t		 a = v < 0 ? -(int64_t)v : v;
	int64_t		 ip = a / db->scale, fp = a % db->scale;
	int		 d;

	e = p;
	if (db->decimals > 0) {
		for (d = 0; d < db->decimals; d++) {	/* written backwards */
			*--p = (char)('0' + fp % 10);
			fp /= 10;
		}
		while (e > p && e[-1] == '0')
			e--;
		if (e > p)
			*--p = '.';
		else
			e = p;
	}
	do {
		*--p = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip > 0);
	if (v < 0)
		*--p = '-';
	if (offline_text_room(t, (size_t)(e - p)) == -1)
		return -1;
	offline_text_put(t, p, (size_t)(e - p));
	return 0;
}

/* One place as an element of "results" (offline_json_result). */
static int
offline_text_place(struct offline_text *t, const struct offline_db *db,
    const struct offline_place *pl)
{
	if (offline_text_room(t, 128) == -1)
		return -1;
	OFFLINE_PUT(t, "    {\n      \"geometry\":{\n        \"location\":{\n"
	    "          \"lat\":");
	if (offline_text_coord(t, db, pl->lat) == -1 ||
	    offline_text_room(t, 32) == -1)
		return -1;
	OFFLINE_PUT(t, ",\n          \"lng\":");
	if (offline_text_coord(t, db, pl->lng) == -1 ||
	    offline_text_room(t, 64) == -1)
		return -1;
	OFFLINE_PUT(t, "\n        }\n      },\n      \"name\":");
	if (offline_text_str(t, db->strings + pl->name) == -1 ||
	    offline_text_room(t, 128) == -1)
		return -1;
	OFFLINE_PUT(t, ",\n      \"types\":[\n        \"locality\",\n"
	    "        \"political\"\n      ],\n      \"vicinity\":");
	if (offline_text_str(t, db->strings + pl->vicinity) == -1 ||
	    offline_text_room(t, 8) == -1)
		return -1;
	OFFLINE_PUT(t, "\n    }");
	return 0;
}

struct offline_frags *
offline_frags_new(const struct offline_db *db, size_t max)
{
	struct offline_frags	*f;

	if (max > UINT32_MAX / 2)		/* offsets are 32 bits */
		max = UINT32_MAX / 2;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->db = db;
	f->max = max;
	if ((f->off = calloc(db->nplaces, sizeof(*f->off))) == NULL) {
		offline_frags_free(f);
		return NULL;
	}
	return f;
}

void
offline_frags_free(struct offline_frags *f)
{
	if (f == NULL)
		return;
	free(f->off);
	free(f->arena);
	free(f->head);
	free(f);
}

size_t
offline_frags_used(const struct offline_frags *f, size_t *resets)
{
	if (resets != NULL)
		*resets = f->resets;
	return f->used;
}

/*
 * Place i's element from f when kept; else written, then kept if it fits
 * (the arena emptied first when full).  0, or -1 when memory runs out.
 */
static int
offline_text_kept(struct offline_text *t, struct offline_frags *f,
    uint32_t i)
{
	uint32_t	 len;
	size_t		 start = t->len, n, size;
	char		*p;

	if (f->off[i] != 0) {
		memcpy(&len, f->arena + f->off[i] - 1, sizeof(len));
		if (offline_text_room(t, len) == -1)
			return -1;
		offline_text_put(t, f->arena + f->off[i] - 1 + sizeof(len), len);
		return 0;
	}
	if (offline_text_place(t, f->db, &f->db->places[i]) == -1)
		return -1;
	n = t->len - start;
	if (n > UINT32_MAX || sizeof(len) + n > f->max)
		return 0;			/* never kept */
	if (f->used + sizeof(len) + n > f->max) {
		memset(f->off, 0, f->db->nplaces * sizeof(*f->off));
		f->used = 0;
		f->resets++;
	}
	if (f->used + sizeof(len) + n > f->size) {	/* grown by doubling */
		size = f->size < OFFLINE_TEXT_MIN ? OFFLINE_TEXT_MIN : f->size;
		while (size < f->used + sizeof(len) + n)
			size *= 2;
		if (size > f->max)
			size = f->max;
		if ((p = realloc(f->arena, size)) == NULL)
			return 0;		/* not kept */
		f->arena = p;
		f->size = size;
	}
	len = (uint32_t)n;
	memcpy(f->arena + f->used, &len, sizeof(len));
	memcpy(f->arena + f->used + sizeof(len), *t->buf + start, n);
	f->off[i] = (uint32_t)f->used + 1;
	f->used += sizeof(len) + n;
	return 0;
}

/* The whole answer (offline_json_response with the places n hits name). */
static ssize_t
offline_text_answer(struct offline_text *t, const struct offline_db *db,
    struct offline_frags *f, const char *status,
    const struct offline_hit *hits, size_t n)
{
	size_t	 i, start = t->len;

	if (f != NULL && f->head != NULL) {
		if (offline_text_room(t, f->headlen + 64) == -1)
			return -1;
		offline_text_put(t, f->head, f->headlen);
	} else {
		if (offline_text_room(t, 64) == -1)
			return -1;
		OFFLINE_PUT(t, "{\n  \"html_attributions\":[\n    ");
		if (offline_text_str(t, db->strings + db->attribution) == -1 ||
		    offline_text_room(t, 64) == -1)
			return -1;
		OFFLINE_PUT(t, "\n  ],\n  \"results\":[\n");
		if (f != NULL && (f->head = malloc(t->len - start)) != NULL) {
			memcpy(f->head, *t->buf + start, t->len - start);
			f->headlen = t->len - start;		/* kept */
		}
	}
	for (i = 0; i < n; i++) {
		if (i > 0) {
			if (offline_text_room(t, 2) == -1)
				return -1;
			OFFLINE_PUT(t, ",\n");
		}
		if ((f != NULL ? offline_text_kept(t, f, hits[i].place) :
		    offline_text_place(t, db, &db->places[hits[i].place])) ==
		    -1)
			return -1;
	}
	if (offline_text_room(t, 64 + strlen(status)) == -1)
		return -1;
	if (n > 0)
		OFFLINE_PUT(t, "\n");
	OFFLINE_PUT(t, "  ],\n  \"status\":\"");
	offline_text_put(t, status, strlen(status));
	OFFLINE_PUT(t, "\"\n}");
	(*t->buf)[t->len] = '\0';
	return (ssize_t)t->len;
}

ssize_t
offline_text(const struct offline_db *db, struct offline_frags *f,
    struct offline_near *nc, double lat, double lng, double radius_m,
    int max, char **buf, size_t *size, int *ok)
{
	struct offline_hit	 stackheap[OFFLINE_HEAP_STACK], *heap;
	struct offline_text	 t = { buf, size, 0 };
	const char		*status;
	ssize_t			 len;
	size_t			 cap;
	int			 n;

	cap = offline_search_cap(db, max);
	if (cap <= OFFLINE_HEAP_STACK)
		heap = stackheap;
	else if ((heap = calloc(cap, sizeof(*heap))) == NULL)
		return -1;
	n = offline_near_search(nc, db, lat, lng, radius_m, heap, cap);
	status = n == -1 ? "INVALID_REQUEST" : n > 0 ? "OK" : "ZERO_RESULTS";
	*ok = n != -1;
	if (f != NULL && f->db != db)
		f = NULL;
	len = offline_text_answer(&t, db, f, status, heap,
	    n > 0 ? (size_t)n : 0);
	if (heap != stackheap)
		free(heap);
	return len;
}
