/*
 * ptls.c -- one TLS connection of a peer link, or of the client port over
 * TLS (see ptls.h): the handshake and its checks, reading and writing without blocking, and what the
 * connection tells of itself (its key, its binding, why it failed).
 * The context it is made from is ptls_ctx.c's.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "linebuf.h"
#include "proto.h"
#include "ptls.h"
#include "ptls_int.h"

/* The other end, for messages. */
static const char *
ptls_side(const struct ptls *t)
{
	if (t->mode == PTLS_SERVER)
		return "client";
	return t->dialler ? "listener" : "dialler";
}

struct ptls *
ptls_new(struct ptls_ctx *ctx, int fd, int dialler, const char *peer)
{
	struct ptls	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	ptls_refresh(ctx);
	t->ctx = ctx;
	t->fd = fd;
	t->dialler = dialler;
	t->mode = ctx->mode;
	t->key = -1;
	snprintf(t->peer, sizeof(t->peer), "%s", peer != NULL ? peer : "");
	if ((t->ssl = SSL_new(ctx->ssl)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1) {
		ERR_clear_error();
		ptls_free(t);
		return NULL;
	}
	SSL_set_app_data(t->ssl, t);
	if (!dialler) {
		SSL_set_accept_state(t->ssl);
		return t;
	}
	SSL_set_connect_state(t->ssl);
	if (t->mode == PTLS_PSK)	/* a certificate, with no CA: refused */
		SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	else if (peer == NULL || SSL_set1_host(t->ssl, peer) != 1) {
		t->state = PTLS_FAILED;
		t->err_no = EINVAL;
		snprintf(t->why, sizeof(t->why), "no neighbour's name to check "
		    "its certificate against");
	}
	return t;
}

/*
 * Before the handshake reads anything: the peer's first byte must start a
 * TLS record (a handshake message, or an alert).  Else it is plain text:
 * quote it, and fail now.  0, or -1.
 */
static int
ptls_sniff(struct ptls *t)
{
	unsigned char	 b[64];
	char		 q[64];
	ssize_t		 n;

	do {
		n = recv(t->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;		/* nothing yet, or the end: TLS says */
	if (b[0] == 0x16 || b[0] == 0x15) {
		t->seen = 1;
		return 0;
	}
	ptls_quote(q, sizeof(q), b, (size_t)n);
	if (t->mode == PTLS_SERVER)
		snprintf(t->why, sizeof(t->why), "not TLS: the client sent "
		    "\"%s\"", q);
	else
		snprintf(t->why, sizeof(t->why), "not TLS: the %s sent \"%s\" "
		    "(%s)", ptls_side(t), q, t->dialler ?
		    "peer_tls = off there, or a herd older than TLS" :
		    "peer_tls = off there, a herd older than TLS, or not a "
		    "herd server");
	t->err_no = EPROTO;
	return -1;
}

/* Why the handshake failed, into t->why unless a callback said it. */
static void
ptls_handshake_why(struct ptls *t, int sslerr)
{
	unsigned long	 code = ERR_peek_last_error();
	int		 reason = ERR_GET_REASON(code);
	long		 vr = SSL_get_verify_result(t->ssl);
	const char	*side = ptls_side(t);
	char		 hint[128] = "";

	if (t->err_no == 0)
		t->err_no = EPROTO;
	if (t->why[0] != '\0')
		return;
	if (sslerr == SSL_ERROR_SYSCALL && code == 0) {
		if (errno != 0)
			t->err_no = errno;
		snprintf(t->why, sizeof(t->why), "during the TLS handshake: %s",
		    errno != 0 ? strerror(errno) : "closed by the peer");
	} else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    vr == X509_V_ERR_HOSTNAME_MISMATCH)
		snprintf(t->why, sizeof(t->why), "the listener's certificate "
		    "does not name %s (subjectAltName DNS:%s)", t->peer,
		    t->peer);
	else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    t->mode == PTLS_PSK)
		snprintf(t->why, sizeof(t->why), "the listener offered a "
		    "certificate, not our key (peer_tls_cert there, or not a "
		    "herd server)");
	else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
		snprintf(t->why, sizeof(t->why), "the %s's certificate: %s",
		    side, X509_verify_cert_error_string(vr));
	else if (reason > SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		if (t->mode == PTLS_PSK && t->dialler &&
		    reason - SSL_AD_REASON_OFFSET == SSL_AD_HANDSHAKE_FAILURE)
			snprintf(hint, sizeof(hint), " (does it hold our key "
			    "%s? another secret there, or peer_tls_cert)",
			    t->ctx->nkeys > 0 ? t->ctx->keys[0].id : "");
		snprintf(t->why, sizeof(t->why), "refused by the %s: %s%s",
		    side, SSL_alert_desc_string_long(reason -
		    SSL_AD_REASON_OFFSET), hint);
	} else if (reason == SSL_R_WRONG_VERSION_NUMBER && !t->seen)
		/* plain text that came too soon for ptls_sniff to see it */
		snprintf(t->why, sizeof(t->why), "not TLS: the %s answered in "
		    "plain text (%s)", side, t->dialler ? "peer_tls = off "
		    "there, or a herd older than TLS" : "peer_tls = off there, "
		    "a herd older than TLS, or not a herd server");
	else if (reason == SSL_R_UNSUPPORTED_PROTOCOL)
		snprintf(t->why, sizeof(t->why), "the %s does not speak TLS "
		    "1.3 (unsupported protocol)", side);
	else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		snprintf(t->why, sizeof(t->why), "the dialler sent no "
		    "certificate (no peer_tls_cert there?)");
	else if (t->mode == PTLS_PSK && !t->dialler && t->key == -1)
		snprintf(t->why, sizeof(t->why), "the dialler offered no key "
		    "(peer_tls_cert there?): %s", ptls_ssl_reason());
	else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		snprintf(t->why, sizeof(t->why), "closed by the %s during "
		    "the TLS handshake", side);
	else
		snprintf(t->why, sizeof(t->why), "TLS handshake: %s",
		    ptls_ssl_reason());
}

/* "cert:" its first DNS name (else CN) ":" 16 hex of its fingerprint. */
static void
ptls_cert_name(X509 *x, char *out, size_t size)
{
	GENERAL_NAMES		*sans;
	const GENERAL_NAME	*gn;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 name[HERD_NAME_MAX + 1] = "", hex[17] = "";
	int			 i;

	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(sans) && name[0] == '\0'; i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_DNS)
			ptls_quote(name, sizeof(name),
			    ASN1_STRING_get0_data(gn->d.dNSName),
			    (size_t)ASN1_STRING_length(gn->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
	if (name[0] == '\0' && X509_NAME_get_text_by_NID(
	    X509_get_subject_name(x), NID_commonName, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen >= 8)
		proto_hex(hex, md, 8);
	ERR_clear_error();
	snprintf(out, size, "cert:%s:%s", name, hex);
}

/* The handshake is over: check who the peer is, and name its key. */
static int
ptls_established(struct ptls *t)
{
	X509	*x;

	if (t->mode == PTLS_PSK) {
		if (t->key < 0 || !SSL_session_reused(t->ssl)) {
			snprintf(t->why, sizeof(t->why), "the %s was not "
			    "authenticated by a key of ours", ptls_side(t));
			goto fail;
		}
	} else if (t->mode == PTLS_CERT) {
		if ((x = SSL_get0_peer_certificate(t->ssl)) == NULL ||
		    SSL_get_verify_result(t->ssl) != X509_V_OK) {
			snprintf(t->why, sizeof(t->why), "the %s's certificate "
			    "was not verified", ptls_side(t));
			goto fail;
		}
		ptls_cert_name(x, t->name, sizeof(t->name));
	}
	t->state = PTLS_UP;
	t->want_hs = 0;
	return 1;
fail:
	t->state = PTLS_FAILED;
	t->err_no = EPROTO;
	return -1;
}

int
ptls_handshake(struct ptls *t)
{
	int	 rc, e;

	if (t->state != PTLS_HANDSHAKE)
		return t->state == PTLS_UP ? 1 : -1;
	if ((t->started || !t->dialler) && !t->seen && ptls_sniff(t) == -1) {
		t->state = PTLS_FAILED;
		return -1;
	}
	t->started = 1;
	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_do_handshake(t->ssl)) == 1)
		return ptls_established(t);
	e = SSL_get_error(t->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		t->want_hs = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		return 0;
	}
	ptls_handshake_why(t, e);
	ERR_clear_error();
	t->state = PTLS_FAILED;
	return -1;
}

int
ptls_want(const struct ptls *t)
{
	if (t->state == PTLS_HANDSHAKE)
		return t->want_hs;
	if (t->state == PTLS_FAILED)
		return 0;
	return t->want_rd | t->want_wr;
}

/* Before reading or writing: 1 up, else -1 with errno (EAGAIN: later). */
static int
ptls_ready(struct ptls *t)
{
	int	 rc;

	if ((rc = ptls_handshake(t)) == 1)
		return 1;
	errno = rc == 0 ? EAGAIN : t->err_no;
	return -1;
}

/* SSL_read or SSL_write returned rc <= 0: EAGAIN, the end, or failed. */
static ssize_t
ptls_io_fail(struct ptls *t, int rc, int *want, int reading)
{
	int		 e = SSL_get_error(t->ssl, rc), reason;
	unsigned long	 code = ERR_peek_last_error();

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		errno = EAGAIN;
		return -1;
	}
	if (reading && (e == SSL_ERROR_ZERO_RETURN ||
	    ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	    (e == SSL_ERROR_SYSCALL && code == 0 && errno == 0))) {
		snprintf(t->why, sizeof(t->why), "%s",
		    e == SSL_ERROR_ZERO_RETURN ? "closed (close_notify)" :
		    "closed without close_notify");
		ERR_clear_error();
		t->eof = 1;
		t->clean = e == SSL_ERROR_ZERO_RETURN;
		return 0;
	}
	reason = ERR_GET_REASON(code);
	if (e == SSL_ERROR_SYSCALL && code == 0 && errno != 0) {
		t->err_no = errno;
		snprintf(t->why, sizeof(t->why), "%s", strerror(errno));
	} else if (reason > SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		t->err_no = EPROTO;
		snprintf(t->why, sizeof(t->why), "TLS alert from the %s: %s",
		    ptls_side(t),
		    SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
	} else if (reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC) {
		t->err_no = EPROTO;
		snprintf(t->why, sizeof(t->why), "a TLS record failed its "
		    "integrity check (altered on the way?)");
	} else {
		t->err_no = e == SSL_ERROR_ZERO_RETURN ? EPIPE : EPROTO;
		snprintf(t->why, sizeof(t->why), "TLS: %s",
		    e == SSL_ERROR_ZERO_RETURN ? "closed by the peer" :
		    ptls_ssl_reason());
	}
	ERR_clear_error();
	t->state = PTLS_FAILED;
	errno = t->err_no;
	return -1;
}

ssize_t
ptls_read(struct ptls *t, void *buf, size_t len)
{
	int	 n;

	if (ptls_ready(t) == -1)
		return -1;
	if (t->eof) {
		t->eof_held = 0;
		return 0;
	}
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len)) >
	    0) {
		t->want_rd = 0;
		return n;
	}
	return ptls_io_fail(t, n, &t->want_rd, 1);
}

ssize_t
ptls_write(struct ptls *t, const void *buf, size_t len)
{
	int	 n;

	if (ptls_ready(t) == -1)
		return -1;
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX :
	    (int)len)) > 0) {
		t->want_wr = 0;
		return n;
	}
	return ptls_io_fail(t, n, &t->want_wr, 0);
}

int
ptls_closed_cleanly(const struct ptls *t)
{
	return t->eof && t->clean;
}

int
ptls_pending(const struct ptls *t)
{
	if (t->state != PTLS_UP)
		return 0;
	return t->eof ? t->eof_held : SSL_has_pending(t->ssl);
}

ssize_t
ptls_linebuf_fill(struct ptls *t, struct linebuf *lb)
{
	ssize_t	 total = 0, n;
	size_t	 room;
	char	*p;
	int	 rc;

	do {
		if ((rc = linebuf_room(lb, &p, &room)) != 0)
			return total > 0 ? total : rc;
		if ((n = ptls_read(t, p, room)) <= 0) {
			/* the end after bytes: the next call says it */
			t->eof_held = n == 0 && total > 0;
			return total > 0 ? total : n;
		}
		linebuf_commit(lb, (size_t)n);
		total += n;
	} while (SSL_has_pending(t->ssl));
	return total;
}

int
ptls_outbuf_write(struct ptls *t, struct outbuf *ob)
{
	ssize_t	 n;

	while (outbuf_len(ob) > 0) {
		if ((n = ptls_write(t, ob->buf + ob->off, outbuf_len(ob))) ==
		    -1)
			return errno == EAGAIN ? 1 : -1;
		outbuf_consume(ob, (size_t)n);
	}
	t->want_wr = 0;
	return 0;
}

int
ptls_check_name(struct ptls *t, const char *name)
{
	X509	*x;

	if (t->mode == PTLS_PSK)
		return 0;
	if (t->state != PTLS_UP ||
	    (x = SSL_get0_peer_certificate(t->ssl)) == NULL) {
		snprintf(t->why, sizeof(t->why), "no certificate to check %s "
		    "against", name);
		return -1;
	}
	if (X509_check_host(x, name, 0, PTLS_HOSTFLAGS, NULL) == 1)
		return 0;
	ERR_clear_error();
	snprintf(t->why, sizeof(t->why), "the dialler's certificate (%s) does "
	    "not name %s (subjectAltName DNS:%s)", t->name, name, name);
	return -1;
}

const char *
ptls_key_name(const struct ptls *t)
{
	return t->state == PTLS_UP ? t->name : "";
}

int
ptls_key_index(const struct ptls *t)
{
	return t->state == PTLS_UP && t->mode == PTLS_PSK ? t->key : -1;
}

const char *
ptls_cipher(const struct ptls *t)
{
	return t->state == PTLS_UP ? SSL_get_cipher_name(t->ssl) : "";
}

const char *
ptls_group(const struct ptls *t)
{
	const char	*g;
	int		 id;

	if (t->state != PTLS_UP || (id = SSL_get_negotiated_group(t->ssl)) <= 0 ||
	    (g = SSL_group_to_name(t->ssl, id)) == NULL)
		return "";
	return g;
}

int
ptls_binding(struct ptls *t, unsigned char out[PTLS_BINDING_LEN])
{
	static const char	 label[] = PTLS_BINDING_LABEL;

	if (t->state != PTLS_UP || SSL_export_keying_material(t->ssl, out,
	    PTLS_BINDING_LEN, label, sizeof(label) - 1, NULL, 0, 0) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

const char *
ptls_error(const struct ptls *t)
{
	return t->why;
}

void
ptls_close_notify(struct ptls *t)
{
	if (t->state != PTLS_UP || (t->eof && !t->clean))
		return;			/* after a close_notify: ours in turn */
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

void
ptls_free(struct ptls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int
ptls_is_hello(const void *buf, size_t len)
{
	const unsigned char	*b = buf;

	return len >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04;
}
