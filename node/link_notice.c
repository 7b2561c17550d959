/*
 * link_notice.c -- what a link's stream does for the broadcast tree
 * (herd-protocol(7) BROADCAST): a lazy stream's notices (IHAVE) and the
 * resend from where a GRAFT says.  Whether a link is lazy is the tree's
 * decision (tree.c, neighbour.h's lazy_out); the stream is link.c's.
 */
#include <stdio.h>
#include <string.h>

#include <ev.h>

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
 * Send again what came after lseq, where the neighbour says it holds all
 * (a GRAFT).  "SEQ <where we start again>" goes first, so that it knows
 * which positions were on their way before.  The caller pumps.  -1 when
 * out of memory.
 */
int
link_resend(struct link *l, uint64_t lseq)
{
	uint64_t	 pos = store_cursor_pos(&l->cur);
	char		 buf[48];
	int		 n;

	log_info("link to %s: grafted into the tree: resending after change "
	    "%llu of %llu", l->srv->name, (unsigned long long)lseq,
	    (unsigned long long)pos);
	ev_timer_stop(peer_ctx.loop, &l->ntimer);
	if (lseq < pos) {
		if (pos > l->resend_upto)
			l->resend_upto = pos;
		store_cursor_stop(&l->cur);
		store_cursor_follow(&l->cur, lseq);
		pos = lseq;
	}
	n = snprintf(buf, sizeof(buf), "SEQ %llu\n", (unsigned long long)pos);
	if (outbuf_add(&l->out, buf, (size_t)n) == -1)
		return -1;
	l->seq_sent = pos;
	l->seq_at = ev_now(peer_ctx.loop);
	return 0;
}
