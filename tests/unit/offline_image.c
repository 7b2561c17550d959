/*
 * offline_image.c -- data set images for the offline tests (see
 * offline_image.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offline_image.h"

uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

unsigned char *
readfile(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*buf;
	long		 n;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc(n + 1)) == NULL || fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A data set image of its own: n places, 5 decimals. */
unsigned char *
mkimage(const double (*pts)[2], size_t n, size_t *len)
{
	static const char	 pool[] = "credit\0place\0somewhere";
	unsigned char		*b;
	size_t			 i;

	*len = HDRSZ + n * RECSZ + sizeof(pool);
	if ((b = calloc(1, *len)) == NULL)
		exit(1);
	memcpy(b, "HERDPLC\0", 8);
	put32(b + 8, 1);
	put32(b + 12, 5);
	put32(b + 16, n);
	put32(b + 20, sizeof(pool));
	put32(b + 24, 0);
	for (i = 0; i < n; i++) {
		put32(b + HDRSZ + i * RECSZ, (uint32_t)(int32_t)lround(pts[i][0]
		    * 1e5));
		put32(b + HDRSZ + i * RECSZ + 4,
		    (uint32_t)(int32_t)lround(pts[i][1] * 1e5));
		put32(b + HDRSZ + i * RECSZ + 8, 7);
		put32(b + HDRSZ + i * RECSZ + 12, 13);
	}
	memcpy(b + HDRSZ + n * RECSZ, pool, sizeof(pool));
	return b;
}
