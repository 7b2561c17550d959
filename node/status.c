/*
 * status.c -- the worker's end of the notify channel (notify.h): READY,
 * our figures, answers to herdd's heartbeat, and why we exit.
 *
 * Figures are sampled every 100 ms and sent when they change, and every
 * second regardless.  The channel is non-blocking: a record that does not
 * fit is dropped (the next one carries the same figures).  Each PING from
 * herdd is answered at once with its PONG, from the loop, so a worker that
 * is paused or stuck in a callback stops answering.  When herdd goes away
 * (EOF on the channel) the worker stops too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <ev.h>

#include "client.h"
#include "journal.h"
#include "linebuf.h"
#include "log.h"
#include "notify.h"
#include "peer.h"
#include "status.h"
#include "store.h"

static struct ev_loop	*status_loop;
static int		 status_fd = -1;
static int		 status_looked;	/* HERD_NOTIFY_FD read already */
static ev_timer		 status_timer;
static ev_io		 status_io;
static struct linebuf	 status_in;
static int		 status_skipping;	/* inside an over-long record */
static char		 status_last[NOTIFY_LINE_MAX];
static int		 status_ticks;

/* The channel's descriptor from the environment, once; -1 when none. */
static int
status_channel(void)
{
	const char	*env;
	char		*end;
	long		 fd;

	if (status_looked)
		return status_fd;
	status_looked = 1;
	if ((env = getenv(NOTIFY_ENV)) == NULL)
		return -1;
	fd = strtol(env, &end, 10);
	if (*env == '\0' || *end != '\0' || fd < 0 || fd > 65535 ||
	    fcntl((int)fd, F_GETFD) == -1) {
		log_warnx("%s=%s: not an open descriptor", NOTIFY_ENV, env);
		return -1;
	}
	status_fd = (int)fd;
	fcntl(status_fd, F_SETFD, FD_CLOEXEC);
	fcntl(status_fd, F_SETFL, fcntl(status_fd, F_GETFL) | O_NONBLOCK);
	return status_fd;
}

static void
status_send(const char *buf, size_t len)
{
	ssize_t	 n;

	do {
		n = write(status_fd, buf, len);
	} while (n == -1 && errno == EINTR);
}

static void
status_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	char	 links[NOTIFY_LINE_MAX / 2 - 64];
	char	 synced[NOTIFY_LINE_MAX / 2 - 64], buf[NOTIFY_LINE_MAX];
	size_t	 n;

	(void)loop;
	(void)w;
	(void)revents;
	peer_links_up(links, sizeof(links));
	peer_links_synced(synced, sizeof(synced));
	n = notify_format_stats(buf, sizeof(buf), store_count(),
	    client_count(), links, synced, !journal_enabled() ? "off" :
	    journal_ok() ? "ok" : "error");
	if (++status_ticks >= 10 || strcmp(buf, status_last) != 0) {
		status_ticks = 0;
		memcpy(status_last, buf, n + 1);
		status_send(buf, n);
	}
}

static void
status_record(const char *line, size_t len)
{
	static struct notify_msg msg;	/* 8 KiB: not on the stack */
	char			 buf[64];
	int			 n;

	if (notify_parse(line, len, &msg) == 0 && msg.type == NOTIFY_PING) {
		n = snprintf(buf, sizeof(buf), "PONG %lu\n", msg.seq);
		status_send(buf, (size_t)n);
	}
}

static void
status_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	const char	*line;
	size_t		 len;
	ssize_t		 n;

	(void)revents;
	n = linebuf_fill(&status_in, w->fd);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		log_warnx("supervisor gone: stopping");
		ev_io_stop(loop, w);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (n == -2) {			/* no record is this long: skip it */
		linebuf_drop(&status_in, linebuf_pending(&status_in));
		status_skipping = 1;
		return;
	}
	while (linebuf_next(&status_in, &line, &len)) {
		if (status_skipping)
			status_skipping = 0;	/* the end of the long one */
		else
			status_record(line, len);
	}
}

void
status_init(struct ev_loop *loop)
{
	status_loop = loop;
	if (status_channel() == -1)
		return;
	linebuf_init(&status_in, 256);
	status_send("READY\n", 6);
	ev_timer_init(&status_timer, status_timer_cb, 0.1, 0.1);
	ev_timer_start(loop, &status_timer);
	ev_io_init(&status_io, status_read_cb, status_fd, EV_READ);
	ev_io_start(loop, &status_io);
	status_timer_cb(loop, &status_timer, 0);
}

void
status_error(const char *msg)
{
	char	 buf[NOTIFY_TEXT_MAX + 16];
	size_t	 n;

	if (status_channel() == -1)
		return;
	n = notify_format_error(buf, sizeof(buf), msg);
	status_send(buf, n);
}

void
status_shutdown(void)
{
	if (status_fd == -1)
		return;
	if (status_loop != NULL) {
		ev_timer_stop(status_loop, &status_timer);
		ev_io_stop(status_loop, &status_io);
	}
	linebuf_free(&status_in);
	close(status_fd);
	status_fd = -1;
}
