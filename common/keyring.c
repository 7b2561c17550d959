/*
 * keyring.c -- the herd's keys and what is derived from them (see
 * keyring.h).
 *
 * Both derivations are HKDF-SHA256 (RFC 5869) of the key's bytes, with one
 * salt and a label each, so that neither the name shown in logs nor the
 * TLS PSK tells anything of the key or of each other:
 *	name = "herd1:" hex(HKDF(salt, key, "herd1 key name", 8))
 *	psk  = HKDF(salt, key, "herd1 tls13 external psk", 32)
 * with salt "herd keyring".  Changing either changes the protocol: a new
 * derivation takes a new prefix (herd2:).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "conf.h"
#include "keyring.h"
#include "proto.h"

#define KEYRING_SALT	"herd keyring"
#define KEYRING_NAME	"herd1 key name"
#define KEYRING_PSK	"herd1 tls13 external psk"

static int
keyring_hkdf(const struct herd_key *key, const char *label,
    unsigned char *out, size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	int		 rc;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key->b, key->len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)KEYRING_SALT, strlen(KEYRING_SALT));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)label, strlen(label));
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, outlen, params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

int
keyring_id(const struct herd_key *key, char out[KEYRING_ID_SIZE])
{
	unsigned char	 h[8];

	if (keyring_hkdf(key, KEYRING_NAME, h, sizeof(h)) == -1)
		return -1;
	memcpy(out, KEYRING_ID_PREFIX, 6);
	proto_hex(out + 6, h, sizeof(h));
	out[KEYRING_ID_SIZE - 1] = '\0';
	return 0;
}

int
keyring_psk(const struct herd_key *key, unsigned char out[KEYRING_PSK_LEN])
{
	return keyring_hkdf(key, KEYRING_PSK, out, KEYRING_PSK_LEN);
}

int
keyring_parse(struct herd_keyring *ring, const char *text, size_t len,
    char *why, size_t whylen)
{
	const char	*line, *nl;
	size_t		 n, i, lineno = 0;

	keyring_clear(ring);
	for (line = text; line < text + len; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			nl = text + len;
		if ((n = (size_t)(nl - line)) == 0)
			continue;
		if (n < HERD_SECRET_MIN || n > HERD_SECRET_MAX) {
			snprintf(why, whylen, "line %zu: %s than %d bytes",
			    lineno, n < HERD_SECRET_MIN ? "shorter" : "longer",
			    n < HERD_SECRET_MIN ? HERD_SECRET_MIN :
			    HERD_SECRET_MAX);
			goto fail;
		}
		if (ring->n == HERD_KEYS_MAX) {
			snprintf(why, whylen, "line %zu: more than %d keys",
			    lineno, HERD_KEYS_MAX);
			goto fail;
		}
		for (i = 0; i < ring->n; i++)
			if (ring->key[i].len == n &&
			    memcmp(ring->key[i].b, line, n) == 0) {
				snprintf(why, whylen, "line %zu: the key of "
				    "key %zu again", lineno, i + 1);
				goto fail;
			}
		memcpy(ring->key[ring->n].b, line, n);
		ring->key[ring->n++].len = n;
	}
	if (ring->n > 0)
		return 0;
	snprintf(why, whylen, "no key (a key is a line of %d to %d bytes)",
	    HERD_SECRET_MIN, HERD_SECRET_MAX);
fail:
	keyring_clear(ring);
	return -1;
}

int
keyring_equal(const struct herd_keyring *a, const struct herd_keyring *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->key[i].len != b->key[i].len ||
		    CRYPTO_memcmp(a->key[i].b, b->key[i].b, a->key[i].len) != 0)
			return 0;
	return 1;
}

void
keyring_clear(struct herd_keyring *ring)
{
	explicit_bzero(ring, sizeof(*ring));
}
