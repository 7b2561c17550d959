/* fuzz_notify.c -- libFuzzer target: worker-to-herdd records. */
#include <stddef.h>
#include <stdint.h>

#include "notify.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct notify_msg msg;

	notify_parse((const char *)data, size, &msg);
	return 0;
}
