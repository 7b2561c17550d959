/*
 * offline_load.c -- the offline data set from its file: streamed through
 * the checks of offline.c, the places through a small buffer and the
 * strings straight into their place, so that no copy of the file is held
 * in memory.  The only I/O of the offline backend (offline_share.c aside).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offline.h"
#include "offline_int.h"

#define OFFLINE_CHUNK		4096	/* places read at a time */

/* Read n bytes; -1 on error, else the count read (short at end of file). */
static ssize_t
offline_readn(int fd, void *buf, size_t n)
{
	size_t	 off = 0;
	ssize_t	 r;

	while (off < n) {
		r = read(fd, (char *)buf + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		off += r;
	}
	return off;
}

/*
 * Stream the file: the places through a small buffer, the strings straight
 * into their place, so that no copy of the file is held in memory.
 */
struct offline_db *
offline_load(const char *path, char *err, size_t errlen)
{
	struct offline_db	*db = NULL;
	struct offline_hdr	 h;
	struct stat		 st;
	unsigned char		 hdr[OFFLINE_HDRSZ], *buf = NULL;
	char			 msg[256];
	size_t			 i, j, n;
	ssize_t			 r;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		offline_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((r = offline_readn(fd, hdr, sizeof(hdr))) == -1)
		goto readerr;
	if (offline_header(hdr, r < (ssize_t)sizeof(hdr) ? (uint64_t)r :
	    (uint64_t)st.st_size, &h, msg, sizeof(msg)) == -1)
		goto bad;
	if ((db = offline_new(&h, msg, sizeof(msg))) == NULL)
		goto bad;
	if ((buf = malloc(OFFLINE_CHUNK * OFFLINE_RECSZ)) == NULL) {
		offline_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	for (i = 0; i < db->nplaces; i += n) {
		n = db->nplaces - i < OFFLINE_CHUNK ? db->nplaces - i :
		    OFFLINE_CHUNK;
		if ((r = offline_readn(fd, buf, n * OFFLINE_RECSZ)) == -1)
			goto readerr;
		if ((size_t)r != n * OFFLINE_RECSZ)
			goto shrank;
		for (j = 0; j < n; j++)
			if (offline_add(db, i + j, buf + j * OFFLINE_RECSZ,
			    msg, sizeof(msg)) == -1)
				goto bad;
	}
	if ((r = offline_readn(fd, db->strings, db->strsize)) == -1)
		goto readerr;
	if ((size_t)r != db->strsize)
		goto shrank;
	if (offline_strings(db, msg, sizeof(msg)) == -1 ||
	    offline_offsets(db, msg, sizeof(msg)) == -1 ||
	    offline_index(db, msg, sizeof(msg)) == -1)
		goto bad;
	free(buf);
	close(fd);
	return db;
 shrank:
	offline_err(err, errlen, "%s: truncated while read", path);
	goto fail;
 readerr:
	offline_err(err, errlen, "%s: %s", path, strerror(errno));
	goto fail;
 bad:
	offline_err(err, errlen, "%s: %s", path, msg);
 fail:
	free(buf);
	offline_free(db);
	close(fd);
	return NULL;
}
