/*
 * notify.h -- the channel between a herd-node worker and its supervisor.
 *
 * herdd passes one end of a socketpair to the worker as the file descriptor
 * named by the environment variable HERD_NOTIFY_FD.  Both ends write
 * newline-terminated text records on it.  From the worker:
 *
 *	READY			once, when both ports listen
 *	STATS key=value ...	when a figure changes (at most every 100 ms)
 *				and every second
 *	PONG <n>		the answer to PING <n>
 *	ERROR <text>		why it is about to exit (a failed start, a
 *				fatal error), once, just before it does
 *
 * From herdd:
 *
 *	PING <n>		every second, to a running worker: a worker
 *				that stops answering is wedged or paused
 *
 * STATS fields (each at most once; unknown keys are skipped, so that a
 * newer worker can say more to an older herdd):
 *
 *	clients=<n>	clients known to the node
 *	conns=<n>	client connections open
 *	links=<names>	neighbours whose link is up, comma-separated, or "-"
 *	eager=<names>	of those, the links that send updates (the broadcast
 *			tree's; all of them when flooding), or "-"
 *	synced=<names>	neighbours whose stream to us has caught up (each
 *			sent everything it had when the link came up), or "-"
 *	journal=<word>	off (no state_dir), ok, or error (updates refused
 *			until it is written)
 *	jbytes=<n>	the journal's size in bytes
 *	<counter>=<n>	a counter, since the process started (notify_ctr_key:
 *			iamat, whatsat, invalid, upd_client, upd_peer, stale,
 *			pl_ok, pl_error, pl_timeout, pl_cancel, pl_usec,
 *			cu_sent, cu_recv, peer_bytes, ihave, graft, prune,
 *			eager_sent)
 *	pl_hist=<n>,...	Places lookups by latency: NOTIFY_HIST_N counts, one
 *			per bucket of notify_hist_le (not cumulative), the
 *			last for those slower than its last bound
 *	flood=<name>:<n>,...  UPDATE messages sent to each neighbour, or "-"
 *	keys=<name>=<key>,...  the key each of our links up uses (link.c:
 *			our stream to that neighbour), for those over TLS
 *			(ptls_key_name: "herd1:" and 16 hex digits, or
 *			"cert:<name>:<16 hex>"), or "-": a plain-text link
 *			is not in it
 *	keys_in=<name>=<key>,...  and each neighbour's stream to us (pconn.c)
 *			A key is 1 to NOTIFY_KEY_MAX bytes of printable ASCII
 *			but space, ',', '=', '"' and '\\' (notify_keys_add
 *			makes any other '?'), so that it needs no quoting in
 *			JSON text or a Prometheus label; each name once.
 *
 * A counter's field (jbytes, the counters, pl_hist, flood) or a key list
 * (keys, keys_in) whose value has another shape is taken as unsaid: the
 * record stands.
 * EOF means the other end is gone.  The parser is pure and fuzzed.
 */
#ifndef HERD_NOTIFY_H
#define HERD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define NOTIFY_ENV		"HERD_NOTIFY_FD"
/* and the offline data set's image, when herdd shares one (offline.h) */
#define NOTIFY_PLACES_ENV	"HERD_PLACES_FD"
#define NOTIFY_LINE_MAX		32768
#define NOTIFY_LIST_MAX		4096	/* links=, eager=, synced=, keys=,
					   keys_in=: their text */
#define NOTIFY_NAME_MAX		63	/* a server's name (HERD_NAME_MAX) */
#define NOTIFY_FLOOD_MAX	128	/* neighbours in flood= */
#define NOTIFY_HIST_N		15	/* pl_hist= buckets, the last +Inf */
#define NOTIFY_TEXT_MAX		512	/* an ERROR's text, at most */
#define NOTIFY_KEY_MAX		95	/* a key's name in keys= (PTLS_NAME_SIZE) */

enum notify_type {
	NOTIFY_READY = 1,
	NOTIFY_STATS,
	NOTIFY_PING,
	NOTIFY_PONG,
	NOTIFY_ERROR,
};

/* Which STATS fields a record gave (notify_msg.have). */
#define NOTIFY_F_CLIENTS	0x01
#define NOTIFY_F_CONNS		0x02
#define NOTIFY_F_LINKS		0x04
#define NOTIFY_F_SYNCED		0x08
#define NOTIFY_F_JOURNAL	0x10
#define NOTIFY_F_JBYTES		0x20
#define NOTIFY_F_HIST		0x40
#define NOTIFY_F_FLOOD		0x80
#define NOTIFY_F_EAGER		0x100
#define NOTIFY_F_KEYS		0x200
#define NOTIFY_F_KEYS_IN	0x400

/* The counters of STATS: plain integers a worker bumps on its paths. */
enum notify_ctr {
	NOTIFY_C_IAMAT,		/* IAMAT lines */
	NOTIFY_C_WHATSAT,	/* WHATSAT lines */
	NOTIFY_C_INVALID,	/* lines that are neither (answered "?") */
	NOTIFY_C_UPD_CLIENT,	/* updates stored as newer, from clients */
	NOTIFY_C_UPD_PEER,	/* and from neighbours */
	NOTIFY_C_STALE,		/* updates not newer: not stored */
	NOTIFY_C_PL_OK,		/* Places lookups answered OK/ZERO_RESULTS */
	NOTIFY_C_PL_ERROR,	/* failed otherwise */
	NOTIFY_C_PL_TIMEOUT,	/* timed out */
	NOTIFY_C_PL_CANCEL,	/* given up: the client went away first */
	NOTIFY_C_PL_USEC,	/* their latencies' sum, in microseconds */
	NOTIFY_C_CU_SENT,	/* catch-up records sent to neighbours */
	NOTIFY_C_CU_RECV,	/* and received from them */
	NOTIFY_C_PEER_BYTES,	/* bytes written on peer connections, both ways */
	NOTIFY_C_IHAVE,		/* the broadcast tree's notices sent (IHAVE) */
	NOTIFY_C_GRAFT,		/* links grafted into it (GRAFT sent) */
	NOTIFY_C_PRUNE,		/* and pruned out of it (PRUNE sent) */
	NOTIFY_C_EAGER,		/* EAGER sent: the mesh changed, all eager */
	NOTIFY_C_REF_FULL_C,	/* reports refused: table full, from clients */
	NOTIFY_C_REF_FULL_P,	/* and from neighbours */
	NOTIFY_C_REF_SKEW_C,	/* ahead of our clock (max_clock_skew) */
	NOTIFY_C_REF_SKEW_P,
	NOTIFY_C_REF_EXP_C,	/* older than expire_s */
	NOTIFY_C_REF_EXP_P,
	NOTIFY_C_EXPIRED,	/* records forgotten by expire_s */
	NOTIFY_C_CONN_SERVER,	/* connections closed at once: max_connections */
	NOTIFY_C_CONN_ADDR,	/* max_connections_per_address */
	NOTIFY_C_CONN_FDS,	/* no descriptor left (EMFILE) */
	NOTIFY_C_N
};

/* The keys of the counters in STATS, and the histogram's bounds (s). */
extern const char *const notify_ctr_key[NOTIFY_C_N];
_Static_assert(NOTIFY_C_N <= 32, "have_ctr holds a bit for each counter");
extern const double	 notify_hist_le[NOTIFY_HIST_N - 1];

/* The bucket of a latency in seconds. */
size_t	 notify_hist_bucket(double seconds);

struct notify_flood {
	char		 name[NOTIFY_NAME_MAX + 1];
	unsigned long long n;
};

struct notify_msg {
	enum notify_type type;
	unsigned int	 have;		/* NOTIFY_F_* */
	unsigned long	 clients;
	unsigned long	 conns;
	char		 links[NOTIFY_LIST_MAX];	/* "A,B" or "" */
	char		 eager[NOTIFY_LIST_MAX];	/* of those, the tree's */
	char		 synced[NOTIFY_LIST_MAX];	/* "A,B" or "" */
	char		 keys[NOTIFY_LIST_MAX];	/* "A=herd1:...,B=..." or "" */
	char		 keys_in[NOTIFY_LIST_MAX];	/* the same, to us */
	char		 journal[16];	/* "off", "ok", "error"; "" unsaid */
	unsigned long long jbytes;
	unsigned long long ctr[NOTIFY_C_N];
	uint32_t	 have_ctr;	/* 1 << NOTIFY_C_*: those given */
	unsigned long long hist[NOTIFY_HIST_N];
	struct notify_flood flood[NOTIFY_FLOOD_MAX];
	size_t		 nflood;
	unsigned long	 seq;		/* PING, PONG */
	char		 text[NOTIFY_TEXT_MAX + 1];	/* ERROR */
};

/*
 * Parse one record (without its newline; a trailing "\r" is not allowed).
 * 0, or -1 when malformed.  Never reads past line[len - 1].
 */
int	 notify_parse(const char *line, size_t len, struct notify_msg *msg);

/*
 * Format msg's STATS fields, those in msg->have and msg->have_ctr, as a
 * record with its newline into buf.  Returns its length, or 0 when it does
 * not fit.
 */
size_t	 notify_format_stats(char *buf, size_t size,
	    const struct notify_msg *msg);

/*
 * Append name=key to list, a keys= value being built (size bytes, a
 * string, "" while empty), after a comma when it is not empty: the bytes of
 * key that may not stand in one become '?', and more than NOTIFY_KEY_MAX
 * of them are cut.  0, or -1 with list unchanged when it does not fit (or
 * name or key is empty).
 */
int	 notify_keys_add(char *list, size_t size, const char *name,
	    const char *key);

/*
 * The pairs of a keys list as notify_parse gave it: with *cursor at the
 * list first, each call fills name (NOTIFY_NAME_MAX + 1 bytes) and key
 * (NOTIFY_KEY_MAX + 1) with the next and returns 1; 0 at its end.
 */
int	 notify_keys_next(const char **cursor, char *name, char *key);

/*
 * Format "ERROR <text>\n": text cut at NOTIFY_TEXT_MAX bytes, control
 * characters turned into spaces.  Returns the length.
 */
size_t	 notify_format_error(char *buf, size_t size, const char *text);

#endif /* HERD_NOTIFY_H */
