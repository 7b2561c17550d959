/*
 * store.h -- the newest AT record per client, in a hash table.
 *
 * Every change gets the next local sequence number (lseq), and records are
 * kept in change order, so "what changed after lseq X" is the tail of that
 * order: the journal, the links' streams and their resumption all read it.
 * The store also keeps an order-independent digest of its content, in
 * STORE_BUCKETS parts by a fixed hash of the id, for neighbours to compare.
 */
#ifndef HERD_STORE_H
#define HERD_STORE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "htime.h"

#define STORE_BUCKETS		32	/* parts of the digest */
#define STORE_SRC_CLIENT	(-1)	/* src of a record from a client */

/*
 * One per client, 72 bytes and its id in one allocation, and the AT line
 * in another (which a change of the same size reuses): what the store
 * needs to order, find and compare records.  The coordinates are read
 * from the AT line when a WHATSAT wants them; the line's hash for the
 * digest is computed again when the record changes.
 */
struct store_rec {
	struct store_rec *next;		/* hash chain */
	struct store_rec *older, *newer;	/* in order of last change */
	uint64_t	 hash;		/* of the id, seeded */
	uint64_t	 lseq;		/* local sequence number of the change */
	char		*at;		/* the AT line, no newline */
	int64_t		 t_sec;		/* the client's time stamp (htime), */
	int32_t		 t_nsec;	/* unpadded */
	uint32_t	 atlen;
	uint32_t	 idlen;		/* the id follows the record */
	int16_t		 src;		/* server index it came from, or -1 */
	uint8_t		 bucket;	/* digest part: fixed hash of the id */
};

/* The client id of r (idlen bytes, NUL-terminated). */
static inline const char *
store_id(const struct store_rec *r)
{
	return (const char *)(r + 1);
}

/* The digest of the whole store: record count and sum of the hashes. */
struct store_digest {
	uint64_t	 count;
	uint64_t	 sum;
	uint64_t	 part[STORE_BUCKETS];	/* sums per bucket */
};

void	 store_init(void);
void	 store_free(void);

/*
 * The record of id, or NULL.  Not quite read-only: while the table doubles,
 * each call first moves a few of the old table's slots (store.c); records
 * stay where they are in memory.
 */
const struct store_rec *store_get(const char *id, size_t idlen);

/*
 * Keep the AT line at for client id when it is newer than what we hold:
 * a larger time stamp; with ties set, an equal time stamp and a line that
 * sorts after ours (so that the whole herd settles on one).  Returns 1 when
 * stored, 0 when not newer, -1 when out of memory.
 */
int	 store_put(const char *id, size_t idlen, const struct htime *t,
	    const char *at, size_t atlen, int ties, int src);

/*
 * Replace the record for id with one read back from the journal, with its
 * recorded lseq (larger than any before: the journal is in lseq order).
 * 1, or -1 when out of memory.
 */
int	 store_load(const char *id, size_t idlen, const struct htime *t,
	    const char *at, size_t atlen, int src, uint64_t lseq);

/*
 * Forget the records of a time stamp before before (expire_s), looking at
 * slots slots of the hash table from *pos on (wrapping; *pos moves on):
 * a sweep of the whole table may be spread over many calls (while the
 * table doubles, a call helps the doubling on and sweeps nothing).  Nothing is
 * journalled: each server judges by the time stamp (herd-protocol(7)).
 * Returns how many were forgotten.
 */
size_t	 store_expire(const struct htime *before, size_t *pos, size_t slots);

/* Slots of the hash table (store_expire's unit). */
size_t	 store_slots(void);

/* The record changed last (by store_put or store_load), or NULL. */
const struct store_rec *store_newest(void);

/* Make room for n records at once (before reading a journal back). */
void	 store_reserve(size_t n);
/* Slots of the old table still to move while the table doubles, or 0. */
size_t	 store_rehash_left(void);

size_t	 store_count(void);
/* Bytes of the AT lines held: what a compacted journal takes, roughly. */
size_t	 store_bytes(void);
/* The lseq of the newest change (0: none yet). */
uint64_t store_head(void);
/* Make the next lseq larger than lseq (after a peer saw a later one). */
void	 store_bump(uint64_t lseq);
const struct store_digest *store_digest(void);
/* The digest bucket of an id: the same on every server. */
unsigned store_bucket(const char *id, size_t idlen);

/*
 * A walk over every record, oldest change first, that may be spread over
 * many loop iterations while records change: a record that changes moves
 * to the newest end, so the walk returns it (again) when it gets there; it
 * ends when it has caught up with the changes.
 */
struct store_cursor {
	struct store_rec	*next;		/* the record to return next */
	LIST_ENTRY(store_cursor) entry;	/* in the active cursors' list */
	int			 active;
	int			 follow;	/* stays at the end for more */
};

void	 store_cursor_start(struct store_cursor *c);
/*
 * A cursor that follows the changes: it starts after lseq (0: at the
 * oldest), costing the number of records after it, and at the end waits
 * for the next change instead of ending.
 */
void	 store_cursor_follow(struct store_cursor *c, uint64_t lseq);
/*
 * The next record, or NULL at the end (a walk is then over; a follower
 * waits there).  With limit, records of a larger lseq are not returned yet.
 */
const struct store_rec *store_cursor_next(struct store_cursor *c);
const struct store_rec *store_cursor_next_upto(struct store_cursor *c,
	    uint64_t limit);
/* Every change up to this lseq has been returned (or superseded). */
uint64_t store_cursor_pos(const struct store_cursor *c);
void	 store_cursor_stop(struct store_cursor *c);

#endif /* HERD_STORE_H */
