/*
 * client.c -- the client port (PROTOCOL.md): a connection's reading,
 * commands and writing; the order of the replies is client_reply.c's.
 *
 * A connection stops being read while its output is above CLIENT_OUT_HWM
 * or CLIENT_PENDING_MAX lookups are pending, so no client can make the
 * node buffer without bound.  A line longer than CLIENT_LINE_MAX is
 * answered "? LINE" by streaming it back as it arrives.
 *
 * Replies are not written as they are made: client_flush() writes each
 * connection once per loop iteration, after the journal and the links
 * (node.c), so an AT reply never leaves before its update is in the journal
 * and on its way to the neighbours; with a journal, those made after an
 * update was stored are held until then (client_release).
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "admit.h"
#include "client.h"
#include "client_int.h"
#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "linebuf.h"
#include "listener.h"
#include "log.h"
#include "peer.h"
#include "places.h"
#include "proto.h"
#include "ptls.h"
#include "sock.h"
#include "store.h"
#include "update.h"

static struct ev_loop		*client_loop;
static const struct herd_server	*client_self;
static struct listener		 client_listener;
static LIST_HEAD(, client)	 client_list = LIST_HEAD_INITIALIZER(client_list);
static size_t			 client_n;
static unsigned long		 client_ids;
static struct client		*client_pending;	/* to be flushed */
static ev_idle			 client_idle;	/* more to do: do not sleep */

static void	 client_service(struct client *);

size_t
client_count(void)
{
	return client_n;
}

/* Read what the connection has: linebuf_fill's contract, TLS or not. */
static ssize_t
client_fill(struct client *c)
{
	return c->tls != NULL ? ptls_linebuf_fill(c->tls, &c->in) :
	    linebuf_fill(&c->in, c->fd);
}

/* Write the output: outbuf_write's contract, TLS or not. */
static int
client_write(struct client *c)
{
	return c->tls != NULL ? ptls_outbuf_write(c->tls, &c->out) :
	    outbuf_write(&c->out, c->fd);
}

/* Why a read or a write failed (errno, or TLS's reason), for the log. */
static const char *
client_why(const struct client *c)
{
	if (c->tls != NULL && ptls_error(c->tls)[0] != '\0')
		return ptls_error(c->tls);
	return strerror(errno);
}

/* All is said: close_notify over TLS, then the end of the stream. */
static void
client_say_end(struct client *c)
{
	if (c->tls != NULL)
		ptls_close_notify(c->tls);
	shutdown(c->fd, SHUT_WR);
}

static void
client_free(struct client *c, const char *why)
{
	log_notice("client %lu %s closed (%s)", c->id, c->addr, why);
	ev_io_stop(client_loop, &c->rio);
	ev_io_stop(client_loop, &c->wio);
	client_replies_free(c);
	if (c->pending) {
		struct client **pp;

		for (pp = &client_pending; *pp != NULL; pp = &(*pp)->pnext)
			if (*pp == c) {
				*pp = c->pnext;
				break;
			}
	}
	ptls_free(c->tls);
	close(c->fd);
	admit_release(c->addr);
	linebuf_free(&c->in);
	outbuf_free(&c->out);
	outbuf_free(&c->held);
	outbuf_free(&c->alt);
	LIST_REMOVE(c, entry);
	client_n--;
	free(c);
}

/*
 * IAMAT: accept the update, and answer AT, held until the journal has it
 * (when there is a journal).  While the journal cannot be written the
 * update is refused: "? " and the line, as for any command not taken.
 */
static int
client_iamat(struct client *c, const struct proto_cmd *cmd,
    const struct htime *now, const char *line, size_t len)
{
	const struct store_rec	*r;
	char			 at[CLIENT_LINE_MAX + 128];
	size_t			 n;
	int			 rc, held;

	if (!journal_ok())
		return client_invalid(c, line, len);
	n = proto_format_at(at, sizeof(at), client_self->name, now, cmd);
	if (n == 0)
		return -1;
	rc = update_accept(cmd->id.p, cmd->id.len, &cmd->t, at, n,
	    STORE_SRC_CLIENT);
	if (rc == -1 || rc == UPDATE_REFUSED)
		return client_invalid(c, line, len);
	/*
	 * Held until this batch is written: a stored update, and also one not
	 * newer than a record of this same batch (its AT is a promise too).
	 */
	held = journal_enabled() && (rc == 1 ||
	    ((r = store_get(cmd->id.p, cmd->id.len)) != NULL &&
	    r->lseq > journal_durable()));
	return client_reply(c, at, n, NULL, 0, line, len, held);
}

/*
 * The answer: after the AT line in the reply's slot, or, when the reply
 * is first in the queue and nothing is held, with it straight into the
 * output (an offline answer, at once: one copy of it fewer).
 */
static void
client_places_cb(void *arg, const char *json, size_t len, int plain)
{
	struct reply	*r = arg;
	struct client	*c = r->c;
	struct outbuf	*ob = &r->data;
	size_t		 before = 0, n;
	char		*p;

	r->req = NULL;
	r->done = 1;
	c->npending--;
	if (c->head == r && !c->holding) {
		before = outbuf_len(&c->out);
		if (outbuf_add(&c->out, r->data.buf + r->data.off,
		    outbuf_len(&r->data)) == 0) {
			ob = &c->out;
			outbuf_consume(&r->data, outbuf_len(&r->data));
		}
	}
	p = outbuf_reserve(ob, len + 2);
	if (p != NULL && plain && len > 0) {	/* as proto_format_json frames
						 * it, without a pass */
		memcpy(p, json, len);
		p[len] = p[len + 1] = '\n';
	} else if (p != NULL)
		ob->len -= len + 2 - proto_format_json(p, json, len);
	/* outbuf_add may move what is queued: the reply is the last n bytes */
	n = outbuf_len(ob) - (ob == &c->out ? before : 0);
	if (ob == &r->data)
		c->queued += n;
	/*
	 * Answered at once (busy: in the command's turn): stamped as an AT
	 * and sent with the batch; later: stamped now and sent now.
	 */
	if (c->busy)
		log_line_at(c->tag_out, ob->buf + ob->len - n, n > 2 ? n - 2 : 0,
		    c->now.sec, c->now.nsec);
	else {
		log_line(c->tag_out, ob->buf + ob->len - n, n > 2 ? n - 2 : 0);
		client_service(c);
	}
}

static int
client_whatsat(struct client *c, const struct proto_cmd *cmd,
    const char *line, size_t len)
{
	const struct store_rec	*rec;
	struct reply		*r;
	struct proto_field	 f[7];
	double			 lat, lng;

	if ((rec = store_get(cmd->id.p, cmd->id.len)) == NULL ||
	    update_expired(rec))
		return client_invalid(c, line, len);
	/* "AT server diff id coords time": where the client said it is */
	if (proto_split(rec->at, rec->atlen, f, 7) != 6 ||
	    proto_parse_coords(f[4].p, f[4].len, &lat, &lng) == -1)
		return client_invalid(c, line, len);
	/*
	 * Replies done before it go to the output first, so that it is
	 * first in the queue more often (client_places_cb); then it goes at
	 * the end of the queue: on -1 the connection goes, and it.
	 */
	if (c->head != NULL && c->head->done && client_collect(c) == -1)
		return -1;
	if ((r = client_reply_new(c)) == NULL ||
	    outbuf_add(&r->data, rec->at, rec->atlen) == -1 ||
	    outbuf_add(&r->data, "\n", 1) == -1)
		return -1;
	c->npending++;
	/*
	 * The offline backend calls back before places_lookup() returns;
	 * client_places_cb() then only marks r done (we are busy), so r is
	 * still ours to write to here.
	 */
	r->req = places_lookup(lat, lng, cmd->radius_km * 1000.0,
	    cmd->max, client_places_cb, r);
	return 0;
}

static int
client_command(struct client *c, const char *line, size_t len)
{
	struct proto_cmd cmd;
	struct htime	 now;

	htime_now(&now);
	c->now = now;
	log_line_at(c->tag_in, line, len, now.sec, now.nsec);
	switch (proto_parse_client(line, len, &cmd)) {
	case PROTO_IAMAT:
		COUNT(IAMAT);
		return client_iamat(c, &cmd, &now, line, len);
	case PROTO_WHATSAT:
		COUNT(WHATSAT);
		return client_whatsat(c, &cmd, line, len);
	default:
		COUNT(INVALID);
		return client_invalid(c, line, len);
	}
}

/*
 * An over-long line: echo it into the output as it arrives, holding back a
 * trailing \r that may turn out to be part of a \r\n ending.
 */
static int
client_overlong(struct client *c)
{
	const char	*p = c->in.buf + c->in.off, *nl;
	size_t		 n = linebuf_pending(&c->in), k;

	if (!c->overlong) {
		log_info("client %lu recv a line over %d bytes: echoing it",
		    c->id, CLIENT_LINE_MAX);
		if (outbuf_add(&c->out, "? ", 2) == -1)
			return -1;
		COUNT(INVALID);
		c->overlong = 1;
		c->overlong_len = 0;
	}
	if ((nl = memchr(p, '\n', n)) != NULL) {
		k = (size_t)(nl - p);
		if (outbuf_add(&c->out, p, k > 0 && p[k - 1] == '\r' ? k - 1 :
		    k) == -1 || outbuf_add(&c->out, "\n", 1) == -1)
			return -1;
		linebuf_drop(&c->in, k + 1);
		c->overlong = 0;
		c->overlong_len += k;
		log_info("client %lu sent \"? \" and the %zu-byte line",
		    c->id, c->overlong_len);
		return 0;
	}
	k = n;
	if (!c->eof && k > 0 && p[k - 1] == '\r')
		k--;
	if (outbuf_add(&c->out, p, k) == -1)
		return -1;
	linebuf_drop(&c->in, k);
	c->overlong_len += k;
	if (c->eof) {
		c->overlong = 0;
		log_info("client %lu sent \"? \" and the %zu-byte line",
		    c->id, c->overlong_len);
		return outbuf_add(&c->out, "\n", 1);
	}
	return 0;
}

static int
client_throttled(const struct client *c)
{
	return c->npending >= CLIENT_PENDING_MAX ||
	    outbuf_len(&c->out) + c->queued >= CLIENT_OUT_HWM;
}

/* Handle the buffered commands; returns how many, or -1 on error. */
static int
client_parse(struct client *c)
{
	const char	*line;
	size_t		 len;
	int		 n = 0;

	while (!client_throttled(c)) {
		if (c->overlong) {
			if (client_overlong(c) == -1)
				return -1;
			if (c->overlong)
				break;
		} else if (linebuf_next(&c->in, &line, &len)) {
			if (client_command(c, line, len) == -1)
				return -1;
		} else if (linebuf_pending(&c->in) == c->in.max) {
			if (c->head != NULL)
				break;	/* echo after the replies before */
			if (client_overlong(c) == -1)
				return -1;
		} else if (c->eof && linebuf_rest(&c->in, &line, &len)) {
			if (client_command(c, line, len) == -1)
				return -1;
		} else
			break;
		n++;
	}
	return n;
}

static void
client_mark_pending(struct client *c)
{
	if (c->pending)
		return;
	c->pending = 1;
	c->pnext = client_pending;
	client_pending = c;
}

/*
 * Parse and collect until nothing moves (a reply collected may let an
 * over-long line held back behind it go on); client_flush() writes.
 */
static void
client_service(struct client *c)
{
	int	 n, m;

	c->busy = 1;
	for (;;) {
		if ((n = client_parse(c)) == -1 ||
		    (m = client_collect(c)) == -1) {
			c->busy = 0;
			client_free(c, "out of memory");
			return;
		}
		if (n == 0 && m == 0)
			break;
	}
	c->busy = 0;
	client_mark_pending(c);
}

/*
 * The batch is over (written is whether the journal took it): let the
 * held replies go as they are, or as their alternatives; write the output
 * once; decide what to wait for.  Frees the connection when it is done or
 * broken.
 */
static void
client_flush_one(struct client *c, int written)
{
	int	 rc, want, throttled = client_throttled(c);

	if (client_release(c, written) == -1) {
		client_free(c, "out of memory");
		return;
	}
	if ((rc = client_write(c)) == -1) {
		client_free(c, client_why(c));
		return;
	}
	/* over TLS, a write may wait to read, and a read to write */
	want = c->tls != NULL ? ptls_want(c->tls) : 0;
	if (rc == 1 || (want & EV_WRITE))
		ev_io_start(client_loop, &c->wio);
	else
		ev_io_stop(client_loop, &c->wio);
	if (c->eof && c->head == NULL && !c->overlong &&
	    linebuf_pending(&c->in) == 0 && rc == 0) {
		client_say_end(c);
		client_free(c, "end of input, all answered");
		return;
	}
	if (throttled && !client_throttled(c)) {
		client_service(c);	/* what it sent meanwhile */
		return;
	}
	if ((c->eof || client_throttled(c) ||
	    (linebuf_pending(&c->in) == c->in.max && !c->overlong)) &&
	    !(want & EV_READ))
		ev_io_stop(client_loop, &c->rio);
	else {
		ev_io_start(client_loop, &c->rio);
		/* read from the socket already: it will not say so again */
		if (c->tls != NULL && ptls_pending(c->tls))
			ev_feed_event(client_loop, &c->rio, EV_READ);
	}
}

void
client_flush(int written)
{
	struct client	*list = client_pending, *c;

	client_pending = NULL;
	while ((c = list) != NULL) {
		list = c->pnext;
		c->pending = 0;
		c->pnext = NULL;
		client_flush_one(c, written);
	}
	/* a client to serve again: the next iteration must not sleep */
	if (client_pending != NULL)
		ev_idle_start(client_loop, &client_idle);
	else
		ev_idle_stop(client_loop, &client_idle);
}

static void
client_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;			/* the prepare watcher does the work */
}

static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client	*c = (struct client *)((char *)w -
			    offsetof(struct client, rio));
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = client_fill(c);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			client_free(c, client_why(c));
		else if (c->tls != NULL)
			client_mark_pending(c);	/* a write may wait for it */
		return;
	}
	if (n == 0 && c->tls != NULL && !ptls_closed_cleanly(c->tls)) {
		/* not a half-close: the stream may have been cut short */
		client_free(c, "TLS ended without close_notify");
		return;
	}
	if (n == 0) {
		log_notice("client %lu half-closed", c->id);
		c->eof = 1;
	}
	client_service(c);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client	*c = (struct client *)((char *)w -
			    offsetof(struct client, wio));

	(void)revents;
	client_service(c);	/* what it holds is written out: released */
	if (c->tls != NULL && ev_is_active(&c->rio))
		ev_feed_event(loop, &c->rio, EV_READ);	/* a read may wait */
}

void
client_adopt(int fd, const char *addr, struct ptls *t)
{
	struct client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("accept: out of memory");
		admit_release(addr);
		ptls_free(t);
		close(fd);
		return;
	}
	c->fd = fd;
	c->tls = t;
	c->id = ++client_ids;
	snprintf(c->tag_in, sizeof(c->tag_in), "client %lu recv", c->id);
	snprintf(c->tag_out, sizeof(c->tag_out), "client %lu sent", c->id);
	c->tailp = &c->head;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	linebuf_init(&c->in, CLIENT_LINE_MAX);
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	ev_io_start(client_loop, &c->rio);
	LIST_INSERT_HEAD(&client_list, c, entry);
	client_n++;
	if (t == NULL)
		log_notice("client %lu connected from %s", c->id, c->addr);
	else {
		log_notice("client %lu connected from %s over TLS (%s, %s)",
		    c->id, c->addr, ptls_cipher(t), ptls_group(t));
		if (ptls_pending(t))	/* lines that came with the handshake */
			ev_feed_event(client_loop, &c->rio, EV_READ);
	}
}

static void
client_accept_cb(struct ev_loop *loop, int fd, const char *addr)
{
	(void)loop;
	if (admit_take(addr))
		client_adopt(fd, addr, NULL);
	else
		close(fd);
}

void
client_set_limits(const struct herd_limits *l)
{
	admit_set(l);
}

int
client_init(struct ev_loop *loop, const struct herd_server *self, char *err,
    size_t errlen)
{
	client_loop = loop;
	client_self = self;
	ev_idle_init(&client_idle, client_idle_cb);
	if (listener_start(&client_listener, loop, self->host, self->port,
	    "client", client_accept_cb, err, errlen) == -1)
		return -1;
	log_notice("listening for clients on %s port %u", self->host,
	    self->port);
	return 0;
}

void
client_shutdown(void)
{
	struct client	*c;

	listener_stop(&client_listener, client_loop);
	ev_idle_stop(client_loop, &client_idle);
	client_flush(journal_flush() == 0);
	while ((c = LIST_FIRST(&client_list)) != NULL) {
		client_collect(c);
		if (client_write(c) == 0)
			client_say_end(c);
		client_free(c, "server stopping");
	}
	client_reply_drop();
}
