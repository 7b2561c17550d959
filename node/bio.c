/*
 * bio.c -- fdatasync in a background thread (see bio.h).
 *
 * The loop queues a job with a dup(2) of the descriptor, so that closing
 * or replacing the journal's own descriptor meanwhile is harmless; the
 * thread syncs and closes it, and an ev_async wakes the loop, which calls
 * the job's done callback there.  One thread, jobs in order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "bio.h"

struct bio_job {
	struct bio_job	*next;
	int		 fd;
	int		 err;
	void		(*done)(int, void *);
	void		*arg;
};

static struct ev_loop	*bio_loop;
static pthread_t	 bio_thread;
static pthread_mutex_t	 bio_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 bio_cv = PTHREAD_COND_INITIALIZER;
static struct bio_job	*bio_todo, **bio_todo_tail = &bio_todo;
static struct bio_job	*bio_done;	/* finished, newest first */
static int		 bio_started, bio_stop, bio_njobs;
static ev_async		 bio_async;

static void *
bio_main(void *unused)
{
	struct bio_job	*j;

	(void)unused;
	pthread_mutex_lock(&bio_mu);
	for (;;) {
		while (bio_todo == NULL && !bio_stop)
			pthread_cond_wait(&bio_cv, &bio_mu);
		if (bio_todo == NULL)
			break;
		j = bio_todo;
		if ((bio_todo = j->next) == NULL)
			bio_todo_tail = &bio_todo;
		pthread_mutex_unlock(&bio_mu);
		j->err = fdatasync(j->fd) == -1 ? errno : 0;
		close(j->fd);
		pthread_mutex_lock(&bio_mu);
		j->next = bio_done;
		bio_done = j;
		ev_async_send(bio_loop, &bio_async);
	}
	pthread_mutex_unlock(&bio_mu);
	return NULL;
}

static void
bio_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct bio_job	*list, *j, *rev = NULL;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&bio_mu);
	list = bio_done;
	bio_done = NULL;
	pthread_mutex_unlock(&bio_mu);
	while (list != NULL) {		/* oldest first */
		j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while ((j = rev) != NULL) {
		rev = j->next;
		bio_njobs--;
		j->done(j->err, j->arg);
		free(j);
	}
}

int
bio_init(struct ev_loop *loop)
{
	int	 e;

	bio_loop = loop;
	ev_async_init(&bio_async, bio_async_cb);
	ev_async_start(loop, &bio_async);
	if ((e = pthread_create(&bio_thread, NULL, bio_main, NULL)) != 0) {
		errno = e;
		return -1;
	}
	bio_started = 1;
	return 0;
}

int
bio_sync(int fd, void (*done)(int, void *), void *arg)
{
	struct bio_job	*j;

	if (!bio_started || (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if ((j->fd = dup(fd)) == -1) {
		free(j);
		return -1;
	}
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&bio_mu);
	*bio_todo_tail = j;
	bio_todo_tail = &j->next;
	bio_njobs++;
	pthread_cond_signal(&bio_cv);
	pthread_mutex_unlock(&bio_mu);
	return 0;
}

int
bio_busy(void)
{
	return bio_njobs;
}

void
bio_shutdown(void)
{
	if (!bio_started)
		return;
	pthread_mutex_lock(&bio_mu);
	bio_stop = 1;
	pthread_cond_signal(&bio_cv);
	pthread_mutex_unlock(&bio_mu);
	pthread_join(bio_thread, NULL);
	bio_started = 0;
	bio_async_cb(bio_loop, &bio_async, 0);	/* the last callbacks */
	ev_async_stop(bio_loop, &bio_async);
}
