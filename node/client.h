/*
 * client.h -- the client port: IAMAT and WHATSAT connections.
 */
#ifndef HERD_CLIENT_H
#define HERD_CLIENT_H

#include <stddef.h>

struct ev_loop;
struct herd_server;

#define CLIENT_LINE_MAX		(64 * 1024)	/* longer lines are streamed */
#define CLIENT_OUT_HWM		(256 * 1024)	/* stop reading above this */
#define CLIENT_PENDING_MAX	64	/* WHATSAT lookups per connection */

/* Listen on the server's client port; -1 with a message in err. */
int	 client_init(struct ev_loop *loop, const struct herd_server *self,
	    char *err, size_t errlen);

/* Stop accepting, write out what is buffered, close every connection. */
void	 client_shutdown(void);

/*
 * Write every connection that has something new, once (after the journal
 * and the links: node.c).  written: the journal took this batch.
 */
void	 client_flush(int written);

/* The connection limits (admit.h), at start and on SIGHUP. */
struct herd_limits;
void	 client_set_limits(const struct herd_limits *l);

/* Client connections open. */
size_t	 client_count(void);

#endif /* HERD_CLIENT_H */
