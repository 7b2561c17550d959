/*
 * test_notify.c -- the records between a worker and herdd.
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
	static struct notify_msg m;
	char			 buf[1024], big[NOTIFY_TEXT_MAX + 16];
	size_t			 n;

	ok(parse("READY", &m) == 0 && m.type == NOTIFY_READY, "READY");
	ok(parse("STATS clients=3 conns=2 links=Hands,Wilkes", &m) == 0 &&
	    m.type == NOTIFY_STATS && m.clients == 3 && m.conns == 2 &&
	    strcmp(m.links, "Hands,Wilkes") == 0 &&
	    m.have == (NOTIFY_F_CLIENTS | NOTIFY_F_CONNS | NOTIFY_F_LINKS),
	    "STATS with links");
	ok(parse("STATS links=- clients=0", &m) == 0 && m.links[0] == '\0' &&
	    m.have == (NOTIFY_F_CLIENTS | NOTIFY_F_LINKS),
	    "fields in any order, links none");
	ok(parse("STATS clients=1 future_counter=7 conns=2", &m) == 0 &&
	    m.conns == 2, "an unknown field is skipped");
	ok(parse("STATS clients=1 Bad-Key=7", &m) == -1, "a bad key");
	ok(parse("STATS clients=1 clients=2", &m) == -1, "a field twice");
	ok(parse("STATS clients=x", &m) == -1, "non-numeric count");
	ok(parse("STATS clients=", &m) == -1, "empty count");
	ok(parse("STATS links=a b", &m) == -1, "space in links");
	ok(parse("STATS links=a;b", &m) == -1, "a bad name in links");
	ok(parse("STATS clients=99999999999999999999999", &m) == -1,
	    "overflowing count");
	ok(parse("STATS clients=1 ", &m) == -1, "trailing space");
	ok(parse("STATS clients=1  conns=2", &m) == -1, "two spaces");
	ok(parse("STATS ", &m) == -1 && parse("STATS", &m) == -1,
	    "STATS without fields");
	ok(parse("READY ", &m) == -1, "trailing space after READY");
	ok(parse("", &m) == -1, "empty");
	ok(parse("STATS journal=error synced=A", &m) == 0 &&
	    strcmp(m.journal, "error") == 0 && strcmp(m.synced, "A") == 0,
	    "STATS with the journal's state and synced");
	ok(parse("STATS journal=", &m) == -1 &&
	    parse("STATS journal=O", &m) == -1 &&
	    parse("STATS journal=abcdefghijklmnopq", &m) == -1,
	    "a bad journal field");
	ok(parse("PING 7", &m) == 0 && m.type == NOTIFY_PING && m.seq == 7,
	    "PING");
	ok(parse("PONG 42", &m) == 0 && m.type == NOTIFY_PONG && m.seq == 42,
	    "PONG");
	ok(parse("PONG", &m) == -1 && parse("PONG x", &m) == -1 &&
	    parse("PING 1 2", &m) == -1, "bad PING/PONG");
	ok(parse("ERROR listen: port 1: Address already in use", &m) == 0 &&
	    m.type == NOTIFY_ERROR && strcmp(m.text, "listen: port 1: "
	    "Address already in use") == 0, "ERROR");
	ok(parse("ERROR a\tb", &m) == -1, "a control character in ERROR");
	memset(big, 'x', sizeof(big));
	memcpy(big, "ERROR ", 6);
	ok(notify_parse(big, sizeof(big), &m) == -1, "an over-long ERROR");

	n = notify_format_stats(buf, sizeof(buf), 5, 1, "A", "", "ok");
	ok(strcmp(buf, "STATS clients=5 conns=1 links=A synced=- "
	    "journal=ok\n") == 0, "format: %s", buf);
	ok(notify_parse(buf, n - 1, &m) == 0 && m.clients == 5 &&
	    strcmp(m.links, "A") == 0 && m.synced[0] == '\0',
	    "format and parse agree");
	n = notify_format_error(buf, sizeof(buf), "bad\nthing");
	ok(strcmp(buf, "ERROR bad thing\n") == 0 &&
	    notify_parse(buf, n - 1, &m) == 0, "format ERROR: %s", buf);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = notify_format_error(buf, sizeof(buf), big);
	ok(n == 6 + NOTIFY_TEXT_MAX + 1 && notify_parse(buf, n - 1, &m) == 0,
	    "a long ERROR is cut to fit");
	return tap_done();
}
