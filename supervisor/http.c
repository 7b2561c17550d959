/*
 * http.c -- herdd's read-only HTTP endpoint, [herd] http (herdd(8), HTTP):
 *
 *	GET /metrics		the counters, Prometheus text format 0.0.4
 *	GET /status.json	what herdctl -j status prints
 *	GET /			the status page (one static file, read at start)
 *
 * HEAD as GET without the body; any other method is 405, any other path
 * 404.  The HTTP is libmicrohttpd's (Debian's libmicrohttpd12: a
 * well-kept, fuzzed HTTP/1.1 server, so we parse no HTTP ourselves), run
 * without threads of its own on herdd's libev loop: each listening
 * address is a daemon in external epoll mode, whose epoll descriptor one
 * ev_io watches, and one ev_timer keeps the earliest of their time-outs;
 * MHD_run() does the work of both.  Each answer is built from herdd's
 * table in memory, at once: a request never waits on a worker.
 *
 * Bounded: HTTP_CONN_MAX connections on each listening address (more are
 * accepted and closed at once), HTTP_PER_IP_MAX from one client address, HTTP_TIMEOUT_S of silence
 * before a connection is closed (a slow client), HTTP_MEM_MAX bytes of
 * request per connection (a bigger header is refused with 431).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>
#include <microhttpd.h>

#include "control.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "sock.h"

#define HTTP_CONN_MAX	64
#define HTTP_PER_IP_MAX	32
#define HTTP_TIMEOUT_S	10
#define HTTP_MEM_MAX	(32 * 1024)
#define HTTP_PAGE_MAX	(1024 * 1024)
#define HTTP_LOG_PER_S	5

#define HTTP_TEXT	"text/plain; charset=utf-8"
#define HTTP_METRICS	"text/plain; version=0.0.4; charset=utf-8"

struct http_daemon {
	struct MHD_Daemon	*d;
	ev_io			 io;
};

static struct http_daemon	 http_d[SOCK_ADDRS_MAX];
static size_t			 http_nd;
static ev_timer			 http_timer;
static char			*http_page;
static size_t			 http_page_len;
static char			 http_where[300];

static void	 http_arm(void);

/*
 * libmicrohttpd's messages, HTTP_LOG_PER_S a second at most: a flood of
 * connections past the limit is one line a connection otherwise.
 */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	static ev_tstamp	 second;
	static unsigned		 said, dropped;
	ev_tstamp		 now = ev_now(EV_DEFAULT);
	char			 buf[512];
	size_t			 n;

	(void)cls;
	if (now - second >= 1.0) {
		if (dropped > 0)
			log_info("http: %u more messages in the last second "
			    "not logged", dropped);
		second = now;
		said = dropped = 0;
	}
	if (said++ >= HTTP_LOG_PER_S) {
		dropped++;
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_info("http: %s", buf);
}

/* Queue an answer; body is copied unless own (then freed by MHD). */
static enum MHD_Result
http_reply(struct MHD_Connection *c, unsigned int code, const char *type,
    char *body, size_t len, int own)
{
	struct MHD_Response	*r;
	enum MHD_Result		 rc;

	r = MHD_create_response_from_buffer(len, body, own ?
	    MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		if (own)
			free(body);
		return MHD_NO;		/* MHD closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
http_text(struct MHD_Connection *c, unsigned int code, const char *msg)
{
	return http_reply(c, code, HTTP_TEXT, (char *)msg, strlen(msg), 0);
}

static enum MHD_Result
http_status_json(struct MHD_Connection *c)
{
	struct control_cmd	 cmd;
	struct json_object	*o;
	const char		*s;
	enum MHD_Result		 rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.verb = CONTROL_STATUS;
	if ((o = proc_ctl(&cmd, NULL)) == NULL)
		return http_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "no status\n");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = http_reply(c, MHD_HTTP_OK, "application/json", (char *)s,
	    strlen(s), 0);
	json_object_put(o);
	return rc;
}

static enum MHD_Result
http_answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **ctx)
{
	char	*text;
	size_t	 len;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)ctx;
	log_debug("http: %s %s", method, url);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "405 method not allowed: this endpoint is read-only "
		    "(GET, HEAD)\n");
	if (strcmp(url, "/metrics") == 0) {
		if ((text = metrics_text(&len)) == NULL)
			return http_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "out of memory\n");
		return http_reply(c, MHD_HTTP_OK, HTTP_METRICS, text, len, 1);
	}
	if (strcmp(url, "/status.json") == 0)
		return http_status_json(c);
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		return http_reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
		    http_page, http_page_len, 0);
	return http_text(c, MHD_HTTP_NOT_FOUND, "404 not found: try /, "
	    "/metrics or /status.json\n");
}

static void
http_run(void)
{
	size_t	 i;

	for (i = 0; i < http_nd; i++)
		MHD_run(http_d[i].d);
	http_arm();
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	http_run();
}

static void
http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	http_run();
}

/* The timer at the earliest time-out of any daemon (0: work is waiting). */
static void
http_arm(void)
{
	MHD_UNSIGNED_LONG_LONG	 ms, min = 0;
	size_t			 i;
	int			 any = 0;

	for (i = 0; i < http_nd; i++)
		if (MHD_get_timeout(http_d[i].d, &ms) == MHD_YES &&
		    (!any || ms < min)) {
			min = ms;
			any = 1;
		}
	ev_timer_stop(EV_DEFAULT_ &http_timer);
	if (any) {
		ev_timer_set(&http_timer, min / 1000.0, 0.);
		ev_timer_start(EV_DEFAULT_ &http_timer);
	}
}

int
http_read_page(const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "the status page %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(HTTP_PAGE_MAX)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((n = read(fd, buf + len, HTTP_PAGE_MAX - len)) > 0 &&
	    (len += (size_t)n) < HTTP_PAGE_MAX)
		;
	close(fd);
	if (n == -1 || len == HTTP_PAGE_MAX || len == 0) {
		snprintf(err, errlen, "the status page %s: %s", path, n == -1 ?
		    strerror(errno) : len == 0 ? "empty" : "over 1 MiB");
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
http_page_reload(const char *page, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;

	if (http_nd == 0)
		return 0;
	if (http_read_page(page, &buf, &len, err, errlen) == -1)
		return -1;		/* the old one stays */
	free(http_page);
	http_page = buf;
	http_page_len = len;
	return 0;
}

int
http_start(const char *host, uint16_t port, const char *page, char *err,
    size_t errlen)
{
	const union MHD_DaemonInfo	*info;
	int				 fds[SOCK_ADDRS_MAX], n, i;
	char				 lerr[256];

	ev_timer_init(&http_timer, http_timer_cb, 0., 0.);
	if (port == 0)
		return 0;
	if (http_read_page(page, &http_page, &http_page_len, err,
	    errlen) == -1)
		return -1;
	if ((n = sock_listen(host, port, fds, lerr, sizeof(lerr))) == -1) {
		snprintf(err, errlen, "http: %s", lerr);
		http_stop();
		return -1;
	}
	snprintf(http_where, sizeof(http_where), strchr(host, ':') ?
	    "[%s]:%u" : "%s:%u", host, port);
	for (i = 0; i < n; i++) {
		http_d[http_nd].d = MHD_start_daemon(MHD_USE_EPOLL |
		    MHD_USE_TURBO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		    http_answer, NULL,
		    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fds[i],
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_MAX,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned int)HTTP_PER_IP_MAX,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEM_MAX,
		    MHD_OPTION_LISTEN_BACKLOG_SIZE, 128U,
		    MHD_OPTION_END);
		if (http_d[http_nd].d == NULL ||
		    (info = MHD_get_daemon_info(http_d[http_nd].d,
		    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
			snprintf(err, errlen, "http: %s: libmicrohttpd would "
			    "not start", http_where);
			/* a socket MHD refused is closed by it, mostly */
			if (http_d[http_nd].d != NULL)
				http_nd++;
			while (++i < n)
				close(fds[i]);
			http_stop();
			return -1;
		}
		ev_io_init(&http_d[http_nd].io, http_io_cb, info->epoll_fd,
		    EV_READ);
		ev_io_start(EV_DEFAULT_ &http_d[http_nd].io);
		http_nd++;
	}
	http_arm();
	log_notice("http: serving /, /metrics and /status.json on %s",
	    http_where);
	return 0;
}

void
http_stop(void)
{
	size_t	 i;

	ev_timer_stop(EV_DEFAULT_ &http_timer);
	for (i = 0; i < http_nd; i++) {
		ev_io_stop(EV_DEFAULT_ &http_d[i].io);
		MHD_stop_daemon(http_d[i].d);	/* closes its socket */
	}
	http_nd = 0;
	free(http_page);
	http_page = NULL;
	http_page_len = 0;
}
