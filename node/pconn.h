/*
 * pconn.h -- the listening side of the peer links: neighbours dial our peer
 * port and send us their changes (herd-protocol(7)).
 */
#ifndef HERD_PCONN_H
#define HERD_PCONN_H

#include <stddef.h>

struct ev_loop;

/* A connection accepted on the peer port. */
void	 pconn_accept_cb(struct ev_loop *loop, int fd, const char *addr);

/* Stop reading every neighbour (the journal cannot be written), or go on. */
void	 pconn_pause(int paused);

/* Close every neighbour's connection (they redial), saying why. */
void	 pconn_drop_all(const char *why);

void	 pconn_shutdown(void);

/* Close the connections whose key the keyring no longer holds. */
void	 pconn_drop_stale_keys(void);

/*
 * The names of the neighbours whose stream to us has caught up (SYNCED
 * after its FROM), comma-separated; returns the length.
 */
size_t	 pconn_names_synced(char *buf, size_t size);

#endif /* HERD_PCONN_H */
