#!/usr/bin/env python3
"""Integration tests of herd-node's client side, and of its ports against
strangers and neighbours that misbehave: real processes on loopback, most
against one shared herd of five.  The peer links are test_peers.py's."""
import json
import os
import re
import signal
import select
import math
import socket
import struct
import subprocess
import sys
import time

from herdlib import DATASET, exchange, read_all, read_until, ts, wait_for
from herds import NODE, Separate, google_places, start_fakeplaces
from tap import run

CLIENT_LINE_MAX = 64 * 1024    # node/client.h
AT_RE = re.compile(r"^AT (\S+) ([+-]\d+\.\d{9}) (\S+) (\S+) (\S+)$")
H = None  # the shared herd


def setup():
    global H
    H = Separate()
    H.start_all()
    H.wait_links()


def test_iamat_byte_exact():
    t = time.time_ns()
    line = "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 %s" % ts(t)
    before = time.time_ns()
    reply = H.ask("Goloman", line + "\n").decode()
    after = time.time_ns()
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
    t = time.time_ns() + 3600 * 10**9
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
    t = ts(time.time_ns())
    at = H.ask("Hands", "IAMAT hop3 +34.068930-118.445127 %s\n" % t).decode()
    # Hands -> Goloman|Wilkes -> Holiday -> Welsh
    got = H.known("Welsh", "hop3", 10, 3)
    assert got, "timed out waiting for the update at Welsh"
    assert got.split("\n", 1)[0] + "\n" == at, (got, at)
    doc = json.loads(got.split("\n", 1)[1])
    assert doc["status"] == "OK" and 1 <= len(doc["results"]) <= 3, doc


def test_flood_before_reply():
    """A neighbour asked right after the AT reply already knows."""
    for i in range(20):
        H.ask("Goloman", "IAMAT fast%d +10+10 %s\n" % (i, ts(time.time_ns())))
        r = H.whatsat("Hands", "fast%d" % i, 1, 1)
        assert r.startswith("AT Goloman "), (i, r)


def test_newest_wins():
    t1 = time.time_ns()
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
    t = time.time_ns()
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
    H.ask("Goloman", "IAMAT fmt +34.068930-118.445127 %s\n" % ts(time.time_ns()))
    out = H.whatsat("Goloman", "fmt", 10, 4)
    assert out.endswith("}\n\n") and "\n\n" not in out[:-2], repr(out[-50:])
    doc = json.loads(out.split("\n", 1)[1])
    assert len(doc["results"]) == 4
    assert "GeoNames" in doc["html_attributions"][0]
    out = H.whatsat("Goloman", "fmt", 0.001, 20)
    doc = json.loads(out.split("\n", 1)[1])
    assert doc["status"] == "ZERO_RESULTS" and doc["results"] == []


def offline_expected(lat, lng, radius_m, n):
    """The offline answer worked out here from data/cities.dat, apart from
    herd-node's code: the n places nearest lat, lng within radius_m by the
    chord between unit vectors (ties in file order), written as json-c
    prints the document (herd-node's flags, offline_json.c's shape)."""
    with open(DATASET, "rb") as f:
        data = f.read()
    dec, count, strsize, attr = struct.unpack_from("<III", data, 12) + \
        struct.unpack_from("<I", data, 24)
    scale = 10 ** dec
    pool = data[32 + 16 * count:]

    def string(off):
        return pool[off:pool.index(b"\0", off)].decode()

    def unit(la, lo):
        p, q = math.radians(la), math.radians(lo)
        return (math.cos(p) * math.cos(q), math.cos(p) * math.sin(q),
                math.sin(p))

    def coord(v):
        a = abs(v)
        t = "%s%d.%0*d" % ("-" if v < 0 else "", a // scale, dec, a % scale)
        return t.rstrip("0").rstrip(".")

    px, py, pz = unit(lat, lng)
    s = 2 * math.sin(radius_m / 6371008.8 / 2)
    hits = []
    for i, (la, lo, nm, vi) in enumerate(struct.iter_unpack(
            "<iiII", data[32:32 + 16 * count])):
        if abs(la / scale - lat) > 1:
            continue
        x, y, z = unit(la / scale, lo / scale)
        d2 = (x - px) ** 2 + (y - py) ** 2 + (z - pz) ** 2
        if d2 <= s * s:
            hits.append((d2, i, la, lo, nm, vi))
    hits.sort()
    places = [
        "    {\n      \"geometry\":{\n        \"location\":{\n"
        "          \"lat\":%s,\n          \"lng\":%s\n        }\n      },\n"
        "      \"name\":%s,\n      \"types\":[\n        \"locality\",\n"
        "        \"political\"\n      ],\n      \"vicinity\":%s\n    }" % (
            coord(la), coord(lo), json.dumps(string(nm), ensure_ascii=False),
            json.dumps(string(vi), ensure_ascii=False))
        for _, _, la, lo, nm, vi in hits[:n]]
    return ("{\n  \"html_attributions\":[\n    %s\n  ],\n  \"results\":[\n"
            "%s%s  ],\n  \"status\":\"%s\"\n}\n\n" % (
                json.dumps(string(attr), ensure_ascii=False).replace(
                    "\\/", "/"), ",\n".join(places),
                "\n" if places else "", "OK" if places else "ZERO_RESULTS"))


def test_whatsat_offline_exact():
    """Places are written once and kept (offline_text.c): answers are still
    byte for byte the independent computation's, the same when asked
    again, and each client's own when two stand in one half-degree cell
    or one moves within it."""
    spots = [("cellA", 34.068930, -118.445127), ("cellB", 34.06893,
             -118.30), ("cellC", 34.2, -118.445127)]
    for cid, lat, lng in spots:
        H.ask("Hands", "IAMAT %s %+f%+f %s\n" % (cid, lat, lng,
              ts(time.time_ns())))
    answers = {}
    for rnd in range(2):
        for cid, lat, lng in spots:
            for radius, n in ((10, 5), (3, 20), (50, 1)):
                out = H.whatsat("Hands", cid, radius, n)
                body = out.split("\n", 1)[1]
                assert body == offline_expected(lat, lng, radius * 1000, n), \
                    (cid, radius, n, body[:300])
                key = (cid, radius, n)
                assert answers.setdefault(key, out) == out, key
    for radius, n in ((10, 5), (3, 20)):
        assert answers[("cellA", radius, n)].split("\n", 1)[1] != \
            answers[("cellB", radius, n)].split("\n", 1)[1]
    # cellA moves within its cell: its answer follows
    H.ask("Hands", "IAMAT cellA +34.2-118.445127 %s\n" % ts(time.time_ns()))
    out = H.whatsat("Hands", "cellA", 10, 5).split("\n", 1)[1]
    assert out == offline_expected(34.2, -118.445127, 10000, 5)
    assert out != answers[("cellA", 10, 5)].split("\n", 1)[1]


def test_half_close_and_last_line():
    t = ts(time.time_ns())
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
    h = Separate(links={"Solo": []}, places=google_places(port, "delay=0.3"))
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
    h = Separate(links={"Solo": []})
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
    H.ask("Holiday", "IAMAT hog +34-118 %s\n" % ts(time.time_ns()))
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
    h = Separate(links={"A": ["B"], "B": []})
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
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        old = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        old.sendall(b"HELLO 1 B A\n")
        assert b"SINCE" in read_until(old, b"SINCE"), "no SINCE"
        new = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        new.sendall(b"HELLO 1 B A\n")
        assert b"SINCE" in read_until(new, b"SINCE"), "no SINCE"
        old.settimeout(5)
        read_all(old)               # to its end: the node closed it
        assert wait_for(lambda: "replaced by a new connection" in
                        h.log("A"), 5), "not logged"
        new.sendall(b"PING\n")
        assert b"PONG" in read_until(new, b"PONG"), "the newer one is gone"
        old.close()
        new.close()
    finally:
        h.stop()


def test_accept_out_of_descriptors():
    """Out of descriptors, accept goes on (a descriptor held in reserve):
    each connection past the last descriptor is closed at once, so the
    caller hears an end at once instead of waiting in the queue; said at
    most once a second; with descriptors again, both ports serve."""
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A", max_fds=48)
        clients = []
        for _ in range(60):         # more than the node can hold
            clients.append(socket.create_connection(
                ("127.0.0.1", h.port["A"]), 5))
        # those past the last descriptor end, one by one as the node takes
        # them from its queue: gather them for up to 3 s (select returns
        # at the first)
        shed, waiting, end = [], list(clients), time.monotonic() + 3
        while len(shed) < 10 and time.monotonic() < end:
            ready, _, _ = select.select(waiting, [], [],
                                        max(0, end - time.monotonic()))
            for c in ready:
                waiting.remove(c)
                if c.recv(16) == b"":
                    shed.append(c)
        assert len(shed) >= 10, "%d of 60 closed at once" % len(shed)
        assert wait_for(lambda: "refused: no descriptor left" in
                        h.log("A"), 5, 0.02), h.log("A")[-2000:]
        p = socket.create_connection(("127.0.0.1", h.peer_port["A"]), 5)
        p.settimeout(3)
        assert read_all(p) == b"", "a peer connection past the last " \
            "descriptor is closed at once too"
        n = len(re.findall(r"no descriptor left", h.log("A")))
        assert n <= 3, "%d warnings in a second" % n
        assert "pausing" not in h.log("A"), "accept paused"
        for c in clients:
            c.close()
        # descriptors again: the neighbour's connection is served. The node
        # frees the 60 descriptors as it reads their ends, which may come
        # after our next connect (seen under ASan): a connection shed in
        # that moment is reset, so ask again until it is answered, for 5 s.
        def hello():
            try:
                with socket.create_connection(
                        ("127.0.0.1", h.peer_port["A"]), 5) as p:
                    p.settimeout(5)
                    p.sendall(b"HELLO 1 B A\n")
                    return read_until(p, b"\n").startswith(b"OK 1 A")
            except (ConnectionResetError, BrokenPipeError):
                return False
        assert wait_for(hello, 5, 0.05), "no OK"
        # and a client (asked again the same way: the 60 clients' ends
        # that waited in the queue are still being taken)
        def iamat():
            try:
                with socket.create_connection(
                        ("127.0.0.1", h.port["A"]), 5) as c:
                    c.sendall(b"IAMAT back +1+1 1\n")
                    c.shutdown(socket.SHUT_WR)
                    c.settimeout(5)
                    return read_all(c).startswith(b"AT A ")
            except (ConnectionResetError, BrokenPipeError):
                return False
        assert wait_for(iamat, 5, 0.05), "a client is served"
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




def test_sigterm_flushes_and_exits_0():
    h = Separate(links={"Solo": []})
    try:
        h.start("Solo")
        h.ask("Solo", "IAMAT last-words +1+1 1\n")
        assert h.kill("Solo", signal.SIGTERM) == 0
        log = h.log("Solo")
        assert re.search(r"client \d+ recv IAMAT last-words", log), log
        assert log.rstrip().endswith("Solo: stopped"), log[-200:]
    finally:
        h.stop()



def test_sighup_reopens_log():
    h = Separate(links={"Solo": []})
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
    h = Separate(links={"Solo": []})
    try:
        with open(h.conf, "a") as f:
            f.write("[server Solo]\nport = 1\n")
        p = subprocess.run([NODE, "-f", h.conf, "Solo"], capture_output=True,
                           timeout=10)
        assert p.returncode == 78, p
        assert re.search(rb"herd\.ini:\d+: server Solo defined twice", p.stderr)
        h.write()
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
        sys.exit(run([test_iamat_byte_exact, test_negative_difference,
                      test_fraction_digits, test_flood_three_hops,
                      test_flood_before_reply, test_newest_wins,
                      test_pipelining_in_order, test_whatsat_format,
                      test_whatsat_offline_exact,
                      test_half_close_and_last_line, test_invalid_lines,
                      test_long_line_bounded,
                      test_long_line_after_pending_lookup,
                      test_log_of_replies_behind_a_slow_reader,
                      test_slow_reader_does_not_stall_others,
                      test_peer_port_refuses_clients,
                      test_peer_that_does_not_read_pongs,
                      test_newer_peer_connection_replaces_older,
                      test_accept_out_of_descriptors, test_logs_written,
                      test_sigterm_flushes_and_exits_0,
                      test_sighup_reopens_log, test_config_errors_exit_78,
                      test_many_clients_memory_bounded]))
    finally:
        teardown()
