/*
 * proto_peer.c -- the pure parser of peer messages (herd-protocol(7)): the
 * handshake (HELLO, OK and their feature words, CHALLENGE, AUTH), the
 * stream (UPDATE, RESEND, FROM, SEQ, SYNCED), the broadcast tree (IHAVE,
 * GRAFT, PRUNE, EAGER), repair (DIGEST, SUMS) and the rest; with the hex
 * and number fields they are made of, and the hash that names a record in
 * an IHAVE.  No I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static int
proto_ulong(const struct proto_field *f, unsigned long *out)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (f->len == 0 || f->len > 18)
		return -1;
	for (i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Exactly len lower-case hex digits. */
static int
proto_hex_ok(const struct proto_field *f, size_t len)
{
	size_t	 i;
	char	 c;

	if (f->len != len)
		return 0;
	for (i = 0; i < len; i++) {
		c = f->p[i];
		if (!proto_isdigit(c) && !(c >= 'a' && c <= 'f'))
			return 0;
	}
	return 1;
}

int
proto_u64(const struct proto_field *f, uint64_t *out)
{
	uint64_t	 v = 0, d;
	size_t		 i;

	if (f->len == 0 || f->len > 20)
		return -1;
	for (i = 0; i < f->len; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		d = (uint64_t)(f->p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Exactly digits lower-case hex digits (at most 16) into *out. */
static int
proto_xn(const struct proto_field *f, size_t digits, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;
	char		 c;

	if (f->len != digits)
		return -1;
	for (i = 0; i < digits; i++) {
		c = f->p[i];
		if (proto_isdigit(c))
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

int
proto_x64(const struct proto_field *f, uint64_t *out)
{
	return proto_xn(f, 16, out);
}

_Static_assert(2 + PROTO_IHAVE_MAX <= PROTO_SUMS + 2,
    "an IHAVE's fields fit proto_parse_sync's");

/* 8 lower-case hex digits. */
static int
proto_x32(const struct proto_field *f, uint32_t *out)
{
	uint64_t	 v;

	if (proto_xn(f, 8, &v) == -1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

uint32_t
proto_line_hash(const char *line, size_t len)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)line[i];
		h *= 16777619u;
	}
	return h;
}

void
proto_hash_hex(char *out, uint32_t h)
{
	static const char	 hex[] = "0123456789abcdef";
	int			 i;

	for (i = 7; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 15];
}

/* The peer messages of catch-up and repair (herd-protocol(7)). */
static enum proto_peer_type
proto_parse_sync(const char *line, size_t len, struct proto_peer *msg)
{
	struct proto_field	 f[PROTO_SUMS + 2];
	size_t			 n, i;

	n = proto_split(line, len, f, PROTO_SUMS + 2);
	if (n == 0)
		return PEER_INVALID;
	if (proto_field_eq(&f[0], "SINCE") || proto_field_eq(&f[0], "FROM")) {
		if (n != 3 || proto_x64(&f[1], &msg->epoch) == -1 ||
		    proto_u64(&f[2], &msg->lseq) == -1)
			return PEER_INVALID;
		return msg->type = f[0].p[0] == 'S' ? PEER_SINCE : PEER_FROM;
	}
	if (proto_field_eq(&f[0], "SEQ")) {
		if (n != 2 || proto_u64(&f[1], &msg->lseq) == -1)
			return PEER_INVALID;
		return msg->type = PEER_SEQ;
	}
	if (proto_field_eq(&f[0], "DIGEST")) {
		if (n != 3 || proto_u64(&f[1], &msg->dcount) == -1 ||
		    proto_x64(&f[2], &msg->dsum) == -1)
			return PEER_INVALID;
		return msg->type = PEER_DIGEST;
	}
	if (proto_field_eq(&f[0], "SUMS")) {
		if (n != PROTO_SUMS + 1)
			return PEER_INVALID;
		for (i = 0; i < PROTO_SUMS; i++)
			if (proto_x64(&f[i + 1], &msg->sums[i]) == -1)
				return PEER_INVALID;
		return msg->type = PEER_SUMS;
	}
	/* the broadcast tree's (herd-protocol(7) BROADCAST) */
	if (proto_field_eq(&f[0], "IHAVE")) {
		if (n < 3 || n > 2 + PROTO_IHAVE_MAX ||
		    proto_u64(&f[1], &msg->lseq) == -1)
			return PEER_INVALID;
		for (i = 2; i < n; i++)
			if (proto_x32(&f[i], &msg->have[msg->nhave++]) == -1) {
				msg->nhave = 0;		/* nothing half-said */
				return PEER_INVALID;
			}
		return msg->type = PEER_IHAVE;
	}
	if (proto_field_eq(&f[0], "GRAFT")) {
		if (n != 2 || proto_u64(&f[1], &msg->lseq) == -1)
			return PEER_INVALID;
		return msg->type = PEER_GRAFT;
	}
	if (proto_field_eq(&f[0], "PRUNE") && n == 1)
		return msg->type = PEER_PRUNE;
	if (proto_field_eq(&f[0], "EAGER") && n == 1)
		return msg->type = PEER_EAGER;
	return PEER_INVALID;
}

const char *
proto_at_line(const struct proto_at *at, char *buf, size_t size, size_t *len)
{
	const struct proto_field *f[5] = { &at->server, &at->diff, &at->id,
	    &at->coords, &at->time };
	const char	*start = at->server.p - 3;
	size_t		 i, n = 2;
	char		*o = buf;

	for (i = 0; i < 5; i++)
		n += 1 + f[i]->len;
	/* contiguous "AT x y ..." with single spaces: use it as it is */
	if (at->server.p != NULL && start[0] == 'A' && start[1] == 'T' && start[2] == ' ' &&
	    at->time.p + at->time.len - start == (ptrdiff_t)n) {
		for (i = 0; i < 4; i++)
			if (f[i]->p + f[i]->len + 1 != f[i + 1]->p ||
			    f[i]->p[f[i]->len] != ' ')
				break;
		if (i == 4) {
			*len = n;
			return start;
		}
	}
	if (n + 1 > size)
		return NULL;
	memcpy(o, "AT", 2), o += 2;
	for (i = 0; i < 5; i++) {
		*o++ = ' ';
		memcpy(o, f[i]->p, f[i]->len), o += f[i]->len;
	}
	*o = '\0';
	*len = n;
	return buf;
}

/*
 * HELLO's and OK's last words that start with '+': the features the
 * sender speaks, each 1 to PROTO_FEATURE_MAX of [a-z0-9-], at most
 * PROTO_FEATURES_MAX.  Takes them off the end of f (*n shrinks) into
 * msg.  0, or -1 when one is malformed.
 */
static int
proto_features(const struct proto_field *f, size_t *n,
    struct proto_peer *msg)
{
	const struct proto_field	*w;
	size_t				 i, k;

	while (*n > 1 && f[*n - 1].len > 0 && f[*n - 1].p[0] == '+') {
		w = &f[*n - 1];
		if (msg->nfeat == PROTO_FEATURES_MAX || w->len < 2 ||
		    w->len - 1 > PROTO_FEATURE_MAX)
			return -1;
		for (i = 1; i < w->len; i++)
			if (!((w->p[i] >= 'a' && w->p[i] <= 'z') ||
			    (w->p[i] >= '0' && w->p[i] <= '9') || w->p[i] == '-'))
				return -1;
		/* first to last, as written */
		for (k = msg->nfeat++; k > 0; k--)
			msg->feat[k] = msg->feat[k - 1];
		msg->feat[0].p = w->p + 1;
		msg->feat[0].len = w->len - 1;
		(*n)--;
	}
	return 0;
}

enum proto_peer_type
proto_parse_peer(const char *line, size_t len, struct proto_peer *msg)
{
	struct proto_field	 f[PROTO_MAX_FIELDS + PROTO_FEATURES_MAX];
	size_t			 n;

	memset(msg, 0, sizeof(*msg));
	n = proto_split(line, len, f, PROTO_MAX_FIELDS + PROTO_FEATURES_MAX);
	if (n == 0)
		return PEER_INVALID;
	if ((proto_field_eq(&f[0], "HELLO") || proto_field_eq(&f[0], "OK")) &&
	    (n > PROTO_MAX_FIELDS + PROTO_FEATURES_MAX ||
	    proto_features(f, &n, msg) == -1))
		return PEER_INVALID;
	if (proto_field_eq(&f[0], "HELLO")) {
		/*
		 * A last word RESCUE: a link beyond the configured ones.
		 * (n counts every word; only the first PROTO_MAX_FIELDS are in
		 * f: a longer line is not a HELLO anyway.)
		 */
		if (n >= 5 && n <= 6 && proto_field_eq(&f[n - 1], "RESCUE")) {
			msg->rescue = 1;
			n--;
		}
		if ((n != 4 && n != 5) ||
		    proto_ulong(&f[1], &msg->version) == -1 ||
		    !proto_name_ok(&f[2]) || !proto_name_ok(&f[3]) ||
		    (n == 5 && !proto_hex_ok(&f[4], PROTO_NONCE_HEX)))
			return PEER_INVALID;
		msg->from = f[2];
		msg->to = f[3];
		if (n == 5)
			msg->nonce = f[4];
		return msg->type = PEER_HELLO;
	}
	if (proto_field_eq(&f[0], "OK")) {
		if ((n != 3 && n != 4) ||
		    proto_ulong(&f[1], &msg->version) == -1 ||
		    !proto_name_ok(&f[2]) ||
		    (n == 4 && !proto_hex_ok(&f[3], PROTO_MAC_HEX)))
			return PEER_INVALID;
		msg->from = f[2];
		if (n == 4)
			msg->mac = f[3];
		return msg->type = PEER_OK;
	}
	if (proto_field_eq(&f[0], "CHALLENGE")) {
		if (n != 2 || !proto_hex_ok(&f[1], PROTO_NONCE_HEX))
			return PEER_INVALID;
		msg->nonce = f[1];
		return msg->type = PEER_CHALLENGE;
	}
	if (proto_field_eq(&f[0], "AUTH")) {
		if (n != 2 || !proto_hex_ok(&f[1], PROTO_MAC_HEX))
			return PEER_INVALID;
		msg->mac = f[1];
		return msg->type = PEER_AUTH;
	}
	if (proto_field_eq(&f[0], "ERROR")) {
		msg->text.p = n > 1 ? f[1].p : line + len;
		msg->text.len = (size_t)(line + len - msg->text.p);
		return msg->type = PEER_ERROR;
	}
	if (proto_field_eq(&f[0], "UPDATE") || proto_field_eq(&f[0], "RESEND")) {
		if (n > PROTO_MAX_FIELDS ||
		    proto_parse_at(f + 1, n - 1, &msg->at) == -1)
			return PEER_INVALID;
		msg->line.p = f[1].p;
		msg->line.len = (size_t)(f[6].p + f[6].len - f[1].p);
		return msg->type = f[0].p[0] == 'U' ? PEER_UPDATE : PEER_RESEND;
	}
	if (proto_field_eq(&f[0], "SYNCED")) {
		if (n != 2 || proto_ulong(&f[1], &msg->count) == -1)
			return PEER_INVALID;
		return msg->type = PEER_SYNCED;
	}
	if (proto_field_eq(&f[0], "PING") && n == 1)
		return msg->type = PEER_PING;
	if (proto_field_eq(&f[0], "PONG") && n == 1)
		return msg->type = PEER_PONG;
	return proto_parse_sync(line, len, msg);
}

