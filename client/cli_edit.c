/*
 * cli_edit.c -- herd-cli's interactive mode (cli_edit.h), with libedit:
 * BSD-licensed as herd is (GNU readline is GPL-3), in Debian as
 * libedit-dev, and it reads ~/.editrc for those who set up their keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli_edit.h"

/* Lines from a pipe or a file: no prompt, no history. */
static int
cli_edit_plain(enum cli_ran (*run)(void *, const char *), void *arg)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 status = 0;
	enum cli_ran r = CLI_RAN_OK;

	while (r != CLI_RAN_QUIT && (n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if ((r = run(arg, line)) == CLI_RAN_FAILED)
			status = 1;
	}
	free(line);
	return status;
}

int
cli_edit_loop(const char *prompt, const char *history,
    enum cli_ran (*run)(void *, const char *), void *arg)
{
	char	*line;
	enum cli_ran r = CLI_RAN_OK;

	if (!isatty(STDIN_FILENO))
		return cli_edit_plain(run, arg);
	rl_readline_name = "herd-cli";
	using_history();
	stifle_history(CLI_HISTORY_MAX);
	if (history != NULL)
		read_history(history);		/* none yet: fine */
	while (r != CLI_RAN_QUIT && (line = readline(prompt)) != NULL) {
		if (line[0] != '\0' && line[0] != ' ')
			add_history(line);
		r = run(arg, line);
		free(line);
	}
	if (r != CLI_RAN_QUIT)
		putchar('\n');		/* end of input: leave the line clean */
	if (history != NULL && write_history(history) != 0)
		fprintf(stderr, "herd-cli: cannot save the history in %s\n",
		    history);
	return 0;
}
