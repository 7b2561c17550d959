/*
 * bio.h -- fsync off the event loop, in one background thread (as Redis's
 * bio.c does), so that fsync = everysec and a compaction's final sync never
 * stall clients.
 */
#ifndef HERD_BIO_H
#define HERD_BIO_H

struct ev_loop;

/* 0, or -1 when the thread could not be started (errno). */
int	 bio_init(struct ev_loop *loop);
void	 bio_shutdown(void);

/*
 * fdatasync a duplicate of fd in the thread, then call done(err, arg) on
 * the loop (err 0 or an errno).  Returns 0, or -1 when it could not be
 * queued (done is not called).
 */
int	 bio_sync(int fd, void (*done)(int err, void *arg), void *arg);

/* Jobs queued or running. */
int	 bio_busy(void);

#endif /* HERD_BIO_H */
