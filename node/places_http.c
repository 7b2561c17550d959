/*
 * places_http.c -- libcurl's multi interface on the node's libev loop.
 *
 * As in curl's evhiperfifo.c: curl tells us which sockets to watch
 * (http_socket_cb: one ev_io per socket, found again through
 * curl_multi_assign) and when to call it back (http_timer_cb: one
 * ev_timer); libev tells curl what happened through
 * curl_multi_socket_action(), and after each call http_check() collects
 * finished transfers.  Nothing blocks: DNS runs in curl's resolver threads.
 *
 * At most max_inflight transfers run; the rest wait in a FIFO queue.  A
 * request's deadline counts from places_http_start(), so a lookup never
 * takes much longer than timeout_ms however long the queue.  Callbacks are
 * never called from inside places_http_start(): failures found there are
 * delivered from a zero-delay timer (http_later_cb).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "log.h"
#include "places_http.h"

#define HTTP_POOL_MAX	64		/* idle easy handles kept */
#define HTTP_FAIL_MAX	256

enum http_state {
	HTTP_QUEUED,			/* waiting for a slot */
	HTTP_RUNNING,			/* easy handle in the multi */
	HTTP_FAILED,			/* failed before running: on later */
	HTTP_DELIVERING,		/* its callback is running */
};

struct http_sock {
	ev_io			 io;
	LIST_ENTRY(http_sock)	 entry;
};

struct places_http_req {
	TAILQ_ENTRY(places_http_req) entry;	/* queue, running or later */
	enum http_state		 state;
	CURL			*easy;
	char			*url;
	char			*post;
	struct curl_slist	*headers;
	char			*body;
	size_t			 len, cap;
	int			 oversized;
	ev_tstamp		 deadline;
	char			 fail[HTTP_FAIL_MAX + CURL_ERROR_SIZE];
	char			 errbuf[CURL_ERROR_SIZE];
	places_http_cb		*cb;
	void			*arg;
};

TAILQ_HEAD(http_reqs, places_http_req);

static struct {
	struct ev_loop		*loop;
	CURLM			*multi;
	ev_timer		 timer;		/* curl's timeout */
	ev_timer		 later;		/* deliver failed requests */
	struct http_reqs	 queue, running, failed;
	size_t			 nqueued, nrunning;
	LIST_HEAD(, http_sock)	 socks;
	CURL			*pool[HTTP_POOL_MAX];
	size_t			 npool;
	int			 timeout_ms;
	int			 max_inflight;
	size_t			 max_body;
	int			 ready;
} http;

static int	 http_socket_cb(CURL *easy, curl_socket_t s, int what,
	    void *userp, void *sockp);
static int	 http_timer_cb(CURLM *multi, long timeout_ms, void *userp);
static void	 http_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	 http_timeout_cb(struct ev_loop *loop, ev_timer *w,
	    int revents);
static void	 http_later_cb(struct ev_loop *loop, ev_timer *w,
	    int revents);
static size_t	 http_write_cb(char *ptr, size_t size, size_t nmemb,
	    void *userdata);
static void	 http_check(void);
static void	 http_dispatch(void);
static int	 http_run(struct places_http_req *req);
static void	 http_fail_later(struct places_http_req *req);
static void	 http_finish(struct places_http_req *req, CURLcode res);
static void	 http_deliver(struct places_http_req *req, long status,
	    const char *fail);
static void	 http_release(CURL *easy);
static void	 http_free(struct places_http_req *req);

int
places_http_init(struct ev_loop *loop, int timeout_ms, int max_inflight,
    size_t max_body, char *err, size_t errlen)
{
	curl_version_info_data	*vi;

	if (http.ready)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	if ((http.multi = curl_multi_init()) == NULL) {
		curl_global_cleanup();
		snprintf(err, errlen, "curl_multi_init failed");
		return -1;
	}
	http.loop = loop;
	http.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	http.max_inflight = max_inflight > 0 ? max_inflight : 1;
	http.max_body = max_body > 0 ? max_body : 1;
	TAILQ_INIT(&http.queue);
	TAILQ_INIT(&http.running);
	TAILQ_INIT(&http.failed);
	LIST_INIT(&http.socks);
	http.nqueued = http.nrunning = http.npool = 0;
	ev_timer_init(&http.timer, http_timeout_cb, 0., 0.);
	ev_timer_init(&http.later, http_later_cb, 0., 0.);

	curl_multi_setopt(http.multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(http.multi, CURLMOPT_SOCKETDATA, NULL);
	curl_multi_setopt(http.multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	curl_multi_setopt(http.multi, CURLMOPT_TIMERDATA, NULL);
	curl_multi_setopt(http.multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX);
	/* Keep a connection per possible transfer alive between lookups. */
	curl_multi_setopt(http.multi, CURLMOPT_MAXCONNECTS,
	    (long)http.max_inflight);

	vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_ASYNCHDNS))
		log_warnx("places: libcurl %s resolves names synchronously",
		    vi->version);
	log_notice("places: libcurl %s, %s, HTTP/2 %s", vi->version,
	    vi->ssl_version != NULL ? vi->ssl_version : "no TLS",
	    (vi->features & CURL_VERSION_HTTP2) ? "where offered" :
	    "unavailable");
	http.ready = 1;
	return 0;
}

/*
 * curl wants socket s watched for what (or forgotten): one ev_io per
 * socket, created on first sight and attached with curl_multi_assign.
 */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *sockp)
{
	struct http_sock	*hs = sockp;
	int			 events = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			ev_io_stop(http.loop, &hs->io);
			LIST_REMOVE(hs, entry);
			free(hs);
		}
		return 0;
	}
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL) {
			log_warn("places: socket watcher");
			return -1;
		}
		ev_init(&hs->io, http_io_cb);
		LIST_INSERT_HEAD(&http.socks, hs, entry);
		curl_multi_assign(http.multi, s, hs);
	} else
		ev_io_stop(http.loop, &hs->io);
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_set(&hs->io, s, events);
	ev_io_start(http.loop, &hs->io);
	return 0;
}

/* curl wants to be called back in timeout_ms (0: now; -1: never). */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	(void)userp;
	ev_timer_stop(http.loop, &http.timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&http.timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(http.loop, &http.timer);
	}
	return 0;
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int	 action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* w may be freed by http_socket_cb inside this call. */
	curl_multi_socket_action(http.multi, w->fd, action, &running);
	http_check();
}

static void
http_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	 running;

	(void)loop;
	(void)w;
	(void)revents;
	curl_multi_socket_action(http.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check();
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct places_http_req	*req = userdata;
	size_t			 n = size * nmemb, cap;
	char			*p;

	if (n > http.max_body - req->len) {
		req->oversized = 1;
		return 0;
	}
	if (req->len + n + 1 > req->cap) {
		cap = req->cap > 0 ? req->cap : 4096;
		while (cap < req->len + n + 1)
			cap *= 2;
		if (cap > http.max_body + 1)
			cap = http.max_body + 1;
		if ((p = realloc(req->body, cap)) == NULL)
			return 0;
		req->body = p;
		req->cap = cap;
	}
	memcpy(req->body + req->len, ptr, n);
	req->len += n;
	req->body[req->len] = '\0';
	return n;
}

/* Collect the transfers curl has finished. */
static void
http_check(void)
{
	CURLMsg			*msg;
	struct places_http_req	*req;
	CURLcode		 res;
	int			 left;

	while ((msg = curl_multi_info_read(http.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		res = msg->data.result;
		req = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &req);
		if (req != NULL)
			http_finish(req, res);
	}
	http_dispatch();
}

struct places_http_req *
places_http_start(const char *url, const char *const *headers,
    const char *post, places_http_cb *cb, void *arg)
{
	struct places_http_req	*req;
	struct curl_slist	*l;

	if (!http.ready || (req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->cb = cb;
	req->arg = arg;
	req->deadline = ev_now(http.loop) + http.timeout_ms / 1000.0;
	if ((req->url = strdup(url)) == NULL ||
	    (post != NULL && (req->post = strdup(post)) == NULL))
		goto fail;
	for (; headers != NULL && *headers != NULL; headers++) {
		if ((l = curl_slist_append(req->headers, *headers)) == NULL)
			goto fail;
		req->headers = l;
	}
	req->state = HTTP_QUEUED;
	TAILQ_INSERT_TAIL(&http.queue, req, entry);
	http.nqueued++;
	http_dispatch();
	return req;
fail:
	http_free(req);
	return NULL;
}

/* Start queued requests while there are free slots, oldest first. */
static void
http_dispatch(void)
{
	struct places_http_req	*req;

	while (http.nrunning < (size_t)http.max_inflight &&
	    (req = TAILQ_FIRST(&http.queue)) != NULL) {
		TAILQ_REMOVE(&http.queue, req, entry);
		http.nqueued--;
		if (http_run(req) == -1)
			http_fail_later(req);
	}
}

/* Hand a request to curl; -1 with req->fail set when it cannot run. */
static int
http_run(struct places_http_req *req)
{
	CURL		*e;
	long		 left;

	left = (long)((req->deadline - ev_now(http.loop)) * 1000.0);
	if (left < 1) {
		snprintf(req->fail, sizeof(req->fail), "timed out after %d ms "
		    "waiting for a free slot (max_inflight %d)",
		    http.timeout_ms, http.max_inflight);
		return -1;
	}
	if (http.npool > 0)
		e = http.pool[--http.npool];
	else if ((e = curl_easy_init()) == NULL) {
		snprintf(req->fail, sizeof(req->fail), "curl_easy_init failed");
		return -1;
	}
	req->easy = e;
	req->errbuf[0] = '\0';
	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, req) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, req) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)http.max_body) != CURLE_OK ||
	    (req->post != NULL &&
	    (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(req->post)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->post) != CURLE_OK))) {
		snprintf(req->fail, sizeof(req->fail), "curl_easy_setopt: %s",
		    req->errbuf[0] != '\0' ? req->errbuf : "failed");
		http_release(e);
		req->easy = NULL;
		return -1;
	}
	/* Nice to have: not fatal where this libcurl lacks them. */
	(void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	(void)curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	(void)curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	(void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(e, CURLOPT_USERAGENT, "herd-node");

	if (curl_multi_add_handle(http.multi, e) != CURLM_OK) {
		snprintf(req->fail, sizeof(req->fail), "curl_multi_add_handle "
		    "failed");
		http_release(e);
		req->easy = NULL;
		return -1;
	}
	req->state = HTTP_RUNNING;
	TAILQ_INSERT_TAIL(&http.running, req, entry);
	http.nrunning++;
	return 0;
}

static void
http_fail_later(struct places_http_req *req)
{
	req->state = HTTP_FAILED;
	TAILQ_INSERT_TAIL(&http.failed, req, entry);
	if (!ev_is_active(&http.later)) {
		ev_timer_set(&http.later, 0., 0.);
		ev_timer_start(http.loop, &http.later);
	}
}

static void
http_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct places_http_req	*req;

	(void)loop;
	(void)w;
	(void)revents;
	while ((req = TAILQ_FIRST(&http.failed)) != NULL) {
		TAILQ_REMOVE(&http.failed, req, entry);
		http_deliver(req, 0, req->fail);
	}
}

/* A transfer is over: take it out of the multi, then tell the caller. */
static void
http_finish(struct places_http_req *req, CURLcode res)
{
	long	 status = 0;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(http.multi, req->easy);
	TAILQ_REMOVE(&http.running, req, entry);
	http.nrunning--;
	if (res == CURLE_OK)
		req->fail[0] = '\0';
	else if (req->oversized || res == CURLE_FILESIZE_EXCEEDED)
		snprintf(req->fail, sizeof(req->fail), "response body exceeds "
		    "max_body (%zu bytes)", http.max_body);
	else if (res == CURLE_OPERATION_TIMEDOUT)
		snprintf(req->fail, sizeof(req->fail), "timed out after %d ms",
		    http.timeout_ms);
	else
		snprintf(req->fail, sizeof(req->fail), "%s",
		    req->errbuf[0] != '\0' ? req->errbuf :
		    curl_easy_strerror(res));
	http_release(req->easy);
	req->easy = NULL;
	http_deliver(req, status, req->fail[0] != '\0' ? req->fail : NULL);
}

static void
http_deliver(struct places_http_req *req, long status, const char *fail)
{
	req->state = HTTP_DELIVERING;
	if (fail == NULL && req->body == NULL)
		req->body = strdup("");
	if (fail == NULL && req->body == NULL)
		fail = "out of memory";
	req->cb(req->arg, status, fail == NULL ? req->body : NULL,
	    fail == NULL ? req->len : 0, fail);
	http_free(req);
}

void
places_http_cancel(struct places_http_req *req)
{
	if (req == NULL)
		return;
	switch (req->state) {
	case HTTP_DELIVERING:
		return;			/* freed when its callback returns */
	case HTTP_QUEUED:
		TAILQ_REMOVE(&http.queue, req, entry);
		http.nqueued--;
		break;
	case HTTP_RUNNING:
		curl_multi_remove_handle(http.multi, req->easy);
		http_release(req->easy);
		req->easy = NULL;
		TAILQ_REMOVE(&http.running, req, entry);
		http.nrunning--;
		break;
	case HTTP_FAILED:
		TAILQ_REMOVE(&http.failed, req, entry);
		break;
	}
	http_free(req);
	http_dispatch();
}

/* Keep an idle easy handle for the next request, or free it. */
static void
http_release(CURL *easy)
{
	if (http.npool < HTTP_POOL_MAX) {
		curl_easy_reset(easy);
		http.pool[http.npool++] = easy;
	} else
		curl_easy_cleanup(easy);
}

static void
http_free(struct places_http_req *req)
{
	curl_slist_free_all(req->headers);
	free(req->url);
	free(req->post);
	free(req->body);
	free(req);
}

size_t
places_http_pending(void)
{
	return http.nqueued + http.nrunning;
}

size_t
places_http_running(void)
{
	return http.nrunning;
}

void
places_http_shutdown(void)
{
	struct places_http_req	*req;
	struct http_sock	*hs;

	if (!http.ready)
		return;
	/* The queue first: cancelling a running one starts the next. */
	while ((req = TAILQ_FIRST(&http.queue)) != NULL)
		places_http_cancel(req);
	while ((req = TAILQ_FIRST(&http.failed)) != NULL)
		places_http_cancel(req);
	while ((req = TAILQ_FIRST(&http.running)) != NULL)
		places_http_cancel(req);
	while (http.npool > 0)
		curl_easy_cleanup(http.pool[--http.npool]);
	curl_multi_cleanup(http.multi);
	http.multi = NULL;
	while ((hs = LIST_FIRST(&http.socks)) != NULL) {
		ev_io_stop(http.loop, &hs->io);
		LIST_REMOVE(hs, entry);
		free(hs);
	}
	ev_timer_stop(http.loop, &http.timer);
	ev_timer_stop(http.loop, &http.later);
	curl_global_cleanup();
	http.ready = 0;
}
