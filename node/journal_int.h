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

/*
 * The journal's state, one per process: journal.c writes and loads it,
 * compact.c rewrites the file on the loop.
 */
struct journal {
	struct ev_loop		*loop;		/* the node's */
	const struct herd_conf	*conf;		/* state_dir, fsync */
	int			 on;		/* a state_dir is set */
	char			 path[HERD_PATH_MAX + HERD_NAME_MAX + 16];
						/* state_dir/NAME.journal */
	char			 tmp[HERD_PATH_MAX + HERD_NAME_MAX + 24];
						/* the compaction's new file */
	char			 dir[HERD_PATH_MAX];	/* state_dir */
	int			 fd;		/* the file, or -1 */
	enum herd_fsync		 mode;		/* always, everysec, no */
	const struct herd_limits *limits;	/* records read back are judged */
	uint64_t		 epoch;		/* of our stream (jrec.h) */
	struct outbuf		 buf;		/* accepted, not yet written */
	uint64_t		 size;		/* bytes in the file */
	uint64_t		 durable;	/* lseq written out */
	int			 unsynced;	/* written since the last sync */
	int			 syncing;	/* an everysec sync is running */
	int			 failed;	/* a write failed: updates refused */
	char			 why[160];	/* and why */
	ev_timer		 timer;		/* retries after a failure */
	void			(*recover_cb)(void);	/* writes work again */
	struct jmark		*marks;		/* where each neighbour's stream
						   resumes */
	size_t			 nmarks;
	int			 marks_dirty;	/* some are to be written */
	int			 lost_tail;	/* a cut at load, not at byte 0 */
	char			 boot[33];	/* this boot's id, 32 hex digits */
	char			 lastboot[33];	/* the journal's last B record */
	int			 closed;	/* it ended with C: closed cleanly */
	/* compaction (compact.c) */
	int			 cfd;		/* the new file, or -1 */
	int			 cdual;		/* walk done: batches go to both */
	uint64_t		 csize;		/* bytes in the new file */
	struct store_cursor	 ccur;		/* the walk over the store */
	ev_tstamp		 cnext;		/* not before, after a failure */
	uintptr_t		 cgen;		/* which compaction a sync is for */
};

extern struct journal	 jr;

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
