/*
 * listener.h -- a listening TCP socket on the event loop: accepts until the
 * backlog is empty, and pauses for 100 ms when out of descriptors (the
 * socket stays readable, so retrying at once would spin).
 */
#ifndef HERD_LISTENER_H
#define HERD_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define LISTENER_PAUSE_S	0.1

/* A new connection: fd is non-blocking and close-on-exec. */
typedef void listener_cb(struct ev_loop *loop, int fd, const char *addr);

struct listener {
	ev_io		 io;
	ev_timer	 pause;
	int		 fd;
	const char	*what;		/* for messages: "client", "peer" */
	listener_cb	*cb;
};

/* Listen on host:port; -1 with a message in err. */
int	 listener_start(struct listener *ls, struct ev_loop *loop,
	    const char *host, uint16_t port, const char *what, listener_cb *cb,
	    char *err, size_t errlen);

/* Stop and close (harmless when not started). */
void	 listener_stop(struct listener *ls, struct ev_loop *loop);

#endif /* HERD_LISTENER_H */
