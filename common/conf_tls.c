/*
 * conf_tls.c -- the configuration of TLS on the peer links (see
 * conf_tls.h): its [herd] keys, and the check of the certificate files;
 * and the check of those of the client port over TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "conf_tls.h"
#include "keyring.h"

int
conf_tls_key(struct herd_tls_conf *t, const char *k, const char *v,
    int line, char *why, size_t whylen)
{
	char	*dst;
	int	*dline;

	why[0] = '\0';
	if (strcmp(k, "peer_tls") == 0) {
		if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
			t->on = strcmp(v, "on") == 0;
			t->line = line;
		} else
			snprintf(why, whylen, "peer_tls: expected on or off, "
			    "not \"%s\"", v);
		return 1;
	}
	if (strcmp(k, "peer_tls_cert") == 0)
		dst = t->cert, dline = &t->cert_line;
	else if (strcmp(k, "peer_tls_key") == 0)
		dst = t->key, dline = &t->key_line;
	else if (strcmp(k, "peer_tls_ca") == 0)
		dst = t->ca, dline = &t->ca_line;
	else
		return 0;
	if (strlen(v) >= HERD_PATH_MAX)
		snprintf(why, whylen, "%s: value too long", k);
	else {
		memcpy(dst, v, strlen(v) + 1);
		*dline = line;
	}
	return 1;
}

int
conf_tls_validate(const struct herd_tls_conf *t, int *line, char *why,
    size_t whylen)
{
	if (t->cert[0] != '\0' && t->key[0] == '\0') {
		*line = t->cert_line;
		snprintf(why, whylen, "peer_tls_cert without peer_tls_key");
	} else if (t->key[0] != '\0' && t->cert[0] == '\0') {
		*line = t->key_line;
		snprintf(why, whylen, "peer_tls_key without peer_tls_cert");
	} else if (t->cert[0] != '\0' && t->ca[0] == '\0') {
		*line = t->cert_line;
		snprintf(why, whylen, "peer_tls_cert without peer_tls_ca (the "
		    "CAs that sign the neighbours' certificates)");
	} else if (t->ca[0] != '\0' && t->cert[0] == '\0') {
		*line = t->ca_line;
		snprintf(why, whylen, "peer_tls_ca without peer_tls_cert");
	} else
		return 0;
	return -1;
}

void
conf_tls_print(FILE *fp, const struct herd_conf *c)
{
	char	 id[KEYRING_ID_SIZE];
	size_t	 i;

	fprintf(fp, "peer_tls = %s\n", c->tls.on ? "on" : "off");
	if (c->tls.cert[0] != '\0')
		fprintf(fp, "peer_tls_cert = %s\npeer_tls_key = %s\n"
		    "peer_tls_ca = %s\n", c->tls.cert, c->tls.key, c->tls.ca);
	for (i = 0; i < c->keys.n; i++)
		if (keyring_id(&c->keys.key[i], id) == 0)
			fprintf(fp, "; key %zu: %s%s\n", i + 1, id,
			    i == 0 ? " (dials)" : "");
}

int
conf_tls_equal(const struct herd_conf *a, const struct herd_conf *b)
{
	return a->tls.on == b->tls.on && strcmp(a->tls.cert, b->tls.cert) == 0 &&
	    strcmp(a->tls.key, b->tls.key) == 0 &&
	    strcmp(a->tls.ca, b->tls.ca) == 0 &&
	    keyring_equal(&a->keys, &b->keys);
}

int
conf_tls_live(const struct herd_conf *a, const struct herd_conf *b)
{
	return a->tls.on == b->tls.on && (a->keys.n > 0) == (b->keys.n > 0) &&
	    (a->tls.cert[0] != '\0') == (b->tls.cert[0] != '\0');
}

/* PEM's password callback: no passphrase, and never a prompt. */
static int
conf_tls_nopass(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* The certificate file: its leaf, and what follows it as its chain. */
static const char *
conf_tls_read_cert(const char *path, X509 **leaf, STACK_OF(X509) **chain)
{
	FILE	*fp;
	X509	*x;

	if ((fp = fopen(path, "r")) == NULL)
		return strerror(errno);
	if ((*leaf = PEM_read_X509(fp, NULL, conf_tls_nopass, NULL)) == NULL) {
		fclose(fp);
		return "no PEM certificate in it";
	}
	if ((*chain = sk_X509_new_null()) == NULL) {
		fclose(fp);
		return "out of memory";
	}
	while ((x = PEM_read_X509(fp, NULL, conf_tls_nopass, NULL)) != NULL)
		if (sk_X509_push(*chain, x) == 0) {
			X509_free(x);
			break;
		}
	fclose(fp);
	return NULL;
}

static const char *
conf_tls_read_key(const char *path, EVP_PKEY **pkey)
{
	struct stat	 st;
	FILE		*fp;

	if ((fp = fopen(path, "r")) == NULL)
		return strerror(errno);
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & S_IROTH) != 0) {
		fclose(fp);
		return "readable by others (chmod 600 or 640 it)";
	}
	*pkey = PEM_read_PrivateKey(fp, NULL, conf_tls_nopass, NULL);
	fclose(fp);
	return *pkey == NULL ? "no PEM private key in it (one encrypted with "
	    "a passphrase cannot be used)" : NULL;
}

static const char *
conf_tls_read_ca(const char *path, X509_STORE **store)
{
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL)
		return strerror(errno);
	fclose(fp);
	if ((*store = X509_STORE_new()) == NULL)
		return "out of memory";
	if (X509_STORE_load_file(*store, path) != 1)
		return "no PEM certificate in it";
	return NULL;
}

/* The leaf verifies against the CAs now, for this purpose. */
static const char *
conf_tls_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain,
    int purpose)
{
	X509_STORE_CTX	*sctx;
	const char	*why = NULL;

	if ((sctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sctx, store, leaf, chain) != 1 ||
	    X509_STORE_CTX_set_purpose(sctx, purpose) != 1)
		why = "out of memory";
	else if (X509_verify_cert(sctx) != 1)
		why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(sctx));
	X509_STORE_CTX_free(sctx);
	return why;
}

/*
 * The certificate file (its leaf in *leaf, what follows in *chain, for
 * the caller to free) and the key file, which must hold the leaf's key.
 * 0, or -1 with "file:line: WHAT_cert|WHAT_key path: reason\n" in err.
 */
static int
conf_tls_pair(const struct herd_conf *c, const char *what, const char *cert,
    int cert_line, const char *key, int key_line, X509 **leaf,
    STACK_OF(X509) **chain, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	const char	*why;
	int		 rc = -1;

	if ((why = conf_tls_read_cert(cert, leaf, chain)) != NULL)
		snprintf(err, errlen, "%s:%d: %s_cert %s: %s\n", c->path,
		    cert_line, what, cert, why);
	else if ((why = conf_tls_read_key(key, &pkey)) != NULL)
		snprintf(err, errlen, "%s:%d: %s_key %s: %s\n", c->path,
		    key_line, what, key, why);
	else if (X509_check_private_key(*leaf, pkey) != 1)
		snprintf(err, errlen, "%s:%d: %s_key %s: not the key of the "
		    "certificate in %s\n", c->path, key_line, what, key, cert);
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	return rc;
}

int
conf_check_tls(const struct herd_conf *c, char *err, size_t errlen)
{
	const struct herd_tls_conf	*t = &c->tls;
	X509				*leaf = NULL;
	STACK_OF(X509)			*chain = NULL;
	X509_STORE			*store = NULL;
	const char			*why, *as = "";
	int				 rc = -1;

	if (!t->on || t->cert[0] == '\0')
		return 0;
	if (conf_tls_pair(c, "peer_tls", t->cert, t->cert_line, t->key,
	    t->key_line, &leaf, &chain, err, errlen) == -1)
		goto done;
	if ((why = conf_tls_read_ca(t->ca, &store)) != NULL) {
		snprintf(err, errlen, "%s:%d: peer_tls_ca %s: %s\n", c->path,
		    t->ca_line, t->ca, why);
		goto done;
	}
	if ((why = conf_tls_verify(store, leaf, chain,
	    X509_PURPOSE_SSL_SERVER)) == NULL && (why = conf_tls_verify(store,
	    leaf, chain, X509_PURPOSE_SSL_CLIENT)) != NULL)
		as = " as a client";
	if (why != NULL) {
		snprintf(err, errlen, "%s:%d: peer_tls_cert %s: does not verify "
		    "against peer_tls_ca%s: %s\n", c->path, t->cert_line,
		    t->cert, as, why);
		goto done;
	}
	rc = 0;
done:
	ERR_clear_error();
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_free(store);
	return rc;
}

/* The leaf is valid now: NULL, or why not (with its date, in when). */
static const char *
conf_tls_dates(X509 *leaf, char *when, size_t len)
{
	const ASN1_TIME	*t;
	struct tm	 tm;
	const char	*why;

	if (X509_cmp_current_time((t = X509_get0_notBefore(leaf))) > 0)
		why = "not valid yet, until";
	else if (X509_cmp_current_time((t = X509_get0_notAfter(leaf))) < 0)
		why = "expired on";
	else
		return NULL;
	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(when, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, len, "?");
	return why;
}

int
conf_check_client_tls(const struct herd_conf *c, const unsigned char *run,
    char *err, size_t errlen)
{
	const struct herd_ctls_conf	*t = &c->ctls;
	X509				*leaf = NULL;
	STACK_OF(X509)			*chain = NULL;
	const char			*why;
	char				 when[32] = "";
	size_t				 i;
	int				 rc = -1;

	for (i = 0; i < c->nservers; i++)
		if (c->servers[i].tls_port != 0 && (run == NULL || run[i]))
			break;
	if (i == c->nservers)
		return 0;		/* no tls_port here: files not used */
	if (conf_tls_pair(c, "client_tls", t->cert, t->cert_line, t->key,
	    t->key_line, &leaf, &chain, err, errlen) == 0) {
		if ((why = conf_tls_dates(leaf, when, sizeof(when))) == NULL &&
		    X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1)
			why = "not for a TLS server (its extendedKeyUsage "
			    "lacks serverAuth)";
		if (why == NULL)
			rc = 0;
		else
			snprintf(err, errlen, "%s:%d: client_tls_cert %s: "
			    "%s%s%s\n", c->path, t->cert_line, t->cert, why,
			    when[0] ? " " : "", when);
	}
	ERR_clear_error();
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}
