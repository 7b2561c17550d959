/*
 * conf_tls.h -- the configuration of TLS on the peer links (conf_tls.c):
 * the [herd] keys peer_tls, peer_tls_cert, peer_tls_key and peer_tls_ca,
 * the hooks by which conf.c parses, checks, prints and compares them, and
 * the check of their files that herdd makes at -n, start and reload; and
 * that check for the files of the client port over TLS (tls_port).
 */
#ifndef HERD_CONF_TLS_H
#define HERD_CONF_TLS_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

/*
 * A [herd] key and its value, at line: 1 when the key is one of ours (why
 * empty, or the message for a bad value), 0 when it is not.
 */
int	 conf_tls_key(struct herd_tls_conf *t, const char *k, const char *v,
	    int line, char *why, size_t whylen);

/*
 * The keys as a whole, once the file is read: 0, or -1 with the line to
 * blame in *line and the message in why (a certificate without its key,
 * or without a CA file).
 */
int	 conf_tls_validate(const struct herd_tls_conf *t, int *line, char *why,
	    size_t whylen);

/* Our keys for -nv, and the keyring's names (never a key). */
void	 conf_tls_print(FILE *fp, const struct herd_conf *c);

/* 1 when a and b link the same way (TLS keys and files, the keyring). */
int	 conf_tls_equal(const struct herd_conf *a, const struct herd_conf *b);

/*
 * 1 when a running worker can go from a's way of linking to b's without
 * a restart (SIGHUP: peer_rekey): the same peer_tls, a keyring in both or
 * in neither, certificates in both or in neither; the keys and the files
 * themselves may differ.
 */
int	 conf_tls_live(const struct herd_conf *a, const struct herd_conf *b);

/*
 * The files of certificate mode as a worker will load them: the
 * certificate (a PEM chain, leaf first) and its key (PEM, not encrypted,
 * not readable by others) load and match, the CA file holds one
 * certificate or more, and the certificate verifies against it now, for
 * both ends of a link (client and server).  0 (also when TLS is off or
 * without certificates), or -1 with "file:line: peer_tls_...: reason\n"
 * in err.
 */
int	 conf_check_tls(const struct herd_conf *c, char *err, size_t errlen);

/*
 * The files of the client port over TLS (client_tls_cert, client_tls_key)
 * as a worker will load them, when a server of run (run[i] for
 * c->servers[i]; NULL: every server) has a tls_port: the certificate (a
 * PEM chain, leaf first) loads, is valid now and may serve TLS, and its
 * key (PEM, not encrypted, not readable by others) loads and is its key.
 * The paths are the same on every machine, the files each machine's own.
 * 0, or -1 with "file:line: client_tls_...: reason\n" in err.
 */
int	 conf_check_client_tls(const struct herd_conf *c,
	    const unsigned char *run, char *err, size_t errlen);

#endif /* HERD_CONF_TLS_H */
