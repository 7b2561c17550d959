/*
 * listener.c -- accepting connections on the event loop (see listener.h).
 */
#include <errno.h>
#include <unistd.h>

#include <ev.h>

#include "listener.h"
#include "log.h"
#include "sock.h"

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener	*ls = w->data;
	char		 addr[64];
	int		 fd;

	(void)revents;
	for (;;) {
		if ((fd = sock_accept(ls->fd, addr, sizeof(addr))) != -1) {
			ls->cb(loop, fd, addr);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("%s accept: pausing for 100 ms", ls->what);
			ev_io_stop(loop, &ls->io);
			ev_timer_set(&ls->pause, LISTENER_PAUSE_S, 0.);
			ev_timer_start(loop, &ls->pause);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNABORTED && errno != EINTR)
			log_warn("%s accept", ls->what);
		return;
	}
}

static void
listener_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener	*ls = w->data;

	(void)revents;
	ev_io_start(loop, &ls->io);
}

int
listener_start(struct listener *ls, struct ev_loop *loop, const char *host,
    uint16_t port, const char *what, listener_cb *cb, char *err,
    size_t errlen)
{
	ls->what = what;
	ls->cb = cb;
	if ((ls->fd = sock_listen(host, port, err, errlen)) == -1)
		return -1;
	ev_io_init(&ls->io, listener_accept_cb, ls->fd, EV_READ);
	ev_timer_init(&ls->pause, listener_pause_cb, LISTENER_PAUSE_S, 0.);
	ls->io.data = ls->pause.data = ls;
	ev_io_start(loop, &ls->io);
	return 0;
}

void
listener_stop(struct listener *ls, struct ev_loop *loop)
{
	if (ls->cb == NULL || ls->fd == -1)
		return;
	ev_io_stop(loop, &ls->io);
	ev_timer_stop(loop, &ls->pause);
	close(ls->fd);
	ls->fd = -1;
}
