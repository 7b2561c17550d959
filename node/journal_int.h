/*
 * journal_int.h -- what journal.c (writing, loading) and compact.c (the
 * rewrite on the loop) share.  Private to those two files.
 */
#ifndef HERD_JOURNAL_INT_H
#define HERD_JOURNAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "conf.h"
#include "linebuf.h"
#include "store.h"

struct jmark {
	char		 name[HERD_NAME_MAX + 1];
	uint64_t	 epoch, lseq;
	int		 dirty;		/* to be written */
};

extern struct ev_loop		*jr_loop;
extern const struct herd_conf	*jr_conf;
extern int		 jr_on;		/* a state_dir is set */
extern char		 jr_path[HERD_PATH_MAX + HERD_NAME_MAX + 16];
extern char		 jr_tmp[HERD_PATH_MAX + HERD_NAME_MAX + 24];
extern char		 jr_dir[HERD_PATH_MAX];
extern int		 jr_fd;
extern enum herd_fsync	 jr_mode;
extern uint64_t		 jr_epoch_v;
extern struct outbuf	 jr_buf;	/* accepted, not yet written */
extern uint64_t		 jr_size_v;	/* bytes in the file */
extern uint64_t		 jr_durable_v;	/* lseq written out */
extern int		 jr_unsynced;	/* written since the last sync */
extern int		 jr_syncing;	/* an everysec sync is running */
extern int		 jr_failed;
extern char		 jr_why[160];
extern ev_timer		 jr_timer;
extern void		(*jr_recover_cb)(void);
extern struct jmark	*jr_marks;
extern size_t		 jr_nmarks;
extern int		 jr_marks_dirty;
extern int		 jr_lost_tail;	/* a cut at load, not at byte 0 */
extern char		 jr_boot[33];	/* this boot's id, 32 hex digits */
extern char		 jr_lastboot[33];	/* the journal's last B record */
extern int		 jr_closed;	/* it ended with C: closed cleanly */
/* compaction */
extern int		 jr_cfd;	/* the new file */
extern int		 jr_cdual;	/* walk done: batches go to both */
extern uint64_t		 jr_csize;
extern struct store_cursor jr_ccur;
extern ev_tstamp	 jr_cnext;	/* not before, after a failure */
extern uintptr_t	 jr_cgen;	/* which compaction a sync is for */

/* Write all of buf to fd.  0, or -1 with errno; *done says how much went. */
int	 jr_write(int fd, const char *buf, size_t len, size_t *done);
/* Append every mark (all: for a new file; else the changed ones). */
int	 jr_marks_out(struct outbuf *ob, int all);
/* Append a B record for this boot. */
void	 jr_boot_out(struct outbuf *ob);
/* Sync the state directory: a new name in it survives a power cut. */
void	 jr_sync_dir(void);

/* compact.c: give up the rewrite in progress (and retry in a minute). */
void	 jr_compact_abort(const char *why);
/* compact.c: after a batch of batch bytes: start, or go on with, one. */
void	 jr_compact_check(size_t batch);

#endif /* HERD_JOURNAL_INT_H */
