/*
 * htime.c -- exact time stamp parsing and differences (see htime.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "htime.h"

static int
htime_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

int
htime_parse(const char *s, size_t len, struct htime *t)
{
	size_t	 i = 0, nd;
	int64_t	 sec = 0;
	int32_t	 nsec = 0;

	for (nd = 0; i < len && htime_isdigit(s[i]); i++, nd++) {
		if (nd == HTIME_SEC_DIGITS)
			return -1;
		sec = sec * 10 + (s[i] - '0');
	}
	if (nd == 0)
		return -1;
	if (i < len) {
		if (s[i++] != '.')
			return -1;
		for (nd = 0; i < len && htime_isdigit(s[i]); i++, nd++) {
			if (nd == 9)
				return -1;
			nsec = nsec * 10 + (s[i] - '0');
		}
		if (nd == 0 || i != len)
			return -1;
		for (; nd < 9; nd++)
			nsec *= 10;
	}
	t->sec = sec;
	t->nsec = nsec;
	return 0;
}

int
htime_parse_diff(const char *s, size_t len)
{
	size_t	 i, nd;

	if (len < 4 || (s[0] != '+' && s[0] != '-'))
		return -1;
	for (i = 1, nd = 0; i < len && htime_isdigit(s[i]); i++, nd++)
		;
	if (nd == 0 || nd > HTIME_SEC_DIGITS + 1 || i >= len || s[i] != '.')
		return -1;
	for (i++, nd = 0; i < len && htime_isdigit(s[i]); i++, nd++)
		;
	return nd == 9 && i == len ? 0 : -1;
}

int
htime_cmp(const struct htime *a, const struct htime *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->nsec != b->nsec)
		return a->nsec < b->nsec ? -1 : 1;
	return 0;
}

void
htime_now(struct htime *t)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	t->sec = ts.tv_sec;
	t->nsec = (int32_t)ts.tv_nsec;
}

size_t
htime_diff(char *buf, size_t size, const struct htime *a,
    const struct htime *b)
{
	const struct htime	*hi = a, *lo = b;
	int64_t			 sec;
	int32_t			 nsec;
	char			 sign = '+';
	int			 n;

	if (htime_cmp(a, b) < 0) {
		hi = b;
		lo = a;
		sign = '-';
	}
	sec = hi->sec - lo->sec;
	nsec = hi->nsec - lo->nsec;
	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	/* "<sign><sec>.<nine digits>", by hand: this is on every IAMAT */
	{
		char		 tmp[HTIME_DIFF_MAX + 24];
		size_t		 o = sizeof(tmp), len;
		uint64_t	 s = (uint64_t)sec;
		int		 i;

		for (i = 0; i < 9; i++) {
			tmp[--o] = (char)('0' + nsec % 10);
			nsec /= 10;
		}
		tmp[--o] = '.';
		do {
			tmp[--o] = (char)('0' + s % 10);
			s /= 10;
		} while (s > 0);
		tmp[--o] = sign;
		len = sizeof(tmp) - o;
		n = len >= size ? (int)size - 1 : (int)len;
		if (n < 0)
			return 0;
		memcpy(buf, tmp + o, (size_t)n);
		buf[n] = '\0';
		return (size_t)n;
	}
}
