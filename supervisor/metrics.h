/*
 * metrics.h -- the herd's counters in the Prometheus text format (0.0.4),
 * for herdctl metrics and GET /metrics (herdd(8), METRICS).
 */
#ifndef HERD_METRICS_H
#define HERD_METRICS_H

#include <stddef.h>

/* The exposition of every server run here, NUL-ended; NULL: no memory. */
char	*metrics_text(size_t *lenp);

#endif /* HERD_METRICS_H */
