/*
 * journal_file.c -- the journal's state and what journal.c and compact.c
 * both do to a journal file: write a buffer whole, append the marks and
 * the boot record, sync the state directory.  Below both (journal_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <ev.h>

#include "journal_int.h"
#include "jrec.h"
#include "linebuf.h"
#include "log.h"

struct journal	 jr = { .fd = -1, .cfd = -1 };

/* Write all of buf to fd.  0, or -1 with errno; *done says how much went. */
int
jr_write(int fd, const char *buf, size_t len, size_t *done)
{
	ssize_t	 n;

	*done = 0;
	while (*done < len) {
		n = write(fd, buf + *done, len - *done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		*done += (size_t)n;
	}
	return 0;
}

/* Append every mark (all: for a new file; else the changed ones). */
int
jr_marks_out(struct outbuf *ob, int all)
{
	char	*p;
	size_t	 i, n;

	for (i = 0; i < jr.nmarks; i++) {
		if (!all && !jr.marks[i].dirty)
			continue;
		if ((p = outbuf_reserve(ob, JREC_HDR_MAX)) == NULL)
			return -1;
		n = jrec_format_mark(p, JREC_HDR_MAX, jr.marks[i].name,
		    jr.marks[i].epoch, jr.marks[i].lseq);
		ob->len -= JREC_HDR_MAX - n;
		if (!all)
			jr.marks[i].dirty = 0;
	}
	if (!all)
		jr.marks_dirty = 0;
	return 0;
}

/* Append a B record for this boot (the journal is open in it). */
void
jr_boot_out(struct outbuf *ob)
{
	char	 buf[JREC_HDR_MAX + 24];
	size_t	 n;

	if (jr.boot[0] != '\0' &&
	    (n = jrec_format_boot(buf, sizeof(buf), jr.boot)) > 0)
		(void)outbuf_add(ob, buf, n);
}

/* Sync the state directory: a new name in it survives a power cut. */
void
jr_sync_dir(void)
{
	int	 dfd;

	if ((dfd = open(jr.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(dfd) == -1)
		log_warn("journal: fsync of %s", jr.dir);
	close(dfd);
}
