/*
 * proc_notify.c -- herdd's end of each worker's notify channel (notify.h):
 * READY, figures, why it exits, and the heartbeat that finds a worker
 * that no longer answers.
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
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "notify.h"
#include "proc_int.h"
#include "stall.h"

static void	 proc_notify_cb(struct ev_loop *, ev_io *, int);

static ev_timer		 proc_beat_w;

void
proc_notify_open(struct proc *p, int fd)
{
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: fcntl", p->name);
	p->fd = fd;
	p->skipping = 0;
	ev_io_init(&p->notify_w, proc_notify_cb, fd, EV_READ);
	p->notify_w.data = p;
	ev_io_start(EV_DEFAULT_ &p->notify_w);
}

static void
proc_notify_line(struct proc *p, const char *line, size_t len)
{
	static struct notify_msg msg;	/* 30 KiB: not on the stack */
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
		if (p->state != PROC_STARTING || p->draining)
			break;		/* too late: it has gone */
		ev_timer_stop(EV_DEFAULT_ &p->timer_w);
		p->ready_at = ev_now(EV_DEFAULT);
		p->last_pong = stall_clock();
		p->kills = 0;		/* a start that worked */
		snprintf(why, sizeof(why), "pid %ld, ready in %.0f ms",
		    (long)p->pid, (p->ready_at - p->spawned) * 1000.0);
		proc_set_state(p, PROC_RUNNING, why);
		break;
	case NOTIFY_STATS:
		p->have_stats = 1;
		metrics_take(p, &msg);
		if (msg.have & NOTIFY_F_CLIENTS)
			p->clients = msg.clients;
		if (msg.have & NOTIFY_F_CONNS)
			p->conns = msg.conns;
		if (msg.have & NOTIFY_F_LINKS)
			memcpy(p->links, msg.links, sizeof(p->links));
		if (msg.have & NOTIFY_F_EAGER)
			memcpy(p->eager, msg.eager, sizeof(p->eager));
		if (msg.have & NOTIFY_F_KEYS)
			memcpy(p->keys, msg.keys, sizeof(p->keys));
		if (msg.have & NOTIFY_F_KEYS_IN)
			memcpy(p->keys_in, msg.keys_in, sizeof(p->keys_in));
		p->have_keys |= msg.have & (NOTIFY_F_KEYS | NOTIFY_F_KEYS_IN);
		if (msg.have & NOTIFY_F_SYNCED) {
			memcpy(p->synced, msg.synced, sizeof(p->synced));
			proc_tell_changed();	/* it may have caught up */
		}
		if (!(msg.have & NOTIFY_F_JOURNAL))
			break;
		if (strcmp(msg.journal, "error") == 0 &&
		    strcmp(p->journal, "error") != 0)
			log_warnx("%s: its journal cannot be written: updates "
			    "are refused (see its log)", p->name);
		else if (strcmp(msg.journal, "error") != 0 &&
		    strcmp(p->journal, "error") == 0)
			log_notice("%s: its journal is written again", p->name);
		memcpy(p->journal, msg.journal, sizeof(p->journal));
		break;
	case NOTIFY_PONG:
		if (msg.seq != p->ping_seq || p->draining)
			break;		/* an old one */
		p->last_pong = stall_clock();
		if (p->state == PROC_UNRESPONSIVE) {
			p->reason[0] = '\0';
			proc_set_state(p, PROC_RUNNING, "answers again");
		}
		break;
	case NOTIFY_ERROR:
		snprintf(p->error, sizeof(p->error), "%s", msg.text);
		break;
	case NOTIFY_PING:		/* not ours to answer */
		break;
	}
}

/* Read what the worker wrote; all of it when it has gone (drain). */
static void
proc_notify_read(struct proc *p, int drain)
{
	const char	*line;
	size_t		 len;
	ssize_t		 n;

	for (;;) {
		n = linebuf_fill(&p->in, p->fd);
		if (n == -2) {		/* no record is this long */
			if (!p->bad_notify)
				log_warnx("%s: over-long record on the notify "
				    "channel", p->name);
			p->bad_notify = 1;
			linebuf_drop(&p->in, linebuf_pending(&p->in));
			p->skipping = 1;
			continue;
		}
		while (linebuf_next(&p->in, &line, &len)) {
			if (p->skipping)
				p->skipping = 0;
			else
				proc_notify_line(p, line, len);
			if (p->fd == -1)
				return;	/* closed meanwhile (ready time-out) */
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			log_warn("%s: notify channel", p->name);
		if (n <= 0 || !drain)
			break;
	}
	if (n == 0 && !drain)		/* the worker is going: ev_child tells */
		proc_notify_close(p, 0);
}

static void
proc_notify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	proc_notify_read(w->data, 0);
}

void
proc_notify_close(struct proc *p, int drain)
{
	if (p->fd == -1)
		return;
	ev_io_stop(EV_DEFAULT_ &p->notify_w);
	if (drain) {			/* its last words: ERROR */
		p->draining = 1;
		proc_notify_read(p, 1);
		p->draining = 0;
	}
	if (p->fd == -1)
		return;
	close(p->fd);
	p->fd = -1;
	linebuf_drop(&p->in, linebuf_pending(&p->in));
	linebuf_free(&p->in);
}

/*
 * Each second: PING every running worker; one that has not answered for
 * PROC_DEAF_S is unresponsive (paused, or stuck in a callback), and one
 * silent for hang_timeout_ms is killed, which is a crash.  Silence is
 * counted on CLOCK_MONOTONIC, and only while herdd runs: see
 * proc_heartbeat_grace.
 */
static void
proc_beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_tstamp	 now, deaf;
	struct proc	*p;
	char		 buf[64], why[128];
	size_t		 i;
	int		 n;

	(void)loop;
	(void)w;
	(void)revents;
	stall_poll();			/* a callback before us may have hung */
	now = stall_clock();
	for (i = 0; i < proc_n; i++) {
		p = proc_table[i];
		if (!proc_up(p) || p->fd == -1 || p->pid == 0)
			continue;
		deaf = now - p->last_pong;
		if (proc_conf->hang_timeout_ms > 0 && p->killed[0] == '\0' &&
		    deaf * 1000.0 >= proc_conf->hang_timeout_ms) {
			log_warnx("%s: no answer for %.0f ms; killing pid %ld",
			    p->name, deaf * 1000.0, (long)p->pid);
			snprintf(p->killed, sizeof(p->killed), "killed: no "
			    "answer to the heartbeat for %.0f ms", deaf * 1000.0);
			kill(p->pid, SIGKILL);
			(void)kill(p->pid, SIGCONT);
			continue;
		}
		if (deaf >= PROC_DEAF_S && p->state == PROC_RUNNING) {
			snprintf(why, sizeof(why), "no answer to the heartbeat "
			    "for %.0f s", deaf);
			snprintf(p->reason, sizeof(p->reason), "%s", why);
			proc_set_state(p, PROC_UNRESPONSIVE, why);
		}
		n = snprintf(buf, sizeof(buf), "PING %lu\n", ++p->ping_seq);
		/* a worker that does not read fills the channel: no matter */
		if (write(p->fd, buf, (size_t)n) == -1 && errno != EAGAIN)
			log_debug("%s: PING: %s", p->name, strerror(errno));
	}
}

/*
 * herdd itself did not run for gap seconds (stall.h): its workers could
 * not be heard meanwhile, so each is given a fresh interval -- silence
 * counts from now, and one still starting has its whole ready_timeout_ms
 * again -- before it can be called unresponsive, killed or late.  Only a
 * worker that does not answer while herdd runs is.
 */
static void
proc_heartbeat_grace(double gap)
{
	struct proc	*p;
	size_t		 i;

	log_warnx("herdd did not run for %.0f ms (stopped, paused or "
	    "starved): every worker gets a fresh heartbeat interval",
	    gap * 1000.0);
	for (i = 0; i < proc_n; i++) {
		p = proc_table[i];
		if (p->pid == 0)
			continue;
		if (proc_up(p))
			p->last_pong = stall_clock();
		else if (p->state == PROC_STARTING) {
			ev_timer_stop(EV_DEFAULT_ &p->timer_w);
			ev_timer_set(&p->timer_w,
			    proc_conf->ready_timeout_ms / 1000.0, 0.);
			ev_timer_start(EV_DEFAULT_ &p->timer_w);
		}
	}
}

void
proc_heartbeat_start(void)
{
	ev_timer_init(&proc_beat_w, proc_beat_cb, PROC_PING_S, PROC_PING_S);
	ev_timer_start(EV_DEFAULT_ &proc_beat_w);
	stall_start(EV_DEFAULT_ PROC_PING_S, proc_heartbeat_grace);
}

void
proc_heartbeat_stop(void)
{
	ev_timer_stop(EV_DEFAULT_ &proc_beat_w);
	stall_stop(EV_DEFAULT);
}
