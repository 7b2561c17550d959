/*
 * link_set.c -- the set of the dialling side's links: one for each
 * configured neighbour, then slots for rescue links (rescue.c), and what
 * is done to them: flush, kick, names, counts, shutdown.  Each link is
 * its neighbour's out stream (neighbour.h).
 */
#include <sys/timerfd.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "link.h"
#include "link_int.h"
#include "log.h"
#include "neighbour.h"
#include "notify.h"
#include "peer_ctx.h"

/*
 * The configured links first, then slots for rescue links (rescue.c),
 * whose srv is NULL while unused: every loop over links skips those.
 */
static struct link	*links;
static size_t		 nlinks, nconfigured;

/*
 * A busy server writes records to a neighbour at most once every
 * PEER_COALESCE_S: a link that was written less than that ago waits, and a
 * timerfd (precise to the microsecond, where libev's timers wait whole
 * milliseconds when the loop is idle) wakes us when it is due.  At pipeline
 * depth 1 an iteration holds a few commands, and every write to a
 * neighbour costs both ends a system call and a wake-up: this makes them
 * fewer and bigger.  A link quiet for longer is written at once, so a lone
 * update waits for nothing.
 */
static int		 link_due_fd = -1;
static ev_io		 link_due;
static ev_tstamp	 link_due_when;		/* when it is set for; 0: not */

static void	 link_flush_all(void);

static void
link_due_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	uint64_t	 n;

	(void)loop;
	(void)revents;
	link_due_when = 0;
	if (read(w->fd, &n, sizeof(n)) == -1) {
		/* EAGAIN: nothing; the flush below looks anyway */
	}
	link_flush();
}

static void
link_due_at(ev_tstamp wait)
{
	struct itimerspec	 its;
	ev_tstamp		 when = ev_now(peer_ctx.loop) + wait;

	if (link_due_when != 0 && link_due_when <= when)
		return;			/* set already, as soon */
	link_due_when = when;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = (long)(wait * 1e9) + 1;
	if (link_due_fd == -1 ||
	    timerfd_settime(link_due_fd, 0, &its, NULL) == -1) {
		link_due_when = 0;
		link_flush_all();	/* no timer: write now */
	}
}

static void
link_flush_all(void)
{
	size_t	 i;

	for (i = 0; i < nlinks; i++)
		if (links[i].srv != NULL && links[i].state == LINK_UP &&
		    !ev_is_active(&links[i].wio)) {
			links[i].pumped_at = ev_now(peer_ctx.loop);
			link_pump(&links[i]);
		}
}

void
link_flush(void)
{
	ev_tstamp	 now = ev_now(peer_ctx.loop), left, wait = 0;
	struct link	*l;
	size_t		 i;

	for (i = 0; i < nlinks; i++) {
		l = &links[i];
		if (l->srv == NULL || l->state != LINK_UP ||
		    ev_is_active(&l->wio))
			continue;
		if (l->cur.next != NULL) {	/* records to send */
			left = l->pumped_at + PEER_COALESCE_S - now;
			if (left > 0) {
				if (wait == 0 || left < wait)
					wait = left;
				continue;
			}
			l->pumped_at = now;
		}
		link_pump(l);
	}
	if (wait > 0)
		link_due_at(wait);
}

void
link_kick(struct link *l)
{
	if (l->srv == NULL || l->state != LINK_BACKOFF)
		return;
	l->backoff_ms = PEER_BACKOFF_MIN_MS;
	ev_timer_stop(peer_ctx.loop, &l->timer);
	link_connect(l);
}

/* The names of the links up (only the eager ones: eager), comma-separated. */
static size_t
link_names(char *buf, size_t size, int eager)
{
	size_t	 i, o = 0;
	int	 n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < nlinks; i++) {
		if (links[i].srv == NULL || links[i].state != LINK_UP ||
		    (eager && links[i].nb->lazy_out && !links[i].catching))
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o > 0 ? "," : "",
		    links[i].srv->name);
		if (n < 0 || (size_t)n >= size - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return o;
}

size_t
link_names_up(char *buf, size_t size)
{
	return link_names(buf, size, 0);
}

size_t
link_names_eager(char *buf, size_t size)
{
	return link_names(buf, size, 1);
}

void
link_flood(struct notify_msg *m)
{
	size_t	 i;

	m->nflood = 0;
	for (i = 0; i < nlinks && m->nflood < NOTIFY_FLOOD_MAX; i++) {
		if (links[i].srv == NULL)
			continue;
		snprintf(m->flood[m->nflood].name,
		    sizeof(m->flood[m->nflood].name), "%s", links[i].srv->name);
		m->flood[m->nflood++].n = links[i].nb->nsent;
	}
	m->have |= NOTIFY_F_FLOOD;
}

/* A slot, unused (srv NULL) or set up for srv and dialled. */
static void
link_setup(struct link *l, const struct herd_server *srv, int rescue)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->backoff_ms = PEER_BACKOFF_MIN_MS;
	ev_io_init(&l->rio, link_read_cb, -1, EV_READ);
	ev_io_init(&l->wio, link_write_cb, -1, EV_WRITE);
	ev_timer_init(&l->timer, link_timer_cb, 0., 0.);
	ev_timer_init(&l->ntimer, link_notice_cb, 0., 0.);
	l->rio.data = l->wio.data = l->timer.data = l->ntimer.data = l;
	if ((l->srv = srv) == NULL)
		return;
	l->rescue = rescue;
	l->idx = peer_index(srv);
	l->nb = &peer_ctx.nbs[l->idx];
	l->nb->out = l;
	snprintf(l->tag_sent, sizeof(l->tag_sent), "peer %s sent", srv->name);
	snprintf(l->tag_recv, sizeof(l->tag_recv), "peer %s recv", srv->name);
	log_notice("dialling %s %s at %s port %u", rescue ? "rescue link" :
	    "neighbour", srv->name, srv->host, srv->peer_port);
	link_connect(l);
}

int
link_init(char *err, size_t errlen)
{
	const struct herd_server	*self = peer_ctx.self;
	size_t				 i;

	nconfigured = self->nneighbors;
	/* our own rescue links, and as many for servers that call on us */
	nlinks = nconfigured + 2 * (size_t)peer_ctx.conf->rescue_links;
	if (nlinks > 0 && (links = calloc(nlinks, sizeof(*links))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nlinks; i++)
		link_setup(&links[i], i < nconfigured ?
		    &peer_ctx.conf->servers[self->neighbors[i]] : NULL, 0);
	link_due_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (link_due_fd != -1) {
		ev_io_init(&link_due, link_due_cb, link_due_fd, EV_READ);
		ev_io_start(peer_ctx.loop, &link_due);
	} else
		log_warn("timerfd_create: peer links are written at once");
	return 0;
}

void
link_drop_stale_keys(void)
{
	size_t	 i;

	for (i = 0; i < nlinks; i++)
		if (links[i].srv != NULL && links[i].fd != -1 &&
		    peer_key_dropped(links[i].tls))
			link_down(&links[i], "its key was removed from the "
			    "keyring: redialling with the first");
}

int
link_configured_up(void)
{
	size_t	 i;

	for (i = 0; i < nconfigured; i++)
		if (links[i].state == LINK_UP)
			return 1;
	return 0;
}

int
link_rescue_start(const struct herd_server *srv)
{
	size_t	 i, free_slot = nlinks;

	for (i = 0; i < nlinks; i++) {
		if (links[i].srv == srv)
			return 0;		/* linked already */
		if (links[i].srv == NULL && free_slot == nlinks)
			free_slot = i;
	}
	if (free_slot == nlinks)
		return -1;
	link_setup(&links[free_slot], srv, 1);
	return 1;
}

void
link_rescue_stop(const struct herd_server *srv)
{
	size_t	 i;

	for (i = nconfigured; i < nlinks; i++)
		if (links[i].srv == srv) {
			/* what is queued goes first, as at shutdown */
			if (links[i].fd != -1)
				(void)peer_write(&links[i].out, links[i].fd,
				    links[i].tls);
			link_teardown(&links[i]);
			links[i].nb->out = NULL;
			log_notice("rescue link to %s dropped", srv->name);
			link_setup(&links[i], NULL, 0);
		}
}

void
link_shutdown(void)
{
	size_t	 i;

	for (i = 0; i < nlinks; i++) {
		struct link *l = &links[i];

		if (l->srv == NULL)
			continue;
		ev_timer_stop(peer_ctx.loop, &l->timer);
		ev_timer_stop(peer_ctx.loop, &l->ntimer);
		if (l->fd != -1) {
			link_seq_last(l);
			(void)peer_write(&l->out, l->fd, l->tls);
		}
		link_close_fd(l);	/* and its TLS, with close_notify */
		outbuf_free(&l->out);
		store_cursor_stop(&l->cur);	/* they are in the store's list */
		store_cursor_stop(&l->rep);
		if (l->lookup != NULL)
			sock_lookup_cancel(l->lookup);
	}
	for (i = 0; i < nlinks; i++)
		if (links[i].nb != NULL && links[i].nb->out == &links[i])
			links[i].nb->out = NULL;
	free(links);
	links = NULL;
	nlinks = nconfigured = 0;
	if (link_due_fd != -1) {
		ev_io_stop(peer_ctx.loop, &link_due);
		close(link_due_fd);
		link_due_fd = -1;
	}
}
