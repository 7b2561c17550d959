/*
 * proto.h -- the herd's wire formats, parsed and formatted without I/O.
 *
 * Client lines (PROTOCOL.md): IAMAT and WHATSAT; everything else is
 * invalid and answered "? LINE".  Peer lines (herd-protocol(7)): HELLO, OK,
 * CHALLENGE, AUTH, ERROR, UPDATE, SYNCED, PING, PONG, SINCE, FROM, SEQ,
 * DIGEST, SUMS, and the broadcast tree's IHAVE, GRAFT, PRUNE and RESEND.
 * Every parser takes a
 * line without its line ending, as bytes (it may hold NULs), and never reads
 * past len.
 */
#ifndef HERD_PROTO_H
#define HERD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "htime.h"

#define PROTO_VERSION		1	/* peer protocol, no secret */
#define PROTO_VERSION_AUTH	2	/* peer protocol with the herd's secret */
#define PROTO_NONCE_LEN		16	/* bytes of a nonce */
#define PROTO_NONCE_HEX		(2 * PROTO_NONCE_LEN)	/* on the wire */
#define PROTO_MAC_LEN		32	/* bytes of an HMAC-SHA256 */
#define PROTO_MAC_HEX		(2 * PROTO_MAC_LEN)	/* on the wire */
#define PROTO_MAX_FIELDS	8
#define PROTO_FEATURES_MAX	8	/* feature words in a HELLO or OK */
#define PROTO_FEATURE_MAX	31	/* bytes of one, after its '+' */
#define PROTO_SUMS		32	/* parts of a SUMS digest */
#define PROTO_IHAVE_MAX		32	/* records an IHAVE names, at most */
#define PROTO_RADIUS_MAX_KM	50
#define PROTO_RESULTS_MAX	20

struct proto_field {
	const char	*p;
	size_t		 len;
};

enum proto_verb {
	PROTO_INVALID = 0,
	PROTO_IAMAT,
	PROTO_WHATSAT,
};

struct proto_cmd {
	enum proto_verb	 verb;
	struct proto_field id;		/* client id */
	struct proto_field coords;	/* IAMAT: as sent */
	struct proto_field time;	/* IAMAT: as sent */
	double		 lat, lng;	/* IAMAT */
	struct htime	 t;		/* IAMAT */
	double		 radius_km;	/* WHATSAT: (0, 50] */
	int		 max;		/* WHATSAT: 1..20 */
};

/* An AT line, the record the herd floods and stores. */
struct proto_at {
	struct proto_field server;
	struct proto_field diff;
	struct proto_field id;
	struct proto_field coords;
	struct proto_field time;
	double		 lat, lng;
	struct htime	 t;
};

enum proto_peer_type {
	PEER_INVALID = 0,
	PEER_HELLO,		/* HELLO <version> <from> <to> [<nonce>] [RESCUE] */
	PEER_OK,		/* OK <version> <name> [<mac>] */
	PEER_CHALLENGE,		/* CHALLENGE <nonce> */
	PEER_AUTH,		/* AUTH <mac> */
	PEER_ERROR,		/* ERROR <text...> */
	PEER_UPDATE,		/* UPDATE AT <server> <diff> <id> <coords> <time> */
	PEER_SYNCED,		/* SYNCED <count> */
	PEER_PING,		/* PING */
	PEER_PONG,		/* PONG */
	PEER_SINCE,		/* SINCE <epoch> <lseq>: listener's resume point */
	PEER_FROM,		/* FROM <epoch> <lseq>: dialler's stream starts */
	PEER_SEQ,		/* SEQ <lseq>: the stream is sent up to lseq */
	PEER_DIGEST,		/* DIGEST <count> <sum> */
	PEER_SUMS,		/* SUMS <sum> x PROTO_SUMS */
	PEER_IHAVE,		/* IHAVE <lseq> <hash>...: a lazy link's notice */
	PEER_GRAFT,		/* GRAFT <lseq>: send eagerly, again after lseq */
	PEER_PRUNE,		/* PRUNE: send notices only */
	PEER_RESEND,		/* RESEND AT ...: an UPDATE sent again */
	PEER_EAGER,		/* EAGER: the mesh changed: all send eagerly */
};

struct proto_peer {
	enum proto_peer_type type;
	unsigned long	 version;	/* HELLO, OK */
	struct proto_field from, to;	/* HELLO: from, to; OK: from */
	struct proto_field nonce;	/* HELLO (version 2), CHALLENGE */
	int		 rescue;	/* HELLO: a rescue link (herd-protocol(7)) */
	struct proto_field mac;		/* OK (version 2), AUTH */
	struct proto_field feat[PROTO_FEATURES_MAX];	/* HELLO, OK: the
					   words after '+' (herd-protocol(7)) */
	size_t		 nfeat;
	struct proto_field text;	/* ERROR */
	unsigned long	 count;		/* SYNCED */
	struct proto_at	 at;		/* UPDATE, RESEND */
	struct proto_field line;	/* UPDATE, RESEND: from "AT" to the end */
	uint64_t	 epoch;		/* SINCE, FROM */
	uint64_t	 lseq;		/* SINCE, FROM, SEQ, IHAVE, GRAFT */
	uint64_t	 dcount, dsum;	/* DIGEST */
	uint64_t	 sums[PROTO_SUMS];	/* SUMS */
	size_t		 nhave;		/* IHAVE: the records it names */
	uint32_t	 have[PROTO_IHAVE_MAX];	/* their proto_line_hash */
};

/* An ASCII decimal digit (not isdigit(3): no locale, no int promotion). */
static inline int
proto_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Split on white space (space, \t, \r, \f, \v); returns the field count. */
size_t	 proto_split(const char *line, size_t len, struct proto_field *f,
	    size_t max);

/* ISO 6709 "+DD.DDD-DDD.DDD": mandatory signs, range-checked.  0 or -1. */
int	 proto_parse_coords(const char *s, size_t len, double *lat,
	    double *lng);

/* A client line.  Returns cmd->verb (PROTO_INVALID for "? LINE"). */
enum proto_verb proto_parse_client(const char *line, size_t len,
	    struct proto_cmd *cmd);

/* The fields of an AT line (from "AT" on).  0 or -1. */
int	 proto_parse_at(const struct proto_field *f, size_t n,
	    struct proto_at *at);

/*
 * The name of a record in an IHAVE: FNV-1a (32 bits) of its AT line,
 * single-spaced, without the newline -- the same on every server.
 */
uint32_t proto_line_hash(const char *line, size_t len);

/* The hash as IHAVE writes it: 8 lower-case hex digits, no NUL. */
void	 proto_hash_hex(char *out, uint32_t h);

/* A peer line.  Returns msg->type (PEER_INVALID when malformed). */
enum proto_peer_type proto_parse_peer(const char *line, size_t len,
	    struct proto_peer *msg);

/*
 * Format "AT <server> <diff> <id> <coords> <time>" (no newline) for an
 * IAMAT received at time now.  Returns the length, or 0 when it does not fit.
 */
size_t	 proto_format_at(char *buf, size_t size, const char *server,
	    const struct htime *now, const struct proto_cmd *cmd);

/*
 * Append a WHATSAT JSON body: runs of newlines collapsed to one, trailing
 * newlines removed, then "\n\n".  dst must hold len + 2 bytes.  Returns the
 * number of bytes written.
 */
size_t	 proto_format_json(char *dst, const char *json, size_t len);

/*
 * The AT line of a parsed record, single-spaced as the herd stores and
 * floods it: a pointer into the line it was parsed from when that is
 * already so, else rebuilt in buf (size bytes).  Its length in *len; NULL
 * when it does not fit.
 */
const char *proto_at_line(const struct proto_at *at, char *buf, size_t size,
	    size_t *len);

/* Lower-case hex of the len bytes at buf into out (2 * len + 1 bytes). */
void	 proto_hex(char *out, const unsigned char *buf, size_t len);

/*
 * The HMAC-SHA256, under the herd's secret, of "<label> 2 <a> <b> <na>
 * <nb>", in lower-case hex into out (PROTO_MAC_HEX + 1 bytes): the proofs
 * of the version 2 handshake (herd-protocol(7)).  0, or -1 when it could
 * not be computed.
 */
int	 proto_mac(char *out, const void *secret, size_t secretlen,
	    const char *label, const char *a, const char *b, const char *na,
	    const char *nb);

/* 1 when the field holds the hex MAC mac; in constant time. */
int	 proto_mac_eq(const struct proto_field *f, const char *mac);

/* 1 when f is a server name: [A-Za-z0-9._-], 1 to 63 bytes. */
int	 proto_name_ok(const struct proto_field *f);

/* A decimal uint64 (1 to 20 digits, no sign, no overflow).  0 or -1. */
int	 proto_u64(const struct proto_field *f, uint64_t *out);

/* Exactly 16 lower-case hex digits (an epoch, a digest).  0 or -1. */
int	 proto_x64(const struct proto_field *f, uint64_t *out);

/* 1 when a and the C string s are equal. */
int	 proto_field_eq(const struct proto_field *a, const char *s);

#endif /* HERD_PROTO_H */
