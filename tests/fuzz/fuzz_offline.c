/*
 * fuzz_offline.c -- libFuzzer target: the offline Places data set loader.
 * The input is a file image.  offline_parse must reject it or return a
 * data set that answers queries with well-formed documents; a few queries
 * (the poles, the antimeridian, a radius beyond the antipode) run on every
 * image that loads, and offline_text must write each answer exactly as
 * json-c prints it, with places kept (twice, so the second is copied) and
 * without, and through the table of recent centres.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "offline.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double	 q[][4] = {
		{ 0, 0, 50000, 20 }, { 90, 0, 50000, 5 },
		{ -89.99, 179.99, 50000, 20 }, { 10, 180, 1000, 3 },
		{ 0, 0, 2.1e7, 100 }, { 0, 0, 1000, 3 }, { 90, 0, 20000, 2 },
	};
	struct offline_db	*db;
	struct offline_frags	*f;
	struct offline_near	*nc;
	struct json_object	*doc, *v;
	const char		*want;
	char			 err[256], *text = NULL;
	size_t			 i, textsize = 0, k;
	ssize_t			 len;
	int			 ok;

	if ((db = offline_parse(data, size, err, sizeof(err))) == NULL)
		return 0;
	if (offline_count(db) == 0)
		__builtin_trap();
	f = offline_frags_new(db, 4096);	/* NULL: the same, anew */
	nc = offline_near_new(db, 2, 50000, 20);	/* likewise */
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		doc = offline_query(db, q[i][0], q[i][1], q[i][2], q[i][3]);
		if (doc == NULL)
			__builtin_trap();
		if (!json_object_object_get_ex(doc, "results", &v) ||
		    json_object_array_length(v) > (size_t)q[i][3])
			__builtin_trap();
		if ((want = json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) ==
		    NULL)
			__builtin_trap();
		for (k = 0; k < 4; k++) {	/* anew, kept, copied, and
						 * the last from the table */
			len = offline_text(db, k > 0 ? f : NULL,
			    k > 1 ? nc : NULL, q[i][0], q[i][1], q[i][2],
			    (int)q[i][3], &text, &textsize, &ok);
			if (len == -1)
				continue;	/* out of memory */
			if ((size_t)len != strlen(want) || len == 0 ||
			    memmem(text, (size_t)len, "\n\n", 2) != NULL ||
			    text[len - 1] == '\n' ||
			    memcmp(text, want, (size_t)len) != 0)
				__builtin_trap();
		}
		json_object_put(doc);
	}
	offline_frags_free(f);
	offline_near_free(nc);
	free(text);
	offline_free(db);
	return 0;
}
