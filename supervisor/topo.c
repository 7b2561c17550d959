/*
 * topo.c -- the weak spots of a herd's mesh, told before they bite (the
 * seed report's section 5.1: a server whose only neighbour fails is cut
 * off).  Updates travel only over configured links, so the configured
 * graph says who can be cut off by what:
 *
 *	a herd in several parts: updates never cross between them;
 *	a server with no link, or with one link (its neighbour down, it
 *	hears nothing);
 *	a server whose loss splits the rest (an articulation point), and a
 *	link whose loss splits the herd (a bridge), when what they cut off
 *	is more than servers already named for their single link.
 *
 * Found with one depth-first search (Hopcroft and Tarjan's low-link), then
 * a search of the graph without the culprit for each finding, to name the
 * parts.  Pure: the graph in, one sentence per finding out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "topo.h"

#define TOPO_NAMES_SHOWN	6	/* names in a part, then "and N more" */

struct topo {
	const struct herd_conf	*cf;
	size_t			 n;
	int			*order, *low, *parent;
	size_t			*stack, *next;	/* the search, iterative */
	unsigned char		*cut;		/* articulation points */
	int			*comp;		/* a part, for the sentences */
	int			 clock;
	int			 found;
	topo_say_fn		*say;
	void			*arg;
};

static void
topo_say(struct topo *t, const char *msg)
{
	t->found++;
	t->say(t->arg, msg);
}

static size_t
topo_deg(const struct topo *t, size_t v)
{
	return t->cf->servers[v].nneighbors;
}

static size_t
topo_nb(const struct topo *t, size_t v, size_t i)
{
	return t->cf->servers[v].neighbors[i];
}

static const char *
topo_name(const struct topo *t, size_t v)
{
	return t->cf->servers[v].name;
}

/*
 * Label t->comp with the part of each server reached from start without
 * crossing server skip or the link skip_a-skip_b ((size_t)-1: none).
 */
static void
topo_fill(struct topo *t, size_t start, int label, size_t skip,
    size_t skip_a, size_t skip_b)
{
	size_t	 sp = 0, v, w, i;

	t->comp[start] = label;
	t->stack[sp++] = start;
	while (sp > 0) {
		v = t->stack[--sp];
		for (i = 0; i < topo_deg(t, v); i++) {
			w = topo_nb(t, v, i);
			if (w == skip || t->comp[w] != -1 ||
			    (v == skip_a && w == skip_b) ||
			    (v == skip_b && w == skip_a))
				continue;
			t->comp[w] = label;
			t->stack[sp++] = w;
		}
	}
}

/* The names of part label into buf: "A, B and C", or "A, B ... and 9 more". */
static void
topo_part(const struct topo *t, int label, char *buf, size_t len)
{
	size_t	 v, shown = 0, total = 0, o = 0;
	int	 w;

	for (v = 0; v < t->n; v++)
		total += t->comp[v] == label;
	buf[0] = '\0';
	for (v = 0; v < t->n && o < len; v++) {
		if (t->comp[v] != label)
			continue;
		if (shown == TOPO_NAMES_SHOWN) {
			snprintf(buf + o, len - o, " and %zu more",
			    total - shown);
			return;
		}
		w = snprintf(buf + o, len - o, "%s%s", shown == 0 ? "" :
		    shown + 1 == total ? " and " : ", ", topo_name(t, v));
		if (w < 0)
			return;
		o += (size_t)w;
		shown++;
	}
}

/* 1 when part label is one server with a single link: named already. */
static int
topo_leaf_part(const struct topo *t, int label)
{
	size_t	 v, count = 0, leaf = 0;

	for (v = 0; v < t->n; v++)
		if (t->comp[v] == label) {
			count++;
			leaf = v;
		}
	return count == 1 && topo_deg(t, leaf) == 1;
}

/* 1 when a neighbour of v is in part label. */
static int
topo_touches(const struct topo *t, size_t v, int label)
{
	size_t	 i;

	for (i = 0; i < topo_deg(t, v); i++)
		if (t->comp[topo_nb(t, v, i)] == label)
			return 1;
	return 0;
}

/* The low-link search from root: order, low, parent and cut. */
static void
topo_search(struct topo *t, size_t root)
{
	size_t	 sp = 0, v, w, children = 0;

	t->order[root] = t->low[root] = t->clock++;
	t->parent[root] = -1;
	t->stack[sp++] = root;
	t->next[root] = 0;
	while (sp > 0) {
		v = t->stack[sp - 1];
		if (t->next[v] < topo_deg(t, v)) {
			w = topo_nb(t, v, t->next[v]++);
			if (t->order[w] == -1) {
				t->parent[w] = (int)v;
				t->order[w] = t->low[w] = t->clock++;
				t->next[w] = 0;
				t->stack[sp++] = w;
				if (v == root)
					children++;
			} else if ((int)w != t->parent[v] &&
			    t->order[w] < t->low[v])
				t->low[v] = t->order[w];
			continue;
		}
		sp--;
		if (t->parent[v] >= 0) {
			w = (size_t)t->parent[v];
			if (t->low[v] < t->low[w])
				t->low[w] = t->low[v];
			if (w != root && t->low[v] >= t->order[w])
				t->cut[w] = 1;
		}
	}
	if (children > 1)
		t->cut[root] = 1;
}

/* The parts of the herd without server skip (or link a-b); the count. */
static int
topo_parts(struct topo *t, size_t skip, size_t a, size_t b)
{
	size_t	 v;
	int	 parts = 0;

	for (v = 0; v < t->n; v++)
		t->comp[v] = -1;
	for (v = 0; v < t->n; v++)
		if (v != skip && t->comp[v] == -1)
			topo_fill(t, v, parts++, skip, a, b);
	return parts;
}

static void
topo_cut_off(struct topo *t, size_t v)
{
	char	 msg[TOPO_MSG_MAX], part[512], rest[512];
	int	 parts, p, big = 0, count, most = -1;
	size_t	 u;

	parts = topo_parts(t, v, (size_t)-1, (size_t)-1);
	for (p = 0; p < parts; p++) {
		if (!topo_touches(t, v, p))
			continue;	/* another part of the herd already */
		for (count = 0, u = 0; u < t->n; u++)
			count += t->comp[u] == p;
		if (count > most) {
			most = count;
			big = p;
		}
	}
	for (p = 0; p < parts; p++) {
		if (p == big || !topo_touches(t, v, p) ||
		    topo_leaf_part(t, p))
			continue;
		topo_part(t, p, part, sizeof(part));
		topo_part(t, big, rest, sizeof(rest));
		snprintf(msg, sizeof(msg), "if %s is down, the herd splits: "
		    "%s hear%s no updates from %s", topo_name(t, v), part,
		    strchr(part, ' ') ? "" : "s", rest);
		topo_say(t, msg);
	}
}

static void
topo_bridges(struct topo *t)
{
	char	 msg[TOPO_MSG_MAX], pa[512], pb[512];
	size_t	 v, w;

	for (w = 0; w < t->n; w++) {
		if (t->parent[w] < 0 || t->low[w] <= t->order[t->parent[w]])
			continue;
		v = (size_t)t->parent[w];	/* v-w is a bridge */
		if (topo_deg(t, v) == 1 || topo_deg(t, w) == 1)
			continue;		/* a single link: named */
		(void)topo_parts(t, (size_t)-1, v, w);
		topo_part(t, t->comp[v], pa, sizeof(pa));
		topo_part(t, t->comp[w], pb, sizeof(pb));
		snprintf(msg, sizeof(msg), "if the link %s-%s is down, the "
		    "herd splits in two: %s on one side, %s on the other",
		    topo_name(t, v), topo_name(t, w), pa, pb);
		topo_say(t, msg);
	}
}

int
topo_weak_spots(const struct herd_conf *cf, topo_say_fn *say, void *arg)
{
	struct topo	 t;
	char		 msg[TOPO_MSG_MAX], part[512];
	size_t		 v;
	int		 parts, p;

	if (cf->nservers < 2)
		return 0;
	memset(&t, 0, sizeof(t));
	t.cf = cf;
	t.n = cf->nservers;
	t.say = say;
	t.arg = arg;
	t.order = calloc(t.n, sizeof(*t.order));
	t.low = calloc(t.n, sizeof(*t.low));
	t.parent = calloc(t.n, sizeof(*t.parent));
	t.comp = calloc(t.n, sizeof(*t.comp));
	t.stack = calloc(t.n, sizeof(*t.stack));
	t.next = calloc(t.n, sizeof(*t.next));
	t.cut = calloc(t.n, 1);
	if (t.order == NULL || t.low == NULL || t.parent == NULL ||
	    t.comp == NULL || t.stack == NULL || t.next == NULL ||
	    t.cut == NULL) {
		t.found = -1;
		goto done;
	}
	if ((parts = topo_parts(&t, (size_t)-1, (size_t)-1,
	    (size_t)-1)) > 1) {
		for (p = 0; p < parts; p++) {
			topo_part(&t, p, part, sizeof(part));
			snprintf(msg, sizeof(msg), "the herd is in %d parts that "
			    "no link joins: part %d is %s", parts, p + 1, part);
			topo_say(&t, msg);
		}
	}
	for (v = 0; v < t.n; v++) {
		if (topo_deg(&t, v) == 0) {
			snprintf(msg, sizeof(msg), "%s has no link: it hears "
			    "no updates from the others", topo_name(&t, v));
			topo_say(&t, msg);
		} else if (topo_deg(&t, v) == 1) {
			snprintf(msg, sizeof(msg), "%s has one link (%s): if "
			    "%s is down, %s hears no updates", topo_name(&t, v),
			    topo_name(&t, topo_nb(&t, v, 0)),
			    topo_name(&t, topo_nb(&t, v, 0)), topo_name(&t, v));
			topo_say(&t, msg);
		}
	}
	for (v = 0; v < t.n; v++)
		t.order[v] = -1;
	for (v = 0; v < t.n; v++)
		if (t.order[v] == -1)
			topo_search(&t, v);
	for (v = 0; v < t.n; v++)
		if (t.cut[v])
			topo_cut_off(&t, v);
	topo_bridges(&t);
done:
	free(t.order);
	free(t.low);
	free(t.parent);
	free(t.comp);
	free(t.stack);
	free(t.next);
	free(t.cut);
	return t.found;
}
