/*
 * places.h -- WHATSAT's place lookups, for the client code.
 *
 * One interface in front of the backends (offline data set, Google's legacy
 * Nearby Search, Places API (New)).  HTTP lookups run on libcurl's multi
 * interface driven by the node's libev loop: nothing here ever blocks.
 *
 * The callback gets the JSON document to print (a Nearby Search response,
 * cut to the requested number of results; on failure the same shape with
 * "results": [], a status and an "error_message").  The text is only valid
 * during the call.  It is called exactly once per lookup unless the lookup
 * is cancelled first, and it may be called before places_lookup() returns
 * (the offline backend answers at once): then places_lookup returns NULL.
 */
#ifndef HERD_PLACES_H
#define HERD_PLACES_H

#include <stddef.h>

struct ev_loop;
struct herd_places_conf;
struct places_req;

/*
 * The answer, len bytes of JSON; plain when it has no empty line and does
 * not end with a newline (offline.h's offline_text answers so), so that
 * the protocol's framing needs no pass over it.
 */
typedef void places_cb(void *arg, const char *json, size_t len, int plain);

/*
 * 0, or -1 with a message in err (the node exits 78 then).  share_fd: the
 * data set's image that herdd shares with its workers (notify.h's
 * NOTIFY_PLACES_ENV), or -1; an image of another file is loaded instead.
 */
int	 places_init(struct ev_loop *loop, const struct herd_places_conf *pc,
	    int share_fd, char *err, size_t errlen);

/*
 * Look up at most max (1..20) places within radius_m metres of lat, lng.
 * Returns a handle while the lookup is pending, NULL when cb already ran.
 */
struct places_req *places_lookup(double lat, double lng, double radius_m,
	    int max, places_cb *cb, void *arg);

/* The caller is gone: cb will not be called. */
void	 places_cancel(struct places_req *req);

/* Lookups running and waiting for a slot (status and tests). */
size_t	 places_pending(void);

void	 places_shutdown(void);

#endif /* HERD_PLACES_H */
