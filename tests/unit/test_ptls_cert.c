/*
 * test_ptls_cert.c -- TLS on the peer links with certificates
 * (node/ptls.c, node/ptls_ctx.c, and herdd -n's check, conf_check_tls):
 * mutual TLS between two ends in one process over 127.0.0.1.  The
 * certificates are made here with OpenSSL's API: two CAs, and leaves for
 * the server names of the test, some expired, some of the other CA.
 * The right name, a wrong one, a wrong CA, a CA file of two, an expired
 * certificate; keys against certificates; files renewed under a running
 * context.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "conf_tls.h"
#include "ptls.h"
#include "ptls_harness.h"
#include "tap.h"

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

/* Write PEM files into harness_dir (atomically: a new file renamed over). */
static void
write_pem(const char *file, X509 *a, X509 *b, EVP_PKEY *key)
{
	char	 path[1100], tmp[1100];
	FILE	*fp;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", harness_dir, file);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", harness_dir, file);
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

/* A leaf of issuer for name, into name.crt and name.key (file names). */
static struct pki
leaf(const char *file, const char *name, const struct pki *issuer,
    long from, long to)
{
	struct pki	 p = mkcert(name, name, issuer, from, to);
	char		 f[128];

	snprintf(f, sizeof(f), "%s.crt", file);
	write_pem(f, p.cert, NULL, NULL);
	snprintf(f, sizeof(f), "%s.key", file);
	write_pem(f, NULL, NULL, p.key);
	return p;
}

static void
pki_free(struct pki *p)
{
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
}

static struct pki	 ca1, ca2, alpha, alpha2, beta, beta2, beta_old, gamma_;

static void
make_pki(void)
{
	ca1 = mkcert("herd CA 1", NULL, NULL, -3600, 86400);
	ca2 = mkcert("herd CA 2", NULL, NULL, -3600, 86400);
	write_pem("ca1.pem", ca1.cert, NULL, NULL);
	write_pem("ca12.pem", ca2.cert, ca1.cert, NULL);
	alpha = leaf("alpha", "Alpha", &ca1, -3600, 86400);
	alpha2 = leaf("alpha2", "Alpha", &ca2, -3600, 86400);
	beta = leaf("beta", "Beta", &ca1, -3600, 86400);
	beta2 = leaf("beta2", "Beta", &ca2, -3600, 86400);
	beta_old = leaf("betaold", "Beta", &ca1, -3 * 86400, -86400);
	gamma_ = leaf("gamma", "Gamma.herd_1", &ca1, -3600, 86400);
}

/* herdd -n's check of the files */
static void
test_check(void)
{
	struct herd_conf	*conf;
	char			 err[512];

	conf = harness_cert_conf("beta.crt", "beta.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == 0, "conf_check_tls: "
	    "a good certificate: %s", harness_chomp(err));
	conf = harness_cert_conf("beta.crt", "alpha.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:8: peer_tls_key ") != NULL &&
	    strstr(err, "alpha.key: not the key of the certificate in") !=
	    NULL, "a key not matching its certificate: %s", harness_chomp(err));
	conf = harness_cert_conf("nosuch.crt", "beta.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:7: peer_tls_cert ") != NULL &&
	    strstr(err, "nosuch.crt: No such file or directory") != NULL,
	    "a missing certificate: %s", harness_chomp(err));
	conf = harness_cert_conf("beta.crt", "beta.key", "beta.key");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "herd.ini:9: peer_tls_ca") != NULL &&
	    strstr(err, "no PEM certificate") != NULL, "a CA file with no "
	    "certificate: %s", harness_chomp(err));
	conf = harness_cert_conf("beta2.crt", "beta2.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "does not verify against peer_tls_ca") != NULL,
	    "a certificate of another CA: %s", harness_chomp(err));
	conf = harness_cert_conf("betaold.crt", "betaold.key", "ca1.pem");
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "certificate has expired") != NULL,
	    "an expired certificate: %s", harness_chomp(err));
	chmod(conf->tls.key, 0604);
	ok(conf_check_tls(conf, err, sizeof(err)) == -1 &&
	    strstr(err, "readable by others") != NULL, "a key readable by "
	    "others: %s", harness_chomp(err));
	chmod(conf->tls.key, 0600);
	conf->tls.on = 0;
	ok(conf_check_tls(conf, err, sizeof(err)) == 0, "peer_tls = off: the "
	    "files are not looked at");
}

/* Alpha dials Beta: the names, each way */
static void
test_names(void)
{
	struct ptls_ctx	*ca, *cb, *cg;
	struct end	 d, l;
	unsigned char	 bd[PTLS_BINDING_LEN], bl[PTLS_BINDING_LEN];
	char		 err[512];

	ca = harness_ctx(harness_cert_conf("alpha.crt", "alpha.key", "ca1.pem"),
	    "Alpha");
	cb = harness_ctx(harness_cert_conf("beta.crt", "beta.key", "ca1.pem"), "Beta");
	ok(ptls_ctx_mode(ca) == PTLS_CERT, "peer_tls_cert: certificate mode");
	ok(ptls_ctx_new(harness_cert_conf("beta.crt", "beta.key", "ca1.pem"),
	    "Alpha", err, sizeof(err)) == NULL && strstr(err, "does not "
	    "name Alpha") != NULL, "our own certificate must name us: %s",
	    err);

	harness_link(ca, "Beta", cb, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "mutual TLS, the right name: up (%s | %s)",
	    ptls_error(d.t), ptls_error(l.t));
	ok(strncmp(ptls_key_name(d.t), "cert:Beta:", 10) == 0 &&
	    strncmp(ptls_key_name(l.t), "cert:Alpha:", 11) == 0 &&
	    ptls_key_index(l.t) == -1, "each names the other's certificate: "
	    "%s, %s", ptls_key_name(d.t), ptls_key_name(l.t));
	ok(ptls_check_name(l.t, "Alpha") == 0, "the listener checks the "
	    "HELLO's name: Alpha");
	ok(ptls_check_name(l.t, "Gamma") == -1 && strstr(ptls_error(l.t),
	    "does not name Gamma") != NULL, "and refuses another: %s",
	    ptls_error(l.t));
	ok(ptls_binding(d.t, bd) == 0 && ptls_binding(l.t, bl) == 0 &&
	    memcmp(bd, bl, sizeof(bd)) == 0, "the binding is equal at both "
	    "ends");
	harness_end_free(&d);
	harness_end_free(&l);

	harness_link(ca, "Gamma", cb, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "certificate does not name "
	    "Gamma") != NULL, "the wrong name: %s", ptls_error(d.t));
	ok(l.rc == -1 && strstr(ptls_error(l.t), "refused by the dialler") !=
	    NULL, "and the listener hears it: %s", ptls_error(l.t));
	harness_end_free(&d);
	harness_end_free(&l);

	cg = harness_ctx(harness_cert_conf("gamma.crt", "gamma.key", "ca1.pem"),
	    "Gamma.herd_1");
	harness_link(ca, "Gamma.herd_1", cg, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "a name with . and _ (%s)",
	    ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(cg);
	ptls_ctx_free(ca);
	ptls_ctx_free(cb);
}

/* Which CAs, and when */
static void
test_cas(void)
{
	struct ptls_ctx	*ca, *cb, *cb2, *cbo, *a12, *a2;
	struct end	 d, l;
	char		 buf[16];
	ssize_t		 n;

	ca = harness_ctx(harness_cert_conf("alpha.crt", "alpha.key", "ca1.pem"),
	    "Alpha");
	cb = harness_ctx(harness_cert_conf("beta.crt", "beta.key", "ca1.pem"), "Beta");
	cb2 = harness_ctx(harness_cert_conf("beta2.crt", "beta2.key", "ca12.pem"),
	    "Beta");
	cbo = harness_ctx(harness_cert_conf("betaold.crt", "betaold.key", "ca1.pem"),
	    "Beta");
	a12 = harness_ctx(harness_cert_conf("alpha.crt", "alpha.key", "ca12.pem"),
	    "Alpha");
	a2 = harness_ctx(harness_cert_conf("alpha2.crt", "alpha2.key", "ca12.pem"),
	    "Alpha");

	harness_link(ca, "Beta", cb2, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "the listener's "
	    "certificate: unable to get local issuer certificate") != NULL,
	    "a listener of another CA: %s", ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(a12, "Beta", cb2, &d, &l, 0);
	ok(d.rc == 1 && l.rc == 1, "a CA file of two CAs: certificates of "
	    "either (%s | %s)", ptls_error(d.t), ptls_error(l.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(a2, "Beta", cb, &d, &l, 0);
	ok(l.rc == -1 && strstr(ptls_error(l.t), "the dialler's certificate: "
	    "unable to get local issuer certificate") != NULL, "a dialler of "
	    "another CA: refused by the listener: %s", ptls_error(l.t));
	/* TLS 1.3: the client's handshake is over before the server has
	 * checked its certificate; its first read hears it */
	n = harness_read(d.t, buf, sizeof(buf));
	ok(n == -1 && errno == EPROTO && strstr(ptls_error(d.t),
	    "TLS alert from the listener: unknown CA") != NULL,
	    "the dialler hears it at its first read: %s", ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(ca, "Beta", cbo, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "certificate has expired") !=
	    NULL, "an expired certificate: %s", ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(ca);
	ptls_ctx_free(cb);
	ptls_ctx_free(cb2);
	ptls_ctx_free(cbo);
	ptls_ctx_free(a12);
	ptls_ctx_free(a2);
}

/* Keys at one end, certificates at the other */
static void
test_mixed(void)
{
	struct ptls_ctx	*ca, *cb, *psk;
	struct end	 d, l;

	ca = harness_ctx(harness_cert_conf("alpha.crt", "alpha.key", "ca1.pem"),
	    "Alpha");
	cb = harness_ctx(harness_cert_conf("beta.crt", "beta.key", "ca1.pem"), "Beta");
	psk = harness_ctx(harness_psk_conf(SECRET_A), "Alpha");
	harness_link(psk, "Beta", cb, &d, &l, 0);
	ok(d.rc == -1 && strstr(ptls_error(d.t), "offered a certificate, not "
	    "our key") != NULL, "a dialler with keys, a listener with "
	    "certificates: %s", ptls_error(d.t));
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(ca, "Beta", psk, &d, &l, 0);
	ok(d.rc == -1 && l.rc == -1 && strstr(ptls_error(l.t), "offered no "
	    "key") != NULL, "and the other way: %s | %s", ptls_error(d.t),
	    ptls_error(l.t));
	harness_end_free(&d);
	harness_end_free(&l);
	ptls_ctx_free(ca);
	ptls_ctx_free(cb);
	ptls_ctx_free(psk);
}

/* Renewals: the files change under a running context */
static void
test_renewal(void)
{
	struct ptls_ctx	*ca, *cr;
	struct pki	 beta3;
	struct end	 d, l, d0, l0;
	char		 fp[PTLS_NAME_SIZE], log[4096], buf[16];

	ca = harness_ctx(harness_cert_conf("alpha.crt", "alpha.key", "ca1.pem"),
	    "Alpha");
	write_pem("b.crt", beta.cert, NULL, NULL);
	write_pem("b.key", NULL, NULL, beta.key);
	cr = harness_ctx(harness_cert_conf("b.crt", "b.key", "ca1.pem"), "Beta");
	harness_link(ca, "Beta", cr, &d0, &l0, 0);	/* kept up across renewals */
	snprintf(fp, sizeof(fp), "%s", ptls_key_name(d0.t));
	ok(d0.rc == 1, "before: %s", fp);

	beta3 = leaf("b", "Beta", &ca1, -3600, 86400);
	harness_capture_start();
	harness_link(ca, "Beta", cr, &d, &l, 0);
	harness_capture_end(log, sizeof(log));
	ok(d.rc == 1 && strncmp(ptls_key_name(d.t), "cert:Beta:", 10) == 0 &&
	    strcmp(ptls_key_name(d.t), fp) != 0, "a renewed certificate is "
	    "used at the next connection: %s", ptls_key_name(d.t));
	ok(harness_count(log, "the certificate files changed: loaded again") == 1,
	    "which is logged: %s", harness_chomp(log));
	snprintf(fp, sizeof(fp), "%s", ptls_key_name(d.t));
	harness_end_free(&d);
	harness_end_free(&l);

	harness_capture_start();
	write_pem("b.crt", beta.cert, NULL, NULL);	/* its key not yet */
	harness_link(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strcmp(ptls_key_name(d.t), fp) == 0, "a certificate "
	    "without its key yet: the previous one serves on");
	harness_end_free(&d);
	harness_end_free(&l);
	harness_link(ca, "Beta", cr, &d, &l, 0);
	harness_end_free(&d);
	harness_end_free(&l);
	harness_capture_end(log, sizeof(log));
	ok(harness_count(log, "the certificate files changed and do not load: "
	    "peer_tls_key") == 1 && harness_count(log, "serve on") == 1,
	    "logged once: %s", harness_chomp(log));

	write_pem("b.key", NULL, NULL, beta.key);
	harness_link(ca, "Beta", cr, &d, &l, 0);
	ok(d.rc == 1 && strcmp(ptls_key_name(d.t), fp) != 0, "then with "
	    "its key: used (%s)", ptls_key_name(d.t));
	harness_end_free(&d);
	harness_end_free(&l);

	ok(ptls_write(d0.t, "PING\n", 5) == 5 &&
	    harness_read(l0.t, buf, sizeof(buf)) == 5, "a link up before the "
	    "renewals still carries data");
	harness_end_free(&d0);
	harness_end_free(&l0);
	pki_free(&beta3);
	ptls_ctx_free(ca);
	ptls_ctx_free(cr);
}

int
main(void)
{
	harness_init();
	make_pki();
	test_check();
	test_names();
	test_cas();
	test_mixed();
	test_renewal();
	pki_free(&ca1);
	pki_free(&ca2);
	pki_free(&alpha);
	pki_free(&alpha2);
	pki_free(&beta);
	pki_free(&beta2);
	pki_free(&beta_old);
	pki_free(&gamma_);
	return tap_done();
}
