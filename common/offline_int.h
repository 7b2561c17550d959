/*
 * offline_int.h -- the offline data set in memory, shared by the files of
 * the offline backend and by no one else (the public API is offline.h):
 * the struct that offline.c builds, offline_load.c fills from a file,
 * offline_share.c writes as an image and maps, and offline_query.c reads;
 * the steps of offline.c that offline_load.c runs; and the answer's JSON
 * (offline_json.c) for offline_query.c, and the search that both
 * offline_query.c and offline_text.c answer from.
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
	int			 latsorted;	/* each cell's places in
						 * order of latitude */
	void			*map;		/* a shared image, mapped */
	size_t			 maplen;
};

/* The file: a header, then nplaces records, then the string pool. */
#define OFFLINE_HDRSZ		32
#define OFFLINE_RECSZ		16

struct offline_hdr {			/* a checked header */
	uint64_t	 nplaces;
	uint64_t	 strsize;
	uint32_t	 decimals;
	uint32_t	 attribution;
};

struct json_object;

/*
 * offline.c: the steps from a file to a data set, in this order:
 * offline_header, offline_new, then offline_add for each record and
 * offline_strings once the pool is read (in either order), then
 * offline_offsets and offline_index.  Each is 0 (or the data set), or -1
 * (NULL) with a message in err; offline_err writes one (err may be NULL).
 */
void	 offline_err(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 offline_header(const unsigned char *p, uint64_t len,
	    struct offline_hdr *h, char *err, size_t errlen);
struct offline_db *offline_new(const struct offline_hdr *h, char *err,
	    size_t errlen);
int	 offline_add(struct offline_db *db, size_t i, const unsigned char *rec,
	    char *err, size_t errlen);
int	 offline_strings(const struct offline_db *db, char *err,
	    size_t errlen);
int	 offline_offsets(const struct offline_db *db, char *err,
	    size_t errlen);
int	 offline_index(struct offline_db *db, char *err, size_t errlen);

/*
 * 1 when the places of each cell come in order of latitude (the shipped
 * file's order, which offline_index keeps): the search then looks only at
 * the latitudes in range.  offline_index and offline_map set latsorted.
 */
int	 offline_latsorted(const struct offline_db *db);

/*
 * offline_json.c: an answer with the data set's attribution, the status
 * and no results yet; one place as a result.  NULL when memory runs out.
 */
struct json_object *offline_json_response(const struct offline_db *db,
	    const char *status);
struct json_object *offline_json_result(const struct offline_db *db,
	    const struct offline_place *pl);

/*
 * offline_query.c: the search.  A hit is a place within the circle and
 * its squared chord length; hits are ordered nearer first, then by file
 * order (so answers are stable).
 */
#define OFFLINE_HEAP_STACK	64	/* hits a caller keeps on its stack */

struct offline_hit {
	double		 d2;		/* squared chord length */
	uint32_t	 place;		/* index in db->places */
};

/*
 * The squared chord length of a circle of radius_m (a valid one): a place
 * is within it when its hit's d2 is at most this, as offline_search
 * compares.
 */
double	 offline_chord2(double radius_m);

/* The room a query of at most max hits needs: 0 when max < 1. */
size_t	 offline_search_cap(const struct offline_db *db, int max);

/*
 * The at most cap places within radius_m of lat, lng into hits, in order:
 * their number, or -1 when the request is invalid (offline.h's
 * INVALID_REQUEST; checked before cap, so even when cap is 0).
 */
int	 offline_search(const struct offline_db *db, double lat, double lng,
	    double radius_m, struct offline_hit *hits, size_t cap);

/*
 * offline_near.c: offline_search's answer, from nc when it holds the
 * centre (nc may be NULL: offline_search itself).
 */
struct offline_near;
int	 offline_near_search(struct offline_near *nc,
	    const struct offline_db *db, double lat, double lng,
	    double radius_m, struct offline_hit *hits, size_t cap);

#endif /* HERD_OFFLINE_INT_H */
