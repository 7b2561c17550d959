/*
 * peer.c -- flooding over the links to the neighbours (herd-protocol(7)).
 *
 * Each direction of a link is its own TCP connection: a node dials every
 * neighbour's peer port and sends its updates there ("link"), and receives
 * the neighbours' updates on the connections they dial to it ("pconn").  So
 * no two nodes ever race to decide which of two connections survives, and a
 * node that comes back is caught up at once: every time a link comes up the
 * dialling side sends everything it knows (newest-wins makes this
 * idempotent), and a neighbour that dials us makes us redial it at once.
 *
 * With the herd's secret configured, the handshake is version 2: a
 * challenge and response each way (HMAC-SHA256 of both names and both
 * nonces), so that neither side counts a link as up, nor sends or accepts
 * updates on it, before the other has shown it holds the secret.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "listener.h"
#include "log.h"
#include "peer.h"
#include "proto.h"
#include "sock.h"
#include "store.h"

enum link_state {
	LINK_BACKOFF,		/* waiting to dial again */
	LINK_RESOLVING,		/* looking the neighbour's name up */
	LINK_CONNECTING,	/* connect() in progress */
	LINK_HELLO,		/* HELLO sent, waiting for OK (or CHALLENGE) */
	LINK_AUTH,		/* AUTH sent, waiting for OK with its MAC */
	LINK_UP,		/* updates flow */
};

struct link {
	const struct herd_server *srv;	/* the neighbour */
	struct sock_addr sa;
	int		 resolved;	/* sa holds its address */
	struct sock_lookup *lookup;	/* while resolving */
	ev_tstamp	 lookup_start;
	int		 fd;
	ev_io		 rio, wio;
	ev_timer	 timer;
	enum link_state	 state;
	int		 backoff_ms;	/* next delay */
	int		 down_logged;	/* its drop was logged already */
	struct linebuf	 in;
	struct outbuf	 out;
	ev_tstamp	 last_rx;	/* anything from the neighbour */
	ev_tstamp	 last_ping;
	struct store_cursor snap;	/* the catch-up being sent */
	size_t		 nsnap;		/* records sent in it so far */
	char		 nonce_d[PROTO_NONCE_HEX + 1];	/* ours, in HELLO */
	char		 nonce_l[PROTO_NONCE_HEX + 1];	/* its CHALLENGE */
};

struct pconn {
	struct pconn	*prev, *next;
	int		 fd;
	ev_io		 rio, wio;
	ev_timer	 timer;
	char		 addr[64];
	const struct herd_server *srv;	/* NULL until HELLO (and AUTH) */
	const struct herd_server *claim;	/* HELLO says, AUTH to prove */
	char		 nonce_d[PROTO_NONCE_HEX + 1];	/* its HELLO's */
	char		 nonce_l[PROTO_NONCE_HEX + 1];	/* our CHALLENGE */
	struct linebuf	 in;
	struct outbuf	 out;
	ev_tstamp	 last_rx;
	int		 closing;	/* ERROR sent: close once written */
};

static struct ev_loop		*peer_loop;
static const struct herd_conf	*peer_conf;
static const struct herd_server	*peer_self;
static struct link		*peer_links;
static size_t			 peer_nlinks;
static struct pconn		*peer_pconns;
static struct listener		 peer_listener;
static const char		*peer_secret;	/* NULL: version 1 links */
static size_t			 peer_secret_len;

static void	 link_connect(struct link *);
static void	 link_lookup_poll(struct link *);

/* A fresh nonce, PROTO_NONCE_LEN random bytes in hex.  0 or -1. */
static int
peer_nonce(char *out)
{
	unsigned char	 b[PROTO_NONCE_LEN];
	size_t		 o = 0;
	ssize_t		 n;

	while (o < sizeof(b)) {
		if ((n = getrandom(b + o, sizeof(b) - o, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		o += (size_t)n;
	}
	proto_hex(out, b, sizeof(b));
	return 0;
}

/* Printable text from a neighbour's ERROR, for our log: at most 120 bytes. */
static void
peer_text(char *dst, size_t size, const struct proto_field *f)
{
	size_t	 i, o = 0;
	char	 c;

	for (i = 0; i < f->len && o + 1 < size && o < 120; i++) {
		c = f->p[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	dst[o] = '\0';
}

/* ----- links: we dial, we send ----- */

static void
link_log(struct link *l, const char *dir, const char *buf, size_t len)
{
	char	 tag[HERD_NAME_MAX + 32];

	snprintf(tag, sizeof(tag), "peer %s %s", l->srv->name, dir);
	log_line(tag, buf, len);
}

static void
link_down(struct link *l, const char *why)
{
	if (l->fd != -1) {
		ev_io_stop(peer_loop, &l->rio);
		ev_io_stop(peer_loop, &l->wio);
		close(l->fd);
		l->fd = -1;
	}
	linebuf_free(&l->in);
	outbuf_free(&l->out);
	store_cursor_stop(&l->snap);
	ev_timer_stop(peer_loop, &l->timer);
	if (l->lookup != NULL) {
		sock_lookup_cancel(l->lookup);
		l->lookup = NULL;
	}
	l->resolved = 0;	/* look a name up again: it may have moved */
	if (l->state == LINK_UP)
		log_warnx("link to %s down: %s; retrying in %d ms",
		    l->srv->name, why, l->backoff_ms);
	else if (!l->down_logged)
		log_info("link to %s not up yet: %s; retrying in %d ms",
		    l->srv->name, why, l->backoff_ms);
	else
		log_debug("link to %s: %s; retrying in %d ms", l->srv->name,
		    why, l->backoff_ms);
	l->down_logged = 1;
	l->state = LINK_BACKOFF;
	ev_timer_set(&l->timer, l->backoff_ms / 1000.0, 0.);
	ev_timer_start(peer_loop, &l->timer);
	l->backoff_ms *= 2;
	if (l->backoff_ms > PEER_BACKOFF_MAX_MS)
		l->backoff_ms = PEER_BACKOFF_MAX_MS;
}

/*
 * The neighbour answered, but not as a neighbour should: always worth a
 * warning (a misconfiguration, or not a herd server at all), whatever the
 * link's state.
 */
static void
link_refused(struct link *l, const char *why)
{
	log_warnx("link to %s refused: %s", l->srv->name, why);
	link_down(l, why);
}

/* Queue bytes and write what the socket takes; -1 when the link dropped. */
static int
link_send(struct link *l, const char *buf, size_t len)
{
	int	 rc;

	if (outbuf_add(&l->out, buf, len) == -1) {
		link_down(l, "out of memory");
		return -1;
	}
	if (outbuf_len(&l->out) > PEER_OUT_MAX) {
		link_down(l, "neighbour not reading: output over the cap");
		return -1;
	}
	if ((rc = outbuf_write(&l->out, l->fd)) == -1) {
		link_down(l, strerror(errno));
		return -1;
	}
	if (rc == 1)
		ev_io_start(peer_loop, &l->wio);
	return 0;
}

/*
 * Send the next part of the catch-up: records until the output holds
 * PEER_SNAP_CHUNK bytes, and SYNCED after the last.  Called when the link
 * comes up and whenever its output drains, so a store of any size goes out
 * in bounded memory.  -1 when the link dropped.
 */
static int
link_snap_pump(struct link *l)
{
	const struct store_rec	*r;
	char			*p, buf[64];
	int			 n;

	if (!l->snap.active)
		return 0;
	for (;;) {
		while (outbuf_len(&l->out) < PEER_SNAP_CHUNK) {
			if ((r = store_cursor_next(&l->snap)) == NULL) {
				n = snprintf(buf, sizeof(buf), "SYNCED %zu\n",
				    l->nsnap);
				link_log(l, "sent", buf, (size_t)n - 1);
				log_info("link to %s: sent %zu records",
				    l->srv->name, l->nsnap);
				return link_send(l, buf, (size_t)n);
			}
			p = outbuf_reserve(&l->out, 7 + r->atlen + 1);
			if (p == NULL) {
				link_down(l, "out of memory sending the "
				    "catch-up");
				return -1;
			}
			memcpy(p, "UPDATE ", 7);
			memcpy(p + 7, r->at, r->atlen);
			p[7 + r->atlen] = '\n';
			link_log(l, "sent", p, 7 + r->atlen);
			l->nsnap++;
		}
		if (link_send(l, "", 0) == -1)
			return -1;
		if (outbuf_len(&l->out) > 0)
			return 0;	/* the write callback pumps on */
	}
}

/* The link is up: send everything we know, so the neighbour catches up. */
static void
link_up(struct link *l)
{
	l->state = LINK_UP;
	l->backoff_ms = PEER_BACKOFF_MIN_MS;
	l->down_logged = 0;
	ev_timer_stop(peer_loop, &l->timer);
	ev_timer_set(&l->timer, 1.0, 1.0);
	ev_timer_start(peer_loop, &l->timer);
	log_info("link to %s up", l->srv->name);
	l->nsnap = 0;
	store_cursor_start(&l->snap);
	link_snap_pump(l);
}

/*
 * The listener failed to prove it holds the herd's secret: it is not the
 * neighbour (or its secret differs).  Say so, and send it nothing else.
 */
static void
link_auth_failed(struct link *l, const char *why)
{
	static const char	 err[] = "ERROR authentication failed\n";

	log_warnx("link to %s (%s port %u): authentication failed: %s",
	    l->srv->name, l->srv->host, l->srv->peer_port, why);
	link_log(l, "sent", err, sizeof(err) - 2);
	if (outbuf_add(&l->out, err, sizeof(err) - 1) == 0)
		(void)outbuf_write(&l->out, l->fd);	/* best effort */
	link_down(l, "authentication failed");
}

/* CHALLENGE: prove we hold the secret, for our HELLO's names and nonces. */
static void
link_challenge(struct link *l, const struct proto_peer *msg)
{
	char	 mac[PROTO_MAC_HEX + 1], buf[PROTO_MAC_HEX + 8];
	int	 n;

	if (l->state != LINK_HELLO || peer_secret == NULL) {
		link_refused(l, "unexpected CHALLENGE");
		return;
	}
	memcpy(l->nonce_l, msg->nonce.p, PROTO_NONCE_HEX);
	l->nonce_l[PROTO_NONCE_HEX] = '\0';
	if (proto_mac(mac, peer_secret, peer_secret_len, "herd-link",
	    peer_self->name, l->srv->name, l->nonce_d, l->nonce_l) == -1) {
		link_down(l, "could not compute the MAC");
		return;
	}
	n = snprintf(buf, sizeof(buf), "AUTH %s\n", mac);
	link_log(l, "sent", buf, (size_t)n - 1);
	l->state = LINK_AUTH;
	link_send(l, buf, (size_t)n);
}

static void
link_ok(struct link *l, const struct proto_peer *msg)
{
	char	 mac[PROTO_MAC_HEX + 1];

	if (peer_secret == NULL) {
		if (l->state != LINK_HELLO || msg->version != PROTO_VERSION ||
		    msg->mac.len != 0 ||
		    !proto_field_eq(&msg->from, l->srv->name)) {
			link_refused(l, "unexpected OK");
			return;
		}
		link_up(l);
		return;
	}
	if (l->state != LINK_AUTH || msg->version != PROTO_VERSION_AUTH ||
	    !proto_field_eq(&msg->from, l->srv->name)) {
		link_refused(l, "unexpected OK");
		return;
	}
	if (proto_mac(mac, peer_secret, peer_secret_len, "herd-ok",
	    l->srv->name, peer_self->name, l->nonce_l, l->nonce_d) == -1) {
		link_down(l, "could not compute the MAC");
		return;
	}
	if (!proto_mac_eq(&msg->mac, mac)) {
		link_auth_failed(l, msg->mac.len == 0 ? "its OK has no MAC" :
		    "its OK has a wrong MAC (another secret, or not the "
		    "neighbour)");
		return;
	}
	link_up(l);
}

static void
link_line(struct link *l, const char *line, size_t len)
{
	struct proto_peer	 msg;
	char			 text[128], why[192];

	l->last_rx = ev_now(peer_loop);
	switch (proto_parse_peer(line, len, &msg)) {
	case PEER_OK:
		link_log(l, "recv", line, len);
		link_ok(l, &msg);
		return;
	case PEER_CHALLENGE:
		link_log(l, "recv", line, len);
		link_challenge(l, &msg);
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

static void
link_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link	*l = w->data;
	const char	*line;
	size_t		 len;
	ssize_t		 n;
	int		 fd = l->fd;

	(void)loop;
	(void)revents;
	n = linebuf_fill(&l->in, l->fd);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == -1 || n == 0 || n == -2) {
		link_down(l, n == 0 ? "closed by the neighbour" : n == -2 ?
		    "line too long" : strerror(errno));
		return;
	}
	while (l->fd == fd && linebuf_next(&l->in, &line, &len))
		link_line(l, line, len);
}

static void
link_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link	*l = w->data;
	char		 buf[2 * HERD_NAME_MAX + PROTO_NONCE_HEX + 32];
	int		 e, n, rc;

	(void)revents;
	if (l->state == LINK_CONNECTING) {
		if ((e = sock_error(l->fd)) != 0) {
			link_down(l, strerror(e));
			return;
		}
		l->state = LINK_HELLO;
		ev_io_start(loop, &l->rio);
		if (peer_secret == NULL)
			n = snprintf(buf, sizeof(buf), "HELLO %d %s %s\n",
			    PROTO_VERSION, peer_self->name, l->srv->name);
		else if (peer_nonce(l->nonce_d) == -1) {
			link_down(l, "getrandom failed");
			return;
		} else
			n = snprintf(buf, sizeof(buf), "HELLO %d %s %s %s\n",
			    PROTO_VERSION_AUTH, peer_self->name, l->srv->name,
			    l->nonce_d);
		link_log(l, "sent", buf, (size_t)n - 1);
		if (outbuf_add(&l->out, buf, (size_t)n) == -1) {
			link_down(l, "out of memory");
			return;
		}
	}
	if ((rc = outbuf_write(&l->out, l->fd)) == -1) {
		link_down(l, strerror(errno));
		return;
	}
	if (rc == 0) {
		ev_io_stop(loop, &l->wio);
		link_snap_pump(l);
	}
}

static void
link_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link	*l = w->data;
	ev_tstamp	 now = ev_now(loop);

	(void)revents;
	switch (l->state) {
	case LINK_BACKOFF:
		link_connect(l);
		break;
	case LINK_RESOLVING:
		link_lookup_poll(l);
		break;
	case LINK_CONNECTING:
	case LINK_HELLO:
	case LINK_AUTH:
		link_down(l, "timed out");
		break;
	case LINK_UP:
		/*
		 * PING on a timer, busy or not: the PONGs are what tells a
		 * live neighbour from a dead one on a link that only sends.
		 */
		if (now - l->last_rx > PEER_IDLE_S)
			link_down(l, "no answer to PING");
		else if (now - l->last_ping >= PEER_PING_S) {
			l->last_ping = now;
			link_send(l, "PING\n", 5);
		}
		break;
	}
}

static void
link_dial(struct link *l)
{
	if ((l->fd = sock_connect(&l->sa)) == -1) {
		link_down(l, strerror(errno));
		return;
	}
	l->state = LINK_CONNECTING;
	l->last_rx = l->last_ping = ev_now(peer_loop);
	linebuf_init(&l->in, PEER_LINE_MAX);
	ev_io_set(&l->rio, l->fd, EV_READ);
	ev_io_set(&l->wio, l->fd, EV_WRITE);
	ev_io_start(peer_loop, &l->wio);
	ev_timer_stop(peer_loop, &l->timer);
	ev_timer_set(&l->timer, PEER_CONNECT_S, 0.);
	ev_timer_start(peer_loop, &l->timer);
}

/* Dial the neighbour, looking its name up first (without blocking). */
static void
link_connect(struct link *l)
{
	char	 err[512];

	if (l->resolved) {
		link_dial(l);
		return;
	}
	switch (sock_lookup_start(l->srv->host, l->srv->peer_port, &l->sa,
	    &l->lookup, err, sizeof(err))) {
	case 1:
		l->resolved = 1;
		link_dial(l);
		return;
	case 0:
		l->state = LINK_RESOLVING;
		l->lookup_start = ev_now(peer_loop);
		ev_timer_stop(peer_loop, &l->timer);
		ev_timer_set(&l->timer, PEER_LOOKUP_POLL_S, PEER_LOOKUP_POLL_S);
		ev_timer_start(peer_loop, &l->timer);
		return;
	default:
		link_down(l, err);
	}
}

static void
link_lookup_poll(struct link *l)
{
	char	 err[512];
	int	 rc;

	rc = sock_lookup_poll(l->lookup, &l->sa, err, sizeof(err));
	if (rc == 0) {
		if (ev_now(peer_loop) - l->lookup_start > PEER_LOOKUP_S)
			link_down(l, "name lookup timed out");
		return;
	}
	l->lookup = NULL;
	ev_timer_stop(peer_loop, &l->timer);
	if (rc == -1) {
		link_down(l, err);
		return;
	}
	l->resolved = 1;
	link_dial(l);
}

static struct link *
link_find(const struct herd_server *srv)
{
	size_t	 i;

	for (i = 0; i < peer_nlinks; i++)
		if (peer_links[i].srv == srv)
			return &peer_links[i];
	return NULL;
}

void
peer_flood(const char *at, size_t len, const struct herd_server *from)
{
	struct proto_field	 f[2];
	struct link		*l;
	char			*msg;
	size_t			 i;

	if (peer_nlinks == 0)
		return;
	if ((msg = malloc(len + 8)) == NULL) {
		log_warnx("flood: out of memory");
		return;
	}
	memcpy(msg, "UPDATE ", 7);
	memcpy(msg + 7, at, len);
	msg[7 + len] = '\n';
	proto_split(at, len, f, 2);	/* f[1]: the origin server */
	for (i = 0; i < peer_nlinks; i++) {
		l = &peer_links[i];
		if (l->state != LINK_UP || l->srv == from ||
		    proto_field_eq(&f[1], l->srv->name))
			continue;
		link_log(l, "sent", msg, len + 7);
		link_send(l, msg, len + 8);
	}
	free(msg);
}

size_t
peer_links_up(char *buf, size_t size)
{
	size_t	 i, o = 0;
	int	 n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < peer_nlinks; i++) {
		if (peer_links[i].state != LINK_UP)
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o > 0 ? "," : "",
		    peer_links[i].srv->name);
		if (n < 0 || (size_t)n >= size - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return o;
}

/* ----- pconns: a neighbour dials, we receive ----- */

static void
pconn_close(struct pconn *p, const char *why)
{
	if (p->srv != NULL)
		log_warnx("peer %s (%s) dropped: %s", p->srv->name, p->addr,
		    why);
	else
		log_info("peer connection from %s closed: %s", p->addr, why);
	ev_io_stop(peer_loop, &p->rio);
	ev_io_stop(peer_loop, &p->wio);
	ev_timer_stop(peer_loop, &p->timer);
	close(p->fd);
	linebuf_free(&p->in);
	outbuf_free(&p->out);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		peer_pconns = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p);
}

static int
pconn_send(struct pconn *p, const char *buf, size_t len, int log)
{
	char	 tag[HERD_NAME_MAX + 32];
	int	 rc;

	if (log) {
		snprintf(tag, sizeof(tag), "peer %s sent", p->srv != NULL ?
		    p->srv->name : p->addr);
		log_line(tag, buf, len - 1);
	}
	if (outbuf_add(&p->out, buf, len) == -1 ||
	    (rc = outbuf_write(&p->out, p->fd)) == -1) {
		pconn_close(p, "write failed");
		return -1;
	}
	if (outbuf_len(&p->out) > PEER_PCONN_OUT_MAX) {
		pconn_close(p, "neighbour not reading: output over the cap");
		return -1;
	}
	if (rc == 1)
		ev_io_start(peer_loop, &p->wio);
	return 0;
}

static int
pconn_refuse(struct pconn *p, const char *why)
{
	char	 buf[256];
	int	 n;

	n = snprintf(buf, sizeof(buf), "ERROR %s\n", why);
	p->closing = 1;
	if (pconn_send(p, buf, (size_t)n, 1) == -1)
		return -1;
	if (outbuf_len(&p->out) == 0) {
		pconn_close(p, why);
		return -1;
	}
	return 0;
}

/* The neighbour srv is who it says: say OK, and redial it if it was down. */
static int
pconn_accept(struct pconn *p, const struct herd_server *srv, const char *ok,
    size_t oklen)
{
	struct link	*l;

	p->srv = srv;
	log_info("peer %s connected from %s%s", srv->name, p->addr,
	    peer_secret != NULL ? " (authenticated)" : "");
	if (pconn_send(p, ok, oklen, 1) == -1)
		return -1;
	/* It is back: dial it now rather than at the end of our backoff. */
	if ((l = link_find(srv)) != NULL && l->state == LINK_BACKOFF) {
		l->backoff_ms = PEER_BACKOFF_MIN_MS;
		ev_timer_stop(peer_loop, &l->timer);
		link_connect(l);
	}
	return 0;
}

static int
pconn_hello(struct pconn *p, const struct proto_peer *msg)
{
	const struct herd_server	*srv;
	char				 name[HERD_NAME_MAX + 1], buf[128];
	int				 n;

	if (msg->version == PROTO_VERSION && msg->nonce.len == 0) {
		if (peer_secret != NULL) {
			log_warnx("peer connection from %s (says it is %.*s): "
			    "refused: a version 1 HELLO, without "
			    "authentication, but this herd has a secret",
			    p->addr, (int)msg->from.len, msg->from.p);
			return pconn_refuse(p, "authentication required");
		}
	} else if (msg->version == PROTO_VERSION_AUTH && msg->nonce.len > 0) {
		if (peer_secret == NULL) {
			log_warnx("peer connection from %s (says it is %.*s): "
			    "refused: a version 2 (authenticated) HELLO, but "
			    "no secret is configured here", p->addr,
			    (int)msg->from.len, msg->from.p);
			return pconn_refuse(p, "no secret configured here");
		}
	} else
		return pconn_refuse(p, "unsupported protocol version");
	if (!proto_field_eq(&msg->to, peer_self->name))
		return pconn_refuse(p, "wrong server");
	memcpy(name, msg->from.p, msg->from.len);
	name[msg->from.len] = '\0';
	if ((srv = conf_server(peer_conf, name)) == NULL ||
	    !conf_linked(peer_conf, peer_self, srv))
		return pconn_refuse(p, "not a neighbour");
	if (peer_secret == NULL) {
		n = snprintf(buf, sizeof(buf), "OK %d %s\n", PROTO_VERSION,
		    peer_self->name);
		return pconn_accept(p, srv, buf, (size_t)n);
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

/* AUTH: the MAC of its HELLO's names and both nonces, under the secret. */
static int
pconn_auth(struct pconn *p, const struct proto_peer *msg)
{
	char	 mac[PROTO_MAC_HEX + 1], buf[HERD_NAME_MAX + PROTO_MAC_HEX + 16];
	int	 n;

	if (proto_mac(mac, peer_secret, peer_secret_len, "herd-link",
	    p->claim->name, peer_self->name, p->nonce_d, p->nonce_l) == -1)
		return pconn_refuse(p, "internal error");
	if (!proto_mac_eq(&msg->mac, mac)) {
		log_warnx("peer connection from %s (says it is %s): "
		    "authentication failed: a wrong MAC (another secret, or "
		    "not %s)", p->addr, p->claim->name, p->claim->name);
		return pconn_refuse(p, "authentication failed");
	}
	if (proto_mac(mac, peer_secret, peer_secret_len, "herd-ok",
	    peer_self->name, p->claim->name, p->nonce_l, p->nonce_d) == -1)
		return pconn_refuse(p, "internal error");
	n = snprintf(buf, sizeof(buf), "OK %d %s %s\n", PROTO_VERSION_AUTH,
	    peer_self->name, mac);
	return pconn_accept(p, p->claim, buf, (size_t)n);
}

static int
pconn_update(struct pconn *p, const struct proto_at *at)
{
	char	*line;
	size_t	 n;
	int	 rc;

	n = 3 + at->server.len + 1 + at->diff.len + 1 + at->id.len + 1 +
	    at->coords.len + 1 + at->time.len;
	if ((line = malloc(n + 1)) == NULL)
		return pconn_refuse(p, "out of memory");
	{
		const struct proto_field *f[5] = { &at->server, &at->diff,
		    &at->id, &at->coords, &at->time };
		char	*o = line;
		size_t	 i;

		memcpy(o, "AT", 2), o += 2;
		for (i = 0; i < 5; i++) {
			*o++ = ' ';
			memcpy(o, f[i]->p, f[i]->len), o += f[i]->len;
		}
		*o = '\0';
	}
	rc = store_put(at->id.p, at->id.len, &at->t, at->lat, at->lng, line,
	    n, 1);
	if (rc == 1)
		peer_flood(line, n, p->srv);
	else if (rc == -1)
		log_warnx("peer %s: out of memory storing an update",
		    p->srv->name);
	free(line);
	return 0;
}

/* One line from a neighbour; -1 when the connection is gone or closing. */
static int
pconn_line(struct pconn *p, const char *line, size_t len)
{
	struct proto_peer	 msg;
	char			 tag[HERD_NAME_MAX + 32];
	enum proto_peer_type	 type;

	p->last_rx = ev_now(peer_loop);
	type = proto_parse_peer(line, len, &msg);
	if (type != PEER_PING) {
		snprintf(tag, sizeof(tag), "peer %s recv", p->srv != NULL ?
		    p->srv->name : p->addr);
		log_line(tag, line, len);
	}
	if (p->srv == NULL && p->claim == NULL)
		return type == PEER_HELLO ? pconn_hello(p, &msg) :
		    pconn_refuse(p, "expected HELLO");
	if (p->srv == NULL)
		return type == PEER_AUTH ? pconn_auth(p, &msg) :
		    pconn_refuse(p, "expected AUTH");
	switch (type) {
	case PEER_UPDATE:
		return pconn_update(p, &msg.at);
	case PEER_PING:
		return pconn_send(p, "PONG\n", 5, 0);
	case PEER_SYNCED:
		log_info("peer %s: caught up (%lu records)", p->srv->name,
		    msg.count);
		return 0;
	case PEER_ERROR:
		pconn_close(p, "error from the neighbour");
		return -1;
	default:
		return pconn_refuse(p, "protocol error");
	}
}

static void
pconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pconn	*p = w->data;
	const char	*line;
	size_t		 len;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = linebuf_fill(&p->in, p->fd);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == -1 || n == 0 || n == -2) {
		pconn_close(p, n == 0 ? "closed" : n == -2 ? "line too long" :
		    strerror(errno));
		return;
	}
	while (!p->closing && linebuf_next(&p->in, &line, &len))
		if (pconn_line(p, line, len) == -1)
			return;
}

static void
pconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pconn	*p = w->data;
	int		 rc;

	(void)revents;
	if ((rc = outbuf_write(&p->out, p->fd)) == -1) {
		pconn_close(p, strerror(errno));
		return;
	}
	if (rc == 0) {
		ev_io_stop(loop, &p->wio);
		if (p->closing)
			pconn_close(p, "refused");
	}
}

static void
pconn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pconn	*p = w->data;

	(void)revents;
	if (p->srv == NULL)
		pconn_close(p, p->claim == NULL ? "no HELLO in time" :
		    "no AUTH in time");
	else if (ev_now(loop) - p->last_rx > PEER_IDLE_S)
		pconn_close(p, "silent for too long");
	else if (p->closing)
		pconn_close(p, "refused");
}

static void
peer_accept_cb(struct ev_loop *loop, int fd, const char *addr)
{
	struct pconn	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warnx("peer accept: out of memory");
		close(fd);
		return;
	}
	p->fd = fd;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	linebuf_init(&p->in, PEER_LINE_MAX);
	p->last_rx = ev_now(loop);
	ev_io_init(&p->rio, pconn_read_cb, fd, EV_READ);
	ev_io_init(&p->wio, pconn_write_cb, fd, EV_WRITE);
	ev_timer_init(&p->timer, pconn_timer_cb, PEER_CONNECT_S, 1.0);
	p->rio.data = p->wio.data = p->timer.data = p;
	ev_io_start(loop, &p->rio);
	ev_timer_start(loop, &p->timer);
	p->next = peer_pconns;
	if (peer_pconns != NULL)
		peer_pconns->prev = p;
	peer_pconns = p;
	log_debug("peer connection from %s", addr);
}

int
peer_init(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	struct link	*l;
	size_t		 i;

	peer_loop = loop;
	peer_conf = conf;
	peer_self = self;
	if (conf->secret_len > 0) {
		peer_secret = conf->secret;
		peer_secret_len = conf->secret_len;
		log_info("peer links are authenticated with the herd's secret "
		    "(protocol version %d)", PROTO_VERSION_AUTH);
	} else {
		peer_secret = NULL;
		peer_secret_len = 0;
		log_warnx("no secret_file and no HERD_SECRET: peer links are "
		    "not authenticated (anyone who reaches port %u can pose "
		    "as a neighbour)", self->peer_port);
	}
	if (listener_start(&peer_listener, loop, self->host, self->peer_port,
	    "peer", peer_accept_cb, err, errlen) == -1)
		return -1;
	log_info("listening for neighbours on %s port %u", self->host,
	    self->peer_port);
	peer_nlinks = self->nneighbors;
	if (peer_nlinks > 0 &&
	    (peer_links = calloc(peer_nlinks, sizeof(*peer_links))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < peer_nlinks; i++) {
		l = &peer_links[i];
		l->srv = &conf->servers[self->neighbors[i]];
		l->fd = -1;
		l->backoff_ms = PEER_BACKOFF_MIN_MS;
		ev_io_init(&l->rio, link_read_cb, -1, EV_READ);
		ev_io_init(&l->wio, link_write_cb, -1, EV_WRITE);
		ev_timer_init(&l->timer, link_timer_cb, 0., 0.);
		l->rio.data = l->wio.data = l->timer.data = l;
		log_info("dialling neighbour %s at %s port %u", l->srv->name,
		    l->srv->host, l->srv->peer_port);
		link_connect(l);
	}
	return 0;
}

void
peer_shutdown(void)
{
	size_t	 i;

	listener_stop(&peer_listener, peer_loop);
	for (i = 0; i < peer_nlinks; i++) {
		struct link *l = &peer_links[i];

		ev_timer_stop(peer_loop, &l->timer);
		if (l->fd != -1) {
			outbuf_write(&l->out, l->fd);
			ev_io_stop(peer_loop, &l->rio);
			ev_io_stop(peer_loop, &l->wio);
			close(l->fd);
		}
		linebuf_free(&l->in);
		outbuf_free(&l->out);
		store_cursor_stop(&l->snap);	/* it is in the store's list */
		if (l->lookup != NULL)
			sock_lookup_cancel(l->lookup);
	}
	free(peer_links);
	peer_links = NULL;
	peer_nlinks = 0;
	while (peer_pconns != NULL)
		pconn_close(peer_pconns, "server stopping");
}
