/*
 * cli_edit.h -- herd-cli's interactive mode: lines read with libedit's
 * editing and history on a terminal, plainly from a pipe or file.
 */
#ifndef HERD_CLI_EDIT_H
#define HERD_CLI_EDIT_H

#define CLI_HISTORY_MAX	1000	/* lines of history kept */

/* What a command did, as cli_edit_loop()'s run() says. */
enum cli_ran {
	CLI_RAN_OK = 0,
	CLI_RAN_FAILED,		/* told on standard error; go on */
	CLI_RAN_QUIT,
};

/*
 * Read lines from standard input and give each to run(arg, line) until it
 * says CLI_RAN_QUIT or input ends.  On a terminal, with prompt, line
 * editing and history loaded from and saved to history (NULL: none; a
 * line that starts with a space is not kept, as in bash with
 * HISTCONTROL=ignorespace).  The exit status: 0, or 1 when input is not a
 * terminal and a command failed.
 */
int	 cli_edit_loop(const char *prompt, const char *history,
	    enum cli_ran (*run)(void *, const char *), void *arg);

#endif /* HERD_CLI_EDIT_H */
