/*
 * conf.c -- read the herd's INI configuration with inih and validate it.
 *
 * Debian's inih is built without INI_HANDLER_LINENO and with a 200-byte
 * line limit, so we feed it through our own reader: the reader counts lines
 * (the handler reads the count), notices section headers (so that a server
 * defined twice or an empty unknown section is caught at its own line) and
 * turns an over-long line into an error instead of a silent split.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "conf_tls.h"
#include "keyring.h"
#include "log.h"
#include "paths.h"
#include "sock.h"


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

static void
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

static int
conf_name_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return 0;
	return n > 0 && n <= HERD_NAME_MAX;
}

/* A strict decimal integer in [lo, hi]. */
static int
conf_int(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '-'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
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
static char *
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

static int
conf_str(struct conf_parser *p, char *dst, size_t dstlen, const char *v,
    const char *key)
{
	if (strlen(v) >= dstlen) {
		conf_error(p, p->line, "%s: value too long", key);
		return 0;
	}
	snprintf(dst, dstlen, "%s", v);
	return 1;
}

static int
conf_intkey(struct conf_parser *p, int *dst, const char *v, const char *key,
    long lo, long hi)
{
	long	 n;

	if (conf_int(v, lo, hi, &n) == -1) {
		conf_error(p, p->line, "%s: expected an integer from %ld to %ld,"
		    " not \"%s\"", key, lo, hi, v);
		return 0;
	}
	*dst = (int)n;
	return 1;
}

static void
conf_key_herd(struct conf_parser *p, const char *k, const char *v)
{
	struct herd_conf	*c = p->conf;
	char			 err[320];

	if (strcmp(k, "log_dir") == 0) {
		if (conf_str(p, c->log_dir, sizeof(c->log_dir), v, k))
			c->log_dir_line = p->line;
	} else if (strcmp(k, "log_level") == 0) {
		if ((c->log_level = log_level_parse(v)) == -1) {
			c->log_level = LOG_LEVEL_INFO;
			conf_error(p, p->line, "log_level: expected debug, info, "
			    "notice, warning or error, not \"%s\"", v);
		}
	}
	else if (strcmp(k, "control") == 0) {
		if (conf_str(p, c->control, sizeof(c->control), v, k))
			c->control_line = p->line;
	}
	else if (strcmp(k, "http") == 0) {
		c->http_host[0] = '\0';
		c->http_port = 0;
		if (strcmp(v, "off") != 0 && sock_parse_hostport(v, c->http_host,
		    sizeof(c->http_host), &c->http_port, err, sizeof(err)) == -1)
			conf_error(p, p->line, "http: %s (or off)", err);
		c->http_line = p->line;
	}
	else if (strcmp(k, "node") == 0)
		conf_str(p, c->node_path, sizeof(c->node_path), v, k);
	else if (strcmp(k, "restart_delay_ms") == 0)
		conf_intkey(p, &c->restart_delay_ms, v, k, 0, 3600000);
	else if (strcmp(k, "restart_max_ms") == 0) {
		conf_intkey(p, &c->restart_max_ms, v, k, 0, 3600000);
		p->restart_line = p->line;
	}
	else if (strcmp(k, "restart_reset_s") == 0)
		conf_intkey(p, &c->restart_reset_s, v, k, 0, 86400);
	else if (strcmp(k, "stop_timeout_ms") == 0)
		conf_intkey(p, &c->stop_timeout_ms, v, k, 0, 3600000);
	else if (strcmp(k, "ready_timeout_ms") == 0)
		conf_intkey(p, &c->ready_timeout_ms, v, k, 1, 3600000);
	else if (strcmp(k, "hang_timeout_ms") == 0)
		conf_intkey(p, &c->hang_timeout_ms, v, k, 0, 3600000);
	else if (strcmp(k, "start_limit_burst") == 0)
		conf_intkey(p, &c->start_limit_burst, v, k, 0, 64);
	else if (strcmp(k, "start_limit_interval_s") == 0)
		conf_intkey(p, &c->start_limit_interval_s, v, k, 1, 86400);
	else if (strcmp(k, "rescue_links") == 0)
		conf_intkey(p, &c->rescue_links, v, k, 0, CONF_RESCUE_MAX);
	else if (strcmp(k, "broadcast") == 0) {
		if (strcmp(v, "tree") == 0)
			c->broadcast = HERD_BROADCAST_TREE;
		else if (strcmp(v, "flood") == 0)
			c->broadcast = HERD_BROADCAST_FLOOD;
		else
			conf_error(p, p->line, "broadcast: expected tree or "
			    "flood, not \"%s\"", v);
	}
	else if (strcmp(k, "secret_file") == 0) {
		if (conf_str(p, c->secret_file, sizeof(c->secret_file), v, k))
			c->secret_line = p->line;
	}
	else if (strcmp(k, "state_dir") == 0) {
		if (conf_str(p, c->state_dir, sizeof(c->state_dir), v, k))
			c->state_dir_line = p->line;
	}
	else if (strcmp(k, "fsync") == 0) {
		if (strcmp(v, "always") == 0)
			c->fsync = HERD_FSYNC_ALWAYS;
		else if (strcmp(v, "everysec") == 0)
			c->fsync = HERD_FSYNC_EVERYSEC;
		else if (strcmp(v, "no") == 0)
			c->fsync = HERD_FSYNC_NO;
		else
			conf_error(p, p->line, "fsync: expected always, "
			    "everysec or no, not \"%s\"", v);
	}
	else if (conf_tls_key(&c->tls, k, v, p->line, err, sizeof(err))) {
		if (err[0] != '\0')
			conf_error(p, p->line, "%s", err);
	} else
		conf_error(p, p->line, "unknown key \"%s\" in [herd]", k);
}

static void
conf_key_places(struct conf_parser *p, const char *k, const char *v)
{
	struct herd_places_conf	*pl = &p->conf->places;
	int			 n;

	if (strcmp(k, "backend") == 0) {
		if (strcmp(v, "offline") == 0)
			pl->backend = HERD_BACKEND_OFFLINE;
		else if (strcmp(v, "google") == 0)
			pl->backend = HERD_BACKEND_GOOGLE;
		else if (strcmp(v, "google-new") == 0)
			pl->backend = HERD_BACKEND_GOOGLE_NEW;
		else {
			conf_error(p, p->line, "backend: expected offline, "
			    "google or google-new, not \"%s\"", v);
			return;
		}
		pl->backend_set = 1;
	} else if (strcmp(k, "key") == 0)
		conf_str(p, pl->key, sizeof(pl->key), v, k);
	else if (strcmp(k, "url") == 0) {
		if (conf_str(p, pl->url, sizeof(pl->url), v, k))
			pl->url_set = v[0] != '\0';
	} else if (strcmp(k, "timeout_ms") == 0)
		conf_intkey(p, &pl->timeout_ms, v, k, 1, 600000);
	else if (strcmp(k, "max_inflight") == 0)
		conf_intkey(p, &pl->max_inflight, v, k, 1, 10000);
	else if (strcmp(k, "max_body") == 0) {
		if (conf_intkey(p, &n, v, k, 1024, 64 * 1024 * 1024))
			pl->max_body = (size_t)n;
	} else if (strcmp(k, "dataset") == 0) {
		if (conf_str(p, pl->dataset, sizeof(pl->dataset), v, k))
			pl->dataset_line = p->line;
	} else
		conf_error(p, p->line, "unknown key \"%s\" in [places]", k);
}

static void
conf_key_server(struct conf_parser *p, const char *k, const char *v)
{
	struct herd_server	*s = &p->conf->servers[p->cur_server];
	struct conf_nb		*nb;
	char			 buf[CONF_LINE_MAX + 1], *w, *save;
	int			 port;

	if (strcmp(k, "host") == 0) {
		if (v[0] == '\0' || strchr(v, ' ') != NULL)
			conf_error(p, p->line, "host: expected an address");
		else
			conf_str(p, s->host, sizeof(s->host), v, k);
	} else if (strcmp(k, "port") == 0) {
		if (conf_intkey(p, &port, v, k, 1, 65535))
			s->port = (uint16_t)port;
	} else if (strcmp(k, "peer_port") == 0) {
		if (conf_intkey(p, &port, v, k, 1, 65535))
			s->peer_port = (uint16_t)port;
	} else if (strcmp(k, "neighbors") == 0 ||
	    strcmp(k, "neighbours") == 0) {
		snprintf(buf, sizeof(buf), "%s", v);
		for (w = strtok_r(buf, " \t,", &save); w != NULL;
		    w = strtok_r(NULL, " \t,", &save)) {
			if (!conf_name_ok(w)) {
				conf_error(p, p->line, "bad neighbour name "
				    "\"%s\"", w);
				continue;
			}
			nb = reallocarray(p->nbs, p->nnbs + 1, sizeof(*nb));
			if (nb == NULL) {
				conf_error(p, p->line, "out of memory");
				return;
			}
			p->nbs = nb;
			nb = &p->nbs[p->nnbs++];
			nb->server = (size_t)p->cur_server;
			nb->line = p->line;
			snprintf(nb->name, sizeof(nb->name), "%s", w);
		}
	} else
		conf_error(p, p->line, "unknown key \"%s\" in [server %s]", k,
		    s->name);
}

static int
conf_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct conf_parser	*p = arg;

	(void)section;		/* the reader saw the header: p->section */
	if (p->cur_unknown)
		return 1;	/* reported once, at the header */
	if (p->cur_server >= 0)
		conf_key_server(p, key, value);
	else if (strcmp(p->section, "herd") == 0)
		conf_key_herd(p, key, value);
	else if (strcmp(p->section, "places") == 0)
		conf_key_places(p, key, value);
	else
		conf_error(p, p->line, "key \"%s\" outside any section", key);
	return 1;
}

static int
conf_add_link(struct herd_server *s, size_t other)
{
	size_t	*n, i;

	for (i = 0; i < s->nneighbors; i++)
		if (s->neighbors[i] == other)
			return 0;
	n = reallocarray(s->neighbors, s->nneighbors + 1, sizeof(*n));
	if (n == NULL)
		return -1;
	s->neighbors = n;
	s->neighbors[s->nneighbors++] = other;
	return 0;
}

static int
conf_host_clash(const char *a, const char *b)
{
	return strcmp(a, b) == 0 || strcmp(a, "0.0.0.0") == 0 ||
	    strcmp(b, "0.0.0.0") == 0 || strcmp(a, "::") == 0 ||
	    strcmp(b, "::") == 0;
}

static void
conf_validate(struct conf_parser *p)
{
	struct herd_conf	*c = p->conf;
	struct herd_server	*s, *t;
	size_t			 i, j, k;
	uint16_t		 ps[2], pt[2];
	char			 err[320];
	int			 line;

	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		if (s->port == 0) {
			conf_error(p, s->line, "server %s: no port", s->name);
			continue;
		}
		if (s->peer_port == 0) {
			if (s->port > 65535 - 10000) {
				conf_error(p, s->line, "server %s: port %u + "
				    "10000 is not a port: set peer_port",
				    s->name, s->port);
				continue;
			}
			s->peer_port = (uint16_t)(s->port + 10000);
		}
		if (s->peer_port == s->port)
			conf_error(p, s->line, "server %s: peer_port %u is "
			    "its client port", s->name, s->port);
	}
	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		ps[0] = s->port, ps[1] = s->peer_port;
		for (j = 0; j < i; j++) {
			t = &c->servers[j];
			pt[0] = t->port, pt[1] = t->peer_port;
			if (!conf_host_clash(s->host, t->host))
				continue;
			for (k = 0; k < 4; k++)
				if (ps[k / 2] != 0 && ps[k / 2] == pt[k % 2]) {
					conf_error(p, s->line, "server %s: "
					    "port %u already used by server %s",
					    s->name, ps[k / 2], t->name);
					break;
				}
		}
	}
	for (i = 0; c->http_port != 0 && i < c->nservers; i++) {
		s = &c->servers[i];
		if (conf_host_clash(s->host, c->http_host) &&
		    (s->port == c->http_port || s->peer_port == c->http_port))
			conf_error(p, c->http_line, "http: port %u already "
			    "used by server %s", c->http_port, s->name);
	}
	for (i = 0; i < p->nnbs; i++) {
		s = &c->servers[p->nbs[i].server];
		for (j = 0; j < c->nservers; j++)
			if (strcmp(c->servers[j].name, p->nbs[i].name) == 0)
				break;
		if (j == c->nservers) {
			conf_error(p, p->nbs[i].line, "neighbour %s of %s is "
			    "not a server", p->nbs[i].name, s->name);
			continue;
		}
		if (j == p->nbs[i].server) {
			conf_error(p, p->nbs[i].line, "server %s lists itself "
			    "as a neighbour", s->name);
			continue;
		}
		if (conf_add_link(s, j) == -1 ||
		    conf_add_link(&c->servers[j], p->nbs[i].server) == -1)
			conf_error(p, p->nbs[i].line, "out of memory");
	}
	if (c->nservers == 0)
		conf_error(p, p->line > 0 ? p->line : 1, "no [server NAME] "
		    "section");
	if (c->restart_max_ms < c->restart_delay_ms)
		conf_error(p, p->restart_line > 0 ? p->restart_line : 1,
		    "restart_max_ms %d is"
		    " below restart_delay_ms %d", c->restart_max_ms,
		    c->restart_delay_ms);
	if (conf_tls_validate(&c->tls, &line, err, sizeof(err)) == -1)
		conf_error(p, line, "%s", err);
	if (!c->places.backend_set)
		c->places.backend = c->places.key[0] != '\0' ?
		    HERD_BACKEND_GOOGLE : HERD_BACKEND_OFFLINE;
	if (!c->places.url_set)
		snprintf(c->places.url, sizeof(c->places.url), "%s",
		    c->places.backend == HERD_BACKEND_GOOGLE_NEW ?
		    GOOGLE_NEW_URL : GOOGLE_URL);
}

void
conf_defaults(struct herd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->log_dir, sizeof(c->log_dir), "log");
	c->log_level = LOG_LEVEL_INFO;
	snprintf(c->control, sizeof(c->control), "herd.sock");
	c->restart_delay_ms = 100;
	c->restart_max_ms = 30000;
	c->restart_reset_s = 10;
	c->stop_timeout_ms = 5000;
	c->ready_timeout_ms = 10000;
	c->hang_timeout_ms = 10000;
	c->start_limit_burst = 5;
	c->start_limit_interval_s = 10;
	c->tls.on = 1;
	c->places.timeout_ms = 5000;
	c->places.max_inflight = 64;
	c->places.max_body = 1024 * 1024;
	(void)paths_default(PATHS_DATASET, PATHS_INSTALLED, c->places.dataset,
	    sizeof(c->places.dataset));
}

int
conf_parse(const char *text, size_t len, const char *fname,
    struct herd_conf *conf, char *err, size_t errlen)
{
	struct conf_parser	 p;
	int			 rc;

	memset(&p, 0, sizeof(p));
	p.fname = fname;
	p.text = text;
	p.len = len;
	p.conf = conf;
	p.err = err;
	p.errlen = errlen;
	p.cur_server = -1;
	if (errlen > 0)
		err[0] = '\0';
	conf_defaults(conf);

	/*
	 * No multi-line values: an indented line is an ordinary line, as our
	 * reader sees it (Debian's inih makes this a run-time setting).
	 */
	ini_allow_multiline = false;
	rc = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (rc > 0 && p.nerr == 0)
		conf_error(&p, rc, "syntax error (expected [section] or "
		    "key = value)");
	else if (rc < 0)
		conf_error(&p, 1, "out of memory");
	if (p.nerr == 0)
		conf_validate(&p);
	free(p.nbs);
	if (p.nerr > 0) {
		conf_free(conf);
		return -1;
	}
	return 0;
}

void
conf_free(struct herd_conf *conf)
{
	size_t	 i;

	for (i = 0; i < conf->nservers; i++)
		free(conf->servers[i].neighbors);
	free(conf->servers);
	conf->servers = NULL;
	conf->nservers = 0;
	explicit_bzero(conf->secret, sizeof(conf->secret));
	conf->secret_len = 0;
	keyring_clear(&conf->keys);
}

const struct herd_server *
conf_server(const struct herd_conf *conf, const char *name)
{
	size_t	 i;

	for (i = 0; i < conf->nservers; i++)
		if (strcmp(conf->servers[i].name, name) == 0)
			return &conf->servers[i];
	return NULL;
}

int
conf_linked(const struct herd_conf *conf, const struct herd_server *a,
    const struct herd_server *b)
{
	size_t	 i, bi = (size_t)(b - conf->servers);

	for (i = 0; i < a->nneighbors; i++)
		if (a->neighbors[i] == bi)
			return 1;
	return 0;
}

static int
conf_has_neighbor(const struct herd_conf *c, const struct herd_server *s,
    const char *name)
{
	size_t	 i;

	for (i = 0; i < s->nneighbors; i++)
		if (strcmp(c->servers[s->neighbors[i]].name, name) == 0)
			return 1;
	return 0;
}

int
conf_server_equal(const struct herd_conf *ca, const struct herd_server *a,
    const struct herd_conf *cb, const struct herd_server *b)
{
	const struct herd_server	*na, *nb;
	size_t				 i;

	if (strcmp(a->name, b->name) != 0 || strcmp(a->host, b->host) != 0 ||
	    a->port != b->port || a->peer_port != b->peer_port ||
	    a->nneighbors != b->nneighbors)
		return 0;
	for (i = 0; i < a->nneighbors; i++) {
		/* a neighbour's address matters too: we dial it */
		na = &ca->servers[a->neighbors[i]];
		if (!conf_has_neighbor(cb, b, na->name))
			return 0;
		if ((nb = conf_server(cb, na->name)) == NULL ||
		    strcmp(na->host, nb->host) != 0 ||
		    na->peer_port != nb->peer_port)
			return 0;
	}
	return strcmp(ca->log_dir, cb->log_dir) == 0 &&
	    strcmp(ca->state_dir, cb->state_dir) == 0 && ca->fsync == cb->fsync &&
	    memcmp(&ca->places, &cb->places, sizeof(ca->places)) == 0 &&
	    conf_tls_equal(ca, cb) &&
	    ca->broadcast == cb->broadcast &&
	    ca->rescue_links == cb->rescue_links;
}

const char *
conf_broadcast_name(enum herd_broadcast mode)
{
	return mode == HERD_BROADCAST_FLOOD ? "flood" : "tree";
}

const char *
conf_fsync_name(enum herd_fsync mode)
{
	switch (mode) {
	case HERD_FSYNC_ALWAYS:
		return "always";
	case HERD_FSYNC_NO:
		return "no";
	default:
		return "everysec";
	}
}

const char *
conf_backend_name(enum herd_backend backend)
{
	switch (backend) {
	case HERD_BACKEND_GOOGLE:
		return "google";
	case HERD_BACKEND_GOOGLE_NEW:
		return "google-new";
	default:
		return "offline";
	}
}

void
conf_print(FILE *fp, const struct herd_conf *c)
{
	const struct herd_server	*s;
	size_t				 i, j;

	fprintf(fp, "[herd]\nlog_dir = %s\nlog_level = %s\ncontrol = %s\n",
	    c->log_dir, log_level_name(c->log_level), c->control);
	if (c->http_port != 0)
		fprintf(fp, strchr(c->http_host, ':') != NULL ?
		    "http = [%s]:%u\n" : "http = %s:%u\n", c->http_host,
		    c->http_port);
	if (c->node_path[0] != '\0')
		fprintf(fp, "node = %s\n", c->node_path);
	if (c->secret_file[0] != '\0')		/* never the secret itself */
		fprintf(fp, "secret_file = %s\n", c->secret_file);
	conf_tls_print(fp, c);
	if (c->state_dir[0] != '\0')
		fprintf(fp, "state_dir = %s\n", c->state_dir);
	fprintf(fp, "fsync = %s\n", conf_fsync_name(c->fsync));
	fprintf(fp, "restart_delay_ms = %d\nrestart_max_ms = %d\n"
	    "restart_reset_s = %d\nstop_timeout_ms = %d\n"
	    "ready_timeout_ms = %d\nhang_timeout_ms = %d\n"
	    "start_limit_burst = %d\nstart_limit_interval_s = %d\n"
	    "rescue_links = %d\nbroadcast = %s\n\n",
	    c->restart_delay_ms, c->restart_max_ms, c->restart_reset_s,
	    c->stop_timeout_ms, c->ready_timeout_ms, c->hang_timeout_ms,
	    c->start_limit_burst, c->start_limit_interval_s, c->rescue_links,
	    conf_broadcast_name(c->broadcast));
	fprintf(fp, "[places]\nbackend = %s\nkey = %s\nurl = %s\n"
	    "timeout_ms = %d\nmax_inflight = %d\nmax_body = %zu\n"
	    "dataset = %s\n", conf_backend_name(c->places.backend),
	    c->places.key[0] != '\0' ? "(set)" : "", c->places.url,
	    c->places.timeout_ms, c->places.max_inflight, c->places.max_body,
	    c->places.dataset);
	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		fprintf(fp, "\n[server %s]\nhost = %s\nport = %u\n"
		    "peer_port = %u\nneighbors =", s->name, s->host, s->port,
		    s->peer_port);
		for (j = 0; j < s->nneighbors; j++)
			fprintf(fp, " %s", c->servers[s->neighbors[j]].name);
		fputc('\n', fp);
	}
}
