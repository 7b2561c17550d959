/* fuzz_client.c -- libFuzzer target: client lines and the AT reply. */
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_cmd cmd;
	struct htime	 now = { 1700000000, 123456789 };
	static char	 buf[1 << 17];

	if (proto_parse_client((const char *)data, size, &cmd) == PROTO_IAMAT)
		proto_format_at(buf, sizeof(buf), "Goloman", &now, &cmd);
	if (size < sizeof(buf) / 2)
		proto_format_json(buf, (const char *)data, size);
	return 0;
}
