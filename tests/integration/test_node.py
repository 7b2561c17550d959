#!/usr/bin/env python3
"""Integration tests of herd-node: five real processes on loopback."""
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time

from herdlib import wait_for  # noqa: E402
from herdtest import (Herd, NODE, exchange, google_places, read_all,  # noqa: E402
                      read_until, run, start_fakeplaces)

CLIENT_LINE_MAX = 64 * 1024    # node/client.h
AT_RE = re.compile(r"^AT (\S+) ([+-]\d+\.\d{9}) (\S+) (\S+) (\S+)$")
H = None  # the shared herd


def setup():
    global H
    H = Herd()
    H.start_all()
    H.wait_links()


def now_ns():
    return time.time_ns()


def ts(ns):
    return "%d.%09d" % divmod(ns, 10**9)


def test_iamat_byte_exact():
    t = now_ns()
    line = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 %s" % ts(t)
    before = now_ns()
    reply = H.ask("Goloman", line + "\n").decode()
    after = now_ns()
    assert reply.endswith("\n") and reply.count("\n") == 1, repr(reply)
    m = AT_RE.match(reply[:-1])
    assert m, reply
    assert m.group(1) == "Goloman"
    assert reply[:-1].split(" ", 3)[3] == line.split(" ", 1)[1], \
        "operands copied byte for byte"
    sec, frac = m.group(2)[1:].split(".")
    diff = int(sec) * 10**9 + int(frac)
    if m.group(2)[0] == "-":
        diff = -diff
    # exact integer arithmetic: the server's clock reading lies in between
    assert before - t <= diff <= after - t, (before - t, diff, after - t)


def test_negative_difference():
    t = now_ns() + 3600 * 10**9
    reply = H.ask("Hands", "IAMAT future +0+0 %s\n" % ts(t)).decode()
    assert AT_RE.match(reply[:-1]).group(2).startswith("-3599."), reply


def test_fraction_digits():
    for frac in ["", ".9", ".95", ".959", ".959498", ".959498503"]:
        line = "IAMAT frac +1-1 1621464827%s" % frac
        reply = H.ask("Wilkes", line + "\n").decode()
        assert reply.endswith(" 1621464827%s\n" % frac), reply
        assert re.match(r"AT Wilkes \+\d+\.\d{9} ", reply), reply
    reply = H.ask("Wilkes", "IAMAT frac +1-1 1621464827.9594985031\n")
    assert reply == b"? IAMAT frac +1-1 1621464827.9594985031\n", reply


def test_flood_three_hops():
    t = ts(now_ns())
    at = H.ask("Hands", "IAMAT hop3 +34.068930-118.445127 %s\n" % t).decode()
    # Hands -> Goloman|Wilkes -> Holiday -> Welsh
    got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
        H.whatsat("Welsh", "hop3", 10, 3)), 5, 0.02)
    assert got, "timed out waiting for the update at Welsh"
    assert got.split("\n", 1)[0] + "\n" == at, (got, at)
    doc = json.loads(got.split("\n", 1)[1])
    assert doc["status"] == "OK" and 1 <= len(doc["results"]) <= 3, doc


def test_flood_before_reply():
    """A neighbour asked right after the AT reply already knows."""
    for i in range(20):
        H.ask("Goloman", "IAMAT fast%d +10+10 %s\n" % (i, ts(now_ns())))
        r = H.whatsat("Hands", "fast%d" % i, 1, 1)
        assert r.startswith("AT Goloman "), (i, r)


def test_newest_wins():
    t1 = now_ns()
    t0 = t1 - 10**9
    new = H.ask("Goloman", "IAMAT nw +1+1 %s\n" % ts(t1)).decode()
    # an older report at another server is answered but not stored
    old = H.ask("Welsh", "IAMAT nw +2+2 %s\n" % ts(t0)).decode()
    assert old.startswith("AT Welsh ")
    same = H.ask("Hands", "IAMAT nw +3+3 %s\n" % ts(t1)).decode()
    assert same.startswith("AT Hands ")
    time.sleep(0.5)
    for name in H.names:
        got = H.whatsat(name, "nw", 1, 1).split("\n", 1)[0] + "\n"
        assert got == new, (name, got, new)


def test_pipelining_in_order():
    t = now_ns()
    cmds = ["IAMAT p1 +1+1 %s" % ts(t), "WHATSAT p1 5 1", "bogus",
            "IAMAT p2 +2+2 %s" % ts(t), "WHATSAT p2 5 2", "WHATSAT nobody 5 2",
            "IAMAT p3 +3+3 %s" % ts(t)]
    s = H.connect("Holiday")
    s.sendall(("\n".join(cmds) + "\n").encode())
    s.shutdown(socket.SHUT_WR)
    out = read_all(s).decode()
    s.close()
    parts = out.split("\n")
    assert parts[0].startswith("AT Holiday ") and parts[0].endswith(" p1 +1+1 " + ts(t))
    assert parts[1] == parts[0]
    i = parts.index("", 2)          # end of the first WHATSAT
    assert parts[i + 1] == "? bogus", parts[i + 1]
    assert " p2 " in parts[i + 2]
    j = parts.index("", i + 4)
    assert parts[j + 1] == "? WHATSAT nobody 5 2"
    assert " p3 " in parts[j + 2] and parts[j + 3] == "", parts[j:]


def test_whatsat_format():
    H.ask("Goloman", "IAMAT fmt +34.068930-118.445127 %s\n" % ts(now_ns()))
    out = H.whatsat("Goloman", "fmt", 10, 4)
    assert out.endswith("}\n\n") and "\n\n" not in out[:-2], repr(out[-50:])
    doc = json.loads(out.split("\n", 1)[1])
    assert len(doc["results"]) == 4
    assert "GeoNames" in doc["html_attributions"][0]
    out = H.whatsat("Goloman", "fmt", 0.001, 20)
    doc = json.loads(out.split("\n", 1)[1])
    assert doc["status"] == "ZERO_RESULTS" and doc["results"] == []


def test_half_close_and_last_line():
    t = ts(now_ns())
    # a last line without newline, then half-close: still a command
    out = H.ask("Wilkes", "IAMAT hc +5+5 %s" % t).decode()
    assert out.startswith("AT Wilkes ") and out.endswith(" hc +5+5 %s\n" % t)
    out = H.ask("Wilkes", "WHATSAT hc 5 1").decode()
    assert out.startswith("AT Wilkes ") and out.endswith("\n\n")
    # \r\n endings
    out = H.ask("Wilkes", "WHATSAT hc 5 1\r\nfoo\r\n").decode()
    assert out.endswith("\n\n? foo\n"), repr(out[-30:])
    # the connection stays open for more commands after a reply
    s = H.connect("Wilkes")
    s.sendall(b"junk\n")
    assert read_until(s, b"\n") == b"? junk\n"
    s.sendall(b"IAMAT hc2 +5+5 1\n")
    assert read_until(s, b"\n").startswith(b"AT Wilkes ")
    s.close()


def test_invalid_lines():
    cases = [b"AT Goloman +0.263873386 kiwi +34.068930-118.445127 1621464827.959498503",
             b"IAMAT kiwi +34.068930-118.445127", b"WHATSAT kiwi 51 5",
             b"WHATSAT kiwi 10 21", b"", b"   ", b"\x00\xff\xfe binary \x01",
             b"IAMAT kiwi 34.06-118.44 1", b"WHATSAT never-seen 10 5",
             b"HELLO 1 Goloman Hands", b"UPDATE AT Goloman +0.1 x +1+1 1"]
    s = H.connect("Goloman")
    for c in cases:
        s.sendall(c + b"\n")
        got = read_until(s, b"\n")
        assert got == b"? " + c + b"\n", (c, got)
    s.close()
    # a client's AT line did not create a record
    assert H.whatsat("Goloman", "kiwi-forged", 1, 1).startswith("?")


def test_long_line_bounded():
    """A 4 MiB line is echoed back and the connection still works."""
    s = H.connect("Hands", timeout=20)
    body = b"x" * (4 * 1024 * 1024)
    want = b"? " + body + b"\nAT Hands"
    got = b""
    s.setblocking(False)
    data = body + b"\nIAMAT after-long +1+1 1\n"
    sent = 0
    deadline = time.monotonic() + 20
    while (sent < len(data) or not got.endswith(b"\n") or len(got) < len(want)) \
            and time.monotonic() < deadline:
        if sent < len(data):
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        try:
            b = s.recv(1 << 20)
            if not b:
                break
            got += b
        except BlockingIOError:
            time.sleep(0.001)
    s.close()
    assert got.startswith(want), (len(got), got[:10], got[-60:])
    assert got.endswith(b" after-long +1+1 1\n")


def test_long_line_after_pending_lookup():
    """An over-long line held back behind a slow WHATSAT goes on when the
    lookup ends (the connection used to hang there for good)."""
    fp, port = start_fakeplaces()
    h = Herd(links={"Solo": []}, places=google_places(port, "delay=0.3"))
    try:
        h.start("Solo")
        h.ask("Solo", "IAMAT slow +1+1 1\n")
        s = h.connect("Solo", timeout=5)
        long = b"y" * (CLIENT_LINE_MAX + 5000)
        s.sendall(b"WHATSAT slow 5 1\n" + long + b"\nIAMAT next +1+1 1\n")
        s.shutdown(socket.SHUT_WR)
        got = read_all(s)
        s.close()
        assert got.startswith(b"AT Solo "), got[:60]
        i = got.index(b"\n\n") + 2
        assert got[i:].startswith(b"? " + long + b"\nAT Solo "), got[i:i + 40]
        assert got.endswith(b" next +1+1 1\n"), got[-60:]
    finally:
        h.stop()
        fp.kill()
        fp.wait()


def test_log_of_replies_behind_a_slow_reader():
    """Replies queued behind a partly written output are logged as sent
    (the log used to read them at a stale offset, past the buffer)."""
    h = Herd(links={"Solo": []})
    try:
        h.start("Solo")
        s = h.connect("Solo", timeout=30)
        pad = "p" * 3000
        n = 2000
        data = "".join("IAMAT %05d-%s +1+1 1\n" % (i, pad)
                       for i in range(n)).encode()
        s.setblocking(False)
        sent = 0
        try:                    # fill the node's output before reading
            while sent < len(data):
                sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
        time.sleep(0.2)
        out = exchange(s, data[sent:])
        s.close()
        assert out.count(b"\n") == n, out.count(b"\n")
        assert h.procs["Solo"].poll() is None, h.stderr("Solo")
        assert wait_for(lambda: "%05d-" % (n - 1) in h.log("Solo"), 5, 0.02), \
            "timed out waiting for the log"
        log = h.log("Solo")
        got = re.findall(r"client \d+ sent AT Solo \S+ (\d{5})-p", log)
        assert got == ["%05d" % i for i in range(n)], \
            [(i, x) for i, x in enumerate(got) if x != "%05d" % i][:3]
        assert len(re.findall(r"client \d+ sent ", log)) == n
    finally:
        h.stop()


def test_slow_reader_does_not_stall_others():
    """A client that never reads its replies does not stall the node."""
    hog = H.connect("Holiday")
    hog.setblocking(False)
    H.ask("Holiday", "IAMAT hog +34-118 %s\n" % ts(now_ns()))
    payload = b"WHATSAT hog 50 20\n" * 2000
    sent = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            sent += hog.send(payload)
        except BlockingIOError:
            break
    start = time.monotonic()
    out = H.ask("Holiday", "IAMAT other +1+1 1\n")
    assert out.startswith(b"AT Holiday "), out
    assert time.monotonic() - start < 2
    hog.close()


def test_peer_port_refuses_clients():
    """Updates enter only from peers: the peer port wants a neighbour's HELLO."""
    s = socket.create_connection(("127.0.0.1", H.peer_port["Goloman"]), 5)
    s.settimeout(5)
    s.sendall(b"UPDATE AT Goloman +0.000000001 forged +1+1 99999999999\n")
    assert read_all(s).startswith(b"ERROR expected HELLO")
    s.close()
    s = socket.create_connection(("127.0.0.1", H.peer_port["Goloman"]), 5)
    s.settimeout(5)
    s.sendall(b"HELLO 1 Welsh Goloman\n")     # Welsh is not Goloman's neighbour
    assert read_all(s).startswith(b"ERROR not a neighbour")
    s.close()
    time.sleep(0.2)
    assert H.whatsat("Goloman", "forged", 1, 1).startswith("?")


def test_peer_that_does_not_read_pongs():
    """A neighbour that PINGs without reading the PONGs is dropped instead
    of making the node buffer them without bound."""
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        s = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        s.sendall(b"HELLO 1 B A\n")
        assert read_until(s, b"\n").startswith(b"OK 1 A")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        chunk = b"PING\n" * 20000
        sent, limit = 0, 200 * 1024 * 1024
        s.settimeout(0.5)
        try:
            while sent < limit:
                sent += s.send(chunk)
        except (socket.timeout, OSError):
            pass
        s.close()
        assert sent < limit, "the node read %d bytes of PINGs" % sent
        pid = h.procs["A"].pid
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        assert rss < 100 * 1024, "RSS %d kB" % rss
    finally:
        h.stop()


def test_newer_peer_connection_replaces_older():
    """A neighbour has one stream to us (its struct neighbour's in): a
    newer connection that proves to be it replaces the older one, which
    the node closes at once instead of keeping it until it falls silent."""
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        old = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        old.sendall(b"HELLO 1 B A\n")
        assert b"SINCE" in read_until(old, b"SINCE"), "no SINCE"
        new = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        new.sendall(b"HELLO 1 B A\n")
        assert b"SINCE" in read_until(new, b"SINCE"), "no SINCE"
        old.settimeout(5)
        rest = b""
        while True:
            b = old.recv(4096)
            if not b:
                break
            rest += b
        assert wait_for(lambda: "replaced by a new connection" in
                        h.log("A"), 5), "not logged"
        new.sendall(b"PING\n")
        assert b"PONG" in read_until(new, b"PONG"), "the newer one is gone"
        old.close()
        new.close()
    finally:
        h.stop()


def test_peer_accept_out_of_descriptors():
    """Out of descriptors, the peer port pauses accepting as the client
    port does, instead of spinning on accept and flooding the log."""
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A", max_fds=48)
        clients = []
        for _ in range(60):         # more than the node can accept
            clients.append(socket.create_connection(
                ("127.0.0.1", h.port["A"]), 5))
        assert wait_for(lambda: "accept: pausing" in h.log("A"), 5, 0.02), \
            "timed out waiting for EMFILE"
        p = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        time.sleep(1.0)
        n = len(re.findall(r"peer accept", h.log("A")))
        assert n < 30, "%d peer accept warnings in a second" % n
        for c in clients:
            c.close()
        # descriptors again: the neighbour's connection is served
        p.settimeout(5)
        p.sendall(b"HELLO 1 B A\n")
        assert read_until(p, b"\n").startswith(b"OK 1 A"), "no OK"
        p.close()
    finally:
        h.stop()


def test_logs_written():
    H.ask("Welsh", "IAMAT logged +1+1 1\nnonsense\n")
    assert wait_for(lambda: "client" in H.log("Welsh") and "nonsense" in H.log("Welsh"), 3, 0.02), \
        "timed out waiting for the log"
    log = H.log("Welsh")
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z Welsh: "
    assert re.search(stamp + r"client \d+ connected from 127\.0\.0\.1:\d+$", log, re.M)
    assert re.search(stamp + r"client \d+ recv IAMAT logged \+1\+1 1$", log, re.M)
    assert re.search(stamp + r"client \d+ sent AT Welsh [+-]\d+\.\d{9} logged", log, re.M)
    assert re.search(stamp + r"client \d+ sent \? nonsense$", log, re.M)
    assert re.search(stamp + r"client \d+ .* closed", log, re.M)
    assert re.search(stamp + r"peer Holiday connected from", log, re.M)
    assert re.search(stamp + r"link to Holiday up", log, re.M)
    assert re.search(r"peer Holiday recv UPDATE AT ", H.log("Welsh"), re.M)


def test_neighbour_death_and_return():
    """Holiday is Welsh's only link: kill it, update elsewhere, bring it back."""
    h = Herd()
    try:
        h.start_all()
        h.wait_links()
        h.kill("Holiday")
        assert wait_for(lambda: not h.link_up("Welsh", "Holiday"), 5, 0.02), \
            "timed out waiting for Welsh to see the drop"
        assert "link to Holiday down" in h.log("Welsh")
        # the herd keeps serving
        t = ts(now_ns())
        at = h.ask("Goloman", "IAMAT missed +1+1 %s\n" % t).decode()
        assert h.whatsat("Welsh", "missed", 1, 1).startswith("?"), \
            "Welsh cannot know yet"
        h.start("Holiday")
        h.wait_links(["Welsh", "Holiday", "Goloman", "Wilkes"])
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("Welsh", "missed", 1, 1)), 5, 0.02)
        assert got, "timed out waiting for catch-up at Welsh"
        assert got.split("\n")[0] + "\n" == at
        log = h.log("Welsh")
        assert log.index("link to Holiday down") < log.rindex("link to Holiday up")
        # and flooding works through the restarted node again
        at2 = h.ask("Hands", "IAMAT after +2+2 %s\n" % ts(now_ns())).decode()
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("Welsh", "after", 1, 1)), 5, 0.02)
        assert got, "timed out waiting for flood through Holiday"
        assert got.split("\n")[0] + "\n" == at2
    finally:
        h.stop()


def test_large_catch_up_streams():
    """A catch-up many times the link's output chunk arrives whole."""
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        n = 20000
        t = now_ns()
        s = h.connect("A", timeout=30)
        s.sendall("".join("IAMAT client-%05d +%d.5-%d.25 %s\n" % (
            i, i % 80, i % 170, ts(t + i)) for i in range(n)).encode())
        s.shutdown(socket.SHUT_WR)
        assert read_all(s).count(b"\n") == n
        s.close()
        h.start("B")
        assert wait_for(lambda: re.search(r"peer A: caught up \(%d records\)" % n,
                                   h.log("B")), 20, 0.02), \
            "timed out waiting for B to catch up"
        assert "link to B: sent %d records" % n in h.log("A")
        for i in (0, 1, n // 2, n - 1):
            got = h.whatsat("B", "client-%05d" % i, 1, 1)
            assert got.startswith("AT A ") and " %s\n" % ts(t + i) in got, got
    finally:
        h.stop()


def test_neighbour_by_name():
    """Neighbours may be given by name: looked up without blocking."""
    h = Herd(links={"A": ["B"], "B": []}, hosts={"B": "localhost"})
    try:
        h.start("A")
        h.start("B")
        h.wait_links()
        t = ts(now_ns())
        h.ask("A", "IAMAT named +1+1 %s\n" % t)
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("B", "named", 1, 1)), 5, 0.02)
        assert got, "timed out waiting for the update at B"
        assert got.startswith("AT A ")
    finally:
        h.stop()


def v6_loopback():
    """::1 can be bound here."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def name_addrs(name):
    """The addresses name resolves to here, in order."""
    try:
        return [a[4][0] for a in socket.getaddrinfo(name, 1, 0,
                                                     socket.SOCK_STREAM)]
    except OSError:
        return []


def hosts_wrap(h, tag, text):
    """A wrap for Herd.start: the node sees /etc/hosts as text (a private
    mount namespace), or None when that takes root and unshare(1) and
    this is not root."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    path = os.path.join(h.dir, "hosts." + tag)
    with open(path, "w") as f:
        f.write(text)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', path]


def answers(family, addr, port):
    try:
        with socket.socket(family) as s:
            s.settimeout(2)
            s.connect((addr, port))
            s.sendall(b"IAMAT probe +1+1 1\n")
            s.shutdown(socket.SHUT_WR)
            return read_all(s).startswith(b"AT ")
    except OSError:
        return False


def test_localhost_on_every_address():
    """host = localhost listens on every address the name has (127.0.0.1
    and ::1 where /etc/hosts maps it to both, as on Debian), client and
    peer ports alike, and neighbours dialling it by name link up.  Where
    this machine's /etc/hosts maps localhost to 127.0.0.1 only, the nodes
    run with a private /etc/hosts that maps it to both."""
    if not v6_loopback():
        print("# skip: no IPv6 loopback (::1) on this machine")
        return
    h = Herd(links={"A": ["B"], "B": []},
             hosts={"A": "localhost", "B": "localhost"})
    try:
        wrap = ()
        if "::1" not in name_addrs("localhost") or \
                "127.0.0.1" not in name_addrs("localhost"):
            wrap = hosts_wrap(h, "dual", "127.0.0.1 localhost\n"
                              "::1 localhost ip6-localhost\n")
            if wrap is None:
                print("# skip: localhost is not both 127.0.0.1 and ::1 here, "
                      "and a private /etc/hosts takes root and unshare(1)")
                return
        h.start("A", wrap=wrap)
        h.start("B", wrap=wrap)
        for name in "AB":
            assert answers(socket.AF_INET, "127.0.0.1", h.port[name]), \
                "%s on 127.0.0.1" % name
            assert answers(socket.AF_INET6, "::1", h.port[name]), \
                "%s on ::1" % name
            for fam, addr in ((socket.AF_INET, "127.0.0.1"),
                              (socket.AF_INET6, "::1")):
                socket.create_connection((addr, h.peer_port[name]), 2).close()
        h.wait_links()
        t = ts(now_ns())
        h.ask("A", "IAMAT dual +1+1 %s\n" % t)
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("B", "dual", 1, 1)), 5, 0.02)
        assert got, "timed out waiting for the update at B"
        assert got.startswith("AT A ")
    finally:
        h.stop()


def test_neighbour_name_tries_each_address():
    """A neighbour whose name has two addresses, the first refusing: the
    link dials the second and comes up.  A sees herd-dual as ::1 then
    127.0.0.1; B, which listens on herd-dual, sees only 127.0.0.1."""
    h = Herd(links={"A": ["B"], "B": []}, hosts={"B": "herd-dual"})
    try:
        wrap_a = hosts_wrap(h, "a", "::1 herd-dual\n127.0.0.1 herd-dual\n")
        wrap_b = hosts_wrap(h, "b", "127.0.0.1 herd-dual\n")
        if wrap_a is None or not v6_loopback():
            print("# skip: needs root, unshare(1) and ::1")
            return
        order = subprocess.run(wrap_a + ["getent", "ahosts", "herd-dual"],
                               capture_output=True, text=True, timeout=10)
        assert order.stdout.split()[:1] == ["::1"], order.stdout
        h.start("B", wrap=wrap_b)
        h.start("A", wrap=wrap_a)
        h.wait_links()
        t = ts(now_ns())
        h.ask("A", "IAMAT twoaddr +1+1 %s\n" % t)
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("B", "twoaddr", 1, 1)), 5, 0.02)
        assert got, "timed out waiting for the update at B"
        assert got.startswith("AT A ")
    finally:
        h.stop()


def test_stuck_name_lookup_does_not_stall():
    """A neighbour whose name the DNS never answers for: the node serves
    its clients meanwhile.  Runs the node in a mount namespace whose
    resolv.conf points at a resolver that swallows every query."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("# skip: needs root and unshare(1)")
        return
    h = Herd(links={"A": ["B"], "B": []}, hosts={"B": "herd-blackhole.invalid"})
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dns.bind(("127.0.0.77", 53))
        dns.settimeout(5)
        resolv = os.path.join(h.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.77\noptions timeout:4 attempts:1\n")
        wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv]
        h.start("A", wrap=wrap)
        dns.recvfrom(512)           # the node did ask the DNS
        worst = 0.0
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            start = time.monotonic()
            out = h.ask("A", "IAMAT meanwhile +1+1 1\n")
            worst = max(worst, time.monotonic() - start)
            assert out.startswith(b"AT A "), out
            time.sleep(0.05)
        assert worst < 1.0, "a client waited %.2f s" % worst
        assert wait_for(lambda: "link to B not up yet: herd-blackhole.invalid:"
                 in h.log("A"), 10, 0.02), \
            "timed out waiting for the lookup to fail"
    finally:
        dns.close()
        h.stop()


def test_sigterm_flushes_and_exits_0():
    h = Herd(links={"Solo": []})
    try:
        h.start("Solo")
        h.ask("Solo", "IAMAT last-words +1+1 1\n")
        assert h.kill("Solo", signal.SIGTERM) == 0
        log = h.log("Solo")
        assert re.search(r"client \d+ recv IAMAT last-words", log), log
        assert log.rstrip().endswith("Solo: stopped"), log[-200:]
    finally:
        h.stop()


NOTHING_SEEN = b"SINCE 0000000000000000 0\n"   # a listener new to the stream


def fake_neighbour(h, name, ok=b"OK 1 %s\n" + NOTHING_SEEN):
    """Listen on name's peer port, accept one link, say OK (and SINCE:
    nothing of the stream seen yet), read nothing."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", h.peer_port[name]))
    ls.listen(4)
    ls.settimeout(10)
    c, _ = ls.accept()
    c.settimeout(10)
    hello = read_until(c, b"\n")
    assert hello.startswith(b"HELLO 1 ") and hello.split()[3] == name.encode(), hello
    c.sendall(ok.replace(b"%s", name.encode()))
    return ls, c


def test_link_refuses_other_version_or_name():
    """An OK for another protocol version or from another server does not
    bring the link up."""
    for ok in (b"OK 2 %s\n", b"OK 1 Other\n", b"PONG\n"):
        h = Herd(links={"A": ["B"], "B": []})
        try:
            h.start("A")
            ls, c = fake_neighbour(h, "B", ok)
            assert wait_for(lambda: "link to B refused" in h.log("A"), 5, 0.02), \
                "timed out waiting for the drop"
            assert "link to B up" not in h.log("A"), ok
            # a link that was never up is not reported as going down
            assert "link to B not up yet" in h.log("A")
            assert "link to B down" not in h.log("A")
            c.close()
            ls.close()
        finally:
            h.stop()


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
    h = Herd(links={"A": ["B"], "B": ["C"], "C": []}, secret=SECRET)
    try:
        h.start_all()
        h.wait_links()
        t = ts(now_ns())
        at = h.ask("A", "IAMAT sec +34.068930-118.445127 %s\n" % t).decode()
        got = wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            h.whatsat("C", "sec", 10, 1)), 5, 0.02)
        assert got, "timed out waiting for the update at C"
        assert got.split("\n", 1)[0] + "\n" == at, (got, at)
        log = h.log("B")
        assert re.search(r"peer A sent HELLO 2 B A [0-9a-f]{32}$", log, re.M), log
        assert re.search(r"recv CHALLENGE [0-9a-f]{32}$", log, re.M), log
        assert re.search(r"peer A recv OK 2 A [0-9a-f]{64}$", log, re.M), log
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
    h = Herd(links={"A": ["B"], "B": []}, secret=SECRET,
             extra_herd="peer_tls = off")
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
        at = h.ask("A", "IAMAT real +1+1 %s\n" % ts(now_ns())).decode()
        assert wait_for(lambda: h.whatsat("B", "real", 1, 1).startswith(at), 5, 0.02), \
            "timed out waiting for flood"
    finally:
        h.stop()


def test_tls_plain_text_peer_refused():
    """With a secret, a peer port speaks TLS 1.3 only: a plain-text HELLO,
    a TLS 1.2 ClientHello and a connection that says nothing are each
    refused and logged once; nothing is stored and the real link goes on."""
    import ssl
    h = Herd(links={"A": ["B"], "B": []}, secret=SECRET)
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
        at = h.ask("A", "IAMAT real +1+1 %s\n" % ts(now_ns())).decode()
        assert wait_for(lambda: h.whatsat("B", "real", 1, 1).startswith(at), 5,
                        0.02), "timed out waiting for flood"
        assert "link to B: TLS up (herd1:" in h.log("A"), h.log("A")
    finally:
        h.stop()


def test_different_secrets_never_link():
    """Two secrets: TLS refuses each dialler's key, and each side says
    which key it saw, once."""
    h = Herd(links={"A": ["B"], "B": []})
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
        t = ts(now_ns())
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
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A", env={"HERD_SECRET": SECRET})
        h.start("B")
        assert wait_for(lambda: 'TLS: not TLS: the dialler sent "HELLO 1 B A"'
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
    h = Herd(links={"A": ["B"], "B": []}, extra_herd="peer_tls = off")
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
    h = Herd(links={"A": ["B"], "B": []}, secret=SECRET,
             extra_herd="peer_tls = off")
    try:
        h.start("A")
        h.ask("A", "IAMAT secretive +1+1 %s\n" % ts(now_ns()))
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
    h = Herd(links={"Solo": []}, secret=SECRET)
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
    finally:
        h.stop()


def test_sigterm_during_catch_up():
    """SIGTERM while a catch-up is stuck on a neighbour that does not read:
    a clean exit 0 (the walk's cursor used to outlive its link)."""
    h = Herd(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        s = h.connect("A", timeout=30)
        pad = "p" * 4000
        n = 4000
        out = exchange(s, "".join("IAMAT %s-%d +1+1 1\n" % (pad, i)
                                  for i in range(n)).encode())
        assert out.count(b"\n") == n
        s.close()
        ls, c = fake_neighbour(h, "B")
        assert wait_for(lambda: "link to B up" in h.log("A"), 10, 0.02), \
            "timed out waiting for the link"
        time.sleep(0.3)
        assert "link to B: sent" not in h.log("A"), "the catch-up ended"
        assert h.kill("A", signal.SIGTERM) == 0
        err = h.stderr("A")
        assert "Sanitizer" not in err and "runtime error" not in err, err
        c.close()
        ls.close()
    finally:
        h.stop()


def test_sighup_reopens_log():
    h = Herd(links={"Solo": []})
    try:
        h.start("Solo")
        os.rename(h.log_path("Solo"), h.log_path("Solo") + ".1")
        h.procs["Solo"].send_signal(signal.SIGHUP)
        assert wait_for(lambda: "log reopened" in h.log("Solo"), 5, 0.02), \
            "timed out waiting for a new log"
        h.ask("Solo", "IAMAT rotated +1+1 1\n")
        assert wait_for(lambda: "recv IAMAT rotated" in h.log("Solo"), 5, 0.02), \
            "timed out waiting for the line"
        assert h.procs["Solo"].poll() is None
    finally:
        h.stop()


def test_config_errors_exit_78():
    h = Herd(links={"Solo": []})
    try:
        with open(h.conf, "a") as f:
            f.write("[server Solo]\nport = 1\n")
        p = subprocess.run([NODE, "-f", h.conf, "Solo"], capture_output=True,
                           timeout=10)
        assert p.returncode == 78, p
        assert re.search(rb"herd\.ini:\d+: server Solo defined twice", p.stderr)
        h.write_conf()
        p = subprocess.run([NODE, "-f", h.conf, "Nobody"], capture_output=True,
                           timeout=10)
        assert p.returncode == 78 and b"no [server Nobody]" in p.stderr, p
        p = subprocess.run([NODE], capture_output=True, timeout=10)
        assert p.returncode == 64 and b"usage:" in p.stderr, p
    finally:
        h.stop()


def test_many_clients_memory_bounded():
    """Garbage from many connections at once: all answered, RSS stays small."""
    socks = [H.connect("Goloman") for _ in range(50)]
    junk = bytes(range(256)).replace(b"\n", b"") * 64
    for s in socks:
        s.sendall(junk + b"\n")
    for s in socks:
        assert read_until(s, b"\n").startswith(b"? ")
        s.close()
    pid = H.procs["Goloman"].pid
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    assert rss < 200 * 1024, "RSS %d kB" % rss


def teardown():
    if H:
        H.stop()


if __name__ == "__main__":
    setup()
    try:
        run([test_iamat_byte_exact, test_negative_difference, test_fraction_digits,
             test_flood_three_hops, test_flood_before_reply, test_newest_wins,
             test_pipelining_in_order, test_whatsat_format,
             test_half_close_and_last_line, test_invalid_lines,
             test_long_line_bounded, test_long_line_after_pending_lookup,
             test_log_of_replies_behind_a_slow_reader,
             test_slow_reader_does_not_stall_others,
             test_peer_port_refuses_clients, test_peer_that_does_not_read_pongs,
             test_newer_peer_connection_replaces_older,
             test_peer_accept_out_of_descriptors, test_logs_written,
             test_neighbour_death_and_return, test_large_catch_up_streams,
             test_neighbour_by_name, test_localhost_on_every_address,
             test_neighbour_name_tries_each_address,
             test_stuck_name_lookup_does_not_stall,
             test_sigterm_flushes_and_exits_0, test_sigterm_during_catch_up,
             test_link_refuses_other_version_or_name,
             test_secret_links_and_floods, test_secret_forged_peer_refused,
             test_tls_plain_text_peer_refused,
             test_different_secrets_never_link, test_secret_and_no_secret_refuse,
             test_impostor_listener_gets_no_update, test_secret_file_errors_exit_78,
             test_sighup_reopens_log, test_config_errors_exit_78, test_many_clients_memory_bounded])
    finally:
        teardown()
