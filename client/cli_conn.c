/*
 * cli_conn.c -- herd-cli's target and its exchanges with the server
 * (cli_conn.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_conn.h"
#include "cli_reply.h"
#include "conf.h"
#include "sock.h"

#define CLI_CONF_MAX	(4 << 20)	/* bytes of a configuration file */

/* The whole file into a new NUL-ended buffer; NULL with errno set. */
static char *
cli_conn_slurp(const char *path, size_t *lenp)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= CLI_CONF_MAX) {
				errno = EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 8192;
			if ((nb = realloc(buf, cap)) == NULL)
				break;
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0) {
			close(fd);
			buf[len] = '\0';
			*lenp = len;
			return buf;
		}
		len += (size_t)n;
	}
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

int
cli_conn_target(const char *conf_file, const char *server,
    const char *hostport, struct cli_target *t, char *err, size_t errlen)
{
	struct herd_conf		 cf;
	const struct herd_server	*s;
	char				*text;
	size_t				 len;

	memset(t, 0, sizeof(*t));
	if (hostport != NULL) {
		if (sock_parse_hostport(hostport, t->host, sizeof(t->host),
		    &t->port, err, errlen) == -1)
			return -1;
		snprintf(t->label, sizeof(t->label), "%s", hostport);
		return 0;
	}
	if ((text = cli_conn_slurp(conf_file, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", conf_file, strerror(errno));
		return -1;
	}
	if (conf_parse(text, len, conf_file, &cf, err, errlen) == -1) {
		free(text);
		len = strlen(err);	/* "file:line: message\n" lines */
		if (len > 0 && err[len - 1] == '\n')
			err[len - 1] = '\0';
		return -1;
	}
	free(text);
	s = server != NULL ? conf_server(&cf, server) :
	    cf.nservers > 0 ? &cf.servers[0] : NULL;
	if (s == NULL) {
		snprintf(err, errlen, "%s: no server %s", conf_file,
		    server != NULL ? server : "at all");
		conf_free(&cf);
		return -1;
	}
	if (strcmp(s->host, "0.0.0.0") == 0 || s->host[0] == '\0')
		snprintf(t->host, sizeof(t->host), "127.0.0.1");
	else if (strcmp(s->host, "::") == 0)
		snprintf(t->host, sizeof(t->host), "::1");
	else
		snprintf(t->host, sizeof(t->host), "%s", s->host);
	t->port = s->port;
	snprintf(t->label, sizeof(t->label), "%s", s->name);
	conf_free(&cf);
	return 0;
}

/* Wait for events on fd within timeout_ms: 1, 0 on time-out, -1. */
static int
cli_conn_wait(int fd, short events, int timeout_ms)
{
	struct pollfd	 pfd = { fd, events, 0 };
	int		 n;

	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	return n;
}

int
cli_conn_open(const struct cli_target *t, int timeout_ms, char *err,
    size_t errlen)
{
	struct sock_addrs	 sa;
	size_t			 i;
	int			 fd, e = ETIMEDOUT, n;

	if (sock_resolve(t->host, t->port, &sa, err, errlen) == -1)
		return -1;
	for (i = 0; i < sa.n; i++) {
		if ((fd = sock_connect(&sa.a[i])) == -1) {
			e = errno;
			continue;
		}
		if ((n = cli_conn_wait(fd, POLLOUT, timeout_ms)) == 1 &&
		    (e = sock_error(fd)) == 0) {
			/* blocking from here: each read and write is polled */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			return fd;
		}
		if (n == 0)
			e = ETIMEDOUT;
		close(fd);
	}
	snprintf(err, errlen, "connect to %s port %u: %s", t->host,
	    (unsigned)t->port, strerror(e));
	return -1;
}

int
cli_conn_ask(int fd, const char *line, size_t len, int multi,
    int timeout_ms, char **reply, size_t *rlen, char *err, size_t errlen)
{
	char	*buf = NULL, *nb;
	size_t	 off = 0, got = 0, cap = 0, end;
	ssize_t	 n;

	*reply = NULL;
	*rlen = 0;
	while (off < len) {
		if (cli_conn_wait(fd, POLLOUT, timeout_ms) != 1)
			goto timeout;
		if ((n = send(fd, line + off, len - off, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return 1;
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (got == cap) {
			if (cap >= CLI_REPLY_MAX) {
				snprintf(err, errlen, "a reply of more than %d "
				    "bytes", CLI_REPLY_MAX);
				free(buf);
				return -1;
			}
			cap = cap ? 2 * cap : 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				free(buf);
				return -1;
			}
			buf = nb;
		}
		if (cli_conn_wait(fd, POLLIN, timeout_ms) != 1) {
			free(buf);
			goto timeout;
		}
		if ((n = recv(fd, buf + got, cap - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET && got == 0) {
				free(buf);
				return 1;
			}
			snprintf(err, errlen, "recv: %s", strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0) {
			if (got == 0) {
				free(buf);
				return 1;
			}
			end = got;		/* cut off: as it came */
			break;
		}
		got += (size_t)n;
		if ((end = cli_reply_end(buf, got, multi)) > 0)
			break;
	}
	*reply = buf;
	*rlen = end;
	return 0;
timeout:
	snprintf(err, errlen, "no reply within %d ms", timeout_ms);
	return -1;
}
