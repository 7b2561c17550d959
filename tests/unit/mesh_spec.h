/*
 * mesh_spec.h -- a herd.ini written from a short spec of its mesh, for
 * the unit tests of the mesh (test_topo.c, test_hops.c): words of
 * "NAME:NEIGHBOUR,..." (or "NAME"), each a [server] with a port of its
 * own.  Static, for programs of one file.
 */
#ifndef HERD_MESH_SPEC_H
#define HERD_MESH_SPEC_H

#include <stdio.h>
#include <string.h>

/* The ini text of spec in ini (size bytes), NUL-terminated. */
static void
mesh_spec_ini(const char *spec, char *ini, size_t size)
{
	char		 word[256], *colon;
	const char	*p = spec;
	int		 n, port = 1000;
	size_t		 o = 0;

	ini[0] = '\0';
	while (sscanf(p, "%255s%n", word, &n) == 1 && o < size) {
		p += n;
		colon = strchr(word, ':');
		if (colon != NULL)
			*colon = '\0';
		o += (size_t)snprintf(ini + o, size - o,
		    "[server %s]\nport = %d\n", word, port++);
		if (colon != NULL && colon[1] != '\0' && o < size) {
			for (char *q = colon + 1; *q; q++)
				if (*q == ',')
					*q = ' ';
			o += (size_t)snprintf(ini + o, size - o,
			    "neighbors = %s\n", colon + 1);
		}
	}
}

#endif /* HERD_MESH_SPEC_H */
