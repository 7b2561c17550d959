/*
 * test_ptls.c -- TLS on the peer links with the herd's keys (node/ptls.c,
 * node/ptls_ctx.c): both ends in one process over non-blocking TCP
 * sockets on 127.0.0.1.  The same key, another, a keyring and its reload;
 * plain text either way, a TLS 1.2 client; the binding; 1 MiB each way
 * through the outbuf writer and the linebuf filler.  Certificates are
 * test_ptls_cert.c's.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conf.h"
#include "keyring.h"
#include "linebuf.h"
#include "ptls.h"
#include "ptls_harness.h"
#include "tap.h"

static void
test_psk(void)
{
	struct ptls_ctx	*a = harness_ctx(harness_psk_conf(SECRET_A), "Alpha");
	struct ptls_ctx	*a2 = harness_ctx(harness_psk_conf(SECRET_A), "Beta");
	struct ptls_ctx	*b = harness_ctx(harness_psk_conf(SECRET_B), "Beta");
	struct end	 d, l, d2, l2;
	unsigned char	 bd[PTLS_BINDING_LEN], bl[PTLS_BINDING_LEN];
	unsigned char	 b2[PTLS_BINDING_LEN];
	char		 err[256];

	ok(ptls_ctx_mode(a) == PTLS_PSK, "a keyring and no certificate: PSK");
	{
		struct herd_conf	*c = harness_psk_conf(SECRET_A);

		keyring_clear(&c->keys);
		ok(ptls_ctx_new(c, "Alpha", err, sizeof(err)) == NULL &&
		    strstr(err, "no secret and no peer_tls_cert") != NULL,
		    "no key, no certificate: %s", harness_chomp(err));
	}

	harness_link(a, "Beta", a2, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "the same secret: both ends up (%s | %s)",
	    ptls_error(d.t), ptls_error(l.t));
	ok(strcmp(ptls_key_name(d.t), "herd1:0b132fe08b7d7bb2") == 0 &&
	    strcmp(ptls_key_name(l.t), ptls_key_name(d.t)) == 0 &&
	    ptls_key_index(d.t) == 0 && ptls_key_index(l.t) == 0,
	    "both name the key: %s", ptls_key_name(l.t));
	ok(strcmp(ptls_cipher(d.t), "TLS_AES_128_GCM_SHA256") == 0,
	    "cipher %s", ptls_cipher(d.t));
	ok(ptls_group(d.t)[0] != '\0' && strcmp(ptls_group(d.t),
	    ptls_group(l.t)) == 0, "with an (EC)DHE key exchange: %s",
	    ptls_group(d.t));
	ok(ptls_binding(d.t, bd) == 0 && ptls_binding(l.t, bl) == 0 &&
	    memcmp(bd, bl, sizeof(bd)) == 0, "the binding is equal at both "
	    "ends");
	ok(ptls_check_name(l.t, "anyone") == 0, "PSK: any name passes "
	    "ptls_check_name");
	harness_link(a, "Beta", a2, &d2, &l2, 0);
	ok(d2.rc == 1 && ptls_binding(d2.t, b2) == 0 &&
	    memcmp(bd, b2, sizeof(bd)) != 0, "another connection, another "
	    "binding");
	harness_end_free(&d2);
	harness_end_free(&l2);
	{
		char	 buf[64];
		ssize_t	 n;

		ok(ptls_write(d.t, "HELLO\n", 6) == 6, "write after the "
		    "handshake");
		n = harness_read(l.t, buf, sizeof(buf));
		ok(n == 6 && memcmp(buf, "HELLO\n", 6) == 0, "read it");
		ptls_close_notify(d.t);
		n = harness_read(l.t, buf, sizeof(buf));
		ok(n == 0 && strstr(ptls_error(l.t), "close_notify") != NULL,
		    "close_notify: read 0 (%s)", ptls_error(l.t));
		ok(ptls_read(l.t, buf, sizeof(buf)) == 0, "and 0 again");
	}
	harness_end_free(&d);
	harness_end_free(&l);

	harness_link(a, "Beta", b, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1, "another secret: refused at both ends");
	ok(strstr(ptls_error(l.t), "the dialler's key herd1:0b132fe08b7d7bb2 "
	    "is not in our keyring (herd1:") != NULL, "the listener says "
	    "which key: %s", ptls_error(l.t));
	ok(strstr(ptls_error(d.t), "refused by the listener") != NULL &&
	    strstr(ptls_error(d.t), "herd1:0b132fe08b7d7bb2") != NULL,
	    "the dialler says so: %s", ptls_error(d.t));
	ok(ptls_key_name(d.t)[0] == '\0' && ptls_binding(d.t, bd) == -1,
	    "no key name, no binding on a refused link");
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(a);
	ptls_ctx_free(a2);
	ptls_ctx_free(b);
}

static void
test_keyring_links(void)
{
	struct ptls_ctx	*both = harness_ctx(harness_psk_conf(SECRET_A "\n" SECRET_B),
	    "L");
	struct ptls_ctx	*olds = harness_ctx(harness_psk_conf(SECRET_A), "D");
	struct ptls_ctx	*news = harness_ctx(harness_psk_conf(SECRET_B "\n" SECRET_A),
	    "D");
	struct ptls_ctx	*l_old = harness_ctx(harness_psk_conf(SECRET_A), "L");
	struct end	 d, l;
	char		 idb[KEYRING_ID_SIZE], err[256];
	struct herd_key	 kb;

	memset(&kb, 0, sizeof(kb));
	kb.len = strlen(SECRET_B);
	memcpy(kb.b, SECRET_B, kb.len);
	keyring_id(&kb, idb);

	harness_link(olds, "L", both, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 0,
	    "keyring old+new: a dialler with the old key is taken (key %d)",
	    ptls_key_index(l.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(news, "L", both, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 1 &&
	    strcmp(ptls_key_name(l.t), idb) == 0,
	    "a dialler with the new key first is taken, and named: key %d %s",
	    ptls_key_index(l.t), ptls_key_name(l.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(news, "L", l_old, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1 && strstr(ptls_error(l.t), idb) != NULL,
	    "the dialler dials with its first key only: %s", ptls_error(l.t));
	harness_end_free(&d);
	harness_end_free(&l);
	ok(ptls_ctx_reload(l_old, harness_psk_conf(SECRET_A "\n" SECRET_B), err,
	    sizeof(err)) == 0, "a reload adds the new key");
	harness_link(news, "L", l_old, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 1,
	    "then the new key is taken without a new context");
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(both);
	ptls_ctx_free(olds);
	ptls_ctx_free(news);
	ptls_ctx_free(l_old);
}

/* The second end is raw: write plain text, or read a ClientHello. */
static void
test_not_tls(void)
{
	struct ptls_ctx	*a = harness_ctx(harness_psk_conf(SECRET_A), "Alpha");
	struct end	 d, l;
	unsigned char	 buf[2048];
	ssize_t		 n;
	double		 end;

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	harness_pair(&d.fd, &l.fd, 0);
	l.t = ptls_new(a, l.fd, 0, NULL);
	harness_drive_for(&d, &l, 0.3);
	ok(l.rc == 0 && ptls_want(l.t) == EV_READ, "a silent dialler: the "
	    "listener waits to read, never blocks");
	n = write(d.fd, "HELLO 2 Alpha Beta 00112233\n", 28);
	harness_drive(&d, &l);
	ok(n == 28 && l.rc == -1 && strstr(ptls_error(l.t), "not TLS: the "
	    "dialler sent \"HELLO 2 Alpha Beta 00112233\"") != NULL,
	    "plain text to a TLS listener: %s", ptls_error(l.t));
	harness_end_free(&d);
	harness_end_free(&l);

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	harness_pair(&d.fd, &l.fd, 0);
	d.t = ptls_new(a, d.fd, 1, "Beta");
	harness_drive_for(&d, &l, 0.3);
	ok(d.rc == 0 && ptls_want(d.t) == EV_READ, "a silent listener: the "
	    "dialler waits (the caller's time-out ends it)");
	end = harness_now() + 5;
	while ((n = read(l.fd, buf, sizeof(buf))) == -1 && harness_now() < end)
		usleep(1000);
	ok(n > 5 && ptls_is_hello(buf, (size_t)n) &&
	    !ptls_is_hello("HELLO 2", 7), "ptls_is_hello tells a ClientHello "
	    "from a HELLO");
	n = write(l.fd, "ERROR unsupported protocol version\n", 35);
	harness_drive(&d, &l);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "not TLS: the listener sent "
	    "\"ERROR unsupported protocol version\"") != NULL,
	    "a plain-text answer to a ClientHello: %s", ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(a);
}

/* A TLS 1.2-only client, made with OpenSSL directly. */
static void
test_tls12(void)
{
	struct ptls_ctx	*a = harness_ctx(harness_psk_conf(SECRET_A), "Alpha");
	SSL_CTX		*c = SSL_CTX_new(TLS_client_method());
	SSL		*s;
	struct end	 d, l;
	double		 end = harness_now() + 5;

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	harness_pair(&d.fd, &l.fd, 0);
	SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
	s = SSL_new(c);
	SSL_set_fd(s, d.fd);
	SSL_set_connect_state(s);
	l.t = ptls_new(a, l.fd, 0, NULL);
	while (l.rc == 0 && harness_now() < end) {
		(void)SSL_do_handshake(s);
		ERR_clear_error();
		harness_step(&l);
		usleep(1000);
	}
	ok(l.rc == -1 && strstr(ptls_error(l.t), "does not speak TLS 1.3") !=
	    NULL, "a TLS 1.2 client is refused: %s", ptls_error(l.t));
	SSL_free(s);
	SSL_CTX_free(c);
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(a);
}

/* One side of the big transfer: what it sends, what it has read. */
struct flow {
	struct end	*e;
	struct outbuf	 out;
	struct linebuf	 in;
	size_t		 queued, sent_lines, got_lines, got_bytes;
	int		 bad, eof;
};

#define BIG		(1024 * 1024)

static void
flow_queue(struct flow *f)
{
	char	 line[128];
	int	 n;

	/* 64 KiB more each time, while what is queued still waits */
	while (f->queued < BIG && outbuf_len(&f->out) < 64 * 1024) {
		n = snprintf(line, sizeof(line), "UPDATE %08zu %s\n",
		    f->sent_lines++, "AT Alpha +0.000000001 client.example "
		    "+34.068930-118.445127 1621464827.959498503");
		outbuf_add(&f->out, line, (size_t)n);
		f->queued += (size_t)n;
	}
}

static void
flow_read(struct flow *f)
{
	const char	*line;
	size_t		 len;
	ssize_t		 n;
	char		 want[32];

	do {
		n = ptls_linebuf_fill(f->e->t, &f->in);
		if (n == 0)
			f->eof = 1;
		if (n == -1 && errno != EAGAIN)
			f->bad++;
		while (linebuf_next(&f->in, &line, &len)) {
			snprintf(want, sizeof(want), "UPDATE %08zu ",
			    f->got_lines++);
			if (len < 16 || memcmp(line, want, 16) != 0)
				f->bad++;
			f->got_bytes += len + 1;
		}
	} while (n > 0 && ptls_pending(f->e->t));
}

static void
test_big(void)
{
	struct ptls_ctx	*a = harness_ctx(harness_psk_conf(SECRET_A), "Alpha");
	struct end	 d, l;
	struct flow	 f[2];
	struct pollfd	 pfd[2];
	double		 end;
	int		 i, rc, want, werr = 0, partial = 0;

	harness_link(a, "Alpha", a, &d, &l, 1);
	ok(d.rc == 1 && l.rc == 1, "small socket buffers: up");
	memset(f, 0, sizeof(f));
	f[0].e = &d;
	f[1].e = &l;
	for (i = 0; i < 2; i++)
		linebuf_init(&f[i].in, 160 * 1024);
	end = harness_now() + 20;
	while (harness_now() < end && (f[0].got_bytes < f[1].queued ||
	    f[1].got_bytes < f[0].queued || f[0].queued < BIG ||
	    f[1].queued < BIG)) {
		for (i = 0; i < 2; i++) {
			flow_queue(&f[i]);
			if ((rc = ptls_outbuf_write(f[i].e->t, &f[i].out)) ==
			    -1)
				werr++;
			partial += rc == 1;
			flow_read(&f[i]);
		}
		for (i = 0; i < 2; i++) {
			/* as a transport: always reading; writing when
			 * ptls_want says (a write, or a read, waits for it) */
			want = ptls_want(f[i].e->t) | EV_READ;
			pfd[i].fd = f[i].e->fd;
			pfd[i].events = harness_events(want);
		}
		poll(pfd, 2, 50);
	}
	ok(werr == 0 && f[0].bad == 0 && f[1].bad == 0, "1 MiB each way at "
	    "once, non-blocking: no error, every line in order");
	ok(f[1].got_bytes == f[0].queued && f[0].got_bytes == f[1].queued &&
	    f[0].queued >= BIG, "all of it arrived: %zu and %zu bytes",
	    f[1].got_bytes, f[0].got_bytes);
	ok(outbuf_len(&f[0].out) == 0 && !(ptls_want(d.t) & EV_WRITE),
	    "nothing left queued, nothing waits to write");
	ok(partial > 0, "the writer met a full socket %d times", partial);

	/* one batch, one record: 5 bytes of header, 1 of type, 16 of tag */
	{
		unsigned char	 peek[256];
		ssize_t		 n;
		double		 e2 = harness_now() + 5;

		outbuf_add(&f[0].out, "SEQ 12345\nPING\n", 15);
		rc = ptls_outbuf_write(d.t, &f[0].out);
		while ((n = recv(l.fd, peek, sizeof(peek), MSG_PEEK)) == -1 &&
		    harness_now() < e2)
			usleep(1000);
		ok(rc == 0 && n == 5 + 15 + 1 + 16, "a batch of two lines is "
		    "one TLS record: %zd bytes on the wire", n);
	}
	for (i = 0; i < 2; i++) {
		outbuf_free(&f[i].out);
		linebuf_free(&f[i].in);
	}
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(a);
}

int
main(void)
{
	harness_init();
	test_psk();
	test_keyring_links();
	test_not_tls();
	test_tls12();
	test_big();
	return tap_done();
}
