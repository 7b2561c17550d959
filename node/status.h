/*
 * status.h -- readiness and live figures for herdd (see notify.h).
 */
#ifndef HERD_STATUS_H
#define HERD_STATUS_H

struct ev_loop;

/* Use the channel named by HERD_NOTIFY_FD, if any; say READY. */
void	 status_init(struct ev_loop *loop);
void	 status_shutdown(void);

#endif /* HERD_STATUS_H */
