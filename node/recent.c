/*
 * recent.c -- the line hashes a server took lately (see recent.h).
 */
#include <stdlib.h>
#include <string.h>

#include "recent.h"

/* 0 marks an empty slot: a hash of 0 is kept as 1. */
static uint32_t
recent_key(uint32_t h)
{
	return h == 0 ? 1 : h;
}

/*
 * The slot to start at: k mixed (murmur3's finaliser) before its low bits
 * are taken, for proto_line_hash is FNV-1a, whose low bits depend only on
 * the low bits of each step, and AT lines differ in few characters.
 */
static size_t
recent_slot(uint32_t k, size_t cap)
{
	k ^= k >> 16;
	k *= 0x85ebca6bu;
	k ^= k >> 13;
	k *= 0xc2b2ae35u;
	k ^= k >> 16;
	return k & (cap - 1);
}

static size_t
recent_find(const struct recent_seg *s, uint32_t k)
{
	size_t	 i = recent_slot(k, s->cap);

	while (s->slot[i] != 0 && s->slot[i] != k)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* A table of cap slots for s, holding what it held.  -1: no memory. */
static int
recent_grow(struct recent_seg *s, size_t cap)
{
	struct recent_seg	 old = *s;
	size_t			 i;

	if ((s->slot = calloc(cap, sizeof(*s->slot))) == NULL) {
		s->slot = old.slot;
		return -1;
	}
	s->cap = cap;
	for (i = 0; i < old.cap; i++)
		if (old.slot[i] != 0)
			s->slot[recent_find(s, old.slot[i])] = old.slot[i];
	free(old.slot);
	return 0;
}

/*
 * s, the oldest table, made the newest at start, empty, for n lines at
 * most half full: its memory kept when it is of about that size.
 */
static void
recent_reuse(struct recent_seg *s, size_t n, double start)
{
	size_t	 cap = RECENT_MIN_CAP;

	while (cap < 2 * n && cap < 2 * RECENT_SEG_MAX)
		cap *= 2;
	if (s->cap >= cap && s->cap <= 4 * cap) {
		if (s->n > 0)
			memset(s->slot, 0, s->cap * sizeof(*s->slot));
	} else {
		free(s->slot);
		s->slot = NULL;
		s->cap = 0;
		(void)recent_grow(s, cap);	/* else at the next add */
	}
	s->n = 0;
	s->start = start;
}

/* The newest table for now: the ring turned by the time gone by. */
static struct recent_seg *
recent_newest(struct recent *r, double now)
{
	struct recent_seg	*s = &r->seg[r->cur];
	size_t			 rate;
	int			 k;

	if (!r->started) {
		r->started = 1;
		recent_reuse(s, 0, now);
		return s;
	}
	if (now - s->start < RECENT_SEG_S && s->n < RECENT_SEG_MAX)
		return s;
	rate = s->n;
	for (k = 0; k < RECENT_SEGS && (now - s->start >= RECENT_SEG_S ||
	    s->n >= RECENT_SEG_MAX); k++) {
		double	 start = s->start + RECENT_SEG_S;

		if (start > now || s->n >= RECENT_SEG_MAX)
			start = now;
		r->cur = (r->cur + 1) % RECENT_SEGS;
		s = &r->seg[r->cur];
		recent_reuse(s, rate, start);
	}
	if (now - s->start >= RECENT_SEG_S)	/* a long quiet time */
		s->start = now;
	return s;
}

int
recent_add(struct recent *r, uint32_t h, double now)
{
	struct recent_seg	*s = recent_newest(r, now);
	uint32_t		 k = recent_key(h);
	size_t			 i;

	if (s->cap == 0 && recent_grow(s, RECENT_MIN_CAP) == -1)
		return -1;
	if (2 * (s->n + 1) > s->cap && recent_grow(s, 2 * s->cap) == -1)
		return -1;
	i = recent_find(s, k);
	if (s->slot[i] == 0) {
		s->slot[i] = k;
		s->n++;
	}
	return 0;
}

int
recent_has(const struct recent *r, uint32_t h)
{
	uint32_t	 k = recent_key(h);
	int		 j;

	for (j = 0; j < RECENT_SEGS; j++)
		if (r->seg[j].n > 0 &&
		    r->seg[j].slot[recent_find(&r->seg[j], k)] == k)
			return 1;
	return 0;
}

size_t
recent_count(const struct recent *r)
{
	size_t	 n = 0;
	int	 j;

	for (j = 0; j < RECENT_SEGS; j++)
		n += r->seg[j].n;
	return n;
}

void
recent_free(struct recent *r)
{
	int	 j;

	for (j = 0; j < RECENT_SEGS; j++)
		free(r->seg[j].slot);
	memset(r, 0, sizeof(*r));
}
