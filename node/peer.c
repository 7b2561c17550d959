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
#include <sys/random.h>

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

struct peer_ctx		 peer_ctx;
static struct listener	 peer_listener;

int
peer_index(const struct herd_server *srv)
{
	return (int)(srv - peer_ctx.conf->servers);
}

int
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

void
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

int
peer_hello_line(char *buf, size_t size, const struct herd_server *to,
    char *nonce_d, int rescue)
{
	const char	*r = rescue ? " RESCUE" : "";

	if (peer_ctx.secret == NULL) {
		snprintf(buf, size, "HELLO %d %s %s%s\n", PROTO_VERSION,
		    peer_ctx.self->name, to->name, r);
		return 0;
	}
	if (peer_nonce(nonce_d) == -1)
		return -1;
	snprintf(buf, size, "HELLO %d %s %s %s%s\n", PROTO_VERSION_AUTH,
	    peer_ctx.self->name, to->name, nonce_d, r);
	return 0;
}

int
peer_auth_line(char *buf, size_t size, const struct herd_server *to,
    const char *nonce_d, const char *nonce_l)
{
	char	 mac[PROTO_MAC_HEX + 1];

	if (proto_mac(mac, peer_ctx.secret, peer_ctx.secret_len, "herd-link",
	    peer_ctx.self->name, to->name, nonce_d, nonce_l) == -1)
		return -1;
	snprintf(buf, size, "AUTH %s\n", mac);
	return 0;
}

int
peer_ok_check(const struct herd_server *to, int hello, int auth,
    const char *nonce_d, const char *nonce_l, const struct proto_peer *msg,
    char *why, size_t whylen)
{
	char	 mac[PROTO_MAC_HEX + 1];

	snprintf(why, whylen, "unexpected OK");
	if (peer_ctx.secret == NULL)
		return hello && msg->version == PROTO_VERSION &&
		    msg->mac.len == 0 && proto_field_eq(&msg->from, to->name) ?
		    0 : -1;
	if (!auth || msg->version != PROTO_VERSION_AUTH ||
	    !proto_field_eq(&msg->from, to->name))
		return -1;
	if (proto_mac(mac, peer_ctx.secret, peer_ctx.secret_len, "herd-ok",
	    to->name, peer_ctx.self->name, nonce_l, nonce_d) == -1) {
		snprintf(why, whylen, "could not compute the MAC");
		return -1;
	}
	if (!proto_mac_eq(&msg->mac, mac)) {
		snprintf(why, whylen, "%s", msg->mac.len == 0 ?
		    "its OK has no MAC" : "its OK has a wrong MAC (another "
		    "secret, or not the neighbour)");
		return -2;
	}
	return 0;
}

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

void
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
