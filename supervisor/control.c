/*
 * control.c -- herdd's control socket: accept, read lines, reply in JSON.
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
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "control.h"
#include "herdd.h"
#include "log.h"
#include "proc.h"

#define CONTROL_CHUNK	4096	/* read at once */

struct ctl_conn {
	struct ctl_conn	*next;
	struct ctl_conn	*prev;
	int		 fd;
	ev_io		 rd_w;
	ev_io		 wr_w;
	char		 in[CONTROL_LINE_MAX + 1];	/* partial line */
	size_t		 inlen;
	int		 skipping;	/* inside an over-long line */
	char		 held[CONTROL_CHUNK];	/* read, not run yet */
	size_t		 heldlen;
	char		*out;		/* replies not written yet */
	size_t		 outlen;	/* bytes in out */
	size_t		 outoff;	/* of which written */
	size_t		 outcap;
	int		 eof;		/* the peer is done sending */
	ev_timer	 idle_w;	/* CONTROL_IDLE_S without a byte: close */
};

static void	 control_accept_cb(struct ev_loop *, ev_io *, int);
static void	 control_pause_cb(struct ev_loop *, ev_timer *, int);
static void	 control_read_cb(struct ev_loop *, ev_io *, int);
static void	 control_idle_cb(struct ev_loop *, ev_timer *, int);
static void	 control_write_cb(struct ev_loop *, ev_io *, int);
static void	 control_close(struct ctl_conn *);

static int		 control_fd = -1;
static char		 control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static ev_io		 control_accept_w;
static ev_timer		 control_pause_w;
static struct ctl_conn	*control_conns;
static size_t		 control_nconns;

static int
control_addr(const char *path, struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "%s: control socket path too long",
		    path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int
control_init(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd;

	if (control_addr(path, &sun, err, errlen) == -1)
		return -1;

	/* a live herdd answers: refuse; a stale file: replace it */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		snprintf(err, errlen, "%s: a herdd is already running here",
		    path);
		return -1;
	}
	close(fd);
	if (errno == ECONNREFUSED) {
		/* connect(2) says the same of a file that is no socket */
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket",
			    path);
			return -1;
		}
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
		log_notice("replaced the stale control socket %s", path);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sun.sun_path, S_IRUSR | S_IWUSR) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "listen %s: %s", sun.sun_path,
		    strerror(errno));
		unlink(sun.sun_path);
		close(fd);
		return -1;
	}
	control_fd = fd;
	snprintf(control_path, sizeof(control_path), "%s", path);
	ev_io_init(&control_accept_w, control_accept_cb, fd, EV_READ);
	ev_io_start(EV_DEFAULT_ &control_accept_w);
	ev_init(&control_pause_w, control_pause_cb);
	log_notice("control socket %s", path);
	return 0;
}

void
control_cleanup(void)
{
	struct ctl_conn	*c;

	/* one last try at the replies, e.g. to "shutdown" */
	while ((c = control_conns) != NULL) {
		if (c->outlen > c->outoff &&
		    write(c->fd, c->out + c->outoff, c->outlen - c->outoff)
		    == -1)
			log_debug("control: a last reply was lost");
		control_close(c);
	}
	if (control_fd != -1) {
		ev_io_stop(EV_DEFAULT_ &control_accept_w);
		ev_timer_stop(EV_DEFAULT_ &control_pause_w);
		close(control_fd);
		control_fd = -1;
		if (unlink(control_path) == -1)
			log_warn("unlink %s", control_path);
	}
}

static void
control_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_io_start(loop, &control_accept_w);
}

/*
 * Nothing read for CONTROL_IDLE_S and no reply waiting: a client that will
 * not finish its line, or never sends one, gives its place back (64 such
 * connections would lock every herdctl out).
 */
static void
control_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_conn	*c = w->data;

	(void)revents;
	if (c->outlen > c->outoff) {
		ev_timer_again(loop, w);	/* still being answered */
		return;
	}
	log_notice("control: a connection idle for %d s closed%s",
	    CONTROL_IDLE_S, c->inlen > 0 ? " (with an unfinished line)" : "");
	control_close(c);
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c;
	int		 fd;

	(void)revents;
	if ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* out of descriptors: pause accept for a second */
			log_warn("control: accept");
			ev_io_stop(loop, w);
			ev_timer_set(&control_pause_w, 1., 0.);
			ev_timer_start(loop, &control_pause_w);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (control_nconns >= CONTROL_CONN_MAX) {
		log_warnx("control: %d connections already; refusing one",
		    CONTROL_CONN_MAX);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control: calloc");
		close(fd);
		return;
	}
	c->fd = fd;
	ev_io_init(&c->rd_w, control_read_cb, fd, EV_READ);
	c->rd_w.data = c;
	ev_io_init(&c->wr_w, control_write_cb, fd, EV_WRITE);
	c->wr_w.data = c;
	ev_timer_init(&c->idle_w, control_idle_cb, 0., CONTROL_IDLE_S);
	c->idle_w.data = c;
	ev_timer_again(loop, &c->idle_w);
	ev_io_start(loop, &c->rd_w);
	c->next = control_conns;
	if (control_conns != NULL)
		control_conns->prev = c;
	control_conns = c;
	control_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	ev_io_stop(EV_DEFAULT_ &c->rd_w);
	ev_io_stop(EV_DEFAULT_ &c->wr_w);
	ev_timer_stop(EV_DEFAULT_ &c->idle_w);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		control_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	control_nconns--;
	free(c->out);
	free(c);
}

/* Queue a reply and free it.  -1 when the connection went over its cap. */
static int
control_reply(struct ctl_conn *c, struct json_object *o)
{
	const char	*s;
	size_t		 n, need;
	char		*t;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = strlen(s);
	need = c->outlen - c->outoff + n + 1;
	if (need > CONTROL_OUT_MAX) {
		json_object_put(o);
		log_warnx("control: a client does not read its replies; "
		    "dropping it");
		return -1;
	}
	if (c->outoff > 0) {		/* compact */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + n + 1 > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;

		while (cap < c->outlen + n + 1)
			cap *= 2;
		if ((t = realloc(c->out, cap)) == NULL) {
			json_object_put(o);
			log_warn("control: realloc");
			return -1;
		}
		c->out = t;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, n);
	c->out[c->outlen + n] = '\n';
	c->outlen += n + 1;
	json_object_put(o);
	ev_io_start(EV_DEFAULT_ &c->wr_w);
	return 0;
}

static struct json_object *
control_error(const char *msg)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* Run one command line; -1 when the connection must go. */
static int
control_dispatch(struct ctl_conn *c, const char *line, size_t len)
{
	struct control_cmd	 cmd;
	struct json_object	*res;
	char			 err[8192];
	int			 rc = 0, shutdown = 0;

	if (control_parse(line, len, &cmd) == -1)
		return control_reply(c, control_error(cmd.error));
	if (cmd.verb == CONTROL_NONE)
		return 0;
	err[0] = '\0';
	res = json_object_new_object();
	json_object_object_add(res, "ok", json_object_new_boolean(1));
	switch (cmd.verb) {
	case CONTROL_STATUS:
		rc = proc_status(cmd.name, res, err, sizeof(err));
		break;
	case CONTROL_START:
		rc = proc_ctl_start(cmd.name, res, err, sizeof(err));
		break;
	case CONTROL_STOP:
		rc = proc_ctl_stop(cmd.name, res, err, sizeof(err));
		break;
	case CONTROL_RESTART:
		rc = proc_ctl_restart(cmd.name, res, err, sizeof(err));
		break;
	case CONTROL_KILL:
		rc = proc_ctl_kill(cmd.name, cmd.signo, res, err, sizeof(err));
		break;
	case CONTROL_RELOAD:
		rc = herdd_reload(res, err, sizeof(err));
		break;
	case CONTROL_SHUTDOWN:
		log_notice("control: shutdown requested");
		shutdown = 1;
		break;
	case CONTROL_NONE:
		break;
	}
	if (rc == -1) {
		json_object_put(res);
		res = control_error(err);
	}
	if (control_reply(c, res) == -1)
		return -1;
	if (shutdown)
		herdd_shutdown();
	return 0;
}

/*
 * Feed bytes in (at most sizeof(c->held)); -1 when the connection must go.
 * Past CONTROL_OUT_HIWAT of replies not yet written, the rest is held
 * until the client has read them, so that a client sending many commands
 * at once is throttled rather than dropped.
 */
static int
control_input(struct ctl_conn *c, const char *buf, size_t n)
{
	const char	*nl;
	size_t		 take;

	while (n > 0) {
		if (c->outlen - c->outoff > CONTROL_OUT_HIWAT) {
			memmove(c->held, buf, n);	/* buf may be held */
			c->heldlen = n;
			return 0;
		}
		nl = memchr(buf, '\n', n);
		take = nl != NULL ? (size_t)(nl - buf) : n;
		if (!c->skipping && c->inlen + take <= CONTROL_LINE_MAX) {
			memcpy(c->in + c->inlen, buf, take);
			c->inlen += take;
		} else
			c->skipping = 1;
		if (nl != NULL) {
			if (c->skipping) {
				if (control_reply(c, control_error("line too "
				    "long")) == -1)
					return -1;
			} else if (control_dispatch(c, c->in, c->inlen) == -1)
				return -1;
			c->inlen = 0;
			c->skipping = 0;
			take++;
		}
		buf += take;
		n -= take;
	}
	return 0;
}

static void
control_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;
	char		 buf[CONTROL_CHUNK];
	ssize_t		 n;

	(void)revents;
	n = read(c->fd, buf, sizeof(buf));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		control_close(c);
		return;
	}
	ev_timer_again(loop, &c->idle_w);	/* it spoke */
	if (n == 0) {
		/* a last line without its newline is still a command */
		ev_io_stop(loop, w);
		c->eof = 1;
		if (c->inlen > 0 || c->skipping) {
			if (control_input(c, "\n", 1) == -1) {
				control_close(c);
				return;
			}
		}
		if (c->outlen == c->outoff)
			control_close(c);
		return;
	}
	if (control_input(c, buf, (size_t)n) == -1) {
		control_close(c);
		return;
	}
	if (c->heldlen > 0 || c->outlen - c->outoff > CONTROL_OUT_HIWAT)
		ev_io_stop(loop, w);	/* let it read what it asked for */
}

static void
control_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;
	ssize_t		 n;

	(void)revents;
	n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		control_close(c);
		return;
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return;
	c->outoff = c->outlen = 0;
	ev_io_stop(loop, w);
	if (c->heldlen > 0) {
		size_t	 held = c->heldlen;

		c->heldlen = 0;
		if (control_input(c, c->held, held) == -1) {
			control_close(c);
			return;
		}
		if (c->outlen > c->outoff)
			return;		/* this again once written */
	}
	if (c->eof)
		control_close(c);
	else if (!ev_is_active(&c->rd_w))
		ev_io_start(loop, &c->rd_w);
}
