/*
 * peer.h -- links to the neighbours on the peer port (herd-protocol(7)).
 */
#ifndef HERD_PEER_H
#define HERD_PEER_H

#include <stddef.h>

struct ev_loop;
struct herd_conf;
struct herd_server;

#define PEER_LINE_MAX		(160 * 1024)
#define PEER_OUT_MAX		(64 * 1024 * 1024)	/* then the link drops */
#define PEER_PCONN_OUT_MAX	(64 * 1024)	/* OK, PONG, ERROR: then drop */
#define PEER_SNAP_CHUNK		(256 * 1024)	/* catch-up output at a time */
#define PEER_BACKOFF_MIN_MS	100
#define PEER_BACKOFF_MAX_MS	3200
#define PEER_CONNECT_S		3.0	/* connect and HELLO time-out */
#define PEER_LOOKUP_S		10.0	/* a neighbour's name lookup */
#define PEER_LOOKUP_POLL_S	0.02	/* how often to look at it */
#define PEER_PING_S		5.0	/* a quiet link is pinged this often */
#define PEER_IDLE_S		15.0	/* nothing heard this long: drop */

/* Listen on the peer port and start dialling the neighbours. */
int	 peer_init(struct ev_loop *loop, const struct herd_conf *conf,
	    const struct herd_server *self, char *err, size_t errlen);

void	 peer_shutdown(void);

/*
 * Send the AT line (no newline) to every neighbour whose link is up, except
 * the one it came from (from, or NULL for our own clients) and its origin.
 */
void	 peer_flood(const char *at, size_t len, const struct herd_server *from);

/* The names of the neighbours whose link is up, comma-separated. */
size_t	 peer_links_up(char *buf, size_t size);

#endif /* HERD_PEER_H */
