/*
 * test_places.c -- unit tests of the pure halves of the Google backends:
 * request URL and body, the mapping of every field, every error path,
 * cutting to max, garbage bodies.  TAP output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "places_backend.h"

static int	 test_n, test_failed;

static void	 ok(int cond, const char *name);
static void	 is(const char *got, const char *want, const char *name);
static const char *plain(struct json_object *o);
static struct json_object *lget(struct json_object *o, const char *path);
static const char *lstr(struct json_object *o, const char *path);
static void	 is_error(struct json_object *doc, const char *status,
	    const char *msgpart, const char *name);
static struct json_object *gparse(const char *body, int max, long http);
static struct json_object *nparse(const char *body, int max, long http);
static char	*legacy_body(int n, int token);

static void
ok(int cond, const char *name)
{
	test_n++;
	if (!cond)
		test_failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, name);
}

static void
is(const char *got, const char *want, const char *name)
{
	int	 same = got != NULL && want != NULL && strcmp(got, want) == 0;

	ok(same, name);
	if (!same)
		printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)",
		    want ? want : "(null)");
}

static const char *
plain(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Follow a dotted path; a numeric component indexes an array. */
static struct json_object *
lget(struct json_object *o, const char *path)
{
	char	 buf[256], *p, *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; (tok = strtok_r(p, ".", &save)) != NULL; p = NULL) {
		if (o == NULL)
			return NULL;
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, atoi(tok));
		else if (!json_object_object_get_ex(o, tok, &o))
			return NULL;
	}
	return o;
}

static const char *
lstr(struct json_object *o, const char *path)
{
	struct json_object	*v = lget(o, path);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static void
is_error(struct json_object *doc, const char *status, const char *msgpart,
    const char *name)
{
	char		 t[256];
	const char	*m;

	snprintf(t, sizeof(t), "%s: status", name);
	is(lstr(doc, "status"), status, t);
	snprintf(t, sizeof(t), "%s: results empty", name);
	ok(lget(doc, "results") != NULL &&
	    json_object_is_type(lget(doc, "results"), json_type_array) &&
	    json_object_array_length(lget(doc, "results")) == 0, t);
	snprintf(t, sizeof(t), "%s: html_attributions empty", name);
	ok(lget(doc, "html_attributions") != NULL &&
	    json_object_array_length(lget(doc, "html_attributions")) == 0, t);
	snprintf(t, sizeof(t), "%s: error_message has \"%s\"", name, msgpart);
	m = lstr(doc, "error_message");
	ok(m != NULL && strstr(m, msgpart) != NULL, t);
	if (m == NULL || strstr(m, msgpart) == NULL)
		printf("#   error_message: %s\n", m ? m : "(none)");
	snprintf(t, sizeof(t), "%s: no next_page_token", name);
	ok(lget(doc, "next_page_token") == NULL, t);
}

static struct json_object *
gparse(const char *body, int max, long http)
{
	char	 why[256];

	return places_google_parse(body, strlen(body), max, http, NULL, why,
	    sizeof(why));
}

static struct json_object *
nparse(const char *body, int max, long http)
{
	char	 why[256];

	return places_gnew_parse(body, strlen(body), max, http, NULL, why,
	    sizeof(why));
}

/* A legacy answer with n results (and a next_page_token). */
static char *
legacy_body(int n, int token)
{
	struct json_object	*doc, *arr, *r;
	char			 id[32];
	char			*s;
	int			 i;

	doc = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(doc, "html_attributions",
	    json_object_new_array());
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		snprintf(id, sizeof(id), "place-%d", i);
		json_object_object_add(r, "place_id",
		    json_object_new_string(id));
		json_object_object_add(r, "rating",
		    json_object_new_double_s(4.5, "4.5"));
		json_object_array_add(arr, r);
	}
	json_object_object_add(doc, "results", arr);
	json_object_object_add(doc, "status",
	    json_object_new_string(n > 0 ? "OK" : "ZERO_RESULTS"));
	if (token)
		json_object_object_add(doc, "next_page_token",
		    json_object_new_string("tok/en"));
	s = strdup(plain(doc));
	json_object_put(doc);
	return s;
}

static void
test_fmt(void)
{
	char	 buf[64], huge[400];

	places_fmt_num(buf, sizeof(buf), 34.06893);
	is(buf, "34.06893", "fmt 34.06893");
	places_fmt_num(buf, sizeof(buf), 10000);
	is(buf, "10000", "fmt 10000");
	places_fmt_num(buf, sizeof(buf), -118.445127);
	is(buf, "-118.445127", "fmt -118.445127");
	places_fmt_num(buf, sizeof(buf), 0.1);
	is(buf, "0.1", "fmt 0.1");
	places_fmt_num(buf, sizeof(buf), 1e-5);
	is(buf, "0.00001", "fmt 1e-5 has no exponent");
	places_fmt_num(buf, sizeof(buf), 50000);
	is(buf, "50000", "fmt 50000");
	places_fmt_num(buf, sizeof(buf), 1500.5);
	is(buf, "1500.5", "fmt 1500.5");
	places_fmt_num(buf, sizeof(buf), -0.0);
	is(buf, "0", "fmt -0");
	places_fmt_num(buf, sizeof(buf), NAN);
	is(buf, "0", "fmt NaN");
	places_fmt_num(buf, sizeof(buf), INFINITY);
	is(buf, "0", "fmt inf");
	ok(places_fmt_num(buf, sizeof(buf), 1e300) == -1,
	    "fmt 1e300 does not fit 64 bytes");
	ok(places_fmt_num(huge, sizeof(huge), 1e300) == 301 &&
	    strchr(huge, 'e') == NULL && strtod(huge, NULL) == 1e300,
	    "fmt 1e300 plain and exact");
	ok(places_fmt_num(buf, 5, 34.06893) == -1, "fmt short buffer");
	ok(places_fmt_num(buf, 6, 10000) == 5, "fmt exact buffer");
}

static void
test_url(void)
{
	char	 buf[512];

	ok(places_google_url(buf, sizeof(buf), "http://h/p", "K", 34.06893,
	    -118.445127, 10000) > 0, "url built");
	is(buf, "http://h/p?location=34.06893,-118.445127&radius=10000&key=K",
	    "url exact");
	places_google_url(buf, sizeof(buf), "http://h/p?x=1", "K", 1, 2, 3);
	is(buf, "http://h/p?x=1&location=1,2&radius=3&key=K",
	    "url joins an existing query with &");
	places_google_url(buf, sizeof(buf), "u", "a b/+&=%~_.-Z9\xc3\xa9",
	    -90, 180, 0.5);
	is(buf, "u?location=-90,180&radius=0.5&key=a%20b%2F%2B%26%3D%25~_.-Z9"
	    "%C3%A9", "url escapes the key");
	ok(places_google_url(buf, 20, "http://h/p", "K", 1, 2, 3) == -1,
	    "url too long for buffer");
	ok(places_google_url(buf, 34, "u", "abc%", 1, 2, 3) == -1,
	    "url escape too long for buffer");
	ok(places_google_url(buf, 35, "u", "abc%", 1, 2, 3) == 34,
	    "url escape fits exactly");
	is(buf, "u?location=1,2&radius=3&key=abc%25", "url exact fit");
}

static void
test_google(void)
{
	struct json_object	*d;
	char			*b, why[256], big[64];
	const char		*s;
	size_t			 i;
	static const char	*garbage[] = {
		"", " ", "not json", "{", "{\"status\": \"OK\"", "[]", "42",
		"\"OK\"", "null", "{\"status\": 7}", "{} trailing",
		"{\"status\":\"OK\"}{}", "\xff\xfe", "{\"status\": \"\xc3\"}",
	};

	b = legacy_body(25, 1);
	d = gparse(b, 5, 200);
	is(lstr(d, "status"), "OK", "google 25 -> status OK");
	ok(json_object_array_length(lget(d, "results")) == 5,
	    "google cut to 5");
	is(lstr(d, "results.4.place_id"), "place-4", "google keeps order");
	ok(lget(d, "next_page_token") == NULL, "google drops next_page_token");
	ok(lget(d, "html_attributions") != NULL, "google keeps attributions");
	ok(lget(d, "error_message") == NULL, "google OK has no error_message");
	is(plain(lget(d, "results.0.rating")), "4.5",
	    "google numbers print as received");
	json_object_put(d);
	d = places_google_parse(b, strlen(b), 20, 200, NULL, why, sizeof(why));
	ok(json_object_array_length(lget(d, "results")) == 20,
	    "google cut to 20");
	is(why, "", "google success leaves why empty");
	json_object_put(d);
	free(b);

	b = legacy_body(3, 0);
	d = gparse(b, 10, 200);
	ok(json_object_array_length(lget(d, "results")) == 3,
	    "google fewer than max kept");
	json_object_put(d);
	free(b);

	b = legacy_body(0, 0);
	d = gparse(b, 10, 200);
	is(lstr(d, "status"), "ZERO_RESULTS", "google ZERO_RESULTS passes");
	ok(json_object_array_length(lget(d, "results")) == 0,
	    "google ZERO_RESULTS empty");
	ok(lget(d, "error_message") == NULL, "google ZERO_RESULTS no error");
	json_object_put(d);
	free(b);

	d = gparse("{\"status\": \"ZERO_RESULTS\"}", 10, 200);
	ok(lget(d, "results") != NULL && json_object_array_length(lget(d,
	    "results")) == 0, "google ZERO_RESULTS gets results []");
	json_object_put(d);

	s = "{\"status\": \"REQUEST_DENIED\", "
	    "\"error_message\": \"The provided API key is invalid.\", "
	    "\"results\": [{\"a\": 1}], \"next_page_token\": \"x\"}";
	d = places_google_parse(s, strlen(s), 5, 200, NULL, why, sizeof(why));
	is_error(d, "REQUEST_DENIED", "The provided API key is invalid.",
	    "google REQUEST_DENIED");
	is(why, "REQUEST_DENIED: The provided API key is invalid.",
	    "google why names status and message");
	json_object_put(d);

	d = gparse("{\"status\": \"OVER_QUERY_LIMIT\"}", 5, 200);
	is_error(d, "OVER_QUERY_LIMIT", "no error_message",
	    "google status without message");
	json_object_put(d);

	d = gparse("{\"status\": \"INVALID_REQUEST\", \"error_message\": "
	    "\"bad\\nline\"}", 5, 200);
	is_error(d, "INVALID_REQUEST", "line", "google INVALID_REQUEST");
	ok(lstr(d, "error_message") != NULL &&
	    strcmp(lstr(d, "error_message"), "bad\nline") == 0,
	    "google error_message kept verbatim");
	json_object_put(d);

	s = "{\"status\": \"INVALID_REQUEST\", "
	    "\"error_message\": \"bad\\nline\"}";
	d = places_google_parse(s, strlen(s), 5, 200, NULL, why, sizeof(why));
	ok(strchr(why, '\n') == NULL, "google why is one line");
	json_object_put(d);

	d = gparse("Internal Server Error", 5, 500);
	is_error(d, "UNKNOWN_ERROR", "HTTP 500", "google HTTP 500");
	json_object_put(d);

	d = gparse("{\"status\": \"OK\", \"results\": []}", 5, 503);
	is_error(d, "UNKNOWN_ERROR", "HTTP 503", "google HTTP 503 with OK");
	json_object_put(d);

	d = gparse("{\"status\": \"REQUEST_DENIED\", \"error_message\": "
	    "\"nope\"}", 5, 403);
	is_error(d, "REQUEST_DENIED", "nope", "google HTTP 403 with status");
	json_object_put(d);

	d = places_google_parse(NULL, 0, 5, 0, "timed out after 500 ms", why,
	    sizeof(why));
	is_error(d, "UNKNOWN_ERROR", "timed out after 500 ms",
	    "google transport failure");
	ok(strstr(why, "timed out") != NULL, "google why for failure");
	json_object_put(d);

	d = gparse("{\"status\": \"OK\", \"results\": {}}", 5, 200);
	is_error(d, "UNKNOWN_ERROR", "results is not an array",
	    "google results object");
	json_object_put(d);

	d = gparse("{\"results\": []}", 5, 200);
	is_error(d, "UNKNOWN_ERROR", "no status", "google no status");
	json_object_put(d);

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		snprintf(big, sizeof(big), "google garbage %zu", i);
		d = gparse(garbage[i], 5, 200);
		is_error(d, "UNKNOWN_ERROR", "", big);
		json_object_put(d);
	}
	d = places_google_parse("{\"status\":\"OK\",\"results\":[]}\0x", 30,
	    5, 200, NULL, why, sizeof(why));
	is_error(d, "UNKNOWN_ERROR", "NUL", "google NUL byte");
	json_object_put(d);

	/* Whitespace after the document is fine. */
	d = gparse("{\"status\": \"OK\", \"results\": []}\r\n \n", 5, 200);
	is(lstr(d, "status"), "OK", "google trailing white space");
	json_object_put(d);

	/* Deep nesting is refused, not a crash. */
	b = malloc(20001);
	memset(b, '[', 10000);
	memset(b + 10000, ']', 10000);
	b[20000] = '\0';
	d = gparse(b, 5, 200);
	is_error(d, "UNKNOWN_ERROR", "not JSON", "google deep nesting");
	json_object_put(d);
	free(b);

	/* Weird status strings survive JSON printing. */
	d = gparse("{\"status\": \"\\\"x\\u0001\"}", 5, 200);
	s = lstr(d, "status");
	ok(s != NULL && strcmp(s, "\"x\001") == 0, "google odd status kept");
	json_object_put(d);

	/* max below 0 behaves as 0. */
	b = legacy_body(3, 0);
	d = gparse(b, -1, 200);
	ok(json_object_array_length(lget(d, "results")) == 0, "google max<0");
	json_object_put(d);
	free(b);
}

static void
test_error_doc(void)
{
	struct json_object	*d, *d2;
	char			 why[16], why2[64];

	d = places_error_doc("UNKNOWN_ERROR", "m\x01\xff" "abcdefghijklmnop",
	    why, sizeof(why));
	is(plain(d), "{\"html_attributions\":[],\"results\":[],\"status\":"
	    "\"UNKNOWN_ERROR\",\"error_message\":\"m\\u0001\xff"
	    "abcdefghijklmnop\"}", "error doc shape");
	is(why, "UNKNOWN_ERROR: ", "why cut to its buffer");
	d2 = places_error_doc("UNKNOWN_ERROR", "m\x01\xff", why2,
	    sizeof(why2));
	is(why2, "UNKNOWN_ERROR: m??", "why sanitised");
	json_object_put(d2);
	json_object_put(d);
	d = places_error_doc("S", "m", NULL, 0);
	ok(d != NULL, "error doc without why");
	json_object_put(d);
	places_sanitize(why, sizeof(why), "a\tb\nc\x7f");
	is(why, "a?b?c?", "sanitize");
}

static void
test_gnew_body(void)
{
	struct json_object	*b;

	b = places_gnew_body(34.06893, -118.445127, 10000, 5);
	is(plain(b), "{\"maxResultCount\":5,\"locationRestriction\":"
	    "{\"circle\":{\"center\":{\"latitude\":34.06893,\"longitude\":"
	    "-118.445127},\"radius\":10000}}}", "gnew body exact");
	json_object_put(b);
	b = places_gnew_body(-0.5, 0, 0.25, 20);
	is(plain(b), "{\"maxResultCount\":20,\"locationRestriction\":"
	    "{\"circle\":{\"center\":{\"latitude\":-0.5,\"longitude\":0},"
	    "\"radius\":0.25}}}", "gnew body small numbers");
	json_object_put(b);
	is(PLACES_GNEW_FIELDMASK, "places.id,places.displayName,"
	    "places.location,places.shortFormattedAddress,places.types,"
	    "places.businessStatus,places.rating,places.userRatingCount,"
	    "places.priceLevel,places.viewport", "gnew field mask");
}

static const char gnew_full[] =
	"{\"places\": [{"
	"\"id\": \"ChIJ-1\","
	"\"types\": [\"university\", 7, \"point_of_interest\"],"
	"\"shortFormattedAddress\": \"405 Hilgard Ave, Los Angeles\","
	"\"location\": {\"latitude\": 34.068921, \"longitude\": -118.4451811},"
	"\"viewport\": {\"low\": {\"latitude\": 34.06, \"longitude\": -118.45},"
	" \"high\": {\"latitude\": 34.08, \"longitude\": -118.43}},"
	"\"rating\": 4.5,"
	"\"userRatingCount\": 1234,"
	"\"priceLevel\": \"PRICE_LEVEL_MODERATE\","
	"\"businessStatus\": \"OPERATIONAL\","
	"\"displayName\": {\"text\": \"UCLA\", \"languageCode\": \"en\"},"
	"\"extra\": \"dropped\""
	"}, {\"id\": \"two\", \"rating\": 4}, 17, {\"id\": \"three\"}],"
	"\"nextPageToken\": \"zzz\"}";

static void
test_gnew(void)
{
	struct json_object	*d;
	char			 body[512], name[128], why[256];
	size_t			 i;
	int			 n;
	static const char	*levels[] = {
		"PRICE_LEVEL_FREE", "PRICE_LEVEL_INEXPENSIVE",
		"PRICE_LEVEL_MODERATE", "PRICE_LEVEL_EXPENSIVE",
		"PRICE_LEVEL_VERY_EXPENSIVE",
	};
	static const struct {
		const char	*rpc, *status;
	} errs[] = {
		{ "INVALID_ARGUMENT", "INVALID_REQUEST" },
		{ "PERMISSION_DENIED", "REQUEST_DENIED" },
		{ "UNAUTHENTICATED", "REQUEST_DENIED" },
		{ "RESOURCE_EXHAUSTED", "OVER_QUERY_LIMIT" },
		{ "INTERNAL", "UNKNOWN_ERROR" },
		{ "UNAVAILABLE", "UNKNOWN_ERROR" },
		{ "NOT_FOUND", "UNKNOWN_ERROR" },
	};
	static const char	*garbage[] = {
		"", "garbage", "{", "[]", "null", "12", "{\"places\": {}}",
		"{\"places\": \"x\"}", "\x80\x81",
	};

	d = places_gnew_parse(gnew_full, strlen(gnew_full), 20, 200, NULL,
	    why, sizeof(why));
	is(plain(lget(d, "results.0")), "{\"business_status\":\"OPERATIONAL\","
	    "\"geometry\":{\"location\":{\"lat\":34.068921,\"lng\":"
	    "-118.4451811},\"viewport\":{\"northeast\":{\"lat\":34.08,\"lng\":"
	    "-118.43},\"southwest\":{\"lat\":34.06,\"lng\":-118.45}}},"
	    "\"name\":\"UCLA\",\"place_id\":\"ChIJ-1\",\"price_level\":2,"
	    "\"rating\":4.5,\"types\":[\"university\",\"point_of_interest\"],"
	    "\"user_ratings_total\":1234,\"vicinity\":"
	    "\"405 Hilgard Ave, Los Angeles\"}", "gnew maps every field");
	is(plain(lget(d, "results.1")), "{\"place_id\":\"two\",\"rating\":4}",
	    "gnew maps a sparse place");
	is(lstr(d, "results.2.place_id"), "three",
	    "gnew skips non-object places");
	is(lstr(d, "status"), "OK", "gnew status OK");
	ok(json_object_array_length(lget(d, "html_attributions")) == 0,
	    "gnew html_attributions []");
	ok(lget(d, "next_page_token") == NULL &&
	    lget(d, "nextPageToken") == NULL, "gnew no page token");
	ok(lget(d, "error_message") == NULL, "gnew OK no error_message");
	is(why, "", "gnew success leaves why empty");
	json_object_put(d);

	d = nparse(gnew_full, 1, 200);
	ok(json_object_array_length(lget(d, "results")) == 1, "gnew cut to 1");
	json_object_put(d);
	d = nparse(gnew_full, 0, 200);
	is(lstr(d, "status"), "ZERO_RESULTS", "gnew max 0 -> ZERO_RESULTS");
	json_object_put(d);

	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"places\": [{\"priceLevel\": "
		    "\"%s\"}]}", levels[i]);
		d = nparse(body, 5, 200);
		n = json_object_get_int(lget(d, "results.0.price_level"));
		snprintf(name, sizeof(name), "gnew %s -> %zu", levels[i], i);
		ok(lget(d, "results.0.price_level") != NULL && n == (int)i,
		    name);
		json_object_put(d);
	}
	d = nparse("{\"places\": [{\"priceLevel\": \"PRICE_LEVEL_UNSPECIFIED\","
	    "\"rating\": \"x\", \"userRatingCount\": 1.5, \"types\": {},"
	    "\"location\": {\"latitude\": 1}, \"viewport\": {\"low\": "
	    "{\"latitude\": 1, \"longitude\": 2}}, \"displayName\": \"x\","
	    "\"id\": 5}]}", 5, 200);
	is(plain(lget(d, "results.0")), "{}", "gnew drops ill-typed fields");
	json_object_put(d);
	d = nparse("{\"places\": [{\"viewport\": {\"low\": {\"latitude\": 1, "
	    "\"longitude\": 2}, \"high\": {\"latitude\": 3, \"longitude\": "
	    "4}}}]}", 5, 200);
	is(plain(lget(d, "results.0")), "{\"geometry\":{\"viewport\":"
	    "{\"northeast\":{\"lat\":3,\"lng\":4},\"southwest\":{\"lat\":1,"
	    "\"lng\":2}}}}", "gnew viewport alone");
	json_object_put(d);

	d = nparse("{}", 5, 200);
	is(lstr(d, "status"), "ZERO_RESULTS", "gnew {} -> ZERO_RESULTS");
	ok(json_object_array_length(lget(d, "results")) == 0,
	    "gnew {} -> results []");
	ok(lget(d, "error_message") == NULL, "gnew ZERO_RESULTS no error");
	json_object_put(d);
	d = nparse("{\"places\": []}", 5, 200);
	is(lstr(d, "status"), "ZERO_RESULTS", "gnew [] -> ZERO_RESULTS");
	json_object_put(d);

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		snprintf(body, sizeof(body), "{\"error\": {\"code\": 400, "
		    "\"message\": \"msg for %s\", \"status\": \"%s\"}}",
		    errs[i].rpc, errs[i].rpc);
		d = places_gnew_parse(body, strlen(body), 5, 400, NULL, why,
		    sizeof(why));
		snprintf(name, sizeof(name), "gnew error %s", errs[i].rpc);
		is_error(d, errs[i].status, "msg for", name);
		is(places_gnew_status(errs[i].rpc), errs[i].status, name);
		ok(strstr(why, errs[i].status) != NULL, "gnew error why");
		json_object_put(d);
	}
	ok(strcmp(places_gnew_status(NULL), "UNKNOWN_ERROR") == 0,
	    "gnew status NULL");
	ok(places_gnew_price("PRICE_LEVEL_UNSPECIFIED") == -1 &&
	    places_gnew_price("") == -1, "gnew price unknown");

	d = nparse("{\"error\": {\"code\": 403, \"status\": "
	    "\"PERMISSION_DENIED\"}}", 5, 403);
	is_error(d, "REQUEST_DENIED", "PERMISSION_DENIED",
	    "gnew error without message");
	json_object_put(d);
	d = nparse("{\"error\": {\"code\": 500, \"message\": \"boom\"}}", 5,
	    500);
	is_error(d, "UNKNOWN_ERROR", "boom", "gnew error without status");
	json_object_put(d);
	d = nparse("{\"error\": \"str\"}", 5, 500);
	is_error(d, "UNKNOWN_ERROR", "HTTP 500", "gnew error not an object");
	json_object_put(d);
	d = nparse("<html>503</html>", 5, 503);
	is_error(d, "UNKNOWN_ERROR", "HTTP 503", "gnew HTTP 503 html");
	json_object_put(d);
	d = nparse("{\"places\": []}", 5, 404);
	is_error(d, "UNKNOWN_ERROR", "HTTP 404", "gnew HTTP 404 with places");
	json_object_put(d);
	d = places_gnew_parse(NULL, 0, 5, 0, "Connection refused", why,
	    sizeof(why));
	is_error(d, "UNKNOWN_ERROR", "Connection refused",
	    "gnew transport failure");
	json_object_put(d);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		snprintf(name, sizeof(name), "gnew garbage %zu", i);
		d = nparse(garbage[i], 5, 200);
		is_error(d, "UNKNOWN_ERROR", "", name);
		json_object_put(d);
	}
}

int
main(void)
{
	test_fmt();
	test_url();
	test_error_doc();
	test_google();
	test_gnew_body();
	test_gnew();
	printf("1..%d\n", test_n);
	if (test_failed)
		printf("# %d of %d failed\n", test_failed, test_n);
	return test_failed ? 1 : 0;
}
