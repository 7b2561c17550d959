/*
 * places_google.c -- the legacy Nearby Search backend, pure half: the
 * request URL and the mapping of answers, plus the helpers both Google
 * backends share (failure documents, number printing, strict JSON parsing).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "places_backend.h"

#define PLACES_MSG_MAX	512

static int	 google_status_ok(const char *status);

struct json_object *
places_error_doc(const char *status, const char *message, char *why,
    size_t whylen)
{
	struct json_object	*doc;
	char			 line[PLACES_MSG_MAX];

	if (why != NULL && whylen > 0) {
		snprintf(line, sizeof(line), "%s: %s", status, message);
		places_sanitize(why, whylen, line);
	}
	if ((doc = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(doc, "html_attributions",
	    json_object_new_array()) != 0 ||
	    json_object_object_add(doc, "results",
	    json_object_new_array()) != 0 ||
	    json_object_object_add(doc, "status",
	    json_object_new_string(status)) != 0 ||
	    json_object_object_add(doc, "error_message",
	    json_object_new_string(message)) != 0) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

struct json_object *
places_json_parse(const char *body, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 end;

	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(err, errlen, "body too large to parse");
		return NULL;
	}
	if (memchr(body, '\0', len) != NULL) {
		snprintf(err, errlen, "body holds a NUL byte");
		return NULL;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(err, errlen, "body is not JSON: %s",
		    jerr == json_tokener_continue ? "truncated" :
		    json_tokener_error_desc(jerr));
		return NULL;
	}
	for (; end < len; end++) {
		if (strchr(" \t\r\n", body[end]) == NULL) {
			json_object_put(obj);
			snprintf(err, errlen, "body is not JSON: trailing "
			    "bytes at offset %zu", end);
			return NULL;
		}
	}
	return obj;
}

int
places_fmt_num(char *buf, size_t len, double v)
{
	char	 tmp[400], *dot, *p;
	int	 prec, n = 0;

	if (!isfinite(v) || v == 0.0)
		v = 0.0;
	for (prec = 0; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*f", prec, v);
		if (n < 0 || (size_t)n >= sizeof(tmp))
			return -1;
		if (strtod(tmp, NULL) == v)
			break;
	}
	if ((dot = strchr(tmp, '.')) != NULL) {
		for (p = tmp + n - 1; p > dot && *p == '0'; p--)
			*p = '\0';
		if (p == dot)
			*p = '\0';
	}
	if (strcmp(tmp, "-0") == 0)
		snprintf(tmp, sizeof(tmp), "0");
	n = (int)strlen(tmp);
	if ((size_t)n >= len)
		return -1;
	memcpy(buf, tmp, n + 1);
	return n;
}

void
places_sanitize(char *buf, size_t len, const char *s)
{
	size_t	 i;

	if (len == 0)
		return;
	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

int
places_google_url(char *buf, size_t len, const char *base, const char *key,
    double lat, double lng, double radius_m)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 slat[64], slng[64], srad[64];
	const unsigned char	*k;
	size_t			 n;
	int			 rc;

	if (places_fmt_num(slat, sizeof(slat), lat) == -1 ||
	    places_fmt_num(slng, sizeof(slng), lng) == -1 ||
	    places_fmt_num(srad, sizeof(srad), radius_m) == -1)
		return -1;
	rc = snprintf(buf, len, "%s%clocation=%s,%s&radius=%s&key=", base,
	    strchr(base, '?') != NULL ? '&' : '?', slat, slng, srad);
	if (rc < 0 || (size_t)rc >= len)
		return -1;
	n = (size_t)rc;
	for (k = (const unsigned char *)key; *k != '\0'; k++) {
		if ((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		    (*k >= '0' && *k <= '9') || strchr("-._~", *k) != NULL) {
			if (n + 1 >= len)
				return -1;
			buf[n++] = *k;
		} else {
			if (n + 3 >= len)
				return -1;
			buf[n++] = '%';
			buf[n++] = hex[*k >> 4];
			buf[n++] = hex[*k & 0xf];
		}
	}
	buf[n] = '\0';
	return (int)n;
}

static int
google_status_ok(const char *status)
{
	return strcmp(status, "OK") == 0 || strcmp(status, "ZERO_RESULTS") == 0;
}

struct json_object *
places_parse_begin(int *max, const char *fail, char *why, size_t whylen)
{
	char	 msg[PLACES_MSG_MAX];

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (*max < 0)
		*max = 0;
	if (fail == NULL)
		return NULL;
	snprintf(msg, sizeof(msg), "Places request failed: %s", fail);
	return places_error_doc("UNKNOWN_ERROR", msg, why, whylen);
}

struct json_object *
places_google_parse(const char *body, size_t len, int max, long http_status,
    const char *fail, char *why, size_t whylen)
{
	struct json_object	*doc, *v, *results;
	const char		*status = NULL, *emsg = NULL;
	char			 msg[PLACES_MSG_MAX], perr[128];
	size_t			 n;

	if ((v = places_parse_begin(&max, fail, why, whylen)) != NULL)
		return v;
	doc = places_json_parse(body, len, perr, sizeof(perr));
	if (doc != NULL && json_object_is_type(doc, json_type_object)) {
		if (json_object_object_get_ex(doc, "status", &v) &&
		    json_object_is_type(v, json_type_string))
			status = json_object_get_string(v);
		if (json_object_object_get_ex(doc, "error_message", &v) &&
		    json_object_is_type(v, json_type_string))
			emsg = json_object_get_string(v);
	}

	if (http_status < 200 || http_status > 299) {
		if (status != NULL && !google_status_ok(status)) {
			snprintf(msg, sizeof(msg), "%s", emsg != NULL ? emsg :
			    "Places answered HTTP error");
			snprintf(perr, sizeof(perr), " (HTTP %ld)",
			    http_status);
			strncat(msg, perr, sizeof(msg) - strlen(msg) - 1);
			v = places_error_doc(status, msg, why, whylen);
		} else {
			snprintf(msg, sizeof(msg), "Places answered HTTP %ld",
			    http_status);
			v = places_error_doc("UNKNOWN_ERROR", msg, why, whylen);
		}
		json_object_put(doc);
		return v;
	}
	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "unusable answer from Places: %s",
		    perr);
		return places_error_doc("UNKNOWN_ERROR", msg, why, whylen);
	}
	if (status == NULL) {
		json_object_put(doc);
		return places_error_doc("UNKNOWN_ERROR", "unusable answer from"
		    " Places: no status", why, whylen);
	}
	if (!google_status_ok(status)) {
		snprintf(msg, sizeof(msg), "%s", emsg != NULL ? emsg :
		    "Places gave no error_message");
		v = places_error_doc(status, msg, why, whylen);
		json_object_put(doc);
		return v;
	}

	if (!json_object_object_get_ex(doc, "results", &results)) {
		if (json_object_object_add(doc, "results",
		    json_object_new_array()) != 0) {
			json_object_put(doc);
			return NULL;
		}
	} else if (!json_object_is_type(results, json_type_array)) {
		json_object_put(doc);
		return places_error_doc("UNKNOWN_ERROR", "unusable answer from"
		    " Places: results is not an array", why, whylen);
	} else if ((n = json_object_array_length(results)) > (size_t)max)
		json_object_array_del_idx(results, max, n - max);
	json_object_object_del(doc, "next_page_token");
	return doc;
}
