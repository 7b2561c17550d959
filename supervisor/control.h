/*
 * control.h -- herdd's control socket and its command language.
 *
 * One command per line, one JSON object per reply line:
 *
 *	status [NAME ...]	{"ok": true, "nodes": [...]}
 *	start [--no-wait] NAME ... | all
 *				start stopped, failed or backing-off workers;
 *				the reply comes once each runs (or failed)
 *	stop [--no-wait] NAME ... | all
 *				stop workers; they stay down until started
 *	restart [--no-wait] NAME ... | all
 *				stop, then start
 *	kill NAME [SIGNAL]	send a signal (default KILL): a crash
 *	reload [--no-wait]	re-read the configuration, apply the diff; the
 *				reply comes once the changed servers have
 *				been restarted, one at a time
 *	metrics			{"ok": true, "text": "..."}: the counters in
 *				the Prometheus text format (metrics.h)
 *	reopen			reopen every log file (herdd's and workers')
 *	shutdown		stop every worker and exit
 *
 * Only root and herdd's own user may connect (SO_PEERCRED).
 *
 * control_parse() is pure (no I/O, no globals): it is shared by herdd,
 * herdctl, the unit tests and the fuzzer.
 */
#ifndef HERD_CONTROL_H
#define HERD_CONTROL_H

#include <stddef.h>

#include <json-c/json.h>

#include "conf.h"

#define CONTROL_LINE_MAX	1024		/* a longer line is refused */
#define CONTROL_OUT_HIWAT	(64 * 1024)	/* stop reading past this */
#define CONTROL_OUT_MAX		(1024 * 1024)	/* drop a client past this */
#define CONTROL_CONN_MAX	64		/* connections at once */
#define CONTROL_IDLE_S		5		/* silent this long: closed */
#define CONTROL_NAMES_MAX	128		/* names in one command */

enum control_verb {
	CONTROL_NONE = 0,	/* empty line: no reply */
	CONTROL_STATUS,
	CONTROL_START,
	CONTROL_STOP,
	CONTROL_RESTART,
	CONTROL_KILL,
	CONTROL_RELOAD,
	CONTROL_REOPEN,
	CONTROL_SHUTDOWN,
	CONTROL_METRICS,
	CONTROL_NVERBS		/* not a verb: one past the last */
};

struct control_cmd {
	enum control_verb verb;
	size_t		 nnames;			/* 0: none given */
	char		 names[CONTROL_NAMES_MAX][HERD_NAME_MAX + 1];
	int		 all;				/* "all" */
	int		 nowait;			/* --no-wait */
	int		 signo;				/* CONTROL_KILL */
	char		 error[128];			/* when -1 */
};

/*
 * Parse one command line (without its "\n"; a trailing "\r" is allowed).
 * Returns 0 with *cmd filled in, or -1 with cmd->error set to a one-line
 * message.  Never reads past line[len - 1]; line need not be NUL-ended.
 */
int		 control_parse(const char *line, size_t len,
		    struct control_cmd *cmd);

/* The number of a signal written as "TERM", "SIGTERM", "term" or "15". */
int		 control_signal(const char *s);

/* The name of a verb, as typed. */
const char	*control_verb_name(enum control_verb verb);

/*
 * The socket itself (control.c).
 *
 * A command still being carried out: its connection reads nothing more
 * until it is answered.  Whoever holds it must answer it once, with
 * control_answer(), even after the connection has gone (the answer is
 * then dropped).
 */
struct control_req;

/*
 * What carries out each command: returns the reply (an object with "ok"),
 * or NULL when it will answer req later.
 */
typedef struct json_object *(*control_run_fn)(const struct control_cmd *cmd,
		    struct control_req *req);

/*
 * control_init() refuses (-1 with a message in err) when a live herdd
 * answers at path, replaces a stale socket file, and listens with mode
 * 0600.
 */
int		 control_init(const char *path, control_run_fn run, char *err,
		    size_t errlen);
void		 control_answer(struct control_req *req,
		    struct json_object *reply);
/* {"ok": false, "error": msg} */
struct json_object *control_error(const char *msg);
void		 control_cleanup(void);

#endif /* HERD_CONTROL_H */
