/* fuzz_peer.c -- libFuzzer target: peer protocol lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	/* a notice names 1 to PROTO_IHAVE_MAX records */
	if (msg.type == PEER_IHAVE) {
		if (msg.nhave == 0 || msg.nhave > PROTO_IHAVE_MAX)
			abort();
	} else if (msg.nhave != 0)
		abort();
	/* an update's AT line, single-spaced, parses back to the same */
	if (msg.type == PEER_UPDATE || msg.type == PEER_RESEND) {
		static char		 buf[1 << 17], line[(1 << 17) + 8];
		struct proto_peer	 again;
		const char		*at;
		size_t			 n;

		inside(&msg.line, data, size);
		at = proto_at_line(&msg.at, buf, sizeof(buf), &n);
		if (at == NULL)
			return 0;
		memcpy(line, "UPDATE ", 7);
		memcpy(line + 7, at, n);
		if (proto_parse_peer(line, n + 7, &again) != PEER_UPDATE ||
		    again.line.len != n ||
		    memcmp(again.line.p, at, n) != 0 ||
		    again.at.t.sec != msg.at.t.sec ||
		    again.at.t.nsec != msg.at.t.nsec)
			abort();
	}
	return 0;
}
