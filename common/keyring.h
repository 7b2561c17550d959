/*
 * keyring.h -- the herd's keys: a secret file's lines as a keyring, and
 * what is derived from each key with HKDF-SHA256 (keyring.c): its public
 * name, which says which key a link uses without saying the key, and the
 * TLS 1.3 external PSK of the peer links.  Pure: no I/O.
 *
 * A keyring is one key or more (HERD_KEYS_MAX at most): the first dials,
 * all are accepted, so that a key can be rotated with every server up
 * (herd.ini(5), secret_file).
 */
#ifndef HERD_KEYRING_H
#define HERD_KEYRING_H

#include <stddef.h>

#include "conf.h"

#define KEYRING_ID_PREFIX	"herd1:"	/* the derivation's version */
#define KEYRING_ID_SIZE		(6 + 16 + 1)	/* "herd1:" 16 hex digits NUL */
#define KEYRING_PSK_LEN		32		/* bytes: SHA-256's */

/*
 * Split text (a secret file, or HERD_SECRET) into keys: each non-empty
 * line (up to "\n", nothing stripped) is a key of HERD_SECRET_MIN to
 * HERD_SECRET_MAX bytes; the first one dials.  0, or -1 with why (which
 * line, what is wrong; never a key's bytes); on -1 ring holds no key.
 */
int	 keyring_parse(struct herd_keyring *ring, const char *text, size_t len,
	    char *why, size_t whylen);

/* The key's public name: "herd1:" and 16 hex digits, NUL-terminated. */
int	 keyring_id(const struct herd_key *key, char out[KEYRING_ID_SIZE]);

/* The key's TLS 1.3 external PSK (never the key's own bytes).  0 or -1. */
int	 keyring_psk(const struct herd_key *key,
	    unsigned char out[KEYRING_PSK_LEN]);

/* 1 when a and b hold the same keys in the same order. */
int	 keyring_equal(const struct herd_keyring *a,
	    const struct herd_keyring *b);

/* Forget every key (explicit_bzero). */
void	 keyring_clear(struct herd_keyring *ring);

#endif /* HERD_KEYRING_H */
