/*
 * propload.c -- the propagation benchmark's two ends (bench_suite.py): it
 * sends IAMATs to one server at fixed rates, and listens as a neighbour
 * of another, noting when each update was sent and when it arrived on
 * the servers' logs' clock (CLOCK_REALTIME), so that bench_suite can tell
 * the herd's hops from the harness's own edges.  In C, one thread, one
 * epoll: the Python sender and listener it replaces spent 100-600 us of
 * their own on each update.
 *
 *   propload -p CLIENT_PORT -l LISTEN_PORT -r RATE[,RATE...] -o FILE
 *       [-s SECONDS] [-w SETTLE_S]
 *
 * It listens first; once the neighbour's link is up it waits SETTLE_S
 * (default 1.5), connects to CLIENT_PORT on 127.0.0.1 and, for each rate,
 * sends rate * SECONDS (default 3) IAMATs "prop-RATE-K", rate / 1000 of
 * them every millisecond, then waits a second.  FILE gets a line per
 * IAMAT, "ID SENT_NS ARRIVED_NS" (0: it never came); standard output a
 * line per rate.  Not a test.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define PL_RATES	4
#define PL_CONNS	8
#define PL_BUF		(1 << 20)

struct pl_conn {
	int	 fd;
	char	*buf;
	size_t	 len;
};

static long	 pl_rate[PL_RATES];
static size_t	 pl_nrates;
static uint64_t	*pl_sent[PL_RATES], *pl_came[PL_RATES];
static size_t	 pl_n[PL_RATES];
static struct pl_conn pl_conns[PL_CONNS];
static int	 pl_linked;
static int	 pl_tfd = -1;		/* the sender's tick */
static uint64_t	 pl_ticks;		/* ticks not acted on yet */

static void
pl_die(const char *what)
{
	fprintf(stderr, "propload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Nanoseconds of CLOCK_REALTIME: the clock the logs stamp with. */
static uint64_t
pl_real(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
pl_send_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				usleep(50);
				continue;
			}
			pl_die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

/* An UPDATE of "prop-RATE-K" arrived now: note it, the first time. */
static void
pl_arrived(const char *id, size_t len, uint64_t now)
{
	char	 tmp[64], *end;
	long	 rate;
	unsigned long long k;
	size_t	 i;

	if (len < 6 || len >= sizeof(tmp) || memcmp(id, "prop-", 5) != 0)
		return;
	memcpy(tmp, id, len);
	tmp[len] = '\0';
	rate = strtol(tmp + 5, &end, 10);
	if (*end != '-')
		return;
	k = strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return;
	for (i = 0; i < pl_nrates; i++)
		if (pl_rate[i] == rate && k < pl_n[i] && pl_came[i][k] == 0)
			pl_came[i][k] = now;
}

/* One line from the neighbour that streams to us. */
static void
pl_line(struct pl_conn *c, char *line, size_t len, uint64_t now)
{
	static const char ok[] = "OK 1 Sink\nSINCE 0000000000000000 0\n";
	char	*f[6], *p = line, *sp;
	int	 n = 0;

	line[len] = '\0';
	if (strncmp(line, "HELLO ", 6) == 0) {
		pl_send_all(c->fd, ok, sizeof(ok) - 1);
		pl_linked = 1;
	} else if (strcmp(line, "PING") == 0)
		pl_send_all(c->fd, "PONG\n", 5);
	else if (strncmp(line, "UPDATE ", 7) == 0) {
		/* UPDATE AT server diff id coords time */
		while (n < 6 && (sp = strchr(p, ' ')) != NULL) {
			f[n++] = p;
			p = sp + 1;
		}
		if (n == 6)
			pl_arrived(f[4], (size_t)(f[5] - 1 - f[4]), now);
	}
}

static void
pl_read(struct pl_conn *c, int ep)
{
	uint64_t now;
	ssize_t	 r;
	char	*nl, *p;

	r = read(c->fd, c->buf + c->len, PL_BUF - 1 - c->len);
	now = pl_real();
	if (r <= 0) {
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += (size_t)r;
	p = c->buf;
	while ((nl = memchr(p, '\n', c->len - (size_t)(p - c->buf))) != NULL) {
		pl_line(c, p, (size_t)(nl - p), now);
		p = nl + 1;
	}
	c->len -= (size_t)(p - c->buf);
	memmove(c->buf, p, c->len);
	if (c->len == PL_BUF - 1)
		c->len = 0;		/* a line too long: dropped */
}

/* 127.0.0.1:port */
static struct sockaddr_in
pl_addr(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int
pl_listen(int port)
{
	struct sockaddr_in sa = pl_addr(port);
	int	 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		pl_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 8) == -1)
		pl_die("listen");
	return fd;
}

static int
pl_connect(int port)
{
	struct sockaddr_in sa = pl_addr(port);
	int	 fd, one = 1, tries;

	for (tries = 0; tries < 300; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			pl_die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return fd;
		}
		close(fd);
		usleep(100000);
	}
	pl_die("connect");
	return -1;
}

/* Wait up to ms for events; handle the listener, the link and replies. */
static void
pl_poll(int ep, int ls, int cl, int ms)
{
	struct epoll_event ev[16], add;
	char	 sink[65536];
	int	 n, i, k, fd;

	if ((n = epoll_wait(ep, ev, 16, ms)) == -1) {
		if (errno == EINTR)
			return;
		pl_die("epoll_wait");
	}
	for (i = 0; i < n; i++) {
		fd = ev[i].data.fd;
		if (fd == ls) {
			while ((fd = accept4(ls, NULL, NULL,
			    SOCK_NONBLOCK)) != -1) {
				for (k = 0; k < PL_CONNS &&
				    pl_conns[k].fd != -1; k++)
					;
				if (k == PL_CONNS) {
					close(fd);
					continue;
				}
				pl_conns[k].fd = fd;
				pl_conns[k].len = 0;
				add.events = EPOLLIN;
				add.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &add);
			}
		} else if (fd == pl_tfd) {
			uint64_t t;

			if (read(pl_tfd, &t, sizeof(t)) == sizeof(t))
				pl_ticks += t;
		} else if (fd == cl) {
			while (read(cl, sink, sizeof(sink)) > 0)
				;	/* the AT replies: not looked at */
		} else
			for (k = 0; k < PL_CONNS; k++)
				if (pl_conns[k].fd == fd)
					pl_read(&pl_conns[k], ep);
	}
}

/* Poll for secs seconds. */
static void
pl_wait(int ep, int ls, int cl, double secs)
{
	uint64_t end = bench_now() + (uint64_t)(secs * 1e9);

	while (bench_now() < end)
		pl_poll(ep, ls, cl, 10);
}

int
main(int argc, char *argv[])
{
	struct epoll_event add;
	struct itimerspec its;
	const char *out = NULL;
	char	*p, line[128], *all;
	double	 secs = 3, settle = 1.5;
	int	 ch, cport = 0, lport = 0, ep, ls, cl;
	size_t	 r, k, batch, o, i;
	uint64_t sent, start;
	FILE	*fp;

	while ((ch = getopt(argc, argv, "p:l:r:s:w:o:")) != -1) {
		switch (ch) {
		case 'p':
			cport = atoi(optarg);
			break;
		case 'l':
			lport = atoi(optarg);
			break;
		case 'r':
			for (p = strtok(optarg, ","); p != NULL &&
			    pl_nrates < PL_RATES; p = strtok(NULL, ","))
				pl_rate[pl_nrates++] = atol(p);
			break;
		case 's':
			secs = atof(optarg);
			break;
		case 'w':
			settle = atof(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (cport <= 0 || lport <= 0 || pl_nrates == 0 || out == NULL ||
	    secs <= 0)
		goto usage;
	for (r = 0; r < pl_nrates; r++) {
		if (pl_rate[r] < 1)
			goto usage;
		pl_n[r] = (size_t)(pl_rate[r] * secs);
		pl_sent[r] = calloc(pl_n[r] + 1, sizeof(uint64_t));
		pl_came[r] = calloc(pl_n[r] + 1, sizeof(uint64_t));
		if (pl_sent[r] == NULL || pl_came[r] == NULL)
			pl_die("calloc");
	}
	for (k = 0; k < PL_CONNS; k++) {
		pl_conns[k].fd = -1;
		if ((pl_conns[k].buf = malloc(PL_BUF)) == NULL)
			pl_die("malloc");
	}
	if ((ep = epoll_create1(0)) == -1)
		pl_die("epoll_create1");
	ls = pl_listen(lport);
	add.events = EPOLLIN;
	add.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &add);
	start = bench_now();
	while (!pl_linked) {
		pl_poll(ep, ls, -1, 100);
		if (bench_now() - start > 60ull * 1000000000u) {
			fprintf(stderr, "propload: no neighbour dialled in 60 s\n");
			return 1;
		}
	}
	pl_wait(ep, ls, -1, settle);
	cl = pl_connect(cport);
	add.data.fd = cl;
	epoll_ctl(ep, EPOLL_CTL_ADD, cl, &add);
	if ((pl_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) == -1)
		pl_die("timerfd_create");
	add.data.fd = pl_tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, pl_tfd, &add);
	if ((all = malloc(64 * 1024)) == NULL)
		pl_die("malloc");
	for (r = 0; r < pl_nrates; r++) {
		batch = pl_rate[r] >= 1000 ? (size_t)pl_rate[r] / 1000 : 1;
		memset(&its, 0, sizeof(its));
		its.it_interval.tv_nsec = pl_rate[r] >= 1000 ? 1000000 :
		    1000000000 / pl_rate[r];
		its.it_value = its.it_interval;
		timerfd_settime(pl_tfd, 0, &its, NULL);
		for (k = 0; k < pl_n[r];) {
			/* the next batch when the timer ticks; wait meanwhile
			 * (not spinning: the other core may be the servers'
			 * core's sibling) */
			while (pl_ticks == 0)
				pl_poll(ep, ls, cl, 100);
			pl_ticks--;
			o = 0;
			sent = pl_real();
			for (i = 0; i < batch && k < pl_n[r]; i++, k++) {
				o += (size_t)snprintf(all + o, 64 * 1024 - o,
				    "IAMAT prop-%ld-%zu +34.068930-118.445127 "
				    "%d.%09zu\n", pl_rate[r], k,
				    1700000000 + (int)(k / 1000000000),
				    k % 1000000000);
				pl_sent[r][k] = sent;
			}
			pl_send_all(cl, all, o);
		}
		memset(&its, 0, sizeof(its));
		timerfd_settime(pl_tfd, 0, &its, NULL);
		pl_ticks = 0;
		pl_wait(ep, ls, cl, 1.0);
	}
	if ((fp = fopen(out, "w")) == NULL)
		pl_die(out);
	for (r = 0; r < pl_nrates; r++) {
		struct bench_lat lat = { NULL, 0, 0 };

		for (k = 0; k < pl_n[r]; k++) {
			snprintf(line, sizeof(line), "prop-%ld-%zu", pl_rate[r],
			    k);
			fprintf(fp, "%s %llu %llu\n", line,
			    (unsigned long long)pl_sent[r][k],
			    (unsigned long long)pl_came[r][k]);
			if (pl_came[r][k] != 0)
				bench_lat_add(&lat, pl_came[r][k] -
				    pl_sent[r][k]);
		}
		bench_lat_sort(&lat);
		printf("propload: rate %ld: %zu of %zu arrived, p50 %.0f us, "
		    "p99 %.0f us\n", pl_rate[r], lat.n, pl_n[r],
		    bench_lat_pct(&lat, 50) * 1000,
		    bench_lat_pct(&lat, 99) * 1000);
		free(lat.us);
	}
	if (fclose(fp) == EOF)
		pl_die(out);
	return 0;
usage:
	fprintf(stderr, "usage: propload -p CLIENT_PORT -l LISTEN_PORT "
	    "-r RATE[,RATE...] -o FILE [-s SECONDS] [-w SETTLE_S]\n");
	return 64;
}
