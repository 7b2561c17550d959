/*
 * offline.h -- the embedded offline Places backend: GeoNames populated
 * places with a spatial index.  Pure (no I/O but offline_load).
 *
 * The file format is described at the top of tools/mkcities.py.
 */
#ifndef HERD_OFFLINE_H
#define HERD_OFFLINE_H

#include <sys/types.h>

#include <stddef.h>

struct json_object;
struct offline_db;
struct offline_frags;
struct offline_near;

/* Load a data set file; NULL with a message in err. */
struct offline_db *offline_load(const char *path, char *err, size_t errlen);

/*
 * Build a data set from the len bytes of a file image at buf, validating
 * every length, offset, coordinate and string; the buffer is not kept.
 * NULL with a message in err.
 */
struct offline_db *offline_parse(const void *buf, size_t len, char *err,
	    size_t errlen);

void	 offline_free(struct offline_db *db);

/*
 * offline_share.c: db written as a sealed, read-only image in a memfd
 * whose mapping needs no fix-up, made from the file source: its
 * descriptor (close-on-exec), or -1 with a message in err.
 */
int	 offline_share(const struct offline_db *db, const char *source,
	    char *err, size_t errlen);

/*
 * The data set of the image on fd, made by offline_share from source,
 * mapped shared and read-only (offline_free unmaps it); NULL with a
 * message in err when fd holds no such image.
 */
struct offline_db *offline_map(int fd, const char *source, char *err,
	    size_t errlen);

/* Number of places in the data set. */
size_t	 offline_count(const struct offline_db *db);

/*
 * A legacy Nearby Search response (html_attributions, results, status):
 * the places within radius_m of lat, lng, nearest first, at most max;
 * status ZERO_RESULTS when there are none (or max < 1), INVALID_REQUEST
 * for a latitude outside [-90, 90], a longitude or radius that is not a
 * finite number, or a negative radius.  The caller owns the object.
 * NULL only when memory runs out.  Reentrant: any number of threads may
 * query one data set.
 */
struct json_object *offline_query(const struct offline_db *db, double lat,
	    double lng, double radius_m, int max);

/*
 * offline_text.c: offline_query's answer as text, the very bytes that
 * json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
 * JSON_C_TO_STRING_NOSLASHESCAPE) prints for its document, written
 * without building one: into *buf, of *size bytes, which is grown with
 * realloc when short (*buf may start NULL; the caller frees it; a buffer
 * kept from call to call is reused), NUL-terminated.  Returns the
 * length, or -1 when memory runs out; *ok is 1 when the status is OK or
 * ZERO_RESULTS, 0 for INVALID_REQUEST.  Like json-c's, the text has no
 * empty line and does not end with a newline.
 *
 * f, when not NULL, keeps each place's text once written (below); nc,
 * when not NULL, the nearest places of recent centres (below).  Both are
 * the caller's: one thread at a time may use each.  Without them,
 * reentrant as offline_query.
 */
ssize_t	 offline_text(const struct offline_db *db, struct offline_frags *f,
	    struct offline_near *nc, double lat, double lng, double radius_m,
	    int max, char **buf, size_t *size, int *ok);

/*
 * The text of each place of db as offline_text writes it, kept in an
 * arena of max bytes (and 4 bytes a place to find it) that is emptied
 * whenever the next one does not fit: memory stays within that bound
 * whatever is asked.  The data set is immutable, so what is kept is never
 * stale; free it before db.  NULL when memory runs out (offline_text
 * then goes without).
 */
struct offline_frags *offline_frags_new(const struct offline_db *db,
	    size_t max);
void	 offline_frags_free(struct offline_frags *f);

/* Bytes of the arena in use, and how many times it was emptied (tests). */
size_t	 offline_frags_used(const struct offline_frags *f, size_t *resets);

/*
 * offline_near.c: the nearest places of recent centres of db, in a table
 * of slots (rounded up to a power of two, from 4 to 2^24) of one centre
 * each: its at most max places within radius_m (the protocol's largest
 * question), kept the second time it is asked about, so that later
 * questions about it with a radius and bound within those are answered
 * without a search, with the same answer.  Memory is fixed: slots times
 * about 24 + 16 * max bytes, pages touched as slots are used.  Free it
 * before db.  NULL when memory runs out or an argument is out of range
 * (offline_text then searches anew).
 */
struct offline_near *offline_near_new(const struct offline_db *db,
	    size_t slots, double radius_m, int max);
void	 offline_near_free(struct offline_near *nc);

/* Questions answered from the table and searched anew (tests). */
void	 offline_near_counts(const struct offline_near *nc, size_t *hits,
	    size_t *misses);

#endif /* HERD_OFFLINE_H */
