/*
 * sdnotify.h -- tell a service manager (systemd's Type=notify) how herdd
 * is doing, without linking libsystemd: one datagram per message to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace), as sd_notify(3) describes.  Without NOTIFY_SOCKET
 * every call does nothing.
 *
 * herdd sends READY=1 once every local worker accepts, RELOADING=1 (with
 * MONOTONIC_USEC) and READY=1 around a reload, STOPPING=1 at shutdown,
 * STATUS=<n> of <m> servers running as that changes, and WATCHDOG=1 at
 * half the interval of $WATCHDOG_USEC when that is set (for this pid, when
 * $WATCHDOG_PID says whose it is).
 *
 * Never waits on the socket (it is the service manager's): a datagram the
 * socket will not take at once is dropped when it is a STATUS= or
 * WATCHDOG=1, and kept, in order, and sent again every 200 ms until it
 * goes, when it is READY=1, RELOADING=1 or STOPPING=1.
 */
#ifndef HERD_SDNOTIFY_H
#define HERD_SDNOTIFY_H

struct ev_loop;

/* Read the environment, start the watchdog timer; -1 and a log line when
 * NOTIFY_SOCKET is set but unusable (herdd runs on without it). */
int	 sdnotify_init(struct ev_loop *loop);

/* Send one message (formatted as printf); the same one twice is sent once
 * for STATUS= lines. */
void	 sdnotify_send(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

void	 sdnotify_close(void);

#endif /* HERD_SDNOTIFY_H */
