/*
 * ptls_harness.h -- what the TLS tests (test_ptls.c, test_ptls_cert.c)
 * share (ptls_harness.c): a temporary directory, pairs of non-blocking TCP
 * sockets on 127.0.0.1, the handshake of both ends in one loop,
 * configurations, and the log captured.  Everything waits 5 s at most,
 * and harness_init sets alarm(60).
 */
#ifndef HERD_PTLS_HARNESS_H
#define HERD_PTLS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "ptls.h"

#define SECRET_A	"0123456789abcdef"
#define SECRET_B	"another secret, 16+ bytes"

/* The temporary directory, removed at exit. */
extern char	 harness_dir[];

/* One end of a connection. */
struct end {
	struct ptls	*t;
	int		 fd;
	int		 rc;		/* of ptls_handshake */
};

/* SIGPIPE ignored, alarm(60), harness_dir made and removed at exit. */
void	 harness_init(void);

double	 harness_now(void);

/* A connected pair of non-blocking TCP sockets: *d dialled, *l accepted;
 * small: 128 KiB socket buffers (above the loopback MSS), for EAGAIN
 * both ways. */
void	 harness_pair(int *d, int *l, int small);

/* EV_READ, EV_WRITE as poll(2)'s events. */
short	 harness_events(int want);

/* One step of e's handshake; when it fails, shut its writing down. */
void	 harness_step(struct end *e);

/* Both handshakes (an end without t is left alone) until neither is in
 * progress, 5 s at most. */
void	 harness_drive(struct end *d, struct end *l);
/* The same, s seconds at most. */
void	 harness_drive_for(struct end *d, struct end *l, double s);

void	 harness_end_free(struct end *e);

/* A link from a dialler of dc (to peer) to a listener of lc, driven. */
void	 harness_link(struct ptls_ctx *dc, const char *peer, struct ptls_ctx *lc,
	    struct end *d, struct end *l, int small);

/* ptls_read until it is not EAGAIN, 5 s at most. */
ssize_t	 harness_read(struct ptls *t, void *buf, size_t len);

/* A configuration with the keyring keys (lines); one of 16 in turn. */
struct herd_conf *harness_psk_conf(const char *keys);

/* One with certificates: files in harness_dir, at the lines 7, 8 and 9. */
struct herd_conf *harness_cert_conf(const char *cert, const char *key,
	    const char *ca);

struct ptls_ctx *harness_ctx(const struct herd_conf *c, const char *self);

/* s without its newline (in place), for a TAP message. */
const char *harness_chomp(char *s);

/* Standard error (the log) into a file, and back into buf. */
void	 harness_capture_start(void);
void	 harness_capture_end(char *buf, size_t size);

/* How many times needle is in hay. */
int	 harness_count(const char *hay, const char *needle);

#endif /* HERD_PTLS_HARNESS_H */
