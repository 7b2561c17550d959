/*
 * client_reply.c -- the reply queue of a client connection (see
 * client_int.h).
 *
 * Every command gets a slot in its connection's queue, so replies go out
 * in the order of the commands even when a WHATSAT waits for Places while
 * later commands are already answered.  With a journal, the replies made
 * after an update was stored wait in "held", with a copy in "alt" that
 * answers those updates "? IAMAT ..." instead: if the journal could not
 * be written that is what goes out (client_release), so no AT is ever
 * sent for an update not on disk.
 */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "linebuf.h"
#include "log.h"
#include "places.h"

/*
 * Replies given back, for the next ones: 32 of them (a connection's
 * pipeline of WHATSATs answered at once), each with its data's buffer if
 * it holds at most 8 KiB (an offline answer of 20 places is under 6): at
 * most 256 KiB, the memory of the busiest moment, kept for the next.
 */
#define CLIENT_REPLY_KEEP	32
#define CLIENT_REPLY_BUF	8192

static struct reply	*client_reply_pool;
static int		 client_reply_npool;

struct reply *
client_reply_new(struct client *c)
{
	struct reply	*r;
	struct outbuf	 data = { NULL, 0, 0, 0 };

	if ((r = client_reply_pool) != NULL) {
		client_reply_pool = r->next;
		client_reply_npool--;
		data = r->data;
		memset(r, 0, sizeof(*r));
		r->data.buf = data.buf;
		r->data.cap = data.cap;
	} else if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	*c->tailp = r;
	c->tailp = &r->next;
	return r;
}

void
client_reply_put(struct reply *r)
{
	outbuf_free(&r->alt);
	if (client_reply_npool >= CLIENT_REPLY_KEEP ||
	    r->data.cap > CLIENT_REPLY_BUF) {
		outbuf_free(&r->data);
		free(r);
		return;
	}
	r->data.off = r->data.len = 0;
	r->next = client_reply_pool;
	client_reply_pool = r;
	client_reply_npool++;
}

void
client_reply_drop(void)
{
	struct reply	*r;

	while ((r = client_reply_pool) != NULL) {
		client_reply_pool = r->next;
		outbuf_free(&r->data);
		free(r);
	}
	client_reply_npool = 0;
}

/*
 * Put bytes after everything answered before: in the output, or, once a
 * stored IAMAT is held in this batch, in held and alt alike.
 */
static int
client_emit(struct client *c, const char *p, size_t n)
{
	if (!c->holding)
		return outbuf_add(&c->out, p, n);
	if (outbuf_add(&c->held, p, n) == -1 || outbuf_add(&c->alt, p, n) == -1)
		return -1;
	return 0;
}

int
client_reply(struct client *c, const char *a, size_t alen, const char *b,
    size_t blen, const char *alt, size_t altlen, int held)
{
	struct reply	*r;
	struct outbuf	*ob = NULL;
	size_t		 n = alen + blen + 1;

	if (c->head != NULL && c->head->done && client_collect(c) == -1)
		return -1;
	if (c->head != NULL) {
		if ((r = client_reply_new(c)) == NULL)
			return -1;
		r->done = 1;
		ob = &r->data;
		if (held) {
			r->held = 1;
			if (outbuf_add(&r->alt, "? ", 2) == -1 ||
			    outbuf_add(&r->alt, alt, altlen) == -1 ||
			    outbuf_add(&r->alt, "\n", 1) == -1)
				return -1;
		}
	} else if (held || c->holding) {
		if (!c->holding) {
			c->holding = 1;
			outbuf_consume(&c->held, outbuf_len(&c->held));
			outbuf_consume(&c->alt, outbuf_len(&c->alt));
		}
		ob = &c->held;
		if (held) {
			if (outbuf_add(&c->alt, "? ", 2) == -1 ||
			    outbuf_add(&c->alt, alt, altlen) == -1 ||
			    outbuf_add(&c->alt, "\n", 1) == -1)
				return -1;
		} else if (outbuf_add(&c->alt, a, alen) == -1 ||
		    outbuf_add(&c->alt, b, blen) == -1 ||
		    outbuf_add(&c->alt, "\n", 1) == -1)
			return -1;
	} else
		ob = &c->out;
	/* outbuf_add may move what is queued: the reply is the last n bytes */
	if (outbuf_add(ob, a, alen) == -1 || outbuf_add(ob, b, blen) == -1 ||
	    outbuf_add(ob, "\n", 1) == -1)
		return -1;
	if (ob != &c->out && ob != &c->held)
		c->queued += n;
	log_line_at(c->tag_out, ob->buf + ob->len - n, n - 1, c->now.sec,
	    c->now.nsec);
	return 0;
}

int
client_invalid(struct client *c, const char *line, size_t len)
{
	return client_reply(c, "? ", 2, line, len, NULL, 0, 0);
}

int
client_collect(struct client *c)
{
	struct reply	*r;
	int		 n = 0;

	while ((r = c->head) != NULL && r->done && !r->held) {
		if (client_emit(c, r->data.buf + r->data.off,
		    outbuf_len(&r->data)) == -1)
			return -1;
		c->queued -= outbuf_len(&r->data);
		c->head = r->next;
		client_reply_put(r);
		n++;
	}
	if (c->head == NULL)
		c->tailp = &c->head;
	return n;
}

int
client_release(struct client *c, int written)
{
	struct reply	*r;
	struct outbuf	 t;

	for (r = c->head; r != NULL; r = r->next)
		if (r->held) {
			if (!written) {
				c->queued -= outbuf_len(&r->data);
				t = r->data, r->data = r->alt, r->alt = t;
				c->queued += outbuf_len(&r->data);
			}
			r->held = 0;
		}
	if (c->holding) {
		c->holding = 0;
		if (client_emit(c, written ? c->held.buf + c->held.off :
		    c->alt.buf + c->alt.off, outbuf_len(written ? &c->held :
		    &c->alt)) == -1)
			return -1;
		outbuf_consume(&c->held, outbuf_len(&c->held));
		outbuf_consume(&c->alt, outbuf_len(&c->alt));
	}
	return client_collect(c) == -1 ? -1 : 0;
}

void
client_replies_free(struct client *c)
{
	struct reply	*r, *next;

	for (r = c->head; r != NULL; r = next) {
		next = r->next;
		if (r->req != NULL)
			places_cancel(r->req);
		client_reply_put(r);
	}
	c->head = NULL;
	c->tailp = &c->head;
}
