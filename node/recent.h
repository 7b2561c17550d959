/*
 * recent.h -- the AT lines a server took lately (stored, or not newer than
 * what it held), by proto_line_hash: what a lazy link's notice names is
 * looked up here (herd-protocol(7) BROADCAST), for a notice names a record
 * by its line's hash alone.
 *
 * A ring of RECENT_SEGS small tables of RECENT_SEG_S each: a line is known
 * for between RECENT_KEEP_S and RECENT_KEEP_S + RECENT_SEG_S after it was
 * added.  A line goes into the newest table only, small enough to stay in
 * the cache at any rate (one table of the whole window, 16 MB at 300,000
 * lines a second, cost a cache miss an add: a quarter of a neighbour's
 * time); a look-up probes every table, and look-ups are few (a notice
 * names one line per origin, at most four notices a second per link).
 * A table is sized for the rate the one before it saw, at most half full,
 * up to RECENT_SEG_MAX lines; past that the next one starts early (the
 * window is then shorter).  The tables' memory is reused round the ring.
 * Pure: the caller gives the time.
 */
#ifndef HERD_RECENT_H
#define HERD_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define RECENT_SEG_S	0.125		/* a table's time */
#define RECENT_SEGS	25		/* tables in the ring */
#define RECENT_KEEP_S	((RECENT_SEGS - 1) * RECENT_SEG_S)	/* 3 s */
#define RECENT_SEG_MAX	(1u << 17)	/* lines in a table, at most */
#define RECENT_MIN_CAP	256		/* slots of a table, at least */

struct recent_seg {
	uint32_t	*slot;		/* open addressing; 0 is empty */
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 n;
	double		 start;		/* when it became the newest */
};

struct recent {
	struct recent_seg seg[RECENT_SEGS];
	unsigned	 cur;		/* the newest */
	int		 started;
};

/* Note line hash h at time now.  -1 when out of memory (not noted). */
int	 recent_add(struct recent *, uint32_t h, double now);

/* 1 when h was noted in the window (any table). */
int	 recent_has(const struct recent *, uint32_t h);

/* Lines held, in all the tables. */
size_t	 recent_count(const struct recent *);

void	 recent_free(struct recent *);

#endif /* HERD_RECENT_H */
