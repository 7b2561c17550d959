/*
 * pconn.c -- the listening side of the peer links (see pconn.h).
 *
 * A neighbour that dials us proves who it is (HELLO, and with the herd's
 * secret CHALLENGE and AUTH), hears where its stream stopped last time
 * (SINCE, from our journal's marks), and then sends its changes: UPDATE
 * lines, each accepted by update_accept(); SEQ lines, which we record as
 * the new mark, after the records they cover; SYNCED at the end of its
 * catch-up; and now and then a DIGEST of its table, which we compare with
 * ours, asking for the parts that differ (SUMS) when they differ twice
 * running while neither side changed (herd-protocol(7)).  The socket and
 * its TLS, the writes and the close are pconn_io.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "bounds.h"
#include "htime.h"
#include "journal.h"
#include "jrec.h"
#include "linebuf.h"
#include "log.h"
#include "neighbour.h"
#include "pconn.h"
#include "pconn_int.h"
#include "peer_ctx.h"
#include "proto.h"
#include "store.h"
#include "update.h"


/* The log's tags: by address until the neighbour is known, then by name. */
static void
pconn_tags(struct pconn *p)
{
	const char	*who = p->srv != NULL ? p->srv->name : p->addr;

	snprintf(p->tag_sent, sizeof(p->tag_sent), "peer %s sent", who);
	snprintf(p->tag_recv, sizeof(p->tag_recv), "peer %s recv", who);
}

static struct pconn_list	 pconns = LIST_HEAD_INITIALIZER(pconns);
static int		 pconn_paused;

/*
 * The neighbour srv is who it says: say OK, and where its stream stopped.
 * The connection is its stream to us from now on (nb->in): an older one
 * from it is closed (it dials one at a time: the older is dead).
 */
static int
pconn_accept(struct pconn *p, const struct herd_server *srv, const char *ok,
    size_t oklen)
{
	uint64_t	 epoch = 0, lseq = 0;
	char		 buf[80], e[17];
	int		 n;

	p->srv = srv;
	p->idx = peer_index(srv);
	p->nb = &peer_ctx.nbs[p->idx];
	pconn_tags(p);
	if (p->nb->in != NULL)
		pconn_close(p->nb->in, "replaced by a new connection from it");
	p->nb->in = p;
	log_notice("peer %s connected from %s%s", srv->name, p->addr,
	    peer_ctx.secret != NULL ? " (authenticated)" : "");
	if (pconn_send(p, ok, oklen, 1) == -1)
		return -1;
	if (journal_mark_get(srv->name, &epoch, &lseq) == -1)
		epoch = lseq = 0;
	/*
	 * Asking for everything (we have no mark, or forgot it after losing
	 * changes): no mark is recorded until the whole of it has come, or a
	 * catch-up cut short would resume past what came from us.
	 */
	p->full = epoch == 0;
	jrec_hex64(e, epoch);
	n = snprintf(buf, sizeof(buf), "SINCE %s %llu\n", e,
	    (unsigned long long)lseq);
	if (pconn_send(p, buf, (size_t)n, 1) == -1)
		return -1;
	peer_ctx.ops.in_accepted(p->nb, p->rescue);
	return 0;
}

static int
pconn_hello(struct pconn *p, const struct proto_peer *msg)
{
	const struct herd_server	*srv;
	char				 name[HERD_NAME_MAX + 1], buf[128];
	int				 n;

	if (msg->version == PROTO_VERSION && msg->nonce.len == 0) {
		if (peer_ctx.secret != NULL) {
			pconn_warn(p, "(says it is %.*s): refused: a version "
			    "1 HELLO, without authentication, but this herd "
			    "has a secret", (int)msg->from.len, msg->from.p);
			return pconn_refuse(p, "authentication required");
		}
	} else if (msg->version == PROTO_VERSION_AUTH && msg->nonce.len > 0) {
		if (peer_ctx.secret == NULL) {
			pconn_warn(p, "(says it is %.*s): refused: a version "
			    "2 (authenticated) HELLO, but no secret is "
			    "configured here", (int)msg->from.len,
			    msg->from.p);
			return pconn_refuse(p, "no secret configured here");
		}
	} else
		return pconn_refuse(p, "unsupported protocol version");
	if (!proto_field_eq(&msg->to, peer_ctx.self->name))
		return pconn_refuse(p, "wrong server");
	memcpy(name, msg->from.p, msg->from.len);
	name[msg->from.len] = '\0';
	if ((srv = conf_server(peer_ctx.conf, name)) == NULL ||
	    srv == peer_ctx.self)
		return pconn_refuse(p, "not a neighbour");
	if (p->tls != NULL && ptls_check_name(p->tls, name) == -1) {
		pconn_warn(p, "%s", ptls_error(p->tls));
		return pconn_refuse(p, "its certificate does not name it");
	}
	/* a server of the herd cut off from its own: rescue_links */
	if (!conf_linked(peer_ctx.conf, peer_ctx.self, srv)) {
		if (!msg->rescue || peer_ctx.conf->rescue_links == 0)
			return pconn_refuse(p, "not a neighbour");
		p->rescue = 1;
	}
	p->feat = peer_ctx.features & peer_features(msg);
	if (peer_ctx.secret == NULL) {
		snprintf(buf, sizeof(buf), "OK %d %s\n", PROTO_VERSION,
		    peer_ctx.self->name);
		if (peer_features_words(buf, sizeof(buf)) == -1)
			return pconn_refuse(p, "internal error");
		return pconn_accept(p, srv, buf, strlen(buf));
	}
	/* version 2: it must prove it holds the secret before anything */
	p->claim = srv;
	memcpy(p->nonce_d, msg->nonce.p, PROTO_NONCE_HEX);
	p->nonce_d[PROTO_NONCE_HEX] = '\0';
	if (peer_nonce(p->nonce_l) == -1) {
		log_warn("peer connection from %s: getrandom", p->addr);
		return pconn_refuse(p, "internal error");
	}
	n = snprintf(buf, sizeof(buf), "CHALLENGE %s\n", p->nonce_l);
	return pconn_send(p, buf, (size_t)n, 1);
}

/*
 * AUTH: the MAC of its HELLO's names and both nonces, under a key of our
 * keyring (bound to the TLS session, if any): the first dials, but any
 * may be the dialler's while a key is rotated (herd.ini(5)).  OK's MAC is
 * under the same key.
 */
static int
pconn_auth(struct pconn *p, const struct proto_peer *msg)
{
	char		 mac[PROTO_MAC_HEX + 1];
	char		 buf[HERD_NAME_MAX + PROTO_MAC_HEX + 80];
	struct herd_key	 k;
	size_t		 i;
	int		 n, ok = 0;

	for (i = 0; i < peer_ctx.keys.n && !ok; i++) {
		if (peer_mac_key(p->tls, i, &k) == -1 ||
		    proto_mac(mac, k.b, k.len, "herd-link", p->claim->name,
		    peer_ctx.self->name, p->nonce_d, p->nonce_l) == -1) {
			explicit_bzero(&k, sizeof(k));
			return pconn_refuse(p, "internal error");
		}
		ok = proto_mac_eq(&msg->mac, mac);
		if (!ok)
			explicit_bzero(&k, sizeof(k));
	}
	if (!ok) {
		pconn_warn(p, "(says it is %s): authentication failed: a "
		    "wrong MAC (another secret, or not %s)", p->claim->name,
		    p->claim->name);
		return pconn_refuse(p, "authentication failed");
	}
	n = proto_mac(mac, k.b, k.len, "herd-ok", peer_ctx.self->name,
	    p->claim->name, p->nonce_l, p->nonce_d);
	explicit_bzero(&k, sizeof(k));
	if (n == -1)
		return pconn_refuse(p, "internal error");
	snprintf(buf, sizeof(buf), "OK %d %s %s\n", PROTO_VERSION_AUTH,
	    peer_ctx.self->name, mac);
	if (peer_features_words(buf, sizeof(buf)) == -1)
		return pconn_refuse(p, "internal error");
	return pconn_accept(p, p->claim, buf, strlen(buf));
}

/* An UPDATE (live: again is 0) or a RESEND. */
static int
pconn_update(struct pconn *p, const struct proto_peer *msg, int again)
{
	const struct proto_at	*at = &msg->at;
	char			 buf[PEER_LINE_MAX];
	const char		*line;
	size_t			 n;
	int			 rc;

	if ((line = proto_at_line(at, buf, sizeof(buf), &n)) == NULL)
		return pconn_refuse(p, "update too long");
	if (p->catching) {
		p->nrecv++;
		COUNT(CU_RECV);
	}
	if ((rc = update_accept(at->id.p, at->id.len, &at->t, line, n,
	    p->idx)) == -1)
		return pconn_refuse(p, "out of memory");
	peer_ctx.ops.in_update(p->nb, at, line, n, rc, again);
	return p->closing ? -1 : 0;
}

/* DIGEST: tables that differ twice running, neither changing: repair. */
static int
pconn_digest(struct pconn *p, const struct proto_peer *msg)
{
	const struct store_digest	*d = store_digest();
	char				 buf[24 + PROTO_SUMS * 17], *o = buf;
	int				 i, again;

	if (msg->dcount == d->count && msg->dsum == d->sum)
		return 0;
	again = msg->dcount == p->d_count && msg->dsum == p->d_sum &&
	    d->count == p->o_count && d->sum == p->o_sum;
	p->d_count = msg->dcount;
	p->d_sum = msg->dsum;
	p->o_count = d->count;
	p->o_sum = d->sum;
	if (!again || ev_now(peer_ctx.loop) - p->last_sums < PEER_DIGEST_S)
		return 0;
	/*
	 * Full even for a neighbour's ids, our table may lack what we
	 * refused: a repair would only bring it again, every time.  It
	 * resumes when there is room.  (At max_clients, the eighth more kept
	 * for neighbours takes what a repair brings.)
	 */
	if (bounds_full(update_limits(), store_count(), 1))
		return 0;
	p->last_sums = ev_now(peer_ctx.loop);
	log_notice("peer %s: its table differs from ours (%llu records, ours "
	    "%llu): asking for the parts that differ", p->srv->name,
	    (unsigned long long)msg->dcount, (unsigned long long)d->count);
	o += snprintf(o, sizeof(buf), "SUMS");
	for (i = 0; i < PROTO_SUMS; i++) {
		*o++ = ' ';
		jrec_hex64(o, i < STORE_BUCKETS ? d->part[i] : 0);
		o += 16;
	}
	*o++ = '\n';
	return pconn_send(p, buf, (size_t)(o - buf), 0);
}

/*
 * One line from a neighbour, read at the time at (its log's stamp); -1 when
 * the connection is gone or closing.
 */
static int
pconn_line(struct pconn *p, const char *line, size_t len,
    const struct htime *at)
{
	struct proto_peer	 msg;
	enum proto_peer_type	 type;

	p->last_rx = ev_now(peer_ctx.loop);
	type = proto_parse_peer(line, len, &msg);
	if (type != PEER_PING && type != PEER_SEQ && type != PEER_DIGEST &&
	    type != PEER_IHAVE && !(type == PEER_UPDATE && p->catching))
		log_line_at(p->tag_recv, line, len, at->sec, at->nsec);
	if (p->srv == NULL && p->claim == NULL)
		return type == PEER_HELLO ? pconn_hello(p, &msg) :
		    pconn_refuse(p, "expected HELLO");
	if (p->srv == NULL)
		return type == PEER_AUTH ? pconn_auth(p, &msg) :
		    pconn_refuse(p, "expected AUTH");
	switch (type) {
	case PEER_UPDATE:
	case PEER_RESEND:
		return pconn_update(p, &msg, type == PEER_RESEND);
	case PEER_FROM:
		p->have_from = 1;
		p->epoch = msg.epoch;
		p->catching = 1;
		p->nrecv = 0;
		p->full_seq = msg.lseq;
		/* its stream, from here: so a resumption knows the epoch */
		if (!p->full)
			journal_mark_set(p->srv->name, msg.epoch, msg.lseq);
		peer_ctx.ops.in_from(p->nb, msg.lseq);
		return 0;
	case PEER_EAGER:
		if (!(p->feat & PEER_F_TREE))
			return pconn_refuse(p, "EAGER without +tree");
		peer_ctx.ops.in_eager(p->nb);
		return 0;
	case PEER_SEQ:
		if (!p->have_from)
			return 0;
		/* FALLTHROUGH */
	case PEER_IHAVE:
		if (!p->have_from)
			return pconn_refuse(p, "IHAVE before FROM");
		if (msg.type == PEER_IHAVE && !(p->feat & PEER_F_TREE))
			return pconn_refuse(p, "IHAVE without +tree");
		peer_ctx.ops.in_position(p->nb, &msg);
		return p->closing ? -1 : 0;
	case PEER_DIGEST:
		return pconn_digest(p, &msg);
	case PEER_PING:
		return pconn_send(p, "PONG\n", 5, 0);
	case PEER_SYNCED:
		log_notice("peer %s: caught up (%lu records)", p->srv->name,
		    msg.count);
		p->catching = 0;
		if (p->have_from && p->full) {	/* all of it: now a mark */
			journal_mark_set(p->srv->name, p->epoch, p->full_seq);
			p->full = 0;
		}
		return 0;
	case PEER_ERROR:
		pconn_close(p, "error from the neighbour");
		return -1;
	default:
		return pconn_refuse(p, "protocol error");
	}
}

/*
 * Handle the lines buffered (unless the journal is failing); then, over
 * TLS, go on with what TLS holds already (the socket will not tell of it)
 * and with a write that waited to read.  -1 when p is gone or closing.
 */
static int
pconn_lines(struct pconn *p)
{
	const char	*line;
	size_t		 len;
	struct htime	 at;

	htime_now(&at);		/* the lines of one read came at once */
	while (!p->closing && !pconn_paused &&
	    linebuf_next(&p->in, &line, &len))
		if (pconn_line(p, line, len, &at) == -1)
			return -1;
	if (p->tls == NULL || p->closing)
		return 0;
	if (ptls_pending(p->tls) && !pconn_paused)
		ev_feed_event(peer_ctx.loop, &p->rio, EV_READ);
	if (outbuf_len(&p->out) > 0 && !ev_is_active(&p->wio))
		ev_feed_event(peer_ctx.loop, &p->wio, EV_WRITE);
	return 0;
}

static void
pconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pconn	*p = w->data;
	char		 why[256];
	ssize_t		 n;

	(void)loop;
	(void)revents;
	if (p->handshaking && (pconn_tls_step(p) == -1 || p->handshaking))
		return;
	n = p->tls != NULL ? ptls_linebuf_fill(p->tls, &p->in) :
	    linebuf_fill(&p->in, p->fd);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == -1 && p->tls != NULL && errno == EPROTO) {
		snprintf(why, sizeof(why), "TLS: %s", ptls_error(p->tls));
		pconn_close(p, why);
		return;
	}
	if (n == -1 || n == 0 || n == -2) {
		pconn_close(p, n == 0 ? "closed" : n == -2 ? "line too long" :
		    strerror(errno));
		return;
	}
	/* a plain-text port's first bytes, a TLS ClientHello: say so */
	if (p->tls == NULL && p->srv == NULL && p->claim == NULL &&
	    ptls_is_hello(p->in.buf + p->in.off, p->in.len - p->in.off)) {
		pconn_warn(p, "a TLS handshake: the neighbour has peer_tls on, "
		    "and this server peer_tls off or no key");
		(void)pconn_refuse(p, "this port speaks plain text "
		    "(peer_tls off or no key here)");
		return;
	}
	(void)pconn_lines(p);
}

static void
pconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pconn	*p = w->data;
	int		 rc;

	(void)revents;
	if (p->handshaking) {
		(void)pconn_tls_step(p);
		return;
	}
	if ((rc = peer_write(&p->out, p->fd, p->tls)) == -1) {
		pconn_close(p, strerror(errno));
		return;
	}
	if (rc == 0) {
		ev_io_stop(loop, &p->wio);
		if (p->closing)
			pconn_close(p, "refused");
	} else if (p->tls != NULL && !(ptls_want(p->tls) & EV_WRITE))
		ev_io_stop(loop, &p->wio);	/* it waits to read */
}

static void
pconn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pconn	*p = w->data;

	(void)revents;
	if (p->srv == NULL && p->handshaking) {
		pconn_warn(p, "TLS: no handshake in %.0f s", PEER_CONNECT_S);
		pconn_close(p, "no TLS handshake in time");
	} else if (p->srv == NULL)
		pconn_close(p, p->claim == NULL ? "no HELLO in time" :
		    "no AUTH in time");
	else if (ev_now(loop) - p->last_rx > PEER_IDLE_S && !pconn_paused)
		pconn_close(p, "silent for too long");
	else if (p->closing)
		pconn_close(p, "refused");
	else if (p->nb != NULL && p->nb->in == p)
		peer_ctx.ops.in_tick(p->nb);
}

void
pconn_pause(int paused)
{
	struct pconn	*p, *next;

	pconn_paused = paused;
	for (p = LIST_FIRST(&pconns); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (paused) {
			ev_io_stop(peer_ctx.loop, &p->rio);
			continue;
		}
		p->last_rx = ev_now(peer_ctx.loop);
		ev_io_start(peer_ctx.loop, &p->rio);
		(void)pconn_lines(p);
	}
}

void
pconn_accept_cb(struct ev_loop *loop, int fd, const char *addr)
{
	struct pconn	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warnx("peer accept: out of memory");
		close(fd);
		return;
	}
	p->fd = fd;
	if (peer_ctx.tls != NULL) {
		if ((p->tls = ptls_new(peer_ctx.tls, fd, 0, NULL)) == NULL) {
			log_warnx("peer accept: out of memory");
			close(fd);
			free(p);
			return;
		}
		p->handshaking = 1;
	}
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	pconn_tags(p);
	linebuf_init(&p->in, PEER_LINE_MAX);
	p->last_rx = ev_now(loop);
	ev_io_init(&p->rio, pconn_read_cb, fd, EV_READ);
	ev_io_init(&p->wio, pconn_write_cb, fd, EV_WRITE);
	ev_timer_init(&p->timer, pconn_timer_cb, PEER_CONNECT_S, 1.0);
	p->rio.data = p->wio.data = p->timer.data = p;
	if (!pconn_paused)
		ev_io_start(loop, &p->rio);
	ev_timer_start(loop, &p->timer);
	LIST_INSERT_HEAD(&pconns, p, entry);
	log_debug("peer connection from %s", addr);
}

void
pconn_drop_all(const char *why)
{
	pconn_quiet(1);
	while (!LIST_EMPTY(&pconns))
		pconn_close(LIST_FIRST(&pconns), why);
	pconn_quiet(0);
}

void
pconn_drop_stale_keys(void)
{
	struct pconn	*p, *next;

	for (p = LIST_FIRST(&pconns); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (!p->handshaking && peer_key_dropped(p->tls))
			pconn_close(p, "its key was removed from the keyring");
	}
}

void
pconn_shutdown(void)
{
	pconn_quiet(1);
	while (!LIST_EMPTY(&pconns))
		pconn_close(LIST_FIRST(&pconns), "server stopping");
}

size_t
pconn_names_synced(char *buf, size_t size)
{
	struct pconn	*p;
	size_t		 o = 0;
	int		 n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	LIST_FOREACH(p, &pconns, entry) {
		if (p->srv == NULL || !p->have_from || p->catching || p->closing)
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o > 0 ? "," : "",
		    p->srv->name);
		if (n < 0 || (size_t)n >= size - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return o;
}
