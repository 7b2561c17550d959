/*
 * backoff.c -- the restart policy's arithmetic (see backoff.h): pure.
 *
 * Copyright (c) 2026 The herd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */
#include <sys/wait.h>

#include <signal.h>

#include "backoff.h"

long
backoff_delay_ms(unsigned int crashes, int healthy, int delay_ms, int max_ms)
{
	unsigned int	 n = crashes;
	long		 d;

	if (healthy && n > 0)
		n--;			/* the first crash costs nothing */
	if (n == 0)
		return 0;
	d = delay_ms;
	while (--n > 0 && d < max_ms)
		d *= 2;
	return d > max_ms ? max_ms : d;
}

int
backoff_crash_loop(const double *at, unsigned int n, int burst, int interval_s)
{
	if (burst <= 0 || n < (unsigned int)burst)
		return 0;
	/* the last burst crashes, oldest first: at[n - burst] .. at[n - 1] */
	return at[n - 1] - at[n - (unsigned int)burst] <= interval_s;
}

int
backoff_from_outside(int status, int by_herdd, int by_request)
{
	if (by_herdd)
		return 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0;
	if (!WIFSIGNALED(status))
		return 0;
	if (by_request)
		return 1;
	switch (WTERMSIG(status)) {
	case SIGKILL:
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
		return 1;
	default:
		return 0;
	}
}
