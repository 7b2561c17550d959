/*
 * link.h -- the dialling side of the peer links: we dial each neighbour's
 * peer port and send it our changes (herd-protocol(7)).
 */
#ifndef HERD_LINK_H
#define HERD_LINK_H

#include <stddef.h>

struct herd_server;
struct notify_msg;

int	 link_init(char *err, size_t errlen);
void	 link_shutdown(void);

/* Send what changed to every link that is up: one write per link. */
void	 link_flush(void);

/* The neighbour dialled us: if our link to it is backing off, dial now. */
void	 link_kick(const struct herd_server *srv);

/* UPDATE messages sent to each neighbour, into m's flood= (notify.h). */
void	 link_flood(struct notify_msg *m);

/*
 * The broadcast tree (herd-protocol(7) BROADCAST): our link to srv sends
 * notices only (lazy 1), or updates again (0), as the neighbour's own link
 * to us was just pruned or grafted.  Nothing when flooding, or while the
 * link is down or catching up.
 */
void	 link_tree(const struct herd_server *srv, int lazy);

/*
 * The mesh changed (why: a link or a neighbour's connection came or went,
 * or a neighbour said EAGER): for PEER_EAGER_S every link sends updates and
 * none is pruned, so an update reaches every live server at once, as when
 * flooding, while the tree is broken or rebuilt (herd-protocol(7)
 * BROADCAST).  The first time in PEER_EAGER_S / 2 it also sends EAGER on
 * every link up, so the whole herd does the same: a wave that stops at the
 * servers it has reached.  Nothing when flooding.
 */
void	 link_unsettle(const char *why);

/* 1 when a link to a configured neighbour is up. */
int	 link_configured_up(void);

/*
 * A rescue link to srv, not a configured neighbour (rescue.c): dialled
 * with a HELLO that says RESCUE, a stream like any other.  1 started, 0
 * when there is a link to srv already, -1 when every slot is taken.
 */
int	 link_rescue_start(const struct herd_server *srv);

/* Drop the rescue link to srv, if there is one. */
void	 link_rescue_stop(const struct herd_server *srv);

/* The names of the neighbours whose link is up, comma-separated. */
size_t	 link_names_up(char *buf, size_t size);

/* Of those, the links that send updates (not a tree's lazy ones). */
size_t	 link_names_eager(char *buf, size_t size);

#endif /* HERD_LINK_H */
