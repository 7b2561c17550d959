/*
 * offline_json.c -- the offline backend's answer as a legacy Nearby Search
 * response (offline.h): the envelope with its attribution and status, and
 * each place as a result, its coordinates written with the file's digits.
 */
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_int.h"

/* A coordinate as a JSON number written with the file's exact digits. */
static json_object *
offline_json_coord(const struct offline_db *db, int32_t v)
{
	char		 buf[32];
	int64_t		 a = v < 0 ? -(int64_t)v : v;
	int		 len;

	if (db->decimals == 0)
		len = snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else {
		len = snprintf(buf, sizeof(buf), "%s%lld.%0*lld",
		    v < 0 ? "-" : "", (long long)(a / db->scale),
		    db->decimals, (long long)(a % db->scale));
		while (len > 0 && buf[len - 1] == '0')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '.')
			buf[--len] = '\0';
	}
	return json_object_new_double_s((double)v / db->scale, buf);
}

json_object *
offline_json_result(const struct offline_db *db, const struct offline_place *pl)
{
	json_object	*res, *geo, *loc, *types;

	res = json_object_new_object();
	geo = json_object_new_object();
	loc = json_object_new_object();
	types = json_object_new_array_ext(2);
	if (res == NULL || geo == NULL || loc == NULL || types == NULL)
		goto fail;
	json_object_object_add(loc, "lat", offline_json_coord(db, pl->lat));
	json_object_object_add(loc, "lng", offline_json_coord(db, pl->lng));
	json_object_object_add(geo, "location", loc);
	loc = NULL;
	json_object_object_add(res, "geometry", geo);
	geo = NULL;
	json_object_object_add(res, "name",
	    json_object_new_string(db->strings + pl->name));
	json_object_array_add(types, json_object_new_string("locality"));
	json_object_array_add(types, json_object_new_string("political"));
	json_object_object_add(res, "types", types);
	json_object_object_add(res, "vicinity",
	    json_object_new_string(db->strings + pl->vicinity));
	return res;
 fail:
	json_object_put(res);
	json_object_put(geo);
	json_object_put(loc);
	json_object_put(types);
	return NULL;
}

/* An answer with no results yet. */
json_object *
offline_json_response(const struct offline_db *db, const char *status)
{
	json_object	*resp, *attr;

	if ((resp = json_object_new_object()) == NULL)
		return NULL;
	if ((attr = json_object_new_array_ext(1)) == NULL) {
		json_object_put(resp);
		return NULL;
	}
	json_object_array_add(attr,
	    json_object_new_string(db->strings + db->attribution));
	json_object_object_add(resp, "html_attributions", attr);
	json_object_object_add(resp, "results", json_object_new_array());
	json_object_object_add(resp, "status",
	    json_object_new_string(status));
	return resp;
}
