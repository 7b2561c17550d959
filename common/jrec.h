/*
 * jrec.h -- the records of a server's journal (herd-node(8), FILES), parsed
 * and formatted without I/O.
 *
 * A journal is text, one record per line:
 *
 *	<crc> H 1 <epoch>		the first line: format 1, the epoch
 *	<crc> U <lseq> <src> <AT line>	a stored update, src "-" for a client
 *	<crc> M <server> <epoch> <lseq>	a neighbour's stream, seen up to lseq
 *	<crc> E <epoch>			the epoch changes from here on
 *	<crc> B <boot>			the journal opened, in this boot
 *	<crc> C				the journal closed cleanly
 *
 * <crc> is the CRC-32 (zlib's) of the rest of the line after "<crc> ",
 * without the newline, in 8 lower-case hex digits; an epoch is 16, a boot
 * (the kernel's boot_id, without its dashes) 32.  The
 * AT line is the one the herd floods (proto.h), fields single-spaced.
 */
#ifndef HERD_JREC_H
#define HERD_JREC_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define JREC_FORMAT		1
#define JREC_HDR_MAX		(8 + 1 + 2 + 64 + 1 + 16 + 1 + 20 + 2)

enum jrec_type {
	JREC_INVALID = 0,
	JREC_HEADER,		/* H */
	JREC_UPDATE,		/* U */
	JREC_MARK,		/* M */
	JREC_EPOCH,		/* E */
	JREC_BOOT,		/* B */
	JREC_CLOSE,		/* C */
};

struct jrec {
	enum jrec_type	 type;
	unsigned long	 format;	/* H */
	uint64_t	 epoch;		/* H, M, E */
	uint64_t	 lseq;		/* U, M */
	struct proto_field src;		/* U: "-" or a server; M: the server */
	struct proto_field line;	/* U: the AT line */
	struct proto_at	 at;		/* U: its fields */
	struct proto_field boot;	/* B: 32 lower-case hex digits */
};

/*
 * Parse one line (without its newline).  Returns rec->type, JREC_INVALID
 * when the checksum or the form is wrong.
 */
enum jrec_type jrec_parse(const char *line, size_t len, struct jrec *rec);

/*
 * Format a record with its checksum and newline into buf.  Return the
 * length, or 0 when it does not fit.  src NULL: a client's update.
 */
size_t	 jrec_format_header(char *buf, size_t size, uint64_t epoch);
size_t	 jrec_format_update(char *buf, size_t size, uint64_t lseq,
	    const char *src, const char *at, size_t atlen);
size_t	 jrec_format_mark(char *buf, size_t size, const char *server,
	    uint64_t epoch, uint64_t lseq);
size_t	 jrec_format_epoch(char *buf, size_t size, uint64_t epoch);
size_t	 jrec_format_boot(char *buf, size_t size, const char *boot);
size_t	 jrec_format_close(char *buf, size_t size);

/* The bytes jrec_format_update needs. */
size_t	 jrec_update_len(const char *src, size_t atlen);

/* The CRC-32 of zlib and gzip of n bytes at p (ISA-L's, folded). */
uint32_t jrec_crc(const char *p, size_t n);
/* 16 lower-case hex digits of v into out (17 bytes); parse them back. */
void	 jrec_hex64(char *out, uint64_t v);
int	 jrec_parse_hex64(const struct proto_field *f, uint64_t *v);

#endif /* HERD_JREC_H */
