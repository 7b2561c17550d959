/*
 * update.h -- the one way an update enters a server, from a client's IAMAT
 * or from a neighbour: stored if newer, appended to the journal, counted
 * (counters.h).
 * The links' streams read the store in change order, so a stored update is
 * queued for every link by being stored (peer_flush sends it).
 */
#ifndef HERD_UPDATE_H
#define HERD_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "htime.h"

struct herd_conf;
struct herd_limits;
struct store_rec;

#define UPDATE_REFUSED	(-2)	/* update_accept: refused by the limits */

void	 update_init(const struct herd_conf *conf);

/* The limits in force (update_init's, then each SIGHUP's). */
void	 update_set_limits(const struct herd_limits *l);
const struct herd_limits *update_limits(void);

/* Now by the event loop's clock, the one the limits judge by. */
void	 update_now(struct htime *now);

/* 1 when r is older than expire_s: as if it were not there. */
int	 update_expired(const struct store_rec *r);

/*
 * Accept the AT line at (single-spaced, no newline) for client id with
 * time stamp t: src is the index of the server it came from, or
 * STORE_SRC_CLIENT.  Returns 1 when stored, 0 when not newer, -1 when out
 * of memory, UPDATE_REFUSED when the limits refuse it (limits.h: a new id
 * with the table full, a time stamp too far ahead or expired; counted,
 * and for a neighbour's, noted as taken and logged).
 */
int	 update_accept(const char *id, size_t idlen, const struct htime *t,
	    const char *at, size_t atlen, int src);

/*
 * Note the lines taken (on) or not, for update_seen: only a server that
 * two or more neighbours stream to can prune one of them and hear its
 * notices (peer.c says when); one with a single neighbour saves the cost.
 */
void	 update_note_lines(int on);

/*
 * 1 when a line of that proto_line_hash was taken (stored or not newer)
 * in the last RECENT_KEEP_S at least (recent.h): what an IHAVE names.
 */
int	 update_seen(uint32_t h);

/* Forget them (at exit). */
void	 update_free(void);

#endif /* HERD_UPDATE_H */
