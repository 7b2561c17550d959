/*
 * offline_image.h -- data set images for the offline tests (test_offline.c,
 * test_offline_load.c): a file read whole, its little-endian fields, and
 * small images made to measure.  The format: tools/mkcities.py.
 */
#ifndef HERD_OFFLINE_IMAGE_H
#define HERD_OFFLINE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define HDRSZ		32	/* the header; the place count at 16 */
#define RECSZ		16	/* a place: lat, lng, name, vicinity */

/* The 32-bit little-endian field at p. */
uint32_t	 le32(const unsigned char *p);
void		 put32(unsigned char *p, uint32_t v);

/* The whole file at path, its size in *len; exits 1 when it cannot. */
unsigned char	*readfile(const char *path, size_t *len);

/*
 * An image of n places at pts (latitude, longitude) with 5 decimals, each
 * named "place" in "somewhere", credited to "credit"; exits 1 when memory
 * runs out.  The caller frees it.
 */
unsigned char	*mkimage(const double (*pts)[2], size_t n, size_t *len);

#endif /* HERD_OFFLINE_IMAGE_H */
