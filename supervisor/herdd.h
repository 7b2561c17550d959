/*
 * herdd.h -- what the parent process offers its control socket.
 */
#ifndef HERD_HERDD_H
#define HERD_HERDD_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Re-read the configuration file and apply it (see proc_reload()).
 * Returns 0, or -1 with the file's errors in err (one per line) when the
 * new configuration is refused; the herd is then left as it was.
 */
int	 herdd_reload(struct json_object *result, char *err, size_t errlen);

/* Stop every worker, then leave the loop. */
void	 herdd_shutdown(void);

#endif /* HERD_HERDD_H */
