/*
 * admit.c -- places for client connections, in all and per address (see
 * admit.h): a hash table of the addresses that hold any.
 */
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "admit.h"
#include "conf.h"
#include "counters.h"
#include "log.h"

#define ADMIT_SLOTS	4096		/* chains; grows never: a few each */
#define ADMIT_HOST_MAX	64

struct admit_addr {
	struct admit_addr *next;
	size_t		 n;		/* connections from it */
	char		 host[ADMIT_HOST_MAX];
};

static struct admit_addr *admit_tab[ADMIT_SLOTS];
static long long	 admit_max = 10000, admit_max_addr = 1024;
static size_t		 admit_n;
static ev_tstamp	 admit_said;
static unsigned long	 admit_quiet;	/* refused since the last said */

void
admit_set(const struct herd_limits *l)
{
	admit_max = l->max_connections;
	admit_max_addr = l->max_conn_addr;
}

void
admit_descriptors(const struct herd_limits *l, size_t others)
{
	struct rlimit	 rl;
	rlim_t		 want;

	if (l->max_connections <= 0 || getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want = (rlim_t)l->max_connections + (rlim_t)others;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("max_connections %lld wants %llu descriptors, and "
		    "the limit is %llu: connections past about %llu are closed "
		    "at once (raise the hard limit: ulimit -Hn, systemd's "
		    "LimitNOFILE)", l->max_connections,
		    (unsigned long long)want,
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(rl.rlim_cur > others ?
		    rl.rlim_cur - others : 0));
}

/* addr's host: all but the ":port" at its end. */
static size_t
admit_host(const char *addr)
{
	const char	*colon = strrchr(addr, ':');
	size_t		 n = colon != NULL ? (size_t)(colon - addr) :
			    strlen(addr);

	return n < ADMIT_HOST_MAX ? n : ADMIT_HOST_MAX - 1;
}

static struct admit_addr **
admit_find(const char *addr, size_t n)
{
	struct admit_addr	**pp;
	unsigned		  h = 2166136261u;
	size_t			  i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)addr[i]) * 16777619u;
	for (pp = &admit_tab[h % ADMIT_SLOTS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (strncmp((*pp)->host, addr, n) == 0 &&
		    (*pp)->host[n] == '\0')
			break;
	return pp;
}

/* Say a refusal now, or count it for the next (once a second). */
static void
admit_refused(const char *addr, const char *why)
{
	ev_tstamp	 now = ev_now(EV_DEFAULT);

	if (now - admit_said < 1.0) {
		admit_quiet++;
		return;
	}
	if (admit_quiet > 0)
		log_warnx("client %s refused: %s (and %lu more refused since "
		    "the last said)", addr, why, admit_quiet);
	else
		log_warnx("client %s refused: %s", addr, why);
	admit_said = now;
	admit_quiet = 0;
}

int
admit_take(const char *addr)
{
	struct admit_addr	**pp, *a;
	size_t			  n = admit_host(addr);

	if (admit_max > 0 && (long long)admit_n >= admit_max) {
		COUNT(CONN_SERVER);
		admit_refused(addr, "max_connections reached");
		return 0;
	}
	pp = admit_find(addr, n);
	if ((a = *pp) != NULL && admit_max_addr > 0 &&
	    (long long)a->n >= admit_max_addr) {
		COUNT(CONN_ADDR);
		admit_refused(addr, "max_connections_per_address reached");
		return 0;
	}
	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL) {
			log_warnx("client %s refused: out of memory", addr);
			return 0;
		}
		memcpy(a->host, addr, n);
		*pp = a;
	}
	a->n++;
	admit_n++;
	return 1;
}

void
admit_release(const char *addr)
{
	struct admit_addr	**pp, *a;

	pp = admit_find(addr, admit_host(addr));
	if ((a = *pp) == NULL)
		return;
	admit_n--;
	if (--a->n == 0) {
		*pp = a->next;
		free(a);
	}
}

size_t
admit_count(void)
{
	return admit_n;
}

void
admit_free(void)
{
	struct admit_addr	*a;
	size_t			 i;

	for (i = 0; i < ADMIT_SLOTS; i++)
		while ((a = admit_tab[i]) != NULL) {
			admit_tab[i] = a->next;
			free(a);
		}
	admit_n = 0;
}
