/*
 * update.c -- accepting an update (see update.h).
 */
#include "conf.h"
#include "counters.h"
#include "journal.h"
#include "log.h"
#include "store.h"
#include "update.h"

static const struct herd_conf	*update_conf;

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
	else
		log_warnx("out of memory storing an update");
	return rc;
}
