/*
 * proc_int.h -- what the files of herdd's worker table share, floor by
 * floor (each calls only those below it):
 *
 *	proc.c		the table, its states and their observers
 *	proc_notify.c	the notify channel and heartbeat
 *	metrics.c	the counters of each server
 *	proc_life.c	a worker's life: fork+exec, reaping, backoff, stop
 *	proc_reload.c	the reload diff and rolling restart
 *	proc_ctl.c	the control verbs with their JSON
 *
 * The upper two learn of changes below through a struct proc_observer.
 * Not for the rest of herdd, which uses proc.h.
 */
#ifndef HERD_PROC_INT_H
#define HERD_PROC_INT_H

#include <sys/types.h>

#include <stdint.h>

#include <ev.h>
#include <json-c/json.h>

#include "conf.h"
#include "linebuf.h"
#include "notify.h"
#include "proc.h"

#define PROC_PING_S		1.0	/* heartbeat to each running worker */
#define PROC_DEAF_S		3.0	/* no PONG this long: unresponsive */
#define PROC_CRASH_MAX		64	/* crash times kept per worker */
#define PROC_SETTLED_S		1.0	/* ready this long: killed, back at once */
#define PROC_REASON_MAX		(NOTIFY_TEXT_MAX + 128)

enum proc_want {			/* what a stopping worker goes to */
	PROC_WANT_STOP,			/* stopped */
	PROC_WANT_START,		/* a fresh start (restart) */
	PROC_WANT_REMOVE,		/* gone from the table (reload) */
};

struct proc {
	char		 name[HERD_NAME_MAX + 1];
	char		 host[256];	/* from the configuration */
	uint16_t	 port;		/* from the configuration */
	uint16_t	 peer_port;
	uint16_t	 tls_port;	/* 0: none */
	enum proc_state	 state;
	enum proc_want	 want;		/* while stopping */
	pid_t		 pid;		/* 0 when no process */
	int		 fd;		/* our end of the notify channel */
	ev_child	 child_w;	/* reaps pid */
	ev_io		 notify_w;	/* READY, STATS, PONG, ERROR */
	ev_timer	 timer_w;	/* ready timeout, backoff, stop grace */
	struct linebuf	 in;		/* the notify channel's records */
	int		 skipping;	/* inside an over-long record */
	int		 draining;	/* reading its last words */
	ev_tstamp	 spawned;	/* ev_now() at fork */
	ev_tstamp	 ready_at;	/* 0 until READY */
	ev_tstamp	 next_start;	/* while backing off */
	ev_tstamp	 last_pong;	/* READY or the last PONG (stall_clock) */
	unsigned long	 ping_seq;	/* the last PING sent */
	unsigned int	 spawns;	/* processes started */
	unsigned int	 restarts;	/* spawns after the first */
	unsigned int	 crashes;	/* consecutive failures (backoff.h) */
	unsigned int	 kills;		/* starts killed from outside before
					   they were ready, in a row */
	int		 by_request;	/* herdctl kill signalled this pid */
	ev_tstamp	 crash_at[PROC_CRASH_MAX];	/* a ring of crash times */
	unsigned int	 ncrash;	/* in crash_at, since the last start */
	int		 healthy_first;	/* the first of them had been ready */
	int		 last_status;	/* wait(2) status; -1 for none */
	char		 killed[128];	/* why we killed it, or "" */
	int		 reload_stop;	/* counted in proc_reload_pending */
	int		 reload_start;	/* start once a reload has settled */
	int		 bad_notify;	/* logged a bad record already */
	int		 have_stats;	/* STATS seen from this process */
	unsigned long	 clients;	/* clients known */
	unsigned long	 conns;		/* client connections open */
	char		 links[NOTIFY_LIST_MAX];	/* "A,B" */
	char		 eager[NOTIFY_LIST_MAX];	/* of those, the tree's */
	char		 synced[NOTIFY_LIST_MAX];	/* "A,B" */
	char		 keys[NOTIFY_LIST_MAX];	/* "A=herd1:...,B=...": the key
					   of each link of ours over TLS */
	char		 keys_in[NOTIFY_LIST_MAX];	/* and of each to us */
	unsigned int	 have_keys;	/* NOTIFY_F_KEYS, _KEYS_IN: said */
	char		 journal[16];	/* its journal: off, ok, error */
	char		 error[NOTIFY_TEXT_MAX + 1];	/* its ERROR, or "" */
	char		 reason[PROC_REASON_MAX];	/* why this state, or "" */
	/* counters (notify.h): the earlier processes' sum, and this one's */
	unsigned long long ctr_base[NOTIFY_C_N], ctr_cur[NOTIFY_C_N];
	unsigned long long hist_base[NOTIFY_HIST_N], hist_cur[NOTIFY_HIST_N];
	struct proc_flood *flood;	/* by neighbour, as workers named them */
	size_t		 nflood;
	unsigned long long jbytes;	/* its journal's size (jbytes=) */
	int		 have_jbytes;
};

struct proc_flood {
	char		 name[HERD_NAME_MAX + 1];
	unsigned long long base, cur;
};

/* The table, in the order of the configuration file (proc.c). */
extern struct proc	**proc_table;
extern size_t		  proc_n;
extern struct herd_conf	 *proc_conf;
extern unsigned char	 *proc_run;	/* [i]: proc_conf->servers[i] here */
extern int		  proc_chosen;	/* proc_run came from -s */
extern char		  proc_node[HERD_PATH_MAX];
extern int		  proc_shutting;
extern ev_tstamp	  proc_started;	/* when proc_start_all first ran */

/*
 * What the files above the table (proc_reload.c, proc_ctl.c) are told,
 * registered once at start-up with proc_observe() and called in the
 * order registered; any member may be NULL.
 */
struct proc_observer {
	/* a worker changed state or left the table, or was caught up */
	void	(*changed)(void);
	/* a stopping worker got where it was sent (it is still in the table) */
	void	(*stopped)(struct proc *);
	/* herdd is shutting down: answer what waits */
	void	(*abort)(void);
};

/* proc.c: the table and its states. */
/* Every change of state: logged once, told to the observers. */
void		 proc_set_state(struct proc *, enum proc_state, const char *);
void		 proc_exit_desc(int status, char *buf, size_t len);
struct proc	*proc_find(const char *name);
int		 proc_leaving(const struct proc *);
int		 proc_runs_here(const struct herd_server *);
unsigned char	*proc_run_copy(const struct herd_conf *, const unsigned char *);
/* Forget its crashes: a start or reload by hand gives it a new chance. */
void		 proc_forgive(struct proc *);
/* 1 when it has a process that answers (running or unresponsive). */
int		 proc_up(const struct proc *);
/* Is name in list, a comma-separated set of names? */
int		 proc_in_list(const char *list, const char *name);
/* At most 4 observers; each is kept, not copied. */
void		 proc_observe(const struct proc_observer *);
/* Call each observer's changed, stopped or abort. */
void		 proc_tell_changed(void);
void		 proc_tell_stopped(struct proc *);
void		 proc_tell_abort(void);

/* proc_life.c: a worker's life. */
void		 proc_spawn(struct proc *);
void		 proc_stop(struct proc *, enum proc_want);
struct proc	*proc_new(const struct herd_server *);

/* proc_notify.c: the channel and the heartbeat. */
void		 proc_notify_open(struct proc *, int fd);
/* drain: read what it wrote last first (it has exited). */
void		 proc_notify_close(struct proc *, int drain);
void		 proc_heartbeat_start(void);
void		 proc_heartbeat_stop(void);

/* metrics.c: the counters of each server, added up over its processes. */
/* A new process: what the last one counted joins the sum. */
void		 metrics_fold(struct proc *);
/* A STATS record's counters. */
void		 metrics_take(struct proc *, const struct notify_msg *);
/* The server's counters as "counters" of its status object. */
void		 metrics_json(const struct proc *, struct json_object *);

#endif /* HERD_PROC_INT_H */
