/*
 * conf_reader.c -- the configuration's text as inih sees it: one line at a
 * time, section headers opened as they pass, and the parser's errors at
 * file:line (conf_int.h).
 *
 * Debian's inih is built without INI_HANDLER_LINENO and with a 200-byte
 * line limit, so we feed it through our own reader: the reader counts lines
 * (the handler reads the count), notices section headers (so that a server
 * defined twice or an empty unknown section is caught at its own line) and
 * turns an over-long line into an error instead of a silent split.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

void
conf_error(struct conf_parser *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	p->nerr++;
	if (p->errlen == 0 || p->errused >= p->errlen - 1)
		return;
	n = snprintf(p->err + p->errused, p->errlen - p->errused, "%s:%d: ",
	    p->fname, line);
	if (n > 0)
		p->errused += (size_t)n;
	if (p->errused >= p->errlen - 1) {
		p->errused = p->errlen - 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(p->err + p->errused, p->errlen - p->errused, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->errused += (size_t)n;
	if (p->errused >= p->errlen - 1) {
		p->errused = p->errlen - 1;
		return;
	}
	p->err[p->errused++] = '\n';
	p->err[p->errused] = '\0';
}

int
conf_name_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return 0;
	return n > 0 && n <= HERD_NAME_MAX;
}

static void
conf_header(struct conf_parser *p, const char *name)
{
	struct herd_conf	*c = p->conf;
	struct herd_server	*s;
	const char		*sn;
	size_t			 i;

	snprintf(p->section, sizeof(p->section), "%s", name);
	p->cur_server = -1;
	p->cur_unknown = 0;
	if (strcmp(name, "herd") == 0 || strcmp(name, "places") == 0)
		return;
	if (strncmp(name, "server", 6) != 0 ||
	    !isspace((unsigned char)name[6])) {
		conf_error(p, p->line, "unknown section [%s]", name);
		p->cur_unknown = 1;
		return;
	}
	for (sn = name + 6; isspace((unsigned char)*sn); sn++)
		;
	if (!conf_name_ok(sn)) {
		conf_error(p, p->line, "bad server name \"%s\" (1 to %d of "
		    "A-Z a-z 0-9 . _ -)", sn, HERD_NAME_MAX);
		p->cur_unknown = 1;
		return;
	}
	for (i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, sn) == 0) {
			conf_error(p, p->line, "server %s defined twice (first "
			    "at line %d)", sn, c->servers[i].line);
			p->cur_unknown = 1;
			return;
		}
	s = reallocarray(c->servers, c->nservers + 1, sizeof(*s));
	if (s == NULL) {
		conf_error(p, p->line, "out of memory");
		p->cur_unknown = 1;
		return;
	}
	c->servers = s;
	s = &c->servers[c->nservers];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", sn);
	snprintf(s->host, sizeof(s->host), "127.0.0.1");
	s->line = p->line;
	p->cur_server = (long)c->nservers++;
}

/*
 * inih's reader: one physical line per call.  Headers are noticed here;
 * a line longer than inih can hold is reported and given to inih as empty.
 */
char *
conf_reader(char *buf, int num, void *arg)
{
	struct conf_parser	*p = arg;
	const char		*start, *nl;
	size_t			 n, k;
	char			 hdr[256];

	if (p->pos >= p->len)
		return NULL;
	start = p->text + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	n = nl != NULL ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += n;
	p->line++;
	if (memchr(start, '\0', n) != NULL) {
		conf_error(p, p->line, "NUL byte in line");
		snprintf(buf, (size_t)num, "\n");
		return buf;
	}
	/*
	 * inih gets the line without a \r before its \n and without a UTF-8
	 * BOM (which it would skip, but after our header check): so a CRLF
	 * line may be as long as an LF one, and "\xef\xbb\xbf[herd]" is seen.
	 */
	k = nl != NULL ? n - 1 : n;
	if (nl != NULL && k > 0 && start[k - 1] == '\r')
		k--;
	if (p->line == 1 && k >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		k -= 3;
	}
	if (k + 2 > (size_t)num) {
		conf_error(p, p->line, "line longer than %d bytes",
		    CONF_LINE_MAX - 2);
		snprintf(buf, (size_t)num, "\n");
		return buf;
	}
	memcpy(buf, start, k);
	if (nl != NULL)
		buf[k++] = '\n';
	buf[k] = '\0';
	n = k;

	/* A section header: "[name]" after optional white space. */
	for (k = 0; k < n && isspace((unsigned char)buf[k]); k++)
		;
	if (k < n && buf[k] == '[') {
		const char *e = strchr(buf + k, ']');
		size_t	 hl;

		if (e != NULL) {
			hl = (size_t)(e - (buf + k + 1));
			if (hl >= sizeof(hdr))
				hl = sizeof(hdr) - 1;
			memcpy(hdr, buf + k + 1, hl);
			hdr[hl] = '\0';
			while (hl > 0 && isspace((unsigned char)hdr[hl - 1]))
				hdr[--hl] = '\0';
			for (k = 0; isspace((unsigned char)hdr[k]); k++)
				;
			conf_header(p, hdr + k);
		}
	}
	return buf;
}
