/*
 * conf_int.h -- the configuration parser's own state, shared by its files
 * and by no one else (the public API is conf.h).
 *
 * conf_parse (conf.c) runs inih over the reader of conf_reader.c, which
 * hands it one line at a time and opens the sections, and the handler of
 * conf_keys.c, which sets each key; then conf_validate.c checks the herd
 * as a whole.  Every error goes through conf_error as "file:line: message".
 * All of it is pure: text in, struct herd_conf and messages out.
 */
#ifndef HERD_CONF_INT_H
#define HERD_CONF_INT_H

#include <stddef.h>

#include "conf.h"

#define CONF_LINE_MAX	200	/* Debian's inih: INI_MAX_LINE */

struct conf_nb {			/* a neighbour name, resolved later */
	size_t	 server;
	char	 name[HERD_NAME_MAX + 1];
	int	 line;
};

struct conf_parser {
	const char	*fname;
	const char	*text;
	size_t		 len, pos;
	int		 line;		/* line the reader returned last */
	struct herd_conf *conf;
	char		*err;
	size_t		 errlen, errused;
	int		 nerr;
	char		 section[256];	/* section of the last header */
	long		 cur_server;	/* index, or -1 outside [server] */
	int		 cur_unknown;	/* inside an unknown section */
	struct conf_nb	*nbs;
	size_t		 nnbs;
	int		 restart_line;	/* where restart_max_ms was set */
};

/*
 * conf_reader.c: count an error and append "fname:line: message\n" to
 * p->err, as much of it as fits (the count goes on when the text does not).
 */
void	 conf_error(struct conf_parser *p, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* conf_reader.c: 1 when s is a server name: 1 to HERD_NAME_MAX of
 * A-Z a-z 0-9 . _ - */
int	 conf_name_ok(const char *s);

/*
 * conf_reader.c: inih's reader (arg is the struct conf_parser): the next
 * line of p->text into buf, or NULL at its end.  It counts the line, opens
 * the section of a header and reports a line inih could not take.
 */
char	*conf_reader(char *buf, int num, void *arg);

/*
 * conf_keys.c: inih's handler (arg is the struct conf_parser): one key of
 * the section the reader opened, checked and set, or reported.  Always 1:
 * errors are counted in the parser, so that inih reads on and all of them
 * are reported.
 */
int	 conf_handler(void *arg, const char *section, const char *key,
	    const char *value);

/*
 * conf_validate.c: once the whole text is read without error: the checks
 * across keys and servers (ports, clashes, neighbour names, made into
 * symmetric links) and the defaults that depend on other keys.
 */
void	 conf_validate(struct conf_parser *p);

#endif /* HERD_CONF_INT_H */
