/*
 * recent.h -- the AT lines a server took lately (stored, or not newer than
 * what it held), by proto_line_hash: what a lazy link's notice names is
 * looked up here (herd-protocol(7) BROADCAST), for a notice names a record
 * by its line's hash alone.
 *
 * Two generations of RECENT_GEN_S each: a line is known for between
 * RECENT_GEN_S and twice that after it was added.  A generation's table
 * grows with the rate, up to RECENT_MAX lines; past that the older
 * generation is dropped early.  Pure: the caller gives the time.
 */
#ifndef HERD_RECENT_H
#define HERD_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define RECENT_GEN_S	2.0		/* a generation's time */
#define RECENT_MAX	(1u << 21)	/* lines in a generation, at most */
#define RECENT_MIN_CAP	256		/* slots of a new table */

struct recent_gen {
	uint32_t	*slot;		/* open addressing; 0 is empty */
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 n;
	double		 start;		/* when it became the newest */
};

struct recent {
	struct recent_gen g[2];		/* the newest first */
};

/* Note line hash h at time now.  -1 when out of memory (not noted). */
int	 recent_add(struct recent *, uint32_t h, double now);

/* 1 when h was noted in either generation. */
int	 recent_has(const struct recent *, uint32_t h);

void	 recent_free(struct recent *);

#endif /* HERD_RECENT_H */
