/*
 * log.c -- buffered, time-stamped logging to one file per process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_BUFSZ	(256 * 1024)	/* written once per iteration */
#define LOG_LINE_MAX	1024	/* protocol bytes quoted per line */
#define LOG_TAG_MAX	96	/* bytes of a log_line tag kept */
#define LOG_MSG_MAX	(LOG_LINE_MAX * 4 + 256)	/* one event's text */

static char	 log_name[64] = "herd";
static long	 log_last_us = -1;	/* the microsecond of log_last */
static time_t	 log_last_sec = -1;	/* its second; -1: make it anew */
static size_t	 log_namelen = 4;
static int	 log_fd = -1;		/* -1: standard error */
static char	 log_path[4096];	/* log_fd's file, "" for none */
static long long log_size;		/* its size */
static long long log_max;		/* rotate past it; 0: never */
static long long log_keep;		/* rotated files kept */
static int	 log_echo;
static char	 log_buf[LOG_BUFSZ];
static size_t	 log_len;
static void	(*log_fatal_hook)(const char *);
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

/*
 * memcpy for the short copies of formatting, through a pointer so that the
 * compiler calls libc's (fast for any size) instead of inlining "rep movsq",
 * which it does for a length it knows a bound of, and which costs tens of
 * cycles to start: it was a quarter of log_line's time.
 */
static void	*(*volatile log_copy)(void *, const void *, size_t) = memcpy;

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

/*
 * The file is past log_max: PATH.1 becomes PATH.2 and so on up to
 * log_keep, PATH becomes PATH.1 (or goes, with log_keep 0), and a new
 * PATH is opened.  On a failure the file goes on growing: a complaint
 * would be written to it.
 */
/*
 * Remove what a process that stopped before its thread did left of path's
 * rotated files (PATH.dead.*).
 */
static void
log_sweep(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		 dir[sizeof(log_path)], full[sizeof(log_path) + 256];
	char		 pre[sizeof(log_path)];
	struct dirent	*de;
	DIR		*d;

	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ?
	    (int)(slash - path) : 1, slash != NULL ? path : ".");
	snprintf(pre, sizeof(pre), "%s.dead.", slash != NULL ? slash + 1 :
	    path);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, pre, strlen(pre)) == 0) {
			snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
			(void)unlink(full);
		}
	closedir(d);
}

/* A thread's: remove the file arg names (and free the name). */
static void *
log_unlink_cb(void *arg)
{
	(void)unlink(arg);
	free(arg);
	return NULL;
}

/*
 * Remove path away from the caller: the kernel frees a big file's pages
 * in unlink(2), waiting for those under write-back, which stalled the
 * event loop for milliseconds at each rotation (a tenth of IAMAT's rate
 * at 150 MB of log a second).  The file is renamed to a name of its own
 * first, so that no later rename lands on it, then a short-lived thread
 * unlinks it; without a thread, it is unlinked here.
 */
static void
log_unlink_later(const char *path)
{
	static unsigned long	 n;
	pthread_attr_t		 attr;
	pthread_t		 t;
	char			*dead;
	size_t			 len = strlen(log_path) + 48;
	int			 rc;

	if ((dead = malloc(len)) == NULL) {
		(void)unlink(path);
		return;
	}
	snprintf(dead, len, "%s.dead.%ld.%lu", log_path, (long)getpid(), ++n);
	if (rename(path, dead) == -1) {
		free(dead);
		return;
	}
	if (pthread_attr_init(&attr) != 0) {
		log_unlink_cb(dead);
		return;
	}
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, log_unlink_cb, dead);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		log_unlink_cb(dead);
}

static void
log_rotate(void)
{
	char	 from[sizeof(log_path) + 24], to[sizeof(log_path) + 24];
	long long i;
	int	 fd;

	snprintf(from, sizeof(from), "%s.%lld", log_path, log_keep);
	if (log_keep > 0 && access(from, F_OK) == 0)
		log_unlink_later(from);		/* the oldest goes */
	for (i = log_keep - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%lld", log_path, i);
		snprintf(to, sizeof(to), "%s.%lld", log_path, i + 1);
		(void)rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", log_path);
	if (log_keep == 0)
		log_unlink_later(log_path);
	else if (rename(log_path, to) == -1)
		return;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return;
	close(log_fd);
	log_fd = fd;
	log_size = 0;
}

void
log_flush(void)
{
	if (log_len == 0)
		return;
	log_write(log_fd == -1 ? STDERR_FILENO : log_fd, log_buf, log_len);
	log_size += (long long)log_len;
	log_len = 0;
	if (log_max > 0 && log_size >= log_max && log_fd != -1)
		log_rotate();
}

void
log_set_bounds(long long max, long long keep)
{
	log_max = max;
	log_keep = keep;
	if (log_max > 0 && log_size >= log_max && log_fd != -1)
		log_rotate();
}

int
log_init(const char *procname, const char *path, int echo)
{
	int	 fd = -1;

	snprintf(log_name, sizeof(log_name), "%s", procname);
	log_namelen = strlen(log_name);
	log_last_sec = -1;
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
	if (path != NULL && strcmp(path, log_path) != 0)
		log_sweep(path);
	snprintf(log_path, sizeof(log_path), "%s", path != NULL ? path : "");
	log_size = fd != -1 ? (long long)lseek(fd, 0, SEEK_END) : 0;
	if (log_size < 0)
		log_size = 0;
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
#define LOG_PREFIX_FIXED	48	/* the copy of a prefix this long or less */
static char	 log_last[LOG_PREFIX_MAX];	/* the prefix, kept up to date */
static size_t	 log_lastlen;
static size_t	 log_us_at;		/* where its microseconds are */

static size_t
log_prefix_at(char *p, const struct timespec *at)
{
	struct timespec	 now;
	struct tm	 tm;
	long		 us;
	size_t		 o;
	int		 i;

	if (at != NULL)
		now = *at;
	else
		clock_gettime(CLOCK_REALTIME, &now);
	us = now.tv_nsec / 1000;
	if (now.tv_sec != log_last_sec) {	/* the whole, once a second */
		gmtime_r(&now.tv_sec, &tm);
		o = strftime(log_last, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		log_last[o++] = '.';
		log_us_at = o;
		o += 6;
		log_last[o++] = 'Z';
		log_last[o++] = ' ';
		log_copy(log_last + o, log_name, log_namelen);
		o += log_namelen;
		log_last[o++] = ':';
		log_last[o++] = ' ';
		log_lastlen = o;
		log_last_sec = now.tv_sec;
		log_last_us = -1;
	}
	if (us != log_last_us) {	/* a new microsecond: its six digits */
		log_last_us = us;
		for (i = 5; i >= 0; i--) {
			log_last[log_us_at + (size_t)i] = (char)('0' + us % 10);
			us /= 10;
		}
	}
	/* a reply's is its command's; most are short: one fixed-size copy,
	 * inlined, past the prefix into the room the caller reserved (at
	 * least LOG_PREFIX_MAX), which the rest of the line overwrites */
	if (log_lastlen <= LOG_PREFIX_FIXED)
		memcpy(p, log_last, LOG_PREFIX_FIXED);
	else
		log_copy(p, log_last, log_lastlen);
	return log_lastlen;
}

static size_t
log_prefix(char *p)
{
	return log_prefix_at(p, NULL);
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
	log_copy(p + tl, msg, n);
	p[tl + n] = '\n';
	need = tl + n + 1;
	if (warn && log_echo && log_fd != -1)
		log_write(STDERR_FILENO, p, need);
	log_len += need;
}

/* Format one event into msg (size LOG_MSG_MAX); returns its length. */
static size_t
log_vformat(char *msg, size_t size, const char *errstr, const char *fmt,
    va_list ap)
{
	int	 n;

	n = vsnprintf(msg, size, fmt, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= size)
		n = (int)size - 1;
	if (errstr != NULL)
		n += snprintf(msg + n, size - (size_t)n, ": %s", errstr);
	if ((size_t)n >= size)
		n = (int)size - 1;
	return (size_t)n;
}

static void
log_vemit(int warn, const char *errstr, const char *fmt, va_list ap)
{
	char	 msg[LOG_MSG_MAX];
	size_t	 n;

	n = log_vformat(msg, sizeof(msg), errstr, fmt, ap);
	log_emit(warn, msg, n);
}

void
log_set_fatal_hook(void (*hook)(const char *))
{
	log_fatal_hook = hook;
}

/* The end of fatal() and fatalx(): log, tell the hook, exit 1. */
static void __attribute__((noreturn))
log_vfatal(const char *errstr, const char *fmt, va_list ap)
{
	char	 msg[LOG_MSG_MAX];
	size_t	 n;

	n = log_vformat(msg, sizeof(msg), errstr, fmt, ap);
	log_emit(1, msg, n);
	log_flush();
	if (log_fatal_hook != NULL)
		log_fatal_hook(msg);
	exit(1);
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
	log_vfatal(strerror(saved), fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vfatal(NULL, fmt, ap);
	va_end(ap);
}

/*
 * The bytes of the eight at p that need \\xNN: those within 0x20 to 0x7e
 * but a backslash do not.  0 when none does; else the lowest set bit is
 * the high bit of the first that does (the word tests of Bit Twiddling
 * Hacks: hasless, hasmore, haszero; a borrow may mark a byte above the
 * first, never one below it).
 */
static uint64_t
log_odd8(const char *p)
{
	const uint64_t	 ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t	 x, bs;

	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);	/* the first byte the lowest */
#endif
	bs = x ^ (ones * 0x5c);
	return ((x - ones * 0x20) & ~x & high) |		/* < 0x20 */
	    (((x + ones * (127 - 0x7e)) | x) & high) |		/* > 0x7e */
	    ((bs - ones) & ~bs & high);				/* '\\' */
}

static void
log_line_in(const char *tag, const char *buf, size_t len,
    const struct timespec *at)
{
	static const char hex[] = "0123456789abcdef";
	char		*p;
	size_t		 i, w, o, tl, n = len > LOG_LINE_MAX ? LOG_LINE_MAX : len;
	uint64_t	 m;
	unsigned char	 c;
	int		 k;

	/* formatted in place: prefix, tag (at most LOG_TAG_MAX), quoted line */
	tl = strlen(tag);
	if (tl > LOG_TAG_MAX)
		tl = LOG_TAG_MAX;
	p = log_room(LOG_PREFIX_MAX + tl + 1 + 4 * n + 32);
	o = log_prefix_at(p, at);
	log_copy(p + o, tag, tl);
	o += tl;
	p[o++] = ' ';
	/*
	 * Most lines need no quoting: check the line eight bytes a time and
	 * copy the words that need none at once (most often all but the last
	 * few bytes).  From the first odd word on, copy eight bytes at a time
	 * up to the next odd byte (the room is 4 bytes a byte), quote it, go
	 * on after it; the last few bytes one by one.
	 */
	for (i = 0; i + 8 <= n && log_odd8(buf + i) == 0; i += 8)
		;
	log_copy(p + o, buf, i);
	o += i;
	while (i < n) {
		if (i + 8 <= n) {
			m = log_odd8(buf + i);
			memcpy(p + o, buf + i, 8);
			if (m == 0) {
				o += 8;
				i += 8;
				continue;
			}
			w = (size_t)__builtin_ctzll(m) / 8;
			o += w;
			i += w;
		}
		c = (unsigned char)buf[i++];
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

void
log_line(const char *tag, const char *buf, size_t len)
{
	if (log_min > LOG_LEVEL_INFO)
		return;
	log_line_in(tag, buf, len, NULL);
}

void
log_line_at(const char *tag, const char *buf, size_t len, int64_t sec,
    long nsec)
{
	struct timespec	 at;

	if (log_min > LOG_LEVEL_INFO)
		return;
	at.tv_sec = (time_t)sec;
	at.tv_nsec = nsec;
	log_line_in(tag, buf, len, &at);
}
