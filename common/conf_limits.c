/*
 * conf_limits.c -- the [herd] keys of what a client may cost (see
 * conf_limits.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_limits.h"

#define CONF_BIG	1000000000000LL		/* 10^12: "no bound" enough */

/* Each key: where it goes, its range, and whether it takes a suffix. */
static const struct conf_limit_key {
	const char	*name;
	size_t		 off;
	long long	 lo, hi;
	int		 size;
} conf_limit_keys[] = {
	{ "max_clients", offsetof(struct herd_limits, max_clients), 0,
	    CONF_BIG, 0 },
	{ "expire_s", offsetof(struct herd_limits, expire_s), 0,
	    100LL * 365 * 86400, 0 },
	{ "max_clock_skew", offsetof(struct herd_limits, max_clock_skew), 0,
	    100LL * 365 * 86400, 0 },
	{ "max_connections", offsetof(struct herd_limits, max_connections), 0,
	    CONF_BIG, 0 },
	{ "max_connections_per_address",
	    offsetof(struct herd_limits, max_conn_addr), 0, CONF_BIG, 0 },
	{ "log_max_size", offsetof(struct herd_limits, log_max_size), 0,
	    1LL << 50, 1 },
	{ "log_keep", offsetof(struct herd_limits, log_keep), 0, 100, 0 },
};

#define CONF_NLIMITS	(sizeof(conf_limit_keys) / sizeof(conf_limit_keys[0]))

int
conf_size(const char *s, long long lo, long long hi, long long *out)
{
	char		*end;
	long long	 v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K': mul = 1LL << 10; break;
		case 'm': case 'M': mul = 1LL << 20; break;
		case 'g': case 'G': mul = 1LL << 30; break;
		default: return -1;
		}
		if (end[1] != '\0' || v > hi / mul)
			return -1;
	}
	v *= mul;
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
conf_limits_key(struct herd_limits *l, const char *k, const char *v,
    char *err, size_t errlen)
{
	const struct conf_limit_key	*ck;
	long long			 n;
	size_t				 i;

	for (i = 0; i < CONF_NLIMITS; i++)
		if (strcmp(k, conf_limit_keys[i].name) == 0)
			break;
	if (i == CONF_NLIMITS)
		return 0;
	ck = &conf_limit_keys[i];
	err[0] = '\0';
	if (conf_size(v, ck->lo, ck->hi, &n) == -1 ||
	    (!ck->size && !isdigit((unsigned char)v[strlen(v) - 1])))
		snprintf(err, errlen, "%s: expected %s from %lld to %lld (0: no "
		    "bound), not \"%s\"", k, ck->size ? "a size (bytes, or "
		    "with k, M or G)" : "an integer", ck->lo, ck->hi, v);
	else
		*(long long *)(void *)((char *)l + ck->off) = n;
	return 1;
}

void
conf_limits_print(FILE *fp, const struct herd_limits *l)
{
	size_t	 i;

	for (i = 0; i < CONF_NLIMITS; i++)
		fprintf(fp, "%s = %lld\n", conf_limit_keys[i].name,
		    *(const long long *)(const void *)((const char *)l +
		    conf_limit_keys[i].off));
}
