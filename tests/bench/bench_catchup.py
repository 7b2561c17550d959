#!/usr/bin/env python3
"""bench_catchup.py -- what catch-up costs against the table's size.

Two herd-node processes, A and B, linked, each with a state_dir.  For each
table size (--sizes, default 10000,100000,1000000) A is loaded with that
many clients (pipelined IAMATs) and B catches up; then it measures:

  empty   B started with an empty state_dir: records/s and bytes sent
          (seconds: from B's "peer A connected" to "caught up", by B's log)
  flap    B restarted from its state_dir with nothing missed
  missed  B stopped, --missed (1000) updates sent to A, B restarted
  replay  the time B takes to read its journal back (from its log)

Bytes are what A's log says it sent on the link to B (the UPDATE lines of
the catch-up; the handshake, FROM, SEQ and SYNCED lines add ~200 bytes).
Not a test: run by hand, with an optimised build:

    python3 tests/bench/bench_catchup.py --build build-bench
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from herdlib import free_ports, wait_for  # noqa: E402


def conf(d, ports, fsync):
    with open(os.path.join(d, "herd.ini"), "w") as f:
        f.write("[herd]\nlog_dir = log\nstate_dir = state\nfsync = %s\n"
                "[places]\nbackend = offline\ndataset = %s\n"
                "[server A]\nhost = 127.0.0.1\nport = %d\npeer_port = %d\n"
                "neighbors = B\n"
                "[server B]\nhost = 127.0.0.1\nport = %d\npeer_port = %d\n"
                % (fsync, os.path.abspath(os.path.join(HERE, "..", "..", "data",
                                                        "cities.dat")),
                   *ports))
    return os.path.join(d, "herd.ini")


def log(d, name):
    try:
        with open(os.path.join(d, "log", name + ".log")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start(node, ini, name, port):
    p = subprocess.Popen([node, "-f", ini, name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.005)
    raise SystemExit("%s did not start" % name)


def load(port, n, base):
    """n pipelined IAMATs for ids c0..c(n-1), time stamps base + i."""
    s = socket.create_connection(("127.0.0.1", port))
    chunk = 20000
    got = 0
    for lo in range(0, n, chunk):
        data = "".join("IAMAT c%d +34.068930-118.445127 %d.%09d\n" %
                       (i, base, i) for i in range(lo, min(n, lo + chunk)))
        s.sendall(data.encode())
        want = min(n, lo + chunk)
        buf = b""
        while got < want:
            b = s.recv(1 << 20)
            if not b:
                raise SystemExit("A closed")
            got += b.count(b"\n")
    s.close()


def wait_log(d, name, pattern, after, timeout=120):
    m = wait_for(lambda: (lambda ms: ms[after] if len(ms) > after else None)(
        list(re.finditer(pattern, log(d, name)))), timeout, 0.002)
    if m:
        return m, time.monotonic()
    raise SystemExit("timed out waiting for %r in %s" % (pattern, name))


def stamp(line):
    """The time of a log line (its ISO 8601 stamp), in seconds."""
    import datetime
    t = datetime.datetime.strptime(line[:26], "%Y-%m-%dT%H:%M:%S.%f")
    return t.timestamp()


def transfer_s(d):
    """From B's last 'peer A connected' to its last 'caught up', by B's
    own log stamps: the catch-up alone, without B's start-up."""
    lines = log(d, "B").splitlines()
    t0 = [stamp(l) for l in lines if "B: peer A connected" in l][-1]
    t1 = [stamp(l) for l in lines if "B: peer A: caught up" in l][-1]
    return t1 - t0


def count(d, name, pattern):
    return len(re.findall(pattern, log(d, name)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--missed", type=int, default=1000)
    ap.add_argument("--fsync", default="everysec")
    a = ap.parse_args()
    node = os.path.join(a.build, "node", "herd-node")
    sent = r"link to B: sent (\d+) records \((\d+) bytes\)"
    caught = r"peer A: caught up \((\d+) records\)"
    replay = r"journal \S+: (\d+) records replayed, \d+ clients, epoch \w+, " \
        r"in ([0-9.]+) s"
    print("%-9s %-7s %10s %12s %9s %12s" % ("clients", "case", "records",
                                            "bytes", "seconds", "records/s"))
    for n in [int(x) for x in a.sizes.split(",")]:
        d = tempfile.mkdtemp(prefix="herdbench-")
        ports = free_ports(4)
        ini = conf(d, ports, a.fsync)
        pa = pb = None
        try:
            pa = start(node, ini, "A", ports[0])
            load(ports[0], n, 1700000000)
            # empty: B from nothing
            k = count(d, "B", caught)
            t0 = time.monotonic()
            pb = start(node, ini, "B", ports[2])
            m, t1 = wait_log(d, "B", caught, k)
            ms = list(re.finditer(sent, log(d, "A")))[-1]
            tx = transfer_s(d)
            print("%-9d %-7s %10s %12s %9.3f %12.0f   (%.3f s from exec)" % (
                n, "empty", ms.group(1), ms.group(2), tx,
                int(ms.group(1)) / max(tx, 1e-6), t1 - t0))
            # flap: B restarted with nothing missed
            for case, missed in (("flap", 0), ("missed", a.missed)):
                pb.send_signal(signal.SIGTERM)
                pb.wait(60)
                if missed:
                    load(ports[0], missed, 1800000000)
                k = count(d, "B", caught)
                ka = count(d, "A", sent)
                t0 = time.monotonic()
                pb = start(node, ini, "B", ports[2])
                m, t1 = wait_log(d, "B", caught, k)
                wait_log(d, "A", sent, ka)
                ms = list(re.finditer(sent, log(d, "A")))[-1]
                mr = list(re.finditer(replay, log(d, "B")))[-1]
                print("%-9d %-7s %10s %12s %9.3f %12s   (%.3f s from exec)" % (
                    n, case, ms.group(1), ms.group(2), transfer_s(d), "-",
                    t1 - t0))
            print("%-9d %-7s %10s %12s %9s %12s" % (
                n, "replay", mr.group(1), "-", mr.group(2),
                "%.0f" % (int(mr.group(1)) / max(float(mr.group(2)), 1e-6))))
        finally:
            for p in (pa, pb):
                if p and p.poll() is None:
                    p.kill()
                    p.wait()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
