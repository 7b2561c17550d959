/*
 * link.c -- the dialling side of the peer links (see link.h).
 *
 * A link's stream is this server's changes in lseq order (store.h), read
 * with a cursor that follows the store: the handshake tells where the
 * neighbour's copy of the stream stops (SINCE), the link answers where it
 * starts again (FROM), and from there the cursor sends what the neighbour
 * lacks, 256 KiB at a time as the connection drains, then follows new
 * changes.  So a catch-up and the live flood are one mechanism, a link
 * that cannot keep up only lags (its memory is bounded by PEER_LINK_HWM),
 * and each loop iteration costs at most one write per link.  SEQ lines tell
 * the neighbour how far the stream has come, which it records (journal.h).
 * A neighbour's name may have several addresses: each is dialled in turn
 * until one connects, and the link goes down only when the last fails.
 * Dialling, from the name to HELLO, is link_dial.c's; the set of links
 * link_set.c's, the socket and the drop link_io.c's,
 * a lazy stream's notices link_notice.c's; what the neighbour tells of the
 * tree (GRAFT, PRUNE) goes up to tree.c by peer_ctx's ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "jrec.h"
#include "linebuf.h"
#include "link_int.h"
#include "log.h"
#include "neighbour.h"
#include "peer_ctx.h"
#include "proto.h"
#include "sock.h"
#include "store.h"



/*
 * Append "UPDATE <at>\n", or "RESEND <at>\n" for a record sent again,
 * whose duplicate prunes nothing: again 2, after a GRAFT (only a server
 * that speaks of trees sends one); again 1, a repair, when we build a tree
 * (a flooding server's repairs stay UPDATE, as older servers expect).  -1
 * when out of memory.
 */
static int
link_put(struct link *l, const struct store_rec *r, int again)
{
	char	*p;

	if ((p = outbuf_reserve(&l->out, 7 + r->atlen + 1)) == NULL)
		return -1;
	l->nb->nsent++;
	memcpy(p, again == 2 || (again && peer_ctx.conf->broadcast ==
	    HERD_BROADCAST_TREE) ? "RESEND " : "UPDATE ", 7);
	memcpy(p + 7, r->at, r->atlen);
	p[7 + r->atlen] = '\n';
	return 0;
}

/*
 * Queue what the stream and a repair have next, up to PEER_LINK_HWM bytes,
 * never a change not yet in the journal; then SEQ, and SYNCED at the end of
 * a catch-up; then write it all at once.  A lazy link (a tree's, caught up)
 * passes its stream at most every PEER_NOTICE_S and sends one notice for
 * what it passed.
 */
void
link_pump(struct link *l)
{
	const struct store_rec	*r;
	struct link_notes	 nt;
	uint64_t		 limit = journal_durable(), pos, prev;
	size_t			 queued;
	ev_tstamp		 wait, since;
	char			 buf[64];
	int			 n, lazy, later;

	if (l->state != LINK_UP)
		return;
	queued = outbuf_len(&l->out);
	nt.n = 0;
	lazy = l->nb->lazy_out && !l->catching;
	wait = l->notice_at + PEER_NOTICE_S - ev_now(peer_ctx.loop);
	if ((later = lazy && wait > 0)) {
		/* not yet: the stream waits where it is */
		if (l->cur.next != NULL && !ev_is_active(&l->ntimer)) {
			ev_timer_set(&l->ntimer, wait, 0.);
			ev_timer_start(peer_ctx.loop, &l->ntimer);
		}
	} else while (outbuf_len(&l->out) < PEER_LINK_HWM &&
	    ((prev = store_cursor_pos(&l->cur)), 1) &&
	    (r = store_cursor_next_upto(&l->cur, limit)) != NULL) {
		/* the neighbour has what it sent us, unless it starts anew */
		if (r->src == l->idx && r->lseq > l->full_upto)
			continue;
		if (lazy) {
			if (link_note(l, &nt, r, prev) == -1) {
				link_down(l, "out of memory");
				return;
			}
			continue;
		}
		if (link_put(l, r, r->lseq <= l->resend_upto ? 2 : 0) == -1) {
			link_down(l, "out of memory");
			return;
		}
		if (l->catching) {
			l->nsnap++;
			COUNT(CU_SENT);
			l->snap_bytes += r->atlen + 8;
		} else
			/* the last bytes: reserving may have moved the queue */
			link_log(l, "sent", l->out.buf + l->out.len -
			    (r->atlen + 8), r->atlen + 7);
	}
	while (l->rep.active && outbuf_len(&l->out) < PEER_LINK_HWM) {
		if ((r = store_cursor_next_upto(&l->rep, limit)) == NULL) {
			if (!l->rep.active)
				log_notice("link to %s: repair done, %zu records "
				    "resent", l->srv->name, l->nrep);
			break;		/* or a change not yet in the journal */
		}
		if (!(l->rep_mask & (1u << r->bucket)))
			continue;
		if (link_put(l, r, 1) == -1) {
			link_down(l, "out of memory");
			return;
		}
		l->nrep++;
	}
	/*
	 * SEQ with what was sent (a notice says it on a lazy link), at most
	 * every PEER_SEQ_S but in a catch-up (marks need not be exact to the
	 * record: a link back resends at most that much); a stream that only
	 * passed over changes the neighbour sent us has nothing to say but
	 * that, once a second (so a neighbour that only takes our updates is
	 * not woken for each batch).
	 */
	pos = store_cursor_pos(&l->cur);
	if (nt.n > 0 && link_notice(l, &nt, pos) == -1) {
		link_down(l, "out of memory");
		return;
	}
	since = ev_now(peer_ctx.loop) - l->seq_rec_at;
	if (outbuf_len(&l->out) > queued)
		l->seq_due = 1;		/* records went: say where they end */
	if (pos != l->seq_sent && l->seq_due && since < PEER_SEQ_S &&
	    !l->catching && !lazy) {
		/* a SEQ went lately: this one at most PEER_SEQ_S later */
		if (!ev_is_active(&l->ntimer)) {
			ev_timer_set(&l->ntimer, PEER_SEQ_S - since, 0.);
			ev_timer_start(peer_ctx.loop, &l->ntimer);
		}
	} else if (pos != l->seq_sent && (l->seq_due ||
	    ev_now(peer_ctx.loop) - l->seq_at >= 1.0)) {
		if (l->seq_due)
			l->seq_rec_at = ev_now(peer_ctx.loop);
		l->seq_due = 0;
		n = snprintf(buf, sizeof(buf), "SEQ %llu\n",
		    (unsigned long long)pos);
		if (outbuf_add(&l->out, buf, (size_t)n) == -1) {
			link_down(l, "out of memory");
			return;
		}
		l->seq_sent = pos;
		l->seq_at = ev_now(peer_ctx.loop);
	}
	if (l->catching && l->cur.next == NULL) {
		n = snprintf(buf, sizeof(buf), "SYNCED %zu\n", l->nsnap);
		link_log(l, "sent", buf, (size_t)n - 1);
		log_notice("link to %s: sent %zu records (%llu bytes)",
		    l->srv->name, l->nsnap,
		    (unsigned long long)l->snap_bytes);
		l->catching = 0;
		if (outbuf_add(&l->out, buf, (size_t)n) == -1) {
			link_down(l, "out of memory");
			return;
		}
	}
	if (outbuf_len(&l->out) > 0 && link_write(l) == -1)
		return;
	/*
	 * It stopped at the high-water mark and the socket took it all: more
	 * is waiting, so wait for the socket to be writable, not for an event.
	 */
	if (outbuf_len(&l->out) == 0 && ((!later && l->cur.next != NULL &&
	    l->cur.next->lseq <= limit) || l->rep.active))
		ev_io_start(peer_ctx.loop, &l->wio);
}


void
link_seq_last(struct link *l)
{
	uint64_t	 pos = store_cursor_pos(&l->cur);
	char		 buf[32];
	int		 n;

	if (l->state != LINK_UP || !l->seq_due || pos == l->seq_sent)
		return;
	n = snprintf(buf, sizeof(buf), "SEQ %llu\n", (unsigned long long)pos);
	if (outbuf_add(&l->out, buf, (size_t)n) == 0) {
		l->seq_sent = pos;
		l->seq_due = 0;
	}
}

/*
 * SINCE: where the neighbour's copy of our stream stops.  Resume after it
 * when it is of our epoch and not past our newest change; else send all.
 */
static void
link_since(struct link *l, const struct proto_peer *msg)
{
	uint64_t	 head = store_head(), start = 0;
	char		 e[17], buf[80];
	int		 n, full = 1;

	if (l->state != LINK_SINCE) {
		link_refused(l, "unexpected SINCE");
		return;
	}
	if (msg->epoch == journal_epoch() && msg->lseq <= head) {
		start = msg->lseq;	/* from 0 too: it has what it sent us */
		full = 0;
	} else if (msg->epoch == journal_epoch()) {
		/* it saw changes we no longer have: a lost journal tail */
		log_warnx("link to %s: it has seen our change %llu, but our "
		    "newest is %llu", l->srv->name,
		    (unsigned long long)msg->lseq, (unsigned long long)head);
		store_bump(msg->lseq);
		journal_new_epoch();
		peer_ctx.ops.lost_changes();
		if (l->srv == NULL)
			return;	/* a rescue link, dropped with its neighbour's */
	}
	l->state = LINK_UP;
	l->backoff_ms = PEER_BACKOFF_MIN_MS;
	l->down_logged = 0;
	l->tls_logged = 0;
	ev_timer_stop(peer_ctx.loop, &l->timer);
	ev_timer_set(&l->timer, 1.0, 1.0);
	ev_timer_start(peer_ctx.loop, &l->timer);
	l->full_upto = full ? store_head() : 0;
	l->catching = 1;
	l->nb->lazy_out = 0;		/* a tree's links start eager */
	l->resend_upto = 0;
	l->notice_at = 0;
	l->nsnap = 0;
	l->snap_bytes = 0;
	l->seq_sent = start;
	l->seq_at = ev_now(peer_ctx.loop);
	l->seq_rec_at = 0;
	l->seq_due = 0;
	l->last_digest = ev_now(peer_ctx.loop);
	store_cursor_follow(&l->cur, start);
	if (full)
		log_notice("link to %s up: sending all %zu records", l->srv->name,
		    store_count());
	else
		log_notice("link to %s up: resuming after change %llu of %llu",
		    l->srv->name, (unsigned long long)start,
		    (unsigned long long)head);
	jrec_hex64(e, journal_epoch());
	n = snprintf(buf, sizeof(buf), "FROM %s %llu\n", e,
	    (unsigned long long)start);
	link_log(l, "sent", buf, (size_t)n - 1);
	if (outbuf_add(&l->out, buf, (size_t)n) == -1) {
		link_down(l, "out of memory");
		return;
	}
	/* EAGER on this one too, after FROM */
	peer_ctx.ops.out_up(l->nb);
	link_pump(l);
}

/* SUMS: the neighbour's digest, part by part: resend the parts that differ. */
static void
link_sums(struct link *l, const struct proto_peer *msg)
{
	const struct store_digest	*d = store_digest();
	uint32_t			 mask = 0;
	int				 i, k = 0;

	if (l->state != LINK_UP) {
		link_refused(l, "unexpected SUMS");
		return;
	}
	for (i = 0; i < PROTO_SUMS && i < STORE_BUCKETS; i++)
		if (d->part[i] != msg->sums[i]) {
			mask |= 1u << i;
			k++;
		}
	if (mask == 0 || l->rep.active)
		return;
	log_notice("link to %s: digests differ in %d of %d parts: resending them",
	    l->srv->name, k, STORE_BUCKETS);
	l->rep_mask = mask;
	l->nrep = 0;
	store_cursor_start(&l->rep);
	if (!ev_is_active(&l->wio))
		link_pump(l);
}

/* The neighbour sends no updates on this connection: only answers. */
static void
link_line(struct link *l, const char *line, size_t len)
{
	struct proto_peer	 msg;
	char			 text[128], why[192];

	l->last_rx = ev_now(peer_ctx.loop);
	switch (proto_parse_peer(line, len, &msg)) {
	case PEER_OK:
		link_log(l, "recv", line, len);
		switch (peer_ok_check(l->srv, l->state == LINK_HELLO,
		    l->state == LINK_AUTH, l->nonce_d, l->nonce_l, &l->mkey,
		    &msg, why, sizeof(why))) {
		case 0:
			l->state = LINK_SINCE;
			l->feat = peer_ctx.features & peer_features(&msg);
			return;
		case -2:
			link_auth_failed(l, why);
			return;
		default:
			link_refused(l, why);
			return;
		}
	case PEER_CHALLENGE:
		link_log(l, "recv", line, len);
		if (l->state != LINK_HELLO || peer_ctx.secret == NULL) {
			link_refused(l, "unexpected CHALLENGE");
			return;
		}
		memcpy(l->nonce_l, msg.nonce.p, PROTO_NONCE_HEX);
		l->nonce_l[PROTO_NONCE_HEX] = '\0';
		if (peer_auth_line(why, sizeof(why), l->srv, l->nonce_d,
		    l->nonce_l, &l->mkey) == -1) {
			link_down(l, "could not compute the MAC");
			return;
		}
		link_log(l, "sent", why, strlen(why) - 1);
		l->state = LINK_AUTH;
		link_send(l, why, strlen(why));
		return;
	case PEER_SINCE:
		link_log(l, "recv", line, len);
		link_since(l, &msg);
		return;
	case PEER_SUMS:
		link_sums(l, &msg);
		return;
	case PEER_GRAFT:
		link_log(l, "recv", line, len);
		if (l->state != LINK_UP || !(l->feat & PEER_F_TREE)) {
			link_refused(l, "unexpected GRAFT");
			return;
		}
		peer_ctx.ops.graft(l->nb, &msg);
		return;
	case PEER_PRUNE:
		if (l->state != LINK_UP || !(l->feat & PEER_F_TREE)) {
			link_refused(l, "unexpected PRUNE");
			return;
		}
		peer_ctx.ops.prune(l->nb);
		return;
	case PEER_PONG:
		if (l->state == LINK_UP)
			return;
		break;
	case PEER_ERROR:
		link_log(l, "recv", line, len);
		peer_text(text, sizeof(text), &msg.text);
		snprintf(why, sizeof(why), "refused by the neighbour: %s",
		    text);
		link_refused(l, why);
		return;
	default:
		link_log(l, "recv", line, len);
		break;
	}
	link_refused(l, "protocol error");
}

/* A lazy link's notice, or a SEQ held back, is due. */
void
link_notice_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link	*l = w->data;

	(void)loop;
	(void)revents;
	if (!ev_is_active(&l->wio))
		link_pump(l);
}

void
link_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link	*l = w->data;
	const char	*line;
	size_t		 len;
	ssize_t		 n;
	int		 fd = l->fd;

	(void)revents;
	if (l->state == LINK_TLS) {
		if (link_opening(l) == 0)
			(void)link_write(l);
		return;
	}
	n = l->tls != NULL ? ptls_linebuf_fill(l->tls, &l->in) :
	    linebuf_fill(&l->in, l->fd);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		goto tls;
	if (n == -1 && l->tls != NULL && errno == EPROTO) {
		link_tls_failed(l, ptls_error(l->tls));
		return;
	}
	if (n == -1 || n == 0 || n == -2) {
		link_down(l, n == 0 ? "closed by the neighbour" : n == -2 ?
		    "line too long" : strerror(errno));
		return;
	}
	while (l->fd == fd && linebuf_next(&l->in, &line, &len))
		link_line(l, line, len);
 tls:
	if (l->fd != fd || l->tls == NULL)
		return;
	/* what TLS holds already, the socket will not tell of */
	if (ptls_pending(l->tls))
		ev_feed_event(loop, &l->rio, EV_READ);
	/* a write that waited to read goes on now */
	if (outbuf_len(&l->out) > 0 && !ev_is_active(&l->wio))
		(void)link_write(l);
}

void
link_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link	*l = w->data;

	(void)loop;
	(void)revents;
	if ((l->state == LINK_CONNECTING || l->state == LINK_TLS) &&
	    link_opening(l) == -1)
		return;
	if (link_write(l) == -1)
		return;
	if (outbuf_len(&l->out) == 0)
		link_pump(l);		/* drained: the stream goes on */
}

void
link_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link			*l = w->data;
	const struct store_digest	*d;
	ev_tstamp			 now = ev_now(loop);
	char				 buf[80], s[17];
	int				 n;

	(void)revents;
	switch (l->state) {
	case LINK_BACKOFF:
		link_connect(l);
		break;
	case LINK_RESOLVING:
		link_lookup_poll(l);
		break;
	case LINK_CONNECTING:
		link_next(l, "timed out");
		break;
	case LINK_TLS:
		link_tls_failed(l, "the handshake timed out");
		break;
	case LINK_HELLO:
	case LINK_AUTH:
	case LINK_SINCE:
		link_down(l, "timed out");
		break;
	case LINK_UP:
		/*
		 * PING on a timer, busy or not: the PONGs are what tells a
		 * live neighbour from a dead one on a link that only sends.
		 */
		if (now - l->last_rx > PEER_IDLE_S) {
			link_down(l, "no answer to PING");
			break;
		}
		if (now - l->last_ping >= PEER_PING_S) {
			l->last_ping = now;
			if (link_send(l, "PING\n", 5) == -1)
				break;
		}
		if (!ev_is_active(&l->wio))
			link_pump(l);		/* a SEQ held back */
		if (l->state != LINK_UP)
			break;			/* the pump dropped it */
		/* caught up and idle: let the neighbour compare digests */
		if (now - l->last_digest >= PEER_DIGEST_S && !l->catching &&
		    !l->rep.active && l->cur.next == NULL &&
		    outbuf_len(&l->out) == 0) {
			l->last_digest = now;
			d = store_digest();
			jrec_hex64(s, d->sum);
			n = snprintf(buf, sizeof(buf), "DIGEST %llu %s\n",
			    (unsigned long long)d->count, s);
			link_send(l, buf, (size_t)n);
		}
		break;
	}
}
