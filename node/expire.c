/*
 * expire.c -- the sweep of reports older than expire_s (see expire.h).
 */
#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "expire.h"
#include "bounds.h"
#include "store.h"
#include "update.h"

static struct ev_loop	*expire_loop;
static ev_timer		 expire_timer;
static size_t		 expire_pos;	/* the next slot of the store */

static void
expire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	const struct herd_limits *l = update_limits();
	struct htime		  now, before;
	size_t			  slots;

	(void)loop;
	(void)w;
	(void)revents;
	update_now(&now);
	bounds_expiry(l, &now, &before);
	slots = store_slots() / EXPIRE_PARTS + 1;
	counters[NOTIFY_C_EXPIRED] += store_expire(&before, &expire_pos, slots);
}

void
expire_init(struct ev_loop *loop)
{
	expire_loop = loop;
	ev_timer_init(&expire_timer, expire_cb, EXPIRE_TICK_S, EXPIRE_TICK_S);
	expire_again();
}

void
expire_again(void)
{
	if (expire_loop == NULL)
		return;
	if (update_limits()->expire_s > 0)
		ev_timer_start(expire_loop, &expire_timer);
	else			/* off: an idle server is not woken for it */
		ev_timer_stop(expire_loop, &expire_timer);
}

void
expire_stop(void)
{
	if (expire_loop == NULL)
		return;
	ev_timer_stop(expire_loop, &expire_timer);
	expire_loop = NULL;
}
