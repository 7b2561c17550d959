/*
 * sdnotify.c -- the service manager's notify socket (see sdnotify.h).
 *
 * Copyright (c) 2026 The herd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "sdnotify.h"

static int			 sd_fd = -1;
static struct sockaddr_un	 sd_addr;
static socklen_t		 sd_addrlen;
static ev_timer			 sd_watchdog;
static struct ev_loop		*sd_loop;
static char			 sd_status[512];	/* the last STATUS= */

/*
 * The messages a reader that is behind must still get (READY=1,
 * RELOADING=1, STOPPING=1), in order, until the socket takes them:
 * retried every SD_RETRY_S.  STATUS= and WATCHDOG=1 are dropped instead
 * (the next one says as much).
 */
#define SD_QUEUE_MAX	8
#define SD_RETRY_S	0.2
static char			 sd_queue[SD_QUEUE_MAX][512];
static size_t			 sd_nqueue;
static ev_timer			 sd_retry;
static int			 sd_dropped;	/* said once: reader is behind */

static void
sd_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sdnotify_send("WATCHDOG=1");
}

/* One datagram, never waiting: 0 sent, 1 the reader is behind, -1 lost. */
static int
sd_sendto(const char *msg)
{
	if (sendto(sd_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sd_addr, sd_addrlen) != -1)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
	    errno == EINTR) {
		if (!sd_dropped)
			log_warnx("NOTIFY_SOCKET: the service manager does "
			    "not read: status lines dropped, READY, RELOADING "
			    "and STOPPING retried");
		sd_dropped = 1;
		return 1;
	}
	log_debug("NOTIFY_SOCKET: sendto: %s", strerror(errno));
	return -1;
}

/* Send what is queued, oldest first, as far as the socket takes it. */
static void
sd_flush(void)
{
	size_t	 i = 0;

	while (i < sd_nqueue && sd_sendto(sd_queue[i]) != 1)
		i++;
	memmove(sd_queue, sd_queue + i, (sd_nqueue - i) * sizeof(sd_queue[0]));
	sd_nqueue -= i;
	if (sd_nqueue == 0) {
		if (sd_loop != NULL)
			ev_timer_stop(sd_loop, &sd_retry);
		if (sd_dropped)
			log_notice("NOTIFY_SOCKET: read again");
		sd_dropped = 0;
	}
}

static void
sd_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_flush();
}

/* Keep msg for later: the oldest goes when the queue is full. */
static void
sd_keep(const char *msg)
{
	if (sd_nqueue == SD_QUEUE_MAX) {
		log_warnx("NOTIFY_SOCKET: %d messages waiting; dropped the "
		    "oldest", SD_QUEUE_MAX);
		memmove(sd_queue, sd_queue + 1,
		    (SD_QUEUE_MAX - 1) * sizeof(sd_queue[0]));
		sd_nqueue--;
	}
	snprintf(sd_queue[sd_nqueue++], sizeof(sd_queue[0]), "%s", msg);
	if (sd_loop != NULL && !ev_is_active(&sd_retry))
		ev_timer_start(sd_loop, &sd_retry);
}

static int
sd_must_arrive(const char *msg)
{
	return strncmp(msg, "READY=1", 7) == 0 ||
	    strncmp(msg, "RELOADING=1", 11) == 0 ||
	    strncmp(msg, "STOPPING=1", 10) == 0;
}

int
sdnotify_init(struct ev_loop *loop)
{
	const char	*path = getenv("NOTIFY_SOCKET"), *wd, *wpid;
	size_t		 n;
	long long	 usec;
	char		*end;

	sd_loop = loop;
	ev_timer_init(&sd_retry, sd_retry_cb, SD_RETRY_S, SD_RETRY_S);
	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sd_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%s: not a socket path; not telling the "
		    "service manager", path);
		return -1;
	}
	memset(&sd_addr, 0, sizeof(sd_addr));
	sd_addr.sun_family = AF_UNIX;
	memcpy(sd_addr.sun_path, path, n);
	if (path[0] == '@')
		sd_addr.sun_path[0] = '\0';	/* the abstract namespace */
	sd_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '@' ? 0 : 1));
	if ((sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return -1;
	}
	wd = getenv("WATCHDOG_USEC");
	wpid = getenv("WATCHDOG_PID");
	if (wd != NULL && wd[0] != '\0' && (wpid == NULL || wpid[0] == '\0' ||
	    strtol(wpid, NULL, 10) == (long)getpid())) {
		usec = strtoll(wd, &end, 10);
		if (*end != '\0' || usec <= 0)
			log_warnx("WATCHDOG_USEC=%s: not a number of "
			    "microseconds; no watchdog", wd);
		else {
			ev_timer_init(&sd_watchdog, sd_watchdog_cb,
			    usec / 2e6, usec / 2e6);
			ev_timer_start(loop, &sd_watchdog);
			log_notice("watchdog: WATCHDOG=1 every %.3f s",
			    usec / 2e6);
		}
	}
	return 0;
}

void
sdnotify_send(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];
	int	 n;

	if (sd_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (sd_must_arrive(msg)) {
		if (sd_nqueue > 0 || sd_sendto(msg) == 1)
			sd_keep(msg);	/* behind the ones waiting */
		return;
	}
	if (strncmp(msg, "STATUS=", 7) == 0) {
		if (strcmp(msg, sd_status) == 0)
			return;
		snprintf(sd_status, sizeof(sd_status), "%s", msg);
	}
	/* while messages wait, or when it would wait: dropped */
	if (sd_nqueue > 0 || sd_sendto(msg) == 1)
		sd_status[0] = '\0';	/* the next one is not a repeat */
}

void
sdnotify_close(void)
{
	if (sd_fd == -1)
		return;
	sd_flush();			/* a last try, e.g. at STOPPING=1 */
	if (sd_loop != NULL) {
		ev_timer_stop(sd_loop, &sd_watchdog);
		ev_timer_stop(sd_loop, &sd_retry);
	}
	sd_nqueue = 0;
	close(sd_fd);
	sd_fd = -1;
}
