/*
 * places_http.h -- HTTP transfers for the Places backends: libcurl's multi
 * interface driven by the node's libev loop.
 *
 * One multi handle (one connection cache, HTTP/2 multiplexing where the
 * server offers it), at most max_inflight transfers at a time and a FIFO
 * queue behind them, a deadline per request counted from the moment it was
 * asked for (time spent queued counts), bodies capped at max_body.
 */
#ifndef HERD_PLACES_HTTP_H
#define HERD_PLACES_HTTP_H

#include <stddef.h>

struct ev_loop;
struct places_http_req;

/*
 * A transfer ended.  fail is NULL when an HTTP answer arrived (status and
 * the body, NUL-terminated, are then valid), else a description of what
 * went wrong (time-out, connection refused, body over max_body...); the
 * text of a time-out starts with "timed out".  The request is freed when
 * the callback returns.
 */
typedef void places_http_cb(void *arg, long status, const char *body,
	    size_t len, const char *fail);

int	 places_http_init(struct ev_loop *loop, int timeout_ms,
	    int max_inflight, size_t max_body, char *err, size_t errlen);

/*
 * Start (or queue) a GET of url, or a POST of post (a NUL-terminated
 * body) when post is not NULL, with extra headers (a NULL-terminated
 * array, copied).  NULL when it could not even be queued (out of memory).
 */
struct places_http_req *places_http_start(const char *url,
	    const char *const *headers, const char *post,
	    places_http_cb *cb, void *arg);

/* Stop a queued or running request; its callback will not run. */
void	 places_http_cancel(struct places_http_req *req);

/* Requests running plus requests queued. */
size_t	 places_http_pending(void);

/* Requests running (at most max_inflight). */
size_t	 places_http_running(void);

/* Cancel everything and free the multi handle. */
void	 places_http_shutdown(void);

#endif /* HERD_PLACES_HTTP_H */
