/*
 * store.c -- client records keyed by id (see store.h).
 *
 * Chained hashing with a per-process random seed, so that a client cannot
 * pick ids that all land in one chain; the table doubles at load 1.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store.h"

static struct store_rec	**store_tab;
static size_t		  store_size;	/* buckets, a power of two */
static size_t		  store_n;
static uint64_t		  store_seed;
static struct store_rec	 *store_oldest, *store_newest;
static struct store_cursor *store_cursors;

/* A seeded 64-bit hash (FNV-1a over the bytes, then a strong finaliser). */
static uint64_t
store_hash(const char *p, size_t n)
{
	uint64_t	 h = store_seed ^ 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

void
store_init(void)
{
	if (getrandom(&store_seed, sizeof(store_seed), 0) !=
	    sizeof(store_seed))
		store_seed = (uint64_t)(uintptr_t)&store_seed;
	store_size = 1024;
	store_tab = calloc(store_size, sizeof(*store_tab));
	store_n = 0;
}

void
store_free(void)
{
	struct store_rec	*r, *next;
	size_t			 i;

	for (i = 0; i < store_size; i++)
		for (r = store_tab[i]; r != NULL; r = next) {
			next = r->next;
			free(r->id);
			free(r->at);
			free(r);
		}
	free(store_tab);
	store_tab = NULL;
	store_size = store_n = 0;
	store_oldest = store_newest = NULL;
	while (store_cursors != NULL)
		store_cursor_stop(store_cursors);
}

/*
 * r is new or changed: move it to the newest end.  A walk that was about to
 * return it returns the one after; a walk that has reached the end goes on
 * with it.  So a walk returns every record as it is when the walk ends.
 */
static void
store_touch(struct store_rec *r, int linked)
{
	struct store_cursor	*c;

	if (linked) {
		for (c = store_cursors; c != NULL; c = c->next_c)
			if (c->next == r)
				c->next = r->newer;
		if (r->older != NULL)
			r->older->newer = r->newer;
		else
			store_oldest = r->newer;
		if (r->newer != NULL)
			r->newer->older = r->older;
		else
			store_newest = r->older;
	}
	r->older = store_newest;
	r->newer = NULL;
	if (store_newest != NULL)
		store_newest->newer = r;
	else
		store_oldest = r;
	store_newest = r;
	for (c = store_cursors; c != NULL; c = c->next_c)
		if (c->next == NULL)
			c->next = r;
}

static struct store_rec **
store_slot(const char *id, size_t idlen, uint64_t h)
{
	struct store_rec	**rp;

	for (rp = &store_tab[h & (store_size - 1)]; *rp != NULL;
	    rp = &(*rp)->next)
		if ((*rp)->hash == h && (*rp)->idlen == idlen &&
		    memcmp((*rp)->id, id, idlen) == 0)
			break;
	return rp;
}

const struct store_rec *
store_get(const char *id, size_t idlen)
{
	if (store_tab == NULL)
		return NULL;
	return *store_slot(id, idlen, store_hash(id, idlen));
}

static void
store_grow(void)
{
	struct store_rec	**tab, *r, *next;
	size_t			  i, size = store_size * 2;

	if ((tab = calloc(size, sizeof(*tab))) == NULL)
		return;		/* stay at this size: slower, still right */
	for (i = 0; i < store_size; i++)
		for (r = store_tab[i]; r != NULL; r = next) {
			next = r->next;
			r->next = tab[r->hash & (size - 1)];
			tab[r->hash & (size - 1)] = r;
		}
	free(store_tab);
	store_tab = tab;
	store_size = size;
}

static int
store_newer(const struct store_rec *r, const struct htime *t, const char *at,
    size_t atlen, int ties)
{
	int	 c = htime_cmp(t, &r->t);
	size_t	 n;

	if (c != 0 || !ties)
		return c > 0;
	n = atlen < r->atlen ? atlen : r->atlen;
	c = memcmp(at, r->at, n);
	return c > 0 || (c == 0 && atlen > r->atlen);
}

int
store_put(const char *id, size_t idlen, const struct htime *t, double lat,
    double lng, const char *at, size_t atlen, int ties)
{
	struct store_rec	**rp, *r;
	uint64_t		  h;
	char			 *line;
	int			  linked;

	if (store_tab == NULL)
		return -1;
	h = store_hash(id, idlen);
	rp = store_slot(id, idlen, h);
	if ((r = *rp) != NULL && !store_newer(r, t, at, atlen, ties))
		return 0;
	linked = r != NULL;
	if ((line = malloc(atlen + 1)) == NULL)
		return -1;
	memcpy(line, at, atlen);
	line[atlen] = '\0';
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL ||
		    (r->id = malloc(idlen + 1)) == NULL) {
			free(r);
			free(line);
			return -1;
		}
		memcpy(r->id, id, idlen);
		r->id[idlen] = '\0';
		r->idlen = idlen;
		r->hash = h;
		*rp = r;
		if (++store_n > store_size)
			store_grow();
	} else
		free(r->at);
	r->at = line;
	r->atlen = atlen;
	r->t = *t;
	r->lat = lat;
	r->lng = lng;
	store_touch(r, linked);
	return 1;
}

size_t
store_count(void)
{
	return store_n;
}

void
store_cursor_start(struct store_cursor *c)
{
	if (c->active)
		store_cursor_stop(c);
	c->next = store_oldest;
	c->prev_c = NULL;
	c->next_c = store_cursors;
	if (store_cursors != NULL)
		store_cursors->prev_c = c;
	store_cursors = c;
	c->active = 1;
}

const struct store_rec *
store_cursor_next(struct store_cursor *c)
{
	struct store_rec	*r;

	if (!c->active)
		return NULL;
	if ((r = c->next) == NULL) {
		store_cursor_stop(c);
		return NULL;
	}
	c->next = r->newer;
	return r;
}

void
store_cursor_stop(struct store_cursor *c)
{
	if (!c->active)
		return;
	if (c->prev_c != NULL)
		c->prev_c->next_c = c->next_c;
	else
		store_cursors = c->next_c;
	if (c->next_c != NULL)
		c->next_c->prev_c = c->prev_c;
	c->next = NULL;
	c->prev_c = c->next_c = NULL;
	c->active = 0;
}
