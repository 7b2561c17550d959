/*
 * proc.c -- herdd's worker table: the workers, their states, every change
 * of state logged once and told to the observers (proc_int.h), and the
 * lookups the other proc_*.c files share.  The table's floor: it calls
 * none of them.
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
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "conf.h"
#include "log.h"
#include "proc_int.h"
#include "sdnotify.h"

#define PROC_OBSERVERS_MAX	4

static void	 proc_herd_up(void);

struct proc	**proc_table;
size_t		  proc_n;
struct herd_conf *proc_conf;
unsigned char	 *proc_run;
int		  proc_chosen;
char		  proc_node[HERD_PATH_MAX];
int		  proc_shutting;
ev_tstamp	  proc_started;

static int		  proc_up_said;	/* "herd up" told, once */
static const struct proc_observer *proc_observers[PROC_OBSERVERS_MAX];
static size_t		  proc_nobservers;

const char *
proc_state_name(enum proc_state state)
{
	switch (state) {
	case PROC_STARTING:
		return "starting";
	case PROC_RUNNING:
		return "running";
	case PROC_UNRESPONSIVE:
		return "unresponsive";
	case PROC_BACKOFF:
		return "backoff";
	case PROC_STOPPING:
		return "stopping";
	case PROC_STOPPED:
		return "stopped";
	case PROC_FAILED:
		return "failed";
	}
	return "unknown";
}

void
proc_exit_desc(int status, char *buf, size_t len)
{
	if (status == -1)
		buf[0] = '\0';
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "status %d", status);
}

/* How many workers are up, for the service manager's status line. */
static void
proc_sd_status(void)
{
	size_t	 i, up = 0;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->state == PROC_RUNNING)
			up++;
	sdnotify_send("STATUS=%zu of %zu servers running", up, proc_n);
}

/* Every state change goes through here, and is logged here, once. */
void
proc_set_state(struct proc *p, enum proc_state state, const char *why)
{
	if (p->state == state)
		return;
	p->state = state;
	if (state == PROC_BACKOFF || state == PROC_FAILED ||
	    state == PROC_UNRESPONSIVE ||
	    (state == PROC_STARTING && p->crashes > 0))
		log_warnx("%s: %s%s%s", p->name, proc_state_name(state),
		    why[0] ? ": " : "", why);
	else
		log_notice("%s: %s%s%s", p->name, proc_state_name(state),
		    why[0] ? ": " : "", why);
	if (state == PROC_RUNNING && !proc_up_said)
		proc_herd_up();
	proc_sd_status();
	proc_tell_changed();
}

/*
 * Every worker of this machine is running for the first time: say so once,
 * on standard error too, for the person who started herdd, and to the
 * service manager.
 */
static void
proc_herd_up(void)
{
	double	 ms;
	size_t	 i;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->state != PROC_RUNNING)
			return;
	proc_up_said = 1;
	ms = (ev_now(EV_DEFAULT) - proc_started) * 1000.0;
	log_notice("herd up: %zu server%s ready in %.0f ms", proc_n,
	    proc_n == 1 ? "" : "s", ms);
	fprintf(stderr, "herdd: herd up: %zu server%s ready in %.0f ms\n",
	    proc_n, proc_n == 1 ? "" : "s", ms);
	sdnotify_send("READY=1");
}

int
proc_up(const struct proc *p)
{
	return p->state == PROC_RUNNING || p->state == PROC_UNRESPONSIVE;
}

const struct herd_conf *
proc_config(void)
{
	return proc_conf;
}

int
proc_in_list(const char *list, const char *name)
{
	size_t	 n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* A worker on its way out of the table (reload) is not found. */
int
proc_leaving(const struct proc *p)
{
	return p->state == PROC_STOPPING && p->want == PROC_WANT_REMOVE;
}

struct proc *
proc_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < proc_n; i++)
		if (strcmp(proc_table[i]->name, name) == 0 &&
		    !proc_leaving(proc_table[i]))
			return proc_table[i];
	return NULL;
}

unsigned char *
proc_run_copy(const struct herd_conf *cf, const unsigned char *run)
{
	unsigned char	*r;

	if ((r = calloc(cf->nservers ? cf->nservers : 1, 1)) == NULL)
		fatal("calloc");
	memcpy(r, run, cf->nservers);
	return r;
}

int
proc_runs_here(const struct herd_server *s)
{
	return proc_run[s - proc_conf->servers] != 0;
}

void
proc_forgive(struct proc *p)
{
	p->crashes = 0;
	p->ncrash = 0;
	p->kills = 0;
}

void
proc_observe(const struct proc_observer *o)
{
	if (proc_nobservers == PROC_OBSERVERS_MAX)
		fatalx("proc_observe: too many observers");
	proc_observers[proc_nobservers++] = o;
}

void
proc_tell_changed(void)
{
	size_t	 i;

	for (i = 0; i < proc_nobservers; i++)
		if (proc_observers[i]->changed != NULL)
			proc_observers[i]->changed();
}

void
proc_tell_stopped(struct proc *p)
{
	size_t	 i;

	for (i = 0; i < proc_nobservers; i++)
		if (proc_observers[i]->stopped != NULL)
			proc_observers[i]->stopped(p);
}

void
proc_tell_abort(void)
{
	size_t	 i;

	for (i = 0; i < proc_nobservers; i++)
		if (proc_observers[i]->abort != NULL)
			proc_observers[i]->abort();
}
