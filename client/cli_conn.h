/*
 * cli_conn.h -- the server herd-cli talks to, and one command's exchange
 * with it over TCP.
 */
#ifndef HERD_CLI_CONN_H
#define HERD_CLI_CONN_H

#include <stddef.h>
#include <stdint.h>

#define CLI_REPLY_MAX	(1 << 20)	/* bytes of one reply, at most */

struct cli_target {
	char		 host[256];	/* to connect to */
	uint16_t	 port;
	char		 label[320];	/* "NAME" or "HOST:PORT", for prompts */
};

/*
 * The target: hostport ("HOST:PORT", "[IPV6]:PORT") when not NULL, else
 * the server named server (NULL: the first) of the configuration file
 * conf_file, at its host and port (a wildcard host, 0.0.0.0 or ::, is
 * reached on the loopback).  Only the file's text is read: not its secret
 * file, which a user need not be able to read.  0, or -1 with a message
 * in err.
 */
int	 cli_conn_target(const char *conf_file, const char *server,
	    const char *hostport, struct cli_target *t, char *err,
	    size_t errlen);

/*
 * Connect to t within timeout_ms, trying each of its addresses in turn.
 * A blocking socket, or -1 with a message in err.
 */
int	 cli_conn_open(const struct cli_target *t, int timeout_ms, char *err,
	    size_t errlen);

/*
 * Send line[0..len) on fd and read its reply (cli_reply.h; multi: a
 * WHATSAT's, which may run to an empty line), each within timeout_ms.
 * 0 with the reply in *reply (to free(3)), *rlen its length; 1 when the
 * server had closed the connection before a byte of it came (the caller
 * may connect again and resend); -1 with a message in err.  A reply cut
 * off by the server closing is returned as it came.
 */
int	 cli_conn_ask(int fd, const char *line, size_t len, int multi,
	    int timeout_ms, char **reply, size_t *rlen, char *err,
	    size_t errlen);

#endif /* HERD_CLI_CONN_H */
