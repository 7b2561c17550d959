/*
 * client_tls.c -- the client port over TLS (a server's tls_port, see
 * client_tls.h): the listener, and each connection's TLS handshake until
 * it is done; then client.c takes the connection as one of the plain port
 * (client_adopt), and only how its bytes are read and written differs.
 *
 * TLS 1.3 only, with the certificate of [herd] client_tls_cert, asking
 * none of the client (ptls.h, PTLS_SERVER).  A handshake has
 * CLIENT_TLS_HANDSHAKE_S to finish.  Refusals (plain text on the port, a
 * client without TLS 1.3, a handshake stalled or cut) come from anyone
 * who can connect, so they are logged at most once a second, with a count
 * of those not logged.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "admit.h"
#include "client_int.h"
#include "client_tls.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "ptls.h"

struct client_tls_hs {
	ev_io		 io;		/* the socket, as ptls_want says */
	ev_timer	 timer;		/* CLIENT_TLS_HANDSHAKE_S */
	struct ptls	*t;
	int		 fd;
	char		 addr[64];
	LIST_ENTRY(client_tls_hs) entry;
};

static struct ev_loop		*client_tls_loop;
static struct ptls_ctx		*client_tls_ctx;
static struct listener		 client_tls_listener;
static LIST_HEAD(, client_tls_hs) client_tls_list =
    LIST_HEAD_INITIALIZER(client_tls_list);
static ev_tstamp		 client_tls_said;	/* last refusal logged */
static unsigned long		 client_tls_unsaid;	/* refused since */
static ev_timer			 client_tls_quiet;	/* say how many */

/* A second after a refusal was logged: how many were not. */
static void
client_tls_quiet_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (client_tls_unsaid > 0)
		log_notice("TLS: %lu more client%s refused in the last second",
		    client_tls_unsaid, client_tls_unsaid == 1 ? "" : "s");
	client_tls_unsaid = 0;
}

/* A connection refused: logged, or counted within a second of the last. */
static void
client_tls_refused(const char *addr, const char *why)
{
	ev_tstamp	 now = ev_now(client_tls_loop);

	if (client_tls_said != 0 && now - client_tls_said < 1.0) {
		client_tls_unsaid++;
		return;
	}
	client_tls_quiet_cb(client_tls_loop, &client_tls_quiet, 0);
	client_tls_said = now;
	log_notice("TLS client %s refused: %s", addr, why);
	ev_timer_stop(client_tls_loop, &client_tls_quiet);
	ev_timer_set(&client_tls_quiet, 1.0, 0.);
	ev_timer_start(client_tls_loop, &client_tls_quiet);
}

/*
 * The handshake is over: the connection is a client now (why NULL), or
 * it is refused for why, and closed.
 */
static void
client_tls_end(struct client_tls_hs *h, const char *why)
{
	ev_io_stop(client_tls_loop, &h->io);
	ev_timer_stop(client_tls_loop, &h->timer);
	LIST_REMOVE(h, entry);
	if (why == NULL)
		client_adopt(h->fd, h->addr, h->t);
	else {
		client_tls_refused(h->addr, why);
		admit_release(h->addr);
		ptls_free(h->t);
		close(h->fd);
	}
	free(h);
}

/* A step of the handshake, on the socket's readiness. */
static void
client_tls_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client_tls_hs	*h = w->data;
	int			 rc, want;

	(void)revents;
	if ((rc = ptls_handshake(h->t)) != 0)
		client_tls_end(h, rc == 1 ? NULL : ptls_error(h->t));
	else if ((want = ptls_want(h->t)) != 0 && want != (w->events &
	    (EV_READ | EV_WRITE))) {
		ev_io_stop(loop, w);
		ev_io_set(w, h->fd, want);
		ev_io_start(loop, w);
	}
}

static void
client_tls_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client_tls_hs	*h = w->data;
	char			 why[64];

	(void)loop;
	(void)revents;
	snprintf(why, sizeof(why), "no TLS handshake within %d s",
	    CLIENT_TLS_HANDSHAKE_S);
	client_tls_end(h, why);
}

static void
client_tls_accept_cb(struct ev_loop *loop, int fd, const char *addr)
{
	struct client_tls_hs	*h;

	if (!admit_take(addr)) {
		close(fd);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->t = ptls_new(client_tls_ctx, fd, 0, NULL)) == NULL) {
		log_warnx("TLS accept: out of memory");
		admit_release(addr);
		free(h);
		close(fd);
		return;
	}
	h->fd = fd;
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	ev_io_init(&h->io, client_tls_io_cb, fd, EV_READ);
	h->io.data = h;
	ev_timer_init(&h->timer, client_tls_timeout_cb,
	    CLIENT_TLS_HANDSHAKE_S, 0.);
	h->timer.data = h;
	ev_io_start(loop, &h->io);
	ev_timer_start(loop, &h->timer);
	LIST_INSERT_HEAD(&client_tls_list, h, entry);
}

int
client_tls_init(struct ev_loop *loop, const struct herd_conf *conf,
    const struct herd_server *self, char *err, size_t errlen)
{
	if (self->tls_port == 0)
		return 0;
	client_tls_loop = loop;
	ev_timer_init(&client_tls_quiet, client_tls_quiet_cb, 1.0, 0.);
	if ((client_tls_ctx = ptls_ctx_new_server(conf->ctls.cert,
	    conf->ctls.key, err, errlen)) == NULL)
		return HERD_EXIT_CONFIG;
	if (listener_start(&client_tls_listener, loop, self->host,
	    self->tls_port, "TLS client", client_tls_accept_cb, err,
	    errlen) == -1)
		return 1;
	log_notice("listening for clients over TLS on %s port %u",
	    self->host, self->tls_port);
	return 0;
}

void
client_tls_shutdown(void)
{
	if (client_tls_ctx == NULL)
		return;
	listener_stop(&client_tls_listener, client_tls_loop);
	while (!LIST_EMPTY(&client_tls_list))
		client_tls_end(LIST_FIRST(&client_tls_list),
		    "the server is stopping");
	client_tls_quiet_cb(client_tls_loop, &client_tls_quiet, 0);
	ev_timer_stop(client_tls_loop, &client_tls_quiet);
	ptls_ctx_free(client_tls_ctx);
	client_tls_ctx = NULL;
}
