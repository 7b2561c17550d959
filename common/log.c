/*
 * log.c -- buffered, time-stamped logging to one file per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_BUFSZ	(256 * 1024)	/* written once per iteration */
#define LOG_LINE_MAX	1024	/* protocol bytes quoted per line */
#define LOG_TAG_MAX	96	/* bytes of a log_line tag kept */

static char	 log_name[64] = "herd";
static size_t	 log_namelen = 4;
static int	 log_fd = -1;		/* -1: standard error */
static int	 log_echo;
static char	 log_buf[LOG_BUFSZ];
static size_t	 log_len;
int		 log_min = LOG_LEVEL_INFO;

static const char *const log_names[] = { "debug", "info", "notice",
    "warning", "error" };

int
log_level_parse(const char *s)
{
	int	 i;

	for (i = LOG_LEVEL_DEBUG; i <= LOG_LEVEL_ERROR; i++)
		if (strcmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	return level >= LOG_LEVEL_DEBUG && level <= LOG_LEVEL_ERROR ?
	    log_names[level] : "?";
}

void
log_set_level(int level)
{
	log_min = level;
	if (getenv("HERD_DEBUG") != NULL)
		log_min = LOG_LEVEL_DEBUG;
}

static void
log_write(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return;		/* nowhere left to complain */
		}
		p += w;
		n -= (size_t)w;
	}
}

void
log_flush(void)
{
	if (log_len == 0)
		return;
	log_write(log_fd == -1 ? STDERR_FILENO : log_fd, log_buf, log_len);
	log_len = 0;
}

int
log_init(const char *procname, const char *path, int echo)
{
	int	 fd = -1;

	snprintf(log_name, sizeof(log_name), "%s", procname);
	log_namelen = strlen(log_name);
	log_echo = echo;
	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
		if (fd == -1)
			return -1;
	}
	log_flush();
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void
log_close(void)
{
	log_flush();
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
}

/*
 * The time stamp and name that open an event, "2026-11-27T17:40:01.123456Z
 * NAME: ", at p (LOG_PREFIX_MAX bytes); returns its length.  Formatted by
 * hand: strftime once a second, the microseconds digit by digit.
 */
#define LOG_PREFIX_MAX	(32 + sizeof(log_name) + 2)
static size_t
log_prefix(char *p)
{
	static time_t	 sec = -1;		/* the second in secbuf */
	static char	 secbuf[32];
	static size_t	 seclen;
	struct timespec	 now;
	struct tm	 tm;
	long		 us;
	size_t		 o;
	int		 i;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != sec) {
		gmtime_r(&now.tv_sec, &tm);
		seclen = strftime(secbuf, sizeof(secbuf), "%Y-%m-%dT%H:%M:%S",
		    &tm);
		sec = now.tv_sec;
	}
	memcpy(p, secbuf, seclen);
	o = seclen;
	p[o++] = '.';
	us = now.tv_nsec / 1000;
	for (i = 5; i >= 0; i--) {
		p[o + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	o += 6;
	p[o++] = 'Z';
	p[o++] = ' ';
	memcpy(p + o, log_name, log_namelen);
	o += log_namelen;
	p[o++] = ':';
	p[o++] = ' ';
	return o;
}

/* Room for need bytes at the end of the buffer (flushing if it is full). */
static char *
log_room(size_t need)
{
	if (log_len + need > LOG_BUFSZ)
		log_flush();
	return log_buf + log_len;
}

/* Append one event; a message longer than the buffer is cut. */
static void
log_emit(int warn, const char *msg, size_t n)
{
	char	*p;
	size_t	 tl, need;

	if (n > LOG_BUFSZ - LOG_PREFIX_MAX - 1)
		n = LOG_BUFSZ - LOG_PREFIX_MAX - 1;
	p = log_room(LOG_PREFIX_MAX + n + 1);
	tl = log_prefix(p);
	memcpy(p + tl, msg, n);
	p[tl + n] = '\n';
	need = tl + n + 1;
	if (warn && log_echo && log_fd != -1)
		log_write(STDERR_FILENO, p, need);
	log_len += need;
}

static void
log_vemit(int warn, const char *errstr, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX * 4 + 256];
	int	 n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (errstr != NULL)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", errstr);
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	log_emit(warn, msg, (size_t)n);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_min > LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vemit(0, NULL, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list	 ap;

	if (log_min > LOG_LEVEL_NOTICE)
		return;
	va_start(ap, fmt);
	log_vemit(0, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_min > LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vemit(0, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (log_min > LOG_LEVEL_WARNING)
		return;
	va_start(ap, fmt);
	log_vemit(1, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	if (log_min > LOG_LEVEL_WARNING)
		return;
	va_start(ap, fmt);
	log_vemit(1, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit(1, strerror(saved), fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(1, NULL, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}

void
log_line(const char *tag, const char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char		*p;
	size_t		 i, o, tl, n = len > LOG_LINE_MAX ? LOG_LINE_MAX : len;
	unsigned char	 c;
	int		 k;

	if (log_min > LOG_LEVEL_INFO)
		return;
	/* formatted in place: prefix, tag (at most LOG_TAG_MAX), quoted line */
	tl = strlen(tag);
	if (tl > LOG_TAG_MAX)
		tl = LOG_TAG_MAX;
	p = log_room(LOG_PREFIX_MAX + tl + 1 + 4 * n + 32);
	o = log_prefix(p);
	memcpy(p + o, tag, tl);
	o += tl;
	p[o++] = ' ';
	for (i = 0; i < n; i++) {
		c = (unsigned char)buf[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			p[o++] = (char)c;
		else {
			p[o++] = '\\';
			p[o++] = 'x';
			p[o++] = hex[c >> 4];
			p[o++] = hex[c & 15];
		}
	}
	if (n < len) {
		k = snprintf(p + o, 31, "... (%zu bytes)", len);
		o += k > 0 && k < 31 ? (size_t)k : 0;
	}
	p[o++] = '\n';
	log_len += o;
}
