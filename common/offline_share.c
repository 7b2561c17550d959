/*
 * offline_share.c -- one copy of the offline data set for every worker of
 * a machine.
 *
 * herdd loads the data set once (offline_load, which checks all of it)
 * and writes it, index included, as an image into a sealed memfd: a
 * header, the places (struct offline_place, unit vectors computed), the
 * cells and the string pool, each at an offset from the start, so that a
 * mapping needs no fix-up.  Each worker inherits the descriptor
 * (HERD_PLACES_FD) and maps it read-only and shared: the pages are the
 * memfd's own, counted once in the machine's memory however many workers
 * map them, where a worker loading the file itself holds a private copy.
 *
 * The image is herdd's, made from a file it checked, and sealed against
 * writes, so a worker checks its header and its sizes, not every place.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offline.h"
#include "offline_int.h"

#define SHARE_MAGIC	"HERDIMG\0"
#define SHARE_VERSION	1
#define SHARE_SOURCE	1024		/* the path it was made from */

struct share_hdr {
	char		 magic[8];
	uint32_t	 version;
	uint32_t	 decimals;
	uint64_t	 nplaces, strsize, attribution;
	uint64_t	 places_off, cells_off, strings_off, total;
	uint64_t	 place_size;	/* sizeof(struct offline_place) */
	char		 source[SHARE_SOURCE];
};

static size_t
share_align(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void
share_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Write all of buf at off; 0, or -1 (errno). */
static int
share_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
offline_share(const struct offline_db *db, const char *source, char *err,
    size_t errlen)
{
	struct share_hdr	 h;
	int			 fd;

	if (strlen(source) >= sizeof(h.source)) {
		share_err(err, errlen, "%s: path too long to share", source);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SHARE_MAGIC, sizeof(h.magic));
	h.version = SHARE_VERSION;
	h.decimals = (uint32_t)db->decimals;
	h.nplaces = db->nplaces;
	h.strsize = db->strsize;
	h.attribution = db->attribution;
	h.place_size = sizeof(struct offline_place);
	h.places_off = share_align(sizeof(h));
	h.cells_off = share_align(h.places_off + db->nplaces *
	    sizeof(struct offline_place));
	h.strings_off = share_align(h.cells_off + (OFFLINE_NCELLS + 1) *
	    sizeof(uint32_t));
	h.total = h.strings_off + db->strsize;
	snprintf(h.source, sizeof(h.source), "%s", source);
	if ((fd = memfd_create("herd-places", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		share_err(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)h.total) == -1 ||
	    share_pwrite(fd, &h, sizeof(h), 0) == -1 ||
	    share_pwrite(fd, db->places, db->nplaces *
	    sizeof(struct offline_place), (off_t)h.places_off) == -1 ||
	    share_pwrite(fd, db->cells, (OFFLINE_NCELLS + 1) *
	    sizeof(uint32_t), (off_t)h.cells_off) == -1 ||
	    share_pwrite(fd, db->strings, db->strsize,
	    (off_t)h.strings_off) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE) == -1) {
		share_err(err, errlen, "the shared data set: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* What a lookup relies on: cells in order, offsets in the pool (1 ms). */
static int
share_check(const struct offline_db *db)
{
	size_t	 i;

	if (db->cells[0] != 0 || db->cells[OFFLINE_NCELLS] != db->nplaces ||
	    db->strings[db->strsize - 1] != '\0')
		return -1;
	for (i = 0; i < OFFLINE_NCELLS; i++)
		if (db->cells[i] > db->cells[i + 1])
			return -1;
	for (i = 0; i < db->nplaces; i++)
		if (db->places[i].name >= db->strsize ||
		    db->places[i].vicinity >= db->strsize)
			return -1;
	return 0;
}

struct offline_db *
offline_map(int fd, const char *source, char *err, size_t errlen)
{
	struct offline_db	*db;
	struct share_hdr	 h;
	struct stat		 st;
	void			*map;
	int			 seals;

	if (fstat(fd, &st) == -1 || (seals = fcntl(fd, F_GET_SEALS)) == -1) {
		share_err(err, errlen, "descriptor %d: %s", fd,
		    strerror(errno));
		return NULL;
	}
	if (!(seals & F_SEAL_WRITE) || !(seals & F_SEAL_SHRINK) ||
	    (size_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, SHARE_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != SHARE_VERSION ||
	    h.place_size != sizeof(struct offline_place)) {
		share_err(err, errlen, "descriptor %d: not a sealed data set "
		    "image of this version", fd);
		return NULL;
	}
	h.source[sizeof(h.source) - 1] = '\0';
	if (strcmp(h.source, source) != 0) {
		share_err(err, errlen, "the shared data set is %s, not %s",
		    h.source, source);
		return NULL;
	}
	/* the layout offline_share writes, and nothing past the end */
	if (h.total != (uint64_t)st.st_size || h.nplaces == 0 ||
	    h.decimals > 9 || h.places_off != share_align(sizeof(h)) ||
	    h.nplaces > (h.total - h.places_off) /
	    sizeof(struct offline_place) ||
	    h.cells_off != share_align(h.places_off + h.nplaces *
	    sizeof(struct offline_place)) ||
	    h.strings_off != share_align(h.cells_off + (OFFLINE_NCELLS + 1) *
	    sizeof(uint32_t)) || h.strings_off > h.total ||
	    h.strsize != h.total - h.strings_off || h.strsize == 0 ||
	    h.attribution >= h.strsize) {
		share_err(err, errlen, "descriptor %d: a damaged data set "
		    "image", fd);
		return NULL;
	}
	if ((map = mmap(NULL, (size_t)h.total, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		share_err(err, errlen, "mmap: %s", strerror(errno));
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		share_err(err, errlen, "%s", strerror(errno));
		munmap(map, (size_t)h.total);
		return NULL;
	}
	db->map = map;
	db->maplen = (size_t)h.total;
	db->places = (struct offline_place *)((char *)map + h.places_off);
	db->cells = (uint32_t *)((char *)map + h.cells_off);
	db->strings = (char *)map + h.strings_off;
	db->nplaces = (size_t)h.nplaces;
	db->strsize = (size_t)h.strsize;
	db->attribution = (uint32_t)h.attribution;
	db->decimals = (int)h.decimals;
	for (db->scale = 1; h.decimals > 0; h.decimals--)
		db->scale *= 10;
	if (share_check(db) == -1) {
		share_err(err, errlen, "descriptor %d: a damaged data set "
		    "image", fd);
		offline_free(db);
		return NULL;
	}
	db->latsorted = offline_latsorted(db);
	return db;
}
