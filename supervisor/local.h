/*
 * local.h -- which servers of the herd belong to this machine.
 *
 * A server is local when its host is an address of this machine: a
 * wildcard (0.0.0.0, ::), a loopback address (127.0.0.0/8, ::1, and
 * their IPv4-mapped forms), or an address of one of its interfaces.  A
 * name is resolved, and is local when any of its addresses is.
 *
 * local_match() decides from a list of addresses (pure, unit tested);
 * local_addrs_get() fills that list from getifaddrs(3).
 */
#ifndef HERD_LOCAL_H
#define HERD_LOCAL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct local_addrs {
	struct sockaddr_storage	*addrs;		/* AF_INET or AF_INET6 */
	size_t			 n;
};

/* The addresses of this machine's interfaces.  0, or -1 with err set. */
int	 local_addrs_get(struct local_addrs *la, char *err, size_t errlen);

/* Append one address (AF_INET or AF_INET6; others are ignored).  0 or -1. */
int	 local_addrs_add(struct local_addrs *la, const struct sockaddr *sa);

void	 local_addrs_free(struct local_addrs *la);

/*
 * 1 when sa is a wildcard or loopback address, or one of la; else 0.
 * Pure.  IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
int	 local_match(const struct sockaddr *sa, const struct local_addrs *la);

/*
 * 1 when host (an address or a name, resolved with getaddrinfo(3), which
 * may block) is local by local_match(), 0 when not, -1 when it does not
 * resolve (err says why).
 */
int	 local_host(const char *host, const struct local_addrs *la,
	    char *err, size_t errlen);

#endif /* HERD_LOCAL_H */
