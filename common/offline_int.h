/*
 * offline_int.h -- the offline data set in memory, shared by its loader
 * and query (offline.c) and its shared image (offline_share.c).
 */
#ifndef HERD_OFFLINE_INT_H
#define HERD_OFFLINE_INT_H

#include <stddef.h>
#include <stdint.h>

#define OFFLINE_CELLS_PER_DEG	2	/* cells of half a degree */
#define OFFLINE_ROWS		(180 * OFFLINE_CELLS_PER_DEG)
#define OFFLINE_COLS		(360 * OFFLINE_CELLS_PER_DEG)
#define OFFLINE_NCELLS		(OFFLINE_ROWS * OFFLINE_COLS)

struct offline_place {
	double		 x, y, z;	/* unit vector */
	int32_t		 lat, lng;	/* degrees * 10^decimals */
	uint32_t	 name;		/* offset in strings */
	uint32_t	 vicinity;	/* offset in strings */
};

struct offline_db {
	struct offline_place	*places;	/* grouped by cell */
	uint32_t		*cells;		/* first place of each cell,
						 * OFFLINE_NCELLS + 1 */
	char			*strings;	/* the file's string pool */
	size_t			 nplaces;
	size_t			 strsize;
	uint32_t		 attribution;	/* offset in strings */
	int			 decimals;
	int64_t			 scale;		/* 10^decimals */
	void			*map;		/* a shared image, mapped */
	size_t			 maplen;
};

#endif /* HERD_OFFLINE_INT_H */
