/*
 * link_int.h -- what the two files of the dialling side share: one link
 * and its stream (link.c), and the set of links, configured and rescue
 * (link_set.c).
 */
#ifndef HERD_LINK_INT_H
#define HERD_LINK_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "proto.h"
#include "sock.h"
#include "store.h"

struct neighbour;

enum link_state {
	LINK_BACKOFF,		/* waiting to dial again */
	LINK_RESOLVING,		/* looking the neighbour's name up */
	LINK_CONNECTING,	/* connect() in progress */
	LINK_TLS,		/* the TLS handshake (peer_ctx.tls) */
	LINK_HELLO,		/* HELLO sent, waiting for OK (or CHALLENGE) */
	LINK_AUTH,		/* AUTH sent, waiting for OK with its MAC */
	LINK_SINCE,		/* OK, waiting for SINCE */
	LINK_UP,		/* updates flow */
};

struct link {
	struct neighbour *nb;		/* whose stream this is (peer.c's) */
	const struct herd_server *srv;	/* the neighbour: nb->srv */
	int		 idx;		/* its index in the herd */
	struct sock_addrs sa;		/* the neighbour's addresses */
	size_t		 ai;		/* the one being dialled */
	int		 resolved;	/* sa holds them */
	struct sock_lookup *lookup;	/* while resolving */
	ev_tstamp	 lookup_start;
	int		 fd;
	struct ptls	*tls;		/* TLS on fd; NULL: plain text */
	struct herd_key	 mkey;		/* the handshake's MAC key (peer_mac_key) */
	int		 tls_logged;	/* its TLS refusal was logged already */
	ev_io		 rio, wio;
	ev_timer	 timer;
	enum link_state	 state;
	int		 backoff_ms;	/* next delay */
	int		 down_logged;	/* its drop was logged already */
	struct linebuf	 in;
	struct outbuf	 out;
	ev_tstamp	 last_rx;	/* anything from the neighbour */
	ev_tstamp	 last_ping;
	ev_tstamp	 last_digest;
	struct store_cursor cur;	/* the stream */
	ev_tstamp	 pumped_at;	/* link_flush's last write of records */
	uint64_t	 seq_sent;	/* the last SEQ */
	ev_tstamp	 seq_at;	/* when it was sent */
	int		 seq_due;	/* records sent since: a SEQ to come */
	ev_tstamp	 seq_rec_at;	/* the last SEQ after records: the next
					   one PEER_SEQ_S later at the soonest */
	uint64_t	 full_upto;	/* a full sync sends even its own */
	int		 catching;	/* the catch-up is not over */
	size_t		 nsnap;		/* records sent in it */
	uint64_t	 snap_bytes;
	struct store_cursor rep;	/* a repair walk */
	uint32_t	 rep_mask;	/* of the digest's parts */
	size_t		 nrep;
	ev_timer	 ntimer;	/* the next notice (lazy) or SEQ is due */
	ev_tstamp	 notice_at;	/* when the last was sent */
	uint64_t	 resend_upto;	/* after a GRAFT: resent up to here */
	int		 rescue;	/* not a configured link: HELLO says RESCUE */
	unsigned	 feat;		/* features both speak (PEER_F_*), from OK */
	char		 nonce_d[PROTO_NONCE_HEX + 1];	/* ours, in HELLO */
	char		 nonce_l[PROTO_NONCE_HEX + 1];	/* its CHALLENGE */
	char		 tag_sent[HERD_NAME_MAX + 16];	/* "peer NAME sent" */
	char		 tag_recv[HERD_NAME_MAX + 16];
};

/* link_io.c: the socket, its writes, the drop. */
void	 link_log(struct link *, const char *dir, const char *buf, size_t len);
/* Close the socket and drop what it read (not what waits to be sent). */
void	 link_close_fd(struct link *);
/* Close the connection and forget the stream: nothing is running after. */
void	 link_teardown(struct link *);
/* Drop the link and retry after the backoff, saying why. */
void	 link_down(struct link *, const char *why);
/* The neighbour answered, but not as a neighbour should: warn, then down. */
void	 link_refused(struct link *, const char *why);
/* It failed to prove it holds the herd's secret: down, louder. */
void	 link_auth_failed(struct link *, const char *why);
/* Its TLS failed or was refused: down, a warning the first time. */
void	 link_tls_failed(struct link *, const char *why);
/* Write what is queued; -1 when the link dropped. */
int	 link_write(struct link *);
/* Queue bytes and write; -1 when the link dropped. */
int	 link_send(struct link *, const char *buf, size_t len);

/* link_dial.c: dial srv's addresses (looking the name up first). */
void	 link_connect(struct link *);
/* The name lookup in progress: done yet? (the link's timer) */
void	 link_lookup_poll(struct link *);
/*
 * Dialling one address of the neighbour failed: dial its next one, or go
 * down with why after the last.
 */
void	 link_next(struct link *, const char *why);
/*
 * The connection is being opened (LINK_CONNECTING, LINK_TLS) and a watcher
 * fired: on to TLS and to HELLO.  0 when HELLO is queued (the caller
 * writes), -1 when the link went down or waits.
 */
int	 link_opening(struct link *);

/* link.c: the handshake after HELLO, and the stream. */
/* A SEQ held back (PEER_SEQ_S), queued now: the link is closing. */
void	 link_seq_last(struct link *);
/* Queue what the stream has next and write it. */
void	 link_pump(struct link *);
void	 link_read_cb(struct ev_loop *, ev_io *, int);
void	 link_write_cb(struct ev_loop *, ev_io *, int);
void	 link_timer_cb(struct ev_loop *, ev_timer *, int);
void	 link_notice_cb(struct ev_loop *, ev_timer *, int);
/* A lazy link's notice names the newest record of each origin passed. */
struct link_notes {
	const struct store_rec	*r[PROTO_IHAVE_MAX];
	size_t			 n;
};


/* link_notice.c: the stream's part in the broadcast tree. */
/*
 * Note r (the stream was at prev before it) for the notice: the newest of
 * its origin so far.  -1 when out of memory.
 */
int	 link_note(struct link *, struct link_notes *, const struct store_rec *r,
	    uint64_t prev);
/* Send the notice of what nt holds, the stream at pos.  -1: no memory. */
int	 link_notice(struct link *, const struct link_notes *, uint64_t pos);
/*
 * A GRAFT from lseq (the link is up): resend what came after it; the
 * caller pumps.  -1 when out of memory.
 */
int	 link_resend(struct link *, uint64_t lseq);

#endif /* HERD_LINK_INT_H */
