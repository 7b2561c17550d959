/*
 * local.c -- which servers of the herd belong to this machine.
 *
 * Copyright (c) 2026 The herd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"

int
local_addrs_add(struct local_addrs *la, const struct sockaddr *sa)
{
	struct sockaddr_storage	*t;
	size_t			 len;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		return 0;
	if ((t = reallocarray(la->addrs, la->n + 1, sizeof(*t))) == NULL)
		return -1;
	la->addrs = t;
	memset(&la->addrs[la->n], 0, sizeof(*t));
	memcpy(&la->addrs[la->n], sa, len);
	la->n++;
	return 0;
}

void
local_addrs_free(struct local_addrs *la)
{
	free(la->addrs);
	la->addrs = NULL;
	la->n = 0;
}

int
local_addrs_get(struct local_addrs *la, char *err, size_t errlen)
{
	struct ifaddrs	*ifa, *i;

	la->addrs = NULL;
	la->n = 0;
	if (getifaddrs(&ifa) == -1) {
		snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (local_addrs_add(la, i->ifa_addr) == -1) {
			snprintf(err, errlen, "out of memory");
			freeifaddrs(ifa);
			local_addrs_free(la);
			return -1;
		}
	freeifaddrs(ifa);
	return 0;
}

/*
 * The address as IPv4 (in host order) when it is IPv4 or IPv4-mapped:
 * 1 and *v4 set; else 0.
 */
static int
local_v4(const struct sockaddr *sa, uint32_t *v4)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		*v4 = ntohl(sin->sin_addr.s_addr);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(v4, &sin6->sin6_addr.s6_addr[12], 4);
			*v4 = ntohl(*v4);
			return 1;
		}
	}
	return 0;
}

int
local_match(const struct sockaddr *sa, const struct local_addrs *la)
{
	const struct sockaddr_in6	*sin6, *o6;
	uint32_t			 v4, o4;
	size_t				 i;

	if (local_v4(sa, &v4)) {
		if (v4 == INADDR_ANY || (v4 >> 24) == 127)
			return 1;
		for (i = 0; i < la->n; i++)
			if (local_v4((const struct sockaddr *)&la->addrs[i],
			    &o4) && o4 == v4)
				return 1;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	for (i = 0; i < la->n; i++) {
		if (la->addrs[i].ss_family != AF_INET6)
			continue;
		o6 = (const struct sockaddr_in6 *)&la->addrs[i];
		if (memcmp(&o6->sin6_addr, &sin6->sin6_addr,
		    sizeof(sin6->sin6_addr)) == 0)
			return 1;
	}
	return 0;
}

int
local_host(const char *host, const struct local_addrs *la, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	int		 rc, found = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, rc == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		found = local_match(ai->ai_addr, la);
	freeaddrinfo(res);
	return found;
}
