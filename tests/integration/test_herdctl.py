#!/usr/bin/env python3
"""test_herdctl.py -- herdctl and herdd as commands: -h, --help and
--version answer with exit 0; herdctl reaches herdd through [herd] control
even when the rest of the file is broken (mid-edit), so status and
shutdown still work.  Real processes on 127.0.0.1, ephemeral ports, a
temporary directory removed at the end.  TAP; exit 77 when a binary is
missing."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import herds
from herdlib import wait_for
from herds import HERDCTL, HERDD, Supervised
from tap import ok


def run(*argv, timeout=10):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=timeout)


def test_help_and_version(top):
    for prog, name in ((HERDCTL, "herdctl"), (HERDD, "herdd")):
        for flag in ("-h", "--help"):
            r = run(prog, flag)
            ok(r.returncode == 0 and r.stdout.startswith("usage: " + name),
               "%s %s: usage on stdout, exit 0" % (name, flag),
               r.stdout + r.stderr)
        r = run(prog, "--version")
        ok(r.returncode == 0 and r.stdout.startswith(name + " 0."),
           "%s --version: %s" % (name, r.stdout.strip()), r.stderr)
    r = run(HERDCTL, "-x")
    ok(r.returncode == 64, "herdctl -x: usage error, exit 64", r.stderr)


def test_foreground_output(top):
    """Three servers under herdd, no secret configured: herdd makes one
    for its workers (their links authenticate, a forged HELLO is refused),
    says "herd up" once, and stops quietly (no link warnings)."""
    h = Supervised(top, "fg", {"A": ["B", "C"], "B": ["C"], "C": []})
    try:
        p = h.start()
        wait_for(lambda: "herd up" in h.stderr(), 15)
        time.sleep(0.5)                 # the links come up
        with socket.create_connection(("127.0.0.1", h.peer_port["A"]),
                                      5) as c:
            c.settimeout(5)
            c.sendall(b"HELLO 1 B A\n")     # a stranger posing as B
            try:
                answer = c.recv(200)
            except ConnectionResetError:
                answer = b""
        ok(answer == b"", "a forged plain-text HELLO is refused (the peer "
           "port speaks TLS)", answer)
        alog = wait_for(lambda: (lambda t: t if "not TLS" in t else None)(
            h.log("A")), 5) or h.log("A")
        ok("connected from" in alog and "(authenticated)" in alog,
           "the workers' links authenticate", alog[-1500:])
        ok("link to B: TLS up (herd1:" in alog and
           'not TLS: the dialler sent "HELLO 1 B A' in alog,
           "the workers' links speak TLS with herdd's secret", alog[-1500:])
        p.send_signal(signal.SIGINT)    # Ctrl-C
        p.wait(15)
        out = h.stderr()
        ok(out.count("not authenticated") == 0,
           "no secret warning: herdd made the herd's secret", out)
        ok(out.count("herd up: 3 servers ready in") == 1, "one herd-up line",
           out)
        ok("link to" not in out and "dropped" not in out,
           "a quiet stop: no link warnings", out)
    finally:
        h.stop()


def test_broken_file(top):
    # not the default name: herdctl -f has to read it from the file
    h = Supervised(top, "broken", {"Solo": []}, herd="control = ctl.sock")
    conf = h.conf
    try:
        p = h.start()
        deadline = time.monotonic() + 15
        st = None
        while time.monotonic() < deadline:
            r = run(HERDCTL, "-f", conf, "-j", "status")
            if r.returncode == 0:
                st = json.loads(r.stdout)
                if st["nodes"][0]["state"] == "running":
                    break
            time.sleep(0.1)
        ok(st is not None and st["nodes"][0]["state"] == "running",
           "the herd is up", st)
        # 64 connections that never finish a line: herdctl gets in again
        # once they idle out (CONTROL_IDLE_S, 5 s)
        stuck = []
        for i in range(100):
            c = socket.socket(socket.AF_UNIX)
            c.connect(h.sock)
            if i % 2 == 0:
                c.sendall(b"stat")       # a line never finished
            stuck.append(c)
        time.sleep(0.3)
        t0 = time.monotonic()
        r = run(HERDCTL, "-f", conf, "status")
        took = time.monotonic() - t0
        ok(r.returncode == 0 and "Solo" in r.stdout and took < 2,
           "100 idle control connections: herdctl still answers at once "
           "(%.2f s; the one silent longest gives its place)" % took,
           r.stdout + r.stderr)
        for c in stuck:
            c.close()
        # the file breaks (an edit in progress): herdctl still answers
        with open(conf, "a") as f:
            f.write("[server Solo\nnonsense = 1\nport = banana\n")
        r = run(HERDCTL, "-f", conf, "status")
        ok(r.returncode == 0 and "Solo" in r.stdout,
           "status with a broken file", r.stdout + r.stderr)
        r = run(HERDCTL, "-f", conf, "reload")
        ok(r.returncode != 0 and "reload refused" not in r.stdout and
           r.stderr, "reload of the broken file is refused, and said",
           r.stdout + r.stderr)
        r = run(HERDCTL, "-f", conf, "shutdown")
        ok(r.returncode == 0, "shutdown with a broken file",
           r.stdout + r.stderr)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, "herdd stopped, exit 0 (%s)" % rc)
        r = run(HERDCTL, "-f", os.path.join(h.dir, "missing.ini"), "status")
        ok(r.returncode == 78, "a missing file: exit 78", r.stderr)
    finally:
        h.stop()


def main():
    return herds.main((test_help_and_version, test_foreground_output,
                       test_broken_file), "herd-herdctl-", limit=110)


if __name__ == "__main__":
    sys.exit(main())
