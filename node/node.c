/*
 * node.c -- herd-node: one server of the herd.
 *
 *	herd-node [-v] [-f FILE] NAME
 *
 * Serves the client protocol on the server's port (and over TLS on its
 * tls_port, when it has one), floods updates to its
 * neighbours over the peer port, and answers WHATSAT from Places.  Runs in
 * the foreground, alone or under herdd.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "admit.h"
#include "client.h"
#include "expire.h"
#include "client_tls.h"
#include "conf.h"
#include "journal.h"
#include "log.h"
#include "notify.h"
#include "paths.h"
#include "peer.h"
#include "places.h"
#include "status.h"
#include "store.h"
#include "update.h"

#define NODE_USAGE	"usage: herd-node [-v] [-f FILE] NAME\n"
#define NODE_CONF	paths_conf()	/* paths.h */

static struct herd_conf	 node_conf;
static ev_signal	 node_sigterm, node_sigint, node_sighup;
static char		 node_logpath[HERD_PATH_MAX + HERD_NAME_MAX + 8];
static const char	*node_name;
static int		 node_verbose;	/* -v: debug, whatever the file says */
static int		 node_echo = 1;	/* warnings to stderr too (not under herdd) */
static ev_prepare	 node_prepare;

static void
node_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_notice("signal %d: stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * SIGHUP: reopen the log (for log rotation) and take the file's log_level,
 * keyring and certificates (herdd sends it when a reload changes only
 * those).
 */
static void
node_sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct herd_conf	*cf;
	char			 err[256];

	(void)loop;
	(void)w;
	(void)revents;
	if (node_logpath[0] != '\0' &&
	    log_init(node_name, node_logpath, node_echo) == -1)
		log_warn("reopening %s", node_logpath);
	else
		log_notice("log reopened");
	if (node_verbose || (cf = calloc(1, sizeof(*cf))) == NULL)
		return;
	if (conf_load(node_conf.path, cf, err, sizeof(err)) == 0) {
		if (cf->log_level != log_min)
			log_notice("log_level %s", log_level_name(cf->log_level));
		log_set_level(cf->log_level);
		update_set_limits(&cf->limits);
		expire_again();
		client_set_limits(&cf->limits);
		admit_descriptors(&cf->limits, 64 + 4 * cf->nservers);
		log_set_bounds(cf->limits.log_max_size, cf->limits.log_keep);
		peer_rekey(cf);
		conf_free(cf);
	} else		/* the keys and the log level stay as they are */
		log_warnx("SIGHUP: the configuration does not load, the one "
		    "running stays: %s", err);
	free(cf);
}

/*
 * Once per loop iteration, before sleeping (Redis's beforeSleep): what this
 * iteration accepted goes to the journal in one write, then to each link in
 * one write, then the replies to each client in one write, then the log.
 * That order is the promise of an AT reply: written, and on its way.
 */
static void
node_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	int	 written;

	(void)loop;
	(void)w;
	(void)revents;
	written = journal_flush() == 0;
	if (!written)
		peer_hold(1);
	peer_flush();
	client_flush(written);
	log_flush();
}

/* A start that cannot go on: log it, tell herdd why, return status. */
static int
node_fail(int status, const char *what, const char *err)
{
	char	 msg[4200];

	snprintf(msg, sizeof(msg), "%s: %s", what, err);
	log_warnx("%s", msg);
	log_flush();
	status_error(msg);
	return status;
}

int
main(int argc, char *argv[])
{
	const struct herd_server *self;
	const char	*file = NODE_CONF;
	char		 err[4096];
	struct ev_loop	*loop;
	int		 ch, rc, verbose = 0;

	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fputs(NODE_USAGE, stderr);
			return HERD_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fputs(NODE_USAGE, stderr);
		return HERD_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);

	if (conf_load(file, &node_conf, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		status_error(err);
		return HERD_EXIT_CONFIG;
	}
	if ((self = conf_server(&node_conf, argv[optind])) == NULL) {
		fprintf(stderr, "herd-node: %s: no [server %s]\n", file,
		    argv[optind]);
		return HERD_EXIT_CONFIG;
	}
	node_name = self->name;
	node_verbose = verbose;
	log_set_level(verbose ? LOG_LEVEL_DEBUG : node_conf.log_level);
	if (strcmp(node_conf.log_dir, "-") == 0) {
		/* standard error, for journald: one event a line, named */
		node_logpath[0] = '\0';
		if (log_init(self->name, NULL, 0) == -1)
			return HERD_EXIT_CONFIG;
	} else {
		snprintf(node_logpath, sizeof(node_logpath), "%s/%s.log",
		    node_conf.log_dir, self->name);
		/*
		 * Alone, warnings are copied to standard error; under herdd
		 * (HERD_NOTIFY_FD) they are in the log only, and herdd speaks
		 * for the herd on its terminal, once.
		 */
		node_echo = getenv(NOTIFY_ENV) == NULL;
		if (conf_mkdirs(node_conf.log_dir) == -1 ||
		    log_init(self->name, node_logpath, node_echo) == -1) {
			fprintf(stderr, "herd-node: %s: %s\n", node_logpath,
			    strerror(errno));
			return HERD_EXIT_CONFIG;
		}
	}
	log_set_bounds(node_conf.limits.log_max_size, node_conf.limits.log_keep);
	log_set_fatal_hook(status_error);
	log_notice("starting: %s, places backend %s", file,
	    conf_backend_name(node_conf.places.backend));

	loop = ev_default_loop(EVFLAG_AUTO);
	store_init();
	update_init(&node_conf);
	if (journal_open(loop, &node_conf, self, err, sizeof(err)) == -1) {
		/* a state_dir it cannot write in is a configuration error */
		int	 perm = errno == EACCES || errno == EPERM ||
		    errno == EROFS || errno == ENOTDIR || errno == ENOENT;

		return node_fail(perm ? HERD_EXIT_CONFIG : 1, "journal", err);
	}
	if (places_init(loop, &node_conf.places,
	    status_inherited_fd(NOTIFY_PLACES_ENV), err, sizeof(err)) == -1) {
		return node_fail(HERD_EXIT_CONFIG, "places", err);
	}
	if (peer_tls_init(&node_conf, self, err, sizeof(err)) == -1)
		return node_fail(HERD_EXIT_CONFIG, "peer_tls", err);
	client_set_limits(&node_conf.limits);
	admit_descriptors(&node_conf.limits, 64 + 4 * node_conf.nservers);
	if (client_init(loop, self, err, sizeof(err)) == -1)
		return node_fail(1, "listen", err);
	if ((rc = client_tls_init(loop, &node_conf, self, err,
	    sizeof(err))) != 0)
		return node_fail(rc, "tls_port", err);
	if (peer_init(loop, &node_conf, self, err, sizeof(err)) == -1)
		return node_fail(1, "listen", err);
	status_init(loop);
	expire_init(loop);

	ev_signal_init(&node_sigterm, node_signal_cb, SIGTERM);
	ev_signal_init(&node_sigint, node_signal_cb, SIGINT);
	ev_signal_start(loop, &node_sigterm);
	ev_signal_start(loop, &node_sigint);
	ev_signal_init(&node_sighup, node_sighup_cb, SIGHUP);
	ev_signal_start(loop, &node_sighup);
	ev_prepare_init(&node_prepare, node_prepare_cb);
	ev_prepare_start(loop, &node_prepare);
	log_notice("ready");
	log_flush();

	ev_run(loop, 0);

	status_final();
	expire_stop();
	client_shutdown();
	client_tls_shutdown();
	peer_shutdown();
	journal_close();
	places_shutdown();
	status_shutdown();
	store_free();
	update_free();
	admit_free();
	log_notice("stopped");
	log_close();
	conf_free(&node_conf);
	ev_loop_destroy(loop);
	return 0;
}
