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

static void
sd_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sdnotify_send("WATCHDOG=1");
}

int
sdnotify_init(struct ev_loop *loop)
{
	const char	*path = getenv("NOTIFY_SOCKET"), *wd, *wpid;
	size_t		 n;
	long long	 usec;
	char		*end;

	sd_loop = loop;
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
	if ((sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
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
	if (strncmp(msg, "STATUS=", 7) == 0) {
		if (strcmp(msg, sd_status) == 0)
			return;
		snprintf(sd_status, sizeof(sd_status), "%s", msg);
	}
	if (sendto(sd_fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sd_addr, sd_addrlen) == -1)
		log_debug("NOTIFY_SOCKET: sendto: %s", strerror(errno));
}

void
sdnotify_close(void)
{
	if (sd_fd == -1)
		return;
	if (sd_loop != NULL)
		ev_timer_stop(sd_loop, &sd_watchdog);
	close(sd_fd);
	sd_fd = -1;
}
