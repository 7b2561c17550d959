/*
 * cli_reply.h -- the server's replies, as herd-cli reads and shows them.
 * Pure: no I/O; fuzzed by tests/fuzz/fuzz_cli_reply.c.
 *
 * A reply is one line ("AT ..." to an IAMAT, "? LINE" to anything the
 * server refused), or, to a WHATSAT it answers, the AT line, a JSON
 * document and an empty line (herd-protocol(7)).
 */
#ifndef HERD_CLI_REPLY_H
#define HERD_CLI_REPLY_H

#include <stddef.h>

/*
 * 1 when line[0..len) (a protocol line, its newline optional) is a valid
 * WHATSAT, whose reply may run to an empty line; else 0.
 */
int	 cli_reply_multi(const char *line, size_t len);

/*
 * The length of the first whole reply at the start of buf[0..len): one
 * line with its newline, or, when multi and the first line is an AT line,
 * everything up to and with the empty line that ends the JSON.  0 while
 * more is needed.  Never more than len.
 */
size_t	 cli_reply_end(const char *buf, size_t len, int multi);

/*
 * A reply (as cli_reply_end() cut it, or what came before the server
 * closed) made readable: an AT line and JSON become the AT line and the
 * JSON indented by two spaces, one member a line; anything else stays as
 * it came, but for a NUL byte, shown as '.'.  Always ends in one newline.  A NUL-ended string to free(3),
 * or NULL when out of memory.
 */
char	*cli_reply_format(const char *reply, size_t len);

#endif /* HERD_CLI_REPLY_H */
