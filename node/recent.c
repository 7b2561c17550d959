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

static size_t
recent_find(const struct recent_gen *g, uint32_t k)
{
	size_t	 i = (k * 2654435761u) & (g->cap - 1);

	while (g->slot[i] != 0 && g->slot[i] != k)
		i = (i + 1) & (g->cap - 1);
	return i;
}

/* A table of cap slots for g, holding what it held.  -1: no memory. */
static int
recent_grow(struct recent_gen *g, size_t cap)
{
	struct recent_gen	 old = *g;
	size_t			 i;

	if ((g->slot = calloc(cap, sizeof(*g->slot))) == NULL) {
		g->slot = old.slot;
		return -1;
	}
	g->cap = cap;
	for (i = 0; i < old.cap; i++)
		if (old.slot[i] != 0)
			g->slot[recent_find(g, old.slot[i])] = old.slot[i];
	free(old.slot);
	return 0;
}

/* The newest generation becomes the older; a new one starts at now. */
static void
recent_rotate(struct recent *r, double now)
{
	size_t	 cap = RECENT_MIN_CAP;

	/* sized for the rate the last one saw, at most half full */
	while (cap < 4 * r->g[0].n && cap < 2 * RECENT_MAX)
		cap *= 2;
	free(r->g[1].slot);
	r->g[1] = r->g[0];
	memset(&r->g[0], 0, sizeof(r->g[0]));
	r->g[0].start = now;
	(void)recent_grow(&r->g[0], cap);	/* else at the next add */
}

int
recent_add(struct recent *r, uint32_t h, double now)
{
	struct recent_gen	*g = &r->g[0];
	uint32_t		 k = recent_key(h);
	size_t			 i;

	if (g->cap == 0 || now - g->start >= RECENT_GEN_S ||
	    g->n >= RECENT_MAX)
		recent_rotate(r, now);
	if (g->cap == 0 && recent_grow(g, RECENT_MIN_CAP) == -1)
		return -1;
	if (2 * (g->n + 1) > g->cap && recent_grow(g, 2 * g->cap) == -1)
		return -1;
	i = recent_find(g, k);
	if (g->slot[i] == 0) {
		g->slot[i] = k;
		g->n++;
	}
	return 0;
}

int
recent_has(const struct recent *r, uint32_t h)
{
	uint32_t	 k = recent_key(h);
	int		 j;

	for (j = 0; j < 2; j++)
		if (r->g[j].cap > 0 &&
		    r->g[j].slot[recent_find(&r->g[j], k)] == k)
			return 1;
	return 0;
}

void
recent_free(struct recent *r)
{
	free(r->g[0].slot);
	free(r->g[1].slot);
	memset(r, 0, sizeof(*r));
}
