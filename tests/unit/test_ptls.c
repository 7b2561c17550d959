/*
 * test_ptls.c -- TLS on the peer links (node/ptls.c), both ends in one
 * process over non-blocking TCP sockets on 127.0.0.1, and the keyring and
 * TLS configuration beneath it (common/keyring.c, common/conf_tls.c).
 *
 * Certificates are made here with OpenSSL's API into a temporary
 * directory: two CAs, and leaves for the server names of the test (some
 * expired, some from the other CA).  Bounded: alarm(60), each loop by time.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "conf_tls.h"
#include "keyring.h"
#include "linebuf.h"
#include "log.h"
#include "ptls.h"
#include "tap.h"

#define SECRET_A	"0123456789abcdef"
#define SECRET_B	"another secret, 16+ bytes"
#define SECRET_C	"a third secret of the herd"

static char	 dir[] = "/tmp/test_ptls.XXXXXX";
static int	 lsock = -1;		/* the listening socket, 127.0.0.1 */

struct end {
	struct ptls	*t;
	int		 fd;
	int		 rc;		/* of ptls_handshake */
};

/* ---- sockets and the handshake loop ---- */

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A connected pair of non-blocking TCP sockets: *d dialled, *l accepted. */
static void
tcp_pair(int *d, int *l, int small)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 one = 1, sz = 16384;

	if (lsock == -1) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((lsock = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(lsock, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    listen(lsock, 16) == -1) {
			perror("listen");
			exit(1);
		}
	}
	getsockname(lsock, (struct sockaddr *)&sin, &slen);
	if ((*d = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("socket");
		exit(1);
	}
	if (small) {		/* small buffers: EAGAIN both ways, often */
		setsockopt(*d, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(*d, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (connect(*d, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (*l = accept4(lsock, NULL, NULL, SOCK_NONBLOCK)) == -1) {
		perror("connect");
		exit(1);
	}
	if (small) {
		setsockopt(*l, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(*l, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	fcntl(*d, F_SETFL, fcntl(*d, F_GETFL) | O_NONBLOCK);
	setsockopt(*d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static short
poll_events(int want)
{
	return (short)(((want & EV_READ) ? POLLIN : 0) |
	    ((want & EV_WRITE) ? POLLOUT : 0));
}

static void
step(struct end *e)
{
	if (e->t == NULL || e->rc != 0)
		return;
	if ((e->rc = ptls_handshake(e->t)) == -1)
		shutdown(e->fd, SHUT_WR);	/* as a transport's close */
}

/* Both handshakes until neither is in progress, 5 s at most. */
static void
drive(struct end *d, struct end *l)
{
	struct pollfd	 pfd[2];
	double		 end = now_s() + 5;

	while (now_s() < end) {
		step(d);
		step(l);
		if ((d->t == NULL || d->rc != 0) && (l->t == NULL || l->rc != 0))
			return;
		pfd[0].fd = d->fd;
		pfd[0].events = d->t && d->rc == 0 ?
		    poll_events(ptls_want(d->t)) : 0;
		pfd[1].fd = l->fd;
		pfd[1].events = l->t && l->rc == 0 ?
		    poll_events(ptls_want(l->t)) : 0;
		poll(pfd, 2, 20);
	}
}

static void
end_free(struct end *e)
{
	ptls_free(e->t);
	if (e->fd != -1)
		close(e->fd);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

/* A link from a dialler of ctx dc (to peer) to a listener of ctx lc. */
static void
link_up(struct ptls_ctx *dc, const char *peer, struct ptls_ctx *lc,
    struct end *d, struct end *l, int small)
{
	memset(d, 0, sizeof(*d));
	memset(l, 0, sizeof(*l));
	tcp_pair(&d->fd, &l->fd, small);
	d->t = ptls_new(dc, d->fd, 1, peer);
	l->t = ptls_new(lc, l->fd, 0, NULL);
	if (d->t == NULL || l->t == NULL) {
		fprintf(stderr, "ptls_new failed\n");
		exit(1);
	}
	drive(d, l);
}

/* ---- configurations ---- */

static struct herd_conf *
psk_conf(const char *keys)
{
	static struct herd_conf	 confs[16];
	static int		 next;
	struct herd_conf	*c = &confs[next++ % 16];
	char			 why[128];

	conf_defaults(c);
	if (keyring_parse(&c->keys, keys, strlen(keys), why, sizeof(why)) ==
	    -1) {
		fprintf(stderr, "keyring: %s\n", why);
		exit(1);
	}
	return c;
}

static struct herd_conf *
cert_conf(const char *cert, const char *key, const char *ca)
{
	struct herd_conf	*c = psk_conf(SECRET_A);

	snprintf(c->path, sizeof(c->path), "herd.ini");
	snprintf(c->tls.cert, sizeof(c->tls.cert), "%s/%s", dir, cert);
	snprintf(c->tls.key, sizeof(c->tls.key), "%s/%s", dir, key);
	snprintf(c->tls.ca, sizeof(c->tls.ca), "%s/%s", dir, ca);
	c->tls.cert_line = 7;
	c->tls.key_line = 8;
	c->tls.ca_line = 9;
	return c;
}

static struct ptls_ctx *
ctx_or_die(const struct herd_conf *c, const char *self)
{
	struct ptls_ctx	*ctx;
	char		 err[512];

	if ((ctx = ptls_ctx_new(c, self, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ptls_ctx_new: %s\n", err);
		exit(1);
	}
	return ctx;
}

/* ---- certificates ---- */

struct pki {
	EVP_PKEY	*key;
	X509		*cert;
};

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v;
	X509_EXTENSION	*ext;

	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1) {
		fprintf(stderr, "extension %s\n", value);
		exit(1);
	}
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for cn (a CA when issuer is NULL: self-signed), valid
 * from now + from to now + to (seconds), with subjectAltName DNS:san.
 */
static struct pki
mkcert(const char *cn, const char *san, const struct pki *issuer, long from,
    long to)
{
	static long	 serial = 1;
	struct pki	 p;
	X509_NAME	*name;
	X509		*is;
	char		 alt[128];

	p.key = EVP_EC_gen("P-256");
	p.cert = X509_new();
	is = issuer != NULL ? issuer->cert : p.cert;
	X509_set_version(p.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(p.cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(p.cert), from);
	X509_gmtime_adj(X509_getm_notAfter(p.cert), to);
	X509_set_pubkey(p.cert, p.key);
	name = X509_get_subject_name(p.cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(p.cert, X509_get_subject_name(is));
	if (issuer == NULL) {
		add_ext(p.cert, is, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(p.cert, is, NID_key_usage, "critical,keyCertSign");
	} else {
		add_ext(p.cert, is, NID_basic_constraints, "CA:FALSE");
		add_ext(p.cert, is, NID_ext_key_usage, "serverAuth,clientAuth");
		snprintf(alt, sizeof(alt), "DNS:%s", san);
		add_ext(p.cert, is, NID_subject_alt_name, alt);
	}
	if (X509_sign(p.cert, issuer != NULL ? issuer->key : p.key,
	    EVP_sha256()) == 0) {
		fprintf(stderr, "X509_sign\n");
		exit(1);
	}
	return p;
}

/* Write PEM files into dir (atomically: a new file renamed over). */
static void
write_pem(const char *file, X509 *a, X509 *b, EVP_PKEY *key)
{
	char	 path[1100], tmp[1100];
	FILE	*fp;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		perror(tmp);
		exit(1);
	}
	if (a != NULL)
		PEM_write_X509(fp, a);
	if (b != NULL)
		PEM_write_X509(fp, b);
	if (key != NULL)
		PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	rename(tmp, path);
}

/* A message without its newline, for TAP. */
static const char *
chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* Standard error (the log) into a file, and back. */
static int	 saved_stderr = -1;

static void
capture_start(void)
{
	char	 path[1100];
	int	 fd;

	log_flush();
	snprintf(path, sizeof(path), "%s/log", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(path);
		exit(1);
	}
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static void
capture_end(char *buf, size_t size)
{
	char	 path[1100];
	ssize_t	 n;
	int	 fd;

	log_flush();
	dup2(saved_stderr, 2);
	close(saved_stderr);
	snprintf(path, sizeof(path), "%s/log", dir);
	n = (fd = open(path, O_RDONLY)) == -1 ? -1 : read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (fd != -1)
		close(fd);
}

static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
rm_dir(void)
{
	char	 cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* ---- tests ---- */

static void
test_keyring(void)
{
	struct herd_keyring	 r, s;
	struct herd_key		 k;
	unsigned char		 psk[KEYRING_PSK_LEN];
	char			 id[KEYRING_ID_SIZE], hex[2 * KEYRING_PSK_LEN + 1];
	char			 why[128];

	memset(&k, 0, sizeof(k));
	memcpy(k.b, SECRET_A, 16);
	k.len = 16;
	/* pinned: an independent HKDF-SHA256 gave these (the protocol) */
	ok(keyring_id(&k, id) == 0 && strcmp(id, "herd1:0b132fe08b7d7bb2") ==
	    0, "the key's name is HKDF(\"herd1 key name\"): %s", id);
	keyring_psk(&k, psk);
	for (size_t i = 0; i < sizeof(psk); i++)
		snprintf(hex + 2 * i, 3, "%02x", psk[i]);
	ok(strcmp(hex, "02027c64a46619667da8a39a2cad1c067bd85a470bb8e991bb30d9"
	    "ac4e201c39") == 0, "the PSK is HKDF(\"herd1 tls13 external psk\")");

	ok(keyring_parse(&r, SECRET_A "\n\n" SECRET_B "\n", 43, why,
	    sizeof(why)) == 0 && r.n == 2 && r.key[0].len == 16 &&
	    memcmp(r.key[1].b, SECRET_B, strlen(SECRET_B)) == 0,
	    "two lines, an empty one between: two keys, in order");
	ok(keyring_parse(&s, SECRET_A, 16, why, sizeof(why)) == 0 &&
	    s.n == 1 && !keyring_equal(&r, &s), "no newline: one key; "
	    "another ring");
	ok(keyring_parse(&s, SECRET_A "\nshort\n", 23, why, sizeof(why)) ==
	    -1 && strcmp(why, "line 2: shorter than 16 bytes") == 0 &&
	    s.n == 0, "a short line: %s", why);
	ok(keyring_parse(&s, SECRET_A "\n" SECRET_A "\n", 34, why,
	    sizeof(why)) == -1 && strstr(why, "line 2: the key of key 1 "
	    "again") != NULL, "a key twice: %s", why);
	ok(keyring_parse(&s, "\n\n", 2, why, sizeof(why)) == -1 &&
	    strncmp(why, "no key", 6) == 0, "no key: %s", why);
	{
		char	 many[(HERD_KEYS_MAX + 1) * 20];
		size_t	 o = 0;
		int	 i;

		for (i = 0; i <= HERD_KEYS_MAX; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o,
			    "key number %02d ....\n", i);
		ok(keyring_parse(&s, many, o, why, sizeof(why)) == -1 &&
		    strstr(why, "more than 8 keys") != NULL, "nine keys: %s",
		    why);
	}
	keyring_clear(&r);
	ok(r.n == 0 && r.key[0].b[0] == '\0', "keyring_clear wipes");
}

static void
test_psk(void)
{
	struct ptls_ctx	*a = ctx_or_die(psk_conf(SECRET_A), "Alpha");
	struct ptls_ctx	*a2 = ctx_or_die(psk_conf(SECRET_A), "Beta");
	struct ptls_ctx	*b = ctx_or_die(psk_conf(SECRET_B), "Beta");
	struct end	 d, l, d2, l2;
	unsigned char	 bd[PTLS_BINDING_LEN], bl[PTLS_BINDING_LEN];
	unsigned char	 b2[PTLS_BINDING_LEN];
	char		 err[256];

	ok(ptls_ctx_mode(a) == PTLS_PSK, "a keyring and no certificate: PSK");
	{
		struct herd_conf	*c = psk_conf(SECRET_A);

		keyring_clear(&c->keys);
		ok(ptls_ctx_new(c, "Alpha", err, sizeof(err)) == NULL &&
		    strstr(err, "no secret and no peer_tls_cert") != NULL,
		    "no key, no certificate: %s", chomp(err));
	}

	link_up(a, "Beta", a2, &d, &l, 0);
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
	link_up(a, "Beta", a2, &d2, &l2, 0);
	ok(d2.rc == 1 && ptls_binding(d2.t, b2) == 0 &&
	    memcmp(bd, b2, sizeof(bd)) != 0, "another connection, another "
	    "binding");
	end_free(&d2);
	end_free(&l2);
	{
		char	 buf[64];
		ssize_t	 n;
		double	 end = now_s() + 5;

		ok(ptls_write(d.t, "HELLO\n", 6) == 6, "write after the "
		    "handshake");
		while ((n = ptls_read(l.t, buf, sizeof(buf))) == -1 &&
		    errno == EAGAIN && now_s() < end)
			usleep(1000);
		ok(n == 6 && memcmp(buf, "HELLO\n", 6) == 0, "read it");
		ptls_close_notify(d.t);
		end = now_s() + 5;
		while ((n = ptls_read(l.t, buf, sizeof(buf))) == -1 &&
		    errno == EAGAIN && now_s() < end)
			usleep(1000);
		ok(n == 0 && strstr(ptls_error(l.t), "close_notify") != NULL,
		    "close_notify: read 0 (%s)", ptls_error(l.t));
		ok(ptls_read(l.t, buf, sizeof(buf)) == 0, "and 0 again");
	}
	end_free(&d);
	end_free(&l);

	link_up(a, "Beta", b, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1, "another secret: refused at both ends");
	ok(strstr(ptls_error(l.t), "the dialler's key herd1:0b132fe08b7d7bb2 "
	    "is not in our keyring (herd1:") != NULL, "the listener says "
	    "which key: %s", ptls_error(l.t));
	ok(strstr(ptls_error(d.t), "refused by the listener") != NULL &&
	    strstr(ptls_error(d.t), "herd1:0b132fe08b7d7bb2") != NULL,
	    "the dialler says so: %s", ptls_error(d.t));
	ok(ptls_key_name(d.t)[0] == '\0' && ptls_binding(d.t, bd) == -1,
	    "no key name, no binding on a refused link");
	end_free(&d);
	end_free(&l);
	ptls_ctx_free(a);
	ptls_ctx_free(a2);
	ptls_ctx_free(b);
}

static void
test_keyring_links(void)
{
	struct ptls_ctx	*both = ctx_or_die(psk_conf(SECRET_A "\n" SECRET_B),
	    "L");
	struct ptls_ctx	*olds = ctx_or_die(psk_conf(SECRET_A), "D");
	struct ptls_ctx	*news = ctx_or_die(psk_conf(SECRET_B "\n" SECRET_A),
	    "D");
	struct ptls_ctx	*l_old = ctx_or_die(psk_conf(SECRET_A), "L");
	struct end	 d, l;
	char		 idb[KEYRING_ID_SIZE], err[256];
	struct herd_key	 kb;

	memset(&kb, 0, sizeof(kb));
	kb.len = strlen(SECRET_B);
	memcpy(kb.b, SECRET_B, kb.len);
	keyring_id(&kb, idb);

	link_up(olds, "L", both, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 0,
	    "keyring old+new: a dialler with the old key is taken (key %d)",
	    ptls_key_index(l.t));
	end_free(&d);
	end_free(&l);
	link_up(news, "L", both, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 1 &&
	    strcmp(ptls_key_name(l.t), idb) == 0,
	    "a dialler with the new key first is taken, and named: key %d %s",
	    ptls_key_index(l.t), ptls_key_name(l.t));
	end_free(&d);
	end_free(&l);
	link_up(news, "L", l_old, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1 && strstr(ptls_error(l.t), idb) != NULL,
	    "the dialler dials with its first key only: %s", ptls_error(l.t));
	end_free(&d);
	end_free(&l);
	ok(ptls_ctx_reload(l_old, psk_conf(SECRET_A "\n" SECRET_B), err,
	    sizeof(err)) == 0, "a reload adds the new key");
	link_up(news, "L", l_old, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1 && ptls_key_index(l.t) == 1,
	    "then the new key is taken without a new context");
	end_free(&d);
	end_free(&l);
	ptls_ctx_free(both);
	ptls_ctx_free(olds);
	ptls_ctx_free(news);
	ptls_ctx_free(l_old);
}

/* The second end is raw: write plain text, or read a ClientHello. */
static void
test_not_tls(void)
{
	struct ptls_ctx	*a = ctx_or_die(psk_conf(SECRET_A), "Alpha");
	struct end	 d, l;
	unsigned char	 buf[2048];
	ssize_t		 n;
	double		 end;

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	tcp_pair(&d.fd, &l.fd, 0);
	l.t = ptls_new(a, l.fd, 0, NULL);
	drive(&d, &l);
	ok(l.rc == 0 && ptls_want(l.t) == EV_READ, "a silent dialler: the "
	    "listener waits to read, never blocks");
	n = write(d.fd, "HELLO 2 Alpha Beta 00112233\n", 28);
	drive(&d, &l);
	ok(n == 28 && l.rc == -1 && strstr(ptls_error(l.t), "not TLS: the "
	    "dialler sent \"HELLO 2 Alpha Beta 00112233\"") != NULL,
	    "plain text to a TLS listener: %s", ptls_error(l.t));
	end_free(&d);
	end_free(&l);

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	tcp_pair(&d.fd, &l.fd, 0);
	d.t = ptls_new(a, d.fd, 1, "Beta");
	drive(&d, &l);
	ok(d.rc == 0 && ptls_want(d.t) == EV_READ, "a silent listener: the "
	    "dialler waits (the caller's time-out ends it)");
	end = now_s() + 5;
	while ((n = read(l.fd, buf, sizeof(buf))) == -1 && now_s() < end)
		usleep(1000);
	ok(n > 5 && ptls_is_hello(buf, (size_t)n) &&
	    !ptls_is_hello("HELLO 2", 7), "ptls_is_hello tells a ClientHello "
	    "from a HELLO");
	n = write(l.fd, "ERROR unsupported protocol version\n", 35);
	drive(&d, &l);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "not TLS: the listener sent "
	    "\"ERROR unsupported protocol version\"") != NULL,
	    "a plain-text answer to a ClientHello: %s", ptls_error(d.t));
	end_free(&d);
	end_free(&l);
	ptls_ctx_free(a);
}

/* A TLS 1.2-only client, made with OpenSSL directly. */
static void
test_tls12(void)
{
	struct ptls_ctx	*a = ctx_or_die(psk_conf(SECRET_A), "Alpha");
	SSL_CTX		*c = SSL_CTX_new(TLS_client_method());
	SSL		*s;
	struct end	 d, l;
	double		 end = now_s() + 5;

	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	tcp_pair(&d.fd, &l.fd, 0);
	SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
	s = SSL_new(c);
	SSL_set_fd(s, d.fd);
	SSL_set_connect_state(s);
	l.t = ptls_new(a, l.fd, 0, NULL);
	while (l.rc == 0 && now_s() < end) {
		(void)SSL_do_handshake(s);
		ERR_clear_error();
		step(&l);
		usleep(1000);
	}
	ok(l.rc == -1 && strstr(ptls_error(l.t), "does not speak TLS 1.3") !=
	    NULL, "a TLS 1.2 client is refused: %s", ptls_error(l.t));
	SSL_free(s);
	SSL_CTX_free(c);
	end_free(&d);
	end_free(&l);
	ptls_ctx_free(a);
}

static void
test_certs(void)
{
	struct pki	 ca1, ca2, alpha, alpha2, beta, beta2, beta_old, gamma_,
			 beta3;
	struct ptls_ctx	*ca, *cb, *cb2, *cbo, *psk, *cb_multi, *cb_multi2, *cr;
	struct end	 d, l, d0, l0;
	char		 err[512], fp1[PTLS_NAME_SIZE], log[4096];
	struct herd_conf *conf;

	ca1 = mkcert("herd CA 1", NULL, NULL, -3600, 86400);
	ca2 = mkcert("herd CA 2", NULL, NULL, -3600, 86400);
	alpha = mkcert("Alpha", "Alpha", &ca1, -3600, 86400);
	alpha2 = mkcert("Alpha", "Alpha", &ca2, -3600, 86400);
	beta = mkcert("Beta", "Beta", &ca1, -3600, 86400);
	beta2 = mkcert("Beta", "Beta", &ca2, -3600, 86400);
	beta_old = mkcert("Beta", "Beta", &ca1, -3 * 86400, -86400);
	beta3 = mkcert("Beta", "Beta", &ca1, -3600, 86400);
	gamma_ = mkcert("Gamma.herd_1", "Gamma.herd_1", &ca1, -3600, 86400);
	write_pem("ca1.pem", ca1.cert, NULL, NULL);
	write_pem("ca12.pem", ca2.cert, ca1.cert, NULL);
	write_pem("alpha.crt", alpha.cert, NULL, NULL);
	write_pem("alpha.key", NULL, NULL, alpha.key);
	write_pem("alpha2.crt", alpha2.cert, NULL, NULL);
	write_pem("alpha2.key", NULL, NULL, alpha2.key);
	write_pem("beta.crt", beta.cert, NULL, NULL);
	write_pem("beta.key", NULL, NULL, beta.key);
	write_pem("beta2.crt", beta2.cert, NULL, NULL);
	write_pem("beta2.key", NULL, NULL, beta2.key);
	write_pem("betaold.crt", beta_old.cert, NULL, NULL);
	write_pem("betaold.key", NULL, NULL, beta_old.key);
	write_pem("gamma.crt", gamma_.cert, NULL, NULL);
	write_pem("gamma.key", NULL, NULL, gamma_.key);

	/* the configuration's check (herdd -n) */
	conf = cert_conf("beta.crt", "beta.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == 0, "conf_check_tls: "
	    "a good certificate: %s", chomp(err));
	conf = cert_conf("beta.crt", "alpha.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:8: peer_tls_key ") != NULL &&
	    strstr(err, "alpha.key: not the key of the certificate in") !=
	    NULL, "a key not matching its certificate: %s", chomp(err));
	conf = cert_conf("nosuch.crt", "beta.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:7: peer_tls_cert ") != NULL &&
	    strstr(err, "nosuch.crt: No such file or directory") != NULL,
	    "a missing certificate: %s", chomp(err));
	conf = cert_conf("beta.crt", "beta.key", "beta.key");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:9: peer_tls_ca") != NULL &&
	    strstr(err, "no PEM certificate") != NULL, "a CA file with no "
	    "certificate: %s", chomp(err));
	conf = cert_conf("beta2.crt", "beta2.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "does not verify against peer_tls_ca") != NULL,
	    "a certificate of another CA: %s", chomp(err));
	conf = cert_conf("betaold.crt", "betaold.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "certificate has expired") != NULL,
	    "an expired certificate: %s", chomp(err));
	chmod(conf->tls.key, 0604);
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "readable by others") != NULL, "a key readable by "
	    "others: %s", chomp(err));
	chmod(conf->tls.key, 0600);

	ca = ctx_or_die(cert_conf("alpha.crt", "alpha.key", "ca1.pem"),
	    "Alpha");
	cb = ctx_or_die(cert_conf("beta.crt", "beta.key", "ca1.pem"), "Beta");
	ok(ptls_ctx_mode(ca) == PTLS_CERT, "peer_tls_cert: certificate mode");
	ok(ptls_ctx_new(cert_conf("beta.crt", "beta.key", "ca1.pem"),
	    "Alpha", err, sizeof(err)) == NULL && strstr(err, "does not "
	    "name Alpha") != NULL, "our own certificate must name us: %s",
	    chomp(err));

	link_up(ca, "Beta", cb, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "mutual TLS, the right name: up (%s | %s)",
	    ptls_error(d.t), ptls_error(l.t));
	ok(strncmp(ptls_key_name(d.t), "cert:Beta:", 10) == 0 &&
	    strncmp(ptls_key_name(l.t), "cert:Alpha:", 11) == 0 &&
	    ptls_key_index(l.t) == -1, "each names the other's certificate: "
	    "%s, %s", ptls_key_name(d.t), ptls_key_name(l.t));
	snprintf(fp1, sizeof(fp1), "%s", ptls_key_name(d.t));
	ok(ptls_check_name(l.t, "Alpha") == 0, "the listener checks the "
	    "HELLO's name: Alpha");
	ok(ptls_check_name(l.t, "Gamma") == -1 && strstr(ptls_error(l.t),
	    "does not name Gamma") != NULL, "and refuses another: %s",
	    ptls_error(l.t));
	{
		unsigned char	 bd[PTLS_BINDING_LEN], bl[PTLS_BINDING_LEN];

		ok(ptls_binding(d.t, bd) == 0 && ptls_binding(l.t, bl) == 0 &&
		    memcmp(bd, bl, sizeof(bd)) == 0, "certificates: the "
		    "binding is equal at both ends");
	}
	d0 = d;			/* kept up across the reloads below */
	l0 = l;

	link_up(ca, "Gamma", cb, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "certificate does not name "
	    "Gamma") != NULL, "the wrong name: %s", ptls_error(d.t));
	ok(l.rc == -1 && strstr(ptls_error(l.t), "refused by the dialler") !=
	    NULL, "and the listener hears it: %s", ptls_error(l.t));
	end_free(&d);
	end_free(&l);

	cb2 = ctx_or_die(cert_conf("beta2.crt", "beta2.key", "ca12.pem"),
	    "Beta");
	link_up(ca, "Beta", cb2, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "the listener's "
	    "certificate: unable to get local issuer certificate") != NULL,
	    "a listener of another CA: %s", ptls_error(d.t));
	end_free(&d);
	end_free(&l);
	cb_multi = ctx_or_die(cert_conf("alpha.crt", "alpha.key", "ca12.pem"),
	    "Alpha");
	cb_multi2 = ctx_or_die(cert_conf("alpha2.crt", "alpha2.key",
	    "ca12.pem"), "Alpha");
	link_up(cb_multi, "Beta", cb2, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "a CA file of two CAs: certificates of "
	    "either (%s | %s)", ptls_error(d.t), ptls_error(l.t));
	end_free(&d);
	end_free(&l);
	link_up(cb_multi2, "Beta", cb, &d, &l, 0);
	ok(l.rc == -1 && strstr(ptls_error(l.t), "the dialler's certificate: "
	    "unable to get local issuer certificate") != NULL, "a dialler of "
	    "another CA: refused by the listener: %s", ptls_error(l.t));
	{
		char	 buf[16];
		ssize_t	 n;
		double	 end = now_s() + 5;

		/* TLS 1.3: the client's handshake is over before the server
		 * has checked its certificate; its first read hears it */
		while ((n = ptls_read(d.t, buf, sizeof(buf))) == -1 &&
		    errno == EAGAIN && now_s() < end)
			usleep(1000);
		ok(n == -1 && errno == EPROTO && strstr(ptls_error(d.t),
		    "TLS alert from the listener: unknown CA") != NULL,
		    "the dialler hears it at its first read: %s",
		    ptls_error(d.t));
	}
	end_free(&d);
	end_free(&l);

	cbo = ctx_or_die(cert_conf("betaold.crt", "betaold.key", "ca1.pem"),
	    "Beta");
	link_up(ca, "Beta", cbo, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "certificate has expired") !=
	    NULL, "an expired certificate: %s", ptls_error(d.t));
	end_free(&d);
	end_free(&l);

	{
		struct ptls_ctx	*cg;

		cg = ctx_or_die(cert_conf("gamma.crt", "gamma.key", "ca1.pem"),
		    "Gamma.herd_1");
		link_up(ca, "Gamma.herd_1", cg, &d, &l, 0);
		ok(d.rc == 1 && l.rc == 1, "a name with . and _ (%s)",
		    ptls_error(d.t));
		end_free(&d);
		end_free(&l);
		ptls_ctx_free(cg);
	}

	psk = ctx_or_die(psk_conf(SECRET_A), "Alpha");
	link_up(psk, "Beta", cb, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "offered a certificate, not "
	    "our key") != NULL, "PSK dialler, certificate listener: %s",
	    ptls_error(d.t));
	end_free(&d);
	end_free(&l);
	link_up(ca, "Beta", psk, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1, "certificate dialler, PSK listener: "
	    "%s | %s", ptls_error(d.t), ptls_error(l.t));
	end_free(&d);
	end_free(&l);

	/* renewal: the files change under a running context */
	conf = cert_conf("b.crt", "b.key", "ca1.pem");
	write_pem("b.crt", beta.cert, NULL, NULL);
	write_pem("b.key", NULL, NULL, beta.key);
	cr = ctx_or_die(conf, "Beta");
	link_up(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strcmp(ptls_key_name(d.t), fp1) == 0, "before: %s",
	    ptls_key_name(d.t));
	end_free(&d);
	end_free(&l);
	write_pem("b.crt", beta3.cert, NULL, NULL);
	write_pem("b.key", NULL, NULL, beta3.key);
	link_up(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strncmp(ptls_key_name(d.t), "cert:Beta:", 10) == 0 &&
	    strcmp(ptls_key_name(d.t), fp1) != 0, "a renewed certificate is "
	    "used at the next connection: %s", ptls_key_name(d.t));
	snprintf(fp1, sizeof(fp1), "%s", ptls_key_name(d.t));
	end_free(&d);
	end_free(&l);
	capture_start();
	write_pem("b.crt", beta.cert, NULL, NULL);	/* its key not yet */
	link_up(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strcmp(ptls_key_name(d.t), fp1) == 0, "a certificate "
	    "without its key yet: the previous one serves on");
	end_free(&d);
	end_free(&l);
	link_up(ca, "Beta", cr, &d, &l, 0);
	end_free(&d);
	end_free(&l);
	capture_end(log, sizeof(log));
	ok(count(log, "the certificate files changed and do not load: "
	    "peer_tls_key") == 1 && count(log, "serve on") == 1,
	    "logged once: %s", chomp(log));
	capture_start();
	write_pem("b.key", NULL, NULL, beta.key);
	link_up(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strcmp(ptls_key_name(d.t), fp1) != 0, "then with "
	    "its key: used (%s)", ptls_key_name(d.t));
	end_free(&d);
	end_free(&l);
	capture_end(log, sizeof(log));
	ok(count(log, "the certificate files changed: loaded again") == 1,
	    "which is logged: %s", chomp(log));
	{
		char	 buf[16];
		ssize_t	 n;
		double	 end = now_s() + 5;

		n = ptls_write(d0.t, "PING\n", 5);
		while ((n = ptls_read(l0.t, buf, sizeof(buf))) == -1 &&
		    errno == EAGAIN && now_s() < end)
			usleep(1000);
		ok(n == 5, "a link up before the renewals still carries data");
	}
	end_free(&d0);
	end_free(&l0);

	ptls_ctx_free(ca);
	ptls_ctx_free(cb);
	ptls_ctx_free(cb2);
	ptls_ctx_free(cbo);
	ptls_ctx_free(psk);
	ptls_ctx_free(cb_multi);
	ptls_ctx_free(cb_multi2);
	ptls_ctx_free(cr);
	EVP_PKEY_free(ca1.key); X509_free(ca1.cert);
	EVP_PKEY_free(ca2.key); X509_free(ca2.cert);
	EVP_PKEY_free(alpha.key); X509_free(alpha.cert);
	EVP_PKEY_free(alpha2.key); X509_free(alpha2.cert);
	EVP_PKEY_free(beta.key); X509_free(beta.cert);
	EVP_PKEY_free(beta2.key); X509_free(beta2.cert);
	EVP_PKEY_free(beta3.key); X509_free(beta3.cert);
	EVP_PKEY_free(beta_old.key); X509_free(beta_old.cert);
	EVP_PKEY_free(gamma_.key); X509_free(gamma_.cert);
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
	struct ptls_ctx	*a = ctx_or_die(psk_conf(SECRET_A), "Alpha");
	struct end	 d, l;
	struct flow	 f[2];
	struct pollfd	 pfd[2];
	double		 end;
	int		 i, rc, want, werr = 0;

	link_up(a, "Alpha", a, &d, &l, 1);
	ok(d.rc == 1 && l.rc == 1, "small socket buffers: up");
	memset(f, 0, sizeof(f));
	f[0].e = &d;
	f[1].e = &l;
	for (i = 0; i < 2; i++)
		linebuf_init(&f[i].in, 160 * 1024);
	end = now_s() + 20;
	while (now_s() < end && (f[0].got_bytes < f[1].queued ||
	    f[1].got_bytes < f[0].queued || f[0].queued < BIG ||
	    f[1].queued < BIG)) {
		for (i = 0; i < 2; i++) {
			flow_queue(&f[i]);
			if ((rc = ptls_outbuf_write(f[i].e->t, &f[i].out)) ==
			    -1)
				werr++;
			flow_read(&f[i]);
		}
		for (i = 0; i < 2; i++) {
			want = ptls_want(f[i].e->t) | EV_READ;
			if (outbuf_len(&f[i].out) > 0)
				want |= ptls_want(f[i].e->t) & EV_READ ?
				    0 : EV_WRITE;
			pfd[i].fd = f[i].e->fd;
			pfd[i].events = poll_events(want);
		}
		poll(pfd, 2, 50);
	}
	ok(werr == 0 && f[0].bad == 0 && f[1].bad == 0, "1 MiB each way at "
	    "once, non-blocking: no error, every line in order");
	ok(f[1].got_bytes == f[0].queued && f[0].got_bytes == f[1].queued &&
	    f[0].queued >= BIG, "all of it arrived: %zu and %zu bytes",
	    f[1].got_bytes, f[0].got_bytes);
	ok(outbuf_len(&f[0].out) == 0 && ptls_want(d.t) == EV_READ,
	    "nothing left queued; waiting to read only");

	/* one batch, one record: 5 bytes of header, 1 of type, 16 of tag */
	{
		unsigned char	 peek[256];
		ssize_t		 n;
		double		 e2 = now_s() + 5;

		outbuf_add(&f[0].out, "SEQ 12345\nPING\n", 15);
		rc = ptls_outbuf_write(d.t, &f[0].out);
		while ((n = recv(l.fd, peek, sizeof(peek), MSG_PEEK)) == -1 &&
		    now_s() < e2)
			usleep(1000);
		ok(rc == 0 && n == 5 + 15 + 1 + 16, "a batch of two lines is "
		    "one TLS record: %zd bytes on the wire", n);
	}
	for (i = 0; i < 2; i++) {
		outbuf_free(&f[i].out);
		linebuf_free(&f[i].in);
	}
	end_free(&d);
	end_free(&l);
	ptls_ctx_free(a);
}

static void
test_conf_keys(void)
{
	struct herd_conf	 c;
	char			 err[1024];
	const char		*t1 = "[herd]\npeer_tls = maybe\n"
				    "[server A]\nport = 1\n";
	const char		*t2 = "[herd]\npeer_tls = off\n"
				    "peer_tls_cert = a.crt\n[server A]\n"
				    "port = 1\n";
	const char		*t3 = "[herd]\npeer_tls_cert = a.crt\n"
				    "peer_tls_key = a.key\n[server A]\nport = 1\n";
	const char		*t4 = "[herd]\npeer_tls_cert = a.crt\n"
				    "peer_tls_key = a.key\npeer_tls_ca = ca.pem\n"
				    "[server A]\nport = 1\n";
	const char		*t5 = "[server A]\nport = 1\n";

	ok(conf_parse(t1, strlen(t1), "t", &c, err, sizeof(err)) == -1 &&
	    strcmp(err, "t:2: peer_tls: expected on or off, not \"maybe\"\n") ==
	    0, "peer_tls = maybe: %s", chomp(err));
	ok(conf_parse(t2, strlen(t2), "t", &c, err, sizeof(err)) == -1 &&
	    strcmp(err, "t:3: peer_tls_cert without peer_tls_key\n") == 0,
	    "a certificate without its key: %s", chomp(err));
	ok(conf_parse(t3, strlen(t3), "t", &c, err, sizeof(err)) == -1 &&
	    strstr(err, "t:2: peer_tls_cert without peer_tls_ca") != NULL,
	    "without a CA file: %s", chomp(err));
	ok(conf_parse(t4, strlen(t4), "t", &c, err, sizeof(err)) == 0 &&
	    c.tls.on && strcmp(c.tls.ca, "ca.pem") == 0 && c.tls.key_line == 3,
	    "the three keys: %s", chomp(err));
	conf_free(&c);
	ok(conf_parse(t5, strlen(t5), "t", &c, err, sizeof(err)) ==
	    0 && c.tls.on == 1 && c.tls.line == 0, "peer_tls is on by default");
	conf_free(&c);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_keyring();
	test_conf_keys();
	test_psk();
	test_keyring_links();
	test_not_tls();
	test_tls12();
	test_certs();
	test_big();
	rm_dir();
	return tap_done();
}
