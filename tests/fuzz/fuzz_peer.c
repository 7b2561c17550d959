/* fuzz_peer.c -- libFuzzer target: peer protocol lines. */
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_peer msg;

	proto_parse_peer((const char *)data, size, &msg);
	return 0;
}
