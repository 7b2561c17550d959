/*
 * pconn_io.c -- a neighbour's connection to us at its lowest: the close
 * (and what its neighbour hears of it), the writes, over TLS when the peer
 * links speak it, the refusals, and their warnings, at most one a minute
 * for the same reason.  Calls nothing above it but through peer_ctx's ops.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "linebuf.h"
#include "log.h"
#include "neighbour.h"
#include "pconn_int.h"
#include "peer_ctx.h"
#include "ptls.h"

static int	 pconn_stopping;	/* dropping them all: no wave, no grafts */

void
pconn_quiet(int stopping)
{
	pconn_stopping = stopping;
}

/*
 * Close p, saying why; its neighbour hears of it (in_gone) when p was its
 * stream to us.
 */
void
pconn_close(struct pconn *p, const char *why)
{
	struct neighbour	*nb = p->nb;
	int			 streaming = p->have_from;
	int			 was_in = nb != NULL && nb->in == p;

	if (p->srv != NULL)
		log_warnx("peer %s (%s) dropped: %s", p->srv->name, p->addr,
		    why);
	else if (!p->warned)
		log_notice("peer connection from %s closed: %s", p->addr, why);
	else		/* said once already (pconn_warn) */
		log_debug("peer connection from %s closed: %s", p->addr, why);
	ev_io_stop(peer_ctx.loop, &p->rio);
	ev_io_stop(peer_ctx.loop, &p->wio);
	ev_timer_stop(peer_ctx.loop, &p->timer);
	if (p->tls != NULL) {
		ptls_close_notify(p->tls);
		ptls_free(p->tls);
	}
	close(p->fd);
	linebuf_free(&p->in);
	outbuf_free(&p->out);
	LIST_REMOVE(p, entry);
	free(p);
	if (was_in) {
		nb->in = NULL;
		peer_ctx.ops.in_gone(nb, streaming, pconn_stopping);
	}
}

/*
 * Some of p's output waits: for the socket to be writable, or over TLS
 * for what ptls_want says (a write that waits to read is the read
 * callback's to go on with).
 */
void
pconn_wait_write(struct pconn *p)
{
	if (p->tls == NULL || (ptls_want(p->tls) & EV_WRITE))
		ev_io_start(peer_ctx.loop, &p->wio);
}

/*
 * A refusal seen on the listening side, which a neighbour that redials
 * repeats every few seconds: a warning the first time in a minute, then
 * only at debug.
 */
void
pconn_warn(struct pconn *p, const char *fmt, ...)
{
	static char		 last[256];
	static ev_tstamp	 last_at;
	ev_tstamp		 now = ev_now(peer_ctx.loop);
	char			 why[256];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p->warned = 1;
	if (strcmp(last, why) == 0 && now - last_at < 60.0) {
		log_debug("peer connection from %s: %s", p->addr, why);
		return;
	}
	snprintf(last, sizeof(last), "%s", why);
	last_at = now;
	log_warnx("peer connection from %s%s%s (the same again within a "
	    "minute is logged at debug)", p->addr, why[0] == '(' ? " " : ": ",
	    why);
}

int
pconn_send(struct pconn *p, const char *buf, size_t len, int log)
{
	int	 rc;

	if (log)
		log_line(p->tag_sent, buf, len - 1);
	if (outbuf_add(&p->out, buf, len) == -1 ||
	    (rc = peer_write(&p->out, p->fd, p->tls)) == -1) {
		pconn_close(p, "write failed");
		return -1;
	}
	if (outbuf_len(&p->out) > PEER_PCONN_OUT_MAX) {
		pconn_close(p, "neighbour not reading: output over the cap");
		return -1;
	}
	if (rc == 1)
		pconn_wait_write(p);
	return 0;
}

void
pconn_queue(struct pconn *p, const char *buf, size_t len, int log)
{
	if (log)
		log_line(p->tag_sent, buf, len - 1);
	if (outbuf_add(&p->out, buf, len) == -1) {
		p->closing = 1;		/* out of memory: close it */
		ev_io_start(peer_ctx.loop, &p->wio);
	} else if (peer_write(&p->out, p->fd, p->tls) != 0)
		pconn_wait_write(p);	/* or the write callback closes it */
}

int
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

/* The TLS handshake goes on: -1 when it failed (p is closed). */
int
pconn_tls_step(struct pconn *p)
{
	char	 why[256];

	switch (ptls_handshake(p->tls)) {
	case -1:
		snprintf(why, sizeof(why), "TLS: %s", ptls_error(p->tls));
		pconn_warn(p, "%s", why);
		pconn_close(p, why);
		return -1;
	case 0:
		if (ptls_want(p->tls) & EV_WRITE)
			ev_io_start(peer_ctx.loop, &p->wio);
		else
			ev_io_stop(peer_ctx.loop, &p->wio);
		return 0;
	}
	p->handshaking = 0;
	ev_io_stop(peer_ctx.loop, &p->wio);
	log_info("peer connection from %s: TLS up (%s, %s, %s)", p->addr,
	    ptls_key_name(p->tls), ptls_cipher(p->tls), ptls_group(p->tls));
	return 0;
}

