/*
 * offline.h -- the embedded offline Places backend: GeoNames populated
 * places with a spatial index.  Pure (no I/O but offline_load).
 */
#ifndef HERD_OFFLINE_H
#define HERD_OFFLINE_H

#include <stddef.h>

struct json_object;
struct offline_db;

/* Load a data set file; NULL with a message in err. */
struct offline_db *offline_load(const char *path, char *err, size_t errlen);

void	 offline_free(struct offline_db *db);

/* Number of places in the data set. */
size_t	 offline_count(const struct offline_db *db);

/*
 * A legacy Nearby Search response (html_attributions, results, status):
 * the places within radius_m of lat, lng, nearest first, at most max;
 * status ZERO_RESULTS when there are none.  The caller owns the object.
 */
struct json_object *offline_query(const struct offline_db *db, double lat,
	    double lng, double radius_m, int max);

#endif /* HERD_OFFLINE_H */
