/*
 * journal.c -- the table on disk (see journal.h; format in jrec.h).
 *
 * Loading maps the file and replays it in order: later records of a client
 * replace earlier ones, as they did when they were written.  The first line
 * that fails its checksum or has no newline ends the replay; the file is cut
 * there and the cut is logged (Redis's aof-load-truncated), so a crash in
 * the middle of a write, or a damaged tail, costs only what was not whole.
 *
 * Compaction, the rewrite of the journal when it is well past the live
 * table, is in compact.c; the state both use is in journal_int.h.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "bio.h"
#include "bounds.h"
#include "conf.h"
#include "journal.h"
#include "journal_int.h"
#include "jrec.h"
#include "linebuf.h"
#include "log.h"
#include "store.h"





/*
 * A record read back is kept when the limits would take it now: not
 * expired, not too far ahead (one an older release took, or taken before
 * max_clock_skew was lowered, no longer pins its id).
 */
static int
jr_loadable(const struct htime *t)
{
	struct htime	 now;

	bounds_now(ev_now(jr.loop), &now);
	return bounds_judge(jr.limits, t, &now, 0, 0, 1) == BOUNDS_OK;
}

static uint64_t
jr_random(void)
{
	uint64_t	 v = 0;

	while (v == 0)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	return v;
}

static struct jmark *
jr_mark_find(const char *name, size_t len, int create)
{
	struct jmark	*m;
	size_t		 i;

	for (i = 0; i < jr.nmarks; i++)
		if (strlen(jr.marks[i].name) == len &&
		    memcmp(jr.marks[i].name, name, len) == 0)
			return &jr.marks[i];
	if (!create || len > HERD_NAME_MAX)
		return NULL;
	if ((m = realloc(jr.marks, (jr.nmarks + 1) * sizeof(*m))) == NULL)
		return NULL;
	jr.marks = m;
	m = &jr.marks[jr.nmarks++];
	memset(m, 0, sizeof(*m));
	memcpy(m->name, name, len);
	return m;
}

void
journal_forget_marks(void)
{
	size_t	 i;

	/* epoch 0 is no epoch: written so, it survives a restart */
	for (i = 0; i < jr.nmarks; i++) {
		jr.marks[i].epoch = jr.marks[i].lseq = 0;
		jr.marks[i].dirty = jr.marks_dirty = 1;
	}
}

int
journal_mark_get(const char *server, uint64_t *epoch, uint64_t *lseq)
{
	struct jmark	*m = jr_mark_find(server, strlen(server), 0);

	if (m == NULL)
		return -1;
	*epoch = m->epoch;
	*lseq = m->lseq;
	return 0;
}

void
journal_mark_set(const char *server, uint64_t epoch, uint64_t lseq)
{
	struct jmark	*m = jr_mark_find(server, strlen(server), 1);

	if (m == NULL || (m->epoch == epoch && m->lseq == lseq))
		return;
	m->epoch = epoch;
	m->lseq = lseq;
	m->dirty = jr.marks_dirty = 1;
}

int
journal_room(const char *src, size_t atlen)
{
	size_t	 need = jrec_update_len(src, atlen);

	if (!jr.on)
		return 0;
	if (outbuf_reserve(&jr.buf, need) == NULL)
		return -1;
	jr.buf.len -= need;		/* capacity kept, nothing added */
	return 0;
}

void
journal_update(const struct store_rec *r, const char *src)
{
	size_t	 need, n;
	char	*p;

	if (!jr.on)
		return;
	need = jrec_update_len(src, r->atlen);
	/* journal_room() made the space: this cannot fail */
	if ((p = outbuf_reserve(&jr.buf, need)) == NULL)
		fatalx("journal: no room for a record after journal_room");
	n = jrec_format_update(p, need, r->lseq, src, r->at, r->atlen);
	jr.buf.len -= need - n;
}

uint64_t
journal_epoch(void)
{
	return jr.epoch;
}

void
journal_new_epoch(void)
{
	char	 buf[JREC_HDR_MAX], *p;
	size_t	 n;

	jr.epoch = jr_random();
	log_warnx("a new epoch %016llx: this server's stream starts again "
	    "for every neighbour", (unsigned long long)jr.epoch);
	if (!jr.on)
		return;
	n = jrec_format_epoch(buf, sizeof(buf), jr.epoch);
	if ((p = outbuf_reserve(&jr.buf, n)) != NULL)
		memcpy(p, buf, n);
}

uint64_t
journal_durable(void)
{
	return jr.on ? jr.durable : store_head();
}

int
journal_enabled(void)
{
	return jr.on;
}

int
journal_ok(void)
{
	return !jr.failed;
}

const char *
journal_state(void)
{
	static char	 s[200];

	if (!jr.on)
		return "off";
	if (!jr.failed)
		return "ok";
	snprintf(s, sizeof(s), "error: %s", jr.why);
	return s;
}

uint64_t
journal_size(void)
{
	return jr.size;
}

void
journal_on_recover(void (*cb)(void))
{
	jr.recover_cb = cb;
}

static void
jr_fail(const char *what, int e)
{
	if (!jr.failed || strncmp(jr.why, what, strlen(what)) != 0)
		log_warnx("journal %s: %s: %s; updates are refused until it "
		    "can be written", jr.path, what, strerror(e));
	jr.failed = 1;
	snprintf(jr.why, sizeof(jr.why), "%s: %s", what, strerror(e));
	ev_timer_stop(jr.loop, &jr.timer);
	ev_timer_set(&jr.timer, JOURNAL_RETRY_S, JOURNAL_RETRY_S);
	ev_timer_start(jr.loop, &jr.timer);
}

/* The timer's normal pace: everysec's sync, compaction checks. */
static void
jr_everysec(void)
{
	ev_timer_stop(jr.loop, &jr.timer);
	ev_timer_set(&jr.timer, 1.0, 1.0);
	ev_timer_start(jr.loop, &jr.timer);
}

/* ----- writing ----- */

static void
jr_sync_done(int err, void *arg)
{
	(void)arg;
	jr.syncing = 0;
	if (err != 0)
		log_warnx("journal %s: fsync: %s", jr.path, strerror(err));
}

int
journal_flush(void)
{
	size_t	 len, done;
	int	 was = jr.failed;

	if (!jr.on)
		return 0;
	/* a failed sync is over only when a sync succeeds */
	if (jr.failed && strncmp(jr.why, "fsync", 5) == 0 &&
	    fdatasync(jr.fd) == -1)
		return -1;
	if (jr.marks_dirty && jr_marks_out(&jr.buf, 0) == -1) {
		jr_fail("buffering", ENOMEM);
		return -1;
	}
	if ((len = outbuf_len(&jr.buf)) == 0)
		goto out;
	if (jr_write(jr.fd, jr.buf.buf + jr.buf.off, len, &done) == -1) {
		int e = errno;

		jr.size += done;
		outbuf_consume(&jr.buf, done);
		if (jr.cfd != -1)
			jr_compact_abort("the journal could not be written");
		jr_fail("write", e);
		return -1;
	}
	jr.size += len;
	jr.unsynced = 1;
	if (jr.cdual && jr_write(jr.cfd, jr.buf.buf + jr.buf.off, len,
	    &done) == -1)
		jr_compact_abort(strerror(errno));
	else if (jr.cdual)
		jr.csize += len;
	if (jr.mode == HERD_FSYNC_ALWAYS && jr.cdual && fdatasync(jr.cfd) == -1)
		jr_compact_abort(strerror(errno));
	if (jr.mode == HERD_FSYNC_ALWAYS && fdatasync(jr.fd) == -1) {
		/* the bytes are written: a retry syncs them */
		outbuf_consume(&jr.buf, len);
		jr_fail("fsync", errno);
		return -1;
	}
	/* all written: keep the buffer (up to 1 MiB) for the next batch */
	if (jr.buf.cap <= JOURNAL_BUF_KEEP)
		jr.buf.off = jr.buf.len = 0;
	else
		outbuf_consume(&jr.buf, len);
out:
	jr.durable = store_head();
	jr.failed = 0;
	if (was) {
		log_warnx("journal %s: written again; updates are taken",
		    jr.path);
		jr_everysec();
		if (jr.recover_cb != NULL)
			jr.recover_cb();
		/* what the neighbours' streams brought meanwhile: written now */
		if (outbuf_len(&jr.buf) > 0)
			return journal_flush();
	}
	jr_compact_check(len);
	return 0;
}

static void
jr_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (jr.failed) {
		if (jr.mode == HERD_FSYNC_ALWAYS && outbuf_len(&jr.buf) == 0 &&
		    strncmp(jr.why, "fsync", 5) == 0 && fdatasync(jr.fd) == -1)
			return;
		journal_flush();
		return;
	}
	if (jr.mode == HERD_FSYNC_EVERYSEC && jr.unsynced && !jr.syncing) {
		if (bio_sync(jr.fd, jr_sync_done, NULL) == 0) {
			jr.syncing = 1;
			jr.unsynced = 0;
		}
	}
	jr_compact_check(0);
}

/* ----- loading ----- */

/* The server index of a src field, or -1 ("-" or not in the herd). */
static int
jr_src(const struct proto_field *f)
{
	char				 name[HERD_NAME_MAX + 1];
	const struct herd_server	*s;

	if (f->len == 1 && f->p[0] == '-')
		return STORE_SRC_CLIENT;
	if (f->len > HERD_NAME_MAX)
		return STORE_SRC_CLIENT;
	memcpy(name, f->p, f->len);
	name[f->len] = '\0';
	if ((s = conf_server(jr.conf, name)) == NULL)
		return STORE_SRC_CLIENT;
	return (int)(s - jr.conf->servers);
}

/*
 * Replay the file's bytes; returns the length of the whole records at its
 * start (where to cut), or -1 when out of memory.
 */
static long long
jr_replay(const char *buf, size_t len, size_t *nrec)
{
	struct jrec	 rec;
	struct jmark	*m;
	const char	*nl;
	size_t		 off = 0, ll;

	*nrec = 0;
	while (off < len) {
		if ((nl = memchr(buf + off, '\n', len - off)) == NULL)
			break;
		ll = (size_t)(nl - (buf + off));
		jr.closed = 0;
		switch (jrec_parse(buf + off, ll, &rec)) {
		case JREC_HEADER:
			if (off != 0)
				return (long long)off;
			jr.epoch = rec.epoch;
			break;
		case JREC_EPOCH:
			if (off == 0)
				return 0;
			jr.epoch = rec.epoch;
			break;
		case JREC_BOOT:
			if (off == 0)
				return 0;
			memcpy(jr.lastboot, rec.boot.p, 32);
			jr.lastboot[32] = '\0';
			break;
		case JREC_CLOSE:
			if (off == 0)
				return 0;
			jr.closed = 1;
			off += ll + 1;
			continue;	/* stays set only if it is the last */
		case JREC_MARK:
			if (off == 0)
				return 0;
			if ((m = jr_mark_find(rec.src.p, rec.src.len, 1)) ==
			    NULL)
				return -1;
			m->epoch = rec.epoch;
			m->lseq = rec.lseq;
			break;
		case JREC_UPDATE:
			if (off == 0)
				return 0;
			if (!jr_loadable(&rec.at.t)) {
				store_bump(rec.lseq);	/* forgotten */
				break;
			}
			if (store_load(rec.at.id.p, rec.at.id.len, &rec.at.t,
			    rec.line.p, rec.line.len, jr_src(&rec.src),
			    rec.lseq) == -1)
				return -1;
			(*nrec)++;
			break;
		default:
			return (long long)off;
		}
		off += ll + 1;
	}
	return (long long)off;
}

/* This boot's id (the kernel's boot_id without dashes), or "". */
static void
jr_read_boot(void)
{
	char	 buf[64];
	size_t	 i, o = 0;
	ssize_t	 n;
	int	 fd;

	jr.boot[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (i = 0; n > 0 && i < (size_t)n && o < 32; i++)
		if ((buf[i] >= '0' && buf[i] <= '9') ||
		    (buf[i] >= 'a' && buf[i] <= 'f'))
			jr.boot[o++] = buf[i];
	jr.boot[o == 32 ? 32 : 0] = '\0';
}

static int
jr_load(char *err, size_t errlen)
{
	struct stat	 st;
	struct timespec	 t0, t1;
	char		*map = NULL, hdr[JREC_HDR_MAX];
	long long	 keep;
	size_t		 nrec = 0, n, done;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((jr.fd = open(jr.path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1 || fstat(jr.fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", jr.path, strerror(errno));
		return -1;
	}
	keep = 0;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
		    jr.fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "%s: mmap: %s", jr.path,
			    strerror(errno));
			return -1;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		/* records are 80 to 100 bytes: size the table once */
		store_reserve((size_t)st.st_size / 96);
		keep = jr_replay(map, (size_t)st.st_size, &nrec);
		munmap(map, (size_t)st.st_size);
		if (keep == -1) {
			snprintf(err, errlen, "%s: out of memory loading it",
			    jr.path);
			return -1;
		}
	}
	if (keep == 0 && st.st_size > 0) {
		char	 aside[sizeof(jr.path) + 8];

		/* nothing readable: keep it for a person, start a new one */
		snprintf(aside, sizeof(aside), "%s.bad", jr.path);
		if (rename(jr.path, aside) == 0) {
			log_warnx("journal %s: its first record is bad: kept as "
			    "%s, starting empty", jr.path, aside);
			close(jr.fd);
			if ((jr.fd = open(jr.path, O_RDWR | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0644)) == -1) {
				snprintf(err, errlen, "%s: %s", jr.path,
				    strerror(errno));
				return -1;
			}
			st.st_size = 0;
		}
	}
	if (keep < (long long)st.st_size) {
		if (st.st_size > 0) {
			log_warnx("journal %s: bad or incomplete record at "
			    "byte %lld: cut %lld bytes, kept %zu records",
			    jr.path, keep, (long long)st.st_size - keep, nrec);
			jr.lost_tail = keep > 0;
		}
		if (ftruncate(jr.fd, (off_t)keep) == -1) {
			snprintf(err, errlen, "%s: ftruncate: %s", jr.path,
			    strerror(errno));
			return -1;
		}
	}
	if (lseek(jr.fd, 0, SEEK_END) == -1 ||
	    fcntl(jr.fd, F_SETFL, fcntl(jr.fd, F_GETFL) | O_APPEND) == -1) {
		snprintf(err, errlen, "%s: %s", jr.path, strerror(errno));
		return -1;
	}
	jr.size = (uint64_t)keep;
	if (keep == 0) {
		jr.epoch = jr_random();
		n = jrec_format_header(hdr, sizeof(hdr), jr.epoch);
		if (jr_write(jr.fd, hdr, n, &done) == -1 ||
		    (jr.mode != HERD_FSYNC_NO && fdatasync(jr.fd) == -1)) {
			snprintf(err, errlen, "%s: %s", jr.path,
			    strerror(errno));
			return -1;
		}
		jr.size = n;
		if (jr.mode != HERD_FSYNC_NO)
			jr_sync_dir();	/* the new file's name, too */
	}
	jr.durable = store_head();
	if (keep > 0 && !jr.closed && jr.lastboot[0] != '\0' &&
	    jr.boot[0] != '\0' && strcmp(jr.lastboot, jr.boot) != 0 &&
	    jr.mode != HERD_FSYNC_ALWAYS) {
		/*
		 * The machine went down under us: with fsync = everysec or no
		 * the kernel may have lost the tail, and whole batches leave
		 * no cut to find.
		 */
		log_warnx("journal %s: not closed, and the machine has "
		    "restarted since (fsync = %s)", jr.path,
		    conf_fsync_name(jr.mode));
		jr.lost_tail = 1;
	}
	if (jr.lost_tail) {
		/* what was cut may be what we passed on: start afresh */
		log_warnx("journal %s: changes may be lost: a new epoch, and "
		    "every neighbour sends us its whole table", jr.path);
		journal_forget_marks();
		journal_new_epoch();
		jr.lost_tail = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_notice("journal %s: %zu records replayed, %zu clients, epoch "
	    "%016llx, in %.3f s", jr.path, nrec, store_count(),
	    (unsigned long long)jr.epoch, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int
journal_open(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	jr.loop = loop;
	jr.conf = conf;
	jr.mode = conf->fsync;
	jr.limits = &conf->limits;
	ev_timer_init(&jr.timer, jr_timer_cb, 1.0, 1.0);
	if (conf->state_dir[0] == '\0') {
		jr.on = 0;
		jr.epoch = jr_random();
		return 0;
	}
	jr.on = 1;
	snprintf(jr.dir, sizeof(jr.dir), "%s", conf->state_dir);
	snprintf(jr.path, sizeof(jr.path), "%s/%s.journal", jr.dir,
	    self->name);
	snprintf(jr.tmp, sizeof(jr.tmp), "%s.new", jr.path);
	if (conf_mkdirs(jr.dir) == -1) {
		snprintf(err, errlen, "state_dir %s: %s", jr.dir,
		    strerror(errno));
		return -1;
	}
	unlink(jr.tmp);		/* a compaction that did not finish */
	jr_read_boot();
	if (jr_load(err, errlen) == -1)
		return -1;
	jr_boot_out(&jr.buf);	/* written with the first batch */
	if (bio_init(loop) == -1) {
		snprintf(err, errlen, "starting the fsync thread: %s",
		    strerror(errno));
		return -1;
	}
	jr_everysec();
	return 0;
}

void
journal_close(void)
{
	char	 buf[16];
	size_t	 n;

	if (!jr.on)
		return;
	if (!jr.failed && (n = jrec_format_close(buf, sizeof(buf))) > 0)
		(void)outbuf_add(&jr.buf, buf, n);	/* closed cleanly */
	journal_flush();
	if (jr.cfd != -1)
		jr_compact_abort("server stopping");
	ev_timer_stop(jr.loop, &jr.timer);
	bio_shutdown();
	if (jr.mode != HERD_FSYNC_NO && fdatasync(jr.fd) == -1)
		log_warn("journal %s: fsync", jr.path);
	close(jr.fd);
	jr.fd = -1;
	outbuf_free(&jr.buf);
	free(jr.marks);
	jr.marks = NULL;
	jr.nmarks = 0;
	jr.on = 0;
}
