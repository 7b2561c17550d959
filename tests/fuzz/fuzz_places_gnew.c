/*
 * fuzz_places_gnew.c -- libFuzzer target: Places API (New) answers mapped
 * onto the legacy shape.  The first byte picks max and the HTTP status;
 * the rest is the body.  Every answer must come out as a document with a
 * status and a results array no longer than max.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "places_backend.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 codes[] = { 200, 200, 200, 400, 403, 500 };
	struct json_object	*doc, *v;
	char			 why[512];
	int			 max;
	long			 code;

	if (size < 1)
		return 0;
	max = data[0] % 22;
	code = codes[(data[0] >> 5) % (sizeof(codes) / sizeof(codes[0]))];
	doc = places_gnew_parse((const char *)data + 1, size - 1, max, code,
	    NULL, why, sizeof(why));
	if (doc == NULL)
		return 0;
	if (!json_object_object_get_ex(doc, "status", &v) ||
	    !json_object_is_type(v, json_type_string))
		__builtin_trap();
	if (!json_object_object_get_ex(doc, "results", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > (size_t)max)
		__builtin_trap();
	if (json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE) == NULL)
		__builtin_trap();
	json_object_put(doc);
	return 0;
}
