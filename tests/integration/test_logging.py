#!/usr/bin/env python3
"""Integration tests of [herd] log_level and log_dir = -, and of replies
pipelined deep across partial writes: real herd-node processes on
loopback (herd.ini(5), herd-node(8))."""
import os
import re
import socket
import sys
import time

from herdlib import exchange, wait_for
from herds import Separate
from tap import run


def traffic(h, name="A"):
    """One IAMAT, one WHATSAT and one bad line, then the connection ends."""
    s = h.connect(name)
    try:
        exchange(s, b"IAMAT lv +1.5-2.5 1700000000.5\nWHATSAT lv 10 1\n"
                    b"nonsense\n")
    finally:
        s.close()


def settle(h, name, what):
    assert wait_for(lambda: what in h.log(name) or what in h.stderr(name), 5, 0.02), \
        "timed out waiting for " + what
    time.sleep(0.1)


def test_levels():
    """info: every line; notice: connections but no protocol lines;
    warning and error: neither; debug: debugging events too."""
    seen = {}
    for level in ("debug", "info", "notice", "warning", "error"):
        h = Separate(links={"A": ["B"], "B": []},
                 herd="log_level = %s" % level)
        try:
            h.start_all()
            if level in ("debug", "info", "notice"):
                h.wait_links()
            else:
                time.sleep(0.5)
            traffic(h)
            if level in ("debug", "info", "notice"):
                settle(h, "A", "closed (end of input")
            else:
                time.sleep(0.3)
            h.kill("A", 15)
            seen[level] = h.log("A")
        finally:
            h.stop()
    info = seen["info"]
    assert re.search(r"client \d+ recv IAMAT lv \+1.5-2.5 1700000000.5",
                     info), info
    assert re.search(r"client \d+ sent AT A [+-]\d+\.\d{9} lv ", info), info
    assert re.search(r"client \d+ sent \? nonsense", info), info
    assert "connected from" in info, info
    assert "peer connection from" not in info, "a debug event at info"
    notice = seen["notice"]
    assert re.search(r"client \d+ connected from", notice), notice
    assert "link to B up" in notice and "recv IAMAT" not in notice
    assert "sent AT" not in notice and "? nonsense" not in notice, notice
    debug = seen["debug"]
    assert "peer connection from" in debug and "recv IAMAT" in debug, debug
    for level in ("warning", "error"):
        assert "connected from" not in seen[level], seen[level]
        assert "recv IAMAT" not in seen[level], seen[level]
    # warnings stay at warning: the unauthenticated-links warning
    assert "not authenticated" in seen["warning"], seen["warning"]
    assert "not authenticated" not in seen["error"], seen["error"]


def test_log_dir_stderr():
    """log_dir = -: one event per line on standard error, named; no file."""
    h = Separate(links={"A": []}, herd="log_dir = -")
    try:
        h.start("A")
        traffic(h)
        settle(h, "A", "closed (end of input")
        h.kill("A", 15)
        err = h.stderr("A")
        assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z A: client \d+ "
                         r"recv IAMAT lv ", err, re.M), err
        assert all(re.match(r"\d{4}-\S+Z A: ", l) for l in
                   err.splitlines() if l), err
        assert not os.path.exists(os.path.join(h.dir, "log", "A.log"))
        assert not os.path.exists(os.path.join(h.dir, "-"))
    finally:
        h.stop()


def test_deep_pipeline_partial_writes():
    """1,000 commands in one write, read back slowly through a small
    receive buffer: every reply whole and in order."""
    h = Separate(links={"A": []})
    try:
        h.start("A")
        cmds, want = [], []
        for i in range(1000):
            if i % 3 == 2:
                cmds.append("WHATSAT p%d 10 2\n" % (i - 1))
                want.append(("W", "p%d" % (i - 1)))
            elif i % 3 == 1:
                cmds.append("IAMAT p%d +34.068930-118.445127 17000000%02d.5\n"
                            % (i, i % 100))
                want.append(("I", "p%d" % i))
            else:
                cmds.append("bad %d\n" % i)
                want.append(("?", "bad %d" % i))
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", h.port["A"]))
        s.settimeout(10)
        s.sendall("".join(cmds).encode())
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            time.sleep(0.001)               # a slow reader
            b = s.recv(1500)
            if not b:
                break
            buf += b
        s.close()
        out = buf.decode()
        k = 0
        for kind, what in want:
            if kind == "?":
                line = "? %s\n" % what
                assert out.startswith(line, k), (what, out[k:k + 200])
                k += len(line)
            elif kind == "I":
                e = out.index("\n", k)
                assert re.match(r"AT A [+-]\d+\.\d{9} %s " % what, out[k:e]), \
                    out[k:e]
                k = e + 1
            else:
                e = out.index("\n\n", k)
                body = out[k:e]
                assert body.startswith("AT A ") and " %s " % what in \
                    body.split("\n")[0], body[:200]
                assert body.rstrip().endswith("}"), body[-200:]
                k = e + 2
        assert k == len(out), "trailing bytes: %r" % out[k:k + 100]
    finally:
        h.stop()


if __name__ == "__main__":
    sys.exit(run([test_levels, test_log_dir_stderr,
                  test_deep_pipeline_partial_writes]))
