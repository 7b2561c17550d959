/*
 * proc.c -- herdd's worker table: fork+exec, reaping, backoff.
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
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "notify.h"
#include "proc.h"

enum proc_want {			/* what a stopping worker goes to */
	PROC_WANT_STOP,			/* stopped */
	PROC_WANT_START,		/* a fresh start (restart) */
	PROC_WANT_REMOVE,		/* gone from the table (reload) */
};

struct proc {
	char		 name[HERD_NAME_MAX + 1];
	char		 host[256];	/* from the configuration */
	uint16_t	 port;		/* from the configuration */
	uint16_t	 peer_port;
	enum proc_state	 state;
	enum proc_want	 want;		/* while stopping */
	pid_t		 pid;		/* 0 when no process */
	int		 fd;		/* our end of the notify channel */
	ev_child	 child_w;	/* reaps pid */
	ev_io		 notify_w;	/* READY and STATS */
	ev_timer	 timer_w;	/* ready timeout, backoff, stop grace */
	ev_tstamp	 spawned;	/* ev_now() at fork */
	ev_tstamp	 ready_at;	/* 0 until READY */
	ev_tstamp	 next_start;	/* while backing off */
	unsigned int	 spawns;	/* processes started */
	unsigned int	 restarts;	/* spawns after the first */
	unsigned int	 crashes;	/* consecutive unasked exits */
	int		 healthy_first;	/* the first of them had been ready */
	int		 last_status;	/* wait(2) status; -1 for none */
	int		 reload_stop;	/* counted in proc_reload_pending */
	int		 reload_start;	/* start once a reload has settled */
	int		 bad_notify;	/* logged a bad record already */
	int		 have_stats;	/* STATS seen from this process */
	unsigned long	 clients;	/* clients known */
	unsigned long	 conns;		/* client connections open */
	char		 links[NOTIFY_LINE_MAX];	/* "A,B" */
	char		 journal[16];	/* its journal: off, ok, error */
	char		 buf[NOTIFY_LINE_MAX + 1];	/* partial record */
	size_t		 buflen;
	int		 skipping;	/* inside an over-long record */
};

static void	 proc_spawn(struct proc *);
static void	 proc_stop(struct proc *, enum proc_want);
static void	 proc_after_stop(struct proc *);
static void	 proc_child_cb(struct ev_loop *, ev_child *, int);
static void	 proc_notify_cb(struct ev_loop *, ev_io *, int);
static void	 proc_timer_cb(struct ev_loop *, ev_timer *, int);
static void	 proc_reload_settle(void);
static void	 proc_herd_up(void);

static struct proc	**proc_table;
static size_t		  proc_n;
static int		  proc_up_said;	/* "herd up" told, once */
static char		  proc_secret[2 * 32 + 1];	/* made by herdd, or "" */
static ev_tstamp	  proc_started;	/* when proc_start_all first ran */
static struct herd_conf	 *proc_conf;
static unsigned char	 *proc_run;	/* [i]: proc_conf->servers[i] runs here */
static int		  proc_chosen;	/* proc_run came from -s */
static char		  proc_node[HERD_PATH_MAX];
static int		  proc_shutting;
static void		(*proc_done_cb)(void);
static unsigned int	  proc_reload_pending;
static int		  proc_reloading;	/* inside proc_reload() */

const char *
proc_state_name(enum proc_state state)
{
	switch (state) {
	case PROC_STARTING:
		return "starting";
	case PROC_RUNNING:
		return "running";
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

long
proc_backoff_ms(unsigned int crashes, int healthy, int delay_ms, int max_ms)
{
	unsigned int	 n = crashes;
	long		 d;

	if (healthy && n > 0)
		n--;			/* the first crash costs nothing */
	if (n == 0)
		return 0;
	d = delay_ms;
	while (--n > 0 && d < max_ms)
		d *= 2;
	return d > max_ms ? max_ms : d;
}

static void
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

/* Every state change goes through here, and is logged here, once. */
static void
proc_set_state(struct proc *p, enum proc_state state, const char *why)
{
	if (p->state == state)
		return;
	p->state = state;
	if (state == PROC_BACKOFF || state == PROC_FAILED ||
	    (state == PROC_STARTING && p->crashes > 0))
		log_warnx("%s: %s%s%s", p->name, proc_state_name(state),
		    why[0] ? ": " : "", why);
	else
		log_notice("%s: %s%s%s", p->name, proc_state_name(state),
		    why[0] ? ": " : "", why);
	if (state == PROC_RUNNING && !proc_up_said)
		proc_herd_up();
}

/* A worker on its way out of the table (reload) is not found. */
/*
 * Every worker of this machine is running for the first time: say so once,
 * on standard error too, for the person who started herdd.
 */
static void
proc_herd_up(void)
{
	size_t	 i;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->state != PROC_RUNNING)
			return;
	proc_up_said = 1;
	log_notice("herd up: %zu server%s ready in %.0f ms", proc_n,
	    proc_n == 1 ? "" : "s", (ev_now(EV_DEFAULT) - proc_started) *
	    1000.0);
	fprintf(stderr, "herdd: herd up: %zu server%s ready in %.0f ms\n",
	    proc_n, proc_n == 1 ? "" : "s", (ev_now(EV_DEFAULT) -
	    proc_started) * 1000.0);
}

static int
proc_leaving(const struct proc *p)
{
	return p->state == PROC_STOPPING && p->want == PROC_WANT_REMOVE;
}

static struct proc *
proc_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < proc_n; i++)
		if (strcmp(proc_table[i]->name, name) == 0 &&
		    !proc_leaving(proc_table[i]))
			return proc_table[i];
	return NULL;
}

static struct proc *
proc_new(const struct herd_server *s)
{
	struct proc	*p, **t;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("calloc");
	if ((t = reallocarray(proc_table, proc_n + 1, sizeof(*t))) == NULL)
		fatal("reallocarray");
	proc_table = t;
	proc_table[proc_n++] = p;
	snprintf(p->name, sizeof(p->name), "%s", s->name);
	snprintf(p->host, sizeof(p->host), "%s", s->host);
	p->port = s->port;
	p->peer_port = s->peer_port;
	p->state = PROC_STOPPED;
	p->fd = -1;
	p->last_status = -1;
	ev_init(&p->timer_w, proc_timer_cb);
	p->timer_w.data = p;
	return p;
}

static void
proc_delete(struct proc *p)
{
	size_t	 i;

	ev_timer_stop(EV_DEFAULT_ &p->timer_w);
	for (i = 0; i < proc_n; i++)
		if (proc_table[i] == p) {
			memmove(&proc_table[i], &proc_table[i + 1],
			    (proc_n - i - 1) * sizeof(*proc_table));
			proc_n--;
			break;
		}
	free(p);
}

static size_t
proc_alive(void)
{
	size_t	 i, n = 0;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->pid != 0)
			n++;
	return n;
}

/* A copy of run, one flag per server of cf. */
static unsigned char *
proc_run_copy(const struct herd_conf *cf, const unsigned char *run)
{
	unsigned char	*r;

	if ((r = calloc(cf->nservers ? cf->nservers : 1, 1)) == NULL)
		fatal("calloc");
	memcpy(r, run, cf->nservers);
	return r;
}

/* 1 when server s of proc_conf runs here. */
static int
proc_runs_here(const struct herd_server *s)
{
	return proc_run[s - proc_conf->servers] != 0;
}

void
proc_init(struct herd_conf *cf, const char *node_path,
    const unsigned char *run, int chosen)
{
	size_t	 i;

	proc_conf = cf;
	proc_run = proc_run_copy(cf, run);
	proc_chosen = chosen;
	snprintf(proc_node, sizeof(proc_node), "%s", node_path);
	for (i = 0; i < cf->nservers; i++)
		if (run[i])
			proc_new(&cf->servers[i]);
}

void
proc_set_secret(const char *hex)
{
	snprintf(proc_secret, sizeof(proc_secret), "%s", hex);
}

void
proc_start_all(void)
{
	size_t	 i;

	if (proc_started == 0)
		proc_started = ev_now(EV_DEFAULT);
	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->state == PROC_STOPPED)
			proc_spawn(proc_table[i]);
}

/* In the child, between fork and exec: no return. */
static void
proc_exec(struct proc *p, int fd, pid_t parent)
{
	sigset_t	 set;
	char		 num[16];

	/* herdd's handlers (libev's) must not run here: reset, then unblock */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	/* a terminal's ^C goes to herdd, which stops the workers in order */
	setpgid(0, 0);
#ifdef __linux__
	/* and if herdd itself is killed, its workers follow it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
#endif
	if (fcntl(fd, F_SETFD, 0) == -1)
		_exit(1);
	snprintf(num, sizeof(num), "%d", fd);
	/* no secret configured: the herd's own, made by herdd at start */
	if (proc_secret[0] != '\0' && (getenv("HERD_SECRET") == NULL ||
	    getenv("HERD_SECRET")[0] == '\0') && proc_conf->secret_len == 0)
		(void)setenv("HERD_SECRET", proc_secret, 1);
	if (setenv(NOTIFY_ENV, num, 1) == -1)
		_exit(1);
	execl(proc_node, "herd-node", "-f", proc_conf->path, p->name,
	    (char *)NULL);
	dprintf(STDERR_FILENO, "herdd: %s: exec %s: %s\n", p->name,
	    proc_node, strerror(errno));
	_exit(127);
}

static void
proc_spawn(struct proc *p)
{
	sigset_t all, saved;
	int	 sv[2];
	pid_t	 pid, parent = getpid();
	char	 why[64];

	ev_timer_stop(EV_DEFAULT_ &p->timer_w);
	p->reload_start = 0;
	if (proc_shutting)
		return;
	log_flush();			/* the child must not inherit lines */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", p->name);
		goto retry;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	switch ((pid = fork())) {
	case -1:
		sigprocmask(SIG_SETMASK, &saved, NULL);
		log_warn("%s: fork", p->name);
		close(sv[0]);
		close(sv[1]);
		goto retry;
	case 0:
		close(sv[0]);
		proc_exec(p, sv[1], parent);
		/* NOTREACHED */
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: fcntl", p->name);
	p->pid = pid;
	p->fd = sv[0];
	p->spawned = ev_now(EV_DEFAULT);
	p->ready_at = 0;
	p->have_stats = 0;
	p->bad_notify = 0;
	p->buflen = 0;
	p->skipping = 0;
	if (p->spawns++ > 0)
		p->restarts++;

	ev_child_init(&p->child_w, proc_child_cb, pid, 0);
	p->child_w.data = p;
	ev_child_start(EV_DEFAULT_ &p->child_w);
	ev_io_init(&p->notify_w, proc_notify_cb, p->fd, EV_READ);
	p->notify_w.data = p;
	ev_io_start(EV_DEFAULT_ &p->notify_w);
	ev_timer_set(&p->timer_w, proc_conf->ready_timeout_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);

	snprintf(why, sizeof(why), "pid %ld", (long)pid);
	proc_set_state(p, PROC_STARTING, why);
	return;
retry:
	p->next_start = ev_now(EV_DEFAULT) + proc_conf->restart_delay_ms /
	    1000.0;
	ev_timer_set(&p->timer_w, proc_conf->restart_delay_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);
	proc_set_state(p, PROC_BACKOFF, "could not start");
}

static void
proc_close_notify(struct proc *p)
{
	if (p->fd == -1)
		return;
	ev_io_stop(EV_DEFAULT_ &p->notify_w);
	close(p->fd);
	p->fd = -1;
}

/* A process herdd did not ask to go went away. */
static void
proc_crashed(struct proc *p, const char *desc)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);
	long		 delay;
	char		 why[128];

	if (p->ready_at > 0 && now - p->ready_at >= proc_conf->restart_reset_s)
		p->crashes = 0;		/* it had been healthy long enough */
	if (p->crashes == 0)
		p->healthy_first = p->ready_at > 0;
	p->crashes++;
	delay = proc_backoff_ms(p->crashes, p->healthy_first,
	    proc_conf->restart_delay_ms, proc_conf->restart_max_ms);
	if (delay == 0) {
		log_warnx("%s: %s; restarting at once", p->name, desc);
		proc_spawn(p);
		return;
	}
	p->next_start = now + delay / 1000.0;
	ev_timer_set(&p->timer_w, delay / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);
	snprintf(why, sizeof(why), "%s, crash %u in a row, next start in %ld "
	    "ms", desc, p->crashes, delay);
	proc_set_state(p, PROC_BACKOFF, why);
}

static void
proc_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct proc	*p = w->data;
	char		 desc[64];
	int		 status = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &p->timer_w);
	proc_close_notify(p);
	p->pid = 0;
	p->have_stats = 0;
	p->last_status = status;
	proc_exit_desc(status, desc, sizeof(desc));

	if (p->state == PROC_STOPPING)
		proc_after_stop(p);
	else if (proc_shutting)
		proc_set_state(p, PROC_STOPPED, desc);
	else if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == HERD_EXIT_CONFIG) {
		p->crashes = 0;
		proc_set_state(p, PROC_FAILED, "exit 78 (configuration "
		    "error); not restarted until started by hand");
	} else
		proc_crashed(p, desc);

	if (proc_shutting && proc_alive() == 0 && proc_done_cb != NULL) {
		void (*cb)(void) = proc_done_cb;

		proc_done_cb = NULL;
		cb();
	}
}

/* A stopping worker is gone, or there was none: go where it was sent. */
static void
proc_after_stop(struct proc *p)
{
	char	 desc[64];

	proc_exit_desc(p->last_status, desc, sizeof(desc));
	p->crashes = 0;
	if (p->reload_stop) {
		p->reload_stop = 0;
		proc_reload_pending--;
	}
	switch (p->want) {
	case PROC_WANT_REMOVE:
		log_notice("%s: removed", p->name);
		proc_delete(p);
		break;
	case PROC_WANT_START:
		p->want = PROC_WANT_STOP;
		proc_set_state(p, PROC_STOPPED, desc);
		proc_spawn(p);
		break;
	case PROC_WANT_STOP:
		proc_set_state(p, PROC_STOPPED, desc);
		break;
	}
	if (proc_reload_pending == 0)
		proc_reload_settle();
}

static void
proc_stop(struct proc *p, enum proc_want want)
{
	char	 why[64];

	if (p->state == PROC_STOPPING) {
		if (p->want != PROC_WANT_REMOVE)
			p->want = want;
		return;
	}
	p->want = want;
	if (p->pid == 0) {
		ev_timer_stop(EV_DEFAULT_ &p->timer_w);
		proc_after_stop(p);
		return;
	}
	if (kill(p->pid, SIGTERM) == -1)
		log_warn("%s: kill %ld", p->name, (long)p->pid);
	ev_timer_stop(EV_DEFAULT_ &p->timer_w);
	ev_timer_set(&p->timer_w, proc_conf->stop_timeout_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);
	snprintf(why, sizeof(why), "sent TERM to pid %ld", (long)p->pid);
	proc_set_state(p, PROC_STOPPING, why);
}

static void
proc_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proc	*p = w->data;

	(void)loop;
	(void)revents;
	switch (p->state) {
	case PROC_STARTING:
		log_warnx("%s: not ready after %d ms; killing pid %ld",
		    p->name, proc_conf->ready_timeout_ms, (long)p->pid);
		if (p->pid != 0)
			kill(p->pid, SIGKILL);
		/* a READY still unread (or on its way) is too late now */
		proc_close_notify(p);
		break;
	case PROC_STOPPING:
		log_warnx("%s: pid %ld still there %d ms after TERM; killing",
		    p->name, (long)p->pid, proc_conf->stop_timeout_ms);
		if (p->pid != 0)
			kill(p->pid, SIGKILL);
		break;
	case PROC_BACKOFF:
		proc_spawn(p);
		break;
	default:
		break;
	}
}

static void
proc_notify_line(struct proc *p, const char *line, size_t len)
{
	struct notify_msg	 msg;
	char			 why[64];

	if (notify_parse(line, len, &msg) == -1) {
		if (!p->bad_notify)
			log_warnx("%s: bad record on the notify channel",
			    p->name);
		p->bad_notify = 1;
		return;
	}
	switch (msg.type) {
	case NOTIFY_READY:
		if (p->state != PROC_STARTING)
			break;
		ev_timer_stop(EV_DEFAULT_ &p->timer_w);
		p->ready_at = ev_now(EV_DEFAULT);
		snprintf(why, sizeof(why), "pid %ld, ready in %.0f ms",
		    (long)p->pid, (p->ready_at - p->spawned) * 1000.0);
		proc_set_state(p, PROC_RUNNING, why);
		break;
	case NOTIFY_STATS:
		p->have_stats = 1;
		p->clients = msg.clients;
		p->conns = msg.conns;
		memcpy(p->links, msg.links, sizeof(p->links));
		if (strcmp(msg.journal, "error") == 0 &&
		    strcmp(p->journal, "error") != 0)
			log_warnx("%s: its journal cannot be written: updates "
			    "are refused (see its log)", p->name);
		else if (strcmp(msg.journal, "error") != 0 &&
		    strcmp(p->journal, "error") == 0)
			log_notice("%s: its journal is written again", p->name);
		memcpy(p->journal, msg.journal, sizeof(p->journal));
		break;
	}
}

static void
proc_notify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct proc	*p = w->data;
	char		 chunk[4096], *nl;
	const char	*s;
	ssize_t		 n;
	size_t		 left, take;

	(void)loop;
	(void)revents;
	n = read(p->fd, chunk, sizeof(chunk));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_warn("%s: notify channel", p->name);
		proc_close_notify(p);
		return;
	}
	if (n == 0) {			/* the worker is going: ev_child tells */
		proc_close_notify(p);
		return;
	}
	for (s = chunk, left = (size_t)n; left > 0; ) {
		nl = memchr(s, '\n', left);
		take = nl != NULL ? (size_t)(nl - s) : left;
		if (!p->skipping && p->buflen + take <= NOTIFY_LINE_MAX) {
			memcpy(p->buf + p->buflen, s, take);
			p->buflen += take;
		} else
			p->skipping = 1;
		if (nl != NULL) {
			if (!p->skipping)
				proc_notify_line(p, p->buf, p->buflen);
			else if (!p->bad_notify) {
				log_warnx("%s: over-long record on the notify "
				    "channel", p->name);
				p->bad_notify = 1;
			}
			p->buflen = 0;
			p->skipping = 0;
			take++;
		}
		s += take;
		left -= take;
	}
}

void
proc_shutdown(void (*done_cb)(void))
{
	size_t	 i;

	if (proc_shutting) {		/* asked twice: no more grace */
		for (i = 0; i < proc_n; i++)
			if (proc_table[i]->pid != 0) {
				log_warnx("%s: killing pid %ld",
				    proc_table[i]->name,
				    (long)proc_table[i]->pid);
				kill(proc_table[i]->pid, SIGKILL);
			}
		return;
	}
	proc_shutting = 1;
	proc_done_cb = done_cb;
	for (i = 0; i < proc_n; ) {
		struct proc *p = proc_table[i];

		proc_stop(p, p->want == PROC_WANT_REMOVE ? PROC_WANT_REMOVE :
		    PROC_WANT_STOP);
		if (i < proc_n && proc_table[i] == p)
			i++;
	}
	if (proc_alive() == 0 && proc_done_cb != NULL) {
		proc_done_cb = NULL;
		done_cb();
	}
}

void
proc_free(void)
{
	while (proc_n > 0)
		proc_delete(proc_table[0]);
	free(proc_table);
	proc_table = NULL;
	free(proc_run);
	proc_run = NULL;
	if (proc_conf != NULL) {
		conf_free(proc_conf);
		free(proc_conf);
		proc_conf = NULL;
	}
}

/* Once the servers a reload stopped are gone, start the new ones. */
static void
proc_reload_settle(void)
{
	size_t	 i;

	if (proc_shutting || proc_reloading)
		return;
	for (i = 0; i < proc_n; i++) {
		struct proc *p = proc_table[i];

		if (!p->reload_start)
			continue;
		p->reload_start = 0;
		if (p->state == PROC_STOPPED || p->state == PROC_FAILED ||
		    p->state == PROC_BACKOFF) {
			p->crashes = 0;
			proc_spawn(p);
		}
	}
}

/*
 * New and changed servers start once this process is gone, whoever asked
 * it to stop (a reload, or a stop by hand still under way): it may hold
 * a port that one of them takes over.
 */
static void
proc_reload_wait(struct proc *p)
{
	if (p->pid != 0 && !p->reload_stop) {
		p->reload_stop = 1;
		proc_reload_pending++;
	}
}

static void
proc_json_names(struct json_object *result, const char *key,
    struct json_object *arr)
{
	json_object_object_add(result, key, arr);
}

void
proc_reload(struct herd_conf *cf, const char *node_path,
    const unsigned char *run, struct json_object *result)
{
	struct herd_conf		*old = proc_conf;
	const struct herd_server	*s, *os;
	struct json_object		*added, *removed, *changed;
	struct proc			*p, **order;
	size_t				 i, j, n;
	int				 unchanged = 0;

	added = json_object_new_array();
	removed = json_object_new_array();
	changed = json_object_new_array();
	snprintf(proc_node, sizeof(proc_node), "%s", node_path);
	proc_reloading = 1;

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
			/* a new log_level: a running worker re-reads it on HUP */
			if (old->log_level != cf->log_level && p->pid > 0 &&
			    (p->state == PROC_STARTING || p->state == PROC_RUNNING))
				kill(p->pid, SIGHUP);
			continue;
		}
		json_object_array_add(changed,
		    json_object_new_string(p->name));
		log_notice("%s: configuration changed", p->name);
		snprintf(p->host, sizeof(p->host), "%s", s->host);
		p->port = s->port;
		p->peer_port = s->peer_port;
		switch (p->state) {
		case PROC_STARTING:
		case PROC_RUNNING:
			proc_reload_wait(p);
			p->reload_start = 1;
			proc_stop(p, PROC_WANT_STOP);
			break;
		case PROC_BACKOFF:
		case PROC_FAILED:
			ev_timer_stop(EV_DEFAULT_ &p->timer_w);
			proc_set_state(p, PROC_STOPPED, "configuration "
			    "changed");
			p->reload_start = 1;
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

	proc_json_names(result, "added", added);
	proc_json_names(result, "removed", removed);
	proc_json_names(result, "changed", changed);
	json_object_object_add(result, "unchanged",
	    json_object_new_int(unchanged));
	proc_reloading = 0;
	if (proc_reload_pending == 0)
		proc_reload_settle();
}

static struct json_object *
proc_json(struct proc *p)
{
	struct json_object	*o, *links;
	ev_tstamp		 now = ev_now(EV_DEFAULT);
	char			 desc[64], buf[NOTIFY_LINE_MAX], *w, *save;
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
	if (p->state == PROC_BACKOFF) {
		ms = (long)((p->next_start - now) * 1000.0 + 0.5);
		json_object_object_add(o, "next_start_ms",
		    json_object_new_int64(ms < 0 ? 0 : ms));
	}
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "peer_port",
	    json_object_new_int(p->peer_port));
	if (!p->have_stats) {
		json_object_object_add(o, "clients", NULL);
		json_object_object_add(o, "conns", NULL);
		json_object_object_add(o, "links", NULL);
		json_object_object_add(o, "journal", NULL);
		return o;
	}
	json_object_object_add(o, "clients",
	    json_object_new_int64((int64_t)p->clients));
	json_object_object_add(o, "conns",
	    json_object_new_int64((int64_t)p->conns));
	links = json_object_new_array();
	snprintf(buf, sizeof(buf), "%s", p->links);
	for (w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save))
		json_object_array_add(links, json_object_new_string(w));
	json_object_object_add(o, "links", links);
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
				    "last_exit", "clients", "conns", "links", "journal" };
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "state", json_object_new_string("remote"));
	json_object_object_add(o, "host", json_object_new_string(s->host));
	json_object_object_add(o, "port", json_object_new_int(s->port));
	json_object_object_add(o, "peer_port",
	    json_object_new_int(s->peer_port));
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

static void
proc_result(struct proc *p, struct json_object *result)
{
	json_object_object_add(result, "node",
	    json_object_new_string(p->name));
	json_object_object_add(result, "state",
	    json_object_new_string(proc_state_name(p->state)));
	json_object_object_add(result, "pid",
	    p->pid ? json_object_new_int64(p->pid) : NULL);
}

int
proc_status(const char *name, struct json_object *result, char *err,
    size_t errlen)
{
	const struct herd_server	*s;
	struct json_object		*nodes;
	struct proc			*p;
	size_t				 i;

	nodes = json_object_new_array();
	if (name != NULL && name[0] != '\0') {
		if ((s = proc_remote(name)) != NULL)
			json_object_array_add(nodes, proc_json_remote(s));
		else if ((p = proc_lookup(name, err, errlen)) != NULL)
			json_object_array_add(nodes, proc_json(p));
		else {
			json_object_put(nodes);
			return -1;
		}
		json_object_object_add(result, "nodes", nodes);
		return 0;
	}
	/* the whole herd in the order of the file, leaving workers last */
	for (i = 0; i < proc_conf->nservers; i++) {
		s = &proc_conf->servers[i];
		if ((p = proc_find(s->name)) != NULL)
			json_object_array_add(nodes, proc_json(p));
		else if (!proc_runs_here(s))
			json_object_array_add(nodes, proc_json_remote(s));
	}
	for (i = 0; i < proc_n; i++)
		if (proc_leaving(proc_table[i]))
			json_object_array_add(nodes, proc_json(proc_table[i]));
	json_object_object_add(result, "nodes", nodes);
	return 0;
}

/* As proc_lookup(), but no worker is (re)started while herdd stops. */
static struct proc *
proc_lookup_startable(const char *name, char *err, size_t errlen)
{
	struct proc	*p;

	if ((p = proc_lookup(name, err, errlen)) == NULL)
		return NULL;
	if (proc_shutting) {
		snprintf(err, errlen, "herdd is shutting down");
		return NULL;
	}
	return p;
}

int
proc_ctl_start(const char *name, struct json_object *result, char *err,
    size_t errlen)
{
	struct proc	*p;

	if ((p = proc_lookup_startable(name, err, errlen)) == NULL)
		return -1;
	switch (p->state) {
	case PROC_STOPPED:
	case PROC_FAILED:
	case PROC_BACKOFF:
		log_notice("%s: start requested", p->name);
		p->crashes = 0;
		proc_spawn(p);
		break;
	case PROC_STOPPING:
		p->want = PROC_WANT_START;
		break;
	case PROC_STARTING:
	case PROC_RUNNING:
		break;
	}
	proc_result(p, result);
	return 0;
}

int
proc_ctl_stop(const char *name, struct json_object *result, char *err,
    size_t errlen)
{
	struct proc	*p;

	if ((p = proc_lookup(name, err, errlen)) == NULL)
		return -1;
	log_notice("%s: stop requested", p->name);
	p->reload_start = 0;
	proc_stop(p, PROC_WANT_STOP);
	proc_result(p, result);
	return 0;
}

int
proc_ctl_restart(const char *name, struct json_object *result, char *err,
    size_t errlen)
{
	struct proc	*p;

	if ((p = proc_lookup_startable(name, err, errlen)) == NULL)
		return -1;
	log_notice("%s: restart requested", p->name);
	proc_stop(p, PROC_WANT_START);
	proc_result(p, result);
	return 0;
}

int
proc_ctl_kill(const char *name, int signo, struct json_object *result,
    char *err, size_t errlen)
{
	struct proc	*p;

	if ((p = proc_lookup(name, err, errlen)) == NULL)
		return -1;
	if (p->pid == 0) {
		snprintf(err, errlen, "%s is not running (%s)", p->name,
		    proc_state_name(p->state));
		return -1;
	}
	if (kill(p->pid, signo) == -1) {
		snprintf(err, errlen, "kill %ld: %s", (long)p->pid,
		    strerror(errno));
		return -1;
	}
	log_notice("%s: sent signal %d to pid %ld on request", p->name, signo,
	    (long)p->pid);
	proc_result(p, result);
	json_object_object_add(result, "signal", json_object_new_int(signo));
	return 0;
}
