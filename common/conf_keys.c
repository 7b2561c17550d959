/*
 * conf_keys.c -- inih's handler: each key of [herd], [places] and
 * [server NAME], its value checked and set in struct herd_conf, or an
 * error at its line (conf_int.h).  Checks across keys are conf_validate.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_limits.h"
#include "conf_tls.h"
#include "log.h"
#include "sock.h"

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
	else if (strcmp(k, "client_tls_cert") == 0) {
		if (conf_str(p, c->ctls.cert, sizeof(c->ctls.cert), v, k))
			c->ctls.cert_line = p->line;
	}
	else if (strcmp(k, "client_tls_key") == 0) {
		if (conf_str(p, c->ctls.key, sizeof(c->ctls.key), v, k))
			c->ctls.key_line = p->line;
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
	else if (conf_limits_key(&c->limits, k, v, err, sizeof(err))) {
		if (err[0] != '\0')
			conf_error(p, p->line, "%s", err);
	} else if (conf_tls_key(&c->tls, k, v, p->line, err, sizeof(err))) {
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
	} else if (strcmp(k, "tls_port") == 0) {
		if (conf_intkey(p, &port, v, k, 1, 65535)) {
			s->tls_port = (uint16_t)port;
			s->tls_port_line = p->line;
		}
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

int
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
