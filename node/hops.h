/*
 * hops.h -- how many links apart the herd's servers are in the configured
 * mesh (herd.ini's neighbours, made symmetric): of two streams that
 * brought the same update, tree.c keeps the one from the neighbour nearer
 * the update's origin, so the tree's paths are the mesh's shortest.  Pure.
 */
#ifndef HERD_HOPS_H
#define HERD_HOPS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define HOPS_FAR	255	/* no path, or 255 links or more */

/*
 * The hop counts of cf's mesh, a table of nservers * nservers bytes
 * (row: from, column: to; the caller frees it), or NULL when memory ran
 * out.  A breadth-first search from each server.
 */
uint8_t	*hops_table(const struct herd_conf *cf);

/* The count from one server to another in t, of n servers. */
static inline unsigned
hops_between(const uint8_t *t, size_t n, size_t from, size_t to)
{
	return t[from * n + to];
}

#endif /* HERD_HOPS_H */
