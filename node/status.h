/*
 * status.h -- the worker's end of the notify channel (notify.h).
 */
#ifndef HERD_STATUS_H
#define HERD_STATUS_H

struct ev_loop;

/*
 * Use the channel named by HERD_NOTIFY_FD, if any: say READY, then send
 * our figures and answer herdd's PINGs.
 */
void	 status_init(struct ev_loop *loop);

/*
 * Tell herdd why we are about to exit (ERROR): a failed start or a fatal
 * error.  Works before status_init() too; nothing without a channel.
 */
void	 status_error(const char *msg);

/*
 * The figures once more, whatever was sent last, before the node takes
 * its links and clients down to exit: what it counted since the last
 * STATS is not lost.  status_shutdown() then writes it out.
 */
void	 status_final(void);

void	 status_shutdown(void);

/*
 * A descriptor herdd passed in the environment variable name (a number
 * from 3 up): made close-on-exec and the variable removed; -1 when there
 * is none (or it is not open: logged).
 */
int	 status_inherited_fd(const char *name);

#endif /* HERD_STATUS_H */
