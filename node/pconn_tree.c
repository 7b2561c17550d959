/*
 * pconn_tree.c -- the broadcast tree's receiving side of a neighbour's
 * connection (herd-protocol(7) BROADCAST): what its notices (IHAVE) tell
 * of that has not come, the GRAFT when it does not come in time, the PRUNE
 * for an update that came twice, and the marks a lazy link's positions
 * give.
 *
 * A notice names the newest record passed of each origin.  The position
 * it gives becomes the mark (where a reconnect resumes) only when every
 * record named is held, no earlier notice's record is still lacking, and
 * PEER_SETTLE_S has passed since: a record on its way by another link, in
 * another order, has come by then.  A record lacking PEER_GRAFT_S after
 * its notice makes us GRAFT the link from the mark: the neighbour sends
 * eagerly again, and again what came after the mark; positions that were
 * on their way before it heard the GRAFT are ignored until the SEQ it
 * answers with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "log.h"
#include "pconn_int.h"
#include "peer_ctx.h"
#include "proto.h"
#include "store.h"
#include "update.h"

static ev_tstamp	 tree_last_graft;	/* any connection's */

enum { TREE_BROKE = 1, TREE_NO_WAY_IN };	/* pconn_tree's force */

static void	 tree_graft_cb(struct ev_loop *, ev_timer *, int);
static void	 tree_graft_soon(struct pconn *, int);

void
pconn_tree_init(struct pconn *p, struct pconn_list *all)
{
	p->tree.all = all;
	ev_timer_init(&p->tree.gtimer, tree_graft_cb, PEER_GRAFT_S, 0.);
	p->tree.gtimer.data = p;
}

static void
tree_miss_clear(struct pconn_tree *t)
{
	t->nmiss = 0;
	t->overflow = 0;
	t->have_pend = 0;
	t->deferred = 0;
	ev_timer_stop(peer_ctx.loop, &t->gtimer);
}

void
pconn_tree_free(struct pconn *p)
{
	tree_miss_clear(&p->tree);
	p->tree.force = 0;
}

void
pconn_tree_from(struct pconn *p, uint64_t lseq)
{
	struct pconn_tree	*t = &p->tree;

	tree_miss_clear(t);
	t->held = lseq;
	t->cand_at = t->next_at = 0;
	t->exact = 1;
	t->grafting = 0;
	t->force = 0;
	t->eager_in = 0;
	t->lazy_in = 0;		/* every link starts eager */
}

/* Its stream is held up to lseq: the mark (journal.h). */
static void
tree_mark(struct pconn *p, uint64_t lseq)
{
	p->tree.held = lseq;
	if (p->have_from && p->full)
		p->full_seq = lseq;
	else if (p->have_from)
		journal_mark_set(p->srv->name, p->epoch, lseq);
}

/*
 * The connections other than p that are ways in for updates: up,
 * streaming, not lazy.
 */
static size_t
tree_eager_ways(const struct pconn *p)
{
	const struct pconn	*q;
	size_t			 n = 0;

	LIST_FOREACH(q, p->tree.all, entry)
		n += q != p && q->have_from && !q->closing && !q->tree.lazy_in;
	return n;
}

/*
 * A line of ours on p: queued and written; what the socket does not take,
 * or a failure, is the write callback's (pconn.c), which closes p then.
 */
static void
tree_send(struct pconn *p, const char *buf, size_t len, int log)
{
	if (log)
		log_line(p->tag_sent, buf, len - 1);
	if (outbuf_add(&p->out, buf, len) == -1)
		p->closing = 1;		/* out of memory: close it */
	else if (peer_write(&p->out, p->fd) == 0)
		return;
	ev_io_start(peer_ctx.loop, &p->wio);
}

/* A mark of its own (a SEQ after the records it covers): at once. */
static void
tree_mark_now(struct pconn *p, uint64_t pos)
{
	struct pconn_tree	*t = &p->tree;

	tree_mark(p, pos);
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
tree_settle(struct pconn *p)
{
	struct pconn_tree	*t = &p->tree;
	ev_tstamp		 now = ev_now(peer_ctx.loop);

	while (t->cand_at != 0 && now - t->cand_at >= PEER_SETTLE_S) {
		if (t->cand > t->held)
			tree_mark(p, t->cand);
		t->cand = t->next;
		t->cand_at = t->next_at;
		t->next_at = 0;
	}
}

static void
tree_candidate(struct pconn *p, uint64_t pos)
{
	struct pconn_tree	*t = &p->tree;

	tree_settle(p);
	if (t->cand_at == 0) {
		t->cand = pos;
		t->cand_at = ev_now(peer_ctx.loop);
	} else {
		t->next = pos;
		t->next_at = ev_now(peer_ctx.loop);
	}
}

void
pconn_tree_tick(struct pconn *p)
{
	tree_settle(p);
}

/* The records told of that came, oldest first: their positions are held. */
static void
tree_resolve(struct pconn *p)
{
	struct pconn_tree	*t = &p->tree;
	size_t			 k = 0;

	while (k < t->nmiss && update_seen(t->miss[k].h))
		k++;
	if (k == 0)
		return;
	tree_candidate(p, t->miss[k - 1].pos);
	memmove(&t->miss[0], &t->miss[k], (t->nmiss - k) *
	    sizeof(t->miss[0]));
	t->nmiss -= k;
	if (t->nmiss == 0 && !t->overflow) {
		if (t->have_pend)
			tree_candidate(p, t->pend);
		t->have_pend = 0;
		t->deferred = 0;
		ev_timer_stop(peer_ctx.loop, &t->gtimer);
	}
}

/*
 * Track a record told of at pos that has not come (past PCONN_MISS_MAX,
 * only that there is more: then the GRAFT is certain).
 */
static void
tree_lacks(struct pconn *p, uint32_t h, uint64_t pos)
{
	struct pconn_tree	*t = &p->tree;

	if (t->nmiss == PCONN_MISS_MAX)
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

int
pconn_tree_position(struct pconn *p, const struct proto_peer *msg)
{
	struct pconn_tree	*t = &p->tree;
	int			 seq = msg->type == PEER_SEQ, ok = 1, waiting;
	size_t			 i;

	if (t->grafting) {
		/* what it sent before it heard our GRAFT says nothing */
		if (seq && msg->lseq <= t->graft_pos) {
			t->grafting = 0;
			t->exact = 1;
			tree_mark_now(p, msg->lseq);
		}
		return 0;
	}
	if (!seq && !t->lazy_in) {
		t->exact = t->eager_in = 0;	/* its link turned lazy */
		t->lazy_in = 1;
		/* prunes never leave us with no eager way in: graft it back */
		if (peer_ctx.conf->broadcast == HERD_BROADCAST_TREE &&
		    tree_eager_ways(p) == 0)
			tree_graft_soon(p, TREE_NO_WAY_IN);
	} else if (!seq)
		t->exact = t->eager_in = 0;
	tree_resolve(p);
	waiting = t->nmiss > 0 || t->overflow;
	for (i = 0; i < msg->nhave; i++)
		if (!update_seen(msg->have[i])) {
			ok = 0;
			tree_lacks(p, msg->have[i], msg->lseq);
		}
	if (!ok)
		t->have_pend = 0;
	else if (waiting) {
		t->pend = msg->lseq;
		t->have_pend = 1;
	} else if (seq && t->exact)
		tree_mark_now(p, msg->lseq);
	else
		tree_candidate(p, msg->lseq);
	return 0;
}

/* GRAFT the neighbour's link (and ours to it), saying why in our log. */
static void
tree_graft(struct pconn *p, const char *why)
{
	struct pconn_tree	*t = &p->tree;
	char			 buf[48];
	int			 n;

	log_info("peer %s: %s: grafting its link into the tree", p->srv->name,
	    why);
	tree_miss_clear(t);
	t->force = 0;
	t->lazy_in = 0;
	t->grafting = 1;
	t->graft_pos = t->held;
	t->cand_at = t->next_at = 0;
	tree_last_graft = ev_now(peer_ctx.loop);
	COUNT(GRAFT);
	peer_ctx.hooks.tree_set(p->srv, 0);
	n = snprintf(buf, sizeof(buf), "GRAFT %llu\n",
	    (unsigned long long)t->held);
	tree_send(p, buf, (size_t)n, 1);
}

/*
 * A notice's record did not come in time, or the tree broke elsewhere
 * (force): GRAFT.  When another connection grafted just now, it may bring
 * the record: this one waits once, half as long again.
 */
static void
tree_graft_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pconn		*p = w->data;
	struct pconn_tree	*t = &p->tree;
	char			 why[160];

	(void)revents;
	if (p->closing || !p->have_from || t->grafting)
		return;
	if (t->force) {
		tree_graft(p, t->force == TREE_BROKE ? "the tree broke at a "
		    "neighbour" : "it turned lazy, and no other link sends us "
		    "updates");
		return;
	}
	tree_resolve(p);
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
	tree_graft(p, why);
}

/*
 * GRAFT p from the loop, not here (a GRAFT's write may close it); why:
 * TREE_BROKE or TREE_NO_WAY_IN.
 */
static void
tree_graft_soon(struct pconn *p, int why)
{
	p->tree.force = why;
	ev_timer_stop(peer_ctx.loop, &p->tree.gtimer);
	ev_timer_set(&p->tree.gtimer, 0., 0.);
	ev_timer_start(peer_ctx.loop, &p->tree.gtimer);
}

void
pconn_tree_broken(struct pconn_list *all, const struct pconn *gone)
{
	struct pconn	*q;
	int		 n = 0;

	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE)
		return;
	/* from the loop, not here: a GRAFT's write may close q */
	LIST_FOREACH(q, all, entry)
		if (q != gone && q->srv != NULL && q->have_from &&
		    !q->catching && !q->closing && !q->tree.eager_in &&
		    !q->tree.grafting) {
			tree_graft_soon(q, TREE_BROKE);
			n++;
		}
	if (n > 0)
		log_info("peer %s: its connection carried the tree's updates: "
		    "grafting %d lazy link%s", gone->srv->name, n,
		    n == 1 ? "" : "s");
}

int
pconn_tree_update(struct pconn *p, const char *id, size_t idlen,
    const char *line, size_t len, int stored, int again)
{
	struct pconn_tree	*t = &p->tree;
	const struct store_rec	*r;

	if (again || p->catching)
		return 0;
	t->lazy_in = 0;			/* a live update: its link is eager */
	if (stored == 1) {
		t->eager_in = 1;	/* it brought this one first */
		return 0;
	}
	if (peer_ctx.conf->broadcast != HERD_BROADCAST_TREE ||
	    peer_unsettled() ||
	    ev_now(peer_ctx.loop) - t->last_prune < PEER_PRUNE_S ||
	    (r = store_get(id, idlen)) == NULL ||
	    r->atlen != len || memcmp(r->at, line, len) != 0)
		return 0;
	/* the very same line came first by another link: not needed here */
	if (tree_eager_ways(p) == 0)
		return 0;		/* the other is gone: keep this one */
	t->last_prune = ev_now(peer_ctx.loop);
	t->eager_in = 0;
	t->lazy_in = 1;
	COUNT(PRUNE);
	peer_ctx.hooks.tree_set(p->srv, 1);
	tree_send(p, "PRUNE\n", 6, 0);
	return 0;
}
