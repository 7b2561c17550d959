/*
 * http.h -- herdd's read-only HTTP endpoint ([herd] http): /metrics,
 * /status.json and the status page, on herdd's loop (http.c).
 */
#ifndef HERD_HTTP_H
#define HERD_HTTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Serve on host:port (every address host resolves to), unless port is 0,
 * with the status page read from the file page.  0, or -1 with a message
 * in err (nothing served).
 */
int	 http_start(const char *host, uint16_t port, const char *page,
	    char *err, size_t errlen);

/*
 * Read the status page again (a reload), when serving: 0, or -1 with a
 * message, the page served so far kept.
 */
int	 http_page_reload(const char *page, char *err, size_t errlen);

/* Stop serving: every connection is closed. */
void	 http_stop(void);

/* Read the status page (herdd -n checks it): 0, or -1 with a message. */
int	 http_read_page(const char *path, char **bufp, size_t *lenp,
	    char *err, size_t errlen);

#endif /* HERD_HTTP_H */
