/*
 * proc_life.c -- a worker's life: fork+exec, reaping through ev_child,
 * backoff, giving up on a crash loop, stopping; the herd's start and
 * shutdown.
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

#include "conf.h"
#include "log.h"
#include "backoff.h"
#include "notify.h"
#include "proc_int.h"

static void	 proc_after_stop(struct proc *);
static void	 proc_child_cb(struct ev_loop *, ev_child *, int);
static void	 proc_timer_cb(struct ev_loop *, ev_timer *, int);

static char		  proc_secret[2 * 32 + 1];	/* made by herdd, or "" */
static int		  proc_places_fd = -1;
static void		(*proc_done_cb)(void);

int
proc_set_places_fd(int fd)
{
	int	 old = proc_places_fd;

	proc_places_fd = fd;
	return old;
}

struct proc *
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
	p->tls_port = s->tls_port;
	p->state = PROC_STOPPED;
	p->fd = -1;
	p->last_status = -1;
	linebuf_init(&p->in, NOTIFY_LINE_MAX + 1);
	ev_init(&p->timer_w, proc_timer_cb);
	p->timer_w.data = p;
	return p;
}

static void
proc_delete(struct proc *p)
{
	size_t	 i;

	ev_timer_stop(EV_DEFAULT_ &p->timer_w);
	proc_notify_close(p, 0);
	linebuf_free(&p->in);
	free(p->flood);
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
	proc_heartbeat_start();
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

void
proc_reopen(void)
{
	size_t	 i;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i]->pid != 0 &&
		    kill(proc_table[i]->pid, SIGHUP) == -1)
			log_warn("%s: kill %ld HUP", proc_table[i]->name,
			    (long)proc_table[i]->pid);
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
	signal(SIGUSR1, SIG_DFL);
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
	/*
	 * Nothing of herdd's but the channel: its own sockets (control, HTTP)
	 * are close-on-exec already; this covers any a library left open.
	 */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (fcntl(fd, F_SETFD, 0) == -1)
		_exit(1);
	unsetenv(NOTIFY_PLACES_ENV);
	if (proc_places_fd >= 0 && fcntl(proc_places_fd, F_SETFD, 0) == 0) {
		snprintf(num, sizeof(num), "%d", proc_places_fd);
		(void)setenv(NOTIFY_PLACES_ENV, num, 1);
	}
	snprintf(num, sizeof(num), "%d", fd);
	/* no secret configured: the herd's own, made by herdd at start */
	if (proc_secret[0] != '\0' && (getenv("HERD_SECRET") == NULL ||
	    getenv("HERD_SECRET")[0] == '\0') && proc_conf->secret_len == 0)
		(void)setenv("HERD_SECRET", proc_secret, 1);
	/* the service manager's variables are herdd's, not its workers' */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (setenv(NOTIFY_ENV, num, 1) == -1)
		_exit(1);
	execl(proc_node, "herd-node", "-f", proc_conf->path, p->name,
	    (char *)NULL);
	dprintf(STDERR_FILENO, "herdd: %s: exec %s: %s\n", p->name,
	    proc_node, strerror(errno));
	_exit(127);
}

void
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
	p->pid = pid;
	p->spawned = ev_now(EV_DEFAULT);
	p->ready_at = 0;
	p->have_stats = 0;
	p->bad_notify = 0;
	p->killed[0] = '\0';
	p->by_request = 0;
	p->error[0] = '\0';
	p->synced[0] = '\0';
	p->keys[0] = p->keys_in[0] = '\0';
	p->have_keys = 0;
	metrics_fold(p);
	if (p->spawns++ > 0)
		p->restarts++;
	proc_notify_open(p, sv[0]);

	ev_child_init(&p->child_w, proc_child_cb, pid, 0);
	p->child_w.data = p;
	ev_child_start(EV_DEFAULT_ &p->child_w);
	ev_timer_set(&p->timer_w, proc_conf->ready_timeout_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);

	snprintf(why, sizeof(why), "pid %ld", (long)pid);
	p->reason[0] = '\0';
	proc_set_state(p, PROC_STARTING, why);
	return;
retry:
	p->next_start = ev_now(EV_DEFAULT) + proc_conf->restart_delay_ms /
	    1000.0;
	ev_timer_set(&p->timer_w, proc_conf->restart_delay_ms / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);
	snprintf(p->reason, sizeof(p->reason), "could not start: %s",
	    strerror(errno));
	proc_set_state(p, PROC_BACKOFF, p->reason);
}

/*
 * Start p again after delay ms (at once for 0); desc says how it went,
 * what says what it counts as ("crash 3 in a row").
 */
static void
proc_restart_in(struct proc *p, long delay, const char *desc,
    const char *what)
{
	char	 why[PROC_REASON_MAX + 128];

	if (snprintf(p->reason, sizeof(p->reason), "%s", desc) < 0)
		p->reason[0] = '\0';
	if (delay == 0) {
		log_warnx("%s: %s (%s); restarting at once", p->name, desc,
		    what);
		proc_spawn(p);
		return;
	}
	p->next_start = ev_now(EV_DEFAULT) + delay / 1000.0;
	ev_timer_set(&p->timer_w, delay / 1000.0, 0.);
	ev_timer_start(EV_DEFAULT_ &p->timer_w);
	snprintf(why, sizeof(why), "%s, %s, next start in %ld ms", desc, what,
	    delay);
	proc_set_state(p, PROC_BACKOFF, why);
}

/*
 * A process herdd did not ask to go failed on its own (backoff.h says
 * which ends those are); desc says how.  These count toward the start
 * limit.
 */
static void
proc_crashed(struct proc *p, const char *desc)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);
	char		 what[64];

	if (p->ready_at > 0 && now - p->ready_at >= proc_conf->restart_reset_s)
		p->crashes = 0;		/* it had been healthy long enough */
	if (p->crashes == 0)
		p->healthy_first = p->ready_at > 0;
	p->crashes++;
	if (p->ncrash == PROC_CRASH_MAX) {
		memmove(p->crash_at, p->crash_at + 1,
		    (PROC_CRASH_MAX - 1) * sizeof(p->crash_at[0]));
		p->ncrash--;
	}
	p->crash_at[p->ncrash++] = now;
	if (backoff_crash_loop(p->crash_at, p->ncrash,
	    proc_conf->start_limit_burst, proc_conf->start_limit_interval_s)) {
		if (snprintf(p->reason, sizeof(p->reason), "crashed %d times "
		    "within %d s; last: %s", proc_conf->start_limit_burst,
		    proc_conf->start_limit_interval_s, desc) < 0)
			p->reason[0] = '\0';
		proc_set_state(p, PROC_FAILED, "gave up: not restarted until "
		    "started by hand or reloaded");
		return;
	}
	snprintf(what, sizeof(what), "crash %u in a row", p->crashes);
	proc_restart_in(p, backoff_delay_ms(p->crashes, p->healthy_first,
	    proc_conf->restart_delay_ms, proc_conf->restart_max_ms), desc,
	    what);
}

/*
 * A process was ended from outside (a signal someone else sent, herdctl
 * kill, the OOM killer): not its failure, so never counted toward the
 * start limit, and it always starts again.  One that had been ready
 * PROC_SETTLED_S starts again at once, one killed sooner after
 * restart_delay_ms; one killed before it was ready waits as a crash loop
 * does, the delay doubling with each such start in a row.
 */
static void
proc_killed(struct proc *p, const char *desc)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);
	long		 delay;

	if (p->ready_at > 0) {
		p->kills = 0;
		delay = now - p->ready_at >= PROC_SETTLED_S ? 0 :
		    proc_conf->restart_delay_ms;
	} else {
		p->kills++;
		delay = backoff_delay_ms(p->kills, 0,
		    proc_conf->restart_delay_ms, proc_conf->restart_max_ms);
	}
	proc_restart_in(p, delay, desc, "killed from outside");
}

static void
proc_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct proc	*p = w->data;
	char		 desc[PROC_REASON_MAX], ex[64];
	int		 status = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &p->timer_w);
	proc_notify_close(p, 1);	/* reads what it said last */
	p->pid = 0;
	p->have_stats = 0;
	p->last_status = status;
	proc_exit_desc(status, ex, sizeof(ex));
	/* how it went, with why when it said so */
	if (p->error[0] != '\0')
		snprintf(desc, sizeof(desc), "%s: %s", ex, p->error);
	else if (p->killed[0] != '\0')
		snprintf(desc, sizeof(desc), "%s: %s", ex, p->killed);
	else
		snprintf(desc, sizeof(desc), "%s", ex);

	if (p->state == PROC_STOPPING)
		proc_after_stop(p);
	else if (proc_shutting)
		proc_set_state(p, PROC_STOPPED, ex);
	else if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == HERD_EXIT_CONFIG) {
		proc_forgive(p);
		if (snprintf(p->reason, sizeof(p->reason), "%s (configuration "
		    "error)", desc) < 0)
			p->reason[0] = '\0';
		proc_set_state(p, PROC_FAILED, "exit 78 (configuration "
		    "error); not restarted until started by hand");
	} else if (backoff_from_outside(status, p->killed[0] != '\0',
	    p->by_request))
		proc_killed(p, desc);
	else
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
	proc_forgive(p);
	p->reason[0] = '\0';
	switch (p->want) {
	case PROC_WANT_REMOVE:
		log_notice("%s: removed", p->name);
		proc_tell_stopped(p);
		proc_delete(p);
		proc_tell_changed();
		return;
	case PROC_WANT_START:
		p->want = PROC_WANT_STOP;
		proc_set_state(p, PROC_STOPPED, desc);
		proc_spawn(p);
		break;
	case PROC_WANT_STOP:
		proc_set_state(p, PROC_STOPPED, desc);
		break;
	}
	proc_tell_stopped(p);
}

void
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
	/* a paused worker cannot act on TERM */
	if (p->state == PROC_UNRESPONSIVE)
		(void)kill(p->pid, SIGCONT);
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
		snprintf(p->killed, sizeof(p->killed), "killed: not ready "
		    "after %d ms", proc_conf->ready_timeout_ms);
		if (p->pid != 0)
			kill(p->pid, SIGKILL);
		/* a READY still unread (or on its way) is too late now */
		proc_notify_close(p, 0);
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
	proc_tell_abort();
	proc_heartbeat_stop();
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
	proc_heartbeat_stop();
	while (proc_n > 0)
		proc_delete(proc_table[0]);
	free(proc_table);
	proc_table = NULL;
	free(proc_run);
	proc_run = NULL;
	if (proc_places_fd >= 0)
		close(proc_places_fd);
	proc_places_fd = -1;
	if (proc_conf != NULL) {
		conf_free(proc_conf);
		free(proc_conf);
		proc_conf = NULL;
	}
}
