/*
 * bench_flap.c -- a link flap storm: links brought up and dropped against
 * one herd-node's peer port as fast as it takes them.
 *
 *	bench_flap -f herd.ini -t SERVER [-c CONNS] [-d SECONDS] [-w WARMUP_S]
 *
 * Reads the herd's file as a server does (conf_load: its keyring,
 * peer_tls), and keeps CONNS dials going to SERVER's peer port, each
 * posing as one of SERVER's neighbours (connection i as neighbour i modulo
 * their number, so that no two of them at once claim one name).  Each
 * dial is what a neighbour does when a link comes up, in full
 * (herd-protocol(7)): TCP connect; with peer_tls on, the TLS 1.3 handshake
 * under the first key's PSK, (EC)DHE included, through node/ptls.c as
 * herd-node makes it; HELLO 2, CHALLENGE, AUTH with the MAC key bound to
 * the TLS session, OK 2 (its MAC checked) and SINCE.  Then it says
 * close_notify, closes, and dials again at once: the server has taken a
 * link up and down (logged, the neighbour's state changed, and its own
 * link to that neighbour kicked) each time.  With peer_tls = off the same
 * without TLS: the version 2 handshake in plain text.
 *
 * Counted during SECONDS after WARMUP_S: links up (SINCE read), failures
 * (refused, closed, or an ERROR), and the time of each from connect(2) to
 * SINCE, and to the end of TLS.  The last line is "bench_flap: key=value
 * ..." for bench_tls.py, with this dialler's own CPU time (cpu_util of a
 * core, cpu_us a link): it needs about as much as the server does.  Exit
 * 0 when every dial came up, 1 otherwise, 64 on a usage error, 78 when
 * the file does not load.
 */
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "benchlib.h"
#include "conf.h"
#include "log.h"
#include "proto.h"
#include "ptls.h"

#define FLAP_USAGE	"usage: bench_flap -f herd.ini -t SERVER [-c CONNS] " \
			"[-d SECONDS] [-w WARMUP_S]\n"
#define FLAP_EVENTS	64
#define FLAP_BUF	1024
#define FLAP_STALL_S	5.0		/* no link up for this long: give up */

enum flap_state { FLAP_CONNECTING, FLAP_TLS, FLAP_HELLO, FLAP_AUTH,
	FLAP_SINCE };

struct flap_conn {
	int		 fd;
	enum flap_state	 state;
	struct ptls	*tls;		/* NULL: peer_tls = off */
	const struct herd_server *as;	/* the neighbour posed as */
	char		 mkey[PROTO_MAC_HEX + 1];	/* the MACs' key */
	size_t		 mkeylen;
	char		 nonce_d[PROTO_NONCE_HEX + 1], nonce_l[PROTO_NONCE_HEX + 1];
	char		 out[FLAP_BUF], in[FLAP_BUF];
	size_t		 outlen, inlen;
	uint64_t	 t0, t_tls;	/* ns: connect(2), TLS up */
};

static struct herd_conf		 flap_conf;
static const struct herd_server	*flap_to;
static struct ptls_ctx		*flap_tls;
static struct sockaddr_in	 flap_sin;
static int			 flap_ep;
static int			 flap_counting;
static uint64_t			 flap_ups, flap_fails;
static struct bench_lat		 flap_lat, flap_tlat;	/* up, TLS part */

static int
flap_nonce(char *out)
{
	unsigned char	 b[PROTO_NONCE_LEN];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	proto_hex(out, b, sizeof(b));
	return 0;
}

static void
flap_arm(struct flap_conn *c, int op)
{
	struct epoll_event	 ev;
	int			 want;

	memset(&ev, 0, sizeof(ev));
	ev.data.ptr = c;
	if (c->state == FLAP_CONNECTING)
		ev.events = EPOLLOUT;
	else if (c->tls != NULL && (want = ptls_want(c->tls)) != 0)
		ev.events = (want & EV_READ ? EPOLLIN : 0) |
		    (want & EV_WRITE ? EPOLLOUT : 0);
	else
		ev.events = EPOLLIN | (c->outlen > 0 ? EPOLLOUT : 0);
	epoll_ctl(flap_ep, op, c->fd, &ev);
}

/* Dial again, as neighbour c->as. */
static int
flap_dial(struct flap_conn *c)
{
	int	 one = 1;

	c->state = FLAP_CONNECTING;
	c->outlen = c->inlen = 0;
	c->t0 = bench_now();
	c->t_tls = 0;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&flap_sin,
	    sizeof(flap_sin)) == -1 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	flap_arm(c, EPOLL_CTL_ADD);
	return 0;
}

/* The link is up, or failed: close it (close_notify first) and dial again. */
static int
flap_end(struct flap_conn *c, int up)
{
	uint64_t	 now = bench_now();

	if (flap_counting) {
		if (up) {
			flap_ups++;
			bench_lat_add(&flap_lat, now - c->t0);
			bench_lat_add(&flap_tlat, c->t_tls ? c->t_tls - c->t0 :
			    0);
		} else
			flap_fails++;
	}
	epoll_ctl(flap_ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->tls != NULL) {
		ptls_close_notify(c->tls);
		ptls_free(c->tls);
		c->tls = NULL;
	}
	close(c->fd);
	return flap_dial(c);
}

static int
flap_queue(struct flap_conn *c, const char *line)
{
	size_t	 n = strlen(line);

	if (c->outlen + n > sizeof(c->out))
		return -1;
	memcpy(c->out + c->outlen, line, n);
	c->outlen += n;
	return 0;
}

/* The handshake's lines, in turn; -1 on anything unexpected. */
static int
flap_line(struct flap_conn *c, char *line)
{
	char	 buf[FLAP_BUF], mac[PROTO_MAC_HEX + 1], ok[PROTO_MAC_HEX + 1];
	int	 n;

	switch (c->state) {
	case FLAP_HELLO:
		if (sscanf(line, "CHALLENGE %32s", c->nonce_l) != 1 ||
		    strlen(c->nonce_l) != PROTO_NONCE_HEX)
			return -1;
		if (proto_mac(mac, c->mkey, c->mkeylen, "herd-link",
		    c->as->name, flap_to->name, c->nonce_d, c->nonce_l) == -1)
			return -1;
		snprintf(buf, sizeof(buf), "AUTH %s\n", mac);
		c->state = FLAP_AUTH;
		return flap_queue(c, buf);
	case FLAP_AUTH:
		if (proto_mac(ok, c->mkey, c->mkeylen, "herd-ok",
		    flap_to->name, c->as->name, c->nonce_l, c->nonce_d) == -1)
			return -1;
		/* then the feature words it speaks, if any */
		n = snprintf(buf, sizeof(buf), "OK 2 %s %s", flap_to->name,
		    ok);
		if (strncmp(line, buf, (size_t)n) != 0 ||
		    (line[n] != '\0' && line[n] != ' '))
			return -1;
		c->state = FLAP_SINCE;
		return 0;
	case FLAP_SINCE:
		return strncmp(line, "SINCE ", 6) == 0 ? 1 : -1;
	default:
		return -1;
	}
}

/* TLS is up (or there is none): HELLO, under the MAC key of this link. */
static int
flap_hello(struct flap_conn *c)
{
	unsigned char	 b[PTLS_BINDING_LEN];
	char		 bhex[2 * PTLS_BINDING_LEN + 1], buf[FLAP_BUF];
	const struct herd_key *k = &flap_conf.keys.key[0];

	c->state = FLAP_HELLO;
	if (c->tls == NULL) {
		memcpy(c->mkey, k->b, k->len);
		c->mkeylen = k->len;
	} else {
		if (ptls_binding(c->tls, b) == -1)
			return -1;
		proto_hex(bhex, b, sizeof(b));
		if (proto_mac(c->mkey, k->b, k->len, "herd-bind", bhex, "-",
		    "-", "-") == -1)
			return -1;
		c->mkeylen = PROTO_MAC_HEX;
	}
	if (flap_nonce(c->nonce_d) == -1)
		return -1;
	snprintf(buf, sizeof(buf), "HELLO 2 %s %s %s\n", c->as->name,
	    flap_to->name, c->nonce_d);
	return flap_queue(c, buf);
}

/* Why a dial failed, for the first few. */
static void
flap_warn(const struct flap_conn *c, const char *why)
{
	static int	 n;

	if (n++ < 3)
		fprintf(stderr, "bench_flap: as %s: %.120s\n", c->as->name,
		    why);
}

static ssize_t
flap_read(struct flap_conn *c, void *buf, size_t len)
{
	return c->tls != NULL ? ptls_read(c->tls, buf, len) :
	    read(c->fd, buf, len);
}

static ssize_t
flap_write(struct flap_conn *c, const void *buf, size_t len)
{
	return c->tls != NULL ? ptls_write(c->tls, buf, len) :
	    write(c->fd, buf, len);
}

/* Go as far as the socket lets: 0, or -1 when the dial failed. */
static int
flap_step(struct flap_conn *c)
{
	char		*nl;
	ssize_t		 n;
	socklen_t	 elen = sizeof(int);
	int		 e = 0, rc;

	if (c->state == FLAP_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 ||
		    e != 0)
			return -1;
		if (flap_tls == NULL) {
			if (flap_hello(c) == -1)
				return -1;
		} else {
			if ((c->tls = ptls_new(flap_tls, c->fd, 1,
			    flap_to->name)) == NULL)
				return -1;
			c->state = FLAP_TLS;
		}
	}
	if (c->state == FLAP_TLS) {
		if ((rc = ptls_handshake(c->tls)) == -1) {
			flap_warn(c, ptls_error(c->tls));
			return -1;
		}
		if (rc == 0)
			return 0;
		c->t_tls = bench_now();
		if (flap_hello(c) == -1)
			return -1;
	}
	for (;;) {
		while (c->outlen > 0) {
			if ((n = flap_write(c, c->out, c->outlen)) == -1)
				return errno == EAGAIN ? 0 : -1;
			memmove(c->out, c->out + n, c->outlen - (size_t)n);
			c->outlen -= (size_t)n;
		}
		while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			*nl = '\0';
			if ((rc = flap_line(c, c->in)) == -1) {
				flap_warn(c, c->in);
				return -1;
			}
			if (rc == 1)
				return 1;
			c->inlen -= (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->inlen);
		}
		if (c->outlen > 0)
			continue;
		if (c->inlen == sizeof(c->in))
			return -1;
		n = flap_read(c, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->inlen += (size_t)n;
	}
}

/* CPU seconds this process has used, user and system. */
static double
flap_cpu(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[FLAP_EVENTS];
	struct flap_conn	*conns, *c;
	const char		*file = NULL, *to = NULL;
	char			 err[2048];
	double			 duration = 5, warmup = 1, secs, cpu0 = 0;
	uint64_t		 start, tcount = 0, last, now;
	size_t			 nconns = 8, i, nb;
	int			 ch, k, j, rc;

	while ((ch = getopt(argc, argv, "c:d:f:t:w:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'f':
			file = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'w':
			warmup = strtod(optarg, NULL);
			break;
		default:
			fputs(FLAP_USAGE, stderr);
			return 64;
		}
	}
	if (file == NULL || to == NULL || optind != argc || nconns < 1 ||
	    nconns > 1000 || !(duration > 0) || !(warmup >= 0)) {
		fputs(FLAP_USAGE, stderr);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("bench_flap", NULL, 0);
	if (conf_load(file, &flap_conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench_flap: %s", err);
		return 78;
	}
	if ((flap_to = conf_server(&flap_conf, to)) == NULL ||
	    (nb = flap_to->nneighbors) == 0 || flap_conf.keys.n == 0) {
		fprintf(stderr, "bench_flap: %s: no server %s with neighbours "
		    "and a secret\n", file, to);
		return 78;
	}
	if (flap_conf.tls.on &&
	    (flap_tls = ptls_ctx_new(&flap_conf, NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "bench_flap: %s\n", err);
		return 78;
	}
	memset(&flap_sin, 0, sizeof(flap_sin));
	flap_sin.sin_family = AF_INET;
	flap_sin.sin_port = htons(flap_to->peer_port);
	if (inet_pton(AF_INET, flap_to->host, &flap_sin.sin_addr) != 1) {
		fprintf(stderr, "bench_flap: host %s: not an IPv4 address\n",
		    flap_to->host);
		return 78;
	}
	if ((flap_ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (conns = calloc(nconns, sizeof(*conns))) == NULL) {
		perror("bench_flap");
		return 1;
	}
	for (i = 0; i < nconns; i++) {
		conns[i].as = &flap_conf.servers[flap_to->neighbors[i % nb]];
		if (flap_dial(&conns[i]) == -1) {
			perror("bench_flap: connect");
			return 1;
		}
	}
	start = last = bench_now();
	for (;;) {
		now = bench_now();
		if (!flap_counting && now >= start + (uint64_t)(warmup * 1e9)) {
			flap_counting = 1;
			tcount = now;
			cpu0 = flap_cpu();
		}
		if (now >= start + (uint64_t)((warmup + duration) * 1e9))
			break;
		if (now - last > (uint64_t)(FLAP_STALL_S * 1e9)) {
			fprintf(stderr, "bench_flap: no link up for %.0f s\n",
			    FLAP_STALL_S);
			return 1;
		}
		if ((k = epoll_wait(flap_ep, evs, FLAP_EVENTS, 100)) == -1 &&
		    errno != EINTR) {
			perror("bench_flap: epoll_wait");
			return 1;
		}
		for (j = 0; j < k; j++) {
			c = evs[j].data.ptr;
			if ((rc = flap_step(c)) == 0) {
				flap_arm(c, EPOLL_CTL_MOD);
				continue;
			}
			if (rc == 1)
				last = bench_now();
			if (flap_end(c, rc == 1) == -1) {
				perror("bench_flap: connect");
				return 1;
			}
		}
	}
	secs = (bench_now() - tcount) / 1e9;
	cpu0 = flap_cpu() - cpu0;
	bench_lat_sort(&flap_lat);
	bench_lat_sort(&flap_tlat);
	printf("bench_flap: tls=%s conns=%zu seconds=%.3f ups=%llu fails=%llu "
	    "rate=%.1f up_p50_ms=%.3f up_p99_ms=%.3f tls_p50_ms=%.3f "
	    "cpu_util=%.3f cpu_us=%.1f\n", flap_tls != NULL ? "on" : "off",
	    nconns, secs, (unsigned long long)flap_ups,
	    (unsigned long long)flap_fails, flap_ups / secs,
	    bench_lat_pct(&flap_lat, 50), bench_lat_pct(&flap_lat, 99),
	    bench_lat_pct(&flap_tlat, 50), cpu0 / secs,
	    flap_ups ? 1e6 * cpu0 / flap_ups : 0);
	return flap_fails > 0 ? 1 : 0;
}
