/*
 * places.c -- WHATSAT's place lookups: one front for every backend.
 *
 * offline answers at once from the embedded data set, written straight as
 * text (offline_text.c: the bytes json-c would print, without building a
 * document), mapped from the image herdd shares with every worker (HERD_PLACES_FD,
 * offline_share.c) when there is one for the same file; google
 * and google-new build a request (places_google.c, places_gnew.c), run it
 * on the shared HTTP engine (places_http.c) and map the answer back onto a
 * legacy Nearby Search document.  Whatever happens, the caller's callback
 * gets one document, printed the same way for every backend.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "counters.h"
#include "log.h"
#include "notify.h"
#include "offline.h"
#include "places.h"
#include "places_backend.h"
#include "places_http.h"
#include "proto.h"

#define PLACES_URL_MAX		4096
/*
 * The offline backend's places kept as text (offline_frags_new): 8 MiB, a
 * fifth of the whole data set's (171,075 places, some 260 bytes each) and
 * thousands of times a town's, plus 4 bytes a place; emptied when full.
 */
#define PLACES_FRAGS_BYTES	(8u << 20)
/*
 * The nearest places of the last centres asked about (offline_near_new):
 * 4,096 of them, each with the 20 nearest within 50 km (the protocol's
 * largest question), 352 bytes a centre: 1.4 MiB at most, touched as
 * centres are asked about.  A centre asked about again is answered from
 * memory whatever its radius and bound.
 */
#define PLACES_NEAR_SLOTS	4096
#define PLACES_WHY_MAX		512
#define PLACES_PRINT_FLAGS	(JSON_C_TO_STRING_PRETTY | \
	    JSON_C_TO_STRING_NOSLASHESCAPE)

/* What is printed when not even a failure document can be built. */
#define PLACES_OOM_DOC	"{\n  \"html_attributions\": [],\n" \
	"  \"results\": [],\n  \"status\": \"UNKNOWN_ERROR\",\n" \
	"  \"error_message\": \"out of memory\"\n}"

struct places_req {
	LIST_ENTRY(places_req)	 entry;		/* while pending */
	struct places_http_req	*http;
	int			 max;
	int			 delivering;	/* in the caller's callback */
	ev_tstamp		 start;		/* ev_time(), for the counters */
	places_cb		*cb;
	void			*arg;
};

static struct {
	struct herd_places_conf	 conf;
	struct offline_db	*db;
	struct offline_frags	*frags;		/* db's places as text */
	struct offline_near	*near;		/* recent centres' places */
	char			*text;		/* offline answers, reused */
	size_t			 textsize;	/* at most one answer: 20
						 * places, some kB */
	LIST_HEAD(, places_req)	 pending;
	int			 ready;
} places;

/* herdd's image of the data set: -2 not looked for yet, -1 none. */

static void	 places_done_cb(void *arg, long status, const char *body,
	    size_t len, const char *fail);
static void	 places_deliver(places_cb *cb, void *arg,
	    struct json_object *doc, ev_tstamp start, int timedout);
static struct places_req *places_fail_now(places_cb *cb, void *arg,
	    const char *message);
static void	 places_frags(void);
static void	 places_offline(double lat, double lng, double radius_m,
	    int max, places_cb *cb, void *arg, ev_tstamp start);

int
places_init(struct ev_loop *loop, const struct herd_places_conf *pc,
    int share_fd, char *err, size_t errlen)
{
	char	 lerr[256];

	if (places.ready)
		places_shutdown();
	memcpy(&places.conf, pc, sizeof(places.conf));
	LIST_INIT(&places.pending);
	switch (places.conf.backend) {
	case HERD_BACKEND_OFFLINE:
		if (share_fd >= 0 && (places.db = offline_map(
		    share_fd, places.conf.dataset, lerr,
		    sizeof(lerr))) != NULL) {
			log_notice("places: offline backend, %zu places from %s, "
			    "shared with herdd's other workers",
			    offline_count(places.db), places.conf.dataset);
			places_frags();
			break;
		}
		if (share_fd >= 0)
			log_info("places: not the shared data set (%s): "
			    "loading it", lerr);
		if ((places.db = offline_load(places.conf.dataset, lerr,
		    sizeof(lerr))) == NULL) {
			snprintf(err, errlen, "dataset %s: %s",
			    places.conf.dataset, lerr);
			return -1;
		}
		log_notice("places: offline backend, %zu places from %s",
		    offline_count(places.db), places.conf.dataset);
		places_frags();
		break;
	case HERD_BACKEND_GOOGLE:
	case HERD_BACKEND_GOOGLE_NEW:
		if (places.conf.url[0] == '\0') {
			snprintf(err, errlen, "no url for backend %s",
			    conf_backend_name(places.conf.backend));
			return -1;
		}
		/* A header line (google-new): a line break would smuggle in more. */
		if (strpbrk(places.conf.key, "\r\n") != NULL) {
			snprintf(err, errlen, "the key of backend %s holds a "
			    "line break", conf_backend_name(places.conf.backend));
			return -1;
		}
		if (places_http_init(loop, places.conf.timeout_ms,
		    places.conf.max_inflight, places.conf.max_body, lerr,
		    sizeof(lerr)) == -1) {
			snprintf(err, errlen, "%s", lerr);
			return -1;
		}
		if (places.conf.key[0] == '\0')
			log_warnx("places: backend %s without a key: Google "
			    "will deny every lookup",
			    conf_backend_name(places.conf.backend));
		log_notice("places: %s backend, %s, timeout %d ms, at most %d "
		    "in flight", conf_backend_name(places.conf.backend),
		    places.conf.url, places.conf.timeout_ms,
		    places.conf.max_inflight);
		break;
	default:
		snprintf(err, errlen, "unknown backend %d",
		    (int)places.conf.backend);
		return -1;
	}
	places.ready = 1;
	return 0;
}

struct places_req *
places_lookup(double lat, double lng, double radius_m, int max,
    places_cb *cb, void *arg)
{
	struct places_req	*req;
	struct json_object	*body;
	const char		*hdrs[5], *post;
	ev_tstamp		 start = ev_time();
	char			 url[PLACES_URL_MAX];
	char			 keyhdr[sizeof(places.conf.key) + 32];

	if (max < 1)
		max = 1;
	if (max > PLACES_MAX_RESULTS)
		max = PLACES_MAX_RESULTS;
	if (!places.ready)
		return places_fail_now(cb, arg, "Places is not initialised");

	if (places.conf.backend == HERD_BACKEND_OFFLINE) {
		places_offline(lat, lng, radius_m, max, cb, arg, start);
		return NULL;
	}

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return places_fail_now(cb, arg, "out of memory");
	req->max = max;
	req->start = start;
	req->cb = cb;
	req->arg = arg;
	if (places.conf.backend == HERD_BACKEND_GOOGLE) {
		if (places_google_url(url, sizeof(url), places.conf.url,
		    places.conf.key, lat, lng, radius_m) == -1) {
			free(req);
			return places_fail_now(cb, arg, "request URL too long");
		}
		req->http = places_http_start(url, NULL, NULL, places_done_cb,
		    req);
	} else {
		if ((body = places_gnew_body(lat, lng, radius_m, max)) ==
		    NULL) {
			free(req);
			return places_fail_now(cb, arg, "out of memory");
		}
		snprintf(keyhdr, sizeof(keyhdr), "X-Goog-Api-Key: %s",
		    places.conf.key);
		hdrs[0] = "Content-Type: application/json";
		hdrs[1] = keyhdr;
		hdrs[2] = "X-Goog-FieldMask: " PLACES_GNEW_FIELDMASK;
		hdrs[3] = "Expect:";
		hdrs[4] = NULL;
		post = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		req->http = places_http_start(places.conf.url, hdrs, post,
		    places_done_cb, req);
		json_object_put(body);
	}
	if (req->http == NULL) {
		free(req);
		return places_fail_now(cb, arg, "out of memory");
	}
	LIST_INSERT_HEAD(&places.pending, req, entry);
	return req;
}

/* An HTTP lookup ended: map the answer, hand it over, forget the lookup. */
static void
places_done_cb(void *arg, long status, const char *body, size_t len,
    const char *fail)
{
	struct places_req	*req = arg;
	struct json_object	*doc;
	char			 why[PLACES_WHY_MAX];

	req->http = NULL;
	LIST_REMOVE(req, entry);
	if (places.conf.backend == HERD_BACKEND_GOOGLE_NEW)
		doc = places_gnew_parse(body, len, req->max, status, fail, why,
		    sizeof(why));
	else
		doc = places_google_parse(body, len, req->max, status, fail,
		    why, sizeof(why));
	if (why[0] != '\0')
		log_warnx("places: %s lookup failed: %s",
		    conf_backend_name(places.conf.backend), why);
	req->delivering = 1;
	/* places_http.h: a time-out's text starts so */
	places_deliver(req->cb, req->arg, doc, req->start, fail != NULL &&
	    strncmp(fail, "timed out", 9) == 0);
	free(req);
}

/*
 * Keep the places' text once written, and the nearest places of recent
 * centres; without, each answer is searched and written anew.
 */
static void
places_frags(void)
{
	if ((places.frags = offline_frags_new(places.db,
	    PLACES_FRAGS_BYTES)) == NULL)
		log_warnx("places: no memory to keep places as text: each "
		    "answer is written anew");
	if ((places.near = offline_near_new(places.db, PLACES_NEAR_SLOTS,
	    PROTO_RADIUS_MAX_KM * 1000.0, PROTO_RESULTS_MAX)) == NULL)
		log_warnx("places: no memory to keep recent centres' places: "
		    "each answer is searched anew");
}

/*
 * The offline backend: the answer written as text into a buffer kept for
 * the next one (as large as the largest answer yet), counted as
 * places_deliver counts, handed over.
 */
static void
places_offline(double lat, double lng, double radius_m, int max,
    places_cb *cb, void *arg, ev_tstamp start)
{
	ssize_t	 len;
	int	 ok = 0;

	len = offline_text(places.db, places.frags, places.near, lat, lng,
	    radius_m, max, &places.text, &places.textsize, &ok);
	counters_places(len != -1 && ok ? NOTIFY_C_PL_OK : NOTIFY_C_PL_ERROR,
	    ev_time() - start);
	if (len == -1)
		cb(arg, PLACES_OOM_DOC, strlen(PLACES_OOM_DOC), 0);
	else
		cb(arg, places.text, (size_t)len, 1);
}

/* A failure found before any I/O: answered at once, NULL returned. */
static struct places_req *
places_fail_now(places_cb *cb, void *arg, const char *message)
{
	char	 why[PLACES_WHY_MAX];

	places_deliver(cb, arg, places_error_doc("UNKNOWN_ERROR", message,
	    why, sizeof(why)), ev_time(), 0);
	log_warnx("places: lookup failed: %s", why);
	return NULL;
}

/*
 * Count the lookup (ok when the document says OK or ZERO_RESULTS), print
 * doc the one way every backend is printed, call back, free doc.
 */
static void
places_deliver(places_cb *cb, void *arg, struct json_object *doc,
    ev_tstamp start, int timedout)
{
	struct json_object	*st;
	const char		*s = NULL;
	enum notify_ctr		 outcome = NOTIFY_C_PL_ERROR;

	if (timedout)
		outcome = NOTIFY_C_PL_TIMEOUT;
	else if (doc != NULL && json_object_object_get_ex(doc, "status", &st) &&
	    (s = json_object_get_string(st)) != NULL &&
	    (strcmp(s, "OK") == 0 || strcmp(s, "ZERO_RESULTS") == 0))
		outcome = NOTIFY_C_PL_OK;
	counters_places(outcome, ev_time() - start);
	s = NULL;

	if (doc != NULL)
		s = json_object_to_json_string_ext(doc, PLACES_PRINT_FLAGS);
	if (s == NULL)
		s = PLACES_OOM_DOC;
	cb(arg, s, strlen(s), 0);
	json_object_put(doc);
}

void
places_cancel(struct places_req *req)
{
	if (req == NULL || req->delivering)
		return;
	/* in the histogram too, at the time it had taken: a lower bound */
	counters_places(NOTIFY_C_PL_CANCEL, ev_time() - req->start);
	LIST_REMOVE(req, entry);
	places_http_cancel(req->http);
	free(req);
}

size_t
places_pending(void)
{
	if (!places.ready || places.conf.backend == HERD_BACKEND_OFFLINE)
		return 0;
	return places_http_pending();
}

void
places_shutdown(void)
{
	struct places_req	*req;

	if (!places.ready)
		return;
	while ((req = LIST_FIRST(&places.pending)) != NULL)
		places_cancel(req);
	places_http_shutdown();
	offline_frags_free(places.frags);
	places.frags = NULL;
	offline_near_free(places.near);
	places.near = NULL;
	if (places.db != NULL) {
		offline_free(places.db);
		places.db = NULL;
	}
	free(places.text);
	places.text = NULL;
	places.textsize = 0;
	places.ready = 0;
}
