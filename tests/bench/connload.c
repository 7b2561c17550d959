/*
 * connload.c -- a connection per request, as course graders and many
 * clients talk: connect, send one IAMAT, half-close, read to the end,
 * close; started at a fixed rate (open loop), timed from the connect to
 * the end of the reply.
 *
 *	connload -p PORT [-h HOST] [-r RATE] [-d SECONDS] [-c MAX] [-w WARMUP]
 *
 * RATE requests a second (default 10000), at most MAX in flight (default
 * 1000): a start that finds MAX in flight is counted late, and goes when
 * one ends.  Latency is per request; nothing is counted in the first
 * WARMUP seconds (default 1).  The last line of the output is
 * "connload: key=value ...", for scripts (bench_connreq.py).  Exit 0 when
 * the run completed, 64 on a usage error.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define CL_USAGE	"usage: connload -p PORT [-h HOST] [-r RATE] " \
			"[-d SECONDS] [-c MAX] [-w WARMUP]\n"
#define CL_EVENTS	256

struct cl_req {
	int		 fd;
	uint64_t	 start;
	size_t		 got;		/* reply bytes */
	int		 sent;
	int		 used;
};

static struct sockaddr_storage cl_addr;
static socklen_t	 cl_addrlen;
static struct cl_req	*cl_reqs;
static size_t		 cl_max = 1000, cl_inflight;
static uint64_t		 cl_done, cl_errors, cl_late, cl_short, cl_seq;
static struct bench_lat	 cl_lat;
static int		 cl_epfd;

static int
cl_resolve(const char *host, const char *port)
{
	struct addrinfo	 hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(&cl_addr, res->ai_addr, res->ai_addrlen);
	cl_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Start one request in a free slot; -1 when none is free. */
static int
cl_start(uint64_t now)
{
	struct epoll_event	 ev;
	struct cl_req		*r = NULL;
	size_t			 i;
	int			 fd;

	for (i = 0; i < cl_max; i++)
		if (!cl_reqs[i].used) {
			r = &cl_reqs[i];
			break;
		}
	if (r == NULL)
		return -1;
	fd = socket(cl_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		cl_errors++;
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&cl_addr, cl_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		cl_errors++;
		return 0;
	}
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->start = now;
	r->used = 1;
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = r;
	epoll_ctl(cl_epfd, EPOLL_CTL_ADD, fd, &ev);
	cl_inflight++;
	return 0;
}

static void
cl_end(struct cl_req *r, int ok, int counting)
{
	close(r->fd);
	r->used = 0;
	cl_inflight--;
	if (!counting)
		return;
	if (!ok)
		cl_errors++;
	else if (r->got == 0)
		cl_short++;
	else {
		cl_done++;
		bench_lat_add(&cl_lat, bench_now() - r->start);
	}
}

static void
cl_event(struct cl_req *r, uint32_t events, int counting)
{
	struct epoll_event	 ev;
	struct timespec		 ts;
	char			 buf[512];
	ssize_t			 n;
	int			 len, err = 0;
	socklen_t		 elen = sizeof(err);

	if (!r->sent && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
		    err != 0) {
			cl_end(r, 0, counting);
			return;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		len = snprintf(buf, sizeof(buf), "IAMAT conn-%llu "
		    "+34.068930-118.445127 %lld.%09ld\n",
		    (unsigned long long)(cl_seq++ % 1000),
		    (long long)ts.tv_sec, ts.tv_nsec);
		if (write(r->fd, buf, (size_t)len) != len) {
			cl_end(r, 0, counting);
			return;
		}
		shutdown(r->fd, SHUT_WR);
		r->sent = 1;
		ev.events = EPOLLIN;
		ev.data.ptr = r;
		epoll_ctl(cl_epfd, EPOLL_CTL_MOD, r->fd, &ev);
		return;
	}
	for (;;) {
		n = read(r->fd, buf, sizeof(buf));
		if (n > 0) {
			r->got += (size_t)n;
			continue;
		}
		if (n == 0)
			cl_end(r, 1, counting);
		else if (errno != EAGAIN && errno != EINTR)
			cl_end(r, 0, counting);
		return;
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[CL_EVENTS];
	const char		*host = "127.0.0.1", *port = NULL;
	double			 rate = 10000, secs = 5, warm = 1;
	uint64_t		 t0, end, next, step, now, started = 0;
	int			 ch, i, n, counting = 0;

	while ((ch = getopt(argc, argv, "c:d:h:p:r:w:")) != -1) {
		switch (ch) {
		case 'c': cl_max = strtoul(optarg, NULL, 10); break;
		case 'd': secs = atof(optarg); break;
		case 'h': host = optarg; break;
		case 'p': port = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		default: fputs(CL_USAGE, stderr); return 64;
		}
	}
	if (port == NULL || rate <= 0 || secs <= 0 || cl_max == 0 ||
	    cl_resolve(host, port) == -1) {
		fputs(CL_USAGE, stderr);
		return 64;
	}
	if ((cl_reqs = calloc(cl_max, sizeof(*cl_reqs))) == NULL ||
	    (cl_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("connload");
		return 1;
	}
	step = (uint64_t)(1e9 / rate);
	t0 = bench_now();
	next = t0;
	end = t0 + (uint64_t)((warm + secs) * 1e9);
	while ((now = bench_now()) < end || cl_inflight > 0) {
		if (!counting && now >= t0 + (uint64_t)(warm * 1e9)) {
			counting = 1;
			started = 0;
		}
		while (now < end && next <= now) {
			if (cl_start(now) == -1) {
				if (counting)
					cl_late++;
				break;	/* full: goes when one ends */
			}
			if (counting)
				started++;
			next += step;
		}
		n = epoll_wait(cl_epfd, evs, CL_EVENTS, 1);
		for (i = 0; i < n; i++)
			cl_event(evs[i].data.ptr, evs[i].events, counting);
		if (now >= end + 10000000000ull)
			break;		/* 10 s past the end: give up */
	}
	bench_lat_sort(&cl_lat);
	printf("connload: rate=%.0f done=%llu started=%llu errors=%llu "
	    "empty=%llu late=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
	    "max_ms=%.3f\n", (double)cl_done / secs,
	    (unsigned long long)cl_done, (unsigned long long)started,
	    (unsigned long long)cl_errors, (unsigned long long)cl_short,
	    (unsigned long long)cl_late, bench_lat_pct(&cl_lat, 50),
	    bench_lat_pct(&cl_lat, 99),
	    bench_lat_pct(&cl_lat, 99.9),
	    cl_lat.n ? cl_lat.us[cl_lat.n - 1] / 1000.0 : 0.0);
	return 0;
}
