/*
 * proc_reload.c -- a new configuration applied to the worker table: the
 * diff, and a rolling restart of the servers that changed, one at a time,
 * each after the one before is ready and caught up by its neighbours.
 *
 * Copyright (c) 2026 The herd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "conf_tls.h"
#include "control.h"
#include "log.h"
#include "proc_int.h"
#include "sdnotify.h"

/*
 * One reload at a time.  Its steps, each once the one before is done:
 *	1. removed servers are gone (and servers stopping anyway);
 *	2. added servers, and failed or backing-off ones, are started;
 *	3. each changed, running server is restarted in turn: stopped,
 *	   started, and waited for until it runs and every running
 *	   neighbour has caught it up (or stop_timeout_ms + 2 x
 *	   ready_timeout_ms have passed).  One that fails halts the roll.
 *	4. the reply, with what happened.
 */
static struct {
	int			 active;
	unsigned int		 pending;	/* step 1: processes to go */
	int			 settled;	/* step 2 done */
	char		       (*queue)[HERD_NAME_MAX + 1];	/* step 3 */
	size_t			 nqueue, next;
	char			 cur[HERD_NAME_MAX + 1];	/* "" */
	unsigned int		 cur_spawns;	/* its spawns when stopped */
	ev_tstamp		 cur_since;
	int			 halted;
	struct json_object	*result;
	struct json_object	*restarted;	/* names, as done */
	struct control_req	*req;		/* answer when done, or NULL */
	ev_timer		 check_w;	/* look again, from the loop */
	ev_timer		 deadline_w;	/* the roll's current server */
} rl;

static void	 proc_reload_check(void);

static void
proc_reload_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	proc_reload_check();
}

/* Look again soon, outside whatever callback we are in. */
static void
proc_reload_poke(void)
{
	if (!rl.active || ev_is_active(&rl.check_w))
		return;
	ev_timer_set(&rl.check_w, 0., 0.);
	ev_timer_start(EV_DEFAULT_ &rl.check_w);
}

static void
proc_reload_changed(void)
{
	proc_reload_poke();
}

static void
proc_reload_stopped(struct proc *p)
{
	if (p->reload_stop) {
		p->reload_stop = 0;
		rl.pending--;
	}
	proc_reload_poke();
}


/* 1 when every running neighbour of p has caught p up. */
static int
proc_caught_up(const struct proc *p)
{
	const struct herd_server	*s;
	const struct proc		*q;
	size_t				 i;

	if (!proc_up(p) || (s = conf_server(proc_conf, p->name)) == NULL)
		return 0;
	for (i = 0; i < s->nneighbors; i++) {
		q = proc_find(proc_conf->servers[s->neighbors[i]].name);
		if (q != NULL && proc_up(q) && !proc_in_list(p->synced, q->name))
			return 0;
	}
	return 1;
}

static void
proc_reload_finish(void)
{
	struct json_object	*res = rl.result;

	ev_timer_stop(EV_DEFAULT_ &rl.check_w);
	ev_timer_stop(EV_DEFAULT_ &rl.deadline_w);
	json_object_object_add(res, "restarted", rl.restarted);
	if (rl.halted)
		json_object_object_add(res, "halted",
		    json_object_new_string(rl.cur));
	rl.restarted = NULL;
	rl.result = NULL;
	free(rl.queue);
	rl.queue = NULL;
	rl.nqueue = rl.next = 0;
	rl.cur[0] = '\0';
	rl.active = 0;
	log_notice("reload done%s", rl.halted ? " (the roll halted)" : "");
	sdnotify_send("READY=1");
	if (rl.req != NULL)
		control_answer(rl.req, res);
	else
		json_object_put(res);
	rl.req = NULL;
}

/* The roll's next server: stop it, to start again. */
static void
proc_roll_next(void)
{
	struct proc	*p;

	while (rl.next < rl.nqueue) {
		p = proc_find(rl.queue[rl.next++]);
		if (p == NULL || !proc_up(p))
			continue;	/* it went down meanwhile: it starts anew */
		snprintf(rl.cur, sizeof(rl.cur), "%s", p->name);
		rl.cur_spawns = p->spawns;
		rl.cur_since = ev_now(EV_DEFAULT);
		log_notice("%s: restarting for its new configuration (%zu of "
		    "%zu)", p->name, rl.next, rl.nqueue);
		ev_timer_set(&rl.deadline_w, (proc_conf->stop_timeout_ms +
		    2.0 * proc_conf->ready_timeout_ms) / 1000.0, 0.);
		ev_timer_start(EV_DEFAULT_ &rl.deadline_w);
		proc_stop(p, PROC_WANT_START);
		return;
	}
}

static void
proc_roll_done(const char *name, const char *how)
{
	ev_timer_stop(EV_DEFAULT_ &rl.deadline_w);
	log_notice("%s: %s", name, how);
	json_object_array_add(rl.restarted, json_object_new_string(name));
	rl.cur[0] = '\0';
}

static void
proc_reload_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (rl.cur[0] == '\0')
		return;
	log_warnx("%s: not caught up %.0f ms after its restart; the roll goes "
	    "on", rl.cur, (ev_now(EV_DEFAULT) - rl.cur_since) * 1000.0);
	proc_roll_done(rl.cur, "restarted (not caught up in time)");
	proc_reload_poke();
}

static void
proc_reload_check(void)
{
	struct proc	*p;
	size_t		 i;
	char		 how[64];

	if (!rl.active || proc_shutting)
		return;
	if (rl.pending > 0)
		return;				/* step 1 */
	if (!rl.settled) {			/* step 2 */
		rl.settled = 1;
		for (i = 0; i < proc_n; i++) {
			p = proc_table[i];
			if (!p->reload_start)
				continue;
			p->reload_start = 0;
			if (p->state == PROC_STOPPED ||
			    p->state == PROC_FAILED ||
			    p->state == PROC_BACKOFF) {
				proc_forgive(p);
				proc_spawn(p);
			}
		}
	}
	if (rl.cur[0] != '\0') {		/* step 3 */
		if ((p = proc_find(rl.cur)) == NULL) {
			proc_roll_done(rl.cur, "gone during its restart");
		} else if (p->spawns > rl.cur_spawns &&
		    p->state == PROC_FAILED) {
			log_warnx("%s: failed after its restart; the roll halts "
			    "(%zu not restarted)", p->name, rl.nqueue - rl.next);
			rl.halted = 1;
			ev_timer_stop(EV_DEFAULT_ &rl.deadline_w);
			proc_reload_finish();
			return;
		} else if (p->spawns > rl.cur_spawns && proc_caught_up(p)) {
			snprintf(how, sizeof(how), "restarted and caught up in "
			    "%.0f ms", (ev_now(EV_DEFAULT) - rl.cur_since) *
			    1000.0);
			proc_roll_done(p->name, how);
		} else
			return;
	}
	proc_roll_next();
	if (rl.cur[0] == '\0')
		proc_reload_finish();		/* step 4 */
}

static void
proc_reload_abort(void)
{
	if (!rl.active)
		return;
	json_object_object_add(rl.result, "aborted",
	    json_object_new_boolean(1));
	rl.halted = 0;
	rl.cur[0] = '\0';
	proc_reload_finish();
}

static const struct proc_observer proc_reload_observer = {
	.changed = proc_reload_changed,
	.stopped = proc_reload_stopped,
	.abort = proc_reload_abort,
};

void
proc_reload_init(void)
{
	proc_observe(&proc_reload_observer);
}

/*
 * The servers that stopped, changed or went must be gone before new ones
 * start: one of those may take over a port.
 */
static void
proc_reload_wait(struct proc *p)
{
	if (p->pid != 0 && !p->reload_stop) {
		p->reload_stop = 1;
		rl.pending++;
	}
}

static void
proc_queue(const char *name)
{
	void	*t;

	if ((t = reallocarray(rl.queue, rl.nqueue + 1, sizeof(*rl.queue)))
	    == NULL)
		fatal("reallocarray");
	rl.queue = t;
	snprintf(rl.queue[rl.nqueue++], sizeof(rl.queue[0]), "%s", name);
}

/* A failed or backing-off worker: start again once step 1 is done. */
static void
proc_again(struct proc *p, struct json_object *started)
{
	ev_timer_stop(EV_DEFAULT_ &p->timer_w);
	proc_forgive(p);
	p->reload_start = 1;
	json_object_array_add(started, json_object_new_string(p->name));
}

int
proc_reload(struct herd_conf *cf, const char *node_path,
    const unsigned char *run, int nowait, struct control_req *req,
    struct json_object **now, char *err, size_t errlen)
{
	struct herd_conf		*old = proc_conf;
	const struct herd_server	*s, *os;
	struct json_object		*added, *removed, *changed, *started;
	struct proc			*p, **order;
	struct timespec			 ts;
	size_t				 i, j, n;
	int				 unchanged = 0;

	if (rl.active) {
		snprintf(err, errlen, "a reload is still under way (%s)",
		    rl.cur[0] ? rl.cur : "waiting for servers to stop");
		return -1;
	}
	memset(&rl, 0, sizeof(rl));
	ev_init(&rl.check_w, proc_reload_check_cb);
	ev_init(&rl.deadline_w, proc_reload_deadline_cb);
	added = json_object_new_array();
	removed = json_object_new_array();
	changed = json_object_new_array();
	started = json_object_new_array();
	snprintf(proc_node, sizeof(proc_node), "%s", node_path);

	/* removed and changed servers */
	for (i = 0; i < proc_n; ) {
		p = proc_table[i];
		if (proc_leaving(p)) {
			i++;
			continue;
		}
		if ((s = conf_server(cf, p->name)) == NULL ||
		    !run[s - cf->servers]) {
			json_object_array_add(removed,
			    json_object_new_string(p->name));
			if (s == NULL)
				log_notice("%s: removed from the configuration",
				    p->name);
			else if (proc_chosen)
				log_notice("%s: no longer run here (-s)",
				    p->name);
			else
				log_notice("%s: now on another machine (%s)",
				    p->name, s->host);
			p->reload_start = 0;
			proc_reload_wait(p);
			proc_stop(p, PROC_WANT_REMOVE);
			if (i < proc_n && proc_table[i] == p)
				i++;
			continue;
		}
		i++;
		os = conf_server(old, p->name);
		if (os != NULL && conf_server_equal(old, os, cf, s)) {
			unchanged++;
			/*
			 * a new log_level, limits, keyring or certificates: a running
			 * worker takes them on HUP (its links up stay up)
			 */
			if ((old->log_level != cf->log_level ||
			    memcmp(&old->limits, &cf->limits,
			    sizeof(cf->limits)) != 0 ||
			    !conf_tls_equal(old, cf)) && p->pid > 0 &&
			    (p->state == PROC_STARTING || proc_up(p)))
				kill(p->pid, SIGHUP);
			if (p->state == PROC_FAILED || p->state == PROC_BACKOFF)
				proc_again(p, started);
			continue;
		}
		json_object_array_add(changed,
		    json_object_new_string(p->name));
		log_notice("%s: configuration changed", p->name);
		snprintf(p->host, sizeof(p->host), "%s", s->host);
		p->port = s->port;
		p->peer_port = s->peer_port;
		p->tls_port = s->tls_port;
		switch (p->state) {
		case PROC_RUNNING:
		case PROC_UNRESPONSIVE:
			proc_queue(p->name);
			break;
		case PROC_STARTING:	/* not serving yet: at once */
			proc_reload_wait(p);
			p->reload_start = 1;
			proc_stop(p, PROC_WANT_STOP);
			break;
		case PROC_BACKOFF:
		case PROC_FAILED:
			proc_again(p, started);
			break;
		case PROC_STOPPING:	/* keeps what it was asked for */
			proc_reload_wait(p);
			break;
		case PROC_STOPPED:	/* stopped by hand: stays down */
			break;
		}
	}

	/* new servers */
	for (i = 0; i < cf->nservers; i++) {
		if (!run[i] || proc_find(cf->servers[i].name) != NULL)
			continue;
		p = proc_new(&cf->servers[i]);
		p->reload_start = 1;
		json_object_array_add(added,
		    json_object_new_string(p->name));
		if (conf_server(old, p->name) == NULL)
			log_notice("%s: added to the configuration", p->name);
		else
			log_notice("%s: now runs here (%s)", p->name, p->host);
	}

	/* the table in the order of the new file, leaving ones at the end */
	if ((order = calloc(proc_n ? proc_n : 1, sizeof(*order))) == NULL)
		fatal("calloc");
	n = 0;
	for (i = 0; i < cf->nservers; i++)
		for (j = 0; j < proc_n; j++)
			if (strcmp(proc_table[j]->name, cf->servers[i].name)
			    == 0 && !proc_leaving(proc_table[j]))
				order[n++] = proc_table[j];
	for (j = 0; j < proc_n; j++)
		if (proc_leaving(proc_table[j]))
			order[n++] = proc_table[j];
	if (n == proc_n)
		memcpy(proc_table, order, n * sizeof(*order));
	free(order);

	proc_conf = cf;
	free(proc_run);
	proc_run = proc_run_copy(cf, run);
	conf_free(old);
	free(old);

	rl.result = json_object_new_object();
	json_object_object_add(rl.result, "ok", json_object_new_boolean(1));
	json_object_object_add(rl.result, "added", added);
	json_object_object_add(rl.result, "removed", removed);
	json_object_object_add(rl.result, "changed", changed);
	json_object_object_add(rl.result, "started", started);
	json_object_object_add(rl.result, "unchanged",
	    json_object_new_int(unchanged));
	rl.restarted = json_object_new_array();
	rl.active = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send("RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	*now = NULL;
	if (nowait) {
		json_object_deep_copy(rl.result, now, NULL);
		json_object_object_add(*now, "waiting",
		    json_object_new_boolean(1));
	} else
		rl.req = req;
	proc_reload_poke();
	return 0;
}
