/*
 * peer.c -- the peer links as a whole (see peer.h): the listener, the
 * herd's secret, the neighbours (one struct neighbour per server of the
 * herd, neighbour.h), and the ops by which the two transports' events
 * reach the tree (tree.c) and rescue (rescue.c).
 *
 * Each direction of a link is its own TCP connection: a node dials every
 * neighbour's peer port and sends its changes there (link.c), and receives
 * the neighbours' changes on the connections they dial to it (pconn.c).
 * So no two nodes ever race to decide which of two connections survives.
 *
 * With the herd's secret configured, the handshake is version 2: a
 * challenge and response each way (HMAC-SHA256 of both names and both
 * nonces), so that neither side counts a link as up, nor sends or accepts
 * updates on it, before the other has shown it holds the secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_tls.h"
#include "journal.h"
#include "link.h"
#include "link_int.h"
#include "listener.h"
#include "log.h"
#include "neighbour.h"
#include "notify.h"
#include "pconn.h"
#include "pconn_int.h"
#include "peer.h"
#include "peer_ctx.h"
#include "keyring.h"
#include "proto.h"
#include "ptls.h"
#include "rescue.h"
#include "tree.h"
#include "update.h"

static struct listener	 peer_listener;

void
peer_flush(void)
{
	link_flush();
}

size_t
peer_links_up(char *buf, size_t size)
{
	return link_names_up(buf, size);
}

size_t
peer_links_eager(char *buf, size_t size)
{
	return link_names_eager(buf, size);
}

void
peer_flood(struct notify_msg *m)
{
	link_flood(m);
}

size_t
peer_links_synced(char *buf, size_t size)
{
	return pconn_names_synced(buf, size);
}

size_t
peer_link_keys(char *buf, size_t size, int in)
{
	const struct neighbour	*nb;
	const struct ptls	*t;
	size_t			 i;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; peer_ctx.nbs != NULL && i < peer_ctx.conf->nservers; i++) {
		nb = &peer_ctx.nbs[i];
		if (in)
			t = nb->in != NULL ? nb->in->tls : NULL;
		else
			t = nb->out != NULL && nb->out->state == LINK_UP ?
			    nb->out->tls : NULL;
		/* plain text (no key), or the handshake is not over */
		if (t == NULL || ptls_key_name(t)[0] == '\0')
			continue;
		if (notify_keys_add(buf, size, nb->srv->name,
		    ptls_key_name(t)) == -1)
			break;		/* those that fit, in the herd's order */
	}
	return strlen(buf);
}

/*
 * This server lost changes it may have passed on (a neighbour saw more of
 * our stream than we hold): forget the marks and drop the neighbours'
 * connections, so each redials and sends us everything, even what came
 * from us.
 */
static void
peer_lost_changes(void)
{
	journal_forget_marks();
	pconn_drop_all("we lost changes: send us everything");
}

void
peer_hold(int hold)
{
	pconn_pause(hold);
}

static void
peer_recovered(void)
{
	pconn_pause(0);
}

/* The transports' events (peer_ctx.h's ops), for the floors above them. */

/* The mesh changed at nb: "<what> <its name> <how>", for the log. */
static void
peer_mesh_changed(const struct neighbour *nb, const char *what,
    const char *how)
{
	char	 why[HERD_NAME_MAX + 48];

	snprintf(why, sizeof(why), "%s %s %s", what, nb->srv->name, how);
	tree_unsettle(why);
}

static void
peer_out_up(struct neighbour *nb)
{
	peer_mesh_changed(nb, "link to", "up");
}

static void
peer_out_down(struct neighbour *nb)
{
	peer_mesh_changed(nb, "link to", "down");
}

/* It dialled us: dial it back now if our link is backing off. */
static void
peer_in_accepted(struct neighbour *nb, int rescue)
{
	if (nb->out != NULL)
		link_kick(nb->out);
	if (rescue)
		rescue_asked(nb);	/* and stream back to it */
}

/*
 * Whether lines taken must be noted for notices (update_note_lines): a
 * neighbour's stream turns lazy only when we prune it, and we prune one
 * only when another brought the same line first, so only with two
 * streams to us or more; gone: the one whose stream is ending.  A second
 * stream unsettles the tree (no prune for PEER_SETTLE_S), so lines are
 * noted before any notice can name them.
 */
static void
peer_note_lines(const struct neighbour *gone)
{
	size_t	 i, n = 0;

	for (i = 0; i < peer_ctx.conf->nservers; i++)
		if (&peer_ctx.nbs[i] != gone && peer_ctx.nbs[i].in != NULL)
			n++;
	update_note_lines(n >= 2);
}

static void
peer_in_from(struct neighbour *nb, uint64_t lseq)
{
	peer_note_lines(NULL);
	tree_from(nb, lseq);
	peer_mesh_changed(nb, "peer", "up");
}

static void
peer_in_eager(struct neighbour *nb)
{
	peer_mesh_changed(nb, "peer", "says the mesh changed");
}

static void
peer_in_gone(struct neighbour *nb, int streaming, int quiet)
{
	peer_note_lines(nb);
	tree_gone(nb, quiet);
	if (streaming && !quiet)
		peer_mesh_changed(nb, "peer", "gone");
	rescue_gone(nb);
}

static const struct peer_ops peer_ops = {
	.out_up = peer_out_up,
	.out_down = peer_out_down,
	.graft = tree_grafted,
	.prune = tree_pruned,
	.in_accepted = peer_in_accepted,
	.in_from = peer_in_from,
	.in_eager = peer_in_eager,
	.in_position = tree_position,
	.in_update = tree_update,
	.in_tick = tree_tick,
	.in_gone = peer_in_gone,
	.lost_changes = peer_lost_changes,
};

/* One neighbour for each server of the herd, by its index. */
static int
peer_neighbours(char *err, size_t errlen)
{
	const struct herd_conf	*cf = peer_ctx.conf;
	struct neighbour	*nb;
	size_t			 i;

	if ((peer_ctx.nbs = calloc(cf->nservers, sizeof(*nb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cf->nservers; i++) {
		nb = &peer_ctx.nbs[i];
		nb->srv = &cf->servers[i];
		nb->idx = (int)i;
		nb->configured = nb->srv != peer_ctx.self &&
		    conf_linked(cf, peer_ctx.self, nb->srv);
		tree_init(nb);
	}
	return 0;
}

int
peer_tls_init(const struct herd_conf *conf, const struct herd_server *self,
    char *err, size_t errlen)
{
	char	 e[512];

	peer_ctx.keys = conf->keys;
	peer_ctx.secret = conf->keys.n > 0 ? conf->secret : NULL;
	peer_ctx.features = peer_features_ours(getenv("HERD_PEER_FEATURES"));
	if (peer_ctx.features != PEER_F_ALL)
		log_notice("HERD_PEER_FEATURES: peer features %s",
		    peer_ctx.features & PEER_F_TREE ? "+tree" : "none");
	if (conf->tls.on && (conf->keys.n > 0 || conf->tls.cert[0] != '\0')) {
		if ((peer_ctx.tls = ptls_ctx_new(conf, self->name, e,
		    sizeof(e))) == NULL) {
			snprintf(err, errlen, "%s", e);
			return -1;
		}
		log_notice("peer links speak TLS 1.3, authenticated by %s",
		    ptls_ctx_mode(peer_ctx.tls) == PTLS_CERT ? "certificates" :
		    "the herd's keyring (TLS external PSK)");
	} else if (conf->tls.on)
		log_warnx("peer_tls is on, but there is no secret and no "
		    "certificate: peer links are plain text");
	else
		log_notice("peer_tls = off: peer links are plain text");
	if (peer_ctx.secret != NULL)
		log_notice("peer links are authenticated with the herd's "
		    "secret (protocol version %d, %zu key%s)",
		    PROTO_VERSION_AUTH, conf->keys.n, conf->keys.n == 1 ? "" :
		    "s");
	else if (peer_ctx.tls == NULL)
		log_warnx("no secret_file and no HERD_SECRET: peer links are "
		    "not authenticated (anyone who reaches port %u can pose "
		    "as a neighbour)", self->peer_port);
	return 0;
}

void
peer_rekey(const struct herd_conf *cf)
{
	char	 err[512];

	if (conf_tls_equal(peer_ctx.conf, cf) &&
	    keyring_equal(&peer_ctx.keys, &cf->keys))
		return;
	if ((cf->keys.n > 0) != (peer_ctx.secret != NULL) ||
	    cf->tls.on != peer_ctx.conf->tls.on) {
		log_warnx("SIGHUP: a secret added or removed, or peer_tls "
		    "changed: this takes a restart (herdd restarts the server "
		    "on reload)");
		return;
	}
	if (peer_ctx.tls != NULL &&
	    ptls_ctx_reload(peer_ctx.tls, cf, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: the new keys or certificates do not load, "
		    "the old ones serve on: %s", err);
		return;
	}
	keyring_clear(&peer_ctx.keys);
	peer_ctx.keys = cf->keys;
	log_notice("SIGHUP: %zu key%s%s taken; links up keep theirs, but for "
	    "a key no longer held", cf->keys.n, cf->keys.n == 1 ? "" : "s",
	    peer_ctx.tls != NULL && ptls_ctx_mode(peer_ctx.tls) == PTLS_CERT ?
	    " and the certificates" : "");
	/* a key removed (it leaked, or its rotation is over): not one link */
	link_drop_stale_keys();
	pconn_drop_stale_keys();
}

int
peer_init(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	peer_ctx.loop = loop;
	peer_ctx.conf = conf;
	peer_ctx.self = self;
	peer_ctx.ops = peer_ops;
	if (peer_neighbours(err, errlen) == -1)
		return -1;
	journal_on_recover(peer_recovered);
	if (listener_start(&peer_listener, loop, self->host, self->peer_port,
	    "peer", pconn_accept_cb, err, errlen) == -1)
		return -1;
	log_notice("listening for neighbours on %s port %u", self->host,
	    self->peer_port);
	if (link_init(err, errlen) == -1)
		return -1;
	rescue_init(loop);
	return 0;
}

void
peer_shutdown(void)
{
	size_t	 i;

	listener_stop(&peer_listener, peer_ctx.loop);
	rescue_shutdown();
	link_shutdown();
	pconn_shutdown();
	for (i = 0; peer_ctx.nbs != NULL && i < peer_ctx.conf->nservers; i++)
		tree_stop(&peer_ctx.nbs[i]);
	tree_shutdown();
	free(peer_ctx.nbs);
	peer_ctx.nbs = NULL;
	if (peer_ctx.tls != NULL)
		ptls_ctx_free(peer_ctx.tls);	/* after every link's */
	peer_ctx.tls = NULL;
	keyring_clear(&peer_ctx.keys);
}
