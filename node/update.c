/*
 * update.c -- accepting an update (see update.h).
 */
#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "recent.h"
#include "store.h"
#include "update.h"

static const struct herd_conf	*update_conf;
static struct herd_limits	 update_lim;	/* taken again on SIGHUP */
static struct recent		 update_recent;	/* the lines taken lately */
static int			 update_noting;	/* ... noted there */
static ev_tstamp		 update_warned[BOUNDS_N];	/* peers' */

/* Counters of refusals: [verdict][from a neighbour]. */
static const enum notify_ctr update_refused[BOUNDS_N][2] = {
	[BOUNDS_FULL] = { NOTIFY_C_REF_FULL_C, NOTIFY_C_REF_FULL_P },
	[BOUNDS_SKEW] = { NOTIFY_C_REF_SKEW_C, NOTIFY_C_REF_SKEW_P },
	[BOUNDS_EXPIRED] = { NOTIFY_C_REF_EXP_C, NOTIFY_C_REF_EXP_P },
};

void
update_init(const struct herd_conf *conf)
{
	update_conf = conf;
	update_lim = conf->limits;
}

void
update_set_limits(const struct herd_limits *l)
{
	update_lim = *l;
}

const struct herd_limits *
update_limits(void)
{
	return &update_lim;
}

/* The event loop's time as an htime (the clock limits judge by). */
void
update_now(struct htime *now)
{
	bounds_now(ev_now(EV_DEFAULT), now);
}

int
update_expired(const struct store_rec *r)
{
	struct htime	 t = { r->t_sec, r->t_nsec }, now;

	if (update_lim.expire_s <= 0)
		return 0;
	update_now(&now);
	return bounds_expired(&update_lim, &t, &now);
}

/*
 * Refused by the limits: counted; a neighbour's is noted as taken (its
 * notices must not ask for it again) and said at most once a second for
 * each reason (a client's is answered "?", and logged with the reply).
 */
static int
update_refuse(enum bounds_verdict v, const char *id, size_t idlen,
    const char *at, size_t atlen, const char *from)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);

	counters[update_refused[v][from != NULL]]++;
	if (from == NULL)
		return UPDATE_REFUSED;
	if (update_noting)
		(void)recent_add(&update_recent, proto_line_hash(at, atlen),
		    now);
	if (now - update_warned[v] >= 1.0) {
		update_warned[v] = now;
		log_warnx("update of %.*s from %s refused: %s (more like it "
		    "are counted, not logged, for a second)",
		    (int)(idlen > 64 ? 64 : idlen), id, from, bounds_why(v));
	}
	return UPDATE_REFUSED;
}

int
update_accept(const char *id, size_t idlen, const struct htime *t,
    const char *at, size_t atlen, int src)
{
	const char	*from = src == STORE_SRC_CLIENT ? NULL :
			    update_conf->servers[src].name;
	struct htime	 now;
	enum bounds_verdict v;
	int		 rc;

	update_now(&now);
	/* the look-up for a new id only near the bound: it costs a search */
	v = bounds_judge(&update_lim, t, &now, bounds_full(&update_lim,
	    store_count(), from != NULL) && store_get(id, idlen) == NULL,
	    store_count(), from != NULL);
	if (v != BOUNDS_OK)
		return update_refuse(v, id, idlen, at, atlen, from);
	if (journal_room(from, atlen) == -1) {
		log_warnx("out of memory for the journal: update refused");
		return -1;
	}
	rc = store_put(id, idlen, t, at, atlen, src != STORE_SRC_CLIENT, src);
	if (rc == 1) {
		journal_update(store_newest(), from);
		if (src == STORE_SRC_CLIENT)
			COUNT(UPD_CLIENT);
		else
			COUNT(UPD_PEER);
	} else if (rc == 0)
		COUNT(STALE);
	else {
		log_warnx("out of memory storing an update");
		return rc;
	}
	/* the node runs on the default loop; out of memory: a GRAFT later */
	if (update_noting)
		(void)recent_add(&update_recent, proto_line_hash(at, atlen),
		    ev_now(EV_DEFAULT));
	return rc;
}

void
update_note_lines(int on)
{
	update_noting = on;
}

int
update_seen(uint32_t h)
{
	return recent_has(&update_recent, h);
}

void
update_free(void)
{
	recent_free(&update_recent);
}
