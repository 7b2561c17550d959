/*
 * update.c -- accepting an update (see update.h).
 */
#include <ev.h>

#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "log.h"
#include "proto.h"
#include "recent.h"
#include "store.h"
#include "update.h"

static const struct herd_conf	*update_conf;
static struct recent		 update_recent;	/* the lines taken lately */
static int			 update_noting;	/* ... noted there */

void
update_init(const struct herd_conf *conf)
{
	update_conf = conf;
}

int
update_accept(const char *id, size_t idlen, const struct htime *t,
    const char *at, size_t atlen, int src)
{
	const char	*from = src == STORE_SRC_CLIENT ? NULL :
			    update_conf->servers[src].name;
	int		 rc;

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
