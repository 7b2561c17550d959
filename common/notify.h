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
 *	synced=<names>	neighbours whose stream to us has caught up (each
 *			sent everything it had when the link came up), or "-"
 *	journal=<word>	off (no state_dir), ok, or error (updates refused
 *			until it is written)
 *
 * EOF means the other end is gone.  The parser is pure and fuzzed.
 */
#ifndef HERD_NOTIFY_H
#define HERD_NOTIFY_H

#include <stddef.h>

#define NOTIFY_ENV		"HERD_NOTIFY_FD"
#define NOTIFY_LINE_MAX		4096
#define NOTIFY_TEXT_MAX		512	/* an ERROR's text, at most */

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

struct notify_msg {
	enum notify_type type;
	unsigned int	 have;		/* NOTIFY_F_* */
	unsigned long	 clients;
	unsigned long	 conns;
	char		 links[NOTIFY_LINE_MAX];	/* "A,B" or "" */
	char		 synced[NOTIFY_LINE_MAX];	/* "A,B" or "" */
	char		 journal[16];	/* "off", "ok", "error"; "" unsaid */
	unsigned long	 seq;		/* PING, PONG */
	char		 text[NOTIFY_TEXT_MAX + 1];	/* ERROR */
};

/*
 * Parse one record (without its newline; a trailing "\r" is not allowed).
 * 0, or -1 when malformed.  Never reads past line[len - 1].
 */
int	 notify_parse(const char *line, size_t len, struct notify_msg *msg);

/* Format a STATS record with its newline into buf; returns its length. */
size_t	 notify_format_stats(char *buf, size_t size, unsigned long clients,
	    unsigned long conns, const char *links, const char *synced,
	    const char *journal);

/*
 * Format "ERROR <text>\n": text cut at NOTIFY_TEXT_MAX bytes, control
 * characters turned into spaces.  Returns the length.
 */
size_t	 notify_format_error(char *buf, size_t size, const char *text);

#endif /* HERD_NOTIFY_H */
