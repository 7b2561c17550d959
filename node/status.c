/*
 * status.c -- tell herdd that we are ready, and our figures (notify.h).
 *
 * Figures are sampled every 100 ms and sent when they change, and every
 * second regardless.  The channel is non-blocking: a record that does not
 * fit is dropped (the next one carries the same figures).  When herdd goes
 * away (EOF on the channel) the worker stops too.
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
#include "log.h"
#include "notify.h"
#include "peer.h"
#include "status.h"
#include "store.h"

static struct ev_loop	*status_loop;
static int		 status_fd = -1;
static ev_timer		 status_timer;
static ev_io		 status_io;
static char		 status_last[NOTIFY_LINE_MAX];
static int		 status_ticks;

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
	char	 links[NOTIFY_LINE_MAX - 64], buf[NOTIFY_LINE_MAX];
	size_t	 n;

	(void)loop;
	(void)w;
	(void)revents;
	peer_links_up(links, sizeof(links));
	n = notify_format_stats(buf, sizeof(buf), store_count(),
	    client_count(), links, !journal_enabled() ? "off" :
	    journal_ok() ? "ok" : "error");
	if (++status_ticks >= 10 || strcmp(buf, status_last) != 0) {
		status_ticks = 0;
		memcpy(status_last, buf, n + 1);
		status_send(buf, n);
	}
}

static void
status_eof_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	char	 buf[256];
	ssize_t	 n;

	(void)revents;
	n = read(w->fd, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		log_warnx("supervisor gone: stopping");
		ev_io_stop(loop, w);
		ev_break(loop, EVBREAK_ALL);
	}
}

void
status_init(struct ev_loop *loop)
{
	const char	*env = getenv(NOTIFY_ENV);
	char		*end;
	long		 fd;

	status_loop = loop;
	if (env == NULL)
		return;
	fd = strtol(env, &end, 10);
	if (*env == '\0' || *end != '\0' || fd < 0 || fd > 65535 ||
	    fcntl((int)fd, F_GETFD) == -1) {
		log_warnx("%s=%s: not an open descriptor", NOTIFY_ENV, env);
		return;
	}
	status_fd = (int)fd;
	fcntl(status_fd, F_SETFD, FD_CLOEXEC);
	fcntl(status_fd, F_SETFL, fcntl(status_fd, F_GETFL) | O_NONBLOCK);
	status_send("READY\n", 6);
	ev_timer_init(&status_timer, status_timer_cb, 0.1, 0.1);
	ev_timer_start(loop, &status_timer);
	ev_io_init(&status_io, status_eof_cb, status_fd, EV_READ);
	ev_io_start(loop, &status_io);
	status_timer_cb(loop, &status_timer, 0);
}

void
status_shutdown(void)
{
	if (status_fd == -1)
		return;
	ev_timer_stop(status_loop, &status_timer);
	ev_io_stop(status_loop, &status_io);
	close(status_fd);
	status_fd = -1;
}
