/* fuzz_conf.c -- libFuzzer target: the configuration parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct herd_conf conf;
	char		 err[2048], *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_parse(text, size, "fuzz.ini", &conf, err, sizeof(err)) == 0)
		conf_free(&conf);
	free(text);
	return 0;
}
