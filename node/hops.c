/*
 * hops.c -- the configured mesh's hop counts (hops.h): one breadth-first
 * search from each server, over the neighbours of herd.ini (conf.c makes
 * them symmetric).  Pure: nothing but memory.
 */
#include <stdlib.h>
#include <string.h>

#include "hops.h"

uint8_t *
hops_table(const struct herd_conf *cf)
{
	const struct herd_server	*s;
	size_t				 n = cf->nservers, from, head, tail;
	size_t				 v, w, i;
	size_t				*queue;
	uint8_t				*t, *row;

	if (n == 0 || (t = malloc(n * n)) == NULL)
		return NULL;
	if ((queue = calloc(n, sizeof(*queue))) == NULL) {
		free(t);
		return NULL;
	}
	memset(t, HOPS_FAR, n * n);
	for (from = 0; from < n; from++) {
		row = t + from * n;
		row[from] = 0;
		queue[0] = from;
		head = 0;
		tail = 1;
		while (head < tail) {
			v = queue[head++];
			if (row[v] >= HOPS_FAR - 1)
				break;		/* far enough: the rest stays so */
			s = &cf->servers[v];
			for (i = 0; i < s->nneighbors; i++) {
				w = s->neighbors[i];
				if (w >= n || row[w] != HOPS_FAR)
					continue;
				row[w] = (uint8_t)(row[v] + 1);
				queue[tail++] = w;
			}
		}
	}
	free(queue);
	return t;
}
