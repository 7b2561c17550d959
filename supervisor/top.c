/*
 * top.c -- herdctl top: a live view of the herd, one frame a second (or
 * every -d seconds), as redis-cli --stat and top(1) are: per server its
 * state, clients, connections, commands and updates per second over the
 * last interval, links up of those configured, and the 99th percentile of
 * its Places lookups in the interval (interpolated in the buckets of its
 * histogram, as Prometheus's histogram_quantile() is).  On a terminal each
 * frame replaces the last; otherwise frames follow each other, so -n 3 >
 * file keeps three.  Rates need two samples: the first frame comes after
 * one interval.
 */
#include <err.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "ctlclient.h"
#include "herdctl.h"
#include "notify.h"

#define TOP_NODES_MAX	4096

/* One server's figures in one sample. */
struct top_row {
	char			 name[HERD_NAME_MAX + 1];
	char			 state[16];
	long long		 clients, conns;	/* -1: unknown */
	long long		 links, nbrs;
	unsigned long long	 cmds, upds;
	unsigned long long	 hist[NOTIFY_HIST_N];	/* cumulative */
	int			 counted;	/* it has counters */
};

struct top_sample {
	struct top_row	*rows;
	size_t		 n;
	double		 at;		/* CLOCK_MONOTONIC, seconds */
};

static volatile sig_atomic_t top_stop;

static void
top_sigint(int sig)
{
	(void)sig;
	top_stop = 1;
}

static double
top_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long
top_int(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return -1;
	return (long long)json_object_get_int64(v);
}

static unsigned long long
top_ctr(struct json_object *c, const char *key)
{
	long long	 v = top_int(c, key);

	return v < 0 ? 0 : (unsigned long long)v;
}

static size_t
top_len(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_array))
		return 0;
	return json_object_array_length(v);
}

/* Ask herdd for its status and keep what top shows. */
static void
top_take(const char *sock, struct top_sample *s)
{
	struct json_object	*reply, *nodes, *n, *c, *h, *v;
	struct top_row		*r;
	const char		*str;
	size_t			 i, j, count;

	reply = ctlclient_ask(sock, "status\n");
	s->at = top_now();
	if (!json_object_object_get_ex(reply, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		errx(1, "%s: not a status reply", sock);
	count = json_object_array_length(nodes);
	if (count > TOP_NODES_MAX)
		count = TOP_NODES_MAX;
	if ((s->rows = calloc(count ? count : 1, sizeof(*s->rows))) == NULL)
		err(1, "calloc");
	s->n = count;
	for (i = 0; i < count; i++) {
		n = json_object_array_get_idx(nodes, i);
		r = &s->rows[i];
		if (json_object_object_get_ex(n, "name", &v) && v != NULL)
			snprintf(r->name, sizeof(r->name), "%s",
			    json_object_get_string(v));
		str = json_object_object_get_ex(n, "state", &v) && v != NULL ?
		    json_object_get_string(v) : "?";
		snprintf(r->state, sizeof(r->state), "%s", str);
		r->clients = top_int(n, "clients");
		r->conns = top_int(n, "conns");
		r->links = json_object_object_get_ex(n, "links", &v) &&
		    v != NULL ? (long long)top_len(n, "links") : -1;
		r->nbrs = (long long)top_len(n, "neighbors");
		if (!json_object_object_get_ex(n, "counters", &c) || c == NULL)
			continue;
		r->counted = 1;
		r->cmds = top_ctr(c, "iamat") + top_ctr(c, "whatsat") +
		    top_ctr(c, "invalid");
		r->upds = top_ctr(c, "upd_client") + top_ctr(c, "upd_peer");
		if (json_object_object_get_ex(c, "pl_hist", &h) &&
		    json_object_is_type(h, json_type_array) &&
		    json_object_array_length(h) == NOTIFY_HIST_N)
			for (j = 0; j < NOTIFY_HIST_N; j++)
				r->hist[j] = (unsigned long long)
				    json_object_get_int64(
				    json_object_array_get_idx(h, j));
	}
	json_object_put(reply);
}

/*
 * The q quantile of the lookups between two cumulative histograms, in
 * seconds: -1 when there were none, INFINITY past the last bound.
 */
static double
top_quantile(const unsigned long long *was, const unsigned long long *now,
    double q)
{
	double		 total, rank, lo, below, in;
	size_t		 i;

	total = (double)(now[NOTIFY_HIST_N - 1] - was[NOTIFY_HIST_N - 1]);
	if (total <= 0)
		return -1;
	rank = q * total;
	for (i = 0; i < NOTIFY_HIST_N - 1; i++)
		if ((double)(now[i] - was[i]) >= rank)
			break;
	if (i == NOTIFY_HIST_N - 1)
		return INFINITY;	/* beyond the last bound */
	lo = i == 0 ? 0 : notify_hist_le[i - 1];
	below = i == 0 ? 0 : (double)(now[i - 1] - was[i - 1]);
	in = (double)(now[i] - was[i]) - below;
	if (in <= 0)
		return notify_hist_le[i];
	return lo + (notify_hist_le[i] - lo) * (rank - below) / in;
}

static const struct top_row *
top_find(const struct top_sample *s, const char *name)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->rows[i].name, name) == 0)
			return &s->rows[i];
	return NULL;
}

/* No counter of r went down since p (herdd restarted, a server re-added). */
static int
top_monotonic(const struct top_row *p, const struct top_row *r)
{
	size_t	 i;

	if (r->cmds < p->cmds || r->upds < p->upds)
		return 0;
	for (i = 0; i < NOTIFY_HIST_N; i++)
		if (r->hist[i] < p->hist[i])
			return 0;
	return 1;
}

static void
top_num(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", v);
}

static void
top_frame(FILE *fp, const struct top_sample *was,
    const struct top_sample *now, int tty)
{
	const struct top_row	*r, *p;
	char			 cl[24], cn[24], cmd[24], upd[24], ln[32];
	char			 p99[24], clock[16];
	double			 dt = now->at - was->at, q, tc = 0, tu = 0;
	time_t			 t = time(NULL);
	size_t			 i, up = 0;
	int			 w = 4;

	for (i = 0; i < now->n; i++) {
		if ((int)strlen(now->rows[i].name) > w)
			w = (int)strlen(now->rows[i].name);
		up += strcmp(now->rows[i].state, "running") == 0;
	}
	if (dt <= 0)
		dt = 1;
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&t));
	if (tty)
		fputs("\033[H\033[2J", fp);
	fprintf(fp, "herd: %zu of %zu running, %s, every %.1f s\n\n", up,
	    now->n, clock, dt);
	fprintf(fp, "%-*s  %-12s %8s %6s %9s %9s %7s %10s\n", w, "NAME",
	    "STATE", "CLIENTS", "CONNS", "CMDS/S", "UPDS/S", "LINKS",
	    "PLACES P99");
	for (i = 0; i < now->n; i++) {
		r = &now->rows[i];
		p = top_find(was, r->name);
		top_num(cl, sizeof(cl), r->clients);
		top_num(cn, sizeof(cn), r->conns);
		snprintf(cmd, sizeof(cmd), "-");
		snprintf(upd, sizeof(upd), "-");
		snprintf(p99, sizeof(p99), "-");
		if (r->counted && p != NULL && p->counted &&
		    top_monotonic(p, r)) {
			snprintf(cmd, sizeof(cmd), "%.0f",
			    (r->cmds - p->cmds) / dt);
			snprintf(upd, sizeof(upd), "%.0f",
			    (r->upds - p->upds) / dt);
			tc += (r->cmds - p->cmds) / dt;
			tu += (r->upds - p->upds) / dt;
			if ((q = top_quantile(p->hist, r->hist, 0.99)) ==
			    INFINITY)
				snprintf(p99, sizeof(p99), ">%gs",
				    notify_hist_le[NOTIFY_HIST_N - 2]);
			else if (q >= 0)
				snprintf(p99, sizeof(p99), "%.2fms", q * 1e3);
		}
		if (r->links < 0)
			snprintf(ln, sizeof(ln), "-/%lld", r->nbrs);
		else
			snprintf(ln, sizeof(ln), "%lld/%lld", r->links,
			    r->nbrs);
		fprintf(fp, "%-*s  %-12s %8s %6s %9s %9s %7s %10s\n", w,
		    r->name, r->state, cl, cn, cmd, upd, ln, p99);
	}
	fprintf(fp, "\n%-*s  %-12s %8s %6s %9.0f %9.0f\n", w, "all", "", "",
	    "", tc, tu);
	if (!tty)
		fputc('\n', fp);
	if (fflush(fp) == EOF)
		err(1, "stdout");
}

int
top_main(int argc, char *argv[], const char *sock)
{
	struct top_sample	 a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	char			*end;
	double			 every = 1.0, next, rem;
	long			 count = -1, shown = 0;
	int			 ch, tty = isatty(STDOUT_FILENO);

	optind = 1;
	while ((ch = getopt(argc, argv, "d:n:")) != -1) {
		switch (ch) {
		case 'd':
			every = strtod(optarg, &end);
			if (*end != '\0' || !(every >= 0.1 && every <= 3600))
				errx(HERD_EXIT_USAGE, "-d %s: seconds from 0.1 "
				    "to 3600", optarg);
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > 1000000)
				errx(HERD_EXIT_USAGE, "-n %s: a number of "
				    "frames", optarg);
			break;
		default:
			errx(HERD_EXIT_USAGE, "usage: herdctl top [-n count] "
			    "[-d seconds]");
		}
	}
	if (optind != argc)
		errx(HERD_EXIT_USAGE, "usage: herdctl top [-n count] "
		    "[-d seconds]");
	signal(SIGINT, top_sigint);
	signal(SIGTERM, top_sigint);
	top_take(sock, &a);
	next = a.at;
	while (!top_stop && (count < 0 || shown < count)) {
		next += every;
		while (!top_stop && (rem = next - top_now()) > 0)
			usleep((useconds_t)(rem * 1e6) + 1000);
		if (top_stop)
			break;
		top_take(sock, &b);
		top_frame(stdout, &a, &b, tty);
		shown++;
		free(a.rows);
		a = b;
		b.rows = NULL;
	}
	free(a.rows);
	return 0;
}
