/*
 * store.h -- the newest AT record per client, in a hash table.
 */
#ifndef HERD_STORE_H
#define HERD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "htime.h"

struct store_rec {
	struct store_rec *next;		/* hash chain */
	struct store_rec *older, *newer;	/* in order of last change */
	uint64_t	 hash;
	char		*id;		/* client id (bytes) */
	size_t		 idlen;
	char		*at;		/* the AT line, no newline */
	size_t		 atlen;
	struct htime	 t;		/* the client's time stamp */
	double		 lat, lng;
};

void	 store_init(void);
void	 store_free(void);

const struct store_rec *store_get(const char *id, size_t idlen);

/*
 * Keep the AT line at for client id when it is newer than what we hold:
 * a larger time stamp; with ties set, an equal time stamp and a line that
 * sorts after ours (so that the whole herd settles on one).  Returns 1 when
 * stored, 0 when not newer, -1 when out of memory.
 */
int	 store_put(const char *id, size_t idlen, const struct htime *t,
	    double lat, double lng, const char *at, size_t atlen, int ties);

size_t	 store_count(void);

/*
 * A walk over every record, oldest change first, that may be spread over
 * many loop iterations while records change: a record that changes moves
 * to the newest end, so the walk returns it (again) when it gets there; it
 * ends when it has caught up with the changes.
 */
struct store_cursor {
	struct store_rec	*next;		/* the record to return next */
	struct store_cursor	*prev_c, *next_c;	/* active cursors */
	int			 active;
};

void	 store_cursor_start(struct store_cursor *c);
/* The next record, or NULL at the end (the walk is then over). */
const struct store_rec *store_cursor_next(struct store_cursor *c);
void	 store_cursor_stop(struct store_cursor *c);

#endif /* HERD_STORE_H */
