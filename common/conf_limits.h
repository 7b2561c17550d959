/*
 * conf_limits.h -- the [herd] keys of struct herd_limits (herd.ini(5)
 * LIMITS): what a client may cost a server.  Pure.
 */
#ifndef HERD_CONF_LIMITS_H
#define HERD_CONF_LIMITS_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

/*
 * Set key k to v in l when k is one of them: 1 (err[0] is then '\0', or
 * what is wrong with v), 0 when k is another key.
 */
int	 conf_limits_key(struct herd_limits *l, const char *k, const char *v,
	    char *err, size_t errlen);

/*
 * A size: digits with an optional suffix k, M or G (powers of 1024), from
 * lo to hi bytes; -1 when it is not one.
 */
int	 conf_size(const char *s, long long lo, long long hi, long long *out);

/* The keys as conf_print writes them. */
void	 conf_limits_print(FILE *fp, const struct herd_limits *l);

#endif /* HERD_CONF_LIMITS_H */
