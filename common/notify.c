/*
 * notify.c -- records between a worker and herdd (see notify.h).
 */
#include <stdio.h>
#include <string.h>

#include "notify.h"

static int
notify_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal number filling [p, end): 0, or -1. */
static int
notify_ulong(const char *p, const char *end, unsigned long *out)
{
	unsigned long	 v = 0;

	if (p >= end)
		return -1;
	for (; p < end; p++) {
		if (!notify_digit(*p) || v > (~0UL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*out = v;
	return 0;
}

/* A list of server names, or "-" for none, into dst (size NOTIFY_LINE_MAX). */
static int
notify_names(const char *p, const char *end, char *dst)
{
	const char	*q;
	size_t		 n = (size_t)(end - p);

	if (n == 0 || n >= NOTIFY_LINE_MAX)
		return -1;
	if (n == 1 && *p == '-') {
		dst[0] = '\0';
		return 0;
	}
	for (q = p; q < end; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    notify_digit(*q) || *q == '.' || *q == '_' || *q == '-' ||
		    *q == ','))
			return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* One key=value field of a STATS record. */
static int
notify_field(const char *p, const char *end, struct notify_msg *msg)
{
	const char	*eq = memchr(p, '=', (size_t)(end - p)), *v, *q;
	size_t		 klen;
	unsigned int	 bit;

	if (eq == NULL || eq == p)
		return -1;
	klen = (size_t)(eq - p);
	v = eq + 1;
#define KEY(s)	(klen == sizeof(s) - 1 && memcmp(p, s, klen) == 0)
	if (KEY("clients"))
		bit = NOTIFY_F_CLIENTS;
	else if (KEY("conns"))
		bit = NOTIFY_F_CONNS;
	else if (KEY("links"))
		bit = NOTIFY_F_LINKS;
	else if (KEY("synced"))
		bit = NOTIFY_F_SYNCED;
	else if (KEY("journal"))
		bit = NOTIFY_F_JOURNAL;
	else {
		/* someone else's: a word of its own, skipped */
		for (q = p; q < eq; q++)
			if (!((*q >= 'a' && *q <= 'z') || *q == '_' ||
			    notify_digit(*q)))
				return -1;
		return 0;
	}
#undef KEY
	if (msg->have & bit)
		return -1;		/* twice */
	msg->have |= bit;
	switch (bit) {
	case NOTIFY_F_CLIENTS:
		return notify_ulong(v, end, &msg->clients);
	case NOTIFY_F_CONNS:
		return notify_ulong(v, end, &msg->conns);
	case NOTIFY_F_LINKS:
		return notify_names(v, end, msg->links);
	case NOTIFY_F_SYNCED:
		return notify_names(v, end, msg->synced);
	default:			/* journal */
		if (v == end || (size_t)(end - v) >= sizeof(msg->journal))
			return -1;
		for (q = v; q < end; q++)
			if (!(*q >= 'a' && *q <= 'z'))
				return -1;
		memcpy(msg->journal, v, (size_t)(end - v));
		msg->journal[end - v] = '\0';
		return 0;
	}
}

static int
notify_stats(const char *p, const char *end, struct notify_msg *msg)
{
	const char	*sp;

	while (p < end) {
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
			sp = end;
		if (notify_field(p, sp, msg) == -1)
			return -1;
		if (sp == end)
			break;
		p = sp + 1;
		if (p == end)
			return -1;	/* a trailing space */
	}
	msg->type = NOTIFY_STATS;
	return 0;
}

int
notify_parse(const char *line, size_t len, struct notify_msg *msg)
{
	const char	*end = line + len, *p;

	memset(msg, 0, sizeof(*msg));
	if (len == 5 && memcmp(line, "READY", 5) == 0) {
		msg->type = NOTIFY_READY;
		return 0;
	}
	if (len > 6 && memcmp(line, "STATS ", 6) == 0)
		return notify_stats(line + 6, end, msg);
	if (len > 5 && (memcmp(line, "PING ", 5) == 0 ||
	    memcmp(line, "PONG ", 5) == 0)) {
		if (notify_ulong(line + 5, end, &msg->seq) == -1)
			return -1;
		msg->type = line[1] == 'I' ? NOTIFY_PING : NOTIFY_PONG;
		return 0;
	}
	if (len > 6 && memcmp(line, "ERROR ", 6) == 0) {
		if (len - 6 > NOTIFY_TEXT_MAX)
			return -1;
		for (p = line + 6; p < end; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
		memcpy(msg->text, line + 6, len - 6);
		msg->text[len - 6] = '\0';
		msg->type = NOTIFY_ERROR;
		return 0;
	}
	return -1;
}

size_t
notify_format_stats(char *buf, size_t size, unsigned long clients,
    unsigned long conns, const char *links, const char *synced,
    const char *journal)
{
	int	 n;

	n = snprintf(buf, size, "STATS clients=%lu conns=%lu links=%s "
	    "synced=%s%s%s\n", clients, conns, links[0] != '\0' ? links : "-",
	    synced[0] != '\0' ? synced : "-", journal != NULL ? " journal=" :
	    "", journal != NULL ? journal : "");
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}

size_t
notify_format_error(char *buf, size_t size, const char *text)
{
	size_t	 i, n = strlen(text);

	if (size < 8)
		return 0;
	if (n > NOTIFY_TEXT_MAX)
		n = NOTIFY_TEXT_MAX;
	if (n > size - 8)
		n = size - 8;
	memcpy(buf, "ERROR ", 6);
	for (i = 0; i < n; i++)
		buf[6 + i] = ((unsigned char)text[i] < 0x20 ||
		    text[i] == 0x7f) ? ' ' : text[i];
	if (n == 0)
		buf[6 + n++] = '?';	/* never an empty text */
	buf[6 + n] = '\n';
	buf[7 + n] = '\0';
	return 7 + n;
}
