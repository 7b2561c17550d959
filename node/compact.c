/*
 * compact.c -- rewriting the journal on the loop (see journal.c).
 *
 * When the journal is well past the live table, the live records go to
 * <name>.journal.new a slice per loop iteration, walked in change order
 * with a store cursor (a record that changes meanwhile is walked again at
 * the end, so the copy is whole when the walk ends); then every batch is
 * written to both files until the new one is synced in the background
 * (bio.c), its tail synced, and it is renamed over the old.  Clients are
 * served throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "bio.h"
#include "conf.h"
#include "journal.h"
#include "journal_int.h"
#include "jrec.h"
#include "linebuf.h"
#include "log.h"
#include "store.h"


static int
jr_epoch_out(struct outbuf *ob)
{
	char	 buf[JREC_HDR_MAX];
	size_t	 n;

	n = jrec_format_epoch(buf, sizeof(buf), jr.epoch);
	return outbuf_add(ob, buf, n);
}

void
jr_compact_abort(const char *why)
{
	log_warnx("journal %s: compaction abandoned: %s", jr.path, why);
	store_cursor_stop(&jr.ccur);
	if (jr.cfd != -1) {
		close(jr.cfd);
		jr.cfd = -1;
	}
	unlink(jr.tmp);
	jr.cdual = 0;
	jr.cnext = ev_now(jr.loop) + 60.0;
}

static void
jr_compact_start(void)
{
	char	 hdr[JREC_HDR_MAX];
	size_t	 n, done;

	jr.cfd = open(jr.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0644);
	if (jr.cfd == -1) {
		jr_compact_abort(strerror(errno));
		return;
	}
	n = jrec_format_header(hdr, sizeof(hdr), jr.epoch);
	if (jr_write(jr.cfd, hdr, n, &done) == -1) {
		jr_compact_abort(strerror(errno));
		return;
	}
	jr.csize = n;
	{
		struct outbuf	 ob = { 0 };

		jr_boot_out(&ob);
		if (outbuf_len(&ob) > 0 && jr_write(jr.cfd, ob.buf,
		    outbuf_len(&ob), &done) == 0)
			jr.csize += done;
		outbuf_free(&ob);
	}
	jr.cdual = 0;
	jr.cgen++;
	store_cursor_start(&jr.ccur);
	log_notice("journal %s: compacting (%llu bytes for %zu records)",
	    jr.path, (unsigned long long)jr.size, store_count());
}

static void
jr_compact_finish(void)
{
	/* batches written to both since its sync: the tail, synced here */
	if (jr.mode != HERD_FSYNC_NO && fdatasync(jr.cfd) == -1) {
		jr_compact_abort(strerror(errno));
		return;
	}
	if (rename(jr.tmp, jr.path) == -1) {
		jr_compact_abort(strerror(errno));
		return;
	}
	log_notice("journal %s: compacted, %llu bytes to %llu", jr.path,
	    (unsigned long long)jr.size, (unsigned long long)jr.csize);
	close(jr.fd);
	jr.fd = jr.cfd;
	jr.cfd = -1;
	jr.cdual = 0;
	jr.size = jr.csize;
	if (jr.mode != HERD_FSYNC_NO)
		jr_sync_dir();
}

static void
jr_compact_synced(int err, void *arg)
{
	if (jr.cfd == -1 || (uintptr_t)arg != jr.cgen || !jr.cdual)
		return;		/* abandoned meanwhile, or another one's */
	if (err != 0) {
		jr_compact_abort(strerror(err));
		return;
	}
	jr_compact_finish();
}

/* One slice of the walk: budget bytes of records into the new file. */
static void
jr_compact_step(size_t budget)
{
	const struct store_rec	*r;
	struct outbuf		 ob = { 0 };
	char			*p;
	const char		*src;
	size_t			 need, n, done;

	if (jr.cdual)
		return;		/* waiting for the sync */
	while (outbuf_len(&ob) < budget &&
	    (r = store_cursor_next(&jr.ccur)) != NULL) {
		src = r->src >= 0 ? jr.conf->servers[r->src].name : NULL;
		need = jrec_update_len(src, r->atlen);
		if ((p = outbuf_reserve(&ob, need)) == NULL) {
			outbuf_free(&ob);	/* r is walked past: start again */
			jr_compact_abort("out of memory");
			return;
		}
		n = jrec_format_update(p, need, r->lseq, src, r->at, r->atlen);
		ob.len -= need - n;
	}
	/* whole: the epoch as it is now (it may have changed), the marks */
	if (!jr.ccur.active && (jr_epoch_out(&ob) == -1 ||
	    jr_marks_out(&ob, 1) == -1)) {
		outbuf_free(&ob);
		jr_compact_abort("out of memory");
		return;
	}
	if (jr_write(jr.cfd, ob.buf + ob.off, outbuf_len(&ob), &done) == -1) {
		outbuf_free(&ob);
		jr_compact_abort(strerror(errno));
		return;
	}
	jr.csize += done;
	outbuf_free(&ob);
	if (jr.ccur.active)
		return;
	/* whole: from now on every batch goes to both files */
	jr.cdual = 1;
	if (jr.mode == HERD_FSYNC_NO)
		jr_compact_finish();
	else if (bio_sync(jr.cfd, jr_compact_synced, (void *)jr.cgen) == -1)
		jr_compact_abort("could not queue its sync");
}

void
jr_compact_check(size_t batch)
{
	if (jr.failed)
		return;
	if (jr.cfd != -1) {
		jr_compact_step(batch * 2 > JOURNAL_COMPACT_STEP ? batch * 2 :
		    JOURNAL_COMPACT_STEP);
		return;
	}
	if (jr.size > JOURNAL_COMPACT_MIN &&
	    jr.size > 2 * (uint64_t)(store_bytes() + 40 * store_count()) &&
	    ev_now(jr.loop) >= jr.cnext)
		jr_compact_start();
}

