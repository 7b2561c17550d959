/*
 * test_log.c -- the log's levels and its quoting of protocol lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char	 path[] = "/tmp/test_log.XXXXXX";

/* What the log file holds now (the events' text after "NAME: "). */
static const char *
contents(void)
{
	static char	 buf[1 << 16];
	ssize_t		 n;
	int		 fd;

	log_flush();
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
reset(void)
{
	log_flush();
	if (truncate(path, 0) == -1)
		perror(path);
}

/* The quoting, byte by byte, as log.h specifies it. */
static void
quote(char *out, const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			*out++ = (char)p[i];
		else
			out += sprintf(out, "\\x%02x", p[i]);
	}
	*out = '\0';
}

/* 1 when n bytes of line logged come out quoted as quote() quotes them. */
static int
logged_quoted(const unsigned char *line, size_t n)
{
	static char	 want[1400];
	const char	*l;
	size_t		 wl;

	reset();
	log_line("t", (const char *)line, n);
	quote(want, line, n);
	wl = strlen(want);
	l = strstr(contents(), "T: t ");
	return l != NULL && strncmp(l + 5, want, wl) == 0 && l[5 + wl] == '\n';
}

int
main(void)
{
	unsigned char	 line[300];
	const char	*c;
	size_t		 i, off;
	int		 fd, bad = 0;

	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	if (log_init("T", path, 0) == -1)
		return 1;

	/* every byte value, at every alignment, through the word-wise scan */
	for (i = 0; i < 256; i++)
		line[i] = (unsigned char)i;
	for (off = 0; off < 16 && !bad; off++)
		bad = !logged_quoted(line + off, 200);
	ok(!bad, "every byte quoted right at every alignment (off %zu)",
	    off - 1);
	memset(line, 'a', sizeof(line));
	for (i = 0; i < 64 && !bad; i++) {
		static const unsigned char odd[] = { 0x1f, 0x20, 0x7e, 0x7f,
		    0x5c, 0x5b, 0x5d, 0x80, 0xff, 0x00 };
		size_t	 k;

		for (k = 0; k < sizeof(odd) && !bad; k++) {
			memset(line, 'a', 64);
			line[i] = odd[k];
			bad = !logged_quoted(line, 64);
		}
	}
	ok(!bad, "one odd byte anywhere among plain ones is quoted");
	for (i = 0; i < 40 * 40 && !bad; i++) {	/* two, anywhere */
		memset(line, 'a', 40);
		line[i / 40] = '\n';
		line[i % 40] = i % 3 ? '\\' : 0x80;
		bad = !logged_quoted(line, 40);
	}
	ok(!bad, "two odd bytes anywhere among plain ones are quoted");
	srand(5);
	for (i = 0; i < 2000 && !bad; i++) {	/* odd ones here and there */
		size_t	 k, n = (size_t)rand() % 300;

		for (k = 0; k < n; k++)
			line[k] = rand() % 10 ? (unsigned char)(0x20 +
			    rand() % 0x5f) : (unsigned char)rand();
		bad = !logged_quoted(line, n);
	}
	ok(!bad, "random lines, one byte in ten odd, are quoted (%zu)", i);

	reset();
	log_line_at("at", "x", 1, 1700000000, 123456789);
	ok(strncmp(contents(), "2023-11-14T22:13:20.123456Z T: at x\n", 36) ==
	    0, "log_line_at stamps the time given: %s", contents());
	/* the prefix is kept and mended: microseconds, seconds, the name */
	reset();
	log_line_at("a", "1", 1, 1700000000, 123456999);
	log_line_at("b", "2", 1, 1700000000, 1);
	log_line_at("c", "3", 1, 1700000061, 999999000);
	log_line_at("d", "4", 1, 1700000061, 999999000);
	ok(strcmp(contents(), "2023-11-14T22:13:20.123456Z T: a 1\n"
	    "2023-11-14T22:13:20.000000Z T: b 2\n"
	    "2023-11-14T22:14:21.999999Z T: c 3\n"
	    "2023-11-14T22:14:21.999999Z T: d 4\n") == 0,
	    "each line's own microsecond and second: %s", contents());
	if (log_init("Longer", path, 0) == -1)
		return 1;
	reset();
	log_line_at("e", "5", 1, 1700000061, 999999000);
	if (log_init("T", path, 0) == -1)
		return 1;
	log_line_at("f", "6", 1, 1700000061, 5000);
	ok(strcmp(contents(), "2023-11-14T22:14:21.999999Z Longer: e 5\n"
	    "2023-11-14T22:14:21.000005Z T: f 6\n") == 0,
	    "a new name in the same microsecond: %s", contents());
	/* a prefix past the fixed-size copy (a name of 19 and 63 bytes) */
	if (log_init("Nineteen-characters", path, 0) == -1)
		return 1;
	reset();
	log_line_at("g", "7", 1, 1700000061, 5000);
	if (log_init("a-server-name-of-sixty-three-bytes-which-herd-ini-allows-as-max",
	    path, 0) == -1)
		return 1;
	log_line_at("h", "8", 1, 1700000061, 5000);
	if (log_init("T", path, 0) == -1)
		return 1;
	ok(strcmp(contents(),
	    "2023-11-14T22:14:21.000005Z Nineteen-characters: g 7\n"
	    "2023-11-14T22:14:21.000005Z a-server-name-of-sixty-three-bytes-"
	    "which-herd-ini-allows-as-max: h 8\n") == 0,
	    "long names: %s", contents());

	/* levels: what is and is not written */
	log_set_level(LOG_LEVEL_NOTICE);
	reset();
	log_line("proto", "IAMAT", 5);
	log_info("an info event");
	log_debug("a debug event");
	log_notice("a connection");
	log_warnx("a failure");
	c = contents();
	ok(strstr(c, "proto") == NULL && strstr(c, "info event") == NULL &&
	    strstr(c, "debug") == NULL && strstr(c, "a connection") != NULL &&
	    strstr(c, "a failure") != NULL, "notice: no protocol lines");
	log_set_level(LOG_LEVEL_ERROR);
	reset();
	log_notice("a connection");
	log_warnx("a failure");
	ok(contents()[0] == '\0', "error: neither notices nor warnings");
	log_set_level(LOG_LEVEL_INFO);
	reset();
	log_line("proto", "IAMAT", 5);
	log_debug("a debug event");
	c = contents();
	ok(strstr(c, "proto IAMAT") != NULL && strstr(c, "debug") == NULL,
	    "info: protocol lines, no debug");
	log_set_level(LOG_LEVEL_DEBUG);
	reset();
	log_debug("a debug event");
	ok(strstr(contents(), "a debug event") != NULL, "debug: all");
	ok(log_level_parse("warning") == LOG_LEVEL_WARNING &&
	    log_level_parse("loud") == -1 &&
	    strcmp(log_level_name(LOG_LEVEL_NOTICE), "notice") == 0,
	    "level names");
	log_close();
	unlink(path);
	return tap_done();
}
