/*
 * client_int.h -- what the files of the client port share, and no one
 * else (the public API is client.h): the connection (client.c: reading,
 * commands, writing), its reply queue (client_reply.c: replies kept in
 * the order of their commands, and held until the journal has the batch),
 * and the port over TLS (client_tls.c: the handshake, then client.c's).
 */
#ifndef HERD_CLIENT_INT_H
#define HERD_CLIENT_INT_H

#include <sys/queue.h>

#include <stddef.h>

#include <ev.h>

#include "htime.h"
#include "linebuf.h"

struct places_req;
struct ptls;

struct reply {
	struct reply		*next;
	struct client		*c;
	struct places_req	*req;	/* pending lookup, or NULL */
	int			 done;
	int			 held;	/* an IAMAT stored in this batch */
	struct outbuf		 data;
	struct outbuf		 alt;	/* held: the answer if not written */
};

struct client {
	ev_io		 rio, wio;
	int		 fd;
	struct ptls	*tls;		/* over TLS (the tls_port), or NULL */
	unsigned long	 id;
	char		 addr[64];
	char		 tag_in[32], tag_out[32];	/* "client N recv|sent" */
	struct htime	 now;		/* when the command in hand arrived */
	struct linebuf	 in;
	struct outbuf	 out;
	struct reply	*head, **tailp;	/* replies, oldest first */
	int		 npending;	/* lookups in the queue */
	size_t		 queued;	/* bytes of finished replies queued */
	int		 eof;		/* the client half-closed */
	int		 overlong;	/* echoing an over-long line */
	size_t		 overlong_len;
	int		 busy;		/* in client_service() */
	int		 holding;	/* held and alt in use this batch */
	struct outbuf	 held;		/* replies after a stored IAMAT */
	struct outbuf	 alt;		/* the same, should the journal fail */
	int		 pending;	/* on client_pending */
	struct client	*pnext;
	LIST_ENTRY(client) entry;	/* in client_list */
};

/*
 * client.c: a connection whose TLS handshake is done (client_tls.c) is a
 * client as one accepted on the plain port, its bytes read and written
 * through t (freed with the connection).
 */
void	 client_adopt(int fd, const char *addr, struct ptls *t);

/*
 * client_reply.c.  Each returns 0 (client_collect: how many replies it
 * moved), or -1 when out of memory: the caller closes the connection.
 */

/*
 * Answer "a b\n" (or, with held, "a b\n" if the journal is written and
 * "? alt\n" if not): at once when nothing waits before it, else as a
 * finished reply at the end of the queue.
 */
int	 client_reply(struct client *c, const char *a, size_t alen,
	    const char *b, size_t blen, const char *alt, size_t altlen,
	    int held);

/* "? " and the line: a command not taken. */
int	 client_invalid(struct client *c, const char *line, size_t len);

/* Move the finished replies at the head of the queue to the output. */
int	 client_collect(struct client *c);

/*
 * The batch is over (written: the journal took it): the held replies go
 * as they are, or as their alternatives, and what is finished moves to
 * the output.
 */
int	 client_release(struct client *c, int written);

/* Free the queue, cancelling its lookups. */
void	 client_replies_free(struct client *c);

/*
 * A reply slot at the end of c's queue, zeroed but for its data's buffer
 * (taken from those given back: a WHATSAT's costs no allocation); NULL
 * when out of memory.  client_reply_put gives one back that is off the
 * queue: kept (at most CLIENT_REPLY_KEEP, each data buffer of at most 8
 * KiB) or freed.
 */
struct reply *client_reply_new(struct client *c);
void	 client_reply_put(struct reply *r);

/* Free the replies kept (at shutdown). */
void	 client_reply_drop(void);

#endif /* HERD_CLIENT_INT_H */
