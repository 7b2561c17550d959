/*
 * link_dial.c -- a link from its neighbour's name to HELLO: the name
 * looked up without blocking (sock_lookup), each address dialled in turn,
 * the TLS handshake when the peer links speak TLS (peer_ctx.tls, ptls.h),
 * then HELLO with the MAC key of the herd handshake bound to that TLS
 * session (peer_mac_key).  The rest of the handshake and the stream are
 * link.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "link_int.h"
#include "log.h"
#include "peer_ctx.h"
#include "proto.h"
#include "ptls.h"
#include "sock.h"

static void	 link_dial(struct link *);

/*
 * Dialling one address of the neighbour failed: dial its next one, or go
 * down with why after the last.
 */
void
link_next(struct link *l, const char *why)
{
	if (l->ai + 1 >= l->sa.n) {
		link_down(l, why);
		return;
	}
	log_debug("link to %s: address %zu of %zu: %s; dialling the next",
	    l->srv->name, l->ai + 1, l->sa.n, why);
	link_close_fd(l);
	l->ai++;
	link_dial(l);
}

/*
 * Queue HELLO (the connection, and its TLS if any, is up): the MAC key of
 * the handshake first, our first key bound to the TLS session.  -1 when
 * the link went down.
 */
static int
link_hello(struct link *l)
{
	char	 buf[2 * HERD_NAME_MAX + PROTO_NONCE_HEX + 32];

	l->state = LINK_HELLO;
	if (peer_ctx.secret != NULL &&
	    peer_mac_key(l->tls, 0, &l->mkey) == -1) {
		link_down(l, "could not derive the handshake's key");
		return -1;
	}
	if (peer_hello_line(buf, sizeof(buf), l->srv, l->nonce_d,
	    l->rescue) == -1) {
		link_down(l, "getrandom failed");
		return -1;
	}
	link_log(l, "sent", buf, strlen(buf) - 1);
	if (outbuf_add(&l->out, buf, strlen(buf)) == -1) {
		link_down(l, "out of memory");
		return -1;
	}
	return 0;
}

int
link_opening(struct link *l)
{
	int	 e;

	if (l->state == LINK_CONNECTING) {
		if ((e = sock_error(l->fd)) != 0) {
			link_next(l, strerror(e));
			return -1;
		}
		ev_io_start(peer_ctx.loop, &l->rio);
		if (peer_ctx.tls == NULL)
			return link_hello(l);
		if ((l->tls = ptls_new(peer_ctx.tls, l->fd, 1,
		    l->srv->name)) == NULL) {
			link_down(l, "out of memory");
			return -1;
		}
		l->state = LINK_TLS;
	}
	/* the TLS handshake: the write watcher only while it waits to write */
	switch (ptls_handshake(l->tls)) {
	case -1:
		link_tls_failed(l, ptls_error(l->tls));
		return -1;
	case 0:
		if (ptls_want(l->tls) & EV_WRITE)
			ev_io_start(peer_ctx.loop, &l->wio);
		else
			ev_io_stop(peer_ctx.loop, &l->wio);
		return -1;
	}
	log_info("link to %s: TLS up (%s, %s, %s)", l->srv->name,
	    ptls_key_name(l->tls), ptls_cipher(l->tls), ptls_group(l->tls));
	return link_hello(l);
}


static void
link_dial(struct link *l)
{
	if ((l->fd = sock_connect(&l->sa.a[l->ai])) == -1) {
		link_next(l, strerror(errno));
		return;
	}
	l->state = LINK_CONNECTING;
	l->last_rx = l->last_ping = ev_now(peer_ctx.loop);
	linebuf_init(&l->in, PEER_LINE_MAX);
	ev_io_set(&l->rio, l->fd, EV_READ);
	ev_io_set(&l->wio, l->fd, EV_WRITE);
	ev_io_start(peer_ctx.loop, &l->wio);
	ev_timer_stop(peer_ctx.loop, &l->timer);
	ev_timer_set(&l->timer, PEER_CONNECT_S, 0.);
	ev_timer_start(peer_ctx.loop, &l->timer);
}

/* Dial the neighbour, looking its name up first (without blocking). */
void
link_connect(struct link *l)
{
	char	 err[512];

	l->ai = 0;
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
		l->lookup_start = ev_now(peer_ctx.loop);
		ev_timer_stop(peer_ctx.loop, &l->timer);
		ev_timer_set(&l->timer, PEER_LOOKUP_POLL_S, PEER_LOOKUP_POLL_S);
		ev_timer_start(peer_ctx.loop, &l->timer);
		return;
	default:
		link_down(l, err);
	}
}

void
link_lookup_poll(struct link *l)
{
	char	 err[512];
	int	 rc;

	rc = sock_lookup_poll(l->lookup, &l->sa, err, sizeof(err));
	if (rc == 0) {
		if (ev_now(peer_ctx.loop) - l->lookup_start > PEER_LOOKUP_S)
			link_down(l, "name lookup timed out");
		return;
	}
	l->lookup = NULL;
	ev_timer_stop(peer_ctx.loop, &l->timer);
	if (rc == -1) {
		link_down(l, err);
		return;
	}
	l->resolved = 1;
	l->ai = 0;
	link_dial(l);
}
