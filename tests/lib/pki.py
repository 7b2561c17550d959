"""pki -- certificates for the tests of peer_tls_cert: a CA and one
certificate (EC P-256) for the herd's servers, made with the openssl
command in a directory of the test's."""
import hashlib
import os
import ssl
import subprocess


def make_cert(d, names):
    """A CA and one certificate (EC P-256) naming names in its
    subjectAltName, for both ends of a link: (cert, key, CA, the name
    ptls_key_name gives it: cert:FIRST:16 hex of its SHA-256)."""
    def sh(*argv):
        subprocess.run(argv, cwd=d, check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(d, exist_ok=True)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
       "ca.crt", "-days", "2", "-subj", "/CN=herd keys test CA")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", "herd.key", "-out",
       "herd.csr", "-subj", "/CN=herd")
    with open(os.path.join(d, "herd.ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,"
                "clientAuth\n" % ",".join("DNS:" + n for n in names))
    sh("openssl", "x509", "-req", "-in", "herd.csr", "-CA", "ca.crt",
       "-CAkey", "ca.key", "-CAcreateserial", "-out", "herd.crt", "-days",
       "2", "-extfile", "herd.ext")
    os.chmod(os.path.join(d, "herd.key"), 0o600)
    with open(os.path.join(d, "herd.crt")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return (os.path.join(d, "herd.crt"), os.path.join(d, "herd.key"),
            os.path.join(d, "ca.crt"),
            "cert:%s:%s" % (names[0], hashlib.sha256(der).hexdigest()[:16]))
