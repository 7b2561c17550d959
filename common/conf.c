/*
 * conf.c -- the herd's configuration from its text (conf_parse, pure: see
 * conf.h), its defaults, and the lookups on a parsed herd.
 *
 * conf_parse runs inih over the reader of conf_reader.c and the key
 * handler of conf_keys.c, then the checks of conf_validate.c; conf_int.h
 * holds the state they share.  Reading the file is conf_load.c's; printing
 * the result for -nv, conf_print.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_tls.h"
#include "keyring.h"
#include "log.h"
#include "paths.h"

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
	c->limits.max_clients = 250000;
	c->limits.max_clock_skew = 3600;
	c->limits.max_connections = 10000;
	c->limits.max_conn_addr = 1024;
	c->limits.log_max_size = 32LL << 20;
	c->limits.log_keep = 3;
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
	    a->tls_port != b->tls_port || a->nneighbors != b->nneighbors)
		return 0;
	if (a->tls_port != 0 && (strcmp(ca->ctls.cert, cb->ctls.cert) != 0 ||
	    strcmp(ca->ctls.key, cb->ctls.key) != 0))
		return 0;		/* the files' contents: reloaded alone */
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
	    conf_tls_live(ca, cb) &&
	    ca->broadcast == cb->broadcast &&
	    ca->rescue_links == cb->rescue_links;
}
