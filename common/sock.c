/*
 * sock.c -- TCP socket helpers (see sock.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

/* The addresses of res, in order, each once; the number kept. */
static size_t
sock_addrs_fill(struct sock_addrs *sa, const struct addrinfo *res)
{
	const struct addrinfo	*ai;
	size_t			 i;

	sa->n = 0;
	for (ai = res; ai != NULL && sa->n < SOCK_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(sa->a[0].ss))
			continue;
		for (i = 0; i < sa->n; i++)
			if (sa->a[i].len == ai->ai_addrlen &&
			    memcmp(&sa->a[i].ss, ai->ai_addr, ai->ai_addrlen) ==
			    0)
				break;
		if (i < sa->n)
			continue;
		memcpy(&sa->a[sa->n].ss, ai->ai_addr, ai->ai_addrlen);
		sa->a[sa->n].len = ai->ai_addrlen;
		sa->n++;
	}
	return sa->n;
}

int
sock_resolve(const char *host, uint16_t port, struct sock_addrs *sa,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 serv[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	rc = sock_addrs_fill(sa, res) > 0 ? 0 : -1;
	freeaddrinfo(res);
	if (rc == -1)
		snprintf(err, errlen, "%s: no address", host);
	return rc;
}

struct sock_lookup {
	struct gaicb	 cb;
	struct addrinfo	 hints;
	char		 host[256];
	char		 serv[8];
};

int
sock_lookup_start(const char *host, uint16_t port, struct sock_addrs *sa,
    struct sock_lookup **lkp, char *err, size_t errlen)
{
	struct sock_lookup	*lk;
	struct gaicb		*list[1];
	struct addrinfo		 hints, *res;
	char			 serv[8];
	int			 rc;

	*lkp = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) == 0) {
		rc = sock_addrs_fill(sa, res) > 0 ? 1 : -1;
		freeaddrinfo(res);
		if (rc == -1)
			snprintf(err, errlen, "%s: no address", host);
		return rc;
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", host);
		return -1;
	}
	snprintf(lk->host, sizeof(lk->host), "%s", host);
	memcpy(lk->serv, serv, sizeof(serv));
	lk->hints.ai_family = AF_UNSPEC;
	lk->hints.ai_socktype = SOCK_STREAM;
	lk->hints.ai_flags = AI_NUMERICSERV;
	lk->cb.ar_name = lk->host;
	lk->cb.ar_service = lk->serv;
	lk->cb.ar_request = &lk->hints;
	list[0] = &lk->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		free(lk);
		return -1;
	}
	*lkp = lk;
	return 0;
}

int
sock_lookup_poll(struct sock_lookup *lk, struct sock_addrs *sa, char *err,
    size_t errlen)
{
	struct addrinfo	*res;
	int		 rc, found = 0;

	if ((rc = gai_error(&lk->cb)) == EAI_INPROGRESS)
		return 0;
	res = lk->cb.ar_result;
	if (rc == 0 && res != NULL)
		found = sock_addrs_fill(sa, res) > 0;
	if (!found)
		snprintf(err, errlen, "%s: %s", lk->host,
		    rc == 0 ? "no address" : gai_strerror(rc));
	if (res != NULL)
		freeaddrinfo(res);
	free(lk);
	return found ? 1 : -1;
}

void
sock_lookup_cancel(struct sock_lookup *lk)
{
	const struct gaicb	*list[1] = { &lk->cb };
	struct timespec		 wait = { 0, 200 * 1000 * 1000 };

	/*
	 * A lookup already running cannot be cancelled: give it 200 ms, then
	 * leave it to its resolver thread (we are stopping: nothing waits).
	 */
	if (gai_cancel(&lk->cb) != EAI_CANCELED) {
		gai_suspend(list, 1, &wait);
		if (gai_error(&lk->cb) == EAI_INPROGRESS)
			return;
	}
	if (lk->cb.ar_result != NULL)
		freeaddrinfo(lk->cb.ar_result);
	free(lk);
}

/* One listening socket on sa; -1 with errno. */
static int
sock_listen_one(const struct sock_addr *sa, int v6only)
{
	int	 fd, one = 1, saved;

	fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6only && sa->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&sa->ss, sa->len) == -1 ||
	    listen(fd, 511) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_listen(const char *host, uint16_t port, int *fds, char *err,
    size_t errlen)
{
	struct sock_addrs sa;
	char		 addr[INET6_ADDRSTRLEN] = "?";
	size_t		 i, n = 0;
	int		 fd, saved = 0;

	if (sock_resolve(host, port, &sa, err, errlen) == -1)
		return -1;
	for (i = 0; i < sa.n; i++) {
		if ((fd = sock_listen_one(&sa.a[i], sa.n > 1)) != -1) {
			fds[n++] = fd;
			continue;
		}
		saved = errno;
		if (sa.a[i].ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    &sa.a[i].ss)->sin_addr, addr, sizeof(addr));
		else if (sa.a[i].ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    &sa.a[i].ss)->sin6_addr, addr, sizeof(addr));
		if (saved != EAFNOSUPPORT && saved != EADDRNOTAVAIL)
			break;
	}
	if (i == sa.n && n > 0)
		return (int)n;
	while (n > 0)
		close(fds[--n]);
	if (strcmp(addr, host) == 0)
		snprintf(err, errlen, "%s port %u: %s", host, port,
		    strerror(saved));
	else
		snprintf(err, errlen, "%s (%s) port %u: %s", host, addr, port,
		    strerror(saved));
	return -1;
}

int
sock_connect(const struct sock_addr *sa)
{
	int	 fd, one = 1;

	fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&sa->ss, sa->len) == -1 &&
	    errno != EINPROGRESS) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_accept(int lfd, char *peer, size_t peerlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	int			 fd, one = 1;
	uint16_t		 port = 0;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	host[0] = '\0';
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(peer, peerlen, "%s:%u", host, port);
	return fd;
}

int
sock_error(int fd)
{
	int		 e = 0;
	socklen_t	 len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return errno;
	return e;
}

int
sock_parse_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port, char *err, size_t errlen)
{
	const char	*colon, *h = s, *p;
	size_t		 n;
	unsigned long	 v = 0;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL) {
			snprintf(err, errlen, "\"%s\": expected [ADDRESS]:PORT",
			    s);
			return -1;
		}
		h = s + 1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "\"%s\": expected ADDRESS:PORT",
			    s);
			return -1;
		}
		n = (size_t)(colon - s);
		if (memchr(s, ':', n) != NULL) {
			snprintf(err, errlen, "\"%s\": an IPv6 address goes in "
			    "brackets: [ADDRESS]:PORT", s);
			return -1;
		}
	}
	if (n >= hostlen || n == 0) {
		snprintf(err, errlen, "\"%s\": %s", s, n == 0 ?
		    "empty address" : "address too long");
		return -1;
	}
	for (p = colon + 1; *p != '\0' && v <= 65535; p++) {
		if (*p < '0' || *p > '9')
			break;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (p == colon + 1 || *p != '\0' || v < 1 || v > 65535) {
		snprintf(err, errlen, "\"%s\": the port must be a number from "
		    "1 to 65535", s);
		return -1;
	}
	for (p = h; p < h + n; p++)
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == '[' ||
		    *p == ']') {
			snprintf(err, errlen, "\"%s\": not an address", s);
			return -1;
		}
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (uint16_t)v;
	return 0;
}
