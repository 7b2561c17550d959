/*
 * test_linebuf.c -- the capped line reader over a real socket pair, and
 * log_line, which quotes what the buffers carry.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linebuf.h"
#include "log.h"
#include "tap.h"

/* log_line with a tag far longer than any the node uses: cut, no overflow. */
static void
test_log_line(void)
{
	char	 path[] = "/tmp/test_linebuf.XXXXXX", tag[3000], data[1500];
	char	 text[16384], *sp;
	ssize_t	 n;
	int	 fd;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp");
		return;
	}
	memset(tag, 'T', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	memset(data, 1, sizeof(data));
	ok(log_init("t", path, 0) == 0, "log to a file");
	log_line(tag, data, sizeof(data));
	log_close();
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	unlink(path);
	text[n > 0 ? n : 0] = '\0';
	sp = strstr(text, "t: ");
	ok(sp != NULL && strspn(sp + 3, "T") == 96 && sp[3 + 96] == ' ' &&
	    strncmp(sp + 3 + 97, "\\x01\\x01", 8) == 0,
	    "a long tag is cut at 96 bytes");
	ok(n > 0 && strstr(text, "... (1500 bytes)\n") != NULL &&
	    (size_t)n < 100 + 96 + 4 * 1024 + 32, "the line is cut at 1024 bytes");
}

int
main(void)
{
	struct linebuf	 lb;
	struct outbuf	 ob;
	const char	*line, *line_p;
	size_t		 len;
	int		 sv[2];
	char		 big[100];

	signal(SIGPIPE, SIG_IGN);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	linebuf_init(&lb, 16);
	ok(linebuf_fill(&lb, sv[0]) == -1 && errno == EAGAIN,
	    "nothing to read: EAGAIN");
	write(sv[1], "ab\r\ncd\nef", 9);
	ok(linebuf_fill(&lb, sv[0]) == 9, "reads 9 bytes");
	ok(linebuf_next(&lb, &line, &len) == 1 && len == 2 &&
	    memcmp(line, "ab", 2) == 0, "\\r\\n ending stripped");
	ok(linebuf_next(&lb, &line, &len) == 1 && len == 2 &&
	    memcmp(line, "cd", 2) == 0, "\\n ending stripped");
	ok(linebuf_next(&lb, &line, &len) == 0, "no complete line left");
	write(sv[1], "gh\n", 3);
	linebuf_fill(&lb, sv[0]);
	ok(linebuf_next(&lb, &line, &len) == 1 && len == 4 &&
	    memcmp(line, "efgh", 4) == 0, "a line split over two reads");
	memset(big, 'x', sizeof(big));
	write(sv[1], big, 20);
	ok(linebuf_fill(&lb, sv[0]) > 0, "fills up to the cap");
	ok(linebuf_next(&lb, &line, &len) == 0 &&
	    linebuf_pending(&lb) == 16, "full and no newline");
	ok(linebuf_fill(&lb, sv[0]) == -2, "full buffer: -2, not a read");
	linebuf_drop(&lb, 16);
	ok(linebuf_fill(&lb, sv[0]) == 4 && linebuf_pending(&lb) == 4,
	    "after dropping, the rest is read");
	close(sv[1]);
	ok(linebuf_fill(&lb, sv[0]) == 0, "end of input");
	ok(linebuf_rest(&lb, &line, &len) == 1 && len == 4,
	    "the unterminated rest at end of input");
	ok(linebuf_rest(&lb, &line, &len) == 0, "and only once");
	linebuf_free(&lb);

	/* the buffer grows for a long line and is given back once idle */
	{
		static char	 line[40000];
		int		 pv[2];

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pv);
		linebuf_init(&lb, 65536);
		write(pv[1], "x", 1);
		linebuf_fill(&lb, pv[0]);
		ok(lb.cap == 4096, "an idle connection holds 4 KiB (%zu)",
		    lb.cap);
		memset(line, 'y', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		write(pv[1], line, sizeof(line));
		while (linebuf_fill(&lb, pv[0]) > 0)
			;
		ok(lb.cap == 65536 && linebuf_next(&lb, &line_p, &len) == 1 &&
		    len == sizeof(line), "grows to hold a 40000-byte line");
		write(pv[1], "z\n", 2);
		linebuf_fill(&lb, pv[0]);
		ok(lb.cap == 4096 && linebuf_next(&lb, &line_p, &len) == 1 &&
		    len == 1, "and shrinks back when it was drained");
		linebuf_free(&lb);
		close(pv[0]);
		close(pv[1]);
	}

	/* an output burst is given back once written */
	{
		static char	 big[100000], sink[65536];
		int		 pv[2], rc;

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pv);
		memset(&ob, 0, sizeof(ob));
		outbuf_add(&ob, big, sizeof(big));
		while ((rc = outbuf_write(&ob, pv[0])) == 1)
			while (read(pv[1], sink, sizeof(sink)) > 0)
				;
		ok(rc == 0 && ob.buf == NULL && ob.cap == 0,
		    "a 100000-byte burst, written, is given back");
		outbuf_add(&ob, "hi", 2);
		ok(outbuf_write(&ob, pv[0]) == 0 && ob.cap == 4096,
		    "a small buffer is kept");
		outbuf_free(&ob);
		close(pv[0]);
		close(pv[1]);
	}

	memset(&ob, 0, sizeof(ob));
	ok(outbuf_add(&ob, "hello", 5) == 0 && outbuf_len(&ob) == 5,
	    "outbuf holds bytes");
	ok(outbuf_write(&ob, sv[0]) == -1 && errno == EPIPE,
	    "write to a closed peer fails");
	outbuf_free(&ob);
	close(sv[0]);

	test_log_line();
	return tap_done();
}
