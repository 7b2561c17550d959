/* fuzz_peer.c -- libFuzzer target: peer protocol lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto.h"

/* A field is empty, or lies inside the line. */
static void
inside(const struct proto_field *f, const uint8_t *data, size_t size)
{
	if (f->len > 0 && ((const uint8_t *)f->p < data ||
	    (const uint8_t *)f->p + f->len > data + size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_peer msg;

	proto_parse_peer((const char *)data, size, &msg);
	inside(&msg.nonce, data, size);
	inside(&msg.mac, data, size);
	/* the handshake's fields have exactly their length, or are absent */
	if ((msg.nonce.len != 0 && msg.nonce.len != PROTO_NONCE_HEX) ||
	    (msg.mac.len != 0 && msg.mac.len != PROTO_MAC_HEX) ||
	    (msg.type == PEER_CHALLENGE && msg.nonce.len == 0) ||
	    (msg.type == PEER_AUTH && msg.mac.len == 0))
		abort();
	return 0;
}
