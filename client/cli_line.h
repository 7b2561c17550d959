/*
 * cli_line.h -- what a person types to herd-cli, made into one line of the
 * client protocol (herd-protocol(7)).  Pure: no I/O, no clock (the time
 * stamp comes in), fuzzed by tests/fuzz/fuzz_cli_line.c.
 *
 *	iamat NAME LAT LON	IAMAT NAME +LAT-LON NOW (signs added when left out)
 *	iamat NAME COORDS	IAMAT NAME COORDS NOW (ISO 6709, +34.06-118.44)
 *	iamat NAME COORDS TIME	as given
 *	whatsat NAME [RADIUS [COUNT]]	WHATSAT NAME RADIUS COUNT (10 km, 5)
 *	send WORD ...		the words as they are: any line, to try the
 *				server's answer to it
 *	help, quit (exit)	for the interactive mode
 *
 * Command words are case-insensitive.  IAMAT and WHATSAT lines are checked
 * as the server checks them (proto_parse_client), so that a mistake is
 * told here, with what is wrong, instead of as a bare "?" reply.
 */
#ifndef HERD_CLI_LINE_H
#define HERD_CLI_LINE_H

#include <stddef.h>

#include "htime.h"

#define CLI_LINE_MAX		4096	/* a line made, with its newline */
#define CLI_WHATSAT_RADIUS	"10"	/* km, when left out */
#define CLI_WHATSAT_COUNT	"5"	/* results, when left out */

enum cli_kind {
	CLI_ERROR = -1,		/* err says why */
	CLI_EMPTY = 0,		/* nothing but white space */
	CLI_IAMAT,		/* out: an IAMAT line; a one-line reply */
	CLI_WHATSAT,		/* out: a WHATSAT line; AT line and JSON */
	CLI_SEND,		/* out: the line as given; a one-line reply,
				   or AT line and JSON if it is one */
	CLI_HELP,
	CLI_QUIT,
};

/*
 * Make the protocol line of the command in in[0..len) (no newline needed;
 * one at its end is ignored) into out (size outlen, NUL-ended, ending in
 * "\n"), with now as an IAMAT's time stamp.  The kind of command; for
 * CLI_ERROR a one-line message in err (size errlen), never empty.
 */
enum cli_kind cli_line_make(const char *in, size_t len,
	    const struct htime *now, char *out, size_t outlen, char *err,
	    size_t errlen);

/* The usage of the commands above, for "help": lines ending in "\n". */
extern const char cli_line_help[];

#endif /* HERD_CLI_LINE_H */
