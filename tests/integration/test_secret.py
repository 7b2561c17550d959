#!/usr/bin/env python3
"""The peer links' authentication and TLS (herd-protocol(7) Peer protocol
and TLS), on separate herd-node processes: the herd's secret proved both
ways, TLS 1.3 by default with a secret, and what each side says when the
other is not what it should be."""
import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import time

from herdlib import NOTHING_SEEN, read_until, ts, wait_for
from herds import NODE, Separate
from pki import make_cert
from tap import run


SECRET = "a-test-secret-of-the-herd-0123456789"
NONCE = "0123456789abcdef0123456789abcdef"


def mac(secret, label, a, b, na, nb):
    """The version 2 handshake's proof, as herd-protocol(7) specifies it."""
    msg = "%s 2 %s %s %s %s" % (label, a, b, na, nb)
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


def peer_lines(port, lines, timeout=5):
    """Dial a peer port, send lines one by one, each time reading one line
    back; returns the replies (b"" once the node closed: a line sent after
    it closed may draw a reset instead of the end of input)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    out, buf = [], b""
    try:
        for line in lines:
            if callable(line):
                line = line(out)
            try:
                s.sendall(line.encode() + b"\n")
                while b"\n" not in buf:
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
            except (ConnectionResetError, BrokenPipeError):
                pass
            got, _, buf = buf.partition(b"\n")
            out.append(got)
            if not got:
                break
        return out
    finally:
        s.close()


def test_secret_links_and_floods():
    """A herd with a secret: version 2 handshakes, links up, updates flood."""
    h = Separate(links={"A": ["B"], "B": ["C"], "C": []}, secret=SECRET)
    try:
        h.start_all()
        h.wait_links()
        t = ts(time.time_ns())
        at = h.ask("A", "IAMAT sec +34.068930-118.445127 %s\n" % t).decode()
        got = h.known("C", "sec", 10)
        assert got, "timed out waiting for the update at C"
        assert got.split("\n", 1)[0] + "\n" == at, (got, at)
        log = h.log("B")
        # the features each speaks, last (herd-protocol(7))
        assert re.search(r"peer A sent HELLO 2 B A [0-9a-f]{32} \+tree$", log,
                         re.M), log
        assert re.search(r"recv CHALLENGE [0-9a-f]{32}$", log, re.M), log
        assert re.search(r"peer A recv OK 2 A [0-9a-f]{64} \+tree$", log,
                         re.M), log
        assert "peer A connected from 127.0.0.1" in log and "(authenticated)" in log
        assert "not authenticated" not in log, log
    finally:
        h.stop()


def test_secret_forged_peer_refused():
    """A client that knows a neighbour's name but not the secret cannot
    bring a link up, nor inject an update: the herd's own handshake, under
    TLS by default (test_tls_plain_text_peer_refused)."""
    # peer_tls = off: this test speaks the herd handshake by hand, which
    # runs inside TLS by default (Python's ssl has no TLS 1.3 external PSK
    # before 3.13); the nodes' own TLS links run the same handshake in
    # test_secret_links_and_floods
    h = Separate(links={"A": ["B"], "B": []}, secret=SECRET,
             herd="peer_tls = off")
    try:
        h.start_all()
        h.wait_links()
        port = h.peer_port["B"]
        upd = "UPDATE AT A +0.000000001 forged +1+1 99999999999"
        r = peer_lines(port, ["HELLO 1 A B", upd])
        assert r[0] == b"ERROR authentication required", r
        r = peer_lines(port, ["HELLO 2 A B " + NONCE, upd])
        assert re.match(rb"CHALLENGE [0-9a-f]{32}$", r[0]) and \
            r[1] == b"ERROR expected AUTH", r
        r = peer_lines(port, ["HELLO 2 A B " + NONCE, "AUTH " + "0" * 64, upd])
        assert r[1] == b"ERROR authentication failed", r
        # the right MAC under another secret, for the real challenge
        r = peer_lines(port, ["HELLO 2 A B " + NONCE, lambda out: "AUTH " + mac(
            "not-the-secret-0123456789", "herd-link", "A", "B", NONCE,
            out[0].split()[1].decode()), upd])
        assert r[1] == b"ERROR authentication failed", r
        # replaying A's AUTH from the log: another CHALLENGE, so no use
        old = re.search(r"peer A sent AUTH ([0-9a-f]{64})$", h.log("B"), re.M)
        assert old, h.log("B")
        r = peer_lines(port, ["HELLO 2 A B " + NONCE, "AUTH " + old.group(1), upd])
        assert r[1] == b"ERROR authentication failed", r
        time.sleep(0.3)
        for name in ("A", "B"):
            assert h.whatsat(name, "forged", 1, 1) == "? WHATSAT forged 1 1\n"
        log = h.log("B")
        assert re.search(r"peer connection from 127\.0\.0\.1:\d+ \(says it is "
                         r"A\): authentication failed", log), log
        assert "version 1 HELLO" in log and "this herd has a secret" in log
        # the real link is undisturbed
        assert h.procs["A"].poll() is None and h.procs["B"].poll() is None
        at = h.ask("A", "IAMAT real +1+1 %s\n" % ts(time.time_ns())).decode()
        assert wait_for(lambda: h.whatsat("B", "real", 1, 1).startswith(at), 5, 0.02), \
            "timed out waiting for flood"
    finally:
        h.stop()


def test_tls_plain_text_peer_refused():
    """With a secret, a peer port speaks TLS 1.3 only: a plain-text HELLO,
    a TLS 1.2 ClientHello and a connection that says nothing are each
    refused and logged once; nothing is stored and the real link goes on."""
    import ssl
    h = Separate(links={"A": ["B"], "B": []}, secret=SECRET)
    try:
        h.start_all()
        h.wait_links()
        port = h.peer_port["B"]
        upd = "UPDATE AT A +0.000000001 forged +1+1 99999999999"
        for _ in range(3):
            r = peer_lines(port, ["HELLO 2 A B " + NONCE, upd])
            assert r[0] == b"", r       # no answer in plain text: closed
        # TLS 1.2 only: refused in the handshake
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        raw = socket.create_connection(("127.0.0.1", port), 5)
        try:
            ctx.wrap_socket(raw).close()
            assert False, "a TLS 1.2 handshake succeeded"
        except (ssl.SSLError, OSError):
            pass
        raw.close()
        # a connection that says nothing: dropped after the connect time-out
        mute = socket.create_connection(("127.0.0.1", port), 5)
        mute.settimeout(8)
        assert mute.recv(100) == b"", "the mute connection got bytes"
        mute.close()
        log = h.log("B")
        assert len(re.findall(r'TLS: not TLS: the dialler sent "HELLO 2 A B',
                              log)) == 1, log
        assert "TLS: no handshake in 3 s" in log, log
        for name in ("A", "B"):
            assert h.whatsat(name, "forged", 1, 1) == "? WHATSAT forged 1 1\n"
        at = h.ask("A", "IAMAT real +1+1 %s\n" % ts(time.time_ns())).decode()
        assert wait_for(lambda: h.whatsat("B", "real", 1, 1).startswith(at), 5,
                        0.02), "timed out waiting for flood"
        assert "link to B: TLS up (herd1:" in h.log("A"), h.log("A")
    finally:
        h.stop()


def test_cert_of_another_ca():
    """Certificates (peer_tls_cert): A's from one CA, B's from another, each
    trusting only its own: neither link comes up, each side says why once
    however often it redials, and both go on serving their clients.  (A
    certificate that does not name its own server stops that server at
    start, exit 78; one that names another server is unit-ptls-cert's.)"""
    import shutil
    import tempfile
    if shutil.which("openssl") is None:
        print("# SKIP no openssl command")
        return
    d = tempfile.mkdtemp(prefix="herd-pki-")
    pki = {n: make_cert(os.path.join(d, n), [n]) for n in ("A", "B")}
    h = Separate(links={"A": ["B"], "B": []})
    conf = h.conf
    try:
        for n in ("A", "B"):
            cert, key, ca, _ = pki[n]
            h.conf = os.path.join(h.dir, "herd-%s.ini" % n)
            with open(h.conf, "w") as f:
                f.write(h.conf_text().replace("[herd]\n", "[herd]\n"
                        "peer_tls_cert = %s\npeer_tls_key = %s\n"
                        "peer_tls_ca = %s\n" % (cert, key, ca), 1))
            h.start(n)
        h.conf = conf
        for me, other in (("A", "B"), ("B", "A")):
            assert wait_for(lambda: re.search(
                r"link to %s \(127\.0\.0\.1 port \d+\): TLS: .*certificate"
                % other, h.log(me)), 10, 0.05), h.log(me)[-2000:]
        time.sleep(2.0)             # a few redials
        for me, other in (("A", "B"), ("B", "A")):
            log = h.log(me)
            assert "link to %s up" % other not in log, log[-2000:]
            assert len(re.findall(r"link to %s \(127\.0\.0\.1 port \d+\): "
                                  r"TLS: " % other, log)) == 1, log[-2000:]
        for name in ("A", "B"):
            assert h.ask(name, "IAMAT c%s +1+1 %s\n" % (
                name, ts(time.time_ns()))).startswith(b"AT " +
                                                     name.encode())
    finally:
        h.conf = conf
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_different_secrets_never_link():
    """Two secrets: TLS refuses each dialler's key, and each side says
    which key it saw, once."""
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A", env={"HERD_SECRET": SECRET})
        h.start("B", env={"HERD_SECRET": SECRET + "-other"})
        for me, other in (("A", "B"), ("B", "A")):
            assert wait_for(lambda: re.search(
                r"link to %s \(127\.0\.0\.1 port \d+\): TLS: refused by the "
                r"listener" % other, h.log(me)), 10, 0.02), \
                "timed out waiting for %s refused by %s" % (me, other)
            assert wait_for(lambda: re.search(
                r"peer connection from \S+: TLS: the dialler's key herd1:[0-9a-f]{16} "
                r"is not in our keyring", h.log(me)), 10, 0.02), \
                "timed out waiting for %s to refuse" % me
        time.sleep(1.0)     # a few redials: still one warning each
        for me in ("A", "B"):
            assert len(re.findall(r"is not in our keyring.*the same again",
                                  h.log(me))) == 1, h.log(me)
        t = ts(time.time_ns())
        at = h.ask("A", "IAMAT apart +1+1 %s\n" % t).decode()
        assert at.startswith("AT A "), at
        assert h.ask("B", "IAMAT apart2 +1+1 %s\n" % t).startswith(b"AT B ")
        time.sleep(0.5)
        assert h.whatsat("B", "apart", 1, 1).startswith("?")
        assert h.whatsat("A", "apart2", 1, 1).startswith("?")
        for me, other in (("A", "B"), ("B", "A")):
            assert "link to %s up" % other not in h.log(me), h.log(me)
            assert "peer %s connected" % other not in h.log(me), h.log(me)
    finally:
        h.stop()


def test_secret_and_no_secret_refuse():
    """A node with a secret and one without refuse each other, and say why:
    by default the one with a secret speaks TLS, the other plain text."""
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A", env={"HERD_SECRET": SECRET})
        h.start("B")
        assert wait_for(lambda: 'TLS: not TLS: the dialler sent "HELLO 1 B A +tree"'
                        in h.log("A"), 10, 0.02), "A did not say why"
        # the listener's ERROR, quoted (or, when it came at once, named)
        assert wait_for(lambda: re.search(
            r"link to B \(127\.0\.0\.1 port \d+\): TLS: not TLS: the listener "
            r"(sent \"ERROR this port speaks plain text|answered in plain text)",
            h.log("A")), 10, 0.02), "A's link did not say why"
        assert wait_for(lambda: "a TLS handshake: the neighbour has peer_tls on"
                        in h.log("B"), 10, 0.02), "B did not say why"
        assert "peer links speak TLS 1.3" in h.log("A")
        for me, other in (("A", "B"), ("B", "A")):
            assert "link to %s up" % other not in h.log(me), h.log(me)
    finally:
        h.stop()
    # peer_tls = off: the herd handshake's own refusal, which TLS precedes
    # by default (above)
    h = Separate(links={"A": ["B"], "B": []}, herd="peer_tls = off")
    try:
        h.start("A", env={"HERD_SECRET": SECRET})
        h.start("B")
        assert wait_for(lambda: "link to B refused: refused by the neighbour: no "
                 "secret configured here" in h.log("A"), 10, 0.02), \
            "timed out waiting for A refused"
        assert wait_for(lambda: "link to A refused: refused by the neighbour: "
                 "authentication required" in h.log("B"), 10, 0.02), \
            "timed out waiting for B refused"
        assert wait_for(lambda: re.search(r"peer connection from \S+ \(says it is B\): "
                                   r"refused: a version 1 HELLO", h.log("A")), 5, 0.02), \
            "timed out waiting for A's warning"
        assert wait_for(lambda: re.search(r"peer connection from \S+ \(says it is A\): "
                                   r"refused: a version 2 \(authenticated\) "
                                   r"HELLO, but no secret", h.log("B")), 5, 0.02), \
            "timed out waiting for B's warning"
        assert "peer links are not authenticated" in h.log("B")
        assert "peer links are authenticated" in h.log("A")
        for me, other in (("A", "B"), ("B", "A")):
            assert "link to %s up" % other not in h.log(me), h.log(me)
    finally:
        h.stop()


def impostor(h, name, answer):
    """Listen on name's peer port, take one link: read HELLO 2, send a
    CHALLENGE, read AUTH, send answer(hello, auth); then read for a second.
    Returns everything received."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", h.peer_port[name]))
    ls.listen(4)
    ls.settimeout(10)
    try:
        c, _ = ls.accept()
        c.settimeout(10)
        got = read_until(c, b"\n")
        hello = got.split(b"\n")[0].decode().split()
        assert hello[:4] == ["HELLO", "2", "A", name], hello
        c.sendall(("CHALLENGE %s\n" % NONCE).encode())
        while got.count(b"\n") < 2:
            b = c.recv(65536)
            assert b, got
            got += b
        auth = got.split(b"\n")[1].decode().split()
        assert auth[0] == "AUTH", got
        c.sendall(answer(hello, auth[1]).encode())
        c.settimeout(0.2)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                b = c.recv(65536)
                if not b:
                    break
                got += b
            except socket.timeout:
                pass
        c.close()
        return got.decode()
    finally:
        ls.close()


def test_impostor_listener_gets_no_update():
    """Mutual: the dialler sends nothing to a listener on its neighbour's
    peer port that cannot prove it holds the secret."""
    # peer_tls = off: the impostor speaks the herd handshake by hand (see
    # test_secret_forged_peer_refused); with TLS it would not get as far as
    # HELLO (test_tls_plain_text_peer_refused)
    h = Separate(links={"A": ["B"], "B": []}, secret=SECRET,
             herd="peer_tls = off")
    try:
        h.start("A")
        h.ask("A", "IAMAT secretive +1+1 %s\n" % ts(time.time_ns()))
        got = impostor(h, "B", lambda hello, auth: "OK 2 B %s\n" % ("ab" * 32))
        assert "UPDATE" not in got and "ERROR authentication failed" in got, got
        want = ("link to B (127.0.0.1 port %d): authentication failed: its OK "
                "has a wrong MAC" % h.peer_port["B"])
        assert wait_for(lambda: want in h.log("A"), 5, 0.02), \
            "timed out waiting for the warning"
        assert "link to B up" not in h.log("A"), h.log("A")
        # an impostor that replays the real proof of another handshake fails
        got = impostor(h, "B", lambda hello, auth: "OK 2 B %s\n" % mac(
            SECRET, "herd-ok", "B", "A", NONCE, NONCE))
        assert "UPDATE" not in got, got
        # the control: one that does hold the secret gets the catch-up
        got = impostor(h, "B", lambda hello, auth: "OK 2 B %s\n%s" % (mac(
            SECRET, "herd-ok", "B", "A", NONCE, hello[4]),
            NOTHING_SEEN.decode()))
        assert re.search(r"^UPDATE AT A \S+ secretive ", got, re.M), got
        assert "SYNCED 1" in got, got
    finally:
        h.stop()


def test_secret_file_errors_exit_78():
    h = Separate(links={"Solo": []}, secret=SECRET)
    try:
        sec = os.path.join(h.dir, "herd.secret")
        os.chmod(sec, 0o644)
        p = subprocess.run([NODE, "-f", h.conf, "Solo"], capture_output=True,
                           timeout=10, env={"PATH": os.environ.get("PATH", "")})
        assert p.returncode == 78, p
        assert re.search(rb"herd\.ini:\d+: secret_file herd\.secret: readable "
                         rb"by group or others", p.stderr), p.stderr
        os.chmod(sec, 0o600)
        with open(sec, "w") as f:
            f.write("too-short\n")
        p = subprocess.run([NODE, "-f", h.conf, "Solo"], capture_output=True,
                           timeout=10, env={"PATH": os.environ.get("PATH", "")})
        assert p.returncode == 78 and b"shorter than 16 bytes" in p.stderr, p
        os.unlink(sec)
        p = subprocess.run([NODE, "-f", h.conf, "Solo"], capture_output=True,
                           timeout=10, env={"PATH": os.environ.get("PATH", "")})
        assert p.returncode == 78 and b"No such file" in p.stderr, p
        h.start("Solo", env={"HERD_SECRET": SECRET})   # overrides the file
        assert wait_for(lambda: "peer links are authenticated" in h.log("Solo"), 5, 0.02), \
            "timed out waiting for the node to say so"
        h.kill("Solo", signal.SIGTERM)
        with open(sec, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(sec, 0o600)
        h.start("Solo")
        # a keyring that no longer loads at SIGHUP: said, and the running
        # one stays (herdd vets a reload first; this is a HUP by hand)
        os.chmod(sec, 0o644)
        h.procs["Solo"].send_signal(signal.SIGHUP)
        assert wait_for(lambda: "SIGHUP: the configuration does not load"
                        in h.log("Solo"), 5, 0.02), h.log("Solo")[-1500:]
        assert h.ask("Solo", "IAMAT hup +1+1 1\n").startswith(b"AT Solo ")
    finally:
        h.stop()


if __name__ == "__main__":
    sys.exit(run([test_secret_links_and_floods,
                  test_secret_forged_peer_refused,
                  test_tls_plain_text_peer_refused,
                  test_cert_of_another_ca,
                  test_different_secrets_never_link,
                  test_secret_and_no_secret_refuse,
                  test_impostor_listener_gets_no_update,
                  test_secret_file_errors_exit_78]))
