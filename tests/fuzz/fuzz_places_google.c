/*
 * fuzz_places_google.c -- libFuzzer target: legacy Nearby Search answers.
 * The first byte picks max and the HTTP status; the rest is the body.
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
	static const long	 codes[] = { 200, 200, 200, 403, 500, 0 };
	struct json_object	*doc;
	char			 why[512];
	const char		*s;
	int			 max;
	long			 code;

	if (size < 1)
		return 0;
	max = data[0] % 22;
	code = codes[(data[0] >> 5) % (sizeof(codes) / sizeof(codes[0]))];
	doc = places_google_parse((const char *)data + 1, size - 1, max, code,
	    NULL, why, sizeof(why));
	if (doc == NULL)
		return 0;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || strlen(s) == 0)
		__builtin_trap();
	if (strchr(why, '\n') != NULL)
		__builtin_trap();
	json_object_put(doc);
	return 0;
}
