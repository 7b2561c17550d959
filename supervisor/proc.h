/*
 * proc.h -- herdd's worker table: one herd-node process per server.
 *
 * Each worker goes through these states:
 *
 *	starting	forked, not ready yet (no READY on its notify channel)
 *	running		ready: both its ports listen
 *	backoff		exited; waiting next_start_ms before a new start
 *	stopping	sent TERM (KILL after stop_timeout_ms); waiting to reap
 *	stopped		down on request; stays down until started
 *	failed		exited 78 (configuration): never respawned by itself
 *
 * Servers of the configuration that this herdd does not run (their host is
 * on another machine, or -s left them out) have no worker here: status
 * shows them as "remote", and the other commands refuse them.
 *
 * Any exit that herdd did not ask for is a crash.  The first restart of a
 * worker that was healthy (ready, and not crashing within restart_reset_s
 * of its last crash) is immediate; each further consecutive crash doubles
 * the delay from restart_delay_ms up to restart_max_ms.  A worker that has
 * been ready for restart_reset_s starts afresh.
 */
#ifndef HERD_PROC_H
#define HERD_PROC_H

#include <sys/types.h>

#include <json-c/json.h>

#include "conf.h"

enum proc_state {
	PROC_STARTING,
	PROC_RUNNING,
	PROC_BACKOFF,
	PROC_STOPPING,
	PROC_STOPPED,
	PROC_FAILED,
};

/*
 * Set the herd up.  Takes ownership of cf, which must come from malloc()
 * and be filled by conf_load(); node_path is copied.  run[i] is nonzero
 * when cf->servers[i] runs here (copied); chosen: the set was named with
 * -s rather than found from the hosts (for messages).
 */
/*
 * A secret for the workers when the file gives none (hex, made by herdd):
 * passed to each as HERD_SECRET, unless one is configured or in the
 * environment already.
 */
void		 proc_set_secret(const char *hex);
void		 proc_init(struct herd_conf *cf, const char *node_path,
		    const unsigned char *run, int chosen);

/* Start every worker that is not stopped on purpose. */
void		 proc_start_all(void);

/*
 * Stop everything for exit; done_cb is called once no worker is left
 * (at once when there is none).
 */
void		 proc_shutdown(void (*done_cb)(void));

/* Free the table at exit, once proc_shutdown() is done. */
void		 proc_free(void);

/*
 * Apply a new configuration (already validated).  Takes ownership of cf
 * as proc_init() does, and frees the previous one; run is as for
 * proc_init().  A server that no longer runs here is stopped and leaves
 * the table (reported as removed); one that now does is started (added).
 * Writes what it did into result.
 */
void		 proc_reload(struct herd_conf *cf, const char *node_path,
		    const unsigned char *run, struct json_object *result);

/*
 * The control commands.  Each returns 0, or -1 with a message in err;
 * result gets the fields of the reply.
 */
int		 proc_status(const char *name, struct json_object *result,
		    char *err, size_t errlen);
int		 proc_ctl_start(const char *name, struct json_object *result,
		    char *err, size_t errlen);
int		 proc_ctl_stop(const char *name, struct json_object *result,
		    char *err, size_t errlen);
int		 proc_ctl_restart(const char *name, struct json_object *result,
		    char *err, size_t errlen);
int		 proc_ctl_kill(const char *name, int signo,
		    struct json_object *result, char *err, size_t errlen);

const char	*proc_state_name(enum proc_state state);

/*
 * The delay before restart number crashes (1 = the first crash) of a
 * worker; healthy: it had been ready before this crash.  Pure; unit tested.
 */
long		 proc_backoff_ms(unsigned int crashes, int healthy,
		    int delay_ms, int max_ms);

#endif /* HERD_PROC_H */
