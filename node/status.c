/*
 * status.c -- the worker's end of the notify channel (notify.h): READY,
 * our figures, answers to herdd's heartbeat, and why we exit.
 *
 * Figures and counters (counters.h) are sampled every 100 ms
 * and sent when they change, and every second regardless.  The channel is
 * non-blocking; what the socket does not take waits in an output buffer
 * (records are never cut), and no STATS is sampled while some does (the
 * next one carries the newer figures).  Each PING from herdd is answered at
 * once with its PONG, from the loop, so a worker that is paused or stuck in
 * a callback stops answering.  When herdd goes away (EOF on the channel)
 * the worker stops too.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <ev.h>

#include "client.h"
#include "counters.h"
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
static ev_io		 status_io, status_wio;
static struct linebuf	 status_in;
static struct outbuf	 status_out;	/* what the socket did not take */
static int		 status_skipping;	/* inside an over-long record */
static char		 status_last[NOTIFY_LINE_MAX];
static int		 status_ticks;
static int		 status_last_one;	/* status_final: send it */

int
status_inherited_fd(const char *name)
{
	const char	*env;
	char		*end;
	long		 fd;

	if ((env = getenv(name)) == NULL)
		return -1;
	fd = strtol(env, &end, 10);
	if (*env == '\0' || *end != '\0' || fd < 3 || fd > 65535 ||
	    fcntl((int)fd, F_GETFD) == -1) {
		log_warnx("%s=%s: not an open descriptor", name, env);
		unsetenv(name);
		return -1;
	}
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	unsetenv(name);			/* ours now: not passed on */
	return (int)fd;
}

/* The channel's descriptor from the environment, once; -1 when none. */
static int
status_channel(void)
{
	if (status_looked)
		return status_fd;
	status_looked = 1;
	if ((status_fd = status_inherited_fd(NOTIFY_ENV)) == -1)
		return -1;
	fcntl(status_fd, F_SETFL, fcntl(status_fd, F_GETFL) | O_NONBLOCK);
	return status_fd;
}

/* Write what waits; 0, or -1 when the channel is broken. */
static int
status_write(void)
{
	ssize_t	 n;

	while (outbuf_len(&status_out) > 0) {
		n = write(status_fd, status_out.buf + status_out.off,
		    outbuf_len(&status_out));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (status_loop != NULL)
				ev_io_start(status_loop, &status_wio);
			return 0;
		}
		if (n == -1) {
			outbuf_consume(&status_out, outbuf_len(&status_out));
			return -1;
		}
		outbuf_consume(&status_out, (size_t)n);
	}
	if (status_loop != NULL)
		ev_io_stop(status_loop, &status_wio);
	return 0;
}

/* Write what is left, waiting a second at most: we are about to exit. */
static void
status_drain(void)
{
	struct timeval	 tv = { 1, 0 };

	if (outbuf_len(&status_out) == 0)
		return;
	if (status_loop != NULL)
		ev_io_stop(status_loop, &status_wio);
	status_loop = NULL;
	setsockopt(status_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fcntl(status_fd, F_SETFL, fcntl(status_fd, F_GETFL) & ~O_NONBLOCK);
	status_write();
}

/* Queue a whole record and write what the socket takes. */
static void
status_send(const char *buf, size_t len)
{
	if (outbuf_len(&status_out) > 4 * NOTIFY_LINE_MAX)
		return;			/* herdd is not reading: PONGs only */
	if (outbuf_add(&status_out, buf, len) == 0)
		status_write();
}

static void
status_wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	status_write();
}

static void
status_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static struct notify_msg m;	/* 30 KiB: not on the stack */
	static char		 buf[NOTIFY_LINE_MAX];
	size_t			 n;

	(void)loop;
	(void)w;
	(void)revents;
	if (outbuf_len(&status_out) > 0 && !status_last_one)
		return;			/* the last one is not out yet */
	memset(&m, 0, sizeof(m));
	m.have = NOTIFY_F_CLIENTS | NOTIFY_F_CONNS | NOTIFY_F_LINKS |
	    NOTIFY_F_EAGER | NOTIFY_F_SYNCED | NOTIFY_F_JOURNAL | NOTIFY_F_HIST |
	    NOTIFY_F_KEYS | NOTIFY_F_KEYS_IN;
	m.clients = store_count();
	m.conns = client_count();
	peer_links_up(m.links, sizeof(m.links));
	peer_links_eager(m.eager, sizeof(m.eager));
	peer_links_synced(m.synced, sizeof(m.synced));
	peer_link_keys(m.keys, sizeof(m.keys), 0);
	peer_link_keys(m.keys_in, sizeof(m.keys_in), 1);
	snprintf(m.journal, sizeof(m.journal), "%s", !journal_enabled() ?
	    "off" : journal_ok() ? "ok" : "error");
	if (journal_enabled()) {
		m.have |= NOTIFY_F_JBYTES;
		m.jbytes = journal_size();
	}
	memcpy(m.ctr, counters, sizeof(m.ctr));
	m.have_ctr = (1u << NOTIFY_C_N) - 1;
	memcpy(m.hist, counters_hist, sizeof(m.hist));
	peer_flood(&m);
	if ((n = notify_format_stats(buf, sizeof(buf), &m)) == 0) {
		log_warnx("status: the figures do not fit in a record");
		return;
	}
	if (++status_ticks >= 10 || strcmp(buf, status_last) != 0 ||
	    status_last_one) {
		status_ticks = 0;
		memcpy(status_last, buf, n + 1);
		status_send(buf, n);
	}
}

static void
status_record(const char *line, size_t len)
{
	static struct notify_msg msg;	/* 30 KiB: not on the stack */
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
	ev_io_init(&status_wio, status_wio_cb, status_fd, EV_WRITE);
	status_send("READY\n", 6);
	ev_timer_init(&status_timer, status_timer_cb, 0.1, 0.1);
	ev_timer_start(loop, &status_timer);
	ev_io_init(&status_io, status_read_cb, status_fd, EV_READ);
	ev_io_start(loop, &status_io);
	status_timer_cb(loop, &status_timer, 0);
}

void
status_final(void)
{
	if (status_fd == -1 || status_loop == NULL)
		return;
	status_last_one = 1;
	status_timer_cb(status_loop, &status_timer, 0);
	status_last_one = 0;
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
	status_drain();
}

void
status_shutdown(void)
{
	if (status_fd == -1)
		return;
	if (status_loop != NULL) {
		ev_timer_stop(status_loop, &status_timer);
		ev_io_stop(status_loop, &status_io);
		ev_io_stop(status_loop, &status_wio);
	}
	status_drain();
	outbuf_free(&status_out);
	linebuf_free(&status_in);
	close(status_fd);
	status_fd = -1;
}
