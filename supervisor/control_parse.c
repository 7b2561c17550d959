/*
 * control_parse.c -- the control command language, parsed without I/O.
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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "control.h"

#define CONTROL_NTOK	(CONTROL_NAMES_MAX + 2)	/* verb, --no-wait, names */
#define CONTROL_TOK_MAX	64	/* longest operand we look at */

enum control_args {
	CONTROL_ARGS_NONE,	/* verb alone */
	CONTROL_ARGS_WAIT,	/* verb [--no-wait] */
	CONTROL_ARGS_NAMES,	/* verb [--no-wait] NAME ... | all */
	CONTROL_ARGS_OPTNAMES,	/* verb [NAME ...] */
	CONTROL_ARGS_KILL,	/* verb NAME [SIGNAL] */
};

static const struct control_verb_ent {
	const char		*name;
	enum control_verb	 verb;
	enum control_args	 args;
	const char		*usage;
} control_verbs[] = {
	{ "status",	CONTROL_STATUS,	  CONTROL_ARGS_OPTNAMES,
	    "status [NAME ...]" },
	{ "start",	CONTROL_START,	  CONTROL_ARGS_NAMES,
	    "start [--no-wait] NAME ... | all" },
	{ "stop",	CONTROL_STOP,	  CONTROL_ARGS_NAMES,
	    "stop [--no-wait] NAME ... | all" },
	{ "restart",	CONTROL_RESTART,  CONTROL_ARGS_NAMES,
	    "restart [--no-wait] NAME ... | all" },
	{ "kill",	CONTROL_KILL,	  CONTROL_ARGS_KILL,
	    "kill NAME [SIGNAL]" },
	{ "reload",	CONTROL_RELOAD,	  CONTROL_ARGS_WAIT,
	    "reload [--no-wait]" },
	{ "metrics",	CONTROL_METRICS,  CONTROL_ARGS_NONE,	"metrics" },
	{ "reopen",	CONTROL_REOPEN,	  CONTROL_ARGS_NONE,	"reopen" },
	{ "shutdown",	CONTROL_SHUTDOWN, CONTROL_ARGS_NONE,	"shutdown" },
};

static const struct control_sig_ent {
	const char	*name;
	int		 signo;
} control_sigs[] = {
	{ "HUP", SIGHUP },	{ "INT", SIGINT },	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	{ "TRAP", SIGTRAP },	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },	{ "FPE", SIGFPE },	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },	{ "SEGV", SIGSEGV },	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },	{ "TERM", SIGTERM },
	{ "CHLD", SIGCHLD },	{ "CONT", SIGCONT },	{ "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	{ "TTIN", SIGTTIN },	{ "TTOU", SIGTTOU },
	{ "URG", SIGURG },	{ "XCPU", SIGXCPU },	{ "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },	{ "WINCH", SIGWINCH },
	{ "IO", SIGIO },	{ "SYS", SIGSYS },
};

struct control_tok {
	const char	*p;
	size_t		 len;
};

static int
control_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Copy a token for a message: printable ASCII only, cut at 32 bytes. */
static void
control_quote(char *dst, size_t dstlen, const struct control_tok *t)
{
	size_t	 i, n = t->len;

	if (dstlen == 0)
		return;
	if (n > 32)
		n = 32;
	if (n > dstlen - 1)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (t->p[i] > 0x20 && t->p[i] < 0x7f) ? t->p[i] : '?';
	dst[n] = '\0';
}

static int
control_name_ok(const struct control_tok *t)
{
	size_t	 i;
	char	 c;

	if (t->len == 0 || t->len > HERD_NAME_MAX)
		return 0;
	for (i = 0; i < t->len; i++) {
		c = t->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
control_signal(const char *s)
{
	size_t	 i;
	long	 n = 0;

	if (s[0] >= '0' && s[0] <= '9') {
		for (i = 0; s[i] != '\0'; i++) {
			if (s[i] < '0' || s[i] > '9' || i >= 3)
				return -1;
			n = n * 10 + (s[i] - '0');
		}
		return (n >= 1 && n < NSIG) ? (int)n : -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(control_sigs) / sizeof(control_sigs[0]); i++)
		if (strcasecmp(s, control_sigs[i].name) == 0)
			return control_sigs[i].signo;
	return -1;
}

const char *
control_verb_name(enum control_verb verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(control_verbs) / sizeof(control_verbs[0]); i++)
		if (control_verbs[i].verb == verb)
			return control_verbs[i].name;
	return "none";
}

static int
control_fail(struct control_cmd *cmd, const char *fmt, const char *arg)
{
	snprintf(cmd->error, sizeof(cmd->error), fmt, arg);
	return -1;
}

static int
control_is(const struct control_tok *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->p, word, t->len) == 0;
}

/* The operands of verb v: tok[1] .. tok[ntok - 1]. */
static int
control_args(const struct control_verb_ent *v, const struct control_tok *tok,
    size_t ntok, struct control_cmd *cmd)
{
	char	 buf[CONTROL_TOK_MAX + 1];
	size_t	 i = 1;

	if ((v->args == CONTROL_ARGS_WAIT || v->args == CONTROL_ARGS_NAMES) &&
	    ntok > 1 && control_is(&tok[1], "--no-wait")) {
		cmd->nowait = 1;
		i++;
	}
	switch (v->args) {
	case CONTROL_ARGS_NONE:
	case CONTROL_ARGS_WAIT:
		if (ntok != i)
			return control_fail(cmd, "usage: %s", v->usage);
		return 0;
	case CONTROL_ARGS_NAMES:
		if (ntok == i)
			return control_fail(cmd, "usage: %s", v->usage);
		if (ntok == i + 1 && control_is(&tok[i], "all")) {
			cmd->all = 1;
			return 0;
		}
		break;
	case CONTROL_ARGS_OPTNAMES:
		break;
	case CONTROL_ARGS_KILL:
		if (ntok < 2 || ntok > 3)
			return control_fail(cmd, "usage: %s", v->usage);
		break;
	}
	for (; i < ntok; i++) {
		if (v->args == CONTROL_ARGS_KILL && i == 2) {
			control_quote(buf, sizeof(buf), &tok[2]);
			if (tok[2].len > 32 ||
			    (cmd->signo = control_signal(buf)) == -1) {
				cmd->signo = 0;
				return control_fail(cmd,
				    "unknown signal \"%s\"", buf);
			}
			return 0;
		}
		if (tok[i].p[0] == '-') {
			control_quote(buf, sizeof(buf), &tok[i]);
			return control_fail(cmd, "unknown option \"%s\" (options "
			    "go before the names)", buf);
		}
		if (!control_name_ok(&tok[i]) || control_is(&tok[i], "all")) {
			control_quote(buf, sizeof(buf), &tok[i]);
			return control_fail(cmd, control_is(&tok[i], "all") ?
			    "\"%s\" goes alone" : "bad node name \"%s\"", buf);
		}
		if (cmd->nnames == CONTROL_NAMES_MAX)
			return control_fail(cmd, "%s: too many names",
			    v->name);
		memcpy(cmd->names[cmd->nnames], tok[i].p, tok[i].len);
		cmd->names[cmd->nnames][tok[i].len] = '\0';
		cmd->nnames++;
	}
	if (v->args == CONTROL_ARGS_KILL)
		cmd->signo = SIGKILL;
	return 0;
}

int
control_parse(const char *line, size_t len, struct control_cmd *cmd)
{
	struct control_tok		 tok[CONTROL_NTOK];
	const struct control_verb_ent	*v = NULL;
	char				 buf[CONTROL_TOK_MAX + 1];
	size_t				 i, ntok = 0, pos = 0;

	memset(cmd, 0, sizeof(*cmd));
	for (;;) {
		while (pos < len && control_space(line[pos]))
			pos++;
		if (pos == len)
			break;
		if (ntok == CONTROL_NTOK)
			return control_fail(cmd, "%s: too many arguments",
			    control_verb_name(cmd->verb));
		tok[ntok].p = line + pos;
		while (pos < len && !control_space(line[pos]))
			pos++;
		tok[ntok].len = (size_t)(line + pos - tok[ntok].p);
		if (ntok == 0) {
			for (i = 0; i < sizeof(control_verbs) /
			    sizeof(control_verbs[0]); i++)
				if (strlen(control_verbs[i].name) ==
				    tok[0].len && strncasecmp(control_verbs[i].name,
				    tok[0].p, tok[0].len) == 0) {
					v = &control_verbs[i];
					break;
				}
			if (v == NULL) {
				control_quote(buf, sizeof(buf), &tok[0]);
				return control_fail(cmd,
				    "unknown command \"%s\"", buf);
			}
			cmd->verb = v->verb;
		}
		ntok++;
	}
	if (ntok == 0)
		return 0;			/* CONTROL_NONE */
	return control_args(v, tok, ntok, cmd);
}
