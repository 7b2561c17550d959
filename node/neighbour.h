/*
 * neighbour.h -- one struct neighbour for each server of the herd (this
 * one's own slot is never used): a configured neighbour, a server at the
 * other end of a rescue link (rescue.c), or none yet.  peer.c owns them,
 * one slot per server of the herd (peer_ctx.nbs, by the server's index), so that a neighbour is found
 * by a record's src or a name without a search.  It holds what belongs to
 * the neighbour rather than to one connection: which of our two streams
 * exist (ours to it, link.c; its to us, pconn.c), the broadcast tree's
 * view of both (tree.c), its rescue role (rescue.c) and its counters.
 * The transports point back at it and report their events upward through
 * peer_ctx's ops; they never read another neighbour's.
 */
#ifndef HERD_NEIGHBOUR_H
#define HERD_NEIGHBOUR_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

struct herd_server;
struct link;
struct pconn;

#define TREE_MISS_MAX	8	/* records told of and lacking, tracked */

/* A record a notice told of that has not come. */
struct tree_miss {
	uint32_t	 h;		/* its line's hash (proto_line_hash) */
	uint64_t	 pos;		/* where that notice said the stream was */
};

/*
 * The tree's receiving side: the neighbour's stream to us
 * (herd-protocol(7) BROADCAST), reset when its connection closes and
 * at each FROM.  Marks from notices
 * are candidates first: one becomes the mark PEER_SETTLE_S after it was
 * seen, so that a record on its way by another link (in another order)
 * has come by then, or its loss has shown.
 */
struct tree_in {
	uint64_t	 held;		/* the mark: we hold its stream up to here */
	uint64_t	 cand, next;	/* candidate marks, oldest first */
	ev_tstamp	 cand_at, next_at;	/* when seen; 0: none */
	int		 exact;		/* SEQ is a mark at once: records came here */
	int		 grafting;	/* GRAFT sent: positions wait for its SEQ */
	uint64_t	 graft_pos;	/* what it said */
	struct tree_miss miss[TREE_MISS_MAX];	/* oldest first */
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
};

struct neighbour {
	const struct herd_server *srv;	/* the server */
	int		 idx;		/* its index in the herd (records' src) */
	int		 configured;	/* a neighbour in herd.ini */
	int		 rescue_out;	/* we called on it: a rescue (rescue.c) */
	int		 rescue_in;	/* it called on us: we stream back */
	struct link	*out;		/* our stream to it (link.c): NULL none */
	struct pconn	*in;		/* its stream to us (pconn.c), once it
					   proved who it is: NULL none */
	int		 lazy_out;	/* the tree's (tree.c): our stream to it
					   sends notices, not updates */
	struct tree_in	 tree;		/* the tree's view of its stream to us */
	unsigned long long nsent;	/* UPDATE messages to it, since start */
};

#endif /* HERD_NEIGHBOUR_H */
