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
#include "conf.h"
#include "journal.h"
#include "journal_int.h"
#include "jrec.h"
#include "linebuf.h"
#include "log.h"
#include "store.h"


struct ev_loop		*jr_loop;
const struct herd_conf	*jr_conf;
int		 jr_on;		/* a state_dir is set */
char		 jr_path[HERD_PATH_MAX + HERD_NAME_MAX + 16];
char		 jr_tmp[HERD_PATH_MAX + HERD_NAME_MAX + 24];
char		 jr_dir[HERD_PATH_MAX];
int		 jr_fd = -1;
enum herd_fsync	 jr_mode;
uint64_t		 jr_epoch_v;
struct outbuf	 jr_buf;	/* accepted, not yet written */
uint64_t		 jr_size_v;	/* bytes in the file */
uint64_t		 jr_durable_v;	/* lseq written out */
int		 jr_unsynced;	/* written since the last sync */
int		 jr_syncing;	/* an everysec sync is running */
int		 jr_failed;
char		 jr_why[160];
ev_timer		 jr_timer;
void		(*jr_recover_cb)(void);
struct jmark	*jr_marks;
size_t		 jr_nmarks;
int		 jr_marks_dirty;
int		 jr_lost_tail;	/* a cut at load, not at byte 0 */
char		 jr_boot[33];	/* this boot's id, 32 hex digits */
char		 jr_lastboot[33];	/* the journal's last B record */
int		 jr_closed;	/* it ended with C: closed cleanly */
/* compaction */
int		 jr_cfd = -1;	/* the new file */
int		 jr_cdual;	/* walk done: batches go to both */
uint64_t		 jr_csize;
struct store_cursor jr_ccur;
ev_tstamp	 jr_cnext;	/* not before, after a failure */
uintptr_t	 jr_cgen;	/* which compaction a sync is for */


static uint64_t
jr_random(void)
{
	uint64_t	 v = 0;

	while (v == 0)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	return v;
}

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

static struct jmark *
jr_mark_find(const char *name, size_t len, int create)
{
	struct jmark	*m;
	size_t		 i;

	for (i = 0; i < jr_nmarks; i++)
		if (strlen(jr_marks[i].name) == len &&
		    memcmp(jr_marks[i].name, name, len) == 0)
			return &jr_marks[i];
	if (!create || len > HERD_NAME_MAX)
		return NULL;
	if ((m = realloc(jr_marks, (jr_nmarks + 1) * sizeof(*m))) == NULL)
		return NULL;
	jr_marks = m;
	m = &jr_marks[jr_nmarks++];
	memset(m, 0, sizeof(*m));
	memcpy(m->name, name, len);
	return m;
}

void
journal_forget_marks(void)
{
	size_t	 i;

	/* epoch 0 is no epoch: written so, it survives a restart */
	for (i = 0; i < jr_nmarks; i++) {
		jr_marks[i].epoch = jr_marks[i].lseq = 0;
		jr_marks[i].dirty = jr_marks_dirty = 1;
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
	m->dirty = jr_marks_dirty = 1;
}

/* Append every mark (all: for a new file; else the changed ones). */
int
jr_marks_out(struct outbuf *ob, int all)
{
	char	*p;
	size_t	 i, n;

	for (i = 0; i < jr_nmarks; i++) {
		if (!all && !jr_marks[i].dirty)
			continue;
		if ((p = outbuf_reserve(ob, JREC_HDR_MAX)) == NULL)
			return -1;
		n = jrec_format_mark(p, JREC_HDR_MAX, jr_marks[i].name,
		    jr_marks[i].epoch, jr_marks[i].lseq);
		ob->len -= JREC_HDR_MAX - n;
		if (!all)
			jr_marks[i].dirty = 0;
	}
	if (!all)
		jr_marks_dirty = 0;
	return 0;
}

int
journal_room(const char *src, size_t atlen)
{
	size_t	 need = jrec_update_len(src, atlen);

	if (!jr_on)
		return 0;
	if (outbuf_reserve(&jr_buf, need) == NULL)
		return -1;
	jr_buf.len -= need;		/* capacity kept, nothing added */
	return 0;
}

void
journal_update(const struct store_rec *r, const char *src)
{
	size_t	 need, n;
	char	*p;

	if (!jr_on)
		return;
	need = jrec_update_len(src, r->atlen);
	/* journal_room() made the space: this cannot fail */
	if ((p = outbuf_reserve(&jr_buf, need)) == NULL)
		fatalx("journal: no room for a record after journal_room");
	n = jrec_format_update(p, need, r->lseq, src, r->at, r->atlen);
	jr_buf.len -= need - n;
}

uint64_t
journal_epoch(void)
{
	return jr_epoch_v;
}

void
journal_new_epoch(void)
{
	char	 buf[JREC_HDR_MAX], *p;
	size_t	 n;

	jr_epoch_v = jr_random();
	log_warnx("a new epoch %016llx: this server's stream starts again "
	    "for every neighbour", (unsigned long long)jr_epoch_v);
	if (!jr_on)
		return;
	n = jrec_format_epoch(buf, sizeof(buf), jr_epoch_v);
	if ((p = outbuf_reserve(&jr_buf, n)) != NULL)
		memcpy(p, buf, n);
}

uint64_t
journal_durable(void)
{
	return jr_on ? jr_durable_v : store_head();
}

int
journal_enabled(void)
{
	return jr_on;
}

int
journal_ok(void)
{
	return !jr_failed;
}

const char *
journal_state(void)
{
	static char	 s[200];

	if (!jr_on)
		return "off";
	if (!jr_failed)
		return "ok";
	snprintf(s, sizeof(s), "error: %s", jr_why);
	return s;
}

uint64_t
journal_size(void)
{
	return jr_size_v;
}

void
journal_on_recover(void (*cb)(void))
{
	jr_recover_cb = cb;
}

static void
jr_fail(const char *what, int e)
{
	if (!jr_failed || strncmp(jr_why, what, strlen(what)) != 0)
		log_warnx("journal %s: %s: %s; updates are refused until it "
		    "can be written", jr_path, what, strerror(e));
	jr_failed = 1;
	snprintf(jr_why, sizeof(jr_why), "%s: %s", what, strerror(e));
	ev_timer_stop(jr_loop, &jr_timer);
	ev_timer_set(&jr_timer, JOURNAL_RETRY_S, JOURNAL_RETRY_S);
	ev_timer_start(jr_loop, &jr_timer);
}

/* The timer's normal pace: everysec's sync, compaction checks. */
static void
jr_everysec(void)
{
	ev_timer_stop(jr_loop, &jr_timer);
	ev_timer_set(&jr_timer, 1.0, 1.0);
	ev_timer_start(jr_loop, &jr_timer);
}

/* ----- writing ----- */

static void
jr_sync_done(int err, void *arg)
{
	(void)arg;
	jr_syncing = 0;
	if (err != 0)
		log_warnx("journal %s: fsync: %s", jr_path, strerror(err));
}

int
journal_flush(void)
{
	size_t	 len, done;
	int	 was = jr_failed;

	if (!jr_on)
		return 0;
	/* a failed sync is over only when a sync succeeds */
	if (jr_failed && strncmp(jr_why, "fsync", 5) == 0 &&
	    fdatasync(jr_fd) == -1)
		return -1;
	if (jr_marks_dirty && jr_marks_out(&jr_buf, 0) == -1) {
		jr_fail("buffering", ENOMEM);
		return -1;
	}
	if ((len = outbuf_len(&jr_buf)) == 0)
		goto out;
	if (jr_write(jr_fd, jr_buf.buf + jr_buf.off, len, &done) == -1) {
		int e = errno;

		jr_size_v += done;
		outbuf_consume(&jr_buf, done);
		if (jr_cfd != -1)
			jr_compact_abort("the journal could not be written");
		jr_fail("write", e);
		return -1;
	}
	jr_size_v += len;
	jr_unsynced = 1;
	if (jr_cdual && jr_write(jr_cfd, jr_buf.buf + jr_buf.off, len,
	    &done) == -1)
		jr_compact_abort(strerror(errno));
	else if (jr_cdual)
		jr_csize += len;
	if (jr_mode == HERD_FSYNC_ALWAYS && jr_cdual && fdatasync(jr_cfd) == -1)
		jr_compact_abort(strerror(errno));
	if (jr_mode == HERD_FSYNC_ALWAYS && fdatasync(jr_fd) == -1) {
		/* the bytes are written: a retry syncs them */
		outbuf_consume(&jr_buf, len);
		jr_fail("fsync", errno);
		return -1;
	}
	/* all written: keep the buffer (up to 1 MiB) for the next batch */
	if (jr_buf.cap <= JOURNAL_BUF_KEEP)
		jr_buf.off = jr_buf.len = 0;
	else
		outbuf_consume(&jr_buf, len);
out:
	jr_durable_v = store_head();
	jr_failed = 0;
	if (was) {
		log_warnx("journal %s: written again; updates are taken",
		    jr_path);
		jr_everysec();
		if (jr_recover_cb != NULL)
			jr_recover_cb();
		/* what the neighbours' streams brought meanwhile: written now */
		if (outbuf_len(&jr_buf) > 0)
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
	if (jr_failed) {
		if (jr_mode == HERD_FSYNC_ALWAYS && outbuf_len(&jr_buf) == 0 &&
		    strncmp(jr_why, "fsync", 5) == 0 && fdatasync(jr_fd) == -1)
			return;
		journal_flush();
		return;
	}
	if (jr_mode == HERD_FSYNC_EVERYSEC && jr_unsynced && !jr_syncing) {
		if (bio_sync(jr_fd, jr_sync_done, NULL) == 0) {
			jr_syncing = 1;
			jr_unsynced = 0;
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
	if ((s = conf_server(jr_conf, name)) == NULL)
		return STORE_SRC_CLIENT;
	return (int)(s - jr_conf->servers);
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
		jr_closed = 0;
		switch (jrec_parse(buf + off, ll, &rec)) {
		case JREC_HEADER:
			if (off != 0)
				return (long long)off;
			jr_epoch_v = rec.epoch;
			break;
		case JREC_EPOCH:
			if (off == 0)
				return 0;
			jr_epoch_v = rec.epoch;
			break;
		case JREC_BOOT:
			if (off == 0)
				return 0;
			memcpy(jr_lastboot, rec.boot.p, 32);
			jr_lastboot[32] = '\0';
			break;
		case JREC_CLOSE:
			if (off == 0)
				return 0;
			jr_closed = 1;
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

	jr_boot[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (i = 0; n > 0 && i < (size_t)n && o < 32; i++)
		if ((buf[i] >= '0' && buf[i] <= '9') ||
		    (buf[i] >= 'a' && buf[i] <= 'f'))
			jr_boot[o++] = buf[i];
	jr_boot[o == 32 ? 32 : 0] = '\0';
}

/* Append a B record for this boot (the journal is open in it). */
void
jr_boot_out(struct outbuf *ob)
{
	char	 buf[JREC_HDR_MAX + 24];
	size_t	 n;

	if (jr_boot[0] != '\0' &&
	    (n = jrec_format_boot(buf, sizeof(buf), jr_boot)) > 0)
		(void)outbuf_add(ob, buf, n);
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
	if ((jr_fd = open(jr_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1 || fstat(jr_fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", jr_path, strerror(errno));
		return -1;
	}
	keep = 0;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
		    jr_fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "%s: mmap: %s", jr_path,
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
			    jr_path);
			return -1;
		}
	}
	if (keep == 0 && st.st_size > 0) {
		char	 aside[sizeof(jr_path) + 8];

		/* nothing readable: keep it for a person, start a new one */
		snprintf(aside, sizeof(aside), "%s.bad", jr_path);
		if (rename(jr_path, aside) == 0) {
			log_warnx("journal %s: its first record is bad: kept as "
			    "%s, starting empty", jr_path, aside);
			close(jr_fd);
			if ((jr_fd = open(jr_path, O_RDWR | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0644)) == -1) {
				snprintf(err, errlen, "%s: %s", jr_path,
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
			    jr_path, keep, (long long)st.st_size - keep, nrec);
			jr_lost_tail = keep > 0;
		}
		if (ftruncate(jr_fd, (off_t)keep) == -1) {
			snprintf(err, errlen, "%s: ftruncate: %s", jr_path,
			    strerror(errno));
			return -1;
		}
	}
	if (lseek(jr_fd, 0, SEEK_END) == -1 ||
	    fcntl(jr_fd, F_SETFL, fcntl(jr_fd, F_GETFL) | O_APPEND) == -1) {
		snprintf(err, errlen, "%s: %s", jr_path, strerror(errno));
		return -1;
	}
	jr_size_v = (uint64_t)keep;
	if (keep == 0) {
		jr_epoch_v = jr_random();
		n = jrec_format_header(hdr, sizeof(hdr), jr_epoch_v);
		if (jr_write(jr_fd, hdr, n, &done) == -1 ||
		    (jr_mode != HERD_FSYNC_NO && fdatasync(jr_fd) == -1)) {
			snprintf(err, errlen, "%s: %s", jr_path,
			    strerror(errno));
			return -1;
		}
		jr_size_v = n;
		if (jr_mode != HERD_FSYNC_NO)
			jr_sync_dir();	/* the new file's name, too */
	}
	jr_durable_v = store_head();
	if (keep > 0 && !jr_closed && jr_lastboot[0] != '\0' &&
	    jr_boot[0] != '\0' && strcmp(jr_lastboot, jr_boot) != 0 &&
	    jr_mode != HERD_FSYNC_ALWAYS) {
		/*
		 * The machine went down under us: with fsync = everysec or no
		 * the kernel may have lost the tail, and whole batches leave
		 * no cut to find.
		 */
		log_warnx("journal %s: not closed, and the machine has "
		    "restarted since (fsync = %s)", jr_path,
		    conf_fsync_name(jr_mode));
		jr_lost_tail = 1;
	}
	if (jr_lost_tail) {
		/* what was cut may be what we passed on: start afresh */
		log_warnx("journal %s: changes may be lost: a new epoch, and "
		    "every neighbour sends us its whole table", jr_path);
		journal_forget_marks();
		journal_new_epoch();
		jr_lost_tail = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_notice("journal %s: %zu records replayed, %zu clients, epoch "
	    "%016llx, in %.3f s", jr_path, nrec, store_count(),
	    (unsigned long long)jr_epoch_v, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int
journal_open(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	jr_loop = loop;
	jr_conf = conf;
	jr_mode = conf->fsync;
	ev_timer_init(&jr_timer, jr_timer_cb, 1.0, 1.0);
	if (conf->state_dir[0] == '\0') {
		jr_on = 0;
		jr_epoch_v = jr_random();
		return 0;
	}
	jr_on = 1;
	snprintf(jr_dir, sizeof(jr_dir), "%s", conf->state_dir);
	snprintf(jr_path, sizeof(jr_path), "%s/%s.journal", jr_dir,
	    self->name);
	snprintf(jr_tmp, sizeof(jr_tmp), "%s.new", jr_path);
	if (conf_mkdirs(jr_dir) == -1) {
		snprintf(err, errlen, "state_dir %s: %s", jr_dir,
		    strerror(errno));
		return -1;
	}
	unlink(jr_tmp);		/* a compaction that did not finish */
	jr_read_boot();
	if (jr_load(err, errlen) == -1)
		return -1;
	jr_boot_out(&jr_buf);	/* written with the first batch */
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

	if (!jr_on)
		return;
	if (!jr_failed && (n = jrec_format_close(buf, sizeof(buf))) > 0)
		(void)outbuf_add(&jr_buf, buf, n);	/* closed cleanly */
	journal_flush();
	if (jr_cfd != -1)
		jr_compact_abort("server stopping");
	ev_timer_stop(jr_loop, &jr_timer);
	bio_shutdown();
	if (jr_mode != HERD_FSYNC_NO && fdatasync(jr_fd) == -1)
		log_warn("journal %s: fsync", jr_path);
	close(jr_fd);
	jr_fd = -1;
	outbuf_free(&jr_buf);
	free(jr_marks);
	jr_marks = NULL;
	jr_nmarks = 0;
	jr_on = 0;
}
