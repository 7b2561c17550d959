/*
 * herdd.c -- the herd's supervisor: options, signals, the main loop, reload.
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
#include <sys/random.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "paths.h"
#include "proc.h"
#include "sdnotify.h"
#include "vet.h"

#define HERDD_ERR_MAX	8192

static void	 herdd_usage(void) __attribute__((noreturn));
static void	 herdd_signal_cb(struct ev_loop *, ev_signal *, int);
static void	 herdd_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	 herdd_done_cb(void);

static const char	*herdd_conf_file;	/* -f; else paths_conf() */
static char		 herdd_control[HERD_PATH_MAX];
static char		 herdd_logpath[HERD_PATH_MAX + 16];	/* or "" */
static int		 herdd_stopping;

/*
 * Secure by default: with no secret configured and the whole herd on this
 * machine, make one for this herdd's workers, so that a stranger on a peer
 * port cannot pose as a neighbour (and their links speak TLS with it).  A
 * herd on several machines needs one configured; say so, once.
 */
static void
herdd_secret(const struct herd_conf *cf, long nrun)
{
	unsigned char	 b[32];
	char		 hex[2 * sizeof(b) + 1];
	const char	*env = getenv("HERD_SECRET");
	size_t		 i;

	if (cf->secret_len > 0 || (env != NULL && env[0] != '\0'))
		return;
	if ((size_t)nrun < cf->nservers) {
		log_warnx("no secret_file and no HERD_SECRET, and the herd is on "
		    "several machines: peer links are not authenticated (anyone "
		    "who reaches a peer port can pose as a neighbour)");
		return;
	}
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		log_warn("getrandom: peer links are not authenticated");
		return;
	}
	for (i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	proc_set_secret(hex);
	log_notice("no secret_file: the workers authenticate their links "
	    "with a secret made for this run of herdd");
}

/* peer_tls = off on a herd of several machines: its links are readable. */
static void
herdd_plain_links(const struct herd_conf *cf, long nrun)
{
	if (!cf->tls.on && (size_t)nrun < cf->nservers)
		log_warnx("peer_tls = off, and the herd is on several machines: "
		    "the links between them carry every client's location in "
		    "plain text (run it inside a tunnel of its own, or set "
		    "peer_tls = on)");
}

static void
herdd_usage(void)
{
	fprintf(stderr, "usage: herdd [-nv] [-f file] [-s name[,name...]]\n");
	exit(HERD_EXIT_USAGE);
}

/* Print each "file:line: message" line of a configuration error. */
static void
herdd_conf_errors(const char *errs, int logged)
{
	const char	*p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (logged)
			log_warnx("%.*s", (int)(nl ? nl - p : (long)strlen(p)),
			    p);
		else
			fprintf(stderr, "herdd: %.*s\n", (int)(nl ? nl - p :
			    (long)strlen(p)), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static int	 herdd_http(const struct herd_conf *, char *, size_t);

/*
 * Re-read the configuration file and apply it (see proc_reload()): 0, or
 * -1 with the file's errors in err (one per line) when the new
 * configuration is refused; the herd is then left as it was.  Without
 * nowait, req is answered once the reload is done; with it, *now is the
 * reply at once (see proc_reload()).
 */
static int
herdd_reload(int nowait, struct control_req *req, struct json_object **now,
    char *err, size_t errlen)
{
	struct vet	 n;
	char		 herr[512];
	size_t		 len;
	int		 level, old_fd, rc = -1;
	long long	 bound = 0, keep = 0;

	if (herdd_stopping) {
		snprintf(err, errlen, "herdd is shutting down");
		return -1;
	}
	log_notice("reloading %s", herdd_conf_file);
	if (vet_config(&n, herdd_conf_file, VET_FOR_RELOAD, err, errlen) != 0) {
		/* one message per line, then no trailing newline */
		log_warnx("reload refused; the herd is left as it was:");
		herdd_conf_errors(err, 1);
		len = strlen(err);
		while (len > 0 && err[len - 1] == '\n')
			err[--len] = '\0';
		goto out;
	}
	if (strcmp(n.cf->control, herdd_control) != 0)
		log_warnx("control socket %s: a new path takes a restart of "
		    "herdd; still at %s", n.cf->control, herdd_control);
	level = n.cf->log_level;
	bound = n.cf->limits.log_max_size;
	keep = n.cf->limits.log_keep;
	/* servers started by the reload map the new data set */
	old_fd = proc_set_places_fd(n.share_fd);
	if (proc_reload(n.cf, n.node, n.run, nowait, req, now, err,
	    errlen) == -1) {
		log_warnx("reload refused: %s", err);
		n.share_fd = proc_set_places_fd(old_fd);
		goto out;
	}
	n.cf = NULL;			/* proc_reload() took it */
	n.share_fd = old_fd;		/* the old image, closed below */
	log_set_level(level);
	log_set_bounds(bound, keep);
	if (herdd_http(proc_config(), herr, sizeof(herr)) == -1)
		log_warnx("reload: %s", herr);
	log_notice("reloaded %s", herdd_conf_file);
	rc = 0;
out:
	vet_free(&n);
	return rc;
}

static void
herdd_shutdown(void)
{
	herdd_stopping = 1;
	sdnotify_send("STOPPING=1");
	proc_shutdown(herdd_done_cb);
}

/* herdd's log and every worker's, opened again (after logrotate). */
static void
herdd_reopen(void)
{
	if (herdd_logpath[0] != '\0' && log_init("herdd", herdd_logpath, 1)
	    == -1)
		log_warn("reopening %s", herdd_logpath);
	else
		log_notice("logs reopened");
	proc_reopen();
}

/*
 * Serve [herd] http when it is set and not served already as it is (at
 * start, and after a reload that changed it); else read the page again.
 */
static int
herdd_http(const struct herd_conf *cf, char *err, size_t errlen)
{
	static char	 host[sizeof(cf->http_host)];
	static uint16_t	 port;
	char		 page[HERD_PATH_MAX];

	if (paths_default(PATHS_PAGE, paths_where(), page, sizeof(page)) ==
	    -1) {
		snprintf(err, errlen, "http: the status page's path is too "
		    "long");
		return -1;
	}
	if (port == cf->http_port && strcmp(host, cf->http_host) == 0) {
		if (http_page_reload(page, err, errlen) == -1) {
			snprintf(err + strlen(err), errlen - strlen(err),
			    "; the page read before is served");
			return -1;
		}
		return 0;
	}
	http_stop();			/* the port may stay the same */
	if (http_start(cf->http_host, cf->http_port, page, err, errlen) ==
	    -1) {
		/* back where it was, if anywhere */
		snprintf(err + strlen(err), errlen - strlen(err), "; ");
		if (port != 0 && http_start(host, port, page, err +
		    strlen(err), errlen - strlen(err)) == 0)
			snprintf(err + strlen(err), errlen - strlen(err),
			    "still serving on the old address");
		else {
			port = 0;
			host[0] = '\0';
			snprintf(err + strlen(err), errlen - strlen(err),
			    "%snot serving HTTP", err[strlen(err) - 1] == ' ' ?
			    "" : "; ");
		}
		return -1;
	}
	snprintf(host, sizeof(host), "%s", cf->http_host);
	port = cf->http_port;
	return 0;
}

/* Carry out one control command (see control.h). */
static struct json_object *
herdd_run(const struct control_cmd *cmd, struct control_req *req)
{
	struct json_object	*res;
	static char		 err[HERDD_ERR_MAX];
	char			*text;
	size_t			 len;

	switch (cmd->verb) {
	case CONTROL_RELOAD:
		if (herdd_reload(cmd->nowait, req, &res, err, sizeof(err)) == -1)
			return control_error(err);
		return res;		/* NULL: proc_reload() answers later */
	case CONTROL_METRICS:
		if ((text = metrics_text(&len)) == NULL)
			return control_error("out of memory");
		res = json_object_new_object();
		json_object_object_add(res, "ok", json_object_new_boolean(1));
		json_object_object_add(res, "text",
		    json_object_new_string_len(text, (int)len));
		free(text);
		return res;
	case CONTROL_REOPEN:
		herdd_reopen();
		res = json_object_new_object();
		json_object_object_add(res, "ok", json_object_new_boolean(1));
		return res;
	case CONTROL_SHUTDOWN:
		log_notice("control: shutdown requested");
		herdd_shutdown();
		res = json_object_new_object();
		json_object_object_add(res, "ok", json_object_new_boolean(1));
		return res;
	default:
		return proc_ctl(cmd, req);
	}
}

static void
herdd_done_cb(void)
{
	log_notice("every worker is down");
	ev_break(EV_DEFAULT_ EVBREAK_ALL);
}

static void
herdd_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	static char		 err[HERDD_ERR_MAX];
	struct json_object	*res;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGHUP:
		log_notice("SIGHUP: reload");
		if (herdd_reload(1, NULL, &res, err, sizeof(err)) == 0)
			json_object_put(res);
		break;
	case SIGUSR1:
		log_notice("SIGUSR1: reopening the logs");
		herdd_reopen();
		break;
	case SIGTERM:
	case SIGINT:
		log_notice("%s: stopping the herd",
		    w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
		herdd_shutdown();
		break;
	}
}

static void
herdd_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_flush();
}

/* The options; exits on a bad one, and for --help and --version. */
static void
herdd_options(int argc, char *argv[], int *noaction, int *verbose)
{
	int	 ch;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: herdd [-nv] [-f file] [-s name[,name...]]\n"
		    "       herdd -h | --help | --version\n");
		exit(0);
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("herdd %s\n", HERD_VERSION);
		exit(0);
	}
	*noaction = *verbose = 0;
	while ((ch = getopt(argc, argv, "f:nvs:")) != -1) {
		switch (ch) {
		case 'f':
			herdd_conf_file = optarg;
			break;
		case 's':
			if (vet_choose(optarg) == -1) {
				fprintf(stderr, "herdd: -s %s: expected server "
				    "names separated by commas\n", optarg);
				herdd_usage();
			}
			break;
		case 'n':
			*noaction = 1;
			break;
		case 'v':
			*verbose = 1;
			break;
		default:
			herdd_usage();
		}
	}
	if (optind != argc)
		herdd_usage();
	if (herdd_conf_file == NULL)
		herdd_conf_file = paths_conf();
}

/* herdd -n: the configuration is good; with -v, print it as read. */
static void
herdd_print(struct vet *n, int verbose)
{
	char	 err[HERDD_ERR_MAX];

	if (verbose) {
		conf_print(stdout, n->cf);
		fflush(stdout);
		(void)vet_select(n->cf, n->run, stderr, err, sizeof(err));
	}
	fprintf(stderr, "configuration OK\n");
}

/* The signals herdd acts on, and the log flushed before each wait. */
static void
herdd_watch(struct ev_loop *loop, ev_signal sig[4], ev_prepare *prep)
{
	static const int signums[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	size_t		 i;

	for (i = 0; i < 4; i++) {
		ev_signal_init(&sig[i], herdd_signal_cb, signums[i]);
		ev_signal_start(loop, &sig[i]);
	}
	ev_prepare_init(prep, herdd_prepare_cb);
	ev_prepare_start(loop, prep);
}

/*
 * Run the herd of n, vetted for start (its configuration is taken), until
 * it is stopped: 0, or 1 when the control socket or [herd] http cannot be
 * set up.
 */
static int
herdd_serve(struct vet *n, char *err, size_t errlen)
{
	struct ev_loop	*loop;
	ev_signal	 sig[4];
	ev_prepare	 prep;
	int		 rc = 1;

	snprintf(herdd_control, sizeof(herdd_control), "%s", n->cf->control);
	snprintf(herdd_logpath, sizeof(herdd_logpath), "%s", n->logpath);
	(void)proc_set_places_fd(n->share_fd);
	n->share_fd = -1;
	herdd_secret(n->cf, n->nrun);
	herdd_plain_links(n->cf, n->nrun);
	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot start libev's default loop");
	(void)sdnotify_init(loop);
	if (control_init(n->cf->control, herdd_run, err, errlen) == -1 ||
	    herdd_http(n->cf, err, errlen) == -1)
		log_warnx("%s", err);
	else {
		herdd_watch(loop, sig, &prep);
		log_notice("starting %ld of the %zu servers of %s with %s",
		    n->nrun, n->cf->nservers, herdd_conf_file, n->node);
		proc_init(n->cf, n->node, n->run, n->chosen);
		n->cf = NULL;
		proc_reload_init();
		proc_ctl_init();
		proc_start_all();
		ev_run(loop, 0);
		rc = 0;
	}
	control_cleanup();
	http_stop();
	proc_free();
	sdnotify_close();
	if (rc == 0)
		log_notice("exiting");
	log_flush();
	log_close();
	ev_loop_destroy(loop);
	return rc;
}

/* Options, a configuration vetted, then -n's verdict or the herd run. */
int
main(int argc, char *argv[])
{
	struct vet	 n;
	char		 err[HERDD_ERR_MAX];
	int		 noaction, verbose, rc;

	herdd_options(argc, argv, &noaction, &verbose);
	rc = vet_config(&n, herdd_conf_file, noaction ? VET_FOR_CHECK :
	    VET_FOR_START, err, sizeof(err));
	if (rc != 0) {
		herdd_conf_errors(err, n.logging);
		log_flush();
	} else if (noaction)
		herdd_print(&n, verbose);
	else
		rc = herdd_serve(&n, err, sizeof(err));
	vet_free(&n);
	vet_chosen_free();
	if (rc == HERD_EXIT_USAGE)
		herdd_usage();
	return rc;
}
