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

#define LOG_BUFSZ	(64 * 1024)
#define LOG_LINE_MAX	1024	/* protocol bytes quoted per line */
#define LOG_TAG_MAX	96	/* bytes of a log_line tag kept */

static char	 log_name[64] = "herd";
static int	 log_fd = -1;		/* -1: standard error */
static int	 log_echo;
static char	 log_buf[LOG_BUFSZ];
static size_t	 log_len;

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

/* Append one event; a message longer than the buffer is cut. */
static void
log_emit(int warn, const char *msg, size_t n)
{
	static time_t	 sec = -1;		/* the second in secbuf */
	static char	 secbuf[32];
	static size_t	 seclen;
	char		 ts[128];
	struct timespec	 now;
	struct tm	 tm;
	size_t		 tl, need;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != sec) {	/* strftime once a second, not per event */
		gmtime_r(&now.tv_sec, &tm);
		seclen = strftime(secbuf, sizeof(secbuf), "%Y-%m-%dT%H:%M:%S",
		    &tm);
		sec = now.tv_sec;
	}
	memcpy(ts, secbuf, seclen);
	tl = seclen + (size_t)snprintf(ts + seclen, sizeof(ts) - seclen,
	    ".%06ldZ %s: ", now.tv_nsec / 1000, log_name);
	if (tl >= sizeof(ts))
		tl = sizeof(ts) - 1;
	if (n > LOG_BUFSZ - tl - 1)
		n = LOG_BUFSZ - tl - 1;
	need = tl + n + 1;
	if (log_len + need > LOG_BUFSZ)
		log_flush();
	memcpy(log_buf + log_len, ts, tl);
	memcpy(log_buf + log_len + tl, msg, n);
	log_buf[log_len + tl + n] = '\n';
	if (warn && log_echo && log_fd != -1) {
		log_write(STDERR_FILENO, log_buf + log_len, need);
	}
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

	va_start(ap, fmt);
	log_vemit(0, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (getenv("HERD_DEBUG") == NULL)
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

	va_start(ap, fmt);
	log_vemit(1, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

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
	char		 out[LOG_TAG_MAX + 2 + LOG_LINE_MAX * 4 + 32];
	size_t		 i, o = 0, n = len > LOG_LINE_MAX ? LOG_LINE_MAX : len;
	unsigned char	 c;

	/* the tag gets at most LOG_TAG_MAX bytes: 4 * n must still fit */
	o = (size_t)snprintf(out, LOG_TAG_MAX + 2, "%s ", tag);
	if (o > LOG_TAG_MAX + 1) {
		o = LOG_TAG_MAX + 1;
		out[o - 1] = ' ';
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)buf[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (n < len)
		o += (size_t)snprintf(out + o, sizeof(out) - o,
		    "... (%zu bytes)", len);
	if (o >= sizeof(out))
		o = sizeof(out) - 1;
	log_emit(0, out, o);
}
