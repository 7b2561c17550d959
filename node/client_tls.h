/*
 * client_tls.h -- the client port over TLS: a server's tls_port, where
 * clients speak the protocol of the plain port (client.h) inside TLS 1.3.
 */
#ifndef HERD_CLIENT_TLS_H
#define HERD_CLIENT_TLS_H

#include <stddef.h>

struct ev_loop;
struct herd_conf;
struct herd_server;

#define CLIENT_TLS_HANDSHAKE_S	10	/* to finish a handshake, at most */

/*
 * Load the certificate ([herd] client_tls_cert and client_tls_key) and
 * listen on self's tls_port (nothing when it has none), after client_init.
 * 0, or the exit status with a message in err: HERD_EXIT_CONFIG when the
 * files do not load, 1 when the port cannot be listened on.
 */
int	 client_tls_init(struct ev_loop *loop, const struct herd_conf *conf,
	    const struct herd_server *self, char *err, size_t errlen);

/*
 * Stop listening, drop the handshakes in progress and free the
 * certificate: after client_shutdown, whose clients used it.
 */
void	 client_tls_shutdown(void);

#endif /* HERD_CLIENT_TLS_H */
