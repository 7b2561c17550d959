/*
 * rescue.c -- rescue links ([herd] rescue_links, herd.ini(5)).
 *
 * Updates travel only over configured links, so a server whose every
 * neighbour is down hears nothing.  With rescue_links = N, once no link to
 * a configured neighbour has been up for RESCUE_GRACE_S, the server dials
 * up to N servers it is not linked to, nearest in the configured graph
 * first (a breadth-first search from it; the file's order breaks ties),
 * with a HELLO that says RESCUE.  The server called on accepts it (it is
 * not a neighbour, but the herd allows rescues) and dials back, so that
 * updates flow both ways, each a stream like any link's, resumed and
 * caught up the same way.  As soon as a configured link is up again the
 * rescuer drops its rescue links; the other end drops its own when the
 * rescuer's connection goes.  Off (0) by default: a herd's reachability
 * is its configured mesh, as users of the original protocol expect.
 */
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "link.h"
#include "log.h"
#include "neighbour.h"
#include "peer_ctx.h"
#include "rescue.h"

#define RESCUE_TICK_S	0.5
#define RESCUE_GRACE_S	2.0	/* cut off this long: rescue */

static struct {
	ev_timer		 tick;
	ev_tstamp		 last_up;	/* a configured link was up */
	size_t			 nown;	/* neighbours we called on
					   (their rescue_out) */
	size_t			 nasked;	/* that called on us (rescue_in) */
	int			 on;
} rescue_st;			/* the rescuer's state */

static size_t
rescue_index(const struct herd_server *srv)
{
	return (size_t)(srv - peer_ctx.conf->servers);
}

/* Up to max servers not linked to self, nearest first, into out. */
static size_t
rescue_targets(const struct herd_server **out, size_t max)
{
	const struct herd_conf	*cf = peer_ctx.conf;
	size_t			 n = cf->nservers, head = 0, tail = 0, v, i, w;
	size_t			*queue, got = 0;
	unsigned char		*seen;

	queue = calloc(n, sizeof(*queue));
	seen = calloc(n, 1);
	if (queue == NULL || seen == NULL)
		goto done;
	v = rescue_index(peer_ctx.self);
	seen[v] = 1;
	queue[tail++] = v;
	while (head < tail && got < max) {
		v = queue[head++];
		for (i = 0; i < cf->servers[v].nneighbors; i++) {
			w = cf->servers[v].neighbors[i];
			if (seen[w])
				continue;
			seen[w] = 1;
			queue[tail++] = w;
			if (!conf_linked(cf, peer_ctx.self, &cf->servers[w]) &&
			    got < max)
				out[got++] = &cf->servers[w];
		}
	}
	/* not reachable in the graph at all: the file's order */
	for (w = 0; w < n && got < max; w++)
		if (!seen[w])
			out[got++] = &cf->servers[w];
 done:
	free(queue);
	free(seen);
	return got;
}

static void
rescue_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	const struct herd_server	*t[CONF_RESCUE_MAX];
	ev_tstamp			 now = ev_now(loop);
	size_t				 i, n;

	(void)w;
	(void)revents;
	if (link_configured_up() || peer_ctx.self->nneighbors == 0) {
		rescue_st.last_up = now;
		if (rescue_st.nown > 0) {
			log_notice("a configured link is up: dropping %zu "
			    "rescue link%s", rescue_st.nown,
			    rescue_st.nown == 1 ? "" : "s");
			for (i = 0; i < peer_ctx.conf->nservers; i++)
				if (peer_ctx.nbs[i].rescue_out) {
					peer_ctx.nbs[i].rescue_out = 0;
					link_rescue_stop(peer_ctx.nbs[i].srv);
				}
			rescue_st.nown = 0;
		}
		return;
	}
	if (now - rescue_st.last_up < RESCUE_GRACE_S || rescue_st.nown > 0)
		return;
	n = rescue_targets(t, (size_t)peer_ctx.conf->rescue_links);
	for (i = 0; i < n; i++) {
		if (link_rescue_start(t[i]) == -1)
			break;
		peer_ctx.nbs[peer_index(t[i])].rescue_out = 1;
		rescue_st.nown++;
	}
	if (rescue_st.nown > 0)
		log_warnx("no configured link up for %.0f s: rescue links to "
		    "%zu server%s", now - rescue_st.last_up, rescue_st.nown,
		    rescue_st.nown == 1 ? "" : "s");
}

void
rescue_asked(struct neighbour *nb)
{
	if (!rescue_st.on || nb->rescue_out || nb->rescue_in)
		return;		/* we called on it too, or serve it already */
	if (rescue_st.nasked >= (size_t)peer_ctx.conf->rescue_links) {
		log_warnx("rescue link from %s: %d served already; it gets "
		    "none back", nb->srv->name, peer_ctx.conf->rescue_links);
		return;
	}
	if (link_rescue_start(nb->srv) == 1) {
		nb->rescue_in = 1;
		rescue_st.nasked++;
		log_notice("rescue link from %s: streaming back to it",
		    nb->srv->name);
	}
}

void
rescue_gone(struct neighbour *nb)
{
	if (!nb->rescue_in)
		return;
	link_rescue_stop(nb->srv);
	nb->rescue_in = 0;
	rescue_st.nasked--;
}

void
rescue_init(struct ev_loop *loop)
{
	int	 n = peer_ctx.conf->rescue_links;

	memset(&rescue_st, 0, sizeof(rescue_st));
	if (n <= 0)
		return;
	rescue_st.on = 1;
	rescue_st.last_up = ev_now(loop);
	ev_timer_init(&rescue_st.tick, rescue_tick_cb, RESCUE_TICK_S,
	    RESCUE_TICK_S);
	ev_timer_start(loop, &rescue_st.tick);
}

void
rescue_shutdown(void)
{
	size_t	 i;

	if (rescue_st.on)
		ev_timer_stop(peer_ctx.loop, &rescue_st.tick);
	for (i = 0; peer_ctx.nbs != NULL && i < peer_ctx.conf->nservers; i++)
		peer_ctx.nbs[i].rescue_in = peer_ctx.nbs[i].rescue_out = 0;
	memset(&rescue_st, 0, sizeof(rescue_st));
}
