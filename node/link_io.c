/*
 * link_io.c -- the floor of one link (see link_int.h): its socket, the
 * bytes written to it, and the drop that closes it and dials again after
 * the backoff.  Calls nothing above it but through peer_ctx's ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "link_int.h"
#include "log.h"
#include "peer_ctx.h"
#include "sock.h"
#include "store.h"

void
link_log(struct link *l, const char *dir, const char *buf, size_t len)
{
	log_line(dir[0] == 's' ? l->tag_sent : l->tag_recv, buf, len);
}

/* Close the socket and drop what it read (not what waits to be sent). */
void
link_close_fd(struct link *l)
{
	if (l->tls != NULL) {
		ptls_close_notify(l->tls);
		ptls_free(l->tls);
		l->tls = NULL;
	}
	if (l->fd != -1) {
		ev_io_stop(peer_ctx.loop, &l->rio);
		ev_io_stop(peer_ctx.loop, &l->wio);
		close(l->fd);
		l->fd = -1;
	}
	linebuf_free(&l->in);
}

/* Close the connection and forget the stream: nothing is running after. */
void
link_teardown(struct link *l)
{
	link_close_fd(l);
	outbuf_free(&l->out);
	store_cursor_stop(&l->cur);
	store_cursor_stop(&l->rep);
	ev_timer_stop(peer_ctx.loop, &l->timer);
	ev_timer_stop(peer_ctx.loop, &l->ntimer);
	if (l->lookup != NULL) {
		sock_lookup_cancel(l->lookup);
		l->lookup = NULL;
	}
	l->resolved = 0;	/* look a name up again: it may have moved */
}

void
link_down(struct link *l, const char *why)
{
	int	 was_up = l->state == LINK_UP;

	link_teardown(l);
	if (l->state == LINK_UP)
		log_warnx("link to %s down: %s; retrying in %d ms",
		    l->srv->name, why, l->backoff_ms);
	else if (!l->down_logged)
		log_notice("link to %s not up yet: %s; retrying in %d ms",
		    l->srv->name, why, l->backoff_ms);
	else
		log_debug("link to %s: %s; retrying in %d ms", l->srv->name,
		    why, l->backoff_ms);
	l->down_logged = 1;
	l->state = LINK_BACKOFF;
	ev_timer_set(&l->timer, l->backoff_ms / 1000.0, 0.);
	ev_timer_start(peer_ctx.loop, &l->timer);
	l->backoff_ms *= 2;
	if (l->backoff_ms > PEER_BACKOFF_MAX_MS)
		l->backoff_ms = PEER_BACKOFF_MAX_MS;
	if (was_up)
		peer_ctx.ops.out_down(l->nb);
}

/*
 * The neighbour answered, but not as a neighbour should: always worth a
 * warning (a misconfiguration, or not a herd server at all).
 */
void
link_refused(struct link *l, const char *why)
{
	log_warnx("link to %s refused: %s", l->srv->name, why);
	link_down(l, why);
}

/*
 * The listener failed to prove it holds the herd's secret: it is not the
 * neighbour (or its secret differs).  Say so, and send it nothing else.
 */
void
link_auth_failed(struct link *l, const char *why)
{
	static const char	 err[] = "ERROR authentication failed\n";

	log_warnx("link to %s (%s port %u): authentication failed: %s",
	    l->srv->name, l->srv->host, l->srv->peer_port, why);
	link_log(l, "sent", err, sizeof(err) - 2);
	if (outbuf_add(&l->out, err, sizeof(err) - 1) == 0)
		(void)peer_write(&l->out, l->fd, l->tls);	/* best effort */
	link_down(l, "authentication failed");
}

void
link_tls_failed(struct link *l, const char *why)
{
	char	 w[256];

	snprintf(w, sizeof(w), "TLS: %s", why);	/* why may be l->tls's */
	if (!l->tls_logged)
		log_warnx("link to %s (%s port %u): %s", l->srv->name,
		    l->srv->host, l->srv->peer_port, w);
	l->tls_logged = 1;
	link_down(l, w);
}

/* Write what is queued; -1 when the link dropped. */
int
link_write(struct link *l)
{
	int	 rc = peer_write(&l->out, l->fd, l->tls);

	if (rc == -1) {
		if (l->tls != NULL && errno == EPROTO)
			link_tls_failed(l, ptls_error(l->tls));
		else
			link_down(l, strerror(errno));
		return -1;
	}
	/* over TLS a write may wait to read: the read callback writes then */
	if (rc == 1 && (l->tls == NULL || (ptls_want(l->tls) & EV_WRITE)))
		ev_io_start(peer_ctx.loop, &l->wio);
	else
		ev_io_stop(peer_ctx.loop, &l->wio);
	return 0;
}

/* Queue bytes and write; -1 when the link dropped. */
int
link_send(struct link *l, const char *buf, size_t len)
{
	if (outbuf_add(&l->out, buf, len) == -1) {
		link_down(l, "out of memory");
		return -1;
	}
	return link_write(l);
}
