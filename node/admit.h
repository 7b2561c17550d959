/*
 * admit.h -- whether a new client connection is kept: at most
 * max_connections of them at this server (plain and TLS, handshakes
 * included) and max_connections_per_address from one address (herd.ini(5)
 * LIMITS).  One past either is closed at once, counted, and said at most
 * once a second.  The caller takes a place at accept and gives it back
 * when the connection closes.
 */
#ifndef HERD_ADMIT_H
#define HERD_ADMIT_H

#include <stddef.h>

struct herd_limits;

/* The limits (at start, and again on SIGHUP: who is in stays in). */
void	 admit_set(const struct herd_limits *l);

/*
 * Raise the descriptor limit to what max_connections wants, and others
 * more (neighbours, journal, log), up to the hard limit; say so when the
 * hard limit is lower.
 */
void	 admit_descriptors(const struct herd_limits *l, size_t others);

/*
 * A place for a connection from addr ("host:port", as sock_accept writes
 * it; its host is what counts): 1 taken, 0 refused (counted and logged).
 */
int	 admit_take(const char *addr);

/* Give back addr's place. */
void	 admit_release(const char *addr);

/* Connections holding a place. */
size_t	 admit_count(void);

/* Forget every address (at exit). */
void	 admit_free(void);

#endif /* HERD_ADMIT_H */
