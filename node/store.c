/*
 * store.c -- client records keyed by id (see store.h).
 *
 * Chained hashing with a per-process random seed, so that a client cannot
 * pick ids that all land in one chain; the table doubles at two records a
 * slot.  It doubles a few slots at a time, as Redis's dict does: the old
 * table stays beside the new one, each store_set and store_get first moves
 * STORE_REHASH_STEP of its slots over, and a look-up searches both
 * meanwhile.  Moving every record at once took 1.8 ms at 32,000 records
 * (and would take tens at max_clients), a pause every client and
 * neighbour felt.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store.h"

#define STORE_REHASH_STEP	4	/* old slots moved per set or get */

static struct store_rec	**store_tab;
static size_t		  store_size;	/* buckets, a power of two */
static struct store_rec	**store_old;	/* while doubling: the old table, */
static size_t		  store_oldsize;	/* its size */
static size_t		  store_moved;	/* and its slots moved so far */
static size_t		  store_n;
static uint64_t		  store_seed;
static struct store_rec	 *store_oldest, *store_newest_r;
static LIST_HEAD(, store_cursor) store_cursors =
    LIST_HEAD_INITIALIZER(store_cursors);
static uint64_t		  store_lseq;	/* the newest change's */
static size_t		  store_nbytes;	/* of the AT lines */
static struct store_digest store_dig;

static uint64_t	 store_hash64(uint64_t, const char *, size_t);

/* Unseeded: the same on every server (digests, buckets). */
static uint64_t
store_fnv(const char *p, size_t n)
{
	return store_hash64(0, p, n);
}

unsigned
store_bucket(const char *id, size_t idlen)
{
	return (unsigned)(store_fnv(id, idlen) >> 59) % STORE_BUCKETS;
}

/* What a client costs beyond its strings (store.h): keep it so. */
_Static_assert(sizeof(struct store_rec) <= 72, "struct store_rec grew");

static void
store_dig_add(const struct store_rec *r, int sign)
{
	uint64_t	 dig = store_fnv(r->at, r->atlen);

	if (sign > 0) {
		store_dig.count++;
		store_dig.sum += dig;
		store_dig.part[r->bucket] += dig;
		store_nbytes += r->atlen;
	} else {
		store_dig.count--;
		store_dig.sum -= dig;
		store_dig.part[r->bucket] -= dig;
		store_nbytes -= r->atlen;
	}
}

/* 8 bytes at p as a little-endian integer, on any machine. */
static uint64_t
store_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint64_t
store_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/*
 * A 64-bit hash of n bytes from seed, eight bytes a step (multiply and
 * rotate, then a strong finaliser): seeded for the table, so that a client
 * cannot pick ids that all land in one chain; with seed 0 the same on every
 * server, for the digests.
 */
static uint64_t
store_hash64(uint64_t seed, const char *p, size_t n)
{
	const unsigned char	*s = (const unsigned char *)p;
	uint64_t		 h = seed ^ (0x9e3779b97f4a7c15ULL * (n + 1));
	unsigned char		 tail[8] = { 0 };

	for (; n >= 8; s += 8, n -= 8) {
		h ^= store_le64(s) * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
	}
	if (n > 0) {
		memcpy(tail, s, n);
		h ^= store_le64(tail) * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
	}
	return store_mix(h);
}

static uint64_t
store_hash(const char *p, size_t n)
{
	return store_hash64(store_seed, p, n);
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
	store_lseq = 0;
	store_nbytes = 0;
	memset(&store_dig, 0, sizeof(store_dig));
}

void
store_free(void)
{
	struct store_rec	*r, *next;
	size_t			 i;

	for (i = 0; i < store_size; i++)
		for (r = store_tab[i]; r != NULL; r = next) {
			next = r->next;
			free(r->at);
			free(r);
		}
	for (i = store_moved; store_old != NULL && i < store_oldsize; i++)
		for (r = store_old[i]; r != NULL; r = next) {
			next = r->next;
			free(r->at);
			free(r);
		}
	free(store_tab);
	free(store_old);
	store_tab = store_old = NULL;
	store_size = store_n = store_oldsize = store_moved = 0;
	store_oldest = store_newest_r = NULL;
	while (!LIST_EMPTY(&store_cursors))
		store_cursor_stop(LIST_FIRST(&store_cursors));
	store_lseq = 0;
	store_nbytes = 0;
	memset(&store_dig, 0, sizeof(store_dig));
}

/* Take r out of the change order: a walk about to return it moves on. */
static void
store_detach(struct store_rec *r)
{
	struct store_cursor	*c;

	LIST_FOREACH(c, &store_cursors, entry)
		if (c->next == r)
			c->next = r->newer;
	if (r->older != NULL)
		r->older->newer = r->newer;
	else
		store_oldest = r->newer;
	if (r->newer != NULL)
		r->newer->older = r->older;
	else
		store_newest_r = r->older;
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

	if (linked)
		store_detach(r);
	r->older = store_newest_r;
	r->newer = NULL;
	if (store_newest_r != NULL)
		store_newest_r->newer = r;
	else
		store_oldest = r;
	store_newest_r = r;
	LIST_FOREACH(c, &store_cursors, entry)
		if (c->next == NULL)
			c->next = r;
}

/* Where id is in chain *rp, or the chain's end: NULL there. */
static struct store_rec **
store_chain(struct store_rec **rp, const char *id, size_t idlen, uint64_t h)
{
	for (; *rp != NULL; rp = &(*rp)->next)
		if ((*rp)->hash == h && (*rp)->idlen == idlen &&
		    memcmp(store_id(*rp), id, idlen) == 0)
			break;
	return rp;
}

/*
 * Where id's record is, or where a new one goes (the end of its chain in
 * the new table): the old table's slot first, while it is not moved yet.
 */
static struct store_rec **
store_slot(const char *id, size_t idlen, uint64_t h)
{
	struct store_rec	**rp;
	size_t			  i;

	if (store_old != NULL && (i = h & (store_oldsize - 1)) >= store_moved &&
	    *(rp = store_chain(&store_old[i], id, idlen, h)) != NULL)
		return rp;
	return store_chain(&store_tab[h & (store_size - 1)], id, idlen, h);
}

/* Move up to n slots of the old table into the new; free it when done. */
static void
store_rehash(size_t n)
{
	struct store_rec	*r, *next;
	size_t			 k;

	for (; store_old != NULL && n > 0; n--) {
		for (r = store_old[store_moved]; r != NULL; r = next) {
			next = r->next;
			k = r->hash & (store_size - 1);
			r->next = store_tab[k];
			store_tab[k] = r;
		}
		store_old[store_moved] = NULL;
		if (++store_moved == store_oldsize) {
			free(store_old);
			store_old = NULL;
			store_oldsize = store_moved = 0;
		}
	}
}

const struct store_rec *
store_get(const char *id, size_t idlen)
{
	if (store_tab == NULL)
		return NULL;
	store_rehash(STORE_REHASH_STEP);
	return *store_slot(id, idlen, store_hash(id, idlen));
}

/*
 * A table of size slots in place of this one: its records move over a few
 * slots at a time from now on (store_rehash), or all at once (now).
 */
static void
store_resize(size_t size, int now)
{
	struct store_rec	**tab;

	store_rehash(store_oldsize);	/* the last doubling's rest, first */
	if ((tab = calloc(size, sizeof(*tab))) == NULL)
		return;		/* stay at this size: slower, still right */
	store_old = store_tab;
	store_oldsize = store_size;
	store_moved = 0;
	store_tab = tab;
	store_size = size;
	if (now)
		store_rehash(store_oldsize);
}

void
store_reserve(size_t n)
{
	size_t	 size = store_size;

	while (size < n)
		size *= 2;
	if (size > store_size)
		store_resize(size, 1);
}

size_t
store_rehash_left(void)
{
	return store_old != NULL ? store_oldsize - store_moved : 0;
}

static int
store_newer(const struct store_rec *r, const struct htime *t, const char *at,
    size_t atlen, int ties)
{
	struct htime	 rt = { r->t_sec, r->t_nsec };
	int		 c = htime_cmp(t, &rt);
	size_t		 n;

	if (c != 0 || !ties)
		return c > 0;
	n = atlen < r->atlen ? atlen : r->atlen;
	c = memcmp(at, r->at, n);
	return c > 0 || (c == 0 && atlen > r->atlen);
}

/*
 * Set the record for id to at, with the given lseq: the one way a record
 * changes.  ties < 0: unconditionally (a journal read back); else only
 * when newer (see store_newer).  1 stored, 0 not newer, -1 out of memory.
 */
static int
store_set(const char *id, size_t idlen, const struct htime *t,
    const char *at, size_t atlen, int ties, int src, uint64_t lseq)
{
	struct store_rec	**rp, *r;
	uint64_t		  h;
	char			 *line;
	int			  linked;

	if (store_tab == NULL || src < -1 || src > INT16_MAX ||
	    atlen > UINT32_MAX || idlen > UINT32_MAX)
		return -1;
	store_rehash(STORE_REHASH_STEP);	/* before rp: it moves chains */
	h = store_hash(id, idlen);
	rp = store_slot(id, idlen, h);
	if ((r = *rp) != NULL && ties >= 0 &&
	    !store_newer(r, t, at, atlen, ties))
		return 0;
	linked = r != NULL;
	if (r != NULL && r->atlen >= atlen && r->atlen <= atlen + 32)
		line = r->at;		/* reuse: no allocation on the path */
	else if ((line = malloc(atlen + 1)) == NULL)
		return -1;
	if (r == NULL) {
		/* the id lives with the record: one allocation */
		if ((r = calloc(1, sizeof(*r) + idlen + 1)) == NULL) {
			free(line);
			return -1;
		}
		memcpy(r + 1, id, idlen);	/* and a NUL: calloc */
		r->idlen = (uint32_t)idlen;
		r->hash = h;
		r->bucket = store_bucket(id, idlen);
		*rp = r;
		/* two records a slot at most, on average: 4 to 8 bytes each */
		if (++store_n > 2 * store_size)
			store_resize(store_size * 2, 0);
	} else {
		store_dig_add(r, -1);
		if (line != r->at)
			free(r->at);
	}
	memcpy(line, at, atlen);
	line[atlen] = '\0';
	r->at = line;
	r->atlen = (uint32_t)atlen;
	r->t_sec = t->sec;
	r->t_nsec = t->nsec;
	r->src = (int16_t)src;
	r->lseq = lseq;
	store_dig_add(r, 1);
	store_touch(r, linked);
	return 1;
}

int
store_put(const char *id, size_t idlen, const struct htime *t,
    const char *at, size_t atlen, int ties, int src)
{
	int	 rc;

	rc = store_set(id, idlen, t, at, atlen, ties ? 1 : 0, src,
	    store_lseq + 1);
	if (rc == 1)
		store_lseq++;
	return rc;
}

int
store_load(const char *id, size_t idlen, const struct htime *t,
    const char *at, size_t atlen, int src, uint64_t lseq)
{
	int	 rc;

	if (lseq <= store_lseq)
		lseq = store_lseq + 1;	/* keep the order strict */
	rc = store_set(id, idlen, t, at, atlen, -1, src, lseq);
	if (rc == 1)
		store_lseq = lseq;
	return rc;
}

/* Take r out of the change order (cursors at it move on) and free it. */
static void
store_unlink(struct store_rec *r)
{
	store_detach(r);
	store_dig_add(r, -1);
	store_n--;
	free(r->at);
	free(r);
}

size_t
store_expire(const struct htime *before, size_t *pos, size_t slots)
{
	struct store_rec	**rp, *r;
	struct htime		  t;
	size_t			  n = 0;

	if (store_old != NULL) {	/* doubling: help it on, sweep after */
		store_rehash(slots);
		return 0;
	}
	for (; slots > 0 && store_tab != NULL; slots--) {
		if (*pos >= store_size)
			*pos = 0;
		for (rp = &store_tab[*pos]; (r = *rp) != NULL;) {
			t.sec = r->t_sec;
			t.nsec = r->t_nsec;
			if (htime_cmp(&t, before) < 0) {
				*rp = r->next;
				store_unlink(r);
				n++;
			} else
				rp = &r->next;
		}
		(*pos)++;
	}
	return n;
}

size_t
store_slots(void)
{
	return store_size;
}

const struct store_rec *
store_newest(void)
{
	return store_newest_r;
}

size_t
store_bytes(void)
{
	return store_nbytes;
}

uint64_t
store_head(void)
{
	return store_lseq;
}

void
store_bump(uint64_t lseq)
{
	if (lseq > store_lseq)
		store_lseq = lseq;
}

const struct store_digest *
store_digest(void)
{
	return &store_dig;
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
	c->follow = 0;
	LIST_INSERT_HEAD(&store_cursors, c, entry);
	c->active = 1;
}

void
store_cursor_follow(struct store_cursor *c, uint64_t lseq)
{
	struct store_rec	*r;

	store_cursor_start(c);
	c->follow = 1;
	/* from the newest end back: costs what changed after lseq */
	for (r = store_newest_r; r != NULL && r->lseq > lseq; r = r->older)
		c->next = r;
	if (r == store_newest_r)
		c->next = NULL;
}

const struct store_rec *
store_cursor_next_upto(struct store_cursor *c, uint64_t limit)
{
	struct store_rec	*r;

	if (!c->active)
		return NULL;
	if ((r = c->next) == NULL) {
		if (!c->follow)
			store_cursor_stop(c);
		return NULL;
	}
	if (r->lseq > limit)
		return NULL;
	c->next = r->newer;
	return r;
}

const struct store_rec *
store_cursor_next(struct store_cursor *c)
{
	return store_cursor_next_upto(c, UINT64_MAX);
}

uint64_t
store_cursor_pos(const struct store_cursor *c)
{
	if (c->active && c->next != NULL)
		return c->next->lseq - 1;
	return store_lseq;
}

void
store_cursor_stop(struct store_cursor *c)
{
	if (!c->active)
		return;
	LIST_REMOVE(c, entry);
	c->next = NULL;
	c->active = 0;
	c->follow = 0;
}
