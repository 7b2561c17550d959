/*
 * test_notify.c -- worker-to-herdd records.
 */
#include <string.h>

#include "notify.h"
#include "tap.h"

static int
parse(const char *s, struct notify_msg *m)
{
	return notify_parse(s, strlen(s), m);
}

int
main(void)
{
	struct notify_msg	 m;
	char			 buf[128];
	size_t			 n;

	ok(parse("READY", &m) == 0 && m.type == NOTIFY_READY, "READY");
	ok(parse("STATS 3 2 Hands,Wilkes", &m) == 0 &&
	    m.type == NOTIFY_STATS && m.clients == 3 && m.conns == 2 &&
	    strcmp(m.links, "Hands,Wilkes") == 0, "STATS with links");
	ok(parse("STATS 0 0 -", &m) == 0 && m.links[0] == '\0',
	    "STATS without links");
	ok(parse("STATS 1 2", &m) == -1, "STATS without links field");
	ok(parse("STATS x 2 -", &m) == -1, "non-numeric count");
	ok(parse("STATS 1 2 a b", &m) == -1, "space in links");
	ok(parse("STATS 99999999999999999999999 2 -", &m) == -1,
	    "overflowing count");
	ok(parse("READY ", &m) == -1, "trailing space");
	ok(parse("", &m) == -1, "empty");
	ok(parse("STATS 1 2 A,B journal=error", &m) == 0 &&
	    strcmp(m.links, "A,B") == 0 && strcmp(m.journal, "error") == 0,
	    "STATS with the journal's state");
	ok(parse("STATS 1 2 - journal=", &m) == -1 &&
	    parse("STATS 1 2 - journal=o k", &m) == -1 &&
	    parse("STATS 1 2 - jour=ok", &m) == -1, "a bad journal field");
	n = notify_format_stats(buf, sizeof(buf), 5, 1, "A", "ok");
	ok(strcmp(buf, "STATS 5 1 A journal=ok\n") == 0, "format: %s", buf);
	n = notify_format_stats(buf, sizeof(buf), 5, 1, "", NULL);
	ok(n == 12 && strcmp(buf, "STATS 5 1 -\n") == 0, "format: %s", buf);
	ok(notify_parse(buf, n - 1, &m) == 0 && m.clients == 5,
	    "format and parse agree");
	return tap_done();
}
