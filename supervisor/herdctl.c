/*
 * herdctl.c -- talk to herdd over its control socket.
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

#include <err.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "control.h"
#include "ctlclient.h"
#include "herdctl.h"
#include "paths.h"

#define HERDCTL_CONF		paths_conf()	/* paths.h */

static void	 herdctl_usage(FILE *, int) __attribute__((noreturn));
static int	 herdctl_log(int, char *[], const char *);

static void
herdctl_usage(FILE *fp, int status)
{
	fprintf(fp, "usage: herdctl [-f file | -s socket] [-j] command "
	    "[argument ...]\n"
	    "       herdctl -h | --help | --version\n"
	    "commands: status [name ...]\n"
	    "          start | stop | restart [--no-wait] name ... | all\n"
	    "          kill name [signal]\n"
	    "          log [-f] [-n lines] name\n"
	    "          metrics, top [-n count] [-d seconds]\n"
	    "          reload [--no-wait], reopen, shutdown\n");
	exit(status);
}

/* Join the words of the command into one line. */
static char *
herdctl_line(int argc, char *argv[], size_t *lenp)
{
	char	*line;
	size_t	 len = 0, n;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (len > CONTROL_LINE_MAX)
		errx(HERD_EXIT_USAGE, "command too long");
	if ((line = malloc(len + 1)) == NULL)
		err(1, "malloc");
	len = 0;
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (strpbrk(argv[i], " \t\r\n\f\v") != NULL || n == 0)
			errx(HERD_EXIT_USAGE, "bad argument \"%s\"", argv[i]);
		memcpy(line + len, argv[i], n);
		len += n;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	line[len] = '\0';
	*lenp = len;
	return line;
}

/* Where the last lines of the file begin (read backwards in blocks). */
static off_t
herdctl_tail_start(int fd, off_t size, long lines)
{
	char	 buf[8192];
	off_t	 pos = size, start;
	ssize_t	 n, i;
	long	 seen = 0;

	if (lines == 0)
		return size;
	while (pos > 0) {
		start = pos > (off_t)sizeof(buf) ? pos - (off_t)sizeof(buf) : 0;
		if ((n = pread(fd, buf, (size_t)(pos - start), start)) <= 0)
			return 0;
		for (i = n - 1; i >= 0; i--) {
			/* the newline ending the file's last line is not a break */
			if (buf[i] == '\n' && start + i != size - 1 &&
			    ++seen == lines)
				return start + i + 1;
		}
		pos = start;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct herd_conf	 cf;
	struct control_cmd	 cmd;
	struct json_object	*reply, *v;
	const char		*conf_file = HERDCTL_CONF, *sock = NULL;
	/* static: still reachable when err(3) exits (LeakSanitizer) */
	static char		*line, *text;
	char			 errs[8192];
	size_t			 len = 0;
	int			 ch, json = 0, fd, ok, fflag = 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		herdctl_usage(stdout, 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("herdctl %s\n", HERD_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+f:hjs:")) != -1) {
		switch (ch) {
		case 'f':
			conf_file = optarg;
			fflag = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			herdctl_usage(stdout, 0);
		default:
			herdctl_usage(stderr, HERD_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (sock != NULL && fflag))
		herdctl_usage(stderr, HERD_EXIT_USAGE);

	if (strcmp(argv[0], "log") != 0 && strcmp(argv[0], "top") != 0) {
		line = herdctl_line(argc, argv, &len);
		if (control_parse(line, len - 1, &cmd) == -1)
			errx(HERD_EXIT_USAGE, "%s", cmd.error);
	}

	if (sock == NULL) {
		static char	 path[HERD_PATH_MAX];

		/*
		 * Only [herd] control is needed: a file broken elsewhere (say
		 * mid-edit) still names the socket, so status and shutdown work.
		 */
		if (conf_control_path(conf_file, path, sizeof(path)) == 0)
			sock = path;
		else if (conf_load(conf_file, &cf, errs, sizeof(errs)) == -1) {
			fprintf(stderr, "herdctl: %s", errs);
			return HERD_EXIT_CONFIG;
		} else {
			snprintf(path, sizeof(path), "%s", cf.control);
			conf_free(&cf);
			sock = path;
		}
	}

	if (strcmp(argv[0], "log") == 0)
		return herdctl_log(argc, argv, sock);
	if (strcmp(argv[0], "top") == 0)
		return top_main(argc, argv, sock);
	fd = ctlclient_connect(sock, !cmd.nowait &&
	    (cmd.verb == CONTROL_START || cmd.verb == CONTROL_STOP ||
	    cmd.verb == CONTROL_RESTART || cmd.verb == CONTROL_RELOAD));
	text = ctlclient_talk(fd, line, len, sock);
	close(fd);
	if ((reply = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		errx(1, "%s: not a reply from herdd", sock);
	ok = json_object_get_boolean(v);
	if (json)
		printf("%s\n", text);
	if (!ok) {
		const char *msg = "failed";

		if (json_object_object_get_ex(reply, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			msg = json_object_get_string(v);
		fprintf(stderr, "herdctl: %s\n", msg);
	} else if (!json)
		output_result(stdout, &cmd, reply);
	/* a start, stop or restart that did not get there */
	if (ok && !output_all_done(reply))
		ok = 0;
	json_object_put(reply);
	free(text);
	free(line);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	return ok ? 0 : 1;
}

/*
 * log [-f] [-n lines] NAME: the end of a worker's log, found by asking
 * herdd where it is; -f follows it, across a rotation, as tail -F does.
 */
static int
herdctl_log(int argc, char *argv[], const char *sock)
{
	struct json_object	*reply, *nodes, *v;
	struct stat		 st, now;
	char			 buf[65536], req[CONTROL_LINE_MAX + 16];
	const char		*path;
	long			 lines = 10;
	int			 ch, follow = 0, lfd;
	off_t			 pos;
	ssize_t			 n;

	optind = 1;
	while ((ch = getopt(argc, argv, "fn:")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			lines = strtol(optarg, NULL, 10);
			if (lines < 0 || lines > 1000000)
				errx(HERD_EXIT_USAGE, "-n %s: a number of lines",
				    optarg);
			break;
		default:
			herdctl_usage(stderr, HERD_EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		herdctl_usage(stderr, HERD_EXIT_USAGE);
	if ((size_t)snprintf(req, sizeof(req), "status %s\n", argv[optind]) >=
	    sizeof(req))
		errx(HERD_EXIT_USAGE, "name too long");
	reply = ctlclient_ask(sock, req);
	if (!json_object_object_get_ex(reply, "nodes", &nodes) ||
	    json_object_array_length(nodes) != 1 ||
	    !json_object_object_get_ex(json_object_array_get_idx(nodes, 0),
	    "log", &v))
		errx(1, "%s: not a reply from herdd", sock);
	if (v == NULL)
		errx(1, "%s has no log file here (log_dir is \"-\", or it runs "
		    "on another machine): see herdd's standard error",
		    argv[optind]);
	path = json_object_get_string(v);
	if ((lfd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	if (fstat(lfd, &st) == -1)
		err(1, "%s", path);
	pos = herdctl_tail_start(lfd, st.st_size, lines);
	for (;;) {
		while ((n = pread(lfd, buf, sizeof(buf), pos)) > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				err(1, "stdout");
			pos += n;
		}
		if (n == -1)
			err(1, "%s", path);
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		if (!follow)
			break;
		usleep(200 * 1000);
		/* rotated (a new file at the path) or cut: start over */
		if (stat(path, &now) == 0 && (now.st_ino != st.st_ino ||
		    now.st_dev != st.st_dev)) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			if (nfd != -1) {
				while ((n = pread(lfd, buf, sizeof(buf), pos)) > 0)
					fwrite(buf, 1, (size_t)n, stdout);
				close(lfd);
				lfd = nfd;
				st = now;
				pos = 0;
			}
		} else if (fstat(lfd, &now) == 0 && now.st_size < pos)
			pos = 0;
	}
	close(lfd);
	json_object_put(reply);
	return 0;
}
