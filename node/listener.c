/*
 * listener.c -- accepting connections on the event loop (see listener.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <ev.h>

#include "counters.h"
#include "listener.h"
#include "log.h"
#include "sock.h"

/*
 * A descriptor held in reserve (libev's and nginx's way): at EMFILE it is
 * given up for the time of one accept, and the connection taken is closed
 * at once, so the one who called hears at once instead of waiting in the
 * queue, and the queue does not fill.
 */
static int		 listener_spare = -1;
static ev_tstamp	 listener_said;
static unsigned long	 listener_quiet;

static void
listener_spare_open(void)
{
	if (listener_spare == -1)
		listener_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: take one connection with the spare, and close it. */
static int
listener_shed(struct ev_loop *loop, struct listener *ls, int lfd)
{
	char	 addr[64];
	int	 fd;

	if (listener_spare == -1)
		return -1;
	close(listener_spare);
	listener_spare = -1;
	fd = sock_accept(lfd, addr, sizeof(addr));
	if (fd != -1) {
		close(fd);
		COUNT(CONN_FDS);
		if (ev_now(loop) - listener_said >= 1.0) {
			if (listener_quiet > 0)
				log_warnx("%s %s refused: no descriptor left "
				    "(and %lu more refused since the last said)",
				    ls->what, addr, listener_quiet);
			else
				log_warnx("%s %s refused: no descriptor left",
				    ls->what, addr);
			listener_said = ev_now(loop);
			listener_quiet = 0;
		} else
			listener_quiet++;
	}
	listener_spare_open();
	return fd == -1 ? -1 : 0;
}

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener	*ls = w->data;
	char		 addr[64];
	size_t		 i;
	int		 fd;

	(void)revents;
	for (;;) {
		if ((fd = sock_accept(w->fd, addr, sizeof(addr))) != -1) {
			ls->cb(loop, fd, addr);
			continue;
		}
		if (errno == EMFILE && listener_shed(loop, ls, w->fd) == 0)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("%s accept: pausing for 100 ms", ls->what);
			for (i = 0; i < ls->n; i++)
				ev_io_stop(loop, &ls->io[i]);
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
	size_t		 i;

	(void)revents;
	for (i = 0; i < ls->n; i++)
		ev_io_start(loop, &ls->io[i]);
}

int
listener_start(struct listener *ls, struct ev_loop *loop, const char *host,
    uint16_t port, const char *what, listener_cb *cb, char *err,
    size_t errlen)
{
	int	 fds[SOCK_ADDRS_MAX], n;
	size_t	 i;

	listener_spare_open();
	ls->what = what;
	ls->cb = cb;
	ls->n = 0;
	if ((n = sock_listen(host, port, fds, err, errlen)) == -1)
		return -1;
	ev_timer_init(&ls->pause, listener_pause_cb, LISTENER_PAUSE_S, 0.);
	ls->pause.data = ls;
	for (i = 0; i < (size_t)n; i++) {
		ev_io_init(&ls->io[i], listener_accept_cb, fds[i], EV_READ);
		ls->io[i].data = ls;
		ev_io_start(loop, &ls->io[i]);
	}
	ls->n = (size_t)n;
	return 0;
}

void
listener_stop(struct listener *ls, struct ev_loop *loop)
{
	size_t	 i;

	if (ls->cb == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		ev_io_stop(loop, &ls->io[i]);
		close(ls->io[i].fd);
	}
	ls->n = 0;
	ev_timer_stop(loop, &ls->pause);
}
