/*
 * ptls_harness.c -- what the TLS tests share (see ptls_harness.h).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "keyring.h"
#include "log.h"
#include "ptls.h"
#include "ptls_harness.h"

char		 harness_dir[] = "/tmp/test_ptls.XXXXXX";
static int	 lsock = -1;		/* the listening socket, 127.0.0.1 */
static int	 saved_stderr = -1;

double
harness_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A connected pair of non-blocking TCP sockets: *d dialled, *l accepted. */
void
harness_pair(int *d, int *l, int small)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 one = 1, sz = 128 * 1024;

	if (lsock == -1) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((lsock = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(lsock, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    listen(lsock, 16) == -1) {
			perror("listen");
			exit(1);
		}
	}
	getsockname(lsock, (struct sockaddr *)&sin, &slen);
	if ((*d = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("socket");
		exit(1);
	}
	if (small) {		/* small buffers: EAGAIN both ways, often */
		setsockopt(*d, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(*d, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (connect(*d, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (*l = accept4(lsock, NULL, NULL, SOCK_NONBLOCK)) == -1) {
		perror("connect");
		exit(1);
	}
	if (small) {
		setsockopt(*l, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(*l, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	fcntl(*d, F_SETFL, fcntl(*d, F_GETFL) | O_NONBLOCK);
	setsockopt(*d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

short
harness_events(int want)
{
	return (short)(((want & EV_READ) ? POLLIN : 0) |
	    ((want & EV_WRITE) ? POLLOUT : 0));
}

void
harness_step(struct end *e)
{
	if (e->t == NULL || e->rc != 0)
		return;
	if ((e->rc = ptls_handshake(e->t)) == -1)
		shutdown(e->fd, SHUT_WR);	/* as a transport's close */
}

/* Both handshakes until neither is in progress, 5 s at most. */
void
harness_drive(struct end *d, struct end *l)
{
	harness_drive_for(d, l, 5);
}

void
harness_drive_for(struct end *d, struct end *l, double s)
{
	struct pollfd	 pfd[2];
	double		 end = harness_now() + s;

	while (harness_now() < end) {
		harness_step(d);
		harness_step(l);
		if ((d->t == NULL || d->rc != 0) && (l->t == NULL || l->rc != 0))
			return;
		pfd[0].fd = d->fd;
		pfd[0].events = d->t && d->rc == 0 ?
		    harness_events(ptls_want(d->t)) : 0;
		pfd[1].fd = l->fd;
		pfd[1].events = l->t && l->rc == 0 ?
		    harness_events(ptls_want(l->t)) : 0;
		poll(pfd, 2, 20);
	}
}

void
harness_end_free(struct end *e)
{
	ptls_free(e->t);
	if (e->fd != -1)
		close(e->fd);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

/* A link from a dialler of ctx dc (to peer) to a listener of ctx lc. */
void
harness_link(struct ptls_ctx *dc, const char *peer, struct ptls_ctx *lc,
    struct end *d, struct end *l, int small)
{
	memset(d, 0, sizeof(*d));
	memset(l, 0, sizeof(*l));
	harness_pair(&d->fd, &l->fd, small);
	d->t = ptls_new(dc, d->fd, 1, peer);
	l->t = ptls_new(lc, l->fd, 0, NULL);
	if (d->t == NULL || l->t == NULL) {
		fprintf(stderr, "ptls_new failed\n");
		exit(1);
	}
	harness_drive(d, l);
}

ssize_t
harness_read(struct ptls *t, void *buf, size_t len)
{
	double	 end = harness_now() + 5;
	ssize_t	 n;

	while ((n = ptls_read(t, buf, len)) == -1 && errno == EAGAIN &&
	    harness_now() < end)
		usleep(1000);
	return n;
}

struct herd_conf *
harness_psk_conf(const char *keys)
{
	static struct herd_conf	 confs[16];
	static int		 next;
	struct herd_conf	*c = &confs[next++ % 16];
	char			 why[128];

	conf_defaults(c);
	if (keyring_parse(&c->keys, keys, strlen(keys), why, sizeof(why)) ==
	    -1) {
		fprintf(stderr, "keyring: %s\n", why);
		exit(1);
	}
	return c;
}

struct herd_conf *
harness_cert_conf(const char *cert, const char *key, const char *ca)
{
	struct herd_conf	*c = harness_psk_conf(SECRET_A);

	snprintf(c->path, sizeof(c->path), "herd.ini");
	snprintf(c->tls.cert, sizeof(c->tls.cert), "%s/%s", harness_dir, cert);
	snprintf(c->tls.key, sizeof(c->tls.key), "%s/%s", harness_dir, key);
	snprintf(c->tls.ca, sizeof(c->tls.ca), "%s/%s", harness_dir, ca);
	c->tls.cert_line = 7;
	c->tls.key_line = 8;
	c->tls.ca_line = 9;
	return c;
}

struct ptls_ctx *
harness_ctx(const struct herd_conf *c, const char *self)
{
	struct ptls_ctx	*ctx;
	char		 err[512];

	if ((ctx = ptls_ctx_new(c, self, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ptls_ctx_new: %s\n", err);
		exit(1);
	}
	return ctx;
}

const char *
harness_chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* Standard error (the log) into a file, and back. */
void
harness_capture_start(void)
{
	char	 path[1100];
	int	 fd;

	log_flush();
	snprintf(path, sizeof(path), "%s/log", harness_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(path);
		exit(1);
	}
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

void
harness_capture_end(char *buf, size_t size)
{
	char	 path[1100];
	ssize_t	 n;
	int	 fd;

	log_flush();
	dup2(saved_stderr, 2);
	close(saved_stderr);
	snprintf(path, sizeof(path), "%s/log", harness_dir);
	n = (fd = open(path, O_RDONLY)) == -1 ? -1 : read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (fd != -1)
		close(fd);
}

int
harness_count(const char *hay, const char *needle)
{
	int	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
harness_rm_dir(void)
{
	char	 cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", harness_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", harness_dir);
}

void
harness_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	if (mkdtemp(harness_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(harness_rm_dir);
}
