/*
 * test_htime.c -- exact time stamps and differences.
 */
#include <string.h>

#include "htime.h"
#include "tap.h"

static int
parses(const char *s)
{
	struct htime	 t;

	return htime_parse(s, strlen(s), &t) == 0;
}

static const char *
diff(const char *a, const char *b)
{
	static char	 buf[HTIME_DIFF_MAX];
	struct htime	 ta, tb;

	if (htime_parse(a, strlen(a), &ta) == -1 ||
	    htime_parse(b, strlen(b), &tb) == -1)
		return "parse error";
	htime_diff(buf, sizeof(buf), &ta, &tb);
	return buf;
}

int
main(void)
{
	static const char *good[] = { "0", "1621464827", "1621464827.9",
	    "1621464827.95", "1621464827.959", "1621464827.9594",
	    "1621464827.95949", "1621464827.959498", "1621464827.9594985",
	    "1621464827.95949850", "1621464827.959498503",
	    "000000001621464827.000000000", "999999999999999999" };
	static const char *bad[] = { "", ".", "1.", ".5", "+1", "-1", "1e9",
	    "1621464827.9594985031", "1 2", "0x10", "1621464827,5", "nan",
	    "inf", "1.2.3", "1234567890123456789", " 1", "1 " };
	struct htime	 t;
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(parses(good[i]), "parses \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!parses(bad[i]), "rejects \"%s\"", bad[i]);

	ok(htime_parse("1621464827.9", 12, &t) == 0 && t.sec == 1621464827 &&
	    t.nsec == 900000000, "one fraction digit is 900000000 ns");
	ok(htime_parse("12.000000001", 12, &t) == 0 && t.nsec == 1,
	    "nine fraction digits are exact");
	ok(htime_parse("12.5xyz", 4, &t) == 0 && t.nsec == 500000000,
	    "never reads past len");

	ok(strcmp(diff("1621464828.223372889", "1621464827.959498503"),
	    "+0.263874386") == 0, "positive difference, exact");
	ok(strcmp(diff("1621464827.959498503", "1621464828.223372889"),
	    "-0.263874386") == 0, "negative difference (client ahead)");
	ok(strcmp(diff("5", "5"), "+0.000000000") == 0,
	    "zero is +0.000000000");
	ok(strcmp(diff("10.1", "9.9"), "+0.200000000") == 0,
	    "borrow across the second");
	ok(strcmp(diff("9.9", "10.1"), "-0.200000000") == 0,
	    "negative borrow across the second");
	ok(strcmp(diff("1700000000.000000001", "0"),
	    "+1700000000.000000001") == 0, "19 digits survive");
	ok(strcmp(diff("0", "999999999999999999.999999999"),
	    "-999999999999999999.999999999") == 0, "largest time stamp");

	ok(htime_parse_diff("+0.263873386", 12) == 0, "diff +0.263873386");
	ok(htime_parse_diff("-12.000000000", 13) == 0, "diff -12.000000000");
	ok(htime_parse_diff("0.263873386", 11) == -1, "diff needs a sign");
	ok(htime_parse_diff("+0.26387338", 11) == -1, "diff needs 9 digits");
	ok(htime_parse_diff("+.263873386", 11) == -1, "diff needs seconds");
	return tap_done();
}
