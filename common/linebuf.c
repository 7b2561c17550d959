/*
 * linebuf.c -- capped line input and buffered output (see linebuf.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

#define LINEBUF_INIT	4096		/* first allocation */
#define LINEBUF_KEEP	16384		/* an idle buffer larger goes */
#define OUTBUF_KEEP	65536

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->off = lb->len = lb->scan = lb->cap = 0;
}

int
linebuf_room(struct linebuf *lb, char **p, size_t *room)
{
	size_t	 cap;
	char	*q;

	if (lb->buf != NULL && lb->off == lb->len) {
		lb->off = lb->len = lb->scan = 0;
		if (lb->cap > LINEBUF_KEEP) {
			free(lb->buf);
			lb->buf = NULL;
		}
	}
	if (lb->buf == NULL) {
		lb->cap = lb->max < LINEBUF_INIT ? lb->max : LINEBUF_INIT;
		if ((lb->buf = malloc(lb->cap)) == NULL)
			return -1;
	}
	if (lb->len == lb->cap && lb->off > 0) {
		memmove(lb->buf, lb->buf + lb->off, lb->len - lb->off);
		lb->len -= lb->off;
		lb->off = 0;
	}
	if (lb->len == lb->cap && lb->cap < lb->max) {
		cap = lb->cap * 2 < lb->max ? lb->cap * 2 : lb->max;
		if ((q = realloc(lb->buf, cap)) == NULL)
			return -1;
		lb->buf = q;
		lb->cap = cap;
	}
	if ((*room = lb->cap - lb->len) == 0)
		return -2;
	*p = lb->buf + lb->len;
	return 0;
}

void
linebuf_commit(struct linebuf *lb, size_t n)
{
	lb->len += n;
}

ssize_t
linebuf_fill(struct linebuf *lb, int fd)
{
	size_t	 room;
	ssize_t	 n;
	char	*p;
	int	 rc;

	if ((rc = linebuf_room(lb, &p, &room)) != 0)
		return rc;
	do {
		n = read(fd, p, room);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		linebuf_commit(lb, (size_t)n);
	return n;
}

int
linebuf_next(struct linebuf *lb, const char **line, size_t *len)
{
	char	*start, *nl;
	size_t	 n;

	if (lb->buf == NULL)
		return 0;
	start = lb->buf + lb->off;
	nl = memchr(start + lb->scan, '\n', lb->len - lb->off - lb->scan);
	if (nl == NULL) {
		lb->scan = lb->len - lb->off;
		return 0;
	}
	n = (size_t)(nl - start);
	lb->off += n + 1;
	lb->scan = 0;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	*len = n;
	return 1;
}

int
linebuf_rest(struct linebuf *lb, const char **line, size_t *len)
{
	if (lb->buf == NULL || lb->off == lb->len)
		return 0;
	*line = lb->buf + lb->off;
	*len = lb->len - lb->off;
	lb->off = lb->len;
	lb->scan = 0;
	return 1;
}

size_t
linebuf_pending(const struct linebuf *lb)
{
	return lb->len - lb->off;
}

void
linebuf_drop(struct linebuf *lb, size_t n)
{
	if (n > lb->len - lb->off)
		n = lb->len - lb->off;
	lb->off += n;
	lb->scan = lb->scan > n ? lb->scan - n : 0;
}

void
outbuf_free(struct outbuf *ob)
{
	free(ob->buf);
	memset(ob, 0, sizeof(*ob));
}

char *
outbuf_reserve(struct outbuf *ob, size_t n)
{
	char	*p;
	size_t	 cap;

	if (ob->off > 0 && ob->off == ob->len)
		ob->off = ob->len = 0;
	if (ob->cap - ob->len < n && ob->off > 0) {
		memmove(ob->buf, ob->buf + ob->off, ob->len - ob->off);
		ob->len -= ob->off;
		ob->off = 0;
	}
	if (ob->cap - ob->len < n) {
		cap = ob->cap ? ob->cap : 4096;
		while (cap - ob->len < n) {
			if (cap > ((size_t)-1) / 2)
				return NULL;
			cap *= 2;
		}
		if ((p = realloc(ob->buf, cap)) == NULL)
			return NULL;
		ob->buf = p;
		ob->cap = cap;
	}
	p = ob->buf + ob->len;
	ob->len += n;
	return p;
}

int
outbuf_add(struct outbuf *ob, const void *data, size_t n)
{
	char	*p;

	if (n == 0)
		return 0;
	if ((p = outbuf_reserve(ob, n)) == NULL)
		return -1;
	memcpy(p, data, n);
	return 0;
}

void
outbuf_consume(struct outbuf *ob, size_t n)
{
	if (n > ob->len - ob->off)
		n = ob->len - ob->off;
	ob->off += n;
	if (ob->off < ob->len)
		return;
	ob->off = ob->len = 0;
	if (ob->cap > OUTBUF_KEEP) {
		free(ob->buf);
		ob->buf = NULL;
		ob->cap = 0;
	}
}

size_t
outbuf_len(const struct outbuf *ob)
{
	return ob->len - ob->off;
}

int
outbuf_write(struct outbuf *ob, int fd)
{
	ssize_t	 n;

	while (ob->off < ob->len) {
		n = write(fd, ob->buf + ob->off, ob->len - ob->off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		ob->off += (size_t)n;
	}
	ob->off = ob->len = 0;
	if (ob->cap > OUTBUF_KEEP) {	/* a burst is over: give it back */
		free(ob->buf);
		ob->buf = NULL;
		ob->cap = 0;
	}
	return 0;
}
