/*
 * peer_ctx.h -- the floor under both sides of the peer links (peer_ctx.c):
 * what they share (the loop, the herd, this server, the secret, the
 * neighbours, the time the tree stays eager), the handshake's lines, and
 * the ops by which the transports tell the floors above them what
 * happened.  The floors, from the top: peer.c (the neighbours, the ops) ->
 * tree.c (the broadcast tree), rescue.c -> link_set.c (the set of links)
 * -> link.c, link_notice.c, pconn.c (the two transports: one connection
 * each way) -> link_io.c -> this.  Private to node/'s peer files.
 */
#ifndef HERD_PEER_CTX_H
#define HERD_PEER_CTX_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "linebuf.h"
#include "proto.h"
#include "ptls.h"

/* The peer links' limits and times (herd-protocol(7)). */
#define PEER_LINE_MAX		(160 * 1024)
#define PEER_LINK_HWM		(256 * 1024)	/* a link's queue, at most */
#define PEER_PCONN_OUT_MAX	(64 * 1024)	/* OK, PONG, ERROR: then drop */
#define PEER_BACKOFF_MIN_MS	100
#define PEER_BACKOFF_MAX_MS	3200
#define PEER_CONNECT_S		3.0	/* connect and handshake time-out */
#define PEER_LOOKUP_S		10.0	/* a neighbour's name lookup */
#define PEER_LOOKUP_POLL_S	0.02	/* how often to look at it */
#define PEER_PING_S		5.0	/* a quiet link is pinged this often */
#define PEER_IDLE_S		15.0	/* nothing heard this long: drop */
#define PEER_DIGEST_S		5.0	/* an idle link's digest, this often */
#define PEER_NOTICE_S		0.25	/* a lazy link's IHAVE, at most this often */
#define PEER_GRAFT_S		0.25	/* a notice of what we lack: then GRAFT */
#define PEER_PRUNE_S		0.5	/* PRUNE on a connection, at most this often */
#define PEER_SETTLE_S		1.0	/* a notice's position: a mark this late */
#define PEER_SEQ_S		0.1	/* SEQ after updates, at most this often */
#define PEER_COALESCE_S		0.0002	/* a busy link's writes, at most this often */
#define PEER_EAGER_S		2.0	/* the mesh changed: all links eager so long */

/*
 * The features a server speaks, named in its HELLO and OK as "+word"
 * (herd-protocol(7)): each side of a connection uses only those both
 * name.  A server that names none speaks the base protocol: flooding.
 */
#define PEER_F_TREE		0x1u	/* +tree: IHAVE, GRAFT, PRUNE, EAGER */
#define PEER_F_ALL		PEER_F_TREE

/*
 * What the two transports (link*.c dials, pconn.c listens) tell the floors
 * above them (peer.c, tree.c, rescue.c) about a neighbour: they never call
 * up or sideways, only through these, which peer_init fills.
 */
struct neighbour;
struct proto_peer;

struct peer_ops {
	/* link.c: our stream to nb came up (FROM sent), or went down. */
	void	(*out_up)(struct neighbour *nb);
	void	(*out_down)(struct neighbour *nb);
	/* nb said GRAFT (msg: from where) or PRUNE on our stream to it. */
	void	(*graft)(struct neighbour *nb, const struct proto_peer *msg);
	void	(*prune)(struct neighbour *nb);

	/*
	 * pconn.c: nb proved who it is on a connection to us (nb->in), a
	 * rescue link's (rescue 1) or a configured neighbour's.
	 */
	void	(*in_accepted)(struct neighbour *nb, int rescue);
	/* Its stream starts after lseq (FROM), all of it to come. */
	void	(*in_from)(struct neighbour *nb, uint64_t lseq);
	/* It said EAGER: the mesh changed somewhere. */
	void	(*in_eager)(struct neighbour *nb);
	/* SEQ or IHAVE, after FROM. */
	void	(*in_position)(struct neighbour *nb,
		    const struct proto_peer *msg);
	/*
	 * An UPDATE (again 0) or RESEND (1) was taken: stored 1, or not 0
	 * (an old or equal record); at as parsed, line its AT line.
	 */
	void	(*in_update)(struct neighbour *nb, const struct proto_at *at,
		    const char *line, size_t len, int stored, int again);
	/* Once a second while its connection is up. */
	void	(*in_tick)(struct neighbour *nb);
	/*
	 * Its connection to us has closed (nb->in is NULL again): streaming
	 * says whether it had sent FROM; quiet, that every connection is being
	 * dropped (no wave, no grafts).
	 */
	void	(*in_gone)(struct neighbour *nb, int streaming, int quiet);

	/* We lost changes we may have passed on (link.c's SINCE). */
	void	(*lost_changes)(void);
};

struct peer_ctx {
	struct ev_loop			*loop;
	const struct herd_conf		*conf;
	const struct herd_server	*self;
	const char			*secret;	/* NULL: no keyring, version 1 */
	struct herd_keyring		 keys;		/* the keyring: the first
							   dials, all are accepted
							   (peer_rekey) */
	struct ptls_ctx			*tls;		/* NULL: plain text */
	unsigned			 features;	/* ours (PEER_F_*): all
							   but HERD_PEER_FEATURES */
	struct peer_ops			 ops;		/* filled by peer_init */
	struct neighbour		*nbs;		/* one per server of the
							   herd, by index (peer.c) */
	ev_tstamp			 eager_until;	/* the mesh changed: every
							   link eager until then */
};

extern struct peer_ctx	 peer_ctx;

/* 1 while the mesh changed lately (tree_unsettle): no link is pruned. */
static inline int
peer_unsettled(void)
{
	return peer_ctx.conf->broadcast == HERD_BROADCAST_TREE &&
	    ev_now(peer_ctx.loop) < peer_ctx.eager_until;
}

/* The index of a server in the herd (records' src). */
int	 peer_index(const struct herd_server *srv);

/*
 * 1 when t's link used a key that the keyring no longer holds (a key
 * removed at SIGHUP: peer_rekey closes the link); 0 without TLS, with
 * certificates, or while the key is held.
 */
int	 peer_key_dropped(const struct ptls *t);

/*
 * Our features from HERD_PEER_FEATURES (unset: all we know; a list of
 * words, separated by commas or spaces, or empty: those only, as a server
 * that lacks the others would, to test a herd of mixed releases).
 */
unsigned peer_features_ours(const char *env);

/* The features msg (a HELLO or OK) names that we know, PEER_F_*. */
unsigned peer_features(const struct proto_peer *msg);

/* Append " +word" for each of ours to buf (a handshake line).  0 or -1. */
int	 peer_features_words(char *buf, size_t size);

/* A fresh nonce, PROTO_NONCE_LEN random bytes in hex.  0 or -1. */
int	 peer_nonce(char *out);

/* Printable text from a neighbour's ERROR, for our log: 120 bytes. */
void	 peer_text(char *dst, size_t size, const struct proto_field *f);

/*
 * The key of the herd handshake's MACs on a connection (herd-protocol(7)):
 * the keyring's key i, and over TLS (t not NULL) the HMAC under it of the
 * TLS session's binding, so that the proofs hold only on this TLS
 * session.  0, or -1 (no such key, or no binding).
 */
int	 peer_mac_key(struct ptls *t, size_t i, struct herd_key *out);

/*
 * The dialler's handshake lines, with their newline: HELLO (a fresh nonce
 * in nonce_d with a secret; RESCUE last for a rescue link) and AUTH for
 * the listener's nonce, under the MAC key k.  0 or -1.
 */
int	 peer_hello_line(char *buf, size_t size, const struct herd_server *to,
	    char *nonce_d, int rescue);
int	 peer_auth_line(char *buf, size_t size, const struct herd_server *to,
	    const char *nonce_d, const char *nonce_l, const struct herd_key *k);

/*
 * Check the listener's OK (hello: we sent HELLO and no AUTH; auth: we sent
 * AUTH, under the MAC key k).  0 when the link is accepted; -1 refused, -2
 * its proof is wrong (a wrong secret or an impostor), with the reason in
 * why.
 */
int	 peer_ok_check(const struct herd_server *to, int hello, int auth,
	    const char *nonce_d, const char *nonce_l, const struct herd_key *k,
	    const struct proto_peer *msg, char *why, size_t whylen);

/*
 * outbuf_write on a peer connection, over TLS when t is not NULL, its
 * bytes counted (peer_bytes): the one write of both sides.  outbuf_write's
 * 0, 1 or -1; after 1 over TLS, ptls_want says what to wait for.
 */
static inline int
peer_write(struct outbuf *ob, int fd, struct ptls *t)
{
	size_t	 before = outbuf_len(ob);
	int	 rc = t != NULL ? ptls_outbuf_write(t, ob) : outbuf_write(ob, fd);

	counters[NOTIFY_C_PEER_BYTES] += before - outbuf_len(ob);
	return rc;
}

#endif /* HERD_PEER_CTX_H */
