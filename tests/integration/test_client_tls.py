#!/usr/bin/env python3
"""The client port over TLS (tls_port): real herd-node processes on
loopback, a CA and certificates made with the openssl command in a
temporary directory, clients in Python's ssl and openssl s_client.

A herd A - B - C: A and C listen on a tls_port besides their plain port.
What goes in over TLS must come out as on the plain port (the same bytes),
and what the TLS port refuses must harm nobody.  herdd -n checks the
files and ports; herdd reports the port in its status."""
import hashlib
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import herdlib
from herdlib import free_ports, wait_for
from herds import Separate, Supervised
from tap import run

AT_RE = re.compile(r"^AT (\S+) ([+-]\d+\.\d{9}) (\S+) (\S+) (\S+)$")
HERDD = os.environ.get("HERDD", "build/supervisor/herdd")
HANDSHAKE_S = 10                # node/client_tls.h
H = None                        # the shared herd
CERTS = None                    # the directory of the certificates
CTX = None                      # a client's context: trusts the test CA


def sh(*argv, cwd=None):
    subprocess.run(argv, cwd=cwd or CERTS, check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_leaf(name, days=1, eku="serverAuth"):
    """name.crt and name.key (mode 600), signed by the test CA, for
    localhost and 127.0.0.1."""
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
       "-out", name + ".csr", "-subj", "/CN=localhost")
    with open(os.path.join(CERTS, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=%s\n" % eku)
    sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
       "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".crt",
       "-days", str(days), "-extfile", name + ".ext")
    os.chmod(os.path.join(CERTS, name + ".key"), 0o600)
    return os.path.join(CERTS, name + ".crt"), os.path.join(CERTS, name + ".key")


def make_certs():
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
       "ca.crt", "-days", "2", "-subj", "/CN=herd test CA")
    make_leaf("server")
    make_leaf("renewed")
    make_leaf("other")
    make_leaf("expired", days=0)        # notAfter is now: past in a second
    make_leaf("clientonly", eku="clientAuth")


class TLSHerd(Separate):
    """A herd whose servers in tls get a tls_port, with the certificate
    and key given."""

    def __init__(self, cert, key, tls, **kw):
        self.tls = tls
        self.tls_port = {}
        super().__init__(herd="client_tls_cert = %s\n"
                         "client_tls_key = %s" % (cert, key), **kw)

    def conf_text(self):
        taken = set(self.port.values()) | set(self.peer_port.values())
        while not self.tls_port:
            ports = free_ports(len(self.tls))
            if not taken & set(ports):
                self.tls_port = dict(zip(self.tls, ports))
        text = super().conf_text()
        for name, port in self.tls_port.items():
            pp = "peer_port = %d\n" % self.peer_port[name]
            text = text.replace(pp, pp + "tls_port = %d\n" % port)
        return text


def ts(ns=None):
    """Now (or ns) as a time stamp (herdlib.ts)."""
    return herdlib.ts(time.time_ns() if ns is None else ns)


def tls_connect(port, ctx=None, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout)
    return (ctx or CTX).wrap_socket(s, server_hostname="localhost")


def tls_exchange(port, data, notify=True, timeout=10):
    """Handshake, send data, end our side with close_notify (notify) or
    with a TCP half-close without it, and read until the server closes.
    Returns (bytes, how it ended: "close_notify", "eof" or the TLS
    error)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    sock.settimeout(timeout)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = CTX.wrap_bio(inc, out, server_hostname="localhost")

    def flush():
        d = out.read()
        if d:
            sock.sendall(d)
    try:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                d = sock.recv(65536)
                if not d:
                    raise ConnectionError("closed during the handshake")
                inc.write(d)
        flush()
        obj.write(data)
        flush()
        if notify:
            try:
                obj.unwrap()
            except ssl.SSLWantReadError:
                pass
            flush()
        else:
            sock.shutdown(socket.SHUT_WR)
        got, end = b"", "eof"
        while end == "eof":
            d = sock.recv(65536)
            if not d:
                break
            inc.write(d)
            try:
                while True:
                    x = obj.read(65536)
                    if not x:
                        end = "close_notify"
                        break
                    got += x
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                end = "close_notify"
            except ssl.SSLError as e:
                end = str(e)
        return got, end
    finally:
        sock.close()


def plain_ask(name, data):
    return H.ask(name, data)


def quiet_second():
    """Refusals are logged once a second: let the last second pass."""
    time.sleep(1.1)


def refused(sock, timeout=3):
    """The server closed sock (end or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def setup():
    global H, CERTS, CTX
    if shutil.which("openssl") is None:
        print("# no openssl command: skipped")
        sys.exit(77)
    CERTS = tempfile.mkdtemp(prefix="herdtls-")
    make_certs()
    CTX = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.crt"))
    # the files the servers use: copies, renewed in place by a test
    shutil.copy(os.path.join(CERTS, "server.crt"),
                os.path.join(CERTS, "live.crt"))
    shutil.copy(os.path.join(CERTS, "server.key"),
                os.path.join(CERTS, "live.key"))
    H = TLSHerd(os.path.join(CERTS, "live.crt"),
                os.path.join(CERTS, "live.key"), ["A", "C"],
                links={"A": ["B"], "B": ["C"], "C": []})
    H.start_all()
    H.wait_links()


def test_iamat_over_tls_byte_exact():
    """IAMAT over TLS: TLS 1.3, answered AT as on the plain port."""
    with tls_connect(H.tls_port["A"]) as t:
        assert t.version() == "TLSv1.3", t.version()
    t0 = time.time_ns()
    line = "IAMAT tls.kiwi +34.068930-118.445127 %s" % ts(t0)
    before = time.time_ns()
    reply, end = tls_exchange(H.tls_port["A"], (line + "\n").encode())
    after = time.time_ns()
    reply = reply.decode()
    assert end == "close_notify", end
    assert reply.endswith("\n") and reply.count("\n") == 1, repr(reply)
    m = AT_RE.match(reply[:-1])
    assert m and m.group(1) == "A", reply
    assert reply[:-1].split(" ", 3)[3] == line.split(" ", 1)[1], \
        "operands copied byte for byte"
    sec, frac = m.group(2)[1:].split(".")
    diff = (int(sec) * 10**9 + int(frac)) * (-1 if m.group(2)[0] == "-" else 1)
    assert before - t0 <= diff <= after - t0, (before - t0, diff, after - t0)
    # the plain port's answer has the same shape, from the same code
    plain = plain_ask("A", line.replace("tls.kiwi", "plain.kiwi") +
                      "\n").decode()
    assert AT_RE.match(plain[:-1]) and plain.split(" ", 3)[3] == \
        reply.split(" ", 3)[3].replace("tls.kiwi", "plain.kiwi"), plain
    log = H.log("A")
    assert re.search(r"client \d+ connected from 127\.0\.0\.1:\d+ over TLS "
                     r"\(TLS_\w+, \w+\)", log), log[-2000:]
    assert re.search(r"client \d+ recv " + re.escape(line), log)


def test_flood_to_plain_port_of_another():
    """An update over TLS on A floods to C; WHATSAT on C's plain port."""
    line = "IAMAT tls.flood +10.000000+020.000000 %s" % ts()
    reply, _ = tls_exchange(H.tls_port["A"], (line + "\n").encode())
    at = reply.decode().rstrip("\n")
    assert at.startswith("AT A "), at
    got = wait_for(lambda: (lambda r: r if r.startswith(at + "\n") else None)(
        H.whatsat("C", "tls.flood", 50, 1)), 10, 0.05)
    assert got, "C never had %s: %r" % (at, H.whatsat("C", "tls.flood"))
    # and over C's TLS port the same bytes as over its plain port
    q = b"WHATSAT tls.flood 50 1\n"
    assert tls_exchange(H.tls_port["C"], q)[0] == plain_ask("C", q)


def test_openssl_s_client():
    """openssl s_client -quiet can send a line and get the answer."""
    line = "IAMAT s_client.kiwi -33.8688+151.2093 %s" % ts()
    p = subprocess.Popen(
        ["openssl", "s_client", "-quiet", "-verify_return_error",
         "-CAfile", os.path.join(CERTS, "ca.crt"), "-servername",
         "localhost", "-connect", "127.0.0.1:%d" % H.tls_port["A"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    try:
        p.stdin.write((line + "\n").encode())
        p.stdin.flush()
        buf = b""
        deadline = time.monotonic() + 10
        while b"\n" not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                d = os.read(p.stdout.fileno(), 4096)
                if not d:
                    break
                buf += d
    finally:
        p.kill()
        p.wait(5)
    reply = buf.decode()
    m = AT_RE.match(reply.split("\n")[0])
    assert m and m.group(1) == "A" and \
        reply.split("\n")[0].split(" ", 3)[3] == line.split(" ", 1)[1], \
        repr(reply)


def test_pipelined_and_half_close():
    """Pipelined lines in one record, the last without a newline, then a
    close_notify: every line answered in order, the same bytes as on the
    plain port, and the server's close_notify after them."""
    t = ts()
    lines = ("IAMAT pipe.one +34.0-118.0 %s\nIAMAT pipe.two +40.7-074.0 %s"
             "\r\n" % (t, t)).encode()
    reply, end = tls_exchange(H.tls_port["A"], lines)
    ats = reply.decode().split("\n")
    assert end == "close_notify" and len(ats) == 3 and ats[2] == "" and \
        all(AT_RE.match(a) for a in ats[:2]), (end, reply)
    batch = (b"WHATSAT pipe.one 10 2\nnot a command\r\nWHATSAT nobody 1 1\n"
             b"WHATSAT pipe.two 5 1\nIAMAT half")
    over_tls, end = tls_exchange(H.tls_port["A"], batch)
    plain = plain_ask("A", batch)
    assert end == "close_notify", end
    assert over_tls == plain, (over_tls[-300:], plain[-300:])
    assert over_tls.count(b"? not a command\n") == 1
    assert over_tls.endswith(b"? IAMAT half\n"), over_tls[-100:]


def test_long_line_same_limit():
    """A line over 64 KiB: answered "? " and the line, as on the plain
    port."""
    big = b"x" * 70000 + b"\n"
    over_tls, end = tls_exchange(H.tls_port["A"], big, timeout=20)
    assert over_tls == b"? " + big and end == "close_notify", \
        (len(over_tls), end)


def test_end_without_close_notify():
    """A TCP half-close without close_notify may be a cut: the connection
    is closed, and what was cut short is not taken for a line."""
    got, end = tls_exchange(H.tls_port["A"],
                            b"IAMAT cut.kiwi +1+1 %s" % ts().encode(),
                            notify=False)
    assert got == b"" and end != "close_notify", (got, end)
    assert wait_for(lambda: "TLS ended without close_notify" in H.log("A"),
                    5), H.log("A")[-1000:]
    assert H.whatsat("A", "cut.kiwi").startswith("? WHATSAT")


def test_plain_text_refused():
    """Plain text on the TLS port: closed at once, logged at most once a
    second, the herd unharmed."""
    quiet_second()
    before = H.log("A").count("refused: not TLS")
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", H.tls_port["A"]), 5)
        s.sendall(b"IAMAT plaintext.kiwi +1+1 %d.0\n" % i)
        assert refused(s), "connection %d not closed" % i
        s.close()
    assert wait_for(lambda: re.search(
        r"TLS: \d+ more clients? refused in the last second", H.log("A")), 3), \
        H.log("A")[-1500:]
    logged = H.log("A").count("refused: not TLS") - before
    assert 1 <= logged <= 3, "%d refusals logged" % logged
    assert 'refused: not TLS: the client sent "IAMAT plaintext.kiwi +1+1 ' in \
        H.log("A")
    assert H.whatsat("A", "plaintext.kiwi").startswith("? ")
    assert all(p.poll() is None for p in H.procs.values())
    line = "IAMAT after.plain +1+1 %s\n" % ts()
    assert tls_exchange(H.tls_port["A"], line.encode())[0].startswith(b"AT A")
    assert plain_ask("A", line).startswith(b"AT A")


def test_tls12_refused():
    """A client that offers TLS 1.2 at most: a protocol_version alert."""
    quiet_second()
    ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.crt"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        tls_connect(H.tls_port["A"], ctx).close()
        raise AssertionError("a TLS 1.2 client was taken")
    except ssl.SSLError as e:
        assert "PROTOCOL_VERSION" in str(e).upper(), e
    assert wait_for(lambda: "refused: the client does not speak TLS 1.3" in
                    H.log("A"), 3), H.log("A")[-1000:]


def test_stalled_handshake_dropped():
    """A handshake that never ends is dropped after 10 s; others are
    served meanwhile."""
    quiet_second()
    t0 = time.monotonic()
    s1 = socket.create_connection(("127.0.0.1", H.tls_port["A"]), 5)
    s2 = socket.create_connection(("127.0.0.1", H.tls_port["A"]), 5)
    s2.sendall(b"\x16\x03\x01\x02")      # a record header, and no more
    line = "IAMAT during.stall +1+1 %s\n" % ts()
    assert tls_exchange(H.tls_port["A"], line.encode())[0].startswith(b"AT A")
    assert refused(s1, HANDSHAKE_S + 5) and refused(s2, 5)
    took = time.monotonic() - t0
    assert HANDSHAKE_S - 0.5 <= took <= HANDSHAKE_S + 5, took
    s1.close()
    s2.close()
    assert wait_for(lambda: "refused: no TLS handshake within 10 s" in
                    H.log("A"), 3), H.log("A")[-1000:]


def fingerprint(port):
    with tls_connect(port) as t:
        return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def file_print(path):
    out = subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(out).hexdigest()


def test_renewed_certificate_without_restart():
    """Files renewed in place are used by the next connection; files that
    do not go together are logged and the last good ones serve on."""
    live_crt = os.path.join(CERTS, "live.crt")
    live_key = os.path.join(CERTS, "live.key")
    port = H.tls_port["A"]
    pid = H.procs["A"].pid
    assert fingerprint(port) == file_print(os.path.join(CERTS, "server.crt"))
    for ext in ("key", "crt"):          # renamed over, as certbot does
        shutil.copy(os.path.join(CERTS, "renewed." + ext), live_key + ".new"
                    if ext == "key" else live_crt + ".new")
    os.rename(live_key + ".new", live_key)
    os.rename(live_crt + ".new", live_crt)
    new = file_print(os.path.join(CERTS, "renewed.crt"))
    assert fingerprint(port) == new
    assert wait_for(lambda: "client TLS: the certificate files changed: "
                    "loaded again" in H.log("A"), 3, 0.02), H.log("A")[-2000:]
    # a key that is not the certificate's: the renewed one serves on
    shutil.copy(os.path.join(CERTS, "other.key"), live_key)
    assert fingerprint(port) == new
    assert wait_for(lambda: "client TLS: the certificate files changed and "
                    "do not load" in H.log("A"), 3), H.log("A")[-1000:]
    shutil.copy(os.path.join(CERTS, "renewed.key"), live_key)
    assert fingerprint(port) == new and H.procs["A"].pid == pid and \
        H.procs["A"].poll() is None


def herd_ini(d, herd="", a="", b=""):
    """A two-server herd's file in d; its ports are never listened on."""
    ports = free_ports(4)
    path = os.path.join(d, "herd.ini")
    with open(path, "w") as f:
        f.write("[herd]\nlog_dir = log\ncontrol = herd.sock\n%s\n"
                "[places]\nbackend = offline\ndataset = %s\n"
                "[server A]\nport = %d\npeer_port = %d\n%s\nneighbors = B\n"
                "[server B]\nport = %d\npeer_port = %d\n%s\n" % (
                    herd, os.path.abspath(os.environ.get(
                        "HERD_DATASET", "data/cities.dat")),
                    ports[0], ports[1], a, ports[2], ports[3], b))
    return path, ports


def herdd_n(path):
    r = subprocess.run([HERDD, "-n", "-f", path], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stderr


def test_herdd_n_checks_files_and_ports():
    """herdd -n: the files of a tls_port load, are valid and go together;
    tls_port is unique like port and peer_port."""
    d = tempfile.mkdtemp(prefix="herdtls-n-")
    try:
        def files(crt, key):
            return "client_tls_cert = %s\nclient_tls_key = %s" % (
                os.path.join(CERTS, crt), os.path.join(CERTS, key))
        tp = free_ports(1)[0]
        good = files("server.crt", "server.key")
        path, _ = herd_ini(d, good, "tls_port = %d" % tp)
        rc, err = herdd_n(path)
        assert rc == 0, err
        cases = [
            (files("missing.crt", "server.key"),
             r"herd\.ini:4: client_tls_cert \S+missing\.crt: No such file"),
            (files("server.crt", "other.key"),
             r"herd\.ini:5: client_tls_key \S+other\.key: not the key of "
             r"the certificate"),
            (files("expired.crt", "expired.key"),
             r"herd\.ini:4: client_tls_cert \S+expired\.crt: expired on "),
            (files("clientonly.crt", "clientonly.key"),
             r"client_tls_cert \S+clientonly\.crt: not for a TLS server"),
        ]
        cases.append((files("other.crt", "other.key"),
                      r"herd\.ini:5: client_tls_key \S+: readable by others"))
        for herd, want in cases:
            if "readable" in want:
                os.chmod(os.path.join(CERTS, "other.key"), 0o644)
            path, _ = herd_ini(d, herd, "tls_port = %d" % tp)
            rc, err = wait_for(lambda: (lambda r: r if re.search(
                want, r[1]) else None)(herdd_n(path)), 3, 0.5) or \
                herdd_n(path)
            assert rc == 78 and re.search(want, err), (want, rc, err)
        os.chmod(os.path.join(CERTS, "other.key"), 0o600)
        # no tls_port on a server run here: its files are not read
        path, _ = herd_ini(d, files("missing.crt", "missing.key"))
        assert herdd_n(path)[0] == 0
        path, _ = herd_ini(d, files("missing.crt", "missing.key"),
                           "tls_port = %d\nhost = 203.0.113.1" % tp)
        rc, err = herdd_n(path)
        assert rc == 0, err
        # ports
        path, ports = herd_ini(d, good, "tls_port = %d" % tp)
        with open(path) as f:
            text = f.read()
        for a, b, want in [
                ("tls_port = %d" % ports[2], "",
                 r"herd\.ini:\d+: server B: port %d already used by "
                 r"server A" % ports[2]),
                ("tls_port = %d" % ports[1], "",
                 r"server A: tls_port %d is its peer_port" % ports[1]),
                ("", "tls_port = %d" % tp, ""),
        ]:
            t = text.replace("tls_port = %d\n" % tp, a + "\n")
            t = t.replace("[server B]\n", "[server B]\n%s\n" % b)
            with open(path, "w") as f:
                f.write(t)
            rc, err = herdd_n(path)
            if want:
                assert rc == 78 and re.search(want, err), (want, rc, err)
            else:
                assert rc == 0, err
        path, _ = herd_ini(d, "", "tls_port = %d" % tp)
        rc, err = herdd_n(path)
        assert rc == 78 and re.search(
            r"herd\.ini:\d+: server A: tls_port without client_tls_cert and "
            r"client_tls_key in \[herd\]", err), err
        # -nv prints the keys
        path, _ = herd_ini(d, good, "tls_port = %d" % tp)
        r = subprocess.run([HERDD, "-nv", "-f", path], capture_output=True,
                           text=True, timeout=30)
        assert "client_tls_cert = %s" % os.path.join(CERTS, "server.crt") \
            in r.stdout and "tls_port = %d" % tp in r.stdout, r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_node_exits_78_on_bad_files():
    """herd-node alone with a certificate it cannot load: exit 78, why."""
    d = tempfile.mkdtemp(prefix="herdtls-node-")
    try:
        path, ports = herd_ini(d, "client_tls_cert = %s\nclient_tls_key = "
                               "%s" % (os.path.join(CERTS, "server.crt"),
                                       os.path.join(CERTS, "renewed.key")),
                               "tls_port = %d" % free_ports(1)[0])
        r = subprocess.run([os.environ.get("HERD_NODE",
                                           "build/node/herd-node"),
                            "-f", path, "A"], capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 78 and "tls_port: client_tls_key" in \
            r.stderr, (r.returncode, r.stderr)
        assert not any(socket.socket().connect_ex(("127.0.0.1", p)) == 0
                       for p in ports[:2])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_herdd_status_shows_tls_port():
    """Under herdd: the TLS port answers, herdctl status says which."""
    top = tempfile.mkdtemp(prefix="herdtls-d-")
    h = None
    try:
        h = Supervised(top, "herd", {"A": ["B"], "B": []}, more_ports=1,
                       herd="client_tls_cert = %s\nclient_tls_key = %s" % (
                           os.path.join(CERTS, "server.crt"),
                           os.path.join(CERTS, "server.key")))
        tp = h.more[0]
        with open(h.conf) as f:
            text = f.read()
        pp = "peer_port = %d\n" % h.peer_port["A"]
        with open(h.conf, "w") as f:
            f.write(text.replace(pp, pp + "tls_port = %d\n" % tp))
        assert h.up(), h.tail()
        st = h.status()
        assert st["A"]["tls_port"] == tp and st["B"]["tls_port"] is None \
            and st["A"]["port"] == h.port["A"], st
        line = "IAMAT under.herdd +1+1 %s\n" % ts()
        assert tls_exchange(tp, line.encode())[0].startswith(b"AT A ")
    finally:
        if h is not None:
            h.stop()
        shutil.rmtree(top, ignore_errors=True)


def teardown():
    if H:
        H.stop()
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


if __name__ == "__main__":
    setup()
    try:
        run([test_iamat_over_tls_byte_exact,
             test_flood_to_plain_port_of_another, test_openssl_s_client,
             test_pipelined_and_half_close, test_long_line_same_limit,
             test_end_without_close_notify, test_plain_text_refused,
             test_tls12_refused, test_stalled_handshake_dropped,
             test_renewed_certificate_without_restart,
             test_herdd_n_checks_files_and_ports,
             test_node_exits_78_on_bad_files,
             test_herdd_status_shows_tls_port])
    finally:
        teardown()
