/*
 * herdload.c -- a load generator for the herd's client protocol
 * (PROTOCOL.md): many connections, pipelined commands, replies counted and
 * timed.
 *
 *	herdload -p PORT [-h HOST] [-c CONNS] [-d SECONDS] [-P PIPELINE]
 *	    [-m iamat|whatsat|mixed] [-w WARMUP_S] [-n IDS] [-s SEED]
 *
 * Opens CONNS connections and keeps PIPELINE commands outstanding on each.
 * Replies are framed by the command they answer: an IAMAT reply is one
 * line; a WHATSAT reply ends with an empty line ("\n\n"); a "? ..." error
 * is one line whatever the command, and is counted as an error.  Latency is
 * per command, from the write that sends it to the read that completes its
 * reply.  Nothing is counted during the first WARMUP_S seconds; then the
 * figures cover SECONDS seconds.
 *
 * whatsat and mixed first send one IAMAT for each of IDS client ids
 * ("load-<n>"), at points of a grid over the eastern US and western
 * Europe so that most lookups find places; each WHATSAT then asks about
 * a random id with a radius of 1..50 km and a bound of 1..20, from a
 * seeded generator.
 * iamat sends IAMATs for those ids, with the current time; mixed sends one
 * IAMAT for every four WHATSATs.  set is for Redis, the reference: the same
 * update as an inline command, SET load-<n> "<coords> <time>", answered
 * +OK (one line, like an AT reply).
 *
 * The last line of the output is "herdload: key=value ...", for scripts
 * (bench_node.py).  Exit 0 when the run completed, 1 when a connection was
 * lost or the server stalled, 64 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
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

#define LOAD_USAGE	"usage: herdload -p PORT [-h HOST] [-c CONNS] " \
			"[-d SECONDS] [-P PIPELINE]\n" \
			"\t[-m iamat|whatsat|mixed] [-w WARMUP_S] [-n IDS] " \
			"[-s SEED]\n"
#define LOAD_CMD_MAX	160		/* bytes of one command */
#define LOAD_INBUF	(256 * 1024)	/* bytes of replies held */
#define LOAD_STALL_S	10.0		/* no reply for this long: give up */
#define LOAD_EVENTS	256

enum load_mode { LOAD_IAMAT, LOAD_WHATSAT, LOAD_MIXED, LOAD_SET };
enum load_kind { LOAD_K_IAMAT, LOAD_K_WHATSAT };

struct load_req {
	uint64_t	 sent;		/* ns, CLOCK_MONOTONIC */
	int		 kind;		/* enum load_kind */
};

struct load_conn {
	int		 fd;
	int		 dead;
	struct load_req	*q;		/* ring of PIPELINE commands */
	size_t		 qhead, qlen;
	char		*out;
	size_t		 outoff, outlen, outcap;
	char		*in;
	size_t		 inlen, scan;	/* scan: "\n\n" not before here */
	unsigned	 nmixed;
};

struct load_point {
	char		 coord[40];	/* ISO 6709, as sent */
};

static int		 load_epfd = -1;
static struct load_conn	*load_conns;
static size_t		 load_nconns = 50;
static size_t		 load_pipeline = 1;
static enum load_mode	 load_mode = LOAD_IAMAT;
static struct load_point *load_points;
static size_t		 load_nids = 1000;
static uint64_t		 load_rng = 1;
static int		 load_counting;	/* past the warm-up */

/* Figures of the measured window. */
static uint64_t		 load_replies, load_errors, load_zero, load_bad;
static uint64_t		 load_nwhatsat, load_bytes;
static struct bench_lat	 load_lat;	/* latencies */

/* xorshift64*: small, fast, and the same on every machine. */
static uint64_t
load_rand(void)
{
	load_rng ^= load_rng >> 12;
	load_rng ^= load_rng << 25;
	load_rng ^= load_rng >> 27;
	return load_rng * 2685821657736338717ull;
}

static unsigned
load_randn(unsigned lo, unsigned hi)
{
	return lo + (unsigned)((load_rand() >> 33) % (hi - lo + 1));
}

static double
load_frand(void)
{
	return (load_rand() >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * The points of the ids: a grid over the eastern US (lat 33..45,
 * lng -97..-72) and western Europe (lat 42..54, lng -2..20), alternating,
 * each point moved by up to a quarter of a degree.
 */
static int
load_make_points(void)
{
	static const struct {
		double	 lat0, lat1, lng0, lng1;
	} area[2] = {
		{ 33, 45, -97, -72 },
		{ 42, 54, -2, 20 },
	};
	size_t	 i, k, per, rows, cols, r, c;
	double	 lat, lng;

	if ((load_points = calloc(load_nids, sizeof(*load_points))) == NULL)
		return -1;
	per = (load_nids + 1) / 2;
	rows = 1;
	while (rows * rows * 2 < per)
		rows++;
	cols = 2 * rows;
	for (i = 0; i < load_nids; i++) {
		k = i % 2;
		r = (i / 2) / cols % rows;
		c = (i / 2) % cols;
		lat = area[k].lat0 + (area[k].lat1 - area[k].lat0) *
		    (r + 0.5) / rows + (load_frand() - 0.5) * 0.5;
		lng = area[k].lng0 + (area[k].lng1 - area[k].lng0) *
		    (c + 0.5) / cols + (load_frand() - 0.5) * 0.5;
		snprintf(load_points[i].coord, sizeof(load_points[i].coord),
		    "%+.6f%+.6f", lat, lng);
	}
	return 0;
}

static int
load_out_add(struct load_conn *lc, const char *p, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (lc->outoff > 0 && lc->outoff == lc->outlen)
		lc->outoff = lc->outlen = 0;
	if (lc->outlen + n > lc->outcap) {
		cap = lc->outcap ? lc->outcap : 4096;
		while (cap < lc->outlen + n)
			cap *= 2;
		if ((nb = realloc(lc->out, cap)) == NULL)
			return -1;
		lc->out = nb;
		lc->outcap = cap;
	}
	memcpy(lc->out + lc->outlen, p, n);
	lc->outlen += n;
	return 0;
}

static int
load_iamat_cmd(char *buf, size_t len, size_t id)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (load_mode == LOAD_SET)
		return snprintf(buf, len, "SET load-%zu \"%s %lld.%09ld\"\r\n",
		    id, load_points[id].coord, (long long)ts.tv_sec,
		    ts.tv_nsec);
	return snprintf(buf, len, "IAMAT load-%zu %s %lld.%09ld\n", id,
	    load_points[id].coord, (long long)ts.tv_sec, ts.tv_nsec);
}

/* Queue the next command of lc; it is timed from now. */
static int
load_send_one(struct load_conn *lc, uint64_t now)
{
	char		 cmd[LOAD_CMD_MAX];
	struct load_req	*rq;
	size_t		 id = load_randn(0, (unsigned)load_nids - 1);
	int		 n, kind;

	kind = LOAD_K_WHATSAT;
	if (load_mode == LOAD_IAMAT || load_mode == LOAD_SET ||
	    (load_mode == LOAD_MIXED && lc->nmixed++ % 5 == 0))
		kind = LOAD_K_IAMAT;
	if (kind == LOAD_K_IAMAT)
		n = load_iamat_cmd(cmd, sizeof(cmd), id);
	else
		n = snprintf(cmd, sizeof(cmd), "WHATSAT load-%zu %u %u\n", id,
		    load_randn(1, 50), load_randn(1, 20));
	if (n < 0 || (size_t)n >= sizeof(cmd) ||
	    load_out_add(lc, cmd, (size_t)n) == -1)
		return -1;
	rq = &lc->q[(lc->qhead + lc->qlen) % load_pipeline];
	rq->sent = now;
	rq->kind = kind;
	lc->qlen++;
	return 0;
}

static void
load_arm(struct load_conn *lc)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (lc->outoff < lc->outlen ? EPOLLOUT : 0);
	ev.data.ptr = lc;
	epoll_ctl(load_epfd, EPOLL_CTL_MOD, lc->fd, &ev);
}

/* Write what is queued; 1 when some is left, 0 when all went, -1. */
static int
load_flush(struct load_conn *lc)
{
	ssize_t	 w;

	while (lc->outoff < lc->outlen) {
		w = write(lc->fd, lc->out + lc->outoff,
		    lc->outlen - lc->outoff);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		lc->outoff += (size_t)w;
	}
	lc->outoff = lc->outlen = 0;
	return 0;
}

/* One complete reply of len bytes at p, answering rq. */
static void
load_reply(const struct load_req *rq, const char *p, size_t len,
    uint64_t now)
{
	size_t	 k;

	if (!load_counting)
		return;
	load_replies++;
	load_bytes += len;
	bench_lat_add(&load_lat, now - rq->sent);
	if ((len >= 2 && p[0] == '?' && p[1] == ' ') ||
	    (load_mode == LOAD_SET && len >= 1 && p[0] == '-'))
		load_errors++;
	else if (load_mode == LOAD_SET && len >= 3 && memcmp(p, "+OK", 3) == 0)
		;
	else if (len < 3 || memcmp(p, "AT ", 3) != 0)
		load_bad++;
	else if (rq->kind == LOAD_K_WHATSAT) {
		load_nwhatsat++;
		/* "status" is the last key: look at the tail only. */
		k = len > 48 ? 48 : len;
		if (memmem(p + len - k, k, "ZERO_RESULTS", 12) != NULL)
			load_zero++;
	}
}

/* Take the complete replies out of lc->in; returns how many. */
static size_t
load_parse(struct load_conn *lc, uint64_t now)
{
	struct load_req	*rq;
	const char	*p, *e;
	size_t		 off = 0, len, n = 0;

	while (lc->qlen > 0 && off < lc->inlen) {
		rq = &lc->q[lc->qhead];
		p = lc->in + off;
		len = lc->inlen - off;
		if ((len >= 2 && p[0] == '?' && p[1] == ' ') ||
		    rq->kind == LOAD_K_IAMAT) {
			if ((e = memchr(p, '\n', len)) == NULL)
				break;
			e++;
		} else {
			if (lc->scan > off + 1)
				p = lc->in + lc->scan - 1;
			else
				p = lc->in + off;
			if ((e = memmem(p, lc->in + lc->inlen - p, "\n\n",
			    2)) == NULL) {
				lc->scan = lc->inlen;
				break;
			}
			e += 2;
			p = lc->in + off;
		}
		load_reply(rq, p, (size_t)(e - p), now);
		off = (size_t)(e - lc->in);
		lc->scan = off;
		lc->qhead = (lc->qhead + 1) % load_pipeline;
		lc->qlen--;
		n++;
	}
	if (off > 0) {
		memmove(lc->in, lc->in + off, lc->inlen - off);
		lc->inlen -= off;
		lc->scan = lc->scan >= off ? lc->scan - off : 0;
	}
	return n;
}

static void
load_kill(struct load_conn *lc, const char *why)
{
	if (lc->dead)
		return;
	fprintf(stderr, "herdload: connection %zu: %s\n",
	    (size_t)(lc - load_conns), why);
	epoll_ctl(load_epfd, EPOLL_CTL_DEL, lc->fd, NULL);
	close(lc->fd);
	lc->dead = 1;
}

/* Read replies, send as many new commands; returns replies completed. */
static size_t
load_input(struct load_conn *lc, int refill)
{
	ssize_t		 r;
	size_t		 n = 0;
	uint64_t	 now;

	for (;;) {
		if (lc->inlen == LOAD_INBUF) {
			load_kill(lc, "reply too long");
			return n;
		}
		r = read(lc->fd, lc->in + lc->inlen, LOAD_INBUF - lc->inlen);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			load_kill(lc, strerror(errno));
			return n;
		}
		if (r == 0) {
			load_kill(lc, "closed by the server");
			return n;
		}
		lc->inlen += (size_t)r;
		now = bench_now();
		n += load_parse(lc, now);
		if ((size_t)r < LOAD_INBUF / 2)
			break;
	}
	if (refill) {
		now = bench_now();
		while (lc->qlen < load_pipeline)
			if (load_send_one(lc, now) == -1) {
				load_kill(lc, "out of memory");
				return n;
			}
	}
	if (load_flush(lc) == -1) {
		load_kill(lc, strerror(errno));
		return n;
	}
	load_arm(lc);
	return n;
}

static int
load_connect(const char *host, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "herdload: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		fprintf(stderr, "herdload: connect %s port %s: %s\n", host,
		    port, strerror(errno));
	freeaddrinfo(res);
	if (fd != -1) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	return fd;
}

/*
 * Before a whatsat or mixed run: one IAMAT per id on the first
 * connection, pipelined, all answered.
 */
static int
load_seed_ids(void)
{
	struct load_conn	*lc = &load_conns[0];
	struct epoll_event	 evs[LOAD_EVENTS];
	char			 cmd[LOAD_CMD_MAX], *e;
	size_t			 id, n, left = load_nids, rq = 0;
	uint64_t		 seen = 0;
	ssize_t			 r;
	int			 k, i;

	for (id = 0; id < load_nids; id++) {
		n = (size_t)load_iamat_cmd(cmd, sizeof(cmd), id);
		if (n >= sizeof(cmd) || load_out_add(lc, cmd, n) == -1)
			return -1;
	}
	/* Replies are IAMAT lines: count lines, bypassing the queue. */
	load_arm(lc);
	while (left > 0) {
		if (load_flush(lc) == -1)
			return -1;
		load_arm(lc);
		k = epoll_wait(load_epfd, evs, LOAD_EVENTS, 10000);
		if (k <= 0) {
			fprintf(stderr, "herdload: no reply to the IAMATs\n");
			return -1;
		}
		for (i = 0; i < k; i++) {
			if (evs[i].data.ptr != lc ||
			    !(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			r = read(lc->fd, lc->in + lc->inlen,
			    LOAD_INBUF - lc->inlen);
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR)) {
				fprintf(stderr, "herdload: lost the "
				    "connection seeding ids\n");
				return -1;
			}
			if (r > 0)
				lc->inlen += (size_t)r;
			while (left > 0) {
				e = memchr(lc->in + rq, '\n',
				    lc->inlen - rq);
				if (e == NULL)
					break;
				if (lc->in[rq] == '?')
					seen++;
				rq = (size_t)(e - lc->in) + 1;
				left--;
			}
			memmove(lc->in, lc->in + rq, lc->inlen - rq);
			lc->inlen -= rq;
			rq = 0;
		}
	}
	if (seen > 0) {
		fprintf(stderr, "herdload: %llu IAMATs refused\n",
		    (unsigned long long)seen);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev, evs[LOAD_EVENTS];
	struct load_conn	*lc;
	const char		*host = "127.0.0.1", *port = NULL;
	const char		*mode = "iamat";
	double			 duration = 10, warmup = 1, secs;
	uint64_t		 start, tcount = 0, tend, now, last;
	size_t			 i, alive;
	int			 ch, k, j, rc = 0;
	char			*end;

	while ((ch = getopt(argc, argv, "c:d:h:m:n:P:p:s:w:")) != -1) {
		switch (ch) {
		case 'c':
			load_nconns = strtoul(optarg, &end, 10);
			break;
		case 'd':
			duration = strtod(optarg, &end);
			break;
		case 'h':
			host = optarg;
			end = "";
			break;
		case 'm':
			mode = optarg;
			end = "";
			break;
		case 'n':
			load_nids = strtoul(optarg, &end, 10);
			break;
		case 'P':
			load_pipeline = strtoul(optarg, &end, 10);
			break;
		case 'p':
			port = optarg;
			end = "";
			break;
		case 's':
			load_rng = strtoull(optarg, &end, 10);
			break;
		case 'w':
			warmup = strtod(optarg, &end);
			break;
		default:
			fputs(LOAD_USAGE, stderr);
			return 64;
		}
		if (*end != '\0') {
			fprintf(stderr, "herdload: -%c %s: not a number\n",
			    ch, optarg);
			return 64;
		}
	}
	if (strcmp(mode, "iamat") == 0)
		load_mode = LOAD_IAMAT;
	else if (strcmp(mode, "whatsat") == 0)
		load_mode = LOAD_WHATSAT;
	else if (strcmp(mode, "mixed") == 0)
		load_mode = LOAD_MIXED;
	else if (strcmp(mode, "set") == 0)
		load_mode = LOAD_SET;
	else
		port = NULL;
	if (port == NULL || argc != optind || load_nconns < 1 ||
	    load_nconns > 10000 || load_pipeline < 1 ||
	    load_pipeline > 1000 || load_nids < 1 || load_nids > 1000000 ||
	    !(duration > 0) || !(warmup >= 0)) {
		fputs(LOAD_USAGE, stderr);
		return 64;
	}
	if (load_rng == 0)
		load_rng = 1;
	if (load_make_points() == -1 ||
	    (load_conns = calloc(load_nconns, sizeof(*load_conns))) == NULL ||
	    (load_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("herdload");
		return 1;
	}
	for (i = 0; i < load_nconns; i++) {
		lc = &load_conns[i];
		if ((lc->fd = load_connect(host, port)) == -1)
			return 1;
		if ((lc->q = calloc(load_pipeline, sizeof(*lc->q))) == NULL ||
		    (lc->in = malloc(LOAD_INBUF)) == NULL) {
			perror("herdload");
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = lc;
		if (epoll_ctl(load_epfd, EPOLL_CTL_ADD, lc->fd, &ev) == -1) {
			perror("herdload: epoll_ctl");
			return 1;
		}
	}
	if (load_mode != LOAD_IAMAT && load_mode != LOAD_SET && load_seed_ids() == -1)
		return 1;

	start = bench_now();
	for (i = 0; i < load_nconns; i++)
		load_input(&load_conns[i], 1);
	tend = start + (uint64_t)((warmup + duration) * 1e9);
	last = start;
	for (;;) {
		now = bench_now();
		if (!load_counting && now >= start + (uint64_t)(warmup * 1e9)) {
			load_counting = 1;
			tcount = now;
		}
		if (now >= tend)
			break;
		if (now - last > (uint64_t)(LOAD_STALL_S * 1e9)) {
			fprintf(stderr, "herdload: no reply for %.0f s\n",
			    LOAD_STALL_S);
			rc = 1;
			break;
		}
		k = epoll_wait(load_epfd, evs, LOAD_EVENTS, 100);
		if (k == -1 && errno != EINTR) {
			perror("herdload: epoll_wait");
			return 1;
		}
		for (j = 0; j < k; j++) {
			lc = evs[j].data.ptr;
			if (lc->dead)
				continue;
			if (load_input(lc, 1) > 0)
				last = bench_now();
		}
		for (alive = 0, i = 0; i < load_nconns; i++)
			alive += !load_conns[i].dead;
		if (alive < load_nconns) {
			rc = 1;
			if (alive == 0)
				break;
		}
	}
	now = bench_now();
	secs = load_counting ? (now - tcount) / 1e9 : 0;

	bench_lat_sort(&load_lat);
	printf("mode %s, %zu connections, pipeline %zu, %zu ids, %.1f s "
	    "after %.1f s of warm-up\n", mode, load_nconns, load_pipeline,
	    load_nids, secs, warmup);
	printf("requests/s:   %.0f (%llu replies, %.1f MB/s)\n",
	    secs > 0 ? load_replies / secs : 0,
	    (unsigned long long)load_replies,
	    secs > 0 ? load_bytes / secs / 1e6 : 0);
	printf("errors:       %llu \"? ...\", %llu malformed\n",
	    (unsigned long long)load_errors, (unsigned long long)load_bad);
	if (load_mode != LOAD_IAMAT && load_mode != LOAD_SET)
		printf("WHATSAT:      %llu answered, %.1f%% ZERO_RESULTS\n",
		    (unsigned long long)load_nwhatsat, load_nwhatsat ?
		    100.0 * load_zero / load_nwhatsat : 0);
	printf("latency ms:   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	    bench_lat_pct(&load_lat, 50), bench_lat_pct(&load_lat, 90), bench_lat_pct(&load_lat, 99), bench_lat_pct(&load_lat, 100));
	printf("herdload: mode=%s conns=%zu pipeline=%zu seconds=%.3f "
	    "replies=%llu rps=%.1f errors=%llu malformed=%llu zero=%llu "
	    "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f lost=%d\n",
	    mode, load_nconns, load_pipeline, secs,
	    (unsigned long long)load_replies,
	    secs > 0 ? load_replies / secs : 0,
	    (unsigned long long)load_errors, (unsigned long long)load_bad,
	    (unsigned long long)load_zero, bench_lat_pct(&load_lat, 50), bench_lat_pct(&load_lat, 90),
	    bench_lat_pct(&load_lat, 99), bench_lat_pct(&load_lat, 100), rc);
	return rc;
}
