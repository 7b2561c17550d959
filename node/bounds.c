/*
 * bounds.c -- whether a server takes a report (see bounds.h).
 */
#include "bounds.h"

void
bounds_now(double t, struct htime *now)
{
	now->sec = (int64_t)t;
	now->nsec = (int32_t)((t - (double)now->sec) * 1e9);
	if (now->nsec < 0 || now->nsec > 999999999)
		now->nsec = 0;
}

void
bounds_expiry(const struct herd_limits *l, const struct htime *now,
    struct htime *before)
{
	before->sec = now->sec - (int64_t)l->expire_s;
	before->nsec = now->nsec;
}

int
bounds_expired(const struct herd_limits *l, const struct htime *t,
    const struct htime *now)
{
	struct htime	 before;

	if (l->expire_s <= 0)
		return 0;
	bounds_expiry(l, now, &before);
	return htime_cmp(t, &before) < 0;
}

long long
bounds_room(const struct herd_limits *l, int from_peer)
{
	return l->max_clients + (from_peer ? l->max_clients / 8 : 0);
}

int
bounds_full(const struct herd_limits *l, size_t count, int from_peer)
{
	return l->max_clients > 0 &&
	    (long long)count >= bounds_room(l, from_peer);
}

enum bounds_verdict
bounds_judge(const struct herd_limits *l, const struct htime *t,
    const struct htime *now, int is_new, size_t count, int from_peer)
{
	struct htime	 ahead;

	if (l->max_clock_skew > 0) {
		ahead.sec = now->sec + (int64_t)l->max_clock_skew;
		ahead.nsec = now->nsec;
		if (htime_cmp(t, &ahead) > 0)
			return BOUNDS_SKEW;
	}
	if (bounds_expired(l, t, now))
		return BOUNDS_EXPIRED;
	if (is_new && bounds_full(l, count, from_peer))
		return BOUNDS_FULL;
	return BOUNDS_OK;
}

const char *
bounds_why(enum bounds_verdict v)
{
	switch (v) {
	case BOUNDS_FULL:
		return "table full (max_clients)";
	case BOUNDS_SKEW:
		return "time stamp ahead of our clock (max_clock_skew)";
	case BOUNDS_EXPIRED:
		return "older than expire_s";
	default:
		return "taken";
	}
}
