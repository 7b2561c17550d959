/*
 * places_gnew.c -- the Places API (New) backend, pure half: the
 * searchNearby request body, and the mapping of its answers onto the
 * legacy Nearby Search shape that WHATSAT prints.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "places_backend.h"

#define GNEW_MSG_MAX	512

static struct json_object *gnew_num(double v);
static struct json_object *gnew_get(struct json_object *obj, const char *key,
	    enum json_type type);
static int	 gnew_is_num(struct json_object *v);
static struct json_object *gnew_latlng(struct json_object *loc);
static struct json_object *gnew_geometry(struct json_object *place);
static struct json_object *gnew_place(struct json_object *place);
static void	 gnew_add(struct json_object *obj, const char *key,
	    struct json_object *v, int *failed);

static const char *gnew_prices[] = {
	"PRICE_LEVEL_FREE",
	"PRICE_LEVEL_INEXPENSIVE",
	"PRICE_LEVEL_MODERATE",
	"PRICE_LEVEL_EXPENSIVE",
	"PRICE_LEVEL_VERY_EXPENSIVE",
};

int
places_gnew_price(const char *level)
{
	size_t	 i;

	for (i = 0; i < sizeof(gnew_prices) / sizeof(gnew_prices[0]); i++)
		if (strcmp(level, gnew_prices[i]) == 0)
			return (int)i;
	return -1;
}

const char *
places_gnew_status(const char *rpc)
{
	if (rpc == NULL)
		return "UNKNOWN_ERROR";
	if (strcmp(rpc, "INVALID_ARGUMENT") == 0)
		return "INVALID_REQUEST";
	if (strcmp(rpc, "PERMISSION_DENIED") == 0 ||
	    strcmp(rpc, "UNAUTHENTICATED") == 0)
		return "REQUEST_DENIED";
	if (strcmp(rpc, "RESOURCE_EXHAUSTED") == 0)
		return "OVER_QUERY_LIMIT";
	return "UNKNOWN_ERROR";
}

/* A double that prints as places_fmt_num() writes it. */
static struct json_object *
gnew_num(double v)
{
	char	 buf[64];

	if (places_fmt_num(buf, sizeof(buf), v) == -1)
		snprintf(buf, sizeof(buf), "0");
	return json_object_new_double_s(v, buf);
}

static void
gnew_add(struct json_object *obj, const char *key, struct json_object *v,
    int *failed)
{
	if (v == NULL || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		*failed = 1;
	}
}

struct json_object *
places_gnew_body(double lat, double lng, double radius_m, int max)
{
	struct json_object	*body, *restr, *circle, *center;
	int			 failed = 0;

	body = json_object_new_object();
	restr = json_object_new_object();
	circle = json_object_new_object();
	center = json_object_new_object();
	if (body == NULL || restr == NULL || circle == NULL || center == NULL) {
		json_object_put(body);
		json_object_put(restr);
		json_object_put(circle);
		json_object_put(center);
		return NULL;
	}
	gnew_add(center, "latitude", gnew_num(lat), &failed);
	gnew_add(center, "longitude", gnew_num(lng), &failed);
	gnew_add(circle, "center", center, &failed);
	gnew_add(circle, "radius", gnew_num(radius_m), &failed);
	gnew_add(restr, "circle", circle, &failed);
	gnew_add(body, "maxResultCount", json_object_new_int(max), &failed);
	gnew_add(body, "locationRestriction", restr, &failed);
	if (failed) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

static struct json_object *
gnew_get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object	*v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int
gnew_is_num(struct json_object *v)
{
	return v != NULL && (json_object_is_type(v, json_type_double) ||
	    json_object_is_type(v, json_type_int));
}

/* {latitude, longitude} -> {lat, lng}, or NULL. */
static struct json_object *
gnew_latlng(struct json_object *loc)
{
	struct json_object	*lat, *lng, *out;
	int			 failed = 0;

	if (loc == NULL || !json_object_is_type(loc, json_type_object) ||
	    !json_object_object_get_ex(loc, "latitude", &lat) ||
	    !json_object_object_get_ex(loc, "longitude", &lng) ||
	    !gnew_is_num(lat) || !gnew_is_num(lng))
		return NULL;
	if ((out = json_object_new_object()) == NULL)
		return NULL;
	gnew_add(out, "lat", json_object_get(lat), &failed);
	gnew_add(out, "lng", json_object_get(lng), &failed);
	if (failed) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

static struct json_object *
gnew_geometry(struct json_object *place)
{
	struct json_object	*geo, *loc, *vp, *low, *high, *out;
	int			 failed = 0;

	loc = gnew_latlng(gnew_get(place, "location", json_type_object));
	vp = gnew_get(place, "viewport", json_type_object);
	low = gnew_latlng(gnew_get(vp, "low", json_type_object));
	high = gnew_latlng(gnew_get(vp, "high", json_type_object));
	if (loc == NULL && (low == NULL || high == NULL)) {
		json_object_put(low);
		json_object_put(high);
		return NULL;
	}
	if ((geo = json_object_new_object()) == NULL) {
		json_object_put(loc);
		json_object_put(low);
		json_object_put(high);
		return NULL;
	}
	if (loc != NULL)
		gnew_add(geo, "location", loc, &failed);
	if (low != NULL && high != NULL) {
		if ((out = json_object_new_object()) == NULL)
			failed = 1;
		else {
			gnew_add(out, "northeast", high, &failed);
			gnew_add(out, "southwest", low, &failed);
			high = low = NULL;
			gnew_add(geo, "viewport", out, &failed);
		}
	}
	json_object_put(low);
	json_object_put(high);
	if (failed) {
		json_object_put(geo);
		return NULL;
	}
	return geo;
}

/* One place of the New API as a legacy result (keys in Google's order). */
static struct json_object *
gnew_place(struct json_object *place)
{
	struct json_object	*r, *v, *geo, *types, *t;
	size_t			 i, n;
	int			 failed = 0, price;

	if ((r = json_object_new_object()) == NULL)
		return NULL;
	if ((v = gnew_get(place, "businessStatus", json_type_string)) != NULL)
		gnew_add(r, "business_status", json_object_get(v), &failed);
	if ((geo = gnew_geometry(place)) != NULL)
		gnew_add(r, "geometry", geo, &failed);
	if ((v = gnew_get(gnew_get(place, "displayName", json_type_object),
	    "text", json_type_string)) != NULL)
		gnew_add(r, "name", json_object_get(v), &failed);
	if ((v = gnew_get(place, "id", json_type_string)) != NULL)
		gnew_add(r, "place_id", json_object_get(v), &failed);
	if ((v = gnew_get(place, "priceLevel", json_type_string)) != NULL &&
	    (price = places_gnew_price(json_object_get_string(v))) != -1)
		gnew_add(r, "price_level", json_object_new_int(price), &failed);
	if (json_object_object_get_ex(place, "rating", &v) && gnew_is_num(v))
		gnew_add(r, "rating", json_object_get(v), &failed);
	if ((v = gnew_get(place, "types", json_type_array)) != NULL) {
		if ((types = json_object_new_array()) == NULL)
			failed = 1;
		else {
			n = json_object_array_length(v);
			for (i = 0; i < n; i++) {
				t = json_object_array_get_idx(v, i);
				if (json_object_is_type(t, json_type_string) &&
				    json_object_array_add(types,
				    json_object_get(t)) != 0) {
					json_object_put(t);
					failed = 1;
				}
			}
			gnew_add(r, "types", types, &failed);
		}
	}
	if ((v = gnew_get(place, "userRatingCount", json_type_int)) != NULL)
		gnew_add(r, "user_ratings_total", json_object_get(v), &failed);
	if ((v = gnew_get(place, "shortFormattedAddress",
	    json_type_string)) != NULL)
		gnew_add(r, "vicinity", json_object_get(v), &failed);
	if (failed) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

struct json_object *
places_gnew_parse(const char *body, size_t len, int max, long http_status,
    const char *fail, char *why, size_t whylen)
{
	struct json_object	*doc, *err, *v, *plist, *results, *r, *out;
	const char		*rpc = NULL, *emsg = NULL;
	char			 msg[GNEW_MSG_MAX], perr[128];
	size_t			 i, n;
	int			 failed = 0;

	if ((v = places_parse_begin(&max, fail, why, whylen)) != NULL)
		return v;
	doc = places_json_parse(body, len, perr, sizeof(perr));
	if ((err = gnew_get(doc, "error", json_type_object)) != NULL) {
		if ((v = gnew_get(err, "status", json_type_string)) != NULL)
			rpc = json_object_get_string(v);
		if ((v = gnew_get(err, "message", json_type_string)) != NULL)
			emsg = json_object_get_string(v);
		if (emsg != NULL)
			snprintf(msg, sizeof(msg), "%s", emsg);
		else
			snprintf(msg, sizeof(msg), "Places answered %s "
			    "(HTTP %ld)", rpc != NULL ? rpc : "an error",
			    http_status);
		out = places_error_doc(places_gnew_status(rpc), msg, why,
		    whylen);
		json_object_put(doc);
		return out;
	}
	if (http_status < 200 || http_status > 299) {
		json_object_put(doc);
		snprintf(msg, sizeof(msg), "Places answered HTTP %ld",
		    http_status);
		return places_error_doc("UNKNOWN_ERROR", msg, why, whylen);
	}
	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "unusable answer from Places: %s",
		    perr);
		return places_error_doc("UNKNOWN_ERROR", msg, why, whylen);
	}
	if (!json_object_is_type(doc, json_type_object) ||
	    (json_object_object_get_ex(doc, "places", &plist) &&
	    !json_object_is_type(plist, json_type_array))) {
		json_object_put(doc);
		return places_error_doc("UNKNOWN_ERROR", "unusable answer from"
		    " Places: places is not an array", why, whylen);
	}
	plist = gnew_get(doc, "places", json_type_array);

	if ((out = json_object_new_object()) == NULL ||
	    (results = json_object_new_array()) == NULL) {
		json_object_put(out);
		json_object_put(doc);
		return NULL;
	}
	n = plist != NULL ? json_object_array_length(plist) : 0;
	for (i = 0; i < n && json_object_array_length(results) <
	    (size_t)max; i++) {
		v = json_object_array_get_idx(plist, i);
		if (!json_object_is_type(v, json_type_object))
			continue;
		if ((r = gnew_place(v)) == NULL ||
		    json_object_array_add(results, r) != 0) {
			json_object_put(r);
			failed = 1;
			break;
		}
	}
	json_object_put(doc);
	gnew_add(out, "html_attributions", json_object_new_array(), &failed);
	n = json_object_array_length(results);
	gnew_add(out, "results", results, &failed);
	gnew_add(out, "status", json_object_new_string(n > 0 ? "OK" :
	    "ZERO_RESULTS"), &failed);
	if (failed) {
		json_object_put(out);
		return NULL;
	}
	return out;
}
