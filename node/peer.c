/*
 * peer.c -- the peer links as a whole (see peer.h): the listener, the
 * herd's secret, and the handshake's lines for the dialling side.
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
#include <string.h>

#include "conf.h"
#include "journal.h"
#include "link.h"
#include "listener.h"
#include "log.h"
#include "pconn.h"
#include "peer.h"
#include "peer_ctx.h"
#include "proto.h"
#include "rescue.h"

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

int
peer_init(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	peer_ctx.loop = loop;
	peer_ctx.conf = conf;
	peer_ctx.self = self;
	peer_ctx.hooks.mesh_changed = link_unsettle;
	peer_ctx.hooks.tree_set = link_tree;
	peer_ctx.hooks.dialled = link_kick;
	peer_ctx.hooks.rescue_asked = rescue_asked;
	peer_ctx.hooks.rescue_gone = rescue_gone;
	peer_ctx.hooks.lost_changes = peer_lost_changes;
	if (conf->secret_len > 0) {
		peer_ctx.secret = conf->secret;
		peer_ctx.secret_len = conf->secret_len;
		log_notice("peer links are authenticated with the herd's secret "
		    "(protocol version %d)", PROTO_VERSION_AUTH);
	} else {
		peer_ctx.secret = NULL;
		peer_ctx.secret_len = 0;
		log_warnx("no secret_file and no HERD_SECRET: peer links are "
		    "not authenticated (anyone who reaches port %u can pose "
		    "as a neighbour)", self->peer_port);
	}
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
	listener_stop(&peer_listener, peer_ctx.loop);
	rescue_shutdown();
	link_shutdown();
	pconn_shutdown();
}
