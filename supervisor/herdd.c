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
#include <sys/stat.h>

#include <sys/random.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "check.h"
#include "conf.h"
#include "control.h"
#include "http.h"
#include "local.h"
#include "log.h"
#include "metrics.h"
#include "paths.h"
#include "proc.h"
#include "sdnotify.h"

#define HERDD_NODE_ENV	"HERD_NODE"
#define HERDD_ERR_MAX	8192
#define HERDD_CHOSEN_MAX	256	/* -s names */

static void	 herdd_usage(void) __attribute__((noreturn));
static int	 herdd_node_path(const struct herd_conf *, char *, size_t,
		    char *, size_t);
static void	 herdd_signal_cb(struct ev_loop *, ev_signal *, int);
static void	 herdd_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	 herdd_done_cb(void);

static const char	*herdd_conf_file;	/* -f; else paths_conf() */
static char		*herdd_chosen[HERDD_CHOSEN_MAX];	/* -s */
static size_t		 herdd_nchosen;
static char		 herdd_control[HERD_PATH_MAX];
static char		 herdd_logpath[HERD_PATH_MAX + 16];	/* or "" */
static int		 herdd_stopping;

/*
 * Secure by default: with no secret configured and the whole herd on this
 * machine, make one for this herdd's workers, so that a stranger on a peer
 * port cannot pose as a neighbour.  A herd on several machines needs one
 * configured; say so, once.
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

static void
herdd_usage(void)
{
	fprintf(stderr, "usage: herdd [-nv] [-f file] [-s name[,name...]]\n");
	exit(HERD_EXIT_USAGE);
}

static int
herdd_executable(const char *path)
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
herdd_node_path(const struct herd_conf *cf, char *path, size_t len,
    char *err, size_t errlen)
{
	char		 self[PATH_MAX], *slash;
	const char	*env;
	ssize_t		 n;

	if (cf->node_path[0] != '\0') {
		snprintf(path, len, "%s", cf->node_path);
		if (herdd_executable(path))
			return 0;
		snprintf(err, errlen, "%s: [herd] node: %s is not an "
		    "executable file", cf->path, path);
		return -1;
	}
	if ((env = getenv(HERDD_NODE_ENV)) != NULL && env[0] != '\0') {
		snprintf(path, len, "%s", env);
		if (herdd_executable(path))
			return 0;
		snprintf(err, errlen, "%s=%s is not an executable file",
		    HERDD_NODE_ENV, env);
		return -1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		snprintf(err, errlen, "readlink /proc/self/exe: %s; set [herd] "
		    "node or %s", strerror(errno), HERDD_NODE_ENV);
		return -1;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	n = snprintf(path, len, "%s/herd-node", self);
	if (n >= 0 && (size_t)n < len && herdd_executable(path))
		return 0;
	n = snprintf(path, len, "%s/../node/herd-node", self);
	if (n >= 0 && (size_t)n < len && herdd_executable(path))
		return 0;
	if (snprintf(err, errlen, "herd-node not found: not in %s nor in "
	    "%s/../node; set [herd] node or %s", self, self, HERDD_NODE_ENV)
	    < 0)
		err[0] = '\0';
	return -1;
}

/* Add the names of one -s argument ("A" or "A,B"); -1 when malformed. */
static int
herdd_choose(const char *arg)
{
	const char	*p = arg, *comma;
	size_t		 len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > HERD_NAME_MAX ||
		    herdd_nchosen >= HERDD_CHOSEN_MAX)
			return -1;
		if ((herdd_chosen[herdd_nchosen] = strndup(p, len)) == NULL)
			return -1;
		herdd_nchosen++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static void
herdd_chosen_free(void)
{
	while (herdd_nchosen > 0)
		free(herdd_chosen[--herdd_nchosen]);
}

/* -1 with err set when a -s name is not a server of cf. */
static int
herdd_check_chosen(const struct herd_conf *cf, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < herdd_nchosen; i++)
		if (conf_server(cf, herdd_chosen[i]) == NULL) {
			snprintf(err, errlen, "-s %s: no server of that name "
			    "in %s", herdd_chosen[i], cf->path);
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
static long
herdd_select(const struct herd_conf *cf, unsigned char *run, FILE *fp,
    char *err, size_t errlen)
{
	struct local_addrs		 la = { NULL, 0 };
	const struct herd_server	*s;
	char				 why[512];
	size_t				 i;
	long				 n = 0;
	int				 rc;

	memset(run, 0, cf->nservers);
	if (herdd_nchosen > 0) {
		if (herdd_check_chosen(cf, err, errlen) == -1)
			return -1;
		for (i = 0; i < herdd_nchosen; i++)
			run[conf_server(cf, herdd_chosen[i]) - cf->servers] = 1;
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
herdd_none_here(const struct herd_conf *cf, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: no server's host is an address of this "
	    "machine; name the servers to run here with -s", cf->path);
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

/*
 * Re-read the configuration file and apply it (see proc_reload()): 0, or
 * -1 with the file's errors in err (one per line) when the new
 * configuration is refused; the herd is then left as it was.  Without
 * nowait, req is answered once the reload is done; with it, *now is the
 * reply at once (see proc_reload()).
 */
static int	 herdd_http(const struct herd_conf *, char *, size_t);

static int
herdd_reload(int nowait, struct control_req *req, struct json_object **now,
    char *err, size_t errlen)
{
	struct herd_conf	*cf;
	unsigned char		*run = NULL;
	char			 node[HERD_PATH_MAX];
	char			 herr[512];
	size_t			 n;
	long			 nrun = -1;
	int			 level, share_fd = -1, old_fd;

	if (herdd_stopping) {
		snprintf(err, errlen, "herdd is shutting down");
		return -1;
	}
	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	err[0] = '\0';
	log_notice("reloading %s", herdd_conf_file);
	if (conf_load(herdd_conf_file, cf, err, errlen) == -1 ||
	    herdd_node_path(cf, node, sizeof(node), err, errlen) == -1 ||
	    conf_check_state_dir(cf, err, errlen) == -1 ||
	    check_share(cf, check_warn_log, &share_fd, err, errlen) == -1 ||
	    (run = calloc(cf->nservers ? cf->nservers : 1, 1)) == NULL ||
	    (nrun = herdd_select(cf, run, NULL, err, errlen)) <= 0) {
		if (nrun == 0)
			herdd_none_here(cf, err, errlen);
		else if (run == NULL && err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		free(run);
		conf_free(cf);
		free(cf);
		if (share_fd >= 0)
			close(share_fd);
		/* one message per line, then no trailing newline */
		log_warnx("reload refused; the herd is left as it was:");
		herdd_conf_errors(err, 1);
		n = strlen(err);
		while (n > 0 && err[n - 1] == '\n')
			err[--n] = '\0';
		return -1;
	}
	if (strcmp(cf->control, herdd_control) != 0)
		log_warnx("control socket %s: a new path takes a restart of "
		    "herdd; still at %s", cf->control, herdd_control);
	level = cf->log_level;
	/* servers started by the reload map the new data set */
	old_fd = proc_set_places_fd(share_fd);
	if (proc_reload(cf, node, run, nowait, req, now, err, errlen) == -1) {
		log_warnx("reload refused: %s", err);
		if (share_fd >= 0)
			close(share_fd);
		(void)proc_set_places_fd(old_fd);
		free(run);
		conf_free(cf);
		free(cf);
		return -1;
	}
	if (old_fd >= 0)
		close(old_fd);
	log_set_level(level);
	free(run);
	if (herdd_http(proc_config(), herr, sizeof(herr)) == -1)
		log_warnx("reload: %s", herr);
	log_notice("reloaded %s", herdd_conf_file);
	return 0;
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

int
main(int argc, char *argv[])
{
	struct herd_conf	*cf;
	struct ev_loop		*loop;
	ev_signal		 sig_term, sig_int, sig_hup, sig_usr1;
	ev_prepare		 prep;
	char			 err[HERDD_ERR_MAX], node[HERD_PATH_MAX];
	unsigned char		*run;
	long			 nrun;
	int			 ch, noaction = 0, verbose = 0, share_fd = -1;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: herdd [-nv] [-f file] [-s name[,name...]]\n"
		    "       herdd -h | --help | --version\n");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("herdd %s\n", HERD_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "f:nvs:")) != -1) {
		switch (ch) {
		case 'f':
			herdd_conf_file = optarg;
			break;
		case 's':
			if (herdd_choose(optarg) == -1) {
				fprintf(stderr, "herdd: -s %s: expected server "
				    "names separated by commas\n", optarg);
				herdd_usage();
			}
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			herdd_usage();
		}
	}
	if (optind != argc)
		herdd_usage();
	if (herdd_conf_file == NULL)
		herdd_conf_file = paths_conf();

	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		perror("herdd: calloc");
		return 1;
	}
	if (conf_load(herdd_conf_file, cf, err, sizeof(err)) == -1) {
		herdd_conf_errors(err, 0);
		free(cf);
		return HERD_EXIT_CONFIG;
	}
	if ((run = calloc(cf->nservers ? cf->nservers : 1, 1)) == NULL) {
		perror("herdd: calloc");
		return 1;
	}
	if (herdd_check_chosen(cf, err, sizeof(err)) == -1) {
		fprintf(stderr, "herdd: %s\n", err);
		free(run);
		conf_free(cf);
		free(cf);
		herdd_usage();
	}
	if (conf_check_state_dir(cf, err, sizeof(err)) == -1) {
		herdd_conf_errors(err, 0);
		herdd_chosen_free();
		free(run);
		conf_free(cf);
		free(cf);
		return HERD_EXIT_CONFIG;
	}
	if (noaction) {
		if (check_noaction(cf, (const char *const *)herdd_chosen,
		    herdd_nchosen, check_warn_stderr, err, sizeof(err)) == -1) {
			herdd_conf_errors(err, 0);
			herdd_chosen_free();
			free(run);
			conf_free(cf);
			free(cf);
			return HERD_EXIT_CONFIG;
		}
		if (verbose) {
			conf_print(stdout, cf);
			fflush(stdout);
			(void)herdd_select(cf, run, stderr, err, sizeof(err));
		}
		fprintf(stderr, "configuration OK\n");
		herdd_chosen_free();
		free(run);
		conf_free(cf);
		free(cf);
		return 0;
	}
	if (herdd_node_path(cf, node, sizeof(node), err, sizeof(err)) == -1) {
		fprintf(stderr, "herdd: %s\n", err);
		free(run);
		conf_free(cf);
		free(cf);
		return HERD_EXIT_CONFIG;
	}
	log_set_level(cf->log_level);
	if (strcmp(cf->log_dir, "-") != 0 && conf_mkdirs(cf->log_dir) == -1) {
		fprintf(stderr, "herdd: mkdir %s: %s\n", cf->log_dir,
		    strerror(errno));
		free(run);
		conf_free(cf);
		free(cf);
		return 1;
	}
	if (strcmp(cf->log_dir, "-") != 0)
		snprintf(herdd_logpath, sizeof(herdd_logpath), "%s/herdd.log",
		    cf->log_dir);
	if (log_init("herdd", herdd_logpath[0] ? herdd_logpath : NULL, 1)
	    == -1) {
		fprintf(stderr, "herdd: %s: %s\n", herdd_logpath,
		    strerror(errno));
		free(run);
		conf_free(cf);
		free(cf);
		return 1;
	}
	snprintf(herdd_control, sizeof(herdd_control), "%s", cf->control);
	if ((nrun = herdd_select(cf, run, NULL, err, sizeof(err))) <= 0) {
		if (nrun == 0)
			herdd_none_here(cf, err, sizeof(err));
		log_warnx("%s", err);
		log_flush();
		free(run);
		conf_free(cf);
		free(cf);
		return HERD_EXIT_CONFIG;
	}
	if (check_start(cf, run, check_warn_log, &share_fd, err,
	    sizeof(err)) == -1) {
		herdd_conf_errors(err, 1);
		log_flush();
		herdd_chosen_free();
		free(run);
		conf_free(cf);
		free(cf);
		return HERD_EXIT_CONFIG;
	}
	(void)proc_set_places_fd(share_fd);
	herdd_secret(cf, nrun);

	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot start libev's default loop");
	(void)sdnotify_init(loop);
	if (control_init(cf->control, herdd_run, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		log_flush();
		free(run);
		conf_free(cf);
		free(cf);
		return 1;
	}
	if (herdd_http(cf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		log_flush();
		control_cleanup();
		free(run);
		conf_free(cf);
		free(cf);
		return 1;
	}
	ev_signal_init(&sig_term, herdd_signal_cb, SIGTERM);
	ev_signal_init(&sig_int, herdd_signal_cb, SIGINT);
	ev_signal_init(&sig_hup, herdd_signal_cb, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	ev_signal_init(&sig_usr1, herdd_signal_cb, SIGUSR1);
	ev_signal_start(loop, &sig_usr1);
	ev_prepare_init(&prep, herdd_prepare_cb);
	ev_prepare_start(loop, &prep);

	log_notice("starting %ld of the %zu servers of %s with %s", nrun,
	    cf->nservers, herdd_conf_file, node);
	proc_init(cf, node, run, herdd_nchosen > 0);
	proc_reload_init();
	proc_ctl_init();
	free(run);
	proc_start_all();
	ev_run(loop, 0);

	control_cleanup();
	http_stop();
	proc_free();
	sdnotify_close();
	herdd_chosen_free();
	log_notice("exiting");
	log_flush();
	log_close();
	ev_loop_destroy(loop);
	return 0;
}
