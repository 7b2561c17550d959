/*
 * sock.h -- TCP socket helpers.  They never log: errors go to the caller's
 * err buffer (Redis anet style).
 */
#ifndef HERD_SOCK_H
#define HERD_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCK_ADDRS_MAX	8	/* addresses kept of one name */

struct sock_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

/* Every address of a name, in getaddrinfo's order, without duplicates. */
struct sock_addrs {
	struct sock_addr	 a[SOCK_ADDRS_MAX];
	size_t			 n;
};

/*
 * Resolve host:port (numeric or a name; blocking, for start-up) into
 * every address it has, at least one.  0, or -1 with a message in err.
 */
int	 sock_resolve(const char *host, uint16_t port, struct sock_addrs *sa,
	    char *err, size_t errlen);

/*
 * An asynchronous name lookup (getaddrinfo_a), so that dialling a neighbour
 * by name never stalls the event loop.  sock_lookup_start() resolves a
 * numeric address at once (returns 1, *sa filled); for a name it starts a
 * lookup (returns 0, *lk set) to be polled with sock_lookup_poll() until it
 * returns 1 (*sa filled with every address of the name, to be tried in
 * turn) or -1 (message in err); either frees *lk.  -1 from start is an
 * immediate failure.
 */
struct sock_lookup;

int	 sock_lookup_start(const char *host, uint16_t port,
	    struct sock_addrs *sa, struct sock_lookup **lk, char *err,
	    size_t errlen);
int	 sock_lookup_poll(struct sock_lookup *lk, struct sock_addrs *sa,
	    char *err, size_t errlen);
void	 sock_lookup_cancel(struct sock_lookup *lk);

/*
 * Non-blocking listening sockets on every address of host (as Redis's
 * bind takes several): fds[0..n-1], at most SOCK_ADDRS_MAX; returns n.
 * An IPv6 socket of a name with several addresses is IPv6-only, so that
 * it and an IPv4 one can share the port; an address of a family this
 * machine lacks (EAFNOSUPPORT, EADDRNOTAVAIL) is skipped when another
 * one binds.  -1 with a message in err, every socket closed.
 */
int	 sock_listen(const char *host, uint16_t port, int *fds, char *err,
	    size_t errlen);

/*
 * "HOST:PORT" or "[IPV6]:PORT" into host (size hostlen) and *port (1 to
 * 65535).  0, or -1 with a message in err.  Pure.
 */
int	 sock_parse_hostport(const char *s, char *host, size_t hostlen,
	    uint16_t *port, char *err, size_t errlen);

/* Start a non-blocking connect; -1 on immediate failure (errno). */
int	 sock_connect(const struct sock_addr *sa);

/* accept4 with non-blocking and close-on-exec; -1 on error (errno). */
int	 sock_accept(int lfd, char *peer, size_t peerlen);

/* The pending error of a connecting socket (0 when connected). */
int	 sock_error(int fd);

#endif /* HERD_SOCK_H */
