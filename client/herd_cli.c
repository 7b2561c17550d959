/*
 * herd_cli.c -- herd-cli, a client of the herd for people, as redis-cli is
 * Redis's: IAMAT with the time stamp of now, WHATSAT with its JSON made
 * readable, to a server of herd.ini or to HOST:PORT; one command from the
 * command line, else one a line, edited on a terminal (herd-cli(1)).
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
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_conn.h"
#include "cli_edit.h"
#include "cli_line.h"
#include "cli_reply.h"
#include "conf.h"
#include "htime.h"
#include "paths.h"

#define HERD_CLI_TIMEOUT_S	10	/* -t: connect, and each reply */
#define HERD_CLI_HISTORY	".herd_cli_history"	/* in $HOME */

/* What every command shares: where, and the connection once open. */
struct herd_cli {
	struct cli_target	 target;
	int			 fd;		/* -1 until the first command */
	int			 timeout_ms;
	int			 bad;		/* the last command was bad */
};

static void	 herd_cli_usage(FILE *, int) __attribute__((noreturn));

static void
herd_cli_usage(FILE *fp, int status)
{
	fprintf(fp, "usage: herd-cli [-f file] [-s server | -c host:port] "
	    "[-t seconds] [command [argument ...]]\n"
	    "       herd-cli -h | --help | --version\n"
	    "commands:\n%s", cli_line_help);
	exit(status);
}

/* Send line, read its reply: 0, or -1 told on standard error. */
static int
herd_cli_ask(struct herd_cli *c, const char *line, size_t len, char **reply,
    size_t *rlen)
{
	char	 errs[512];
	int	 tries, rc = 1;

	for (tries = 0; tries < 2 && rc == 1; tries++) {
		if (c->fd == -1 && (c->fd = cli_conn_open(&c->target,
		    c->timeout_ms, errs, sizeof(errs))) == -1) {
			fprintf(stderr, "herd-cli: %s: %s\n", c->target.label,
			    errs);
			return -1;
		}
		rc = cli_conn_ask(c->fd, line, len, cli_reply_multi(line, len),
		    c->timeout_ms, reply, rlen, errs, sizeof(errs));
		if (rc != 0) {		/* closed, or unknown: start afresh */
			close(c->fd);
			c->fd = -1;
		}
	}
	if (rc == 1)
		snprintf(errs, sizeof(errs), "the server closed the "
		    "connection");
	if (rc != 0) {
		fprintf(stderr, "herd-cli: %s: %s\n", c->target.label, errs);
		return -1;
	}
	return 0;
}

/* One command (cli_line.h), its reply printed. */
static enum cli_ran
herd_cli_run(void *arg, const char *text)
{
	struct herd_cli	*c = arg;
	struct htime	 now;
	char		 line[CLI_LINE_MAX], errs[512], *reply, *shown;
	size_t		 rlen;
	int		 refused;

	htime_now(&now);
	c->bad = 0;
	switch (cli_line_make(text, strlen(text), &now, line, sizeof(line),
	    errs, sizeof(errs))) {
	case CLI_EMPTY:
		return CLI_RAN_OK;
	case CLI_ERROR:
		fprintf(stderr, "herd-cli: %s\n", errs);
		c->bad = 1;
		return CLI_RAN_FAILED;
	case CLI_HELP:
		fputs(cli_line_help, stdout);
		return CLI_RAN_OK;
	case CLI_QUIT:
		return CLI_RAN_QUIT;
	default:
		break;
	}
	if (herd_cli_ask(c, line, strlen(line), &reply, &rlen) == -1)
		return CLI_RAN_FAILED;
	if ((shown = cli_reply_format(reply, rlen)) == NULL)
		err(1, "malloc");
	fputs(shown, stdout);
	fflush(stdout);
	free(shown);
	refused = rlen > 0 && reply[0] == '?';
	free(reply);
	/* the server refused the line ("? LINE"): a failure for the status */
	return refused ? CLI_RAN_FAILED : CLI_RAN_OK;
}

/* The words of the command line as one line; NULL when out of memory. */
static char *
herd_cli_join(int argc, char *argv[])
{
	char	*s;
	size_t	 len = 1, n;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (len = 0, i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		memcpy(s + len, argv[i], n);
		len += n;
		s[len++] = ' ';
	}
	s[len > 0 ? len - 1 : 0] = '\0';
	return s;
}

/* $HERD_CLI_HISTORY ("": none), else ~/.herd_cli_history, else none. */
static const char *
herd_cli_history(char *buf, size_t len)
{
	const char	*h;

	if ((h = getenv("HERD_CLI_HISTORY")) != NULL)
		return h[0] != '\0' ? h : NULL;
	if ((h = getenv("HOME")) == NULL || h[0] == '\0' ||
	    (size_t)snprintf(buf, len, "%s/%s", h, HERD_CLI_HISTORY) >= len)
		return NULL;
	return buf;
}

int
main(int argc, char *argv[])
{
	static struct herd_cli	 c;
	const char		*conf_file = NULL, *server = NULL;
	const char		*hostport = NULL;
	char			 errs[8192], prompt[400], hist[HERD_PATH_MAX];
	char			*text, *end;
	long			 t;
	int			 ch, status;
	enum cli_ran		 r;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		herd_cli_usage(stdout, 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("herd-cli %s\n", HERD_VERSION);
		return 0;
	}
	c.fd = -1;
	c.timeout_ms = HERD_CLI_TIMEOUT_S * 1000;
	while ((ch = getopt(argc, argv, "+c:f:hs:t:")) != -1) {
		switch (ch) {
		case 'c':
			hostport = optarg;
			break;
		case 'f':
			conf_file = optarg;
			break;
		case 'h':
			herd_cli_usage(stdout, 0);
		case 's':
			server = optarg;
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || t < 1 || t > 3600)
				errx(HERD_EXIT_USAGE, "-t %s: 1 to 3600 seconds",
				    optarg);
			c.timeout_ms = (int)t * 1000;
			break;
		default:
			herd_cli_usage(stderr, HERD_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (hostport != NULL && (server != NULL || conf_file != NULL))
		herd_cli_usage(stderr, HERD_EXIT_USAGE);
	if (cli_conn_target(conf_file != NULL ? conf_file : paths_conf(),
	    server, hostport, &c.target, errs, sizeof(errs)) == -1) {
		fprintf(stderr, "herd-cli: %s\n", errs);
		return HERD_EXIT_CONFIG;
	}

	if (argc > 0) {			/* one command */
		if ((text = herd_cli_join(argc, argv)) == NULL)
			err(1, "malloc");
		r = herd_cli_run(&c, text);
		free(text);
		status = r != CLI_RAN_FAILED ? 0 : c.bad ? HERD_EXIT_USAGE : 1;
	} else {
		snprintf(prompt, sizeof(prompt), "%s> ", c.target.label);
		status = cli_edit_loop(prompt, herd_cli_history(hist,
		    sizeof(hist)), herd_cli_run, &c);
	}
	if (c.fd != -1)
		close(c.fd);
	return status;
}
