/*
 * test_topo.c -- the weak spots of known meshes: a line, a ring, a star,
 * the five-server herd, a barbell, a herd in two parts, one server.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "mesh_spec.h"
#include "tap.h"
#include "topo.h"

static char	 said[8192];

static void
collect(void *arg, const char *msg)
{
	(void)arg;
	strncat(said, msg, sizeof(said) - strlen(said) - 2);
	strcat(said, "\n");
}

/* The sentences for a herd given as "NAME:NEIGHBOUR,..." words. */
static const char *
weak(const char *spec)
{
	static char	 ini[4096];
	struct herd_conf c;
	char		 err[1024];

	mesh_spec_ini(spec, ini, sizeof(ini));
	said[0] = '\0';
	if (conf_parse(ini, strlen(ini), "t.ini", &c, err, sizeof(err)) == -1) {
		snprintf(said, sizeof(said), "%s", err);
		return said;
	}
	if (topo_weak_spots(&c, collect, NULL) == -1)
		strcpy(said, "out of memory");
	conf_free(&c);
	return said;
}

static void
is(const char *got, const char *want, const char *what)
{
	ok(strcmp(got, want) == 0, "%s", what);
	if (strcmp(got, want) != 0)
		printf("# got:\n%s# want:\n%s", got, want);
}

int
main(void)
{
	is(weak("A:B B:C C:D D"),
	    "A has one link (B): if B is down, A hears no updates\n"
	    "D has one link (C): if C is down, D hears no updates\n"
	    "if the link B-C is down, the herd splits in two: A and B on one "
	    "side, C and D on the other\n", "a line of four");
	is(weak("A:B B:C C:D D:A"), "", "a ring: nothing");
	is(weak("H:A,B,C A B C"),
	    "A has one link (H): if H is down, A hears no updates\n"
	    "B has one link (H): if H is down, B hears no updates\n"
	    "C has one link (H): if H is down, C hears no updates\n",
	    "a star: its leaves, not the hub again");
	is(weak("Goloman:Hands,Holiday,Wilkes Hands:Wilkes "
	    "Holiday:Welsh,Wilkes Welsh Wilkes"),
	    "Welsh has one link (Holiday): if Holiday is down, Welsh hears "
	    "no updates\n", "the five-server herd: Welsh");
	is(weak("A:B,C B:C C:D D:E,F E:F F"),
	    "if C is down, the herd splits: A and B hear no updates from D, "
	    "E and F\n"
	    "if D is down, the herd splits: E and F hear no updates from A, "
	    "B and C\n"
	    "if the link C-D is down, the herd splits in two: A, B and C on "
	    "one side, D, E and F on the other\n", "a barbell");
	is(weak("A:B B C:D D"),
	    "the herd is in 2 parts that no link joins: part 1 is A and B\n"
	    "the herd is in 2 parts that no link joins: part 2 is C and D\n"
	    "A has one link (B): if B is down, A hears no updates\n"
	    "B has one link (A): if A is down, B hears no updates\n"
	    "C has one link (D): if D is down, C hears no updates\n"
	    "D has one link (C): if C is down, D hears no updates\n",
	    "two parts");
	is(weak("A B:C C:B"),
	    "the herd is in 2 parts that no link joins: part 1 is A\n"
	    "the herd is in 2 parts that no link joins: part 2 is B and C\n"
	    "A has no link: it hears no updates from the others\n"
	    "B has one link (C): if C is down, B hears no updates\n"
	    "C has one link (B): if B is down, C hears no updates\n",
	    "a server with no link");
	is(weak("Solo"), "", "one server: nothing to say");
	is(weak("A:B,C,D,E,F,G,H,I B C D E F G H I J:A K:J"),
	    "B has one link (A): if A is down, B hears no updates\n"
	    "C has one link (A): if A is down, C hears no updates\n"
	    "D has one link (A): if A is down, D hears no updates\n"
	    "E has one link (A): if A is down, E hears no updates\n"
	    "F has one link (A): if A is down, F hears no updates\n"
	    "G has one link (A): if A is down, G hears no updates\n"
	    "H has one link (A): if A is down, H hears no updates\n"
	    "I has one link (A): if A is down, I hears no updates\n"
	    "K has one link (J): if J is down, K hears no updates\n"
	    "if the link A-J is down, the herd splits in two: A, B, C, D, E, "
	    "F and 3 more on one side, J and K on the other\n",
	    "a big star with a tail: the leaves, and the link to the tail");
	return tap_done();
}
