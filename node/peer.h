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

/*
 * The peer links' TLS context (peer_tls, the keyring or certificates) and
 * keys, before peer_init: -1 with err when they do not load (a
 * configuration error).
 */
int	 peer_tls_init(const struct herd_conf *conf,
	    const struct herd_server *self, char *err, size_t errlen);

/*
 * SIGHUP: take cf's keyring and certificates (the files read again) for
 * connections from now on; links up keep theirs.  A change that takes a
 * restart (a secret added or removed, peer_tls) is logged and ignored.
 */
void	 peer_rekey(const struct herd_conf *cf);

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

/*
 * The key each link up over TLS uses, as notify.h's keys= list
 * ("Hands=herd1:0123456789abcdef,Welsh=..."; "" when none does): in 0,
 * our streams to the neighbours; 1, theirs to us.  A plain-text link is
 * not in it.  Returns the length.
 */
size_t	 peer_link_keys(char *buf, size_t size, int in);

#endif /* HERD_PEER_H */
