/*
 * ctlclient.h -- the client side of herdd's control socket, for herdctl
 * (herdctl.c) and herdctl top (top.c).
 */
#ifndef HERD_CTLCLIENT_H
#define HERD_CTLCLIENT_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Connect to herdd's socket at path (waits: for a command that waits, a
 * longer time-out); send a line and read one reply line (NUL-ended, the
 * caller frees it); or both at once, parsed, when it says ok (the caller
 * puts the reply).  Each exits 1 with a message on failure, herdd's own
 * when it refused.
 */
int	 ctlclient_connect(const char *path, int waits);
char	*ctlclient_talk(int fd, const char *line, size_t len, const char *path);
struct json_object *ctlclient_ask(const char *sock, const char *line);

#endif /* HERD_CTLCLIENT_H */
