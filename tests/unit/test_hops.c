/*
 * test_hops.c -- the configured mesh's hop counts (node/hops.c), by which
 * tree.c keeps the shorter of two ways an update came: the five-server
 * herd, a line, a herd in two parts, links written on one side only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hops.h"
#include "mesh_spec.h"
#include "tap.h"

static struct herd_conf	 c;
static uint8_t		*t;

/* Parse a herd given as "NAME:NEIGHBOUR,..." words; its hop counts in t. */
static int
mesh(const char *spec)
{
	static char	 ini[65536];
	char		 err[1024];

	mesh_spec_ini(spec, ini, sizeof(ini));
	if (conf_parse(ini, strlen(ini), "t.ini", &c, err, sizeof(err)) == -1) {
		printf("# %s\n", err);
		return -1;
	}
	t = hops_table(&c);
	return t == NULL ? -1 : 0;
}

static void
done(void)
{
	free(t);
	t = NULL;
	conf_free(&c);
}

/* The hop count between two servers named. */
static unsigned
h(const char *a, const char *b)
{
	size_t	 i = (size_t)(conf_server(&c, a) - c.servers);
	size_t	 j = (size_t)(conf_server(&c, b) - c.servers);

	return hops_between(t, c.nservers, i, j);
}

int
main(void)
{
	char	 spec[8192];
	size_t	 o = 0;
	int	 i, far = 1;

	/* etc/herd.ini's herd: Hands to Welsh is three links either way */
	ok(mesh("Goloman:Hands,Holiday,Wilkes Hands:Wilkes Holiday:Welsh,Wilkes "
	    "Welsh Wilkes") == 0, "the five-server herd");
	ok(h("Hands", "Hands") == 0 && h("Hands", "Goloman") == 1 &&
	    h("Hands", "Wilkes") == 1 && h("Hands", "Holiday") == 2 &&
	    h("Hands", "Welsh") == 3, "from Hands: 0, 1, 1, 2, 3");
	ok(h("Welsh", "Hands") == 3 && h("Wilkes", "Goloman") == 1 &&
	    h("Welsh", "Goloman") == 2,
	    "both ways, though Hands's link to Goloman is written at Goloman");
	done();

	ok(mesh("A:B B:C C:D D E:F F") == 0, "a line and a herd in two parts");
	ok(h("A", "D") == 3 && h("D", "A") == 3 && h("B", "C") == 1,
	    "along the line");
	ok(h("A", "E") == HOPS_FAR && h("F", "D") == HOPS_FAR &&
	    h("E", "F") == 1, "no path: HOPS_FAR");
	done();

	/* a line longer than a byte counts: far past 254 links */
	for (i = 0; i < 300; i++)
		o += (size_t)snprintf(spec + o, sizeof(spec) - o,
		    i < 299 ? "s%d:s%d " : "s%d ", i, i + 1);
	ok(mesh(spec) == 0, "a line of 300 servers");
	ok(h("s0", "s254") == 254, "254 links: counted");
	for (i = 255; i < 300; i++) {
		char	 name[16];

		snprintf(name, sizeof(name), "s%d", i);
		far &= h("s0", name) == HOPS_FAR;
	}
	ok(far, "255 and more: HOPS_FAR, as far as no path");
	done();
	return tap_done();
}
