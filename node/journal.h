/*
 * journal.h -- a server's table on disk: an append-only journal under
 * [herd] state_dir, read back at start, compacted on the loop.
 *
 * Every stored update is appended to a buffer as it is accepted; once per
 * loop iteration journal_flush() writes the buffer with one write(2), before
 * any link or client is written to, so no AT reply and no flooded update
 * ever goes out for an update that is not in the file (herd-node(8)).
 * fsync decides what survives a power cut: always (each batch, before its
 * replies), everysec (in a background thread), no.
 *
 * The journal also keeps, per neighbour, how far its stream was received
 * (marks), so that a restarted server is sent only what it missed.  Without
 * a state_dir nothing is written, and marks and epoch live in memory.
 */
#ifndef HERD_JOURNAL_H
#define HERD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct herd_conf;
struct herd_server;
struct store_rec;

#define JOURNAL_COMPACT_MIN	(1024 * 1024)	/* bytes before compacting */
#define JOURNAL_COMPACT_STEP	(256 * 1024)	/* written per iteration */
#define JOURNAL_RETRY_S		0.25	/* a failed write is tried again */
#define JOURNAL_BUF_KEEP	(1024 * 1024)	/* batch buffer kept between */

/*
 * Open (creating) the journal of server self under conf->state_dir and
 * load it into the store (store_init first); a bad or truncated tail is
 * logged and cut.  Without a state_dir, only pick an epoch.  0, or -1 with
 * a message in err.
 */
int	 journal_open(struct ev_loop *loop, const struct herd_conf *conf,
	    const struct herd_server *self, char *err, size_t errlen);
/* Write what is buffered, sync as configured, close. */
void	 journal_close(void);

/*
 * Make room for a record of an AT line of atlen bytes from src, before it
 * is stored (so that journal_update cannot fail).  0, or -1 when out of
 * memory: the update is then refused.
 */
int	 journal_room(const char *src, size_t atlen);

/* Append a record just stored (src: the server it came from, or NULL). */
void	 journal_update(const struct store_rec *r, const char *src);

/*
 * Write the buffered records with one write(2) (and sync them with fsync
 * = always).  0 when everything accepted so far is written, -1 when not
 * (the journal is then failed and retried every JOURNAL_RETRY_S).
 */
int	 journal_flush(void);

/* Changes up to this lseq are written (all of them without a state_dir). */
uint64_t journal_durable(void);

/* 1 when there is a journal (a state_dir). */
int	 journal_enabled(void);

/* 1 while writes succeed (or there is no state_dir). */
int	 journal_ok(void);
/* "off", "ok" or "error: <reason>", for status. */
const char *journal_state(void);
/* The journal file's size in bytes (0 without a state_dir). */
uint64_t journal_size(void);
/* Called once when writes succeed again after a failure. */
void	 journal_on_recover(void (*cb)(void));

/* This server's epoch: its lseqs mean something only within it. */
uint64_t journal_epoch(void);
/* Start a new epoch (the lseqs went back: a lost journal tail). */
void	 journal_new_epoch(void);

/*
 * Forget every mark: each neighbour then sends its whole stream, even
 * what came from us (after we lost changes we had passed on).
 */
void	 journal_forget_marks(void);

/* A neighbour's stream as received: 0 and the mark, or -1 for none. */
int	 journal_mark_get(const char *server, uint64_t *epoch, uint64_t *lseq);
/* Record it (written with the next flush, after the records it covers). */
void	 journal_mark_set(const char *server, uint64_t epoch, uint64_t lseq);

#endif /* HERD_JOURNAL_H */
