/*
 * cli_line.c -- a person's command made into a line of the client protocol
 * (cli_line.h).  Pure.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli_line.h"
#include "proto.h"

#define CLI_WORDS_MAX	64	/* words of a command, at most */

const char cli_line_help[] =
    "iamat NAME LAT LON            tell the server NAME is there, now\n"
    "iamat NAME COORDS [TIME]      the same, ISO 6709: +34.068930-118.445127\n"
    "whatsat NAME [RADIUS [COUNT]] what is near NAME (default 10 km, 5)\n"
    "send WORD ...                 send a line as it is\n"
    "help                          this list\n"
    "quit                          leave (or end of input)\n";

/* A builder of the output line: out, its size, the length so far. */
struct cli_out {
	char	*buf;
	size_t	 size, len;
	int	 full;		/* something did not fit */
};

static void
cli_put(struct cli_out *o, const char *p, size_t len)
{
	if (o->full || o->len + len + 1 > o->size) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, p, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

static void
cli_puts(struct cli_out *o, const char *s)
{
	cli_put(o, s, strlen(s));
}

static void
cli_field(struct cli_out *o, const struct proto_field *f)
{
	cli_put(o, f->p, f->len);
}

static enum cli_kind
cli_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

static int
cli_word_is(const struct proto_field *f, const char *w)
{
	return f->len == strlen(w) && strncasecmp(f->p, w, f->len) == 0;
}

/* A degree as typed, with a '+' put before it when it has no sign. */
static void
cli_degree(struct cli_out *o, const struct proto_field *f)
{
	if (f->p[0] != '+' && f->p[0] != '-')
		cli_puts(o, "+");
	cli_field(o, f);
}

/* The line made in o, checked as the server checks it (proto.h). */
static enum cli_kind
cli_check(struct cli_out *o, enum cli_kind kind, char *err, size_t errlen)
{
	struct proto_cmd	 cmd;
	struct proto_field	 f[PROTO_MAX_FIELDS];
	double			 lat, lng;

	if (o->full)
		return cli_error(err, errlen, "too long: at most %d bytes",
		    CLI_LINE_MAX - 1);
	if (proto_parse_client(o->buf, o->len, &cmd) != PROTO_INVALID) {
		cli_puts(o, "\n");
		if (o->full)
			return cli_error(err, errlen, "too long: at most %d "
			    "bytes", CLI_LINE_MAX - 1);
		return kind;
	}
	if (kind == CLI_WHATSAT)
		return cli_error(err, errlen, "whatsat NAME [RADIUS [COUNT]]: "
		    "a radius above 0 and at most %d km, a count from 1 to %d",
		    PROTO_RADIUS_MAX_KM, PROTO_RESULTS_MAX);
	/* IAMAT NAME COORDS TIME: which operand is wrong */
	proto_split(o->buf, o->len, f, PROTO_MAX_FIELDS);
	if (proto_parse_coords(f[2].p, f[2].len, &lat, &lng) == -1)
		return cli_error(err, errlen, "bad coordinates \"%.*s\": a "
		    "latitude from -90 to 90 and a longitude from -180 to 180, "
		    "as 34.068930 -118.445127 or +34.068930-118.445127",
		    (int)(f[2].len > 200 ? 200 : f[2].len), f[2].p);
	return cli_error(err, errlen, "bad time stamp \"%.*s\": seconds since "
	    "1970, with up to 9 decimals", (int)(f[3].len > 200 ? 200 :
	    f[3].len), f[3].p);
}

static enum cli_kind
cli_iamat(struct cli_out *o, const struct proto_field *f, size_t n,
    const struct htime *now, char *err, size_t errlen)
{
	char	 ts[64];
	double	 lat, lng;

	if (n < 3 || n > 4)
		return cli_error(err, errlen, "iamat NAME LAT LON, or iamat "
		    "NAME COORDS [TIME]");
	snprintf(ts, sizeof(ts), "%" PRId64 ".%09" PRId32, now->sec,
	    now->nsec);
	cli_puts(o, "IAMAT ");
	cli_field(o, &f[1]);
	cli_puts(o, " ");
	if (n == 3 || proto_parse_coords(f[2].p, f[2].len, &lat, &lng) == 0) {
		cli_field(o, &f[2]);		/* COORDS [TIME] */
		cli_puts(o, " ");
		if (n == 4)
			cli_field(o, &f[3]);
		else
			cli_puts(o, ts);
	} else {
		cli_degree(o, &f[2]);		/* LAT LON */
		cli_degree(o, &f[3]);
		cli_puts(o, " ");
		cli_puts(o, ts);
	}
	return cli_check(o, CLI_IAMAT, err, errlen);
}

static enum cli_kind
cli_whatsat(struct cli_out *o, const struct proto_field *f, size_t n,
    char *err, size_t errlen)
{
	if (n < 2 || n > 4)
		return cli_error(err, errlen, "whatsat NAME [RADIUS [COUNT]]");
	cli_puts(o, "WHATSAT ");
	cli_field(o, &f[1]);
	cli_puts(o, " ");
	if (n > 2)
		cli_field(o, &f[2]);
	else
		cli_puts(o, CLI_WHATSAT_RADIUS);
	cli_puts(o, " ");
	if (n > 3)
		cli_field(o, &f[3]);
	else
		cli_puts(o, CLI_WHATSAT_COUNT);
	return cli_check(o, CLI_WHATSAT, err, errlen);
}

enum cli_kind
cli_line_make(const char *in, size_t len, const struct htime *now,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct proto_field	 f[CLI_WORDS_MAX];
	struct cli_out		 o = { out, outlen, 0, 0 };
	size_t			 n, end;

	if (outlen > 0)
		out[0] = '\0';
	if (len > 0 && in[len - 1] == '\n')
		len--;
	if (memchr(in, '\n', len) != NULL || memchr(in, '\0', len) != NULL)
		return cli_error(err, errlen, "one line at a time, without "
		    "NUL bytes");
	n = proto_split(in, len, f, CLI_WORDS_MAX);
	if (n == 0)
		return CLI_EMPTY;
	if (n > CLI_WORDS_MAX)
		return cli_error(err, errlen, "too many words: at most %d",
		    CLI_WORDS_MAX);
	if (cli_word_is(&f[0], "iamat"))
		return cli_iamat(&o, f, n, now, err, errlen);
	if (cli_word_is(&f[0], "whatsat"))
		return cli_whatsat(&o, f, n, err, errlen);
	if (cli_word_is(&f[0], "send")) {
		if (n < 2)
			return cli_error(err, errlen, "send WORD ...");
		end = (size_t)(f[n - 1].p + f[n - 1].len - f[1].p);
		cli_put(&o, f[1].p, end);
		cli_puts(&o, "\n");
		if (o.full)
			return cli_error(err, errlen, "too long: at most %d "
			    "bytes", CLI_LINE_MAX - 1);
		return CLI_SEND;
	}
	if (cli_word_is(&f[0], "help") || cli_word_is(&f[0], "?"))
		return CLI_HELP;
	if (cli_word_is(&f[0], "quit") || cli_word_is(&f[0], "exit"))
		return CLI_QUIT;
	return cli_error(err, errlen, "unknown command \"%.*s\" (help lists "
	    "them)", (int)(f[0].len > 64 ? 64 : f[0].len), f[0].p);
}
