/*
 * listener.h -- listening TCP sockets on the event loop, one for each
 * address of the host (a name may have several, as localhost has
 * 127.0.0.1 and ::1): accepts until a backlog is empty, and pauses them
 * all for 100 ms when out of descriptors (the socket stays readable, so
 * retrying at once would spin).
 */
#ifndef HERD_LISTENER_H
#define HERD_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "sock.h"

#define LISTENER_PAUSE_S	0.1

/* A new connection: fd is non-blocking and close-on-exec. */
typedef void listener_cb(struct ev_loop *loop, int fd, const char *addr);

struct listener {
	ev_io		 io[SOCK_ADDRS_MAX];	/* one per address, its fd */
	size_t		 n;		/* sockets listening */
	ev_timer	 pause;
	const char	*what;		/* for messages: "client", "peer" */
	listener_cb	*cb;
};

/* Listen on every address of host, port port; -1 with a message in err. */
int	 listener_start(struct listener *ls, struct ev_loop *loop,
	    const char *host, uint16_t port, const char *what, listener_cb *cb,
	    char *err, size_t errlen);

/* Stop and close (harmless when not started). */
void	 listener_stop(struct listener *ls, struct ev_loop *loop);

#endif /* HERD_LISTENER_H */
