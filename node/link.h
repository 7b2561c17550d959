/*
 * link.h -- the dialling side of the peer links: we dial each neighbour's
 * peer port and send it our changes (herd-protocol(7)).
 */
#ifndef HERD_LINK_H
#define HERD_LINK_H

#include <stddef.h>

struct herd_server;
struct link;
struct notify_msg;

int	 link_init(char *err, size_t errlen);
void	 link_shutdown(void);

/* Send what changed to every link that is up: one write per link. */
void	 link_flush(void);

/* The neighbour dialled us: if our link to it is backing off, dial now. */
void	 link_kick(struct link *);

/* UPDATE messages sent to each neighbour, into m's flood= (notify.h). */
void	 link_flood(struct notify_msg *m);

/* Drop the links whose key the keyring no longer holds (they redial). */
void	 link_drop_stale_keys(void);

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
