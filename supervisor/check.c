/*
 * check.c -- herdd's checks of a configuration against this machine (see
 * check.h): the data set is loaded whole, with the node's own loader
 * (common/offline_load.c), so that what passes here is what a worker will
 * take.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "conf_tls.h"
#include "local.h"
#include "log.h"
#include "offline.h"
#include "paths.h"
#include "topo.h"

#define CHECK_MSG_MAX	(HERD_PATH_MAX + 1024)
#define CHECK_PAGE_MAX	(1024 * 1024)	/* as http.c reads it */

static int	 check_read(const char *, char *, size_t);
static void	 check_ports(const struct herd_conf *, const unsigned char *,
		    check_warn_cb *);

void
check_warn_stderr(const char *msg)
{
	fprintf(stderr, "herdd: warning: %s\n", msg);
}

void
check_warn_log(const char *msg)
{
	log_warnx("%s", msg);
}

/* The data set loaded (*dbp), or -1 with "file:line: ..." in err. */
static int
check_load(const struct herd_conf *cf, struct offline_db **dbp, char *err,
    size_t errlen)
{
	const struct herd_places_conf	*pl = &cf->places;
	char				 why[512];

	if ((*dbp = offline_load(pl->dataset, why, sizeof(why))) != NULL)
		return 0;
	/* offline_load's messages begin with the path: keep the reason */
	if (strncmp(why, pl->dataset, strlen(pl->dataset)) == 0 &&
	    strncmp(why + strlen(pl->dataset), ": ", 2) == 0)
		memmove(why, why + strlen(pl->dataset) + 2,
		    strlen(why + strlen(pl->dataset) + 2) + 1);
	if (pl->dataset_line > 0)
		snprintf(err, errlen, "%s:%d: dataset %s: %s\n", cf->path,
		    pl->dataset_line, pl->dataset, why);
	else
		snprintf(err, errlen, "%s: dataset %s (the default): %s\n",
		    cf->path, pl->dataset, why);
	return -1;
}

int
check_dataset(const struct herd_conf *cf, char *err, size_t errlen)
{
	struct offline_db	*db;

	if (cf->places.backend != HERD_BACKEND_OFFLINE)
		return 0;
	if (check_load(cf, &db, err, errlen) == -1)
		return -1;
	offline_free(db);
	return 0;
}

int
check_share(const struct herd_conf *cf, check_warn_cb *warn, int *fdp,
    char *err, size_t errlen)
{
	struct offline_db	*db;
	char			 why[512], msg[CHECK_MSG_MAX];

	*fdp = -1;
	if (cf->places.backend != HERD_BACKEND_OFFLINE)
		return 0;
	if (check_load(cf, &db, err, errlen) == -1)
		return -1;
	if ((*fdp = offline_share(db, cf->places.dataset, why,
	    sizeof(why))) == -1) {
		snprintf(msg, sizeof(msg), "%s: cannot share the data set "
		    "(%s): each worker loads its own copy", cf->path, why);
		warn(msg);
	}
	offline_free(db);
	return 0;
}

int
check_parse_range(const char *text, unsigned *lo, unsigned *hi)
{
	char		*end;
	unsigned long	 a, b;

	errno = 0;
	a = strtoul(text, &end, 10);
	if (errno != 0 || end == text || !isspace((unsigned char)*end))
		return -1;
	text = end;
	b = strtoul(text, &end, 10);
	if (errno != 0 || end == text || a > b || b > 65535)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

int
check_reserved(const char *text, unsigned port)
{
	const char	*p = text;
	char		*end;
	unsigned long	 a, b;

	while (*p != '\0' && *p != '\n') {
		a = strtoul(p, &end, 10);
		if (end == p)
			return 0;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				return 0;
		}
		if (port >= a && port <= b)
			return 1;
		if (*end != ',')
			return 0;
		p = end + 1;
	}
	return 0;
}

/* Read a small file into buf, NUL-terminated.  0, or -1. */
static int
check_read(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* A warning per server of run with a port in the ephemeral range. */
static void
check_ports(const struct herd_conf *cf, const unsigned char *run,
    check_warn_cb *warn)
{
	static const char *const	 key[3] = { "port", "peer_port",
					    "tls_port" };
	const struct herd_server	*s;
	char				 range[64], resv[4096], what[96];
	char				 msg[CHECK_MSG_MAX];
	unsigned			 lo, hi, port[3];
	size_t				 i, k, n, in[3], used;

	if (check_read(CHECK_PORT_RANGE, range, sizeof(range)) == -1 ||
	    check_parse_range(range, &lo, &hi) == -1)
		return;			/* not Linux, or no /proc: no check */
	if (check_read(CHECK_PORT_RESERVED, resv, sizeof(resv)) == -1)
		resv[0] = '\0';
	for (i = 0; i < cf->nservers; i++) {
		s = &cf->servers[i];
		if (!run[i])
			continue;
		port[0] = s->port, port[1] = s->peer_port, port[2] = s->tls_port;
		for (k = n = 0; k < 3; k++)
			if (port[k] != 0 && port[k] >= lo && port[k] <= hi &&
			    !check_reserved(resv, port[k]))
				in[n++] = k;
		if (n == 0)
			continue;
		for (k = 0, used = 0; k < n && used < sizeof(what); k++)
			used += (size_t)snprintf(what + used, sizeof(what) - used,
			    "%s%s %u", k == 0 ? "" : k == n - 1 ? " and " : ", ",
			    key[in[k]], port[in[k]]);
		if (used < sizeof(what))
			snprintf(what + used, sizeof(what) - used, "%s",
			    n == 1 ? " lies" : " lie");
		snprintf(msg, sizeof(msg), "%s:%d: server %s: %s in the "
		    "kernel's ephemeral port range %u-%u (%s): an outgoing "
		    "connection can take it first; choose another port or "
		    "reserve it (net.ipv4.ip_local_reserved_ports)", cf->path,
		    s->line, s->name, what, lo, hi, CHECK_PORT_RANGE);
		warn(msg);
	}
	if (cf->http_port >= lo && cf->http_port <= hi &&
	    !check_reserved(resv, cf->http_port)) {
		snprintf(msg, sizeof(msg), "%s:%d: http: port %u lies in the "
		    "kernel's ephemeral port range %u-%u (%s): an outgoing "
		    "connection can take it first", cf->path, cf->http_line,
		    cf->http_port, lo, hi, CHECK_PORT_RANGE);
		warn(msg);
	}
}

int
check_page(const struct herd_conf *cf, char *err, size_t errlen)
{
	struct stat	 st;
	char		 page[PATH_MAX];
	const char	*why = NULL;
	int		 fd;

	if (cf->http_port == 0)
		return 0;
	if (paths_default(PATHS_PAGE, paths_where(), page, sizeof(page)) ==
	    -1 || (fd = open(page, O_RDONLY | O_CLOEXEC)) == -1)
		why = strerror(errno);
	else {
		/* as http_read_page will take it */
		if (fstat(fd, &st) == -1)
			why = strerror(errno);
		else if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		else if (st.st_size == 0)
			why = "empty";
		else if (st.st_size >= CHECK_PAGE_MAX)
			why = "over 1 MiB";
		close(fd);
	}
	if (why != NULL) {
		snprintf(err, errlen, "%s:%d: http: the status page %s: %s\n",
		    cf->path, cf->http_line, page, why);
		return -1;
	}
	return 0;
}

struct check_topo {
	const struct herd_conf	*cf;
	check_warn_cb		*warn;
};

static void
check_topo_say(void *arg, const char *msg)
{
	const struct check_topo	*ct = arg;
	char			 buf[CHECK_MSG_MAX + TOPO_MSG_MAX];

	snprintf(buf, sizeof(buf), "%s: %s", ct->cf->path, msg);
	ct->warn(buf);
}

void
check_topology(const struct herd_conf *cf, check_warn_cb *warn)
{
	struct check_topo	 ct = { cf, warn };

	(void)topo_weak_spots(cf, check_topo_say, &ct);
}

int
check_start(const struct herd_conf *cf, const unsigned char *run,
    check_warn_cb *warn, int *share_fd, char *err, size_t errlen)
{
	if (check_share(cf, warn, share_fd, err, errlen) == -1 ||
	    check_page(cf, err, errlen) == -1) {
		if (*share_fd >= 0)
			close(*share_fd);
		*share_fd = -1;
		return -1;
	}
	check_ports(cf, run, warn);
	check_topology(cf, warn);
	return 0;
}

int
check_noaction(const struct herd_conf *cf, const char *const *chosen,
    size_t nchosen, check_warn_cb *warn, char *err, size_t errlen)
{
	struct local_addrs		 la = { NULL, 0 };
	const struct herd_server	*s;
	unsigned char			*run;
	char				 why[512], msg[CHECK_MSG_MAX];
	size_t				 i, n = 0;

	if (check_dataset(cf, err, errlen) == -1 ||
	    check_page(cf, err, errlen) == -1)
		return -1;
	if ((run = calloc(cf->nservers ? cf->nservers : 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory\n");
		return -1;
	}
	if (nchosen > 0) {
		for (i = 0; i < nchosen; i++)
			if ((s = conf_server(cf, chosen[i])) != NULL)
				run[s - cf->servers] = 1;
	} else {
		/* no interface list: wildcard and loopback still count */
		(void)local_addrs_get(&la, why, sizeof(why));
		for (i = 0; i < cf->nservers; i++)
			run[i] = local_host(cf->servers[i].host, &la, why,
			    sizeof(why)) == 1;
		local_addrs_free(&la);
	}
	for (i = 0; i < cf->nservers; i++)
		n += run[i];
	if (n == 0 && nchosen == 0) {
		snprintf(msg, sizeof(msg), "%s: no server's host is an address "
		    "of this machine: herdd would exit 78 here (name the "
		    "servers to run here with -s)", cf->path);
		warn(msg);
	}
	if (conf_check_client_tls(cf, run, err, errlen) == -1) {
		free(run);
		return -1;
	}
	check_ports(cf, run, warn);
	check_topology(cf, warn);
	free(run);
	return 0;
}
