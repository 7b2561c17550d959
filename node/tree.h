/*
 * tree.h -- the broadcast tree (tree.c, herd-protocol(7) BROADCAST): the
 * eager and lazy decisions for each neighbour's two streams.  Called by
 * peer.c, which passes on what the transports report (peer_ctx's ops).
 */
#ifndef HERD_TREE_H
#define HERD_TREE_H

#include <stddef.h>
#include <stdint.h>

struct neighbour;
struct proto_at;
struct proto_peer;

/* Set up nb's part (its timer), or stop it (shutdown). */
void	 tree_init(struct neighbour *nb);
void	 tree_stop(struct neighbour *nb);
/* Free what tree.c keeps for the herd (the mesh's hop counts). */
void	 tree_shutdown(void);

/*
 * The mesh changed (why: a link or a neighbour's connection came or went,
 * or a neighbour said EAGER): for PEER_EAGER_S every link sends updates and
 * none is pruned, so an update reaches every live server at once, as when
 * flooding, while the tree is broken or rebuilt.  The first time in
 * PEER_EAGER_S / 2 it also sends EAGER on every link up, so the whole herd
 * does the same: a wave that stops at the servers it has reached.  Nothing
 * when flooding.
 */
void	 tree_unsettle(const char *why);

/* Our stream to nb: it said GRAFT (from msg's lseq: resend) or PRUNE. */
void	 tree_grafted(struct neighbour *nb, const struct proto_peer *msg);
void	 tree_pruned(struct neighbour *nb);

/* Its stream to us (nb->in): FROM, its stream starts after lseq. */
void	 tree_from(struct neighbour *nb, uint64_t lseq);
/* SEQ or IHAVE, after FROM: marks, what is lacking, a GRAFT to come. */
void	 tree_position(struct neighbour *nb, const struct proto_peer *msg);
/*
 * An UPDATE (again 0) or RESEND (1) was taken (stored 1, or not 0): a live
 * duplicate prunes its stream.
 */
void	 tree_update(struct neighbour *nb, const struct proto_at *at,
	    const char *line, size_t len, int stored, int again);
/* Once a second: candidate marks that are old enough become the mark. */
void	 tree_tick(struct neighbour *nb);
/*
 * Its connection closed (nb->in is NULL): forget what was lacking; when
 * it carried live updates (and not quiet: every connection is dropped),
 * graft the others' lazy streams.
 */
void	 tree_gone(struct neighbour *nb, int quiet);

#endif /* HERD_TREE_H */
