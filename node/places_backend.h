/*
 * places_backend.h -- the pure halves of the Google Places backends.
 *
 * Requests are built and answers mapped here, from bytes to json-c objects
 * and back, with no I/O, no globals and no logging, so that unit tests and
 * fuzzers can drive them directly.  places.c glues them to places_http.c.
 *
 * Every *_parse function returns a document in the legacy Nearby Search
 * shape (html_attributions, results, status), never NULL but when memory
 * runs out.  On any failure the document is
 *	{"html_attributions": [], "results": [], "status": S,
 *	 "error_message": M}
 * and a one-line account of the failure (for the log) is written into why;
 * on success why is the empty string.
 */
#ifndef HERD_PLACES_BACKEND_H
#define HERD_PLACES_BACKEND_H

#include <stddef.h>

struct json_object;

#define PLACES_MAX_RESULTS	20	/* WHATSAT's bound on results */

/* Shared helpers (places_google.c). */

/*
 * The failure document above; the caller owns it.  When why is not NULL it
 * gets "STATUS: message", made safe for the log.
 */
struct json_object *places_error_doc(const char *status, const char *message,
	    char *why, size_t whylen);

/*
 * The start both parsers share: clear why and clamp max at 0; when the
 * transfer itself failed (fail set), the UNKNOWN_ERROR document to answer
 * with, else NULL (go on and parse the body).
 */
struct json_object *places_parse_begin(int *max, const char *fail, char *why,
	    size_t whylen);

/*
 * Parse a whole body as one JSON value (strict, UTF-8 checked, nothing but
 * white space after it).  NULL with a reason in err on failure.
 */
struct json_object *places_json_parse(const char *body, size_t len, char *err,
	    size_t errlen);

/*
 * Print v in plain decimal, no exponent, with the fewest fraction digits
 * that read back as v: 34.06893 -> "34.06893", 10000 -> "10000".  Not
 * finite numbers print as "0".  Returns the length, or -1 when buf is short.
 */
int	 places_fmt_num(char *buf, size_t len, double v);

/*
 * Copy s into buf with everything outside printable ASCII replaced by '?',
 * cut to fit: text from upstream, made safe for a one-line log entry.
 */
void	 places_sanitize(char *buf, size_t len, const char *s);

/* Legacy Nearby Search (places_google.c). */

/*
 * base?location=LAT,LNG&radius=METRES&key=KEY with key %-escaped (base may
 * carry a query already: then '&' joins).  Returns the length, or -1 when
 * buf is too short.
 */
int	 places_google_url(char *buf, size_t len, const char *base,
	    const char *key, double lat, double lng, double radius_m);

/*
 * Map the answer to a lookup.  fail is NULL when the transfer completed
 * (http_status then holds the HTTP status), else the transport's error (a
 * time-out, a refused connection, an oversized body).  OK and ZERO_RESULTS
 * pass through with "results" cut to max and "next_page_token" dropped.
 */
struct json_object *places_google_parse(const char *body, size_t len, int max,
	    long http_status, const char *fail, char *why, size_t whylen);

/* Places API (New) (places_gnew.c). */

#define PLACES_GNEW_FIELDMASK	"places.id,places.displayName," \
	"places.location,places.shortFormattedAddress,places.types," \
	"places.businessStatus,places.rating,places.userRatingCount," \
	"places.priceLevel,places.viewport"

/* The searchNearby request body; the caller owns it. */
struct json_object *places_gnew_body(double lat, double lng, double radius_m,
	    int max);

/* As places_google_parse, for a searchNearby answer. */
struct json_object *places_gnew_parse(const char *body, size_t len, int max,
	    long http_status, const char *fail, char *why, size_t whylen);

/* "PRICE_LEVEL_FREE".."PRICE_LEVEL_VERY_EXPENSIVE" -> 0..4, else -1. */
int	 places_gnew_price(const char *level);

/* Google's RPC status -> legacy status ("INVALID_ARGUMENT" -> ...). */
const char *places_gnew_status(const char *rpc);

#endif /* HERD_PLACES_BACKEND_H */
