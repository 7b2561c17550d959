/*
 * ptls.h -- TLS 1.3 on the peer links: a context per server (struct
 * ptls_ctx, ptls_ctx.c: the keyring or the certificates) and an object per
 * connection (struct ptls, ptls.c), non-blocking over a socket the caller
 * owns, for libev, without threads.  herd-protocol(7), TLS, says what it
 * protects against and what it does not.
 *
 * Two modes, as the configuration says (herd.ini(5)):
 * - PSK, the default: TLS 1.3 external PSKs derived from the herd's
 *   keyring (keyring.h).  The dialler offers its first key, the listener
 *   accepts any of its keys; the PSK identity is the key's public name, so
 *   the listener knows, and says, which key a link uses.  (EC)DHE on top:
 *   a key stolen later does not open what was recorded before.  Nothing
 *   else authenticates: a certificate offered instead of our key fails.
 * - Certificates (peer_tls_cert, _key, _ca): mutual TLS, each end's
 *   certificate verified against the CA file (every CA in it), and the
 *   herd server's name checked against its subjectAltName DNS entries
 *   (exactly, no wildcard, never the subject's CN): by the dialler, for
 *   the neighbour it dials; by the listener, for the name the dialler
 *   gives in its HELLO (ptls_check_name).  The files are stat(2)ed at each
 *   new connection and loaded again when they changed (a renewal needs no
 *   restart); a change that does not load is logged once and the previous
 *   certificates serve on.
 *
 * A transport uses it so (each call's contract below):
 *	ctx = ptls_ctx_new(conf, self->name, err, sizeof(err));  at start
 *	ptls_ctx_reload(ctx, newconf, ...);                        at SIGHUP
 *	t = ptls_new(ctx, fd, dialler, dialler ? srv->name : NULL);
 *	ptls_handshake(t) until 1, arming ptls_want(t), under the connect
 *	    time-out (a stalled handshake is the caller's to time out);
 *	listener: ptls_check_name(t, name in HELLO); both: ptls_binding()
 *	    into the herd handshake's MACs, keyed by ptls_key_index()'s key;
 *	ptls_linebuf_fill(t, &in) for linebuf_fill(&in, fd), and
 *	ptls_outbuf_write(t, &out) for outbuf_write(&out, fd);
 *	ptls_close_notify(t); ptls_free(t); close(fd).
 * Every struct ptls must be freed before its ptls_ctx.  Writes go through
 * write(2): the process ignores SIGPIPE, as herd-node does.
 *
 * The client port over TLS (tls_port, client_tls.c) uses a third mode,
 * PTLS_SERVER (ptls_ctx_new_server): a server certificate and its key,
 * no client certificate asked, never a dialler, the files watched as in
 * certificate mode; its connections are read and written as above.
 */
#ifndef HERD_PTLS_H
#define HERD_PTLS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "linebuf.h"

#define PTLS_BINDING_LEN	32	/* bytes of ptls_binding */
#define PTLS_BINDING_LABEL	"EXPORTER-herd-handshake"
#define PTLS_NAME_SIZE		96	/* ptls_key_name, NUL included */

struct ptls_ctx;
struct ptls;

enum ptls_mode {
	PTLS_PSK = 0,			/* the keyring's PSKs */
	PTLS_CERT,			/* certificates */
	PTLS_SERVER,			/* a server certificate, for clients */
};

/*
 * A context for server self (its name, which its certificate must name in
 * certificate mode; NULL: not checked) from conf: certificates when
 * conf->tls.cert is set, else the keyring (conf->keys).  NULL with the
 * reason in err when neither is configured or the files do not load;
 * peer_tls = off is the caller's to skip (it is not looked at here).
 */
struct ptls_ctx *ptls_ctx_new(const struct herd_conf *conf, const char *self,
	    char *err, size_t errlen);

/*
 * A context that serves clients (PTLS_SERVER): TLS 1.3 with the
 * certificate chain in the PEM file cert (leaf first) and its key (PEM,
 * not encrypted), asking no certificate of the client.  NULL with the
 * reason in err ("client_tls_cert PATH: ...") when they do not load.
 */
struct ptls_ctx *ptls_ctx_new_server(const char *cert, const char *key,
	    char *err, size_t errlen);

/*
 * Take conf's keyring and files (a reload; PTLS_SERVER: conf->ctls's
 * files): new connections use them, those up keep what they were made
 * with.  0, or -1 with err, the context unchanged.
 */
int	 ptls_ctx_reload(struct ptls_ctx *ctx, const struct herd_conf *conf,
	    char *err, size_t errlen);

enum ptls_mode ptls_ctx_mode(const struct ptls_ctx *ctx);
void	 ptls_ctx_free(struct ptls_ctx *ctx);

/*
 * A TLS connection over the connected non-blocking socket fd (still the
 * caller's: ptls_free does not close it).  dialler: 1 for the side that
 * dialled (the TLS client), 0 for the listener.  peer: the dialler's
 * neighbour, whose name its certificate must hold (certificate mode: a
 * dialler without one fails its handshake); NULL for the listener.
 * PTLS_SERVER: always the listener (dialler 0).
 * In certificate mode, the files are looked at first (see above).
 * NULL when out of memory.
 */
struct ptls *ptls_new(struct ptls_ctx *ctx, int fd, int dialler,
	    const char *peer);

/*
 * Drive the handshake: 1 done (and checked: in PSK mode, a key of ours was
 * used), 0 in progress (wait for ptls_want, then call again), -1 failed or
 * refused, the reason in ptls_error (for the log: which key, which check,
 * what the peer said).  Bytes that are not TLS (a plain-text HELLO, or a
 * plain-text ERROR from a listener without TLS) fail at once, quoted.
 * Once 1, it stays 1.  In certificate mode a dialler's 1 does not yet say
 * that the listener took its certificate (TLS 1.3 ends the client's
 * handshake first): a refusal comes as an alert at its first read.
 */
int	 ptls_handshake(struct ptls *t);

/*
 * EV_READ and/or EV_WRITE: what the call that last returned 0 or EAGAIN
 * waits for (the handshake, the last read, the last write): a read may
 * wait to write, and a write to read.  0 when nothing waits.  A caller
 * keeps its read watcher as it does without TLS, starts its write watcher
 * when this holds EV_WRITE, and on either event calls both its reader and
 * (with anything queued) its writer.
 */
int	 ptls_want(const struct ptls *t);

/*
 * Read and write as read(2) and write(2) do on a non-blocking socket:
 * bytes (> 0); 0 from read at the end of the stream (close_notify, or the
 * socket closed: a line cut short is never a line); -1 with errno EAGAIN
 * (see ptls_want) or another errno (EPROTO: a TLS error, in ptls_error).
 * Before the handshake is done they drive it (EAGAIN meanwhile).  After a
 * write returned EAGAIN, the next write must offer the same bytes again,
 * more may follow (they may have moved in memory).
 */
ssize_t	 ptls_read(struct ptls *t, void *buf, size_t len);
ssize_t	 ptls_write(struct ptls *t, const void *buf, size_t len);

/*
 * After a read returned 0: 1 when the peer ended with close_notify (what
 * came before is whole), 0 when the socket closed without it (the stream
 * may have been cut short on the way).
 */
int	 ptls_closed_cleanly(const struct ptls *t);

/*
 * 1 when bytes wait inside TLS, which the socket's readiness won't tell,
 * or the end of the stream, read after bytes by ptls_linebuf_fill and not
 * yet returned (the socket may say nothing more: a close_notify is not
 * the socket's end).
 */
int	 ptls_pending(const struct ptls *t);

/*
 * linebuf_fill over TLS, with its return values: bytes, 0 end, -1 errno
 * (EAGAIN), -2 full without a line.  It reads until TLS holds nothing
 * more or lb is full; after taking the lines, a caller that finds
 * ptls_pending() must call it again without waiting for the socket (the
 * bytes are already read from it: ev_feed_event on its read watcher).
 */
ssize_t	 ptls_linebuf_fill(struct ptls *t, struct linebuf *lb);

/*
 * outbuf_write over TLS, with its contract: 0 all written, 1 some left
 * (wait for ptls_want), -1 error (errno; ptls_error).  Each call writes
 * what is queued as records of at most 16 KiB, one record (one write(2))
 * for a batch that fits.  After 1 the queued bytes must stay queued
 * (appending is fine) until the next call.
 */
int	 ptls_outbuf_write(struct ptls *t, struct outbuf *ob);

/*
 * The listener, once the dialler has said who it is: 0 when its
 * certificate names name (subjectAltName DNS), -1 (ptls_error says why)
 * when it does not.  Always 0 in PSK mode, where any holder of a key may
 * be any server.
 */
int	 ptls_check_name(struct ptls *t, const char *name);

/*
 * Which key the link uses, for logs and status, once the handshake is
 * done: PSK mode, the key's public name ("herd1:" and 16 hex digits);
 * certificate mode, "cert:" the peer certificate's first DNS name (else
 * its CN), ":" and the first 16 hex digits of its SHA-256 fingerprint.
 * "" before, and in PTLS_SERVER mode.
 */
const char *ptls_key_name(const struct ptls *t);

/*
 * PSK mode: the index of the key used in the keyring the context was made
 * or last reloaded with (0: the first, the dialler's always): the key of
 * the herd handshake's MACs on this link.  -1 in certificate mode or
 * before the handshake is done.
 */
int	 ptls_key_index(const struct ptls *t);

/*
 * The cipher suite, and the group of the (EC)DHE key exchange that gives
 * forward secrecy ("x25519"), once the handshake is done ("" before).
 */
const char *ptls_cipher(const struct ptls *t);
const char *ptls_group(const struct ptls *t);

/*
 * The channel binding: PTLS_BINDING_LEN bytes exported from this TLS
 * session (RFC 8446 7.5, label PTLS_BINDING_LABEL, no context), the same
 * at both ends and at no other connection, for the herd handshake's MACs
 * to cover.  0, or -1 before the handshake is done.
 */
int	 ptls_binding(struct ptls *t, unsigned char out[PTLS_BINDING_LEN]);

/* Why the last call failed, for the log; "" when nothing failed. */
const char *ptls_error(const struct ptls *t);

/* Say close_notify, best effort (no waiting): before a deliberate close. */
void	 ptls_close_notify(struct ptls *t);

void	 ptls_free(struct ptls *t);

/*
 * 1 when buf (len >= 3) starts as a TLS handshake record does (what a
 * ClientHello starts with), 0 when it does not: for a plain-text listener
 * to say "TLS from a neighbour, and peer_tls = off here".
 */
int	 ptls_is_hello(const void *buf, size_t len);

#endif /* HERD_PTLS_H */
