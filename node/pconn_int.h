/*
 * pconn_int.h -- what the two files of the listening side share: one
 * neighbour's connection, its handshake and stream (pconn.c), and the
 * broadcast tree's part of it (pconn_tree.c): notices, grafts, prunes.
 */
#ifndef HERD_PCONN_INT_H
#define HERD_PCONN_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "htime.h"
#include "linebuf.h"
#include "proto.h"

#define PCONN_MISS_MAX	8	/* records told of and lacking, tracked */

/* A record a notice told of that has not come. */
struct pconn_miss {
	uint32_t	 h;		/* its line's hash (proto_line_hash) */
	uint64_t	 pos;		/* where that notice said the stream was */
};

/*
 * The tree's receiving side of one connection (herd-protocol(7)
 * BROADCAST).  Marks from notices are candidates first: one becomes the
 * mark PEER_SETTLE_S after it was seen, so that a record on its way by
 * another link (in another order) has come by then, or its loss has shown.
 */
struct pconn_list;

struct pconn_tree {
	uint64_t	 held;		/* the mark: we hold its stream up to here */
	uint64_t	 cand, next;	/* candidate marks, oldest first */
	ev_tstamp	 cand_at, next_at;	/* when seen; 0: none */
	int		 exact;		/* SEQ is a mark at once: records came here */
	int		 grafting;	/* GRAFT sent: positions wait for its SEQ */
	uint64_t	 graft_pos;	/* what it said */
	struct pconn_miss miss[PCONN_MISS_MAX];	/* oldest first */
	size_t		 nmiss;
	int		 overflow;	/* lacked more than we track: GRAFT */
	uint64_t	 pend;		/* a held position after the misses */
	int		 have_pend;
	int		 deferred;	/* its GRAFT waited for another's once */
	int		 force;		/* GRAFT now: the tree broke elsewhere,
				   or no other link sends us updates */
	int		 eager_in;	/* it delivers updates first: a tree link */
	int		 lazy_in;	/* it sends notices, not updates (or we
					   pruned it): not a way in for updates */
	ev_tstamp	 last_prune;
	ev_timer	 gtimer;	/* GRAFT when it expires, if still lacking */
	struct pconn_list *all;		/* the connections it is among */
};

struct pconn {
	LIST_ENTRY(pconn) entry;	/* in pconns (pconn.c) */
	int		 fd;
	ev_io		 rio, wio;
	ev_timer	 timer;
	char		 addr[64];
	const struct herd_server *srv;	/* NULL until HELLO (and AUTH) */
	const struct herd_server *claim;	/* HELLO says, AUTH to prove */
	int		 idx;		/* srv's index in the herd */
	char		 nonce_d[PROTO_NONCE_HEX + 1];	/* its HELLO's */
	char		 nonce_l[PROTO_NONCE_HEX + 1];	/* our CHALLENGE */
	struct linebuf	 in;
	struct outbuf	 out;
	ev_tstamp	 last_rx;
	int		 closing;	/* ERROR sent: close once written */
	int		 rescue;	/* a rescue link's (rescue.c) */
	int		 have_from;	/* FROM seen: SEQ lines are marks */
	int		 full;		/* we asked for all (SINCE of epoch 0) */
	uint64_t	 full_seq;	/* its last SEQ, recorded at SYNCED */
	uint64_t	 epoch;		/* of its stream */
	int		 catching;	/* between FROM and SYNCED */
	size_t		 nrecv;		/* records in the catch-up */
	uint64_t	 d_count, d_sum;	/* its last DIGEST */
	uint64_t	 o_count, o_sum;	/* ours then */
	ev_tstamp	 last_sums;
	struct pconn_tree tree;		/* the broadcast tree's (pconn_tree.c) */
	char		 tag_sent[HERD_NAME_MAX + 80];	/* "peer WHO sent" */
	char		 tag_recv[HERD_NAME_MAX + 80];
};

LIST_HEAD(pconn_list, pconn);

/*
 * pconn_tree.c: the tree's side of each connection; it calls nothing of
 * pconn.c (what it sends it queues on the connection, whose write
 * callback sends it, or closes the connection).  all: the connections p
 * is among.
 */
void	 pconn_tree_init(struct pconn *p, struct pconn_list *all);
void	 pconn_tree_free(struct pconn *p);
/* FROM: the stream starts after lseq, all of it to come here. */
void	 pconn_tree_from(struct pconn *p, uint64_t lseq);
/* SEQ or IHAVE, after FROM.  0: what it sends is queued on p. */
int	 pconn_tree_position(struct pconn *p, const struct proto_peer *msg);
/*
 * An UPDATE (again 0) or RESEND (1) was taken (stored 1, or not 0): a live
 * duplicate prunes the link.  0: what it sends is queued on p.
 */
int	 pconn_tree_update(struct pconn *p, const char *id, size_t idlen,
	    const char *line, size_t len, int stored, int again);
/* Once a second: candidate marks that are old enough become the mark. */
void	 pconn_tree_tick(struct pconn *p);
/* gone carried live updates and is closing: graft the lazy links of all. */
void	 pconn_tree_broken(struct pconn_list *all, const struct pconn *gone);

#endif /* HERD_PCONN_INT_H */
