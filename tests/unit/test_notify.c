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
	static struct notify_msg m, w;
	char			 buf[1024], big[NOTIFY_TEXT_MAX + 16];
	size_t			 n, i;

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

	memset(&w, 0, sizeof(w));
	w.have = NOTIFY_F_CLIENTS | NOTIFY_F_CONNS | NOTIFY_F_LINKS |
	    NOTIFY_F_EAGER | NOTIFY_F_SYNCED | NOTIFY_F_JOURNAL;
	w.clients = 5;
	w.conns = 1;
	strcpy(w.links, "A,B");
	strcpy(w.eager, "B");
	strcpy(w.journal, "ok");
	n = notify_format_stats(buf, sizeof(buf), &w);
	ok(strcmp(buf, "STATS clients=5 conns=1 links=A,B eager=B synced=- "
	    "journal=ok\n") == 0, "format: %s", buf);
	ok(notify_parse(buf, n - 1, &m) == 0 && m.clients == 5 &&
	    strcmp(m.links, "A,B") == 0 && strcmp(m.eager, "B") == 0 &&
	    m.synced[0] == '\0', "format and parse agree");
	ok(parse("STATS eager=- links=A", &m) == 0 && m.eager[0] == '\0' &&
	    (m.have & NOTIFY_F_EAGER), "eager none");
	ok(parse("STATS eager=A eager=A", &m) == -1 &&
	    parse("STATS eager=a;b", &m) == -1, "eager twice, a bad name");

	/* the counters */
	ok(parse("STATS iamat=10 whatsat=2 invalid=1 upd_peer=7", &m) == 0 &&
	    m.ctr[NOTIFY_C_IAMAT] == 10 && m.ctr[NOTIFY_C_WHATSAT] == 2 &&
	    m.ctr[NOTIFY_C_INVALID] == 1 && m.ctr[NOTIFY_C_UPD_PEER] == 7 &&
	    m.have_ctr == (1u << NOTIFY_C_IAMAT | 1u << NOTIFY_C_WHATSAT |
	    1u << NOTIFY_C_INVALID | 1u << NOTIFY_C_UPD_PEER) && m.have == 0,
	    "counters by name");
	ok(parse("STATS iamat=1 iamat=2", &m) == -1, "a counter twice");
	ok(parse("STATS eager=B eager_sent=3", &m) == 0 &&
	    strcmp(m.eager, "B") == 0 && m.ctr[NOTIFY_C_EAGER] == 3 &&
	    m.have_ctr == 1u << NOTIFY_C_EAGER,
	    "eager= (links) and eager_sent= (a counter) are two fields");
	{
		static const char *const fields[] = { "clients", "conns",
		    "links", "eager", "synced", "journal", "jbytes",
		    "pl_hist", "flood", "keys", "keys_in" };
		size_t	 i, j, same = 0;

		for (i = 0; i < NOTIFY_C_N; i++) {
			for (j = 0; j < i; j++)
				same += strcmp(notify_ctr_key[i],
				    notify_ctr_key[j]) == 0;
			for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
				same += strcmp(notify_ctr_key[i], fields[j]) == 0;
		}
		ok(same == 0, "no counter's key is another's or a field's");
	}
	ok(parse("STATS stale=18446744073709551615", &m) == 0 &&
	    m.ctr[NOTIFY_C_STALE] == 18446744073709551615ULL &&
	    m.have_ctr == 1u << NOTIFY_C_STALE, "a 64-bit counter");
	ok(parse("STATS stale=18446744073709551616 clients=4", &m) == 0 &&
	    m.have_ctr == 0 && m.ctr[NOTIFY_C_STALE] == 0 && m.clients == 4,
	    "a counter past 64 bits is unsaid; the record stands");
	ok(parse("STATS pl_hist=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", &m) ==
	    0 && m.have == NOTIFY_F_HIST && m.hist[0] == 1 && m.hist[14] == 15,
	    "the histogram");
	ok(parse("STATS pl_hist=1,2,3 conns=2", &m) == 0 && m.have ==
	    NOTIFY_F_CONNS && m.hist[0] == 0 &&
	    parse("STATS pl_hist=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
	    &m) == 0 && m.have == 0 && parse("STATS pl_hist=1,2,3,4,5,6,7,8,9,"
	    "10,11,12,13,14,", &m) == 0 && m.have == 0 &&
	    parse("STATS pl_hist=", &m) == 0 && m.have == 0,
	    "a histogram of another length is unsaid; the record stands");
	ok(parse("STATS pl_hist=0,0,0,0,0,0,0,0,0,0,0,0,0,0,0 "
	    "pl_hist=0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", &m) == -1,
	    "pl_hist twice");
	ok(parse("STATS flood=Hands:3,Welsh:0", &m) == 0 && m.nflood == 2 &&
	    strcmp(m.flood[0].name, "Hands") == 0 && m.flood[0].n == 3 &&
	    strcmp(m.flood[1].name, "Welsh") == 0 && m.flood[1].n == 0,
	    "flood counts by neighbour");
	ok(parse("STATS flood=-", &m) == 0 && m.nflood == 0 &&
	    m.have == NOTIFY_F_FLOOD, "flood none");
#define UNSAID(s) (parse(s, &m) == 0 && m.have == 0 && m.nflood == 0)
	ok(UNSAID("STATS flood=A:1,A:2") && UNSAID("STATS flood=A:1,") &&
	    UNSAID("STATS flood=:1") && UNSAID("STATS flood=A") &&
	    UNSAID("STATS flood=A:") && UNSAID("STATS flood=A;B:1") &&
	    UNSAID("STATS flood="), "bad flood fields are unsaid");
	ok(UNSAID("STATS jbytes=x"), "a bad jbytes is unsaid");
	ok(parse("STATS flood=- flood=-", &m) == -1, "flood twice");
	ok(parse("STATS jbytes=4096", &m) == 0 && m.jbytes == 4096 &&
	    m.have == NOTIFY_F_JBYTES, "the journal's size");
	ok(notify_hist_bucket(0) == 0 && notify_hist_bucket(0.0005) == 0 &&
	    notify_hist_bucket(0.0006) == 1 && notify_hist_bucket(10) == 13 &&
	    notify_hist_bucket(11) == 14, "histogram buckets");

	memset(&w, 0, sizeof(w));
	w.have = NOTIFY_F_HIST | NOTIFY_F_FLOOD | NOTIFY_F_JBYTES;
	w.have_ctr = (1u << NOTIFY_C_N) - 1;
	for (i = 0; i < NOTIFY_C_N; i++)
		w.ctr[i] = i * 1000 + 1;
	for (i = 0; i < NOTIFY_HIST_N; i++)
		w.hist[i] = i;
	w.nflood = 2;
	strcpy(w.flood[0].name, "Hands");
	w.flood[0].n = 12;
	strcpy(w.flood[1].name, "Welsh");
	w.flood[1].n = 7;
	w.jbytes = 99;
	n = notify_format_stats(buf, sizeof(buf), &w);
	ok(n > 0 && notify_parse(buf, n - 1, &m) == 0 &&
	    memcmp(m.ctr, w.ctr, sizeof(m.ctr)) == 0 &&
	    memcmp(m.hist, w.hist, sizeof(m.hist)) == 0 && m.nflood == 2 &&
	    strcmp(m.flood[1].name, "Welsh") == 0 && m.flood[1].n == 7 &&
	    m.jbytes == 99 && m.have_ctr == w.have_ctr && m.have == w.have,
	    "counters: format and parse agree: %s", buf);
	ok(notify_format_stats(buf, 40, &w) == 0, "a record that does not "
	    "fit is not cut");
	/* the key of each link */
	ok(parse("STATS keys=Hands=herd1:0123456789abcdef,Welsh=cert:Welsh."
	    "example:00ff00ff00ff00ff keys_in=-", &m) == 0 &&
	    strcmp(m.keys, "Hands=herd1:0123456789abcdef,Welsh=cert:Welsh."
	    "example:00ff00ff00ff00ff") == 0 && m.keys_in[0] == '\0' &&
	    m.have == (NOTIFY_F_KEYS | NOTIFY_F_KEYS_IN),
	    "keys and keys_in");
	{
		const char	*cur = m.keys;
		char		 nb[NOTIFY_NAME_MAX + 1], key[NOTIFY_KEY_MAX + 1];
		int		 a, b, c;

		a = notify_keys_next(&cur, nb, key) && strcmp(nb, "Hands") ==
		    0 && strcmp(key, "herd1:0123456789abcdef") == 0;
		b = notify_keys_next(&cur, nb, key) && strcmp(nb, "Welsh") ==
		    0 && strcmp(key, "cert:Welsh.example:00ff00ff00ff00ff") ==
		    0;
		c = !notify_keys_next(&cur, nb, key);
		cur = m.keys_in;
		ok(a && b && c && !notify_keys_next(&cur, nb, key),
		    "notify_keys_next walks the pairs");
	}
#define KUNSAID(s) (parse(s, &m) == 0 && m.have == NOTIFY_F_CONNS && \
	m.keys[0] == '\0' && m.keys_in[0] == '\0')
	ok(KUNSAID("STATS conns=1 keys=A=k,A=j") &&
	    KUNSAID("STATS conns=1 keys=A=k,") &&
	    KUNSAID("STATS conns=1 keys==k") &&
	    KUNSAID("STATS conns=1 keys=A=") &&
	    KUNSAID("STATS conns=1 keys=A") &&
	    KUNSAID("STATS conns=1 keys=A;B=k") &&
	    KUNSAID("STATS conns=1 keys=A=k\"") &&
	    KUNSAID("STATS conns=1 keys=A=k\\") &&
	    KUNSAID("STATS conns=1 keys=A=k=j") &&
	    KUNSAID("STATS conns=1 keys=A=\x80") &&
	    KUNSAID("STATS conns=1 keys_in=,A=k") &&
	    KUNSAID("STATS conns=1 keys="),
	    "bad key lists are unsaid; the record stands");
	ok(parse("STATS keys=AB=k,A=j,B=i", &m) == 0 &&
	    strcmp(m.keys, "AB=k,A=j,B=i") == 0,
	    "a name that starts another is not the same");
	memset(big, 'k', sizeof(big));
	memcpy(big, "STATS keys=A=", 13);
	ok(notify_parse(big, 13 + NOTIFY_KEY_MAX, &m) == 0 &&
	    strlen(m.keys) == 2 + NOTIFY_KEY_MAX &&
	    notify_parse(big, 14 + NOTIFY_KEY_MAX, &m) == 0 &&
	    m.have == 0, "a key of NOTIFY_KEY_MAX bytes, not more");
	ok(parse("STATS keys=- keys=-", &m) == -1, "keys twice");
	memset(&w, 0, sizeof(w));
	w.have = NOTIFY_F_KEYS | NOTIFY_F_KEYS_IN;
	ok(notify_keys_add(w.keys, sizeof(w.keys), "Hands",
	    "herd1:0123456789abcdef") == 0 &&
	    notify_keys_add(w.keys, sizeof(w.keys), "Welsh",
	    "cert:a b,c=d\"e\\\x01:00") == 0 &&
	    strcmp(w.keys, "Hands=herd1:0123456789abcdef,"
	    "Welsh=cert:a?b?c?d?e??:00") == 0, "notify_keys_add: %s", w.keys);
	n = notify_format_stats(buf, sizeof(buf), &w);
	ok(n > 0 && strcmp(buf, "STATS keys=Hands=herd1:0123456789abcdef,"
	    "Welsh=cert:a?b?c?d?e??:00 keys_in=-\n") == 0 &&
	    notify_parse(buf, n - 1, &m) == 0 && strcmp(m.keys, w.keys) == 0 &&
	    m.have == w.have, "keys: format and parse agree: %s", buf);
	{
		char	 small[16] = "A=k";

		ok(notify_keys_add(small, sizeof(small), "Bravo",
		    "herd1:0123") == -1 && strcmp(small, "A=k") == 0 &&
		    notify_keys_add(small, sizeof(small), "B", "") == -1 &&
		    notify_keys_add(small, sizeof(small), "", "k") == -1 &&
		    notify_keys_add(small, sizeof(small), "B", "herd1:01") ==
		    0 && strcmp(small, "A=k,B=herd1:01") == 0,
		    "notify_keys_add: what does not fit is left out");
	}
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	w.keys[0] = '\0';
	ok(notify_keys_add(w.keys, sizeof(w.keys), "A", big) == 0 &&
	    strlen(w.keys) == 2 + NOTIFY_KEY_MAX, "a long key is cut");

	memset(&w, 0, sizeof(w));
	ok(notify_format_stats(buf, sizeof(buf), &w) == 0,
	    "no fields, no record");
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
