/*
 * notify.c -- records from a worker to herdd (see notify.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

static int
notify_ulong(const char **p, const char *end, unsigned long *out)
{
	unsigned long	 v = 0;
	const char	*s = *p;

	if (s >= end || !isdigit((unsigned char)*s))
		return -1;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (v > (~0UL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

int
notify_parse(const char *line, size_t len, struct notify_msg *msg)
{
	const char	*p = line, *end = line + len;
	size_t		 n;

	memset(msg, 0, sizeof(*msg));
	if (len == 5 && memcmp(line, "READY", 5) == 0) {
		msg->type = NOTIFY_READY;
		return 0;
	}
	if (len < 6 || memcmp(line, "STATS ", 6) != 0)
		return -1;
	p += 6;
	if (notify_ulong(&p, end, &msg->clients) == -1 || p >= end ||
	    *p++ != ' ' || notify_ulong(&p, end, &msg->conns) == -1 ||
	    p >= end || *p++ != ' ' || p >= end)
		return -1;
	{
		const char *sp = memchr(p, ' ', (size_t)(end - p)), *w;

		if (sp != NULL) {	/* " journal=<word>" after the links */
			w = sp + 1;
			if ((size_t)(end - w) < 9 || memcmp(w, "journal=", 8) != 0 ||
			    (size_t)(end - w - 8) >= sizeof(msg->journal))
				return -1;
			for (w += 8; w < end; w++)
				if (!isalpha((unsigned char)*w))
					return -1;
			memcpy(msg->journal, sp + 9, (size_t)(end - sp - 9));
			msg->journal[end - sp - 9] = '\0';
			end = sp;
		}
	}
	n = (size_t)(end - p);
	if (n == 1 && *p == '-')
		n = 0;
	else {
		const char *q;

		for (q = p; q < end; q++)
			if (!isalnum((unsigned char)*q) && *q != '.' &&
			    *q != '_' && *q != '-' && *q != ',')
				return -1;
	}
	if (n >= sizeof(msg->links))
		return -1;
	memcpy(msg->links, p, n);
	msg->links[n] = '\0';
	msg->type = NOTIFY_STATS;
	return 0;
}

size_t
notify_format_stats(char *buf, size_t size, unsigned long clients,
    unsigned long conns, const char *links, const char *journal)
{
	int	 n;

	n = snprintf(buf, size, "STATS %lu %lu %s%s%s\n", clients, conns,
	    links[0] != '\0' ? links : "-", journal != NULL ? " journal=" : "",
	    journal != NULL ? journal : "");
	if (n < 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}
