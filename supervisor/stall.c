/*
 * stall.c -- notice herdd's own stalls (see stall.h).
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
#include <time.h>

#include <ev.h>

#include "stall.h"

static ev_check		 stall_check_w;	/* each iteration, first */
static ev_timer		 stall_tick_w;	/* wakes the loop: limit / 8 */
static double		 stall_limit;
static double		 stall_mono, stall_boot;	/* at the last iteration */
static void		(*stall_cb)(double);

static double
stall_read(clockid_t id)
{
	struct timespec	 ts;

	if (clock_gettime(id, &ts) == -1)
		return 0;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
stall_clock(void)
{
	return stall_read(CLOCK_MONOTONIC);
}

void
stall_poll(void)
{
	double	 mono = stall_read(CLOCK_MONOTONIC);
	double	 boot = stall_read(CLOCK_BOOTTIME), gap;

	/* BOOTTIME also counts a suspended machine, MONOTONIC does not */
	gap = mono - stall_mono;
	if (boot - stall_boot > gap)
		gap = boot - stall_boot;
	stall_mono = mono;
	stall_boot = boot;
	if (gap > stall_limit && stall_cb != NULL)
		stall_cb(gap);
}

static void
stall_check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	stall_poll();
}

static void
stall_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;			/* waking the loop was the point */
}

void
stall_start(struct ev_loop *loop, double limit, void (*cb)(double))
{
	stall_limit = limit;
	stall_cb = cb;
	stall_mono = stall_read(CLOCK_MONOTONIC);
	stall_boot = stall_read(CLOCK_BOOTTIME);
	ev_check_init(&stall_check_w, stall_check_cb);
	ev_set_priority(&stall_check_w, EV_MAXPRI);
	ev_check_start(loop, &stall_check_w);
	ev_timer_init(&stall_tick_w, stall_tick_cb, limit / 8, limit / 8);
	ev_timer_start(loop, &stall_tick_w);
}

void
stall_stop(struct ev_loop *loop)
{
	ev_check_stop(loop, &stall_check_w);
	ev_timer_stop(loop, &stall_tick_w);
}
