/*
 * proc.h -- herdd's worker table: one herd-node process per server.
 *
 * Each worker goes through these states:
 *
 *	starting	forked, not ready yet (no READY on its notify channel)
 *	running		ready: both its ports listen
 *	unresponsive	running, but no answer to the heartbeat (a PING a
 *			second on the notify channel) for 3 s: paused or
 *			wedged; killed after hang_timeout_ms (a crash)
 *	backoff		exited; waiting next_start_ms before a new start
 *	stopping	sent TERM (KILL after stop_timeout_ms); waiting to reap
 *	stopped		down on request; stays down until started
 *	failed		exited 78 (configuration), or failed
 *			start_limit_burst times within start_limit_interval_s:
 *			never respawned by itself; start or reload clears it
 *
 * Servers of the configuration that this herdd does not run (their host is
 * on another machine, or -s left them out) have no worker here: status
 * shows them as "remote", and the other commands refuse them.
 *
 * Any end that herdd did not ask for is a failure of the worker's own or a
 * kill from outside (backoff_from_outside() in backoff.h says which).  The
 * first restart of a worker that was healthy (ready, and not failing
 * within restart_reset_s of its last failure) is immediate; each further
 * consecutive failure doubles the delay from restart_delay_ms up to
 * restart_max_ms.  A worker that has been ready for restart_reset_s starts
 * afresh.  Only failures count toward the start limit; a worker killed
 * from outside always starts again: at once when it had been ready for
 * PROC_SETTLED_S, else after restart_delay_ms, doubling over starts killed
 * before they were ready.  Heartbeat silence counts only while herdd runs
 * (stall.h).
 */
#ifndef HERD_PROC_H
#define HERD_PROC_H

#include <sys/types.h>

#include <json-c/json.h>

#include "conf.h"
#include "control.h"

enum proc_state {
	PROC_STARTING,
	PROC_RUNNING,
	PROC_UNRESPONSIVE,
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

/*
 * The image of the offline data set that workers started from now on
 * map (HERD_PLACES_FD; -1: none, each loads the file); the previous one
 * is returned, for the caller to close.
 */
int		 proc_set_places_fd(int fd);

/* The configuration in force (the last proc_init or proc_reload). */
const struct herd_conf *proc_config(void);

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
 * the table (removed); one that now does is started (added); failed and
 * backing-off ones start again; changed ones that run are restarted one
 * at a time (see proc_reload.c).  Without nowait, req (not NULL) is
 * answered with what happened once all of that is done, and *now is set to
 * NULL; with nowait, *now is the reply at once (the caller owns it) and the
 * roll goes on unanswered.  Returns 0, or -1 with err set when a reload is
 * still under way.
 */
int		 proc_reload(struct herd_conf *cf, const char *node_path,
		    const unsigned char *run, int nowait,
		    struct control_req *req, struct json_object **now,
		    char *err, size_t errlen);

/*
 * The control commands about workers (status, start, stop, restart,
 * kill).  Returns the reply, or NULL when req will be answered later
 * (start, stop and restart wait for the workers to get there).
 */
struct json_object *proc_ctl(const struct control_cmd *cmd,
		    struct control_req *req);

/*
 * Register the reload roll and the waiting control commands as observers
 * of the table (proc_int.h), in this order, once, after proc_init().
 */
void		 proc_reload_init(void);
void		 proc_ctl_init(void);

/* SIGHUP to every worker: each reopens its log. */
void		 proc_reopen(void);

const char	*proc_state_name(enum proc_state state);

#endif /* HERD_PROC_H */
