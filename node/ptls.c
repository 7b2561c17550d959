/*
 * ptls.c -- TLS 1.3 on the peer links, with OpenSSL (see ptls.h).
 *
 * Each connection is an SSL over a socket BIO on the caller's fd, with
 * read-ahead (a read(2) takes many records: ptls_linebuf_fill drains what
 * TLS holds) and partial writes (ptls_outbuf_write consumes a record at a
 * time).  No session tickets, no resumption, no early data: every link
 * makes a full handshake, with an (EC)DHE key exchange also in PSK mode.
 */
#include <sys/socket.h>
#include <sys/stat.h>

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
#include "keyring.h"
#include "linebuf.h"
#include "log.h"
#include "proto.h"
#include "ptls.h"

/* Names are checked in subjectAltName DNS entries only, exactly. */
#define PTLS_HOSTFLAGS	(X509_CHECK_FLAG_NO_WILDCARDS | \
			 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT)
/* The suites a SHA-256 PSK can serve; the PSK's session says AES-128. */
#define PTLS_PSK_SUITES	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define PTLS_WHY_SIZE	320

enum { PTLS_F_CERT, PTLS_F_KEY, PTLS_F_CA, PTLS_NFILES };
static const char *const ptls_file_key[PTLS_NFILES] = {
	"peer_tls_cert", "peer_tls_key", "peer_tls_ca"
};

/* What a file was when last loaded: another stamp, load it again. */
struct ptls_stamp {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime, ctime;
	int		 err;		/* stat's errno, or 0 */
};

struct ptls_key {
	char		 id[KEYRING_ID_SIZE];	/* the PSK identity */
	unsigned char	 psk[KEYRING_PSK_LEN];
};

struct ptls_ctx {
	SSL_CTX			*ssl;		/* new connections' */
	enum ptls_mode		 mode;
	char			 self[HERD_NAME_MAX + 1];	/* "": unchecked */
	struct ptls_key		 keys[HERD_KEYS_MAX];	/* keys[0] dials */
	size_t			 nkeys;
	char			 file[PTLS_NFILES][HERD_PATH_MAX];
	struct ptls_stamp	 stamp[PTLS_NFILES];	/* as last looked at */
};

enum ptls_state { PTLS_HANDSHAKE, PTLS_UP, PTLS_FAILED };

struct ptls {
	struct ptls_ctx		*ctx;
	SSL			*ssl;
	int			 fd;
	int			 dialler;	/* the TLS client */
	enum ptls_mode		 mode;		/* ctx's when made */
	enum ptls_state		 state;
	int			 started;	/* a first handshake step made */
	int			 seen;		/* the peer's first byte: TLS */
	int			 want_hs;	/* EV_READ, EV_WRITE or 0 */
	int			 want_rd, want_wr;
	int			 eof;		/* read the end: 0 from now on */
	int			 err_no;	/* a failure's errno */
	int			 key;		/* PSK: keyring index, or -1 */
	char			 peer[HERD_NAME_MAX + 1];	/* dialled */
	char			 name[PTLS_NAME_SIZE];	/* ptls_key_name */
	char			 why[PTLS_WHY_SIZE];	/* ptls_error */
};

static int
ptls_nopass(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;			/* no passphrase, and never a prompt */
}

/* The reason of OpenSSL's last error, for a message. */
static const char *
ptls_ssl_reason(void)
{
	const char	*r = ERR_reason_error_string(ERR_peek_last_error());

	return r != NULL ? r : "an OpenSSL error";
}

/* Printable text of n bytes, for a message: up to a line end, 60 bytes. */
static void
ptls_quote(char *dst, size_t size, const unsigned char *b, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n && o + 1 < size && o < 60; i++) {
		if (b[i] == '\n' || b[i] == '\r')
			break;
		dst[o++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	}
	dst[o] = '\0';
}

/* PSK: the session that carries a key, with TLS_AES_128_GCM_SHA256. */
static SSL_SESSION *
ptls_psk_session(SSL *ssl, const struct ptls_key *k)
{
	static const unsigned char	 aes128gcm[2] = { 0x13, 0x01 };
	const SSL_CIPHER		*cipher;
	SSL_SESSION			*s;

	if ((cipher = SSL_CIPHER_find(ssl, aes128gcm)) == NULL ||
	    (s = SSL_SESSION_new()) == NULL)
		return NULL;
	if (SSL_SESSION_set1_master_key(s, k->psk, sizeof(k->psk)) != 1 ||
	    SSL_SESSION_set_cipher(s, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

/* The dialler offers its first key (OpenSSL owns the session after). */
static int
ptls_psk_use_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	struct ptls	*t = SSL_get_app_data(ssl);

	*sess = NULL;
	if (t->ctx->nkeys == 0 || (md != NULL &&
	    EVP_MD_get_type(md) != NID_sha256))
		return 1;		/* nothing to offer: it fails */
	if ((*sess = ptls_psk_session(ssl, &t->ctx->keys[0])) == NULL)
		return 0;
	t->key = 0;
	snprintf(t->name, sizeof(t->name), "%s", t->ctx->keys[0].id);
	*id = (const unsigned char *)t->name;
	*idlen = strlen(t->name);
	return 1;
}

/* The listener takes any key of its keyring, by its name. */
static int
ptls_psk_find_cb(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sess)
{
	struct ptls	*t = SSL_get_app_data(ssl);
	struct ptls_ctx	*ctx = t->ctx;
	char		 q[64];
	size_t		 i, o;
	int		 n;

	*sess = NULL;
	for (i = 0; i < ctx->nkeys; i++)
		if (strlen(ctx->keys[i].id) == idlen &&
		    memcmp(ctx->keys[i].id, id, idlen) == 0) {
			if ((*sess = ptls_psk_session(ssl, &ctx->keys[i])) ==
			    NULL)
				return 0;
			t->key = (int)i;
			snprintf(t->name, sizeof(t->name), "%s",
			    ctx->keys[i].id);
			return 1;
		}
	/* not ours: say so, and let the handshake fail without a key */
	ptls_quote(q, sizeof(q), id, idlen);
	n = snprintf(t->why, sizeof(t->why), "the dialler's key %s is not in "
	    "our keyring (", q);
	for (i = 0; i < ctx->nkeys && n > 0 && (size_t)n < sizeof(t->why);
	    i++) {
		o = (size_t)n;
		n += snprintf(t->why + o, sizeof(t->why) - o, "%s%s",
		    i > 0 ? " " : "", ctx->keys[i].id);
	}
	if (n > 0 && (size_t)n < sizeof(t->why))
		snprintf(t->why + n, sizeof(t->why) - (size_t)n, "): another "
		    "secret there?");
	t->err_no = EPROTO;
	return 1;
}

static void
ptls_stamps(const struct ptls_ctx *ctx, struct ptls_stamp *st)
{
	struct stat	 sb;
	int		 i;

	memset(st, 0, PTLS_NFILES * sizeof(*st));
	for (i = 0; i < PTLS_NFILES; i++) {
		if (stat(ctx->file[i], &sb) == -1) {
			st[i].err = errno;
			continue;
		}
		st[i].dev = sb.st_dev;
		st[i].ino = sb.st_ino;
		st[i].size = sb.st_size;
		st[i].mtime = sb.st_mtim;
		st[i].ctime = sb.st_ctim;
	}
}

/* Certificate mode: our certificate, key and CAs into s. */
static int
ptls_load_files(struct ptls_ctx *ctx, SSL_CTX *s, char *err, size_t errlen)
{
	X509	*leaf;
	int	 i, bad = -1;

	for (i = 0; i < PTLS_NFILES; i++)
		if (ctx->stamp[i].err != 0) {
			snprintf(err, errlen, "%s %s: %s", ptls_file_key[i],
			    ctx->file[i], strerror(ctx->stamp[i].err));
			return -1;
		}
	if (SSL_CTX_use_certificate_chain_file(s, ctx->file[PTLS_F_CERT]) !=
	    1)
		bad = PTLS_F_CERT;
	else if (SSL_CTX_use_PrivateKey_file(s, ctx->file[PTLS_F_KEY],
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(s) != 1)
		bad = PTLS_F_KEY;
	else if (SSL_CTX_load_verify_file(s, ctx->file[PTLS_F_CA]) != 1)
		bad = PTLS_F_CA;
	if (bad != -1) {
		snprintf(err, errlen, "%s %s: %s", ptls_file_key[bad],
		    ctx->file[bad], ptls_ssl_reason());
		return -1;
	}
	leaf = SSL_CTX_get0_certificate(s);
	if (ctx->self[0] != '\0' && X509_check_host(leaf, ctx->self, 0,
	    PTLS_HOSTFLAGS, NULL) != 1) {
		snprintf(err, errlen, "peer_tls_cert %s: does not name %s (a "
		    "subjectAltName DNS:%s)", ctx->file[PTLS_F_CERT], ctx->self,
		    ctx->self);
		return -1;
	}
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(s), PTLS_HOSTFLAGS);
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    NULL);
	return 0;
}

/* A fresh SSL_CTX for what ctx holds (the files read now), or NULL. */
static SSL_CTX *
ptls_build(struct ptls_ctx *ctx, char *err, size_t errlen)
{
	SSL_CTX	*s;

	ERR_clear_error();
	if ((s = SSL_CTX_new(TLS_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION) != 1) {
		snprintf(err, errlen, "TLS: %s", ptls_ssl_reason());
		goto fail;
	}
	SSL_CTX_set_num_tickets(s, 0);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_read_ahead(s, 1);
	SSL_CTX_set_default_passwd_cb(s, ptls_nopass);
	if (ctx->mode == PTLS_CERT) {
		if (ptls_load_files(ctx, s, err, errlen) == -1)
			goto fail;
	} else {
		if (SSL_CTX_set_ciphersuites(s, PTLS_PSK_SUITES) != 1) {
			snprintf(err, errlen, "TLS: %s", ptls_ssl_reason());
			goto fail;
		}
		SSL_CTX_set_psk_use_session_callback(s, ptls_psk_use_cb);
		SSL_CTX_set_psk_find_session_callback(s, ptls_psk_find_cb);
	}
	ERR_clear_error();
	return s;
fail:
	ERR_clear_error();
	SSL_CTX_free(s);
	return NULL;
}

struct ptls_ctx *
ptls_ctx_new(const struct herd_conf *conf, const char *self, char *err,
    size_t errlen)
{
	struct ptls_ctx	*ctx;
	size_t		 i;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(ctx->self, sizeof(ctx->self), "%s", self ? self : "");
	if (conf->tls.cert[0] != '\0') {
		ctx->mode = PTLS_CERT;
		snprintf(ctx->file[PTLS_F_CERT], HERD_PATH_MAX, "%s",
		    conf->tls.cert);
		snprintf(ctx->file[PTLS_F_KEY], HERD_PATH_MAX, "%s",
		    conf->tls.key);
		snprintf(ctx->file[PTLS_F_CA], HERD_PATH_MAX, "%s",
		    conf->tls.ca);
		ptls_stamps(ctx, ctx->stamp);
	} else if (conf->keys.n == 0) {
		snprintf(err, errlen, "no secret and no peer_tls_cert: "
		    "nothing to authenticate TLS with");
		goto fail;
	}
	for (i = 0; ctx->mode == PTLS_PSK && i < conf->keys.n; i++)
		if (keyring_id(&conf->keys.key[i], ctx->keys[i].id) == -1 ||
		    keyring_psk(&conf->keys.key[i], ctx->keys[i].psk) == -1) {
			snprintf(err, errlen, "cannot derive the TLS keys "
			    "(HKDF-SHA256)");
			goto fail;
		}
	ctx->nkeys = ctx->mode == PTLS_PSK ? conf->keys.n : 0;
	if ((ctx->ssl = ptls_build(ctx, err, errlen)) != NULL)
		return ctx;
fail:
	ptls_ctx_free(ctx);
	return NULL;
}

int
ptls_ctx_reload(struct ptls_ctx *ctx, const struct herd_conf *conf,
    char *err, size_t errlen)
{
	struct ptls_ctx	*n;

	if ((n = ptls_ctx_new(conf, ctx->self[0] ? ctx->self : NULL, err,
	    errlen)) == NULL)
		return -1;
	SSL_CTX_free(ctx->ssl);
	*ctx = *n;			/* connections keep their SSL_CTX */
	OPENSSL_cleanse(n, sizeof(*n));
	free(n);
	return 0;
}

enum ptls_mode
ptls_ctx_mode(const struct ptls_ctx *ctx)
{
	return ctx->mode;
}

void
ptls_ctx_free(struct ptls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	free(ctx);
}

/*
 * Certificate mode, at each new connection: when a file changed since it
 * was last looked at, build again; a build that fails is logged once (for
 * that state of the files) and the previous one serves on.
 */
static void
ptls_refresh(struct ptls_ctx *ctx)
{
	struct ptls_stamp	 now[PTLS_NFILES];
	char			 err[PTLS_WHY_SIZE];
	SSL_CTX			*s;

	if (ctx->mode != PTLS_CERT)
		return;
	ptls_stamps(ctx, now);
	if (memcmp(now, ctx->stamp, sizeof(now)) == 0)
		return;
	memcpy(ctx->stamp, now, sizeof(now));
	if ((s = ptls_build(ctx, err, sizeof(err))) == NULL) {
		log_warnx("peer TLS: the certificate files changed and do not "
		    "load: %s; the previous ones serve on", err);
		return;
	}
	SSL_CTX_free(ctx->ssl);
	ctx->ssl = s;
	log_notice("peer TLS: the certificate files changed: loaded again");
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
	snprintf(t->why, sizeof(t->why), "not TLS: the %s sent \"%s\" (%s)",
	    t->dialler ? "listener" : "dialler", q, t->dialler ?
	    "peer_tls = off there, or a herd older than TLS" :
	    "peer_tls = off there, a herd older than TLS, or not a herd server");
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
	const char	*side = t->dialler ? "listener" : "dialler";
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
	} else if (reason == SSL_R_UNSUPPORTED_PROTOCOL)
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
			    "authenticated by a key of ours",
			    t->dialler ? "listener" : "dialler");
			goto fail;
		}
	} else {
		if ((x = SSL_get0_peer_certificate(t->ssl)) == NULL ||
		    SSL_get_verify_result(t->ssl) != X509_V_OK) {
			snprintf(t->why, sizeof(t->why), "the %s's certificate "
			    "was not verified", t->dialler ? "listener" :
			    "dialler");
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
		    t->dialler ? "listener" : "dialler",
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
	if (t->eof)
		return 0;
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
ptls_pending(const struct ptls *t)
{
	return t->state == PTLS_UP && !t->eof && SSL_has_pending(t->ssl);
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
		if ((n = ptls_read(t, p, room)) <= 0)
			return total > 0 ? total : n;
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
	if (t->state != PTLS_UP || t->eof)
		return;
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
