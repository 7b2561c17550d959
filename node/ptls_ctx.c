/*
 * ptls_ctx.c -- the TLS context of the peer links (see ptls.h): the
 * keyring's PSKs and the callbacks that offer and find them, or the
 * certificate files, loaded into a fresh SSL_CTX at start, at a reload,
 * and when the files change; and that of the client port over TLS, a
 * server certificate alone (PTLS_SERVER).
 *
 * Every link makes a full handshake: no session tickets, no resumption,
 * no early data, and an (EC)DHE key exchange also with a PSK.  Each
 * connection is an SSL over a socket BIO on the caller's fd, with
 * read-ahead (a read(2) takes many records: ptls_linebuf_fill drains what
 * TLS holds) and partial writes (ptls_outbuf_write consumes a record at a
 * time).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "keyring.h"
#include "log.h"
#include "ptls.h"
#include "ptls_int.h"

/* The suites a SHA-256 PSK can serve; the PSK's session says AES-128. */
#define PTLS_PSK_SUITES	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"

/* The configuration's name of each file, for messages. */
static const char *
ptls_file_key(const struct ptls_ctx *ctx, int i)
{
	static const char *const peer[PTLS_NFILES] = {
		"peer_tls_cert", "peer_tls_key", "peer_tls_ca"
	};
	static const char *const client[PTLS_NFILES] = {
		"client_tls_cert", "client_tls_key", "(no CA)"
	};

	return (ctx->mode == PTLS_SERVER ? client : peer)[i];
}

static int
ptls_nopass(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;			/* no passphrase, and never a prompt */
}

const char *
ptls_ssl_reason(void)
{
	const char	*r = ERR_reason_error_string(ERR_peek_last_error());

	return r != NULL ? r : "an OpenSSL error";
}

void
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
		if (ctx->file[i][0] == '\0')
			continue;	/* none (the CA of PTLS_SERVER) */
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

/* Certificates: ours, its key and (PTLS_CERT) the CAs into s. */
static int
ptls_load_files(struct ptls_ctx *ctx, SSL_CTX *s, char *err, size_t errlen)
{
	X509	*leaf;
	int	 i, bad = -1;

	for (i = 0; i < PTLS_NFILES; i++)
		if (ctx->stamp[i].err != 0) {
			snprintf(err, errlen, "%s %s: %s",
			    ptls_file_key(ctx, i), ctx->file[i],
			    strerror(ctx->stamp[i].err));
			return -1;
		}
	if (SSL_CTX_use_certificate_chain_file(s, ctx->file[PTLS_F_CERT]) !=
	    1)
		bad = PTLS_F_CERT;
	else if (SSL_CTX_use_PrivateKey_file(s, ctx->file[PTLS_F_KEY],
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(s) != 1)
		bad = PTLS_F_KEY;
	else if (ctx->mode == PTLS_CERT &&
	    SSL_CTX_load_verify_file(s, ctx->file[PTLS_F_CA]) != 1)
		bad = PTLS_F_CA;
	if (bad != -1) {
		snprintf(err, errlen, "%s %s: %s", ptls_file_key(ctx, bad),
		    ctx->file[bad], ptls_ssl_reason());
		return -1;
	}
	if (ctx->mode == PTLS_SERVER)
		return 0;		/* no name to check, nothing to verify */
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
	if (ctx->mode != PTLS_PSK) {
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

struct ptls_ctx *
ptls_ctx_new_server(const char *cert, const char *key, char *err,
    size_t errlen)
{
	struct ptls_ctx	*ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctx->mode = PTLS_SERVER;
	snprintf(ctx->file[PTLS_F_CERT], HERD_PATH_MAX, "%s", cert);
	snprintf(ctx->file[PTLS_F_KEY], HERD_PATH_MAX, "%s", key);
	ptls_stamps(ctx, ctx->stamp);
	if ((ctx->ssl = ptls_build(ctx, err, errlen)) != NULL)
		return ctx;
	ptls_ctx_free(ctx);
	return NULL;
}

int
ptls_ctx_reload(struct ptls_ctx *ctx, const struct herd_conf *conf,
    char *err, size_t errlen)
{
	struct ptls_ctx	*n;

	if (ctx->mode == PTLS_SERVER)
		n = ptls_ctx_new_server(conf->ctls.cert, conf->ctls.key, err,
		    errlen);
	else
		n = ptls_ctx_new(conf, ctx->self[0] ? ctx->self : NULL, err,
		    errlen);
	if (n == NULL)
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
 * Certificates, at each new connection: when a file changed since it
 * was last looked at, build again; a build that fails is logged once (for
 * that state of the files) and the previous one serves on.
 */
void
ptls_refresh(struct ptls_ctx *ctx)
{
	struct ptls_stamp	 now[PTLS_NFILES];
	char			 err[PTLS_WHY_SIZE];
	const char		*what = ctx->mode == PTLS_SERVER ? "client" :
				    "peer";
	SSL_CTX			*s;

	if (ctx->mode == PTLS_PSK)
		return;
	ptls_stamps(ctx, now);
	if (memcmp(now, ctx->stamp, sizeof(now)) == 0)
		return;
	memcpy(ctx->stamp, now, sizeof(now));
	if ((s = ptls_build(ctx, err, sizeof(err))) == NULL) {
		log_warnx("%s TLS: the certificate files changed and do not "
		    "load: %s; the previous ones serve on", what, err);
		return;
	}
	SSL_CTX_free(ctx->ssl);
	ctx->ssl = s;
	log_notice("%s TLS: the certificate files changed: loaded again",
	    what);
}
