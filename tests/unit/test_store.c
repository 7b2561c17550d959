/*
 * test_store.c -- newest-wins records and the catch-up walk.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "tap.h"

static int
put(const char *id, long sec, const char *at, int ties)
{
	struct htime	 t = { sec, 0 };

	return store_put(id, strlen(id), &t, at, strlen(at), ties,
	    STORE_SRC_CLIENT);
}

/* Walk to the end; the ids returned, space-separated, in buf. */
static const char *
walk(struct store_cursor *c, char *buf, size_t size)
{
	const struct store_rec	*r;
	size_t			 o = 0;

	buf[0] = '\0';
	while ((r = store_cursor_next(c)) != NULL)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? " " : "",
		    store_id(r));
	return buf;
}

int
main(void)
{
	struct store_cursor	 c = { 0 }, d = { 0 };
	const struct store_rec	*r;
	char			 buf[1024], id[16];
	int			 i;

	store_init();
	ok(put("kiwi", 10, "AT A +0.1 kiwi +1+2 10", 0) == 1, "new record");
	ok(put("kiwi", 9, "AT B +0.1 kiwi +1+2 9", 0) == 0, "older: no");
	ok(put("kiwi", 10, "AT Z +0.1 kiwi +1+2 10", 0) == 0,
	    "equal from a client: no");
	ok(put("kiwi", 10, "AT Z +0.1 kiwi +1+2 10", 1) == 1,
	    "equal from a peer, sorting after: yes");
	ok(put("kiwi", 10, "AT C +0.1 kiwi +1+2 10", 1) == 0,
	    "equal from a peer, sorting before: no");
	r = store_get("kiwi", 4);
	ok(r != NULL && strcmp(r->at, "AT Z +0.1 kiwi +1+2 10") == 0,
	    "the herd settles on one line");
	ok(put("kiwi", 11, "AT A +0.1 kiwi +1+2 11", 0) == 1, "newer: yes");
	ok(store_get("kiw", 3) == NULL && store_get("kiwi\0", 5) == NULL,
	    "ids are compared as bytes");
	ok(store_put("a\0b", 3, &(struct htime){ 1, 0 }, "AT X", 4, 0, -1) ==
	    1 && store_get("a\0b", 3) != NULL && store_get("a", 1) == NULL,
	    "a NUL inside an id");
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		put(id, 1, "AT A +0.1 x +1+2 1", 0);
	}
	ok(store_count() == 5002, "5002 records after growing");
	snprintf(id, sizeof(id), "c%d", 4321);
	ok(store_get(id, strlen(id)) != NULL, "found after growing");
	store_free();

	store_init();
	put("a", 1, "AT a", 0);
	put("b", 1, "AT b", 0);
	put("c", 1, "AT c", 0);
	ok(strcmp(walk(&c, buf, sizeof(buf)), "") == 0, "idle cursor: empty");
	store_cursor_start(&c);
	ok(strcmp(walk(&c, buf, sizeof(buf)), "a b c") == 0,
	    "oldest change first: %s", buf);
	ok(!c.active, "a finished walk is inactive");

	store_cursor_start(&c);
	r = store_cursor_next(&c);
	ok(r != NULL && strcmp(store_id(r), "a") == 0, "walk at a");
	put("b", 2, "AT b2", 0);	/* the next one changes */
	put("a", 2, "AT a2", 0);	/* one already walked changes */
	put("d", 1, "AT d", 0);		/* a new one */
	ok(strcmp(walk(&c, buf, sizeof(buf)), "c b a d") == 0,
	    "changes during the walk are returned: %s", buf);

	store_cursor_start(&c);
	while ((r = store_cursor_next(&c)) != NULL &&
	    strcmp(store_id(r), "a") != 0)
		;
	/* next is d, the newest: d changes, then a new record */
	put("d", 2, "AT d2", 0);
	ok(strcmp(walk(&c, buf, sizeof(buf)), "d") == 0,
	    "the newest record changing as the walk reaches it: %s", buf);
	store_cursor_start(&c);
	for (i = 0; i < 4; i++)
		store_cursor_next(&c);
	ok(c.active && c.next == NULL, "at the end, not yet finished");
	put("e", 1, "AT e", 0);
	ok(strcmp(walk(&c, buf, sizeof(buf)), "e") == 0,
	    "a walk at its end goes on with a new record: %s", buf);

	store_cursor_start(&c);
	store_cursor_start(&d);
	store_cursor_next(&c);
	store_cursor_stop(&c);
	put("c", 5, "AT c5", 0);
	ok(!c.active && strcmp(walk(&d, buf, sizeof(buf)), "b a d e c") == 0,
	    "a stopped cursor is left alone, others go on: %s", buf);
	store_cursor_start(&c);
	store_free();
	ok(!c.active, "store_free stops the walks");

	/* change numbers, following cursors, the digest */
	store_init();
	put("a", 1, "AT a", 0);
	put("b", 1, "AT b", 0);
	put("c", 1, "AT c", 0);
	ok(store_head() == 3 && store_get("c", 1)->lseq == 3,
	    "each change takes the next lseq");
	ok(put("a", 1, "AT a", 0) == 0 && store_head() == 3,
	    "no change, no lseq");
	store_cursor_follow(&c, 1);
	ok(strcmp(walk(&c, buf, sizeof(buf)), "b c") == 0,
	    "a follower after lseq 1 starts at b: %s", buf);
	ok(c.active && store_cursor_pos(&c) == 3,
	    "a follower at the end stays, at the head");
	put("a", 2, "AT a2", 0);
	put("d", 1, "AT d", 0);
	ok(store_cursor_pos(&c) == 3, "new changes: still at 3");
	ok(store_cursor_next_upto(&c, 4) != NULL &&
	    store_cursor_next_upto(&c, 4) == NULL && store_cursor_pos(&c) == 4,
	    "a limit holds the follower back: at %llu",
	    (unsigned long long)store_cursor_pos(&c));
	ok(strcmp(walk(&c, buf, sizeof(buf)), "d") == 0 && c.active,
	    "past the limit, d: %s", buf);
	store_cursor_follow(&d, 5);
	ok(d.next == NULL && store_cursor_pos(&d) == 5,
	    "a follower after the head waits at the end");
	store_cursor_stop(&c);
	store_cursor_stop(&d);
	{
		struct store_digest	 one = *store_digest();

		ok(one.count == 4, "the digest counts records");
		put("e", 1, "AT e", 0);
		ok(store_digest()->sum != one.sum &&
		    store_digest()->part[store_bucket("e", 1)] !=
		    one.part[store_bucket("e", 1)], "a record moves the digest");
		store_free();
		store_init();
		/* the same content in another order: the same digest */
		put("e", 1, "AT e", 0);
		put("d", 1, "AT d", 0);
		put("c", 1, "AT c", 0);
		put("b", 1, "AT b", 0);
		put("a", 2, "AT a2", 0);
		ok(store_digest()->sum != one.sum, "five records differ");
		store_load("q", 1, &(struct htime){ 1, 0 }, "AT q", 4,
		    -1, 100);
		ok(store_head() == 100 && store_get("q", 1)->lseq == 100,
		    "a record read back keeps its lseq");
		store_load("q", 1, &(struct htime){ 0, 0 }, "AT q0", 5,
		    -1, 101);
		ok(strcmp(store_get("q", 1)->at, "AT q0") == 0,
		    "read back, a later record replaces an earlier one");
	}
	store_free();

	/* the table doubles a few slots at a time, found all the while */
	store_init();
	{
		static long	 when[1 << 16];	/* each id's time stamp */
		char		 id[32];
		size_t		 slots = store_slots(), left, most = 0, i, n;
		size_t		 pos = 0;
		int		 found = 1, steps = 0, same = 1;

		for (n = 0; store_rehash_left() == 0; n++) {
			snprintf(id, sizeof(id), "id%zu", n);
			put(id, when[n] = 1, "AT x", 0);
		}
		ok(n == 2 * slots + 1 && store_slots() == 2 * slots &&
		    store_rehash_left() > slots - 8,
		    "past two records a slot: a table twice as big, the old "
		    "one's %zu slots still to move", store_rehash_left());
		while ((left = store_rehash_left()) > 0) {
			snprintf(id, sizeof(id), "id%zu", n);
			put(id, when[n++] = 1, "AT x", 0);
			if (left - store_rehash_left() > most)
				most = left - store_rehash_left();
			for (i = steps % 97; i < n; i += 97) {
				snprintf(id, sizeof(id), "id%zu", i);
				found &= store_get(id, strlen(id)) != NULL;
			}
			steps++;
		}
		ok(found && steps > 1, "every record found while it moves "
		    "(%d puts)", steps);
		ok(most <= 4, "a put moves at most 4 slots: %zu", most);
		/* the next doubling: changes, then expiry, while it moves */
		while (store_rehash_left() == 0) {
			snprintf(id, sizeof(id), "id%zu", n);
			put(id, when[n++] = 1, "AT x", 0);
		}
		for (i = 0; i < n; i += 3) {
			snprintf(id, sizeof(id), "id%zu", i);
			same &= put(id, when[i] = 2, "AT y", 0) == 1;
		}
		ok(same && store_count() == n, "records changed while it "
		    "moves: changed, none twice");
		while (store_rehash_left() == 0) {
			snprintf(id, sizeof(id), "id%zu", n);
			put(id, when[n++] = 2, "AT y", 0);
		}
		ok(store_expire(&(struct htime){ 2, 0 }, &pos, 16) == 0,
		    "expiry while it moves: it helps the move, sweeps nothing");
		for (i = 0; i < 4 * store_slots(); i++)
			store_expire(&(struct htime){ 2, 0 }, &pos, 64);
		for (i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "id%zu", i);
			same &= (store_get(id, strlen(id)) != NULL) ==
			    (when[i] == 2);
		}
		ok(same && store_rehash_left() == 0, "then sweeps: the older "
		    "records gone, the newer kept");
	}
	store_free();
	return tap_done();
}
