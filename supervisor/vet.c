/*
 * vet.c -- a configuration vetted for herdd's start, -n or reload alike:
 * the file, the servers named with -s, herd-node, the servers that run
 * on this machine, the data set and (at start) the log.
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
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
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
#include "vet.h"

#define VET_NODE_ENV	"HERD_NODE"
#define VET_CHOSEN_MAX	256	/* -s names */

static char		*vet_chosen[VET_CHOSEN_MAX];	/* -s */
static size_t		 vet_nchosen;

static int
vet_executable(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/*
 * Find the herd-node binary, in this order: [herd] node; the environment
 * variable HERD_NODE; herd-node beside herdd's own executable; and
 * ../node/herd-node from there (meson's build tree).  0, or -1 with what
 * was tried in err.
 */
static int
vet_node_path(const struct herd_conf *cf, char *path, size_t len,
    char *err, size_t errlen)
{
	char		 self[PATH_MAX], *slash;
	const char	*env;
	ssize_t		 n;

	if (cf->node_path[0] != '\0') {
		snprintf(path, len, "%s", cf->node_path);
		if (vet_executable(path))
			return 0;
		snprintf(err, errlen, "%s: [herd] node: %s is not an "
		    "executable file", cf->path, path);
		return -1;
	}
	if ((env = getenv(VET_NODE_ENV)) != NULL && env[0] != '\0') {
		snprintf(path, len, "%s", env);
		if (vet_executable(path))
			return 0;
		snprintf(err, errlen, "%s=%s is not an executable file",
		    VET_NODE_ENV, env);
		return -1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		snprintf(err, errlen, "readlink /proc/self/exe: %s; set [herd] "
		    "node or %s", strerror(errno), VET_NODE_ENV);
		return -1;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	n = snprintf(path, len, "%s/herd-node", self);
	if (n >= 0 && (size_t)n < len && vet_executable(path))
		return 0;
	n = snprintf(path, len, "%s/../node/herd-node", self);
	if (n >= 0 && (size_t)n < len && vet_executable(path))
		return 0;
	if (snprintf(err, errlen, "herd-node not found: not in %s nor in "
	    "%s/../node; set [herd] node or %s", self, self, VET_NODE_ENV)
	    < 0)
		err[0] = '\0';
	return -1;
}

/* Add the names of one -s argument ("A" or "A,B"); -1 when malformed. */
int
vet_choose(const char *arg)
{
	const char	*p = arg, *comma;
	size_t		 len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > HERD_NAME_MAX ||
		    vet_nchosen >= VET_CHOSEN_MAX)
			return -1;
		if ((vet_chosen[vet_nchosen] = strndup(p, len)) == NULL)
			return -1;
		vet_nchosen++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

void
vet_chosen_free(void)
{
	while (vet_nchosen > 0)
		free(vet_chosen[--vet_nchosen]);
}

/* -1 with err set when a -s name is not a server of cf. */
static int
vet_check_chosen(const struct herd_conf *cf, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < vet_nchosen; i++)
		if (conf_server(cf, vet_chosen[i]) == NULL) {
			snprintf(err, errlen, "-s %s: no server of that name "
			    "in %s", vet_chosen[i], cf->path);
			return -1;
		}
	return 0;
}

/*
 * Which servers of cf this herdd runs: run[i] for cf->servers[i].  With
 * -s, exactly the servers named; else those whose host is an address of
 * this machine (see local.h).  Returns how many run here, or -1 with err
 * set when a -s name is not in cf.  When fp is not NULL, each server's
 * verdict is printed on it (-nv); else the remote ones are logged.
 */
long
vet_select(const struct herd_conf *cf, unsigned char *run, FILE *fp,
    char *err, size_t errlen)
{
	struct local_addrs		 la = { NULL, 0 };
	const struct herd_server	*s;
	char				 why[512];
	size_t				 i;
	long				 n = 0;
	int				 rc;

	memset(run, 0, cf->nservers);
	if (vet_nchosen > 0) {
		if (vet_check_chosen(cf, err, errlen) == -1)
			return -1;
		for (i = 0; i < vet_nchosen; i++)
			run[conf_server(cf, vet_chosen[i]) - cf->servers] = 1;
		for (i = 0; i < cf->nservers; i++) {
			s = &cf->servers[i];
			n += run[i];
			if (fp != NULL)
				fprintf(fp, "%s: %s (-s; host %s)\n", s->name,
				    run[i] ? "runs here" : "not run here",
				    s->host);
			else if (!run[i])
				log_notice("%s: not run here (not named with "
				    "-s; host %s)", s->name, s->host);
		}
		return n;
	}
	if (local_addrs_get(&la, why, sizeof(why)) == -1) {
		/* wildcard and loopback hosts are still known */
		if (fp != NULL)
			fprintf(fp, "herdd: %s\n", why);
		else
			log_warnx("%s", why);
	}
	for (i = 0; i < cf->nservers; i++) {
		s = &cf->servers[i];
		why[0] = '\0';
		rc = local_host(s->host, &la, why, sizeof(why));
		run[i] = rc == 1;
		n += run[i];
		if (fp != NULL)
			fprintf(fp, "%s: %s (%s)\n", s->name,
			    rc == 1 ? "local" : "remote",
			    rc == -1 ? why : s->host);
		else if (rc == -1)
			log_warnx("%s: taken as on another machine: %s",
			    s->name, why);
		else if (rc == 0)
			log_notice("%s: on another machine (%s)", s->name,
			    s->host);
	}
	local_addrs_free(&la);
	return n;
}

/* The message for a herd that gives this machine nothing to run. */
static void
vet_none_here(const struct herd_conf *cf, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: no server's host is an address of this "
	    "machine; name the servers to run here with -s", cf->path);
}

/*
 * The log as cf says (start only; a reload keeps the file): herdd.log in
 * log_dir, else standard error.  0, or -1 with why in err.
 */
static int
vet_log_open(struct vet *n, char *err, size_t errlen)
{
	const struct herd_conf	*cf = n->cf;

	log_set_level(cf->log_level);
	if (strcmp(cf->log_dir, "-") != 0 && conf_mkdirs(cf->log_dir) == -1) {
		snprintf(err, errlen, "mkdir %s: %s", cf->log_dir,
		    strerror(errno));
		return -1;
	}
	if (strcmp(cf->log_dir, "-") != 0)
		snprintf(n->logpath, sizeof(n->logpath), "%s/herdd.log",
		    cf->log_dir);
	if (log_init("herdd", n->logpath[0] ? n->logpath : NULL, 1) == -1) {
		snprintf(err, errlen, "%s: %s", n->logpath, strerror(errno));
		return -1;
	}
	log_set_bounds(cf->limits.log_max_size, cf->limits.log_keep);
	n->logging = 1;
	return 0;
}

void
vet_free(struct vet *n)
{
	if (n->cf != NULL) {
		conf_free(n->cf);
		free(n->cf);
		n->cf = NULL;
	}
	free(n->run);
	n->run = NULL;
	if (n->share_fd >= 0)
		close(n->share_fd);
	n->share_fd = -1;
}

int
vet_config(struct vet *n, const char *file, enum vet_for why, char *err,
    size_t errlen)
{
	int	 rc;

	memset(n, 0, sizeof(*n));
	n->share_fd = -1;
	n->chosen = vet_nchosen > 0;
	snprintf(err, errlen, "out of memory");
	if ((n->cf = calloc(1, sizeof(*n->cf))) == NULL)
		return 1;
	err[0] = '\0';
	if (conf_load(file, n->cf, err, errlen) == -1)
		return HERD_EXIT_CONFIG;
	if ((n->run = calloc(n->cf->nservers ? n->cf->nservers : 1, 1)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (vet_check_chosen(n->cf, err, errlen) == -1)
		return why == VET_FOR_RELOAD ? HERD_EXIT_CONFIG :
		    HERD_EXIT_USAGE;
	if (conf_check_state_dir(n->cf, err, errlen) == -1 ||
	    conf_check_tls(n->cf, err, errlen) == -1)
		return HERD_EXIT_CONFIG;
	if (why == VET_FOR_CHECK)
		return check_noaction(n->cf, (const char *const *)vet_chosen,
		    vet_nchosen, check_warn_stderr, err, errlen) == -1 ?
		    HERD_EXIT_CONFIG : 0;
	if (vet_node_path(n->cf, n->node, sizeof(n->node), err,
	    errlen) == -1)
		return HERD_EXIT_CONFIG;
	if (why == VET_FOR_START && vet_log_open(n, err, errlen) == -1)
		return 1;
	if ((n->nrun = vet_select(n->cf, n->run, NULL, err, errlen)) <= 0) {
		if (n->nrun == 0)
			vet_none_here(n->cf, err, errlen);
		return HERD_EXIT_CONFIG;
	}
	if (conf_check_client_tls(n->cf, n->run, err, errlen) == -1)
		return HERD_EXIT_CONFIG;
	if (why == VET_FOR_START)
		rc = check_start(n->cf, n->run, check_warn_log, &n->share_fd,
		    err, errlen);
	else
		rc = check_share(n->cf, check_warn_log, &n->share_fd, err,
		    errlen);
	return rc == -1 ? HERD_EXIT_CONFIG : 0;
}
