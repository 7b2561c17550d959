/*
 * notify.c -- records between a worker and herdd (see notify.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "notify.h"

const char *const notify_ctr_key[NOTIFY_C_N] = {
	"iamat", "whatsat", "invalid", "upd_client", "upd_peer", "stale",
	"pl_ok", "pl_error", "pl_timeout", "pl_cancel", "pl_usec", "cu_sent",
	"cu_recv", "peer_bytes", "ihave", "graft", "prune", "eager_sent",
	"ref_full_c", "ref_full_p", "ref_skew_c", "ref_skew_p", "ref_exp_c",
	"ref_exp_p", "expired", "conn_server", "conn_addr", "conn_fds",
};

const double notify_hist_le[NOTIFY_HIST_N - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10,
};

size_t
notify_hist_bucket(double seconds)
{
	size_t	 i;

	for (i = 0; i < NOTIFY_HIST_N - 1; i++)
		if (seconds <= notify_hist_le[i])
			break;
	return i;
}

static int
notify_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal number filling [p, end): 0, or -1. */
static int
notify_ull(const char *p, const char *end, unsigned long long *out)
{
	unsigned long long v = 0;

	if (p >= end || end - p > 20)
		return -1;
	for (; p < end; p++) {
		if (!notify_digit(*p) ||
		    v > (~0ULL - (unsigned long long)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	*out = v;
	return 0;
}

static int
notify_ulong(const char *p, const char *end, unsigned long *out)
{
	unsigned long long v;

	if (notify_ull(p, end, &v) == -1 || v > ~0UL)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int
notify_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    notify_digit(c) || c == '.' || c == '_' || c == '-';
}

/* pl_hist=: exactly NOTIFY_HIST_N numbers, comma-separated. */
static int
notify_hist(const char *p, const char *end, unsigned long long *hist)
{
	const char	*q;
	size_t		 i;

	for (i = 0; i < NOTIFY_HIST_N; i++) {
		if ((q = memchr(p, ',', (size_t)(end - p))) == NULL)
			q = end;
		if ((q == end) != (i == NOTIFY_HIST_N - 1) ||
		    notify_ull(p, q, &hist[i]) == -1)
			return -1;
		p = q + 1;
	}
	return 0;
}

/* flood=: "-", or name:count pairs, comma-separated, each name once. */
static int
notify_flood(const char *p, const char *end, struct notify_msg *msg)
{
	const char	*q, *colon;
	size_t		 i, n;

	if (end - p == 1 && *p == '-')
		return 0;
	while (p < end) {
		if ((q = memchr(p, ',', (size_t)(end - p))) == NULL)
			q = end;
		if ((colon = memchr(p, ':', (size_t)(q - p))) == NULL ||
		    colon == p || colon - p > NOTIFY_NAME_MAX ||
		    msg->nflood == NOTIFY_FLOOD_MAX)
			return -1;
		n = (size_t)(colon - p);
		for (i = 0; i < n; i++)
			if (!notify_namechar(p[i]))
				return -1;
		for (i = 0; i < msg->nflood; i++)
			if (strlen(msg->flood[i].name) == n &&
			    memcmp(msg->flood[i].name, p, n) == 0)
				return -1;
		memcpy(msg->flood[msg->nflood].name, p, n);
		msg->flood[msg->nflood].name[n] = '\0';
		if (notify_ull(colon + 1, q, &msg->flood[msg->nflood].n) == -1)
			return -1;
		msg->nflood++;
		if (q == end)
			return 0;
		p = q + 1;
		if (p == end)
			return -1;	/* a trailing comma */
	}
	return -1;			/* empty */
}

/* A list of server names, or "-" for none, into dst (size NOTIFY_LIST_MAX). */
static int
notify_names(const char *p, const char *end, char *dst)
{
	const char	*q;
	size_t		 n = (size_t)(end - p);

	if (n == 0 || n >= NOTIFY_LIST_MAX)
		return -1;
	if (n == 1 && *p == '-') {
		dst[0] = '\0';
		return 0;
	}
	for (q = p; q < end; q++)
		if (!notify_namechar(*q) && *q != ',')
			return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* A byte that may stand in a key's name in keys= (notify.h). */
static int
notify_keychar(char c)
{
	return c > ' ' && c < 0x7f && c != ',' && c != '=' && c != '"' &&
	    c != '\\';
}

/*
 * The end of the pair of a keys list at p (name=key, up to a comma or
 * end), or NULL when it is not one.
 */
static const char *
notify_pair(const char *p, const char *end)
{
	const char	*eq, *q;

	for (q = p; q < end && notify_namechar(*q); q++)
		;
	if (q == p || q - p > NOTIFY_NAME_MAX || q == end || *q != '=')
		return NULL;
	eq = q;
	for (q = eq + 1; q < end && notify_keychar(*q); q++)
		;
	if (q == eq + 1 || q - (eq + 1) > NOTIFY_KEY_MAX ||
	    (q < end && *q != ','))
		return NULL;
	return q;
}

/*
 * keys=, keys_in=: "-", or name=key pairs, comma-separated, each name
 * once, into dst (size NOTIFY_LIST_MAX).
 */
static int
notify_keys(const char *p, const char *end, char *dst)
{
	const char	*start = p, *q, *o;
	size_t		 n = (size_t)(end - p);

	if (n == 1 && *p == '-') {
		dst[0] = '\0';
		return 0;
	}
	if (n == 0 || n >= NOTIFY_LIST_MAX)
		return -1;
	for (;;) {
		if ((q = notify_pair(p, end)) == NULL)
			return -1;
		/* its name, against those before it */
		n = (size_t)((const char *)memchr(p, '=', (size_t)(q - p)) - p);
		for (o = start; o < p; o = notify_pair(o, end) + 1)
			if (o[n] == '=' && memcmp(o, p, n) == 0)
				return -1;
		if (q == end)
			break;
		p = q + 1;
		if (p == end)
			return -1;	/* a trailing comma */
	}
	memcpy(dst, start, (size_t)(end - start));
	dst[end - start] = '\0';
	return 0;
}

int
notify_keys_add(char *list, size_t size, const char *name, const char *key)
{
	size_t	 o = strlen(list), nl = strlen(name), kl = strlen(key), i;

	if (kl > NOTIFY_KEY_MAX)
		kl = NOTIFY_KEY_MAX;
	if (nl == 0 || kl == 0 || o + (o > 0) + nl + 1 + kl >= size)
		return -1;
	if (o > 0)
		list[o++] = ',';
	memcpy(list + o, name, nl);
	o += nl;
	list[o++] = '=';
	for (i = 0; i < kl; i++)
		list[o++] = notify_keychar(key[i]) ? key[i] : '?';
	list[o] = '\0';
	return 0;
}

int
notify_keys_next(const char **cursor, char *name, char *key)
{
	const char	*p = *cursor, *eq, *q;

	if (*p == '\0' || (eq = strchr(p, '=')) == NULL)
		return 0;
	if ((q = strchr(eq, ',')) == NULL)
		q = eq + strlen(eq);
	snprintf(name, NOTIFY_NAME_MAX + 1, "%.*s", (int)(eq - p), p);
	snprintf(key, NOTIFY_KEY_MAX + 1, "%.*s", (int)(q - eq - 1), eq + 1);
	*cursor = *q == ',' ? q + 1 : q;
	return 1;
}

/* One key=value field of a STATS record. */
static int
notify_field(const char *p, const char *end, struct notify_msg *msg)
{
	const char	*eq = memchr(p, '=', (size_t)(end - p)), *v, *q;
	size_t		 klen;
	unsigned int	 bit;
	size_t		 i;

	if (eq == NULL || eq == p)
		return -1;
	klen = (size_t)(eq - p);
	v = eq + 1;
	for (i = 0; i < NOTIFY_C_N; i++)
		if (strlen(notify_ctr_key[i]) == klen &&
		    memcmp(p, notify_ctr_key[i], klen) == 0) {
			if (msg->have_ctr & (1u << i))
				return -1;	/* twice */
			msg->have_ctr |= 1u << i;
			/* a value of another shape (another version): unsaid */
			if (notify_ull(v, end, &msg->ctr[i]) == -1) {
				msg->have_ctr &= ~(1u << i);
				msg->ctr[i] = 0;
			}
			return 0;
		}
#define KEY(s)	(klen == sizeof(s) - 1 && memcmp(p, s, klen) == 0)
	if (KEY("clients"))
		bit = NOTIFY_F_CLIENTS;
	else if (KEY("conns"))
		bit = NOTIFY_F_CONNS;
	else if (KEY("links"))
		bit = NOTIFY_F_LINKS;
	else if (KEY("eager"))
		bit = NOTIFY_F_EAGER;
	else if (KEY("synced"))
		bit = NOTIFY_F_SYNCED;
	else if (KEY("journal"))
		bit = NOTIFY_F_JOURNAL;
	else if (KEY("jbytes"))
		bit = NOTIFY_F_JBYTES;
	else if (KEY("pl_hist"))
		bit = NOTIFY_F_HIST;
	else if (KEY("flood"))
		bit = NOTIFY_F_FLOOD;
	else if (KEY("keys"))
		bit = NOTIFY_F_KEYS;
	else if (KEY("keys_in"))
		bit = NOTIFY_F_KEYS_IN;
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
	case NOTIFY_F_EAGER:
		return notify_names(v, end, msg->eager);
	case NOTIFY_F_SYNCED:
		return notify_names(v, end, msg->synced);
	/*
	 * The counters' fields: a value of another shape (a worker of
	 * another version, say) leaves the field unsaid, not the record bad,
	 * which also carries the figures a reload waits for.
	 */
	case NOTIFY_F_JBYTES:
		if (notify_ull(v, end, &msg->jbytes) == -1)
			msg->jbytes = 0, msg->have &= ~bit;
		return 0;
	case NOTIFY_F_HIST:
		if (notify_hist(v, end, msg->hist) == -1)
			memset(msg->hist, 0, sizeof(msg->hist)), msg->have &= ~bit;
		return 0;
	case NOTIFY_F_FLOOD:
		if (notify_flood(v, end, msg) == -1)
			msg->nflood = 0, msg->have &= ~bit;
		return 0;
	case NOTIFY_F_KEYS:
	case NOTIFY_F_KEYS_IN:
		if (notify_keys(v, end, bit == NOTIFY_F_KEYS ? msg->keys :
		    msg->keys_in) == -1)
			msg->have &= ~bit;
		return 0;
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

/* Append to buf at *off; 0, or -1 when it does not fit. */
static int
notify_put(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (*off >= size)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

size_t
notify_format_stats(char *buf, size_t size, const struct notify_msg *m)
{
	size_t	 off = 0, i;
	int	 rc;

	rc = notify_put(buf, size, &off, "STATS");
	if (m->have & NOTIFY_F_CLIENTS)
		rc |= notify_put(buf, size, &off, " clients=%lu", m->clients);
	if (m->have & NOTIFY_F_CONNS)
		rc |= notify_put(buf, size, &off, " conns=%lu", m->conns);
	if (m->have & NOTIFY_F_LINKS)
		rc |= notify_put(buf, size, &off, " links=%s",
		    m->links[0] != '\0' ? m->links : "-");
	if (m->have & NOTIFY_F_EAGER)
		rc |= notify_put(buf, size, &off, " eager=%s",
		    m->eager[0] != '\0' ? m->eager : "-");
	if (m->have & NOTIFY_F_SYNCED)
		rc |= notify_put(buf, size, &off, " synced=%s",
		    m->synced[0] != '\0' ? m->synced : "-");
	if (m->have & NOTIFY_F_JOURNAL)
		rc |= notify_put(buf, size, &off, " journal=%s", m->journal);
	if (m->have & NOTIFY_F_JBYTES)
		rc |= notify_put(buf, size, &off, " jbytes=%llu", m->jbytes);
	for (i = 0; i < NOTIFY_C_N; i++)
		if (m->have_ctr & (1u << i))
			rc |= notify_put(buf, size, &off, " %s=%llu",
			    notify_ctr_key[i], m->ctr[i]);
	if (m->have & NOTIFY_F_HIST)
		for (i = 0; i < NOTIFY_HIST_N; i++)
			rc |= notify_put(buf, size, &off, "%s%llu",
			    i == 0 ? " pl_hist=" : ",", m->hist[i]);
	if (m->have & NOTIFY_F_FLOOD) {
		if (m->nflood == 0)
			rc |= notify_put(buf, size, &off, " flood=-");
		for (i = 0; i < m->nflood; i++)
			rc |= notify_put(buf, size, &off, "%s%s:%llu",
			    i == 0 ? " flood=" : ",", m->flood[i].name,
			    m->flood[i].n);
	}
	if (m->have & NOTIFY_F_KEYS)
		rc |= notify_put(buf, size, &off, " keys=%s",
		    m->keys[0] != '\0' ? m->keys : "-");
	if (m->have & NOTIFY_F_KEYS_IN)
		rc |= notify_put(buf, size, &off, " keys_in=%s",
		    m->keys_in[0] != '\0' ? m->keys_in : "-");
	rc |= notify_put(buf, size, &off, "\n");
	if (rc != 0 || off == 6)	/* no fields: not a record */
		return 0;
	return off;
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
