/*
 * linebuf.h -- a capped line reader and a growable output buffer for
 * non-blocking sockets.
 */
#ifndef HERD_LINEBUF_H
#define HERD_LINEBUF_H

#include <stddef.h>
#include <sys/types.h>

struct linebuf {
	char	*buf;
	size_t	 off;		/* start of unread data */
	size_t	 len;		/* end of data */
	size_t	 scan;		/* bytes from off already known to hold no \n */
	size_t	 cap;		/* allocated: grows to max, shrinks when idle */
	size_t	 max;		/* longest line kept, line ending included */
};

struct outbuf {
	char	*buf;
	size_t	 off, len, cap;
};

void	 linebuf_init(struct linebuf *lb, size_t max);
void	 linebuf_free(struct linebuf *lb);

/*
 * Read what the socket has, up to the cap.  The buffer starts small and
 * grows only for long lines; an empty buffer that grew is given back, so an
 * idle connection holds a few KiB at most.  Returns bytes read, 0 at end of
 * input, -1 on error (errno; EAGAIN when there is nothing), or -2 when the
 * buffer is full and holds no complete line (see linebuf_take).
 */
ssize_t	 linebuf_fill(struct linebuf *lb, int fd);

/*
 * linebuf_fill in two steps, for a reader other than read(2) (TLS): room
 * at the end of the buffer, grown or compacted as linebuf_fill does it;
 * 0 with *p and *room set, -1 out of memory, or -2 full (as linebuf_fill).
 * linebuf_commit then keeps the n bytes (at most *room) written there.
 */
int	 linebuf_room(struct linebuf *lb, char **p, size_t *room);
void	 linebuf_commit(struct linebuf *lb, size_t n);

/*
 * The next complete line, without "\n" or "\r\n".  Returns 1 with *line
 * and *len set (valid until the next fill), or 0 when there is none.
 */
int	 linebuf_next(struct linebuf *lb, const char **line, size_t *len);

/* The unterminated rest, at end of input: 1 when there is any. */
int	 linebuf_rest(struct linebuf *lb, const char **line, size_t *len);

/* Bytes waiting without a newline (all of them: the buffer is full). */
size_t	 linebuf_pending(const struct linebuf *lb);

/* Forget the first n pending bytes. */
void	 linebuf_drop(struct linebuf *lb, size_t n);

void	 outbuf_free(struct outbuf *ob);
int	 outbuf_add(struct outbuf *ob, const void *p, size_t n);
/* Reserve n bytes at the end; returns where to write them, or NULL. */
char	*outbuf_reserve(struct outbuf *ob, size_t n);
size_t	 outbuf_len(const struct outbuf *ob);
/* Forget the first n bytes (written elsewhere); all gone: empty. */
void	 outbuf_consume(struct outbuf *ob, size_t n);

/*
 * Write as much as the socket takes.  Returns 0 when all is written, 1 when
 * some is left (wait for POLLOUT), -1 on error (errno).
 */
int	 outbuf_write(struct outbuf *ob, int fd);

#endif /* HERD_LINEBUF_H */
