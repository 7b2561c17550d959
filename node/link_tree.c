/*
 * link_tree.c -- the broadcast tree's sending side of a link
 * (herd-protocol(7) BROADCAST): a lazy link's notices (IHAVE), and what a
 * neighbour's GRAFT and PRUNE do to the link.  Which links are lazy is
 * the links' own state (link_int.h); the stream is link.c's.
 */
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "link_int.h"
#include "log.h"
#include "peer_ctx.h"
#include "proto.h"
#include "store.h"

/* The server an AT line names: its receiving server, the record's origin. */
static size_t
link_origin(const struct store_rec *r, const char **p)
{
	const char	*sp = memchr(r->at + 3, ' ', r->atlen - 3);

	*p = r->at + 3;
	return sp != NULL ? (size_t)(sp - *p) : r->atlen - 3;
}

/*
 * A lazy link's notice: its stream is at pos, and the records named (by
 * proto_line_hash) are the newest it passed of each origin
 * (herd-protocol(7) BROADCAST).  -1 when out of memory.
 */
int
link_notice(struct link *l, const struct link_notes *nt, uint64_t pos)
{
	size_t		 i;
	char		 head[32], *p;
	int		 n;

	n = snprintf(head, sizeof(head), "IHAVE %llu", (unsigned long long)pos);
	if ((p = outbuf_reserve(&l->out, (size_t)n + 9 * nt->n + 1)) == NULL)
		return -1;
	memcpy(p, head, (size_t)n), p += n;
	for (i = 0; i < nt->n; i++) {
		*p++ = ' ';
		proto_hash_hex(p, proto_line_hash(nt->r[i]->at,
		    nt->r[i]->atlen));
		p += 8;
	}
	*p = '\n';
	COUNT(IHAVE);
	l->seq_sent = pos;		/* a notice says where the stream is */
	l->seq_at = l->notice_at = ev_now(peer_ctx.loop);
	return 0;
}

/*
 * Note r for the notice: the newest of its origin so far.  An origin past
 * PROTO_IHAVE_MAX sends the notice so far first, at prev (where the stream
 * was before r).  -1 when out of memory.
 */
int
link_note(struct link *l, struct link_notes *nt, const struct store_rec *r,
    uint64_t prev)
{
	const char	*o, *q;
	size_t		 i, ol = link_origin(r, &o);

	for (i = 0; i < nt->n; i++)
		if (link_origin(nt->r[i], &q) == ol && memcmp(q, o, ol) == 0) {
			nt->r[i] = r;
			return 0;
		}
	if (nt->n == PROTO_IHAVE_MAX) {
		if (link_notice(l, nt, prev) == -1)
			return -1;
		nt->n = 0;
	}
	nt->r[nt->n++] = r;
	return 0;
}

/*
 * GRAFT: the neighbour lacks what our notices told of: send eagerly from
 * now on, and again what came after where it says it holds all.  "SEQ
 * <where we start again>" goes first, so that it knows which positions
 * were on their way before.
 */
int
link_graft(struct link *l, const struct proto_peer *msg)
{
	uint64_t	 pos = store_cursor_pos(&l->cur);
	char		 buf[48];
	int		 n;

	log_info("link to %s: grafted into the tree: resending after change "
	    "%llu of %llu", l->srv->name, (unsigned long long)msg->lseq,
	    (unsigned long long)pos);
	l->lazy = 0;
	ev_timer_stop(peer_ctx.loop, &l->ntimer);
	if (msg->lseq < pos) {
		if (pos > l->resend_upto)
			l->resend_upto = pos;
		store_cursor_stop(&l->cur);
		store_cursor_follow(&l->cur, msg->lseq);
		pos = msg->lseq;
	}
	n = snprintf(buf, sizeof(buf), "SEQ %llu\n", (unsigned long long)pos);
	if (outbuf_add(&l->out, buf, (size_t)n) == -1)
		return -1;
	l->seq_sent = pos;
	l->seq_at = ev_now(peer_ctx.loop);
	return 0;
}

/* 1 when the link may turn lazy: a tree's, caught up, not resending. */
int
link_can_prune(const struct link *l)
{
	return peer_ctx.conf->broadcast == HERD_BROADCAST_TREE &&
	    !peer_unsettled() && l->state == LINK_UP && !l->catching &&
	    store_cursor_pos(&l->cur) >= l->resend_upto;
}

/* PRUNE: the neighbour had our update already: notices only (a tree's). */
void
link_prune(struct link *l)
{
	if (!link_can_prune(l))
		return;		/* flooding, catching up, resending: eagerly */
	if (!l->lazy)
		log_debug("link to %s: pruned from the tree", l->srv->name);
	l->lazy = 1;
}
