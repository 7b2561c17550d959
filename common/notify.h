/*
 * notify.h -- the channel from a herd-node worker to its supervisor.
 *
 * herdd passes one end of a socketpair to the worker as the file descriptor
 * named by the environment variable HERD_NOTIFY_FD.  The worker writes
 * newline-terminated text records on it:
 *
 *	READY				once, when both ports listen
 *	STATS <clients> <conns> <links> [journal=<state>]
 *					when a figure changes (at most every
 *					100 ms) and every second
 *
 * <clients> is the number of clients known to the node, <conns> the number
 * of client connections open, <links> the comma-separated names of the
 * neighbours whose link is up, or "-" for none; <state> the journal's:
 * off (no state_dir), ok, or error (updates refused until it is written).  EOF means the worker is
 * gone.  The parser is pure and fuzzed.
 */
#ifndef HERD_NOTIFY_H
#define HERD_NOTIFY_H

#include <stddef.h>

#define NOTIFY_ENV		"HERD_NOTIFY_FD"
#define NOTIFY_LINE_MAX		4096

enum notify_type {
	NOTIFY_READY = 1,
	NOTIFY_STATS,
};

struct notify_msg {
	enum notify_type type;
	unsigned long	 clients;
	unsigned long	 conns;
	char		 links[NOTIFY_LINE_MAX];	/* "A,B" or "" */
	char		 journal[16];	/* "off", "ok", "error"; "" unsaid */
};

/* Parse one record (without its newline).  0, or -1 when malformed. */
int	 notify_parse(const char *line, size_t len, struct notify_msg *msg);

/* Format a STATS record with its newline into buf; returns its length. */
size_t	 notify_format_stats(char *buf, size_t size, unsigned long clients,
	    unsigned long conns, const char *links, const char *journal);

#endif /* HERD_NOTIFY_H */
