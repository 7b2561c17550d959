/*
 * ctlclient.c -- herdctl's side of herdd's control socket: connect, send
 * one line, read one reply line (control.h has the protocol).
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
#include <sys/time.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctlclient.h"

#define CTLCLIENT_REPLY_MAX	(16 * 1024 * 1024)
#define CTLCLIENT_TIMEOUT_S	30	/* a command answered at once */
#define CTLCLIENT_WAIT_S	600	/* one that waits: herdd's deadlines */

int
ctlclient_connect(const char *path, int waits)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { waits ? CTLCLIENT_WAIT_S :
				    CTLCLIENT_TIMEOUT_S, 0 };
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		errx(1, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		errx(1, "no herdd listening on %s: %s", path,
		    strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		err(1, "setsockopt");
	return fd;
}

/* Send the line, read one reply line; returns it NUL-ended. */
char *
ctlclient_talk(int fd, const char *line, size_t len, const char *path)
{
	char	*buf = NULL, *nl = NULL, *t;
	size_t	 have = 0, cap = 0;
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, line, len)) == -1) {
			if (errno == EINTR)
				continue;
			/* closed on us: what it said first (a refusal) */
			if (errno == EPIPE || errno == ECONNRESET)
				break;
			errx(1, "%s: %s", path, strerror(errno));
		}
		line += n;
		len -= (size_t)n;
	}
	for (;;) {
		if (cap - have < 4096) {
			if (cap >= CTLCLIENT_REPLY_MAX)
				errx(1, "%s: reply too long", path);
			cap = cap ? cap * 2 : 8192;
			if ((t = realloc(buf, cap)) == NULL)
				err(1, "realloc");
			buf = t;
		}
		n = read(fd, buf + have, cap - have - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				errx(1, "%s: no reply from herdd", path);
			errx(1, "%s: %s", path, strerror(errno));
		}
		if (n == 0)
			break;
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl != NULL)
			break;
	}
	if (have == 0)
		errx(1, "%s: herdd closed the connection without a reply",
		    path);
	if (nl != NULL)
		*nl = '\0';
	else
		buf[have] = '\0';
	return buf;
}

struct json_object *
ctlclient_ask(const char *sock, const char *line)
{
	struct json_object	*reply, *v;
	char			*text;
	int			 fd;

	fd = ctlclient_connect(sock, 0);
	text = ctlclient_talk(fd, line, strlen(line), sock);
	close(fd);
	if ((reply = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "ok", &v))
		errx(1, "%s: not a reply from herdd", sock);
	free(text);
	if (!json_object_get_boolean(v)) {
		json_object_object_get_ex(reply, "error", &v);
		errx(1, "%s", v ? json_object_get_string(v) : "failed");
	}
	return reply;
}
