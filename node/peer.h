/*
 * peer.h -- links to the neighbours on the peer port (herd-protocol(7)):
 * the dialling side (link.c) sends our changes, the listening side
 * (pconn.c) receives theirs; this is what the rest of the node sees.
 */
#ifndef HERD_PEER_H
#define HERD_PEER_H

#include <stddef.h>

struct ev_loop;
struct herd_conf;
struct herd_server;

#define PEER_LINE_MAX		(160 * 1024)
#define PEER_LINK_HWM		(256 * 1024)	/* a link's queue, at most */
#define PEER_PCONN_OUT_MAX	(64 * 1024)	/* OK, PONG, ERROR: then drop */
#define PEER_BACKOFF_MIN_MS	100
#define PEER_BACKOFF_MAX_MS	3200
#define PEER_CONNECT_S		3.0	/* connect and handshake time-out */
#define PEER_LOOKUP_S		10.0	/* a neighbour's name lookup */
#define PEER_LOOKUP_POLL_S	0.02	/* how often to look at it */
#define PEER_PING_S		5.0	/* a quiet link is pinged this often */
#define PEER_IDLE_S		15.0	/* nothing heard this long: drop */
#define PEER_DIGEST_S		5.0	/* an idle link's digest, this often */
#define PEER_NOTICE_S		0.25	/* a lazy link's IHAVE, at most this often */
#define PEER_GRAFT_S		0.25	/* a notice of what we lack: then GRAFT */
#define PEER_PRUNE_S		0.5	/* PRUNE on a connection, at most this often */
#define PEER_SETTLE_S		1.0	/* a notice's position: a mark this late */
#define PEER_SEQ_S		0.1	/* SEQ after updates, at most this often */
#define PEER_EAGER_S		2.0	/* the mesh changed: all links eager so long */

/* Listen on the peer port and start dialling the neighbours. */
int	 peer_init(struct ev_loop *loop, const struct herd_conf *conf,
	    const struct herd_server *self, char *err, size_t errlen);

void	 peer_shutdown(void);

/*
 * Send every link what changed since its last write (once per loop
 * iteration, after the journal is written).
 */
void	 peer_flush(void);

/* Stop taking neighbours' updates while the journal fails (1), or go on. */
void	 peer_hold(int hold);

/* The names of the neighbours whose link is up, comma-separated. */
size_t	 peer_links_up(char *buf, size_t size);

/* Of those, the links that send updates (not a tree's lazy ones). */
size_t	 peer_links_eager(char *buf, size_t size);

/* UPDATE messages sent to each neighbour, into m's flood= (notify.h). */
struct notify_msg;
void	 peer_flood(struct notify_msg *m);

/* The names of the neighbours whose stream to us has caught up. */
size_t	 peer_links_synced(char *buf, size_t size);

#endif /* HERD_PEER_H */
