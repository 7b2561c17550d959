/*
 * peer_ctx.h -- what the two sides of the peer links share: the loop, the
 * herd, this server, the secret, and two small helpers.  Private to
 * peer.c, link.c and pconn.c.
 */
#ifndef HERD_PEER_CTX_H
#define HERD_PEER_CTX_H

#include <stddef.h>

#include "counters.h"
#include "linebuf.h"
#include "proto.h"

struct ev_loop;
struct herd_conf;
struct herd_server;

struct peer_ctx {
	struct ev_loop			*loop;
	const struct herd_conf		*conf;
	const struct herd_server	*self;
	const char			*secret;	/* NULL: version 1 */
	size_t				 secret_len;
};

extern struct peer_ctx	 peer_ctx;

/* The index of a server in the herd (records' src). */
int	 peer_index(const struct herd_server *srv);

/*
 * This server lost changes it may have passed on (a neighbour saw more of
 * our stream than we hold): forget the marks and drop the neighbours'
 * connections, so each redials and sends us everything, even what came
 * from us.
 */
void	 peer_lost_changes(void);

/* A fresh nonce, PROTO_NONCE_LEN random bytes in hex.  0 or -1. */
int	 peer_nonce(char *out);

/* Printable text from a neighbour's ERROR, for our log: 120 bytes. */
void	 peer_text(char *dst, size_t size, const struct proto_field *f);

/*
 * The dialler's handshake lines, with their newline: HELLO (a fresh nonce
 * in nonce_d with a secret; RESCUE last for a rescue link) and AUTH for
 * the listener's nonce.  0 or -1.
 */
int	 peer_hello_line(char *buf, size_t size, const struct herd_server *to,
	    char *nonce_d, int rescue);
int	 peer_auth_line(char *buf, size_t size, const struct herd_server *to,
	    const char *nonce_d, const char *nonce_l);

/*
 * Check the listener's OK (hello: we sent HELLO and no AUTH; auth: we sent
 * AUTH).  0 when the link is accepted; -1 refused, -2 its proof is wrong
 * (a wrong secret or an impostor), with the reason in why.
 */
int	 peer_ok_check(const struct herd_server *to, int hello, int auth,
	    const char *nonce_d, const char *nonce_l,
	    const struct proto_peer *msg, char *why, size_t whylen);

/*
 * outbuf_write on a peer connection, its bytes counted (peer_bytes): the
 * one write of both sides.  outbuf_write's 0, 1 or -1.
 */
static inline int
peer_write(struct outbuf *ob, int fd)
{
	size_t	 before = outbuf_len(ob);
	int	 rc = outbuf_write(ob, fd);

	counters[NOTIFY_C_PEER_BYTES] += before - outbuf_len(ob);
	return rc;
}

#endif /* HERD_PEER_CTX_H */
