/*
 * proc_ctl.c -- the control verbs about workers and their JSON: status,
 * start, stop, restart (which answer once done), kill.
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
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "control.h"
#include "log.h"
#include "proc_int.h"

/*
 * A start, stop or restart waiting for its workers: done when each has
 * got where it was sent (or can no longer get there), or at its deadline.
 */
struct proc_wait {
	struct proc_wait	*next;
	struct control_req	*req;
	enum control_verb	 verb;
	size_t			 n;
	char		       (*names)[HERD_NAME_MAX + 1];
	unsigned int		*spawns;	/* each one's, when asked */
	ev_timer		 deadline_w;
};

static struct proc_wait	*proc_waits;
static ev_timer		 proc_wait_check_w;

/* The configured neighbours of server name, as "neighbors". */
static void
proc_json_neighbors(struct json_object *o, const char *name)
{
	const struct herd_server	*s = conf_server(proc_conf, name);
	struct json_object		*a = json_object_new_array();
	size_t				 i;

	for (i = 0; s != NULL && i < s->nneighbors; i++)
		json_object_array_add(a, json_object_new_string(
		    proc_conf->servers[s->neighbors[i]].name));
	json_object_object_add(o, "neighbors", a);
}

/* key: the names of a comma-separated list, as an array. */
static void
proc_json_list(struct json_object *o, const char *key, const char *list)
{
	struct json_object	*a = json_object_new_array();
	char			 buf[NOTIFY_LIST_MAX], *w, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save))
		json_object_array_add(a, json_object_new_string(w));
	json_object_object_add(o, key, a);
}

/*
 * key: a keys list (notify.h) as an object, each neighbour's name to the
 * key its link uses; null when the worker did not say (said 0).
 */
static void
proc_json_keys(struct json_object *o, const char *key, const char *list,
    int said)
{
	struct json_object	*k;
	char			 name[NOTIFY_NAME_MAX + 1];
	char			 kname[NOTIFY_KEY_MAX + 1];

	if (!said) {
		json_object_object_add(o, key, NULL);
		return;
	}
	k = json_object_new_object();
	while (notify_keys_next(&list, name, kname))
		json_object_object_add(k, name, json_object_new_string(kname));
	json_object_object_add(o, key, k);
}

static struct json_object *
proc_json(struct proc *p)
{
	struct json_object	*o;
	ev_tstamp		 now = ev_now(EV_DEFAULT);
	char			 desc[64], buf[NOTIFY_LIST_MAX];
	long			 ms;

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "state",
	    json_object_new_string(proc_state_name(p->state)));
	json_object_object_add(o, "host", json_object_new_string(p->host));
	json_object_object_add(o, "pid",
	    p->pid ? json_object_new_int64(p->pid) : NULL);
	json_object_object_add(o, "restarts",
	    json_object_new_int64(p->restarts));
	json_object_object_add(o, "uptime_s", p->pid ?
	    json_object_new_int64((int64_t)(now - p->spawned)) : NULL);
	proc_exit_desc(p->last_status, desc, sizeof(desc));
	json_object_object_add(o, "last_exit",
	    desc[0] ? json_object_new_string(desc) : NULL);
	json_object_object_add(o, "reason", p->reason[0] ?
	    json_object_new_string(p->reason) : NULL);
	if (p->state == PROC_BACKOFF) {
		ms = (long)((p->next_start - now) * 1000.0 + 0.5);
		json_object_object_add(o, "next_start_ms",
		    json_object_new_int64(ms < 0 ? 0 : ms));
	}
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "peer_port",
	    json_object_new_int(p->peer_port));
	json_object_object_add(o, "tls_port", p->tls_port != 0 ?
	    json_object_new_int(p->tls_port) : NULL);
	proc_json_neighbors(o, p->name);
	metrics_json(p, o);
	if (strcmp(proc_conf->log_dir, "-") == 0)
		json_object_object_add(o, "log", NULL);
	else {
		snprintf(buf, sizeof(buf), "%s/%s.log", proc_conf->log_dir,
		    p->name);
		json_object_object_add(o, "log", json_object_new_string(buf));
	}
	if (!p->have_stats) {
		json_object_object_add(o, "clients", NULL);
		json_object_object_add(o, "conns", NULL);
		json_object_object_add(o, "links", NULL);
		json_object_object_add(o, "eager", NULL);
		json_object_object_add(o, "keys", NULL);
		json_object_object_add(o, "keys_in", NULL);
		json_object_object_add(o, "journal", NULL);
		return o;
	}
	json_object_object_add(o, "clients",
	    json_object_new_int64((int64_t)p->clients));
	json_object_object_add(o, "conns",
	    json_object_new_int64((int64_t)p->conns));
	proc_json_list(o, "links", p->links);
	proc_json_list(o, "eager", p->eager);
	proc_json_keys(o, "keys", p->keys, p->have_keys & NOTIFY_F_KEYS);
	proc_json_keys(o, "keys_in", p->keys_in,
	    p->have_keys & NOTIFY_F_KEYS_IN);
	json_object_object_add(o, "journal", p->journal[0] != '\0' ?
	    json_object_new_string(p->journal) : NULL);
	return o;
}

/* A server of the configuration that is not run here: a status row. */
static struct json_object *
proc_json_remote(const struct herd_server *s)
{
	struct json_object	*o;
	static const char	*none[] = { "pid", "restarts", "uptime_s",
				    "last_exit", "reason", "log", "clients",
				    "conns", "links", "eager", "keys",
				    "keys_in", "journal" };
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "state", json_object_new_string("remote"));
	json_object_object_add(o, "host", json_object_new_string(s->host));
	json_object_object_add(o, "port", json_object_new_int(s->port));
	json_object_object_add(o, "peer_port",
	    json_object_new_int(s->peer_port));
	json_object_object_add(o, "tls_port", s->tls_port != 0 ?
	    json_object_new_int(s->tls_port) : NULL);
	proc_json_neighbors(o, s->name);
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		json_object_object_add(o, none[i], NULL);
	return o;
}

/* The server named name when it is in the configuration but not run here. */
static const struct herd_server *
proc_remote(const char *name)
{
	const struct herd_server	*s;

	if (proc_conf == NULL || (s = conf_server(proc_conf, name)) == NULL ||
	    proc_runs_here(s))
		return NULL;
	return s;
}

static struct proc *
proc_lookup(const char *name, char *err, size_t errlen)
{
	const struct herd_server	*s;
	struct proc			*p;

	if ((p = proc_find(name)) != NULL)
		return p;
	if ((s = proc_remote(name)) != NULL) {
		if (proc_chosen)
			snprintf(err, errlen, "%s is not run by this herdd "
			    "(not named with -s); its host is %s", name,
			    s->host);
		else
			snprintf(err, errlen, "%s runs on another machine (%s)",
			    name, s->host);
	} else
		snprintf(err, errlen, "unknown node \"%s\"", name);
	return NULL;
}

static struct json_object *
proc_ok(void)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static struct json_object *
proc_status(const struct control_cmd *cmd)
{
	const struct herd_server	*s;
	struct json_object		*nodes, *res;
	struct proc			*p;
	char				 err[640];
	size_t				 i;

	nodes = json_object_new_array();
	for (i = 0; i < cmd->nnames; i++) {
		if ((s = proc_remote(cmd->names[i])) != NULL)
			json_object_array_add(nodes, proc_json_remote(s));
		else if ((p = proc_lookup(cmd->names[i], err, sizeof(err)))
		    != NULL)
			json_object_array_add(nodes, proc_json(p));
		else {
			json_object_put(nodes);
			return control_error(err);
		}
	}
	/* the whole herd in the order of the file, leaving workers last */
	for (i = 0; cmd->nnames == 0 && i < proc_conf->nservers; i++) {
		s = &proc_conf->servers[i];
		if ((p = proc_find(s->name)) != NULL)
			json_object_array_add(nodes, proc_json(p));
		else if (!proc_runs_here(s))
			json_object_array_add(nodes, proc_json_remote(s));
	}
	for (i = 0; cmd->nnames == 0 && i < proc_n; i++)
		if (proc_leaving(proc_table[i]))
			json_object_array_add(nodes, proc_json(proc_table[i]));
	res = proc_ok();
	json_object_object_add(res, "nodes", nodes);
	return res;
}

/* 1 when worker p, asked for verb when it had spawned spawns, is done. */
static int
proc_wait_done(const struct proc *p, enum control_verb verb,
    unsigned int spawns)
{
	switch (verb) {
	case CONTROL_STOP:
		return p->pid == 0 && p->state != PROC_STOPPING;
	case CONTROL_RESTART:
		if (p->spawns <= spawns)
			return p->state == PROC_FAILED ||
			    p->state == PROC_STOPPED;
		/* FALLTHROUGH */
	default:
		return p->state == PROC_RUNNING || p->state == PROC_FAILED ||
		    p->state == PROC_STOPPED || p->state == PROC_UNRESPONSIVE;
	}
}

/* The reply of a start, stop or restart: each worker as it is now. */
static struct json_object *
proc_wait_reply(struct proc_wait *w, int timed_out)
{
	struct json_object	*res = proc_ok(), *nodes, *o;
	struct proc		*p;
	size_t			 i;
	int			 done;

	nodes = json_object_new_array();
	for (i = 0; i < w->n; i++) {
		if ((p = proc_find(w->names[i])) == NULL)
			continue;
		o = proc_json(p);
		done = proc_wait_done(p, w->verb, w->spawns[i]);
		/* got there: running for a start, stopped for a stop */
		json_object_object_add(o, "done", json_object_new_boolean(
		    done && (w->verb == CONTROL_STOP ? p->state ==
		    PROC_STOPPED : proc_up(p))));
		json_object_array_add(nodes, o);
	}
	json_object_object_add(res, "nodes", nodes);
	json_object_object_add(res, "timed_out",
	    json_object_new_boolean(timed_out));
	return res;
}

static void
proc_wait_free(struct proc_wait *w)
{
	struct proc_wait	**pp;

	for (pp = &proc_waits; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	ev_timer_stop(EV_DEFAULT_ &w->deadline_w);
	free(w->names);
	free(w->spawns);
	free(w);
}

static void
proc_wait_deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct proc_wait	*w = t->data;

	(void)loop;
	(void)revents;
	control_answer(w->req, proc_wait_reply(w, 1));
	proc_wait_free(w);
}

static void
proc_wait_check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct proc_wait	*w, *next;
	struct proc		*p;
	size_t			 i;

	(void)loop;
	(void)t;
	(void)revents;
	for (w = proc_waits; w != NULL; w = next) {
		next = w->next;
		for (i = 0; i < w->n; i++)
			if ((p = proc_find(w->names[i])) != NULL &&
			    !proc_wait_done(p, w->verb, w->spawns[i]))
				break;
		if (i < w->n)
			continue;
		control_answer(w->req, proc_wait_reply(w, 0));
		proc_wait_free(w);
	}
}

static void
proc_ctl_changed(void)
{
	if (proc_waits == NULL || ev_is_active(&proc_wait_check_w))
		return;
	ev_timer_init(&proc_wait_check_w, proc_wait_check_cb, 0., 0.);
	ev_timer_start(EV_DEFAULT_ &proc_wait_check_w);
}

static void
proc_ctl_abort(void)
{
	ev_timer_stop(EV_DEFAULT_ &proc_wait_check_w);
	while (proc_waits != NULL) {
		control_answer(proc_waits->req, control_error("herdd is "
		    "shutting down"));
		proc_wait_free(proc_waits);
	}
}

static const struct proc_observer proc_ctl_observer = {
	.changed = proc_ctl_changed,
	.abort = proc_ctl_abort,
};

void
proc_ctl_init(void)
{
	proc_observe(&proc_ctl_observer);
}

/* Do verb to p (start, stop or restart). */
static void
proc_do(struct proc *p, enum control_verb verb)
{
	switch (verb) {
	case CONTROL_START:
		switch (p->state) {
		case PROC_STOPPED:
		case PROC_FAILED:
		case PROC_BACKOFF:
			log_notice("%s: start requested", p->name);
			proc_forgive(p);
			proc_spawn(p);
			break;
		case PROC_STOPPING:
			p->want = PROC_WANT_START;
			break;
		default:
			break;
		}
		break;
	case CONTROL_STOP:
		log_notice("%s: stop requested", p->name);
		p->reload_start = 0;
		proc_stop(p, PROC_WANT_STOP);
		break;
	default:
		log_notice("%s: restart requested", p->name);
		proc_forgive(p);
		proc_stop(p, PROC_WANT_START);
		break;
	}
}

/* start, stop, restart: NAME ... or all; answered once done. */
static struct json_object *
proc_ctl_many(const struct control_cmd *cmd, struct control_req *req)
{
	struct proc_wait	*w;
	struct proc		**ps;
	char			 err[640];
	size_t			 i, n = cmd->all ? proc_n : cmd->nnames;
	double			 limit;

	if (proc_shutting && cmd->verb != CONTROL_STOP)
		return control_error("herdd is shutting down");
	if ((ps = calloc(n ? n : 1, sizeof(*ps))) == NULL)
		return control_error("out of memory");
	for (i = 0; i < n; i++)
		if (cmd->all)
			ps[i] = proc_table[i];
		else if ((ps[i] = proc_lookup(cmd->names[i], err,
		    sizeof(err))) == NULL) {
			free(ps);
			return control_error(err);
		}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->names = calloc(n ? n : 1, sizeof(*w->names))) == NULL ||
	    (w->spawns = calloc(n ? n : 1, sizeof(*w->spawns))) == NULL) {
		if (w != NULL)
			free(w->names);
		free(w);
		free(ps);
		return control_error("out of memory");
	}
	w->verb = cmd->verb;
	w->n = n;
	for (i = 0; i < n; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "%s", ps[i]->name);
		w->spawns[i] = ps[i]->spawns;
	}
	for (i = 0; i < n; i++)
		if (!proc_leaving(ps[i]))
			proc_do(ps[i], cmd->verb);
	free(ps);
	if (cmd->nowait) {		/* what was done, not waited for */
		struct json_object *res = proc_wait_reply(w, 0);

		json_object_object_add(res, "waiting",
		    json_object_new_boolean(1));
		proc_wait_free(w);
		return res;
	}
	w->req = req;
	w->next = proc_waits;
	proc_waits = w;
	limit = (proc_conf->stop_timeout_ms + proc_conf->ready_timeout_ms) /
	    1000.0 + 1.0;
	ev_timer_init(&w->deadline_w, proc_wait_deadline_cb, limit, 0.);
	w->deadline_w.data = w;
	ev_timer_start(EV_DEFAULT_ &w->deadline_w);
	proc_ctl_changed();
	return NULL;
}

static struct json_object *
proc_ctl_kill(const struct control_cmd *cmd)
{
	struct json_object	*res;
	struct proc		*p;
	char			 err[640];

	if ((p = proc_lookup(cmd->names[0], err, sizeof(err))) == NULL)
		return control_error(err);
	if (p->pid == 0) {
		snprintf(err, sizeof(err), "%s is not running (%s)", p->name,
		    proc_state_name(p->state));
		return control_error(err);
	}
	if (kill(p->pid, cmd->signo) == -1) {
		snprintf(err, sizeof(err), "kill %ld: %s", (long)p->pid,
		    strerror(errno));
		return control_error(err);
	}
	p->by_request = 1;		/* its end is not its failure */
	log_notice("%s: sent signal %d to pid %ld on request", p->name,
	    cmd->signo, (long)p->pid);
	res = proc_ok();
	json_object_object_add(res, "node", json_object_new_string(p->name));
	json_object_object_add(res, "state",
	    json_object_new_string(proc_state_name(p->state)));
	json_object_object_add(res, "pid", json_object_new_int64(p->pid));
	json_object_object_add(res, "signal", json_object_new_int(cmd->signo));
	return res;
}

struct json_object *
proc_ctl(const struct control_cmd *cmd, struct control_req *req)
{
	switch (cmd->verb) {
	case CONTROL_STATUS:
		return proc_status(cmd);
	case CONTROL_START:
	case CONTROL_STOP:
	case CONTROL_RESTART:
		return proc_ctl_many(cmd, req);
	case CONTROL_KILL:
		return proc_ctl_kill(cmd);
	default:
		return control_error("not a command about workers");
	}
}
