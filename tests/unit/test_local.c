/*
 * test_local.c -- which hosts are this machine: local_match() and local_host().
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
#include <netinet/in.h>

#include <string.h>

#include "local.h"
#include "tap.h"

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage		 ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	return ss;
}

static int
match(const char *s, const struct local_addrs *la)
{
	struct sockaddr_storage	 ss = addr(s);

	return local_match((struct sockaddr *)&ss, la);
}

int
main(void)
{
	struct local_addrs	 none = { NULL, 0 }, la = { NULL, 0 };
	struct sockaddr_storage	 ss;
	char			 err[256];
	const char		*mine[] = { "10.213.7.1", "fd00::7",
				    "192.168.1.20" };
	size_t			 i;

	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		ss = addr(mine[i]);
		ok(local_addrs_add(&la, (struct sockaddr *)&ss) == 0,
		    "add %s", mine[i]);
	}
	ss.ss_family = AF_UNIX;
	ok(local_addrs_add(&la, (struct sockaddr *)&ss) == 0 && la.n == 3,
	    "other families are skipped");

	/* wildcards and loopback, with no interface at all */
	ok(match("0.0.0.0", &none) == 1, "0.0.0.0 is local");
	ok(match("::", &none) == 1, ":: is local");
	ok(match("127.0.0.1", &none) == 1, "127.0.0.1 is local");
	ok(match("127.3.4.5", &none) == 1, "127.3.4.5 is local (127/8)");
	ok(match("::1", &none) == 1, "::1 is local");
	ok(match("::ffff:127.0.0.1", &none) == 1, "mapped loopback is local");
	ok(match("10.213.7.1", &none) == 0, "no interface: not local");

	/* the interfaces' addresses */
	ok(match("10.213.7.1", &la) == 1, "an interface's IPv4 is local");
	ok(match("10.213.7.2", &la) == 0, "the neighbour's IPv4 is not");
	ok(match("::ffff:10.213.7.1", &la) == 1, "mapped form of ours");
	ok(match("::ffff:10.213.7.2", &la) == 0, "mapped form of another");
	ok(match("fd00::7", &la) == 1, "an interface's IPv6 is local");
	ok(match("fd00::8", &la) == 0, "another IPv6 is not");
	ok(match("192.168.1.2", &la) == 0, "a prefix is no match");
	ok(match("128.0.0.1", &la) == 0, "128.0.0.1 is not loopback");

	/* local_host(): numeric hosts and names */
	ok(local_host("10.213.7.1", &la, err, sizeof(err)) == 1,
	    "local_host: our address");
	ok(local_host("10.213.7.2", &la, err, sizeof(err)) == 0,
	    "local_host: another address");
	ok(local_host("0.0.0.0", &none, err, sizeof(err)) == 1,
	    "local_host: wildcard");
	ok(local_host("::1", &none, err, sizeof(err)) == 1,
	    "local_host: ::1");
	ok(local_host("localhost", &none, err, sizeof(err)) == 1,
	    "local_host: localhost resolves to loopback");
	err[0] = '\0';
	ok(local_host("10.213.7.300", &none, err, sizeof(err)) != 1,
	    "local_host: a malformed address is not local");

	local_addrs_free(&la);
	ok(la.n == 0 && la.addrs == NULL, "free empties the list");
	ok(local_addrs_get(&la, err, sizeof(err)) == 0, "getifaddrs works");
	local_addrs_free(&la);
	return tap_done();
}
