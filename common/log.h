/*
 * log.h -- one log per process, OpenBSD style.
 *
 * Each event is one line: "2026-11-27T17:40:01.123456Z NAME: message".
 * Lines are buffered and written out by log_flush(), which the node calls
 * once per event-loop iteration and at exit (and fatal() calls itself), so
 * a busy server makes one write(2) per iteration and loses nothing on exit.
 */
#ifndef HERD_LOG_H
#define HERD_LOG_H

#include <stddef.h>
#include <stdint.h>

/* The levels of [herd] log_level, least severe first. */
#define LOG_LEVEL_DEBUG		0	/* and debugging events */
#define LOG_LEVEL_INFO		1	/* and every protocol line (default) */
#define LOG_LEVEL_NOTICE	2	/* connections, links, state changes */
#define LOG_LEVEL_WARNING	3	/* failures */
#define LOG_LEVEL_ERROR		4	/* fatal errors only */

extern int	 log_min;	/* events below it are not logged */

/* Log events of level and up (HERD_DEBUG in the environment: all). */
void	 log_set_level(int level);
/* The level named s ("debug" ... "error"), or -1. */
int	 log_level_parse(const char *s);
const char *log_level_name(int level);

/* path NULL: standard error only.  echo: copy warnings to stderr too. */
int	 log_init(const char *procname, const char *path, int echo);
void	 log_close(void);

/*
 * Bound the log file (herd.ini(5) log_max_size, log_keep): past max bytes
 * (0: no bound) it is renamed NAME.log.1, the older ones shifted up to
 * NAME.log.KEEP, and a new one begun, at the end of a flush.
 */
void	 log_set_bounds(long long max, long long keep);
void	 log_flush(void);

void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Called by fatal() and fatalx() with the message, after it is logged and
 * before exit(1) (the node tells herdd why it goes).
 */
void	 log_set_fatal_hook(void (*hook)(const char *msg));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Log a protocol line (level info): "<tag> <text>", with bytes outside
 * printable ASCII written as \xNN and the line cut at 1024 bytes (the
 * length is noted).  Formatted straight into the buffer, without stdio.
 */
void	 log_line(const char *tag, const char *buf, size_t len);
/* The same, stamped with a time the caller has just read (sec, nsec). */
void	 log_line_at(const char *tag, const char *buf, size_t len,
	    int64_t sec, long nsec);

#endif /* HERD_LOG_H */
