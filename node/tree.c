/*
 * tree.c -- the broadcast tree (herd-protocol(7) BROADCAST): which of
 * the neighbours' streams carry updates and which only notices, decided
 * here and kept in each neighbour (neighbour.h).  The transports below
 * report what the neighbours say (peer_ctx's ops, through peer.c); this
 * file answers on them (link.c's stream, pconn_queue).
 *
 * Our streams (the sending side): a neighbour's PRUNE turns our stream to
 * it lazy (lazy_out: notices, IHAVE, in place of updates; link_notice.c),
 * its GRAFT eager again, resending from where it says.  When the mesh
 * changes (a link or a neighbour's connection comes or goes, or a
 * neighbour says EAGER), every stream is eager for PEER_EAGER_S and none
 * is pruned, and EAGER goes out on each (tree_unsettle).
 *
 * Their streams (the receiving side): a notice names the newest record
 * passed of each origin.  The position it gives becomes the mark (where a
 * reconnect resumes) only when every record named is held, no earlier
 * notice's record is still lacking, and PEER_SETTLE_S has passed since: a
 * record on its way by another link, in another order, has come by then.
 * A record lacking PEER_GRAFT_S after its notice makes us GRAFT the link
 * from the mark: the neighbour sends eagerly again, and again what came
 * after the mark; positions that were on their way before it heard the
 * GRAFT are ignored until the SEQ it answers with.  An update that comes
 * twice prunes the stream that brought it second, unless no other stream
 * brings us updates -- or the first, when its sender is farther from the
 * update's origin in the configured mesh (hops.c); and none when the
 * second's sender is farther from the origin than we are and our stream
 * to it is eager (it came back: ours reaches it, and it chooses there).
 * So the tree's paths are the mesh's shortest, whichever copy the
 * scheduler let in first (Plumtree's optimisation, with hop counts known
 * from herd.ini rather than carried in each message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "hops.h"
#include "journal.h"
#include "link_int.h"
#include "log.h"
#include "neighbour.h"
#include "pconn_int.h"
#include "peer_ctx.h"
#include "proto.h"
#include "store.h"
#include "tree.h"
#include "update.h"

static ev_tstamp	 tree_last_graft;	/* any connection's */
static uint8_t		*tree_hopt;		/* the mesh's hop counts */

enum { TREE_BROKE = 1, TREE_NO_WAY_IN };	/* tree_in's force */

static void	 tree_graft_cb(struct ev_loop *, ev_timer *, int);
static void	 tree_graft_soon(struct neighbour *, int);
static void	 tree_set_out(struct neighbour *, int);

static void
tree_miss_clear(struct tree_in *t)
{
	t->nmiss = 0;
	t->overflow = 0;
	t->have_pend = 0;
	t->deferred = 0;
	ev_timer_stop(peer_ctx.loop, &t->gtimer);
}

void
tree_from(struct neighbour *nb, uint64_t lseq)
{
	struct tree_in	*t = &nb->tree;

	tree_miss_clear(t);
	t->held = lseq;
	t->cand_at = t->next_at = 0;
	t->exact = 1;
	t->grafting = 0;
	t->force = 0;
	t->eager_in = 0;
	t->lazy_in = 0;		/* every link starts eager */
}


/* The receiving side: the neighbours' streams to us. */

/* Its stream is held up to lseq: the mark (journal.h). */
static void
tree_mark(struct neighbour *nb, uint64_t lseq)
{
	struct pconn	*p = nb->in;

	nb->tree.held = lseq;
	if (p->have_from && p->full)
		p->full_seq = lseq;
	else if (p->have_from)
		journal_mark_set(nb->srv->name, p->epoch, lseq);
}

/*
 * The neighbours other than nb whose stream is a way in for updates: up,
 * streaming, not lazy.
 */
static size_t
tree_eager_ways(const struct neighbour *nb)
{
	const struct neighbour	*o;
	size_t			 i, n = 0;

	for (i = 0; i < peer_ctx.conf->nservers; i++) {
		o = &peer_ctx.nbs[i];
		n += o != nb && o->in != NULL && o->in->have_from &&
		    !o->in->closing && !o->tree.lazy_in;
	}
	return n;
}

/* A mark of its own (a SEQ after the records it covers): at once. */
static void
tree_mark_now(struct neighbour *nb, uint64_t pos)
{
	struct tree_in	*t = &nb->tree;

	tree_mark(nb, pos);
	if (t->next_at != 0 && t->next <= pos)
		t->next_at = 0;
	if (t->cand_at != 0 && t->cand <= pos) {
		t->cand = t->next;
		t->cand_at = t->next_at;
		t->next_at = 0;
	}
}

/* Candidates seen PEER_SETTLE_S ago become the mark. */
static void
tree_settle(struct neighbour *nb)
{
	struct tree_in	*t = &nb->tree;
	ev_tstamp		 now = ev_now(peer_ctx.loop);

	while (t->cand_at != 0 && now - t->cand_at >= PEER_SETTLE_S) {
		if (t->cand > t->held)
			tree_mark(nb, t->cand);
		t->cand = t->next;
		t->cand_at = t->next_at;
		t->next_at = 0;
	}
}

static void
tree_candidate(struct neighbour *nb, uint64_t pos)
{
	struct tree_in	*t = &nb->tree;

	tree_settle(nb);
	if (t->cand_at == 0) {
		t->cand = pos;
		t->cand_at = ev_now(peer_ctx.loop);
	} else {
		t->next = pos;
		t->next_at = ev_now(peer_ctx.loop);
	}
}

void
tree_tick(struct neighbour *nb)
{
	if (nb->in != NULL)
		tree_settle(nb);
}

/* The records told of that came, oldest first: their positions are held. */
static void
tree_resolve(struct neighbour *nb)
{
	struct tree_in	*t = &nb->tree;
	size_t			 k = 0;

	while (k < t->nmiss && update_seen(t->miss[k].h))
		k++;
	if (k == 0)
		return;
	tree_candidate(nb, t->miss[k - 1].pos);
	memmove(&t->miss[0], &t->miss[k], (t->nmiss - k) *
	    sizeof(t->miss[0]));
	t->nmiss -= k;
	if (t->nmiss == 0 && !t->overflow) {
		if (t->have_pend)
			tree_candidate(nb, t->pend);
		t->have_pend = 0;
		t->deferred = 0;
		ev_timer_stop(peer_ctx.loop, &t->gtimer);
	}
}

/*
 * Track a record told of at pos that has not come (past TREE_MISS_MAX,
 * only that there is more: then the GRAFT is certain).
 */
static void
tree_lacks(struct neighbour *nb, uint32_t h, uint64_t pos)
{
	struct tree_in	*t = &nb->tree;

	if (t->nmiss == TREE_MISS_MAX)
		t->overflow = 1;
	else {
		t->miss[t->nmiss].h = h;
		t->miss[t->nmiss++].pos = pos;
	}
	if (!ev_is_active(&t->gtimer)) {
		ev_timer_set(&t->gtimer, PEER_GRAFT_S, 0.);
		ev_timer_start(peer_ctx.loop, &t->gtimer);
	}
}

void
tree_position(struct neighbour *nb, const struct proto_peer *msg)
{
	struct tree_in	*t = &nb->tree;
	int		 seq = msg->type == PEER_SEQ, ok = 1, waiting;
	size_t		 i;

	if (nb->in == NULL)
		return;
	if (t->grafting) {
		/* what it sent before it heard our GRAFT says nothing */
		if (seq && msg->lseq <= t->graft_pos) {
			t->grafting = 0;
			t->exact = 1;
			tree_mark_now(nb, msg->lseq);
		}
		return;
	}
	if (!seq && !t->lazy_in) {
		t->exact = t->eager_in = 0;	/* its link turned lazy */
		t->lazy_in = 1;
		/* prunes never leave us with no eager way in: graft it back */
		if (peer_ctx.conf->broadcast == HERD_BROADCAST_TREE &&
		    tree_eager_ways(nb) == 0)
			tree_graft_soon(nb, TREE_NO_WAY_IN);
	} else if (!seq)
		t->exact = t->eager_in = 0;
	tree_resolve(nb);
	waiting = t->nmiss > 0 || t->overflow;
	for (i = 0; i < msg->nhave; i++)
		if (!update_seen(msg->have[i])) {
			ok = 0;
			tree_lacks(nb, msg->have[i], msg->lseq);
		}
	if (!ok)
		t->have_pend = 0;
	else if (waiting) {
		t->pend = msg->lseq;
		t->have_pend = 1;
	} else if (seq && t->exact)
		tree_mark_now(nb, msg->lseq);
	else
		tree_candidate(nb, msg->lseq);
}

/* GRAFT the neighbour's link (and ours to it), saying why in our log. */
static void
tree_graft(struct neighbour *nb, const char *why)
{
	struct tree_in	*t = &nb->tree;
	char		 buf[48];
	int		 n;

	log_info("peer %s: %s: grafting its link into the tree", nb->srv->name,
	    why);
	tree_miss_clear(t);
	t->force = 0;
	t->lazy_in = 0;
	t->grafting = 1;
	t->graft_pos = t->held;
	t->cand_at = t->next_at = 0;
	tree_last_graft = ev_now(peer_ctx.loop);
	COUNT(GRAFT);
	tree_set_out(nb, 0);
	n = snprintf(buf, sizeof(buf), "GRAFT %llu\n",
	    (unsigned long long)t->held);
	pconn_queue(nb->in, buf, (size_t)n, 1);
}

/*
 * A notice's record did not come in time, or the tree broke elsewhere
 * (force): GRAFT.  When another connection grafted just now, it may bring
 * the record: this one waits once, half as long again.
 */
static void
tree_graft_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct neighbour	*nb = w->data;
	struct tree_in		*t = &nb->tree;
	char			 why[160];

	(void)revents;
	if (nb->in == NULL || nb->in->closing || !nb->in->have_from ||
	    !(nb->in->feat & PEER_F_TREE) || t->grafting)
		return;
	if (t->force) {
		tree_graft(nb, t->force == TREE_BROKE ? "the tree broke at a "
		    "neighbour" : "it turned lazy, and no other link sends us "
		    "updates");
		return;
	}
	tree_resolve(nb);
	if (t->nmiss == 0 && !t->overflow)
		return;
	if (!t->deferred && ev_now(loop) - tree_last_graft < PEER_GRAFT_S / 2) {
		t->deferred = 1;
		ev_timer_set(&t->gtimer, PEER_GRAFT_S / 2, 0.);
		ev_timer_start(loop, &t->gtimer);
		return;
	}
	if (t->nmiss > 0)
		snprintf(why, sizeof(why), "told of update %08x, which has "
		    "not come in %.0f ms", (unsigned)t->miss[0].h,
		    (t->deferred ? 1.5 : 1.0) * PEER_GRAFT_S * 1000);
	else
		snprintf(why, sizeof(why), "told of more updates that have "
		    "not come than we track");
	tree_graft(nb, why);
}

/*
 * GRAFT nb's stream from the loop, not here (a GRAFT's write may close
 * it); why: TREE_BROKE or TREE_NO_WAY_IN.
 */
static void
tree_graft_soon(struct neighbour *nb, int why)
{
	nb->tree.force = why;
	ev_timer_stop(peer_ctx.loop, &nb->tree.gtimer);
	ev_timer_set(&nb->tree.gtimer, 0., 0.);
	ev_timer_start(peer_ctx.loop, &nb->tree.gtimer);
}

/*
 * gone's stream carried live updates and has closed: graft the others'
 * lazy streams (from the loop, not here: a GRAFT's write may close one).
 */
static void
tree_broken(const struct neighbour *gone)
{
	struct neighbour	*o;
	size_t			 i;
	int			 n = 0;

	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE)
		return;
	for (i = 0; i < peer_ctx.conf->nservers; i++) {
		o = &peer_ctx.nbs[i];
		if (o != gone && o->in != NULL && o->in->have_from &&
		    (o->in->feat & PEER_F_TREE) &&
		    !o->in->catching && !o->in->closing &&
		    !o->tree.eager_in && !o->tree.grafting) {
			tree_graft_soon(o, TREE_BROKE);
			n++;
		}
	}
	if (n > 0)
		log_info("peer %s: its connection carried the tree's updates: "
		    "grafting %d lazy link%s", gone->srv->name, n,
		    n == 1 ? "" : "s");
}

void
tree_gone(struct neighbour *nb, int quiet)
{
	int	 carried = nb->tree.eager_in;

	tree_miss_clear(&nb->tree);
	nb->tree.force = 0;
	nb->tree.eager_in = nb->tree.lazy_in = 0;
	nb->tree.grafting = 0;
	nb->tree.cand_at = nb->tree.next_at = 0;
	nb->tree.last_prune = 0;
	if (carried && !quiet)
		tree_broken(nb);
}

/* Their stream to us sends notices only from now on: PRUNE. */
static void
tree_prune(struct neighbour *nb)
{
	struct tree_in	*t = &nb->tree;

	t->last_prune = ev_now(peer_ctx.loop);
	t->eager_in = 0;
	t->lazy_in = 1;
	COUNT(PRUNE);
	tree_set_out(nb, 1);
	pconn_queue(nb->in, "PRUNE\n", 6, 0);
}

/*
 * The neighbour other than nb whose stream brought r first, if that
 * stream is still a way in for updates and speaks of trees; else NULL.
 */
static struct neighbour *
tree_first(const struct neighbour *nb, const struct store_rec *r)
{
	struct neighbour	*f;

	if (r->src < 0 || (size_t)r->src >= peer_ctx.conf->nservers)
		return NULL;
	f = &peer_ctx.nbs[r->src];
	if (f == nb || f->in == NULL || !f->in->have_from || f->in->closing ||
	    f->in->catching || f->tree.lazy_in || !(f->in->feat & PEER_F_TREE))
		return NULL;
	return f;
}

/* The index of the server that took the update (its origin), or -1. */
static int
tree_origin(const struct proto_at *at)
{
	const struct herd_server	*s;
	char				 name[HERD_NAME_MAX + 1];

	if (at->server.len > HERD_NAME_MAX)
		return -1;
	memcpy(name, at->server.p, at->server.len);
	name[at->server.len] = '\0';
	if ((s = conf_server(peer_ctx.conf, name)) == NULL)
		return -1;
	return (int)(s - peer_ctx.conf->servers);
}

/* This server's index in the herd. */
static int
tree_self(void)
{
	return (int)(peer_ctx.self - peer_ctx.conf->servers);
}

/* Links between two servers in the configured mesh (HOPS_FAR: none). */
static unsigned
tree_hops(int from, int to)
{
	if (tree_hopt == NULL && (tree_hopt = hops_table(peer_ctx.conf)) == NULL)
		return HOPS_FAR;	/* out of memory: every way the same */
	return hops_between(tree_hopt, peer_ctx.conf->nservers, (size_t)from,
	    (size_t)to);
}

void
tree_update(struct neighbour *nb, const struct proto_at *at,
    const char *line, size_t len, int stored, int again)
{
	struct tree_in		*t = &nb->tree;
	const struct store_rec	*r;
	struct neighbour	*first;
	int			 o;

	if (again || nb->in == NULL || nb->in->catching)
		return;
	t->lazy_in = 0;			/* a live update: its link is eager */
	if (stored == 1) {
		t->eager_in = 1;	/* it brought this one first */
		return;
	}
	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE ||
	    !(nb->in->feat & PEER_F_TREE) || peer_unsettled() ||
	    ev_now(peer_ctx.loop) - t->last_prune < PEER_PRUNE_S ||
	    (r = store_get(at->id.p, at->id.len)) == NULL ||
	    r->atlen != len || memcmp(r->at, line, len) != 0)
		return;
	/* the very same line came first by another link: one is not needed */
	o = tree_origin(at);
	if (o >= 0 && tree_hops(nb->idx, o) > tree_hops(tree_self(), o) &&
	    nb->out != NULL && nb->out->state == LINK_UP && !nb->lazy_out &&
	    (nb->out->feat & PEER_F_TREE))
		return;		/* it came back from farther: ours will reach
				   it, and it prunes the worse of its ways */
	if (o >= 0 && (first = tree_first(nb, r)) != NULL &&
	    tree_hops(nb->idx, o) < tree_hops(first->idx, o)) {
		/* this one's sender is nearer the origin: prune the first */
		if (ev_now(peer_ctx.loop) - first->tree.last_prune <
		    PEER_PRUNE_S)
			return;
		log_info("an update from %s came first from %s, %u link%s "
		    "from it, then from %s, %u: %s's stream pruned",
		    peer_ctx.conf->servers[o].name, first->srv->name,
		    tree_hops(first->idx, o),
		    tree_hops(first->idx, o) == 1 ? "" : "s", nb->srv->name,
		    tree_hops(nb->idx, o), first->srv->name);
		tree_prune(first);
		t->eager_in = 1;
		return;
	}
	if (tree_eager_ways(nb) == 0)
		return;			/* the other is gone: keep this one */
	tree_prune(nb);
}

/* The sending side: our streams to the neighbours. */

/* 1 when our stream to nb may turn lazy: a tree's, caught up, not resending. */
static int
tree_can_prune(const struct neighbour *nb)
{
	const struct link	*l = nb->out;

	return l != NULL && peer_ctx.conf->broadcast == HERD_BROADCAST_TREE &&
	    (l->feat & PEER_F_TREE) &&
	    !peer_unsettled() && l->state == LINK_UP && !l->catching &&
	    store_cursor_pos(&l->cur) >= l->resend_upto;
}

/*
 * Our stream to nb sends notices only (lazy 1), or updates again (0), as
 * its stream to us was just pruned or grafted.  Nothing when flooding, or
 * while the link is down or catching up.
 */
static void
tree_set_out(struct neighbour *nb, int lazy)
{
	struct link	*l = nb->out;

	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE || l == NULL ||
	    nb->lazy_out == lazy || (lazy && !tree_can_prune(nb)) ||
	    (!lazy && (l->state != LINK_UP || l->catching)))
		return;
	nb->lazy_out = lazy;
	if (!lazy && !ev_is_active(&l->wio))
		link_pump(l);		/* what waited for its notice */
}

void
tree_grafted(struct neighbour *nb, const struct proto_peer *msg)
{
	struct link	*l = nb->out;

	nb->lazy_out = 0;
	if (link_resend(l, msg->lseq) == -1)
		link_down(l, "out of memory");
	else if (!ev_is_active(&l->wio))
		link_pump(l);
}

void
tree_pruned(struct neighbour *nb)
{
	if (!tree_can_prune(nb))
		return;		/* flooding, catching up, resending: eagerly */
	if (!nb->lazy_out)
		log_debug("link to %s: pruned from the tree", nb->srv->name);
	nb->lazy_out = 1;
}

void
tree_unsettle(const char *why)
{
	ev_tstamp	 until = ev_now(peer_ctx.loop) + PEER_EAGER_S;
	struct link	*l;
	size_t		 i, n = 0;
	int		 spread;

	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE)
		return;
	/* a wave already passed here lately: it has gone on from here */
	spread = until - peer_ctx.eager_until >= PEER_EAGER_S / 2;
	if (until > peer_ctx.eager_until)
		peer_ctx.eager_until = until;
	if (!spread)
		return;
	for (i = 0; i < peer_ctx.conf->nservers; i++) {
		if ((l = peer_ctx.nbs[i].out) == NULL || l->state != LINK_UP)
			continue;
		peer_ctx.nbs[i].lazy_out = 0;
		ev_timer_stop(peer_ctx.loop, &l->ntimer);
		if (!(l->feat & PEER_F_TREE))
			continue;	/* it does not speak of trees: it floods */
		/* before any update it sends from now on: in the stream */
		if (outbuf_add(&l->out, "EAGER\n", 6) == -1)
			continue;	/* out of memory: notices repair it */
		COUNT(EAGER);
		n++;
		if (!ev_is_active(&l->wio))
			link_pump(l);
	}
	log_info("%s: every link sends updates for %.0f s (EAGER to %zu)",
	    why, PEER_EAGER_S, n);
}

void
tree_init(struct neighbour *nb)
{
	ev_timer_init(&nb->tree.gtimer, tree_graft_cb, PEER_GRAFT_S, 0.);
	nb->tree.gtimer.data = nb;
}

void
tree_stop(struct neighbour *nb)
{
	ev_timer_stop(peer_ctx.loop, &nb->tree.gtimer);
}

void
tree_shutdown(void)
{
	free(tree_hopt);
	tree_hopt = NULL;
}
