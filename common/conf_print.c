/*
 * conf_print.c -- a parsed herd written back in INI form, every key with
 * its value in effect (defaults included, the secret and the Places key
 * never): `herdd -nv` and the golden tests of tests/conf.  With it, the
 * names of the enumerated values, which the logs and metrics print too.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_limits.h"
#include "conf_tls.h"
#include "log.h"

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
	if (c->ctls.cert[0] != '\0')
		fprintf(fp, "client_tls_cert = %s\nclient_tls_key = %s\n",
		    c->ctls.cert, c->ctls.key);
	if (c->state_dir[0] != '\0')
		fprintf(fp, "state_dir = %s\n", c->state_dir);
	fprintf(fp, "fsync = %s\n", conf_fsync_name(c->fsync));
	fprintf(fp, "restart_delay_ms = %d\nrestart_max_ms = %d\n"
	    "restart_reset_s = %d\nstop_timeout_ms = %d\n"
	    "ready_timeout_ms = %d\nhang_timeout_ms = %d\n"
	    "start_limit_burst = %d\nstart_limit_interval_s = %d\n"
	    "rescue_links = %d\nbroadcast = %s\n",
	    c->restart_delay_ms, c->restart_max_ms, c->restart_reset_s,
	    c->stop_timeout_ms, c->ready_timeout_ms, c->hang_timeout_ms,
	    c->start_limit_burst, c->start_limit_interval_s, c->rescue_links,
	    conf_broadcast_name(c->broadcast));
	conf_limits_print(fp, &c->limits);
	fputc('\n', fp);
	fprintf(fp, "[places]\nbackend = %s\nkey = %s\nurl = %s\n"
	    "timeout_ms = %d\nmax_inflight = %d\nmax_body = %zu\n"
	    "dataset = %s\n", conf_backend_name(c->places.backend),
	    c->places.key[0] != '\0' ? "(set)" : "", c->places.url,
	    c->places.timeout_ms, c->places.max_inflight, c->places.max_body,
	    c->places.dataset);
	for (i = 0; i < c->nservers; i++) {
		s = &c->servers[i];
		fprintf(fp, "\n[server %s]\nhost = %s\nport = %u\n"
		    "peer_port = %u\n", s->name, s->host, s->port,
		    s->peer_port);
		if (s->tls_port != 0)
			fprintf(fp, "tls_port = %u\n", s->tls_port);
		fprintf(fp, "neighbors =");
		for (j = 0; j < s->nneighbors; j++)
			fprintf(fp, " %s", c->servers[s->neighbors[j]].name);
		fputc('\n', fp);
	}
}
