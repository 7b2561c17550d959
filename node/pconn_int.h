/*
 * pconn_int.h -- one connection a neighbour dialled to us (pconn.c): its
 * handshake and its stream to us, for the floor above that reads it
 * (tree.c: the broadcast tree's receiving side, which keeps its state in
 * the neighbour, neighbour.h).
 */
#ifndef HERD_PCONN_INT_H
#define HERD_PCONN_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "proto.h"

struct neighbour;

struct pconn {
	LIST_ENTRY(pconn) entry;	/* in pconns (pconn.c) */
	int		 fd;
	struct ptls	*tls;		/* TLS on fd; NULL: plain text */
	int		 handshaking;	/* its TLS handshake is not over */
	ev_io		 rio, wio;
	ev_timer	 timer;
	char		 addr[64];
	const struct herd_server *srv;	/* NULL until HELLO (and AUTH) */
	struct neighbour *nb;		/* srv's (peer.c's); its in is this
					   connection, until it closes */
	const struct herd_server *claim;	/* HELLO says, AUTH to prove */
	int		 idx;		/* srv's index in the herd */
	char		 nonce_d[PROTO_NONCE_HEX + 1];	/* its HELLO's */
	char		 nonce_l[PROTO_NONCE_HEX + 1];	/* our CHALLENGE */
	struct linebuf	 in;
	struct outbuf	 out;
	ev_tstamp	 last_rx;
	int		 closing;	/* ERROR sent: close once written */
	int		 warned;	/* its refusal was logged (pconn_warn) */
	int		 rescue;	/* a rescue link's (rescue.c) */
	unsigned	 feat;		/* features both speak (PEER_F_*) */
	int		 have_from;	/* FROM seen: SEQ lines are marks */
	int		 full;		/* we asked for all (SINCE of epoch 0) */
	uint64_t	 full_seq;	/* its last SEQ, recorded at SYNCED */
	uint64_t	 epoch;		/* of its stream */
	int		 catching;	/* between FROM and SYNCED */
	size_t		 nrecv;		/* records in the catch-up */
	uint64_t	 d_count, d_sum;	/* its last DIGEST */
	uint64_t	 o_count, o_sum;	/* ours then */
	ev_tstamp	 last_sums;
	char		 tag_sent[HERD_NAME_MAX + 80];	/* "peer WHO sent" */
	char		 tag_recv[HERD_NAME_MAX + 80];
};

LIST_HEAD(pconn_list, pconn);

/* pconn_io.c: the connection's lowest floor. */
/*
 * Close p, saying why, and free it; its neighbour hears of it (in_gone)
 * when p was its stream to us.
 */
void	 pconn_close(struct pconn *p, const char *why);
/* While every connection is dropped (1): no wave, no grafts (in_gone). */
void	 pconn_quiet(int stopping);
/* Queue bytes and write (logged when log is 1); -1 when p is closed. */
int	 pconn_send(struct pconn *p, const char *buf, size_t len, int log);
/* Some of p's output waits: start the write watcher unless TLS waits to read. */
void	 pconn_wait_write(struct pconn *p);
/* ERROR why, then close once written; -1 when p is closed already. */
int	 pconn_refuse(struct pconn *p, const char *why);
/* A refusal, for the log: a warning, the same reason once a minute. */
void	 pconn_warn(struct pconn *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Its TLS handshake goes on: -1 when it failed (p is closed). */
int	 pconn_tls_step(struct pconn *p);
/*
 * Queue a line of ours on p and write it (logged when log is 1); what the
 * socket does not take, or a failure, is the write callback's, which
 * closes p then: so p is never freed here (tree.c sends from within
 * callbacks that go on using it).
 */
void	 pconn_queue(struct pconn *p, const char *buf, size_t len, int log);

#endif /* HERD_PCONN_INT_H */
