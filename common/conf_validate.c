/*
 * conf_validate.c -- the checks of a parsed herd as a whole, each error at
 * the line that caused it: every server has a port, no two ports clash
 * (port, peer_port and tls_port), a tls_port has its certificate,
 * neighbours name servers and become symmetric links; and the defaults
 * that depend on other keys (conf_int.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_tls.h"

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

void
conf_validate(struct conf_parser *p)
{
	struct herd_conf	*c = p->conf;
	struct herd_server	*s, *t;
	size_t			 i, j, k;
	uint16_t		 ps[3], pt[3];
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
		if (s->tls_port != 0 && (s->tls_port == s->port ||
		    s->tls_port == s->peer_port))
			conf_error(p, s->tls_port_line, "server %s: tls_port %u "
			    "is its %s", s->name, s->tls_port,
			    s->tls_port == s->port ? "client port" : "peer_port");
		if (s->tls_port != 0 && c->ctls.cert[0] == '\0' &&
		    c->ctls.key[0] == '\0')
			conf_error(p, s->tls_port_line, "server %s: tls_port "
			    "without client_tls_cert and client_tls_key in "
			    "[herd]", s->name);
	}
	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		ps[0] = s->port, ps[1] = s->peer_port, ps[2] = s->tls_port;
		for (j = 0; j < i; j++) {
			t = &c->servers[j];
			pt[0] = t->port, pt[1] = t->peer_port, pt[2] = t->tls_port;
			if (!conf_host_clash(s->host, t->host))
				continue;
			for (k = 0; k < 9; k++)
				if (ps[k / 3] != 0 && ps[k / 3] == pt[k % 3]) {
					conf_error(p, k / 3 == 2 ?
					    s->tls_port_line : s->line, "server "
					    "%s: port %u already used by server "
					    "%s", s->name, ps[k / 3], t->name);
					break;
				}
		}
	}
	for (i = 0; c->http_port != 0 && i < c->nservers; i++) {
		s = &c->servers[i];
		if (conf_host_clash(s->host, c->http_host) &&
		    (s->port == c->http_port || s->peer_port == c->http_port ||
		    s->tls_port == c->http_port))
			conf_error(p, c->http_line, "http: port %u already "
			    "used by server %s", c->http_port, s->name);
	}
	if ((c->ctls.cert[0] == '\0') != (c->ctls.key[0] == '\0'))
		conf_error(p, c->ctls.cert[0] != '\0' ? c->ctls.cert_line :
		    c->ctls.key_line, "%s", c->ctls.cert[0] != '\0' ?
		    "client_tls_cert without client_tls_key" :
		    "client_tls_key without client_tls_cert");
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
