/*
 * htime.h -- exact POSIX time stamps: integer seconds and nanoseconds.
 *
 * A client's time stamp "1621464827.959498503" has 19 significant digits, more
 * than a double holds, so the herd never goes through floating point.
 */
#ifndef HERD_HTIME_H
#define HERD_HTIME_H

#include <stddef.h>
#include <stdint.h>

#define HTIME_SEC_DIGITS	18	/* seconds: at most this many digits */
#define HTIME_DIFF_MAX		32	/* "+123456789012345678.123456789" */

struct htime {
	int64_t	 sec;
	int32_t	 nsec;		/* 0 .. 999999999 */
};

/*
 * Parse "SECONDS[.FRACTION]": 1..18 digits, then optionally a dot and 1..9
 * digits.  No sign, no white space, nothing else.  0 or -1.
 */
int	 htime_parse(const char *s, size_t len, struct htime *t);

/* Parse a signed difference "+S.NNNNNNNNN" / "-S.NNNNNNNNN" (9 digits). */
int	 htime_parse_diff(const char *s, size_t len);

int	 htime_cmp(const struct htime *a, const struct htime *b);

void	 htime_now(struct htime *t);

/*
 * Write a - b as "+S.NNNNNNNNN" or "-S.NNNNNNNNN" (always signed, always 9
 * fraction digits; zero is "+0.000000000").  Returns the length.
 */
size_t	 htime_diff(char *buf, size_t size, const struct htime *a,
	    const struct htime *b);

#endif /* HERD_HTIME_H */
