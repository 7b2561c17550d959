/*
 * control.c -- herdd's control socket: accept (root or our own user only),
 * read command lines, reply in JSON, at once or when the command is done.
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
#include <sys/queue.h>
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
#include "linebuf.h"
#include "log.h"

struct ctl_conn {
	LIST_ENTRY(ctl_conn) entry;	/* in control_conns */
	int		 fd;
	ev_io		 rd_w;
	ev_io		 wr_w;
	struct linebuf	 in;
	int		 skipping;	/* inside an over-long line */
	struct outbuf	 out;		/* replies not written yet */
	struct control_req *busy;	/* a command not answered yet */
	int		 eof;		/* the peer is done sending */
	ev_tstamp	 heard;		/* when it last sent a byte (or came) */
	ev_timer	 idle_w;	/* CONTROL_IDLE_S without a byte either way */
};

struct control_req {
	struct ctl_conn	*conn;		/* NULL once it has gone */
};

static void	 control_accept_cb(struct ev_loop *, ev_io *, int);
static void	 control_pause_cb(struct ev_loop *, ev_timer *, int);
static void	 control_read_cb(struct ev_loop *, ev_io *, int);
static void	 control_idle_cb(struct ev_loop *, ev_timer *, int);
static void	 control_write_cb(struct ev_loop *, ev_io *, int);
static void	 control_close(struct ctl_conn *);
static void	 control_service(struct ctl_conn *);

static int		 control_fd = -1;
static char		 control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static ev_io		 control_accept_w;
static ev_timer		 control_pause_w;
static LIST_HEAD(, ctl_conn) control_conns =
    LIST_HEAD_INITIALIZER(control_conns);
static size_t		 control_nconns;
static control_run_fn	 control_run;

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
control_init(const char *path, control_run_fn run, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd;

	control_run = run;
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
	    listen(fd, 128) == -1) {
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
	while ((c = LIST_FIRST(&control_conns)) != NULL) {
		if (outbuf_write(&c->out, c->fd) != 0)
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
 * Nothing read from it and none of its replies taken for CONTROL_IDLE_S: a
 * client that will not finish its line, never sends one, or does not read
 * what it asked for gives its place back (64 such connections would lock
 * every herdctl out; a reply it leaves unread costs nothing but its own
 * connection).  A command being carried out (a rolling reload) is not
 * idleness.
 */
static void
control_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_conn	*c = w->data;

	(void)revents;
	if (c->busy != NULL) {
		ev_timer_again(loop, w);
		return;
	}
	log_notice("control: a connection idle for %d s closed%s",
	    CONTROL_IDLE_S, outbuf_len(&c->out) > 0 ? " (its replies unread)" :
	    linebuf_pending(&c->in) > 0 ? " (with an unfinished line)" : "");
	control_close(c);
}

/*
 * At CONTROL_CONN_MAX, a new connection takes the place of the one that
 * has been silent longest among those with nothing under way (no command
 * being carried out, no reply to write): a herdctl always gets in, however
 * many idle connections are held open.  -1 when every one is busy.
 */
static int
control_evict(void)
{
	struct ctl_conn	*c, *old = NULL;

	LIST_FOREACH(c, &control_conns, entry)
		if (c->busy == NULL && outbuf_len(&c->out) == 0 &&
		    (old == NULL || c->heard < old->heard))
			old = c;
	if (old == NULL)
		return -1;
	log_notice("control: %d connections: closed the one silent longest "
	    "(%.1f s)", CONTROL_CONN_MAX, ev_now(EV_DEFAULT) - old->heard);
	control_close(old);
	return 0;
}

/* Root, or the user herdd runs as: -1 (logged) for anyone else. */
static int
control_peer_ok(int fd, uid_t *uid)
{
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		return -1;
	}
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 0;
	log_warnx("control: refused a connection from uid %ld (pid %ld): "
	    "only root and uid %ld may control herdd", (long)cr.uid,
	    (long)cr.pid, (long)geteuid());
	return -1;
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c;
	uid_t		 uid = (uid_t)-1;
	int		 fd;
	char		 msg[160];

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
	if (control_peer_ok(fd, &uid) == -1) {
		snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"permission "
		    "denied: uid %ld is neither root nor herdd's user\"}\n",
		    (long)uid);
		(void)write(fd, msg, strlen(msg));
		close(fd);
		return;
	}
	if (control_nconns >= CONTROL_CONN_MAX && control_evict() == -1) {
		log_warnx("control: %d connections already, all busy; refusing "
		    "one", CONTROL_CONN_MAX);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control: calloc");
		close(fd);
		return;
	}
	c->fd = fd;
	c->heard = ev_now(loop);
	linebuf_init(&c->in, CONTROL_LINE_MAX + 2);
	ev_io_init(&c->rd_w, control_read_cb, fd, EV_READ);
	c->rd_w.data = c;
	ev_io_init(&c->wr_w, control_write_cb, fd, EV_WRITE);
	c->wr_w.data = c;
	ev_timer_init(&c->idle_w, control_idle_cb, 0., CONTROL_IDLE_S);
	c->idle_w.data = c;
	ev_timer_again(loop, &c->idle_w);
	ev_io_start(loop, &c->rd_w);
	LIST_INSERT_HEAD(&control_conns, c, entry);
	control_nconns++;
}

static void
control_close(struct ctl_conn *c)
{
	if (c->busy != NULL)
		c->busy->conn = NULL;	/* its answer goes nowhere */
	ev_io_stop(EV_DEFAULT_ &c->rd_w);
	ev_io_stop(EV_DEFAULT_ &c->wr_w);
	ev_timer_stop(EV_DEFAULT_ &c->idle_w);
	close(c->fd);
	LIST_REMOVE(c, entry);
	control_nconns--;
	linebuf_free(&c->in);
	outbuf_free(&c->out);
	free(c);
}

/* Queue a reply and free it.  -1 when the connection went over its cap. */
static int
control_reply(struct ctl_conn *c, struct json_object *o)
{
	const char	*s;
	size_t		 n;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = strlen(s);
	if (outbuf_len(&c->out) + n + 1 > CONTROL_OUT_MAX) {
		json_object_put(o);
		log_warnx("control: a client does not read its replies; "
		    "dropping it");
		return -1;
	}
	if (outbuf_add(&c->out, s, n) == -1 ||
	    outbuf_add(&c->out, "\n", 1) == -1) {
		json_object_put(o);
		log_warn("control: out of memory");
		return -1;
	}
	json_object_put(o);
	ev_io_start(EV_DEFAULT_ &c->wr_w);
	return 0;
}

struct json_object *
control_error(const char *msg)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

void
control_answer(struct control_req *req, struct json_object *reply)
{
	struct ctl_conn	*c = req->conn;

	free(req);
	if (c == NULL) {
		json_object_put(reply);
		return;
	}
	c->busy = NULL;
	if (control_reply(c, reply) == -1) {
		control_close(c);
		return;
	}
	ev_timer_again(EV_DEFAULT_ &c->idle_w);
	control_service(c);		/* the lines after it */
}

/* Run one command line; -1 when the connection must go. */
static int
control_dispatch(struct ctl_conn *c, const char *line, size_t len)
{
	static struct control_cmd cmd;	/* 8 KiB of names */
	struct control_req	*req;
	struct json_object	*res;

	if (control_parse(line, len, &cmd) == -1)
		return control_reply(c, control_error(cmd.error));
	if (cmd.verb == CONTROL_NONE)
		return 0;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return control_reply(c, control_error("out of memory"));
	req->conn = c;
	c->busy = req;
	if ((res = control_run(&cmd, req)) == NULL)
		return 0;		/* answered later */
	c->busy = NULL;
	free(req);
	return control_reply(c, res);
}

static int
control_throttled(const struct ctl_conn *c)
{
	return c->busy != NULL || outbuf_len(&c->out) > CONTROL_OUT_HIWAT;
}

/*
 * Run the lines read, one command at a time: while one is being carried
 * out, or past CONTROL_OUT_HIWAT of replies not yet written, the rest
 * wait (and nothing more is read), so that a client sending many commands
 * at once is throttled rather than dropped.
 */
static void
control_service(struct ctl_conn *c)
{
	const char	*line;
	size_t		 len;

	while (!control_throttled(c)) {
		if (linebuf_next(&c->in, &line, &len)) {
			if (c->skipping) {
				c->skipping = 0;	/* its end */
				if (control_reply(c, control_error("line too "
				    "long")) == -1)
					goto drop;
			} else if (control_dispatch(c, line, len) == -1)
				goto drop;
			continue;
		}
		if (linebuf_pending(&c->in) >= CONTROL_LINE_MAX + 1) {
			/* over-long: forget it up to its newline */
			linebuf_drop(&c->in, linebuf_pending(&c->in));
			c->skipping = 1;
		}
		if (c->eof && linebuf_rest(&c->in, &line, &len)) {
			/* a last line without its newline is still a command */
			if (c->skipping) {
				c->skipping = 0;
				if (control_reply(c, control_error("line too "
				    "long")) == -1)
					goto drop;
			} else if (control_dispatch(c, line, len) == -1)
				goto drop;
			continue;
		}
		if (c->eof && c->skipping) {
			c->skipping = 0;
			if (control_reply(c, control_error("line too long"))
			    == -1)
				goto drop;
		}
		break;
	}
	if (control_throttled(c) || c->eof)
		ev_io_stop(EV_DEFAULT_ &c->rd_w);
	else if (!ev_is_active(&c->rd_w))
		ev_io_start(EV_DEFAULT_ &c->rd_w);
	if (c->eof && c->busy == NULL && outbuf_len(&c->out) == 0 &&
	    linebuf_pending(&c->in) == 0)
		control_close(c);
	return;
drop:
	control_close(c);
}

static void
control_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;
	ssize_t		 n;

	(void)revents;
	n = linebuf_fill(&c->in, c->fd);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		control_close(c);
		return;
	}
	ev_timer_again(loop, &c->idle_w);	/* it spoke */
	c->heard = ev_now(loop);
	if (n == 0)
		c->eof = 1;
	control_service(c);
}

static void
control_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;
	int		 rc;

	(void)revents;
	if ((rc = outbuf_write(&c->out, c->fd)) == -1) {
		control_close(c);
		return;
	}
	ev_timer_again(loop, &c->idle_w);	/* it reads */
	if (rc == 1)
		return;
	ev_io_stop(loop, w);
	control_service(c);
}
