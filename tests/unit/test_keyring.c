/*
 * test_keyring.c -- the herd's keyring (common/keyring.c): a secret file's
 * lines as keys, each key's name and TLS PSK (pinned: the protocol), and
 * the [herd] peer_tls keys (common/conf_tls.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "keyring.h"
#include "tap.h"

#define SECRET_A	"0123456789abcdef"
#define SECRET_B	"another secret, 16+ bytes"

/* s without its newline (in place), for a TAP message. */
static const char *
chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void
test_keyring(void)
{
	struct herd_keyring	 r, s;
	struct herd_key		 k;
	unsigned char		 psk[KEYRING_PSK_LEN];
	char			 id[KEYRING_ID_SIZE], hex[2 * KEYRING_PSK_LEN + 1];
	char			 why[128];

	memset(&k, 0, sizeof(k));
	memcpy(k.b, SECRET_A, 16);
	k.len = 16;
	/* pinned: an independent HKDF-SHA256 gave these (the protocol) */
	ok(keyring_id(&k, id) == 0 && strcmp(id, "herd1:0b132fe08b7d7bb2") ==
	    0, "the key's name is HKDF(\"herd1 key name\"): %s", id);
	keyring_psk(&k, psk);
	for (size_t i = 0; i < sizeof(psk); i++)
		snprintf(hex + 2 * i, 3, "%02x", psk[i]);
	ok(strcmp(hex, "02027c64a46619667da8a39a2cad1c067bd85a470bb8e991bb30d9"
	    "ac4e201c39") == 0, "the PSK is HKDF(\"herd1 tls13 external psk\")");

	ok(keyring_parse(&r, SECRET_A "\n\n" SECRET_B "\n", 43, why,
	    sizeof(why)) == 0 && r.n == 2 && r.key[0].len == 16 &&
	    memcmp(r.key[1].b, SECRET_B, strlen(SECRET_B)) == 0,
	    "two lines, an empty one between: two keys, in order");
	ok(keyring_parse(&s, SECRET_A, 16, why, sizeof(why)) == 0 &&
	    s.n == 1 && !keyring_equal(&r, &s), "no newline: one key; "
	    "another ring");
	ok(keyring_parse(&s, SECRET_A "\nshort\n", 23, why, sizeof(why)) ==
	    -1 && strcmp(why, "line 2: shorter than 16 bytes") == 0 &&
	    s.n == 0, "a short line: %s", why);
	ok(keyring_parse(&s, SECRET_A "\n" SECRET_A "\n", 34, why,
	    sizeof(why)) == -1 && strstr(why, "line 2: the key of key 1 "
	    "again") != NULL, "a key twice: %s", why);
	ok(keyring_parse(&s, "\n\n", 2, why, sizeof(why)) == -1 &&
	    strncmp(why, "no key", 6) == 0, "no key: %s", why);
	{
		char	 many[(HERD_KEYS_MAX + 1) * 20];
		size_t	 o = 0;
		int	 i;

		for (i = 0; i <= HERD_KEYS_MAX; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o,
			    "key number %02d ....\n", i);
		ok(keyring_parse(&s, many, o, why, sizeof(why)) == -1 &&
		    strstr(why, "more than 8 keys") != NULL, "nine keys: %s",
		    why);
	}
	keyring_clear(&r);
	ok(r.n == 0 && r.key[0].b[0] == '\0', "keyring_clear wipes");
}

static void
test_conf_keys(void)
{
	struct herd_conf	 c;
	char			 err[1024];
	const char		*t1 = "[herd]\npeer_tls = maybe\n"
				    "[server A]\nport = 1\n";
	const char		*t2 = "[herd]\npeer_tls = off\n"
				    "peer_tls_cert = a.crt\n[server A]\n"
				    "port = 1\n";
	const char		*t3 = "[herd]\npeer_tls_cert = a.crt\n"
				    "peer_tls_key = a.key\n[server A]\nport = 1\n";
	const char		*t4 = "[herd]\npeer_tls_cert = a.crt\n"
				    "peer_tls_key = a.key\npeer_tls_ca = ca.pem\n"
				    "[server A]\nport = 1\n";
	const char		*t5 = "[server A]\nport = 1\n";

	ok(conf_parse(t1, strlen(t1), "t", &c, err, sizeof(err)) == -1 &&
	    strcmp(err, "t:2: peer_tls: expected on or off, not \"maybe\"\n") ==
	    0, "peer_tls = maybe: %s", chomp(err));
	ok(conf_parse(t2, strlen(t2), "t", &c, err, sizeof(err)) == -1 &&
	    strcmp(err, "t:3: peer_tls_cert without peer_tls_key\n") == 0,
	    "a certificate without its key: %s", chomp(err));
	ok(conf_parse(t3, strlen(t3), "t", &c, err, sizeof(err)) == -1 &&
	    strstr(err, "t:2: peer_tls_cert without peer_tls_ca") != NULL,
	    "without a CA file: %s", chomp(err));
	ok(conf_parse(t4, strlen(t4), "t", &c, err, sizeof(err)) == 0 &&
	    c.tls.on && strcmp(c.tls.ca, "ca.pem") == 0 && c.tls.key_line == 3,
	    "the three keys: %s", chomp(err));
	conf_free(&c);
	ok(conf_parse(t5, strlen(t5), "t", &c, err, sizeof(err)) ==
	    0 && c.tls.on == 1 && c.tls.line == 0, "peer_tls is on by default");
	conf_free(&c);
}

int
main(void)
{
	test_keyring();
	test_conf_keys();
	return tap_done();
}
