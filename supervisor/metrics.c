/*
 * metrics.c -- the counters of every server, added up over its processes,
 * and their Prometheus text exposition (herdd(8), METRICS).
 *
 * A worker counts from its own start (notify.h) and says so in each STATS
 * record.  herdd keeps what the server's earlier processes counted (base)
 * and what the running one said last (cur): a server's counter is their
 * sum, so it only goes up while herdd runs, across crashes and restarts.
 * What a process counted after its last STATS (100 ms at most) is lost
 * with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "linebuf.h"
#include "metrics.h"
#include "proc_int.h"

static unsigned long long
metrics_sum(const struct proc *p, enum notify_ctr c)
{
	return p->ctr_base[c] + p->ctr_cur[c];
}

void
metrics_fold(struct proc *p)
{
	size_t	 i;

	for (i = 0; i < NOTIFY_C_N; i++) {
		p->ctr_base[i] += p->ctr_cur[i];
		p->ctr_cur[i] = 0;
	}
	for (i = 0; i < NOTIFY_HIST_N; i++) {
		p->hist_base[i] += p->hist_cur[i];
		p->hist_cur[i] = 0;
	}
	for (i = 0; i < p->nflood; i++) {
		p->flood[i].base += p->flood[i].cur;
		p->flood[i].cur = 0;
	}
	p->have_jbytes = 0;
}

/* The entry of neighbour name, made when new; NULL when out of memory. */
static struct proc_flood *
metrics_flood(struct proc *p, const char *name)
{
	struct proc_flood	*f;
	size_t			 i;

	for (i = 0; i < p->nflood; i++)
		if (strcmp(p->flood[i].name, name) == 0)
			return &p->flood[i];
	if ((f = reallocarray(p->flood, p->nflood + 1, sizeof(*f))) == NULL)
		return NULL;
	p->flood = f;
	f = &p->flood[p->nflood++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

void
metrics_take(struct proc *p, const struct notify_msg *m)
{
	struct proc_flood	*f;
	size_t			 i;

	for (i = 0; i < NOTIFY_C_N; i++)
		if (m->have_ctr & (1u << i))
			p->ctr_cur[i] = m->ctr[i];
	if (m->have & NOTIFY_F_HIST)
		memcpy(p->hist_cur, m->hist, sizeof(p->hist_cur));
	if (m->have & NOTIFY_F_FLOOD)
		for (i = 0; i < m->nflood; i++)
			if ((f = metrics_flood(p, m->flood[i].name)) != NULL)
				f->cur = m->flood[i].n;
	if (m->have & NOTIFY_F_JBYTES) {
		p->jbytes = m->jbytes;
		p->have_jbytes = 1;
	}
}

static struct json_object *
metrics_u64(unsigned long long v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

void
metrics_json(const struct proc *p, struct json_object *o)
{
	struct json_object	*c, *h, *f;
	unsigned long long	 sum = 0;
	size_t			 i;

	c = json_object_new_object();
	for (i = 0; i < NOTIFY_C_N; i++)
		json_object_object_add(c, notify_ctr_key[i],
		    metrics_u64(metrics_sum(p, (enum notify_ctr)i)));
	h = json_object_new_array();
	for (i = 0; i < NOTIFY_HIST_N; i++) {
		sum += p->hist_base[i] + p->hist_cur[i];
		json_object_array_add(h, metrics_u64(sum));	/* cumulative */
	}
	json_object_object_add(c, "pl_hist", h);
	f = json_object_new_object();
	for (i = 0; i < p->nflood; i++)
		json_object_object_add(f, p->flood[i].name,
		    metrics_u64(p->flood[i].base + p->flood[i].cur));
	json_object_object_add(c, "flood", f);
	json_object_object_add(o, "counters", c);
}

/* The exposition, as it is built. */
struct mx {
	struct outbuf	 ob;
	int		 oom;
};

static void
mx_printf(struct mx *x, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    outbuf_add(&x->ob, buf, (size_t)n) == -1)
		x->oom = 1;
}

static void
mx_family(struct mx *x, const char *name, const char *type, const char *help)
{
	mx_printf(x, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The servers this herdd runs: those with a worker here. */
#define FOR_PROCS(i, p)	for ((i) = 0; (i) < proc_n && \
	((p) = proc_table[(i)]) != NULL; (i)++)

static void
mx_worker(struct mx *x)
{
	struct proc	*p;
	size_t		 i;
	enum proc_state	 s;

	mx_family(x, "herd_worker_up", "gauge",
	    "1 when the server's worker runs and answers the heartbeat, "
	    "else 0.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_worker_up{server=\"%s\"} %d\n", p->name,
		    p->state == PROC_RUNNING);
	mx_family(x, "herd_worker_state", "gauge",
	    "1 for the state the server's worker is in (herdctl status), "
	    "0 for the others.");
	FOR_PROCS(i, p)
		for (s = PROC_STARTING; s <= PROC_FAILED; s++)
			mx_printf(x, "herd_worker_state{server=\"%s\",state="
			    "\"%s\"} %d\n", p->name, proc_state_name(s),
			    p->state == s);
	mx_family(x, "herd_restarts_total", "counter",
	    "Worker processes started after the first.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_restarts_total{server=\"%s\"} %u\n",
		    p->name, p->restarts);
	mx_family(x, "herd_clients", "gauge",
	    "Client locations stored by the server.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_clients{server=\"%s\"} %lu\n", p->name,
		    proc_up(p) && p->have_stats ? p->clients : 0);
	mx_family(x, "herd_connections", "gauge",
	    "Client connections open.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_connections{server=\"%s\"} %lu\n", p->name,
		    proc_up(p) && p->have_stats ? p->conns : 0);
}

/*
 * A gauge per configured link of each server: 1 when the neighbour is in
 * the list the server's worker gave (links= or eager=), else 0.
 */
static void
mx_link_gauge(struct mx *x, const char *family, const char *help, int eager)
{
	const struct herd_server	*s;
	struct proc			*p;
	size_t				 i, j;
	int				 in;

	mx_family(x, family, "gauge", help);
	FOR_PROCS(i, p) {
		if ((s = conf_server(proc_conf, p->name)) == NULL)
			continue;
		for (j = 0; j < s->nneighbors; j++) {
			in = proc_up(p) && proc_in_list(eager ? p->eager :
			    p->links, proc_conf->servers[s->neighbors[j]].name);
			mx_printf(x, "%s{server=\"%s\",neighbor=\"%s\"} %d\n",
			    family, p->name,
			    proc_conf->servers[s->neighbors[j]].name, in);
		}
	}
}

/*
 * herd_link_key_info: a series for each link of the server's worker over
 * TLS, with the key it uses (notify.h's keys lists, whose keys need no
 * escaping in a label); none for a plain-text link.
 */
static void
mx_link_keys(struct mx *x)
{
	static const char *const dir[] = { "out", "in" };
	struct proc	*p;
	const char	*list;
	char		 name[NOTIFY_NAME_MAX + 1], key[NOTIFY_KEY_MAX + 1];
	size_t		 i, d;

	mx_family(x, "herd_link_key_info", "gauge",
	    "1 for the key each of the server's peer links over TLS uses: "
	    "direction out, its stream to the neighbour; in, the "
	    "neighbour's stream to it.");
	FOR_PROCS(i, p) {
		if (!proc_up(p) || !p->have_stats)
			continue;
		for (d = 0; d < 2; d++) {
			list = d == 0 ? p->keys : p->keys_in;
			while (notify_keys_next(&list, name, key))
				mx_printf(x, "herd_link_key_info{server=\"%s\","
				    "neighbor=\"%s\",direction=\"%s\",key="
				    "\"%s\"} 1\n", p->name, name, dir[d], key);
		}
	}
}

static void
mx_links(struct mx *x)
{
	static const struct {
		const char	*label;
		enum notify_ctr	 c;
	} tree[] = {
		{ "ihave", NOTIFY_C_IHAVE }, { "graft", NOTIFY_C_GRAFT },
		{ "prune", NOTIFY_C_PRUNE }, { "eager", NOTIFY_C_EAGER },
	};
	const struct herd_server	*s;
	struct proc			*p;
	size_t				 i, j, n;

	mx_link_gauge(x, "herd_link_up", "1 when the server's link to the "
	    "neighbour is up, else 0.", 0);
	mx_link_gauge(x, "herd_link_eager", "1 when the server's link to the "
	    "neighbour is up and sends it updates (the broadcast tree's; "
	    "every link up when flooding).", 1);
	mx_family(x, "herd_links_up", "gauge",
	    "The server's links that are up.");
	FOR_PROCS(i, p) {
		n = 0;
		if ((s = conf_server(proc_conf, p->name)) != NULL && proc_up(p))
			for (j = 0; j < s->nneighbors; j++)
				n += (size_t)proc_in_list(p->links,
				    proc_conf->servers[s->neighbors[j]].name);
		mx_printf(x, "herd_links_up{server=\"%s\"} %zu\n", p->name, n);
	}
	mx_link_keys(x);
	mx_family(x, "herd_flood_messages_total", "counter",
	    "UPDATE messages the server sent to the neighbour.");
	FOR_PROCS(i, p)
		for (j = 0; j < p->nflood; j++)
			mx_printf(x, "herd_flood_messages_total{server=\"%s\","
			    "neighbor=\"%s\"} %llu\n", p->name,
			    p->flood[j].name, p->flood[j].base +
			    p->flood[j].cur);
	mx_family(x, "herd_catchup_records_sent_total", "counter",
	    "Records sent to neighbours in catch-ups after a link came up.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_catchup_records_sent_total{server=\"%s\"} "
		    "%llu\n", p->name, metrics_sum(p, NOTIFY_C_CU_SENT));
	mx_family(x, "herd_catchup_records_received_total", "counter",
	    "Records received from neighbours in catch-ups.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_catchup_records_received_total{server="
		    "\"%s\"} %llu\n", p->name,
		    metrics_sum(p, NOTIFY_C_CU_RECV));
	mx_family(x, "herd_peer_bytes_sent_total", "counter",
	    "Bytes the server wrote on its peer connections, both ways.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_peer_bytes_sent_total{server=\"%s\"} %llu\n",
		    p->name, metrics_sum(p, NOTIFY_C_PEER_BYTES));
	mx_family(x, "herd_tree_messages_total", "counter",
	    "The broadcast tree's messages the server sent: ihave (a lazy "
	    "link's notice), graft, prune, eager (the mesh changed: every "
	    "link sends updates for a while).");
	FOR_PROCS(i, p)
		for (j = 0; j < sizeof(tree) / sizeof(tree[0]); j++)
			mx_printf(x, "herd_tree_messages_total{server=\"%s\","
			    "type=\"%s\"} %llu\n", p->name, tree[j].label,
			    metrics_sum(p, tree[j].c));
}

static void
mx_traffic(struct mx *x)
{
	static const struct {
		const char	*label;
		enum notify_ctr	 c;
	} verbs[] = {
		{ "IAMAT", NOTIFY_C_IAMAT }, { "WHATSAT", NOTIFY_C_WHATSAT },
		{ "invalid", NOTIFY_C_INVALID },
	};
	struct proc	*p;
	size_t		 i, j;

	mx_family(x, "herd_commands_total", "counter",
	    "Client command lines, by verb; invalid: answered \"?\" as "
	    "neither.");
	FOR_PROCS(i, p)
		for (j = 0; j < sizeof(verbs) / sizeof(verbs[0]); j++)
			mx_printf(x, "herd_commands_total{server=\"%s\",verb="
			    "\"%s\"} %llu\n", p->name, verbs[j].label,
			    metrics_sum(p, verbs[j].c));
	mx_family(x, "herd_updates_total", "counter",
	    "Updates stored as newer, by where they came from.");
	FOR_PROCS(i, p) {
		mx_printf(x, "herd_updates_total{server=\"%s\",source="
		    "\"client\"} %llu\n", p->name,
		    metrics_sum(p, NOTIFY_C_UPD_CLIENT));
		mx_printf(x, "herd_updates_total{server=\"%s\",source="
		    "\"peer\"} %llu\n", p->name,
		    metrics_sum(p, NOTIFY_C_UPD_PEER));
	}
	mx_family(x, "herd_updates_stale_total", "counter",
	    "Updates not newer than the one stored: not stored.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_updates_stale_total{server=\"%s\"} %llu\n",
		    p->name, metrics_sum(p, NOTIFY_C_STALE));
	mx_family(x, "herd_journal_bytes", "gauge",
	    "The size of the server's journal.");
	FOR_PROCS(i, p)
		if (p->have_jbytes && proc_up(p))
			mx_printf(x, "herd_journal_bytes{server=\"%s\"} %llu\n",
			    p->name, p->jbytes);
	mx_family(x, "herd_journal_error", "gauge",
	    "1 while the server's journal cannot be written and updates are "
	    "refused, else 0.");
	FOR_PROCS(i, p)
		if (proc_up(p) && (strcmp(p->journal, "ok") == 0 ||
		    strcmp(p->journal, "error") == 0))
			mx_printf(x, "herd_journal_error{server=\"%s\"} %d\n",
			    p->name, strcmp(p->journal, "error") == 0);
}

/* What the limits refused (herd.ini(5) LIMITS). */
static void
mx_limits(struct mx *x)
{
	static const struct {
		const char	*source, *reason;
		enum notify_ctr	 c;
	} refusals[] = {
		{ "client", "full", NOTIFY_C_REF_FULL_C },
		{ "peer", "full", NOTIFY_C_REF_FULL_P },
		{ "client", "skew", NOTIFY_C_REF_SKEW_C },
		{ "peer", "skew", NOTIFY_C_REF_SKEW_P },
		{ "client", "expired", NOTIFY_C_REF_EXP_C },
		{ "peer", "expired", NOTIFY_C_REF_EXP_P },
	};
	static const struct {
		const char	*reason;
		enum notify_ctr	 c;
	} conn_refusals[] = {
		{ "max_connections", NOTIFY_C_CONN_SERVER },
		{ "per_address", NOTIFY_C_CONN_ADDR },
		{ "descriptors", NOTIFY_C_CONN_FDS },
	};
	struct proc	*p;
	size_t		 i, j;

	mx_family(x, "herd_updates_refused_total", "counter",
	    "Reports refused by the limits (herd.ini(5) LIMITS), by where "
	    "they came from and why.");
	FOR_PROCS(i, p)
		for (j = 0; j < sizeof(refusals) / sizeof(refusals[0]); j++)
			mx_printf(x, "herd_updates_refused_total{server=\"%s\","
			    "source=\"%s\",reason=\"%s\"} %llu\n", p->name,
			    refusals[j].source, refusals[j].reason,
			    metrics_sum(p, refusals[j].c));
	mx_family(x, "herd_clients_expired_total", "counter",
	    "Records forgotten for being older than expire_s.");
	FOR_PROCS(i, p)
		mx_printf(x, "herd_clients_expired_total{server=\"%s\"} %llu\n",
		    p->name, metrics_sum(p, NOTIFY_C_EXPIRED));
	mx_family(x, "herd_connections_refused_total", "counter",
	    "Client connections closed at once, by the limit reached.");
	FOR_PROCS(i, p)
		for (j = 0; j < sizeof(conn_refusals) /
		    sizeof(conn_refusals[0]); j++)
			mx_printf(x, "herd_connections_refused_total{server="
			    "\"%s\",reason=\"%s\"} %llu\n", p->name,
			    conn_refusals[j].reason,
			    metrics_sum(p, conn_refusals[j].c));
}

static void
mx_places(struct mx *x)
{
	static const struct {
		const char	*label;
		enum notify_ctr	 c;
	} outcomes[] = {
		{ "ok", NOTIFY_C_PL_OK }, { "error", NOTIFY_C_PL_ERROR },
		{ "timeout", NOTIFY_C_PL_TIMEOUT },
		{ "cancelled", NOTIFY_C_PL_CANCEL },
	};
	const char	*backend = conf_backend_name(proc_conf->places.backend);
	struct proc	*p;
	unsigned long long cum;
	size_t		 i, j;

	mx_family(x, "herd_places_requests_total", "counter",
	    "Places lookups of WHATSAT, by backend and outcome.");
	FOR_PROCS(i, p)
		for (j = 0; j < sizeof(outcomes) / sizeof(outcomes[0]); j++)
			mx_printf(x, "herd_places_requests_total{server=\"%s\","
			    "backend=\"%s\",status=\"%s\"} %llu\n", p->name,
			    backend, outcomes[j].label,
			    metrics_sum(p, outcomes[j].c));
	mx_family(x, "herd_places_seconds", "histogram",
	    "How long Places lookups took.");
	FOR_PROCS(i, p) {
		cum = 0;
		for (j = 0; j < NOTIFY_HIST_N; j++) {
			cum += p->hist_base[j] + p->hist_cur[j];
			if (j < NOTIFY_HIST_N - 1)
				mx_printf(x, "herd_places_seconds_bucket{server="
				    "\"%s\",le=\"%g\"} %llu\n", p->name,
				    notify_hist_le[j], cum);
			else
				mx_printf(x, "herd_places_seconds_bucket{server="
				    "\"%s\",le=\"+Inf\"} %llu\n", p->name, cum);
		}
		mx_printf(x, "herd_places_seconds_sum{server=\"%s\"} %.6f\n",
		    p->name, metrics_sum(p, NOTIFY_C_PL_USEC) / 1e6);
		mx_printf(x, "herd_places_seconds_count{server=\"%s\"} %llu\n",
		    p->name, cum);
	}
}

char *
metrics_text(size_t *lenp)
{
	struct mx	 x;

	memset(&x, 0, sizeof(x));
	mx_worker(&x);
	mx_links(&x);
	mx_traffic(&x);
	mx_limits(&x);
	mx_places(&x);
	if (x.oom || outbuf_add(&x.ob, "", 1) == -1) {	/* NUL-ended */
		outbuf_free(&x.ob);
		return NULL;
	}
	*lenp = x.ob.len - x.ob.off - 1;
	if (x.ob.off > 0)
		memmove(x.ob.buf, x.ob.buf + x.ob.off, *lenp + 1);
	return x.ob.buf;
}
