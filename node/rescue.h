/*
 * rescue.h -- rescue links ([herd] rescue_links = N, off by default): a
 * server left with no live configured link dials up to N other servers of
 * the herd, nearest in the configured graph first, until a configured
 * link is back (rescue.c).
 */
#ifndef HERD_RESCUE_H
#define HERD_RESCUE_H

struct ev_loop;
struct neighbour;

void	 rescue_init(struct ev_loop *loop);
void	 rescue_shutdown(void);

/* nb dialled us on a rescue link: stream to it too, while it is there. */
void	 rescue_asked(struct neighbour *nb);

/* nb's link to us is gone: so is ours to it, if it was a rescue. */
void	 rescue_gone(struct neighbour *nb);

#endif /* HERD_RESCUE_H */
