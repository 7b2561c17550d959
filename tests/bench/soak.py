#!/usr/bin/env python3
"""soak.py -- the shipped five-server herd under herdd for a long while,
with faults, watching that nothing grows and nothing acknowledged is lost
(issue 20's soak; not in the timed suite).

    python3 tests/bench/soak.py --build build [--minutes 10] [--ids 20000]

Load: 8 client threads, each a connection per burst of 50 IAMATs (one in
five a WHATSAT) to a random server, then closing: clients connect and
leave all the time.  Ids come from a set of --ids, so the table fills in
the first seconds and then holds still.  Faults: a link cut every 30 s
(`ss -K` on one neighbour connection, when the kernel allows it), a
reload every 60 s (herdctl reload), a worker killed every 20 s (herdctl
kill, herdd restarts it).  Every 10 s: each process's resident memory,
open descriptors and journal size.  At the end, once the load stops and
the herd is quiet: every acknowledged report (the newest acked per id) is
held by every server, not older (acked / lost / stale, as Jepsen counts);
and each series' slope after the first minute (least squares, per
minute).  Nothing is asserted: the report is the result.
"""
import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))


def slope(points):
    """Least-squares slope of [(t, v)], per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / den if den \
        else 0.0


def proc_sample(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds
    except (OSError, AttributeError):
        return None


def held_at(port, ids):
    """{id: time stamp} of ids that the server at port holds: WHATSAT of
    each, pipelined on one connection."""
    from herdlib import exchange
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        out = exchange(s, "".join("WHATSAT %s 1 1\n" % i
                                  for i in ids).encode(), 300)
    held, skip = {}, False
    for line in out.decode(errors="replace").split("\n"):
        if skip:
            skip = line != ""
        elif line.startswith("AT "):
            f = line.split()
            if len(f) == 6:
                held[f[3]] = f[5]
            skip = True
    return held


class Load(threading.Thread):
    def __init__(self, h, ids, acked, lock, seed):
        super().__init__(daemon=True)
        self.h, self.ids, self.acked, self.lock = h, ids, acked, lock
        self.rnd = random.Random(seed)
        self.stop = False
        self.sent = self.errors = 0

    def run(self):
        while not self.stop:
            name = self.rnd.choice(self.h.names)
            batch, mine = [], []
            for _ in range(50):
                i = self.rnd.randrange(self.ids)
                if self.rnd.random() < 0.2:
                    batch.append("WHATSAT soak-%d 10 3\n" % i)
                    mine.append(None)
                else:
                    t = "%.9f" % time.time()
                    batch.append("IAMAT soak-%d +%d.0+%d.0 %s\n" % (
                        i, i % 80, i % 170, t))
                    mine.append(("soak-%d" % i, t))
            try:
                s = socket.create_connection(
                    ("127.0.0.1", self.h.port[name]), 5)
                s.settimeout(10)
                s.sendall("".join(batch).encode())
                s.shutdown(socket.SHUT_WR)
                buf = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
                s.close()
            except OSError:
                self.errors += 1
                continue
            # replies in order: an AT line answers an IAMAT; a WHATSAT's
            # reply is an AT line and JSON up to a blank line
            ats = [l for l in buf.decode(errors="replace").split("\n")
                   if l.startswith("AT ")]
            k = 0
            with self.lock:
                for m in mine:
                    if k >= len(ats):
                        break
                    if m is not None:
                        cid, t = m
                        f = ats[k].split()
                        if len(f) == 6 and f[3] == cid and f[5] == t:
                            old = self.acked.get(cid)
                            if old is None or float(t) > float(old):
                                self.acked[cid] = t
                    k += 1
            self.sent += len(batch)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--ids", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=8)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.environ["HERD_NODE"] = os.path.join(build, "node", "herd-node")
    os.environ["HERDD"] = os.path.join(build, "supervisor", "herdd")
    os.environ["HERDCTL"] = os.path.join(build, "supervisor", "herdctl")
    from herds import Supervised
    top = tempfile.mkdtemp(prefix="herd-soak-")
    h = Supervised(top, "soak", shipped=True)
    acked, lock = {}, threading.Lock()
    loads = []
    series = {}
    cut = shutil.which("ss") is not None
    try:
        assert h.up(30) is not None, "the herd did not start"
        loads = [Load(h, a.ids, acked, lock, s) for s in range(a.threads)]
        for l in loads:
            l.start()
        t0 = time.monotonic()
        end = t0 + a.minutes * 60
        next_sample = next_cut = next_reload = next_kill = t0
        kills = cuts = reloads = 0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_kill and now > t0 + 5:
                victim = random.choice(h.names)
                h.ctl("kill", victim, json_out=False)
                kills += 1
                next_kill = now + 20
            if now >= next_cut and now > t0 + 5 and cut:
                name = random.choice(h.names)
                r = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport",
                                    "=", ":%d" % h.peer_port[name]],
                                   capture_output=True, text=True)
                cuts += r.returncode == 0
                next_cut = now + 30
            if now >= next_reload and now > t0 + 5:
                h.ctl("reload", json_out=False)
                reloads += 1
                next_reload = now + 60
            if now >= next_sample:
                st = h.status() or {}
                for name, n in st.items():
                    pid = n.get("pid")
                    smp = proc_sample(pid) if pid else None
                    if smp is None:
                        continue
                    j = os.path.join(h.dir, "state", name + ".journal")
                    jb = os.path.getsize(j) if os.path.exists(j) else 0
                    for key, v in (("rss_kb", smp[0]), ("fds", smp[1]),
                                   ("journal_kb", jb // 1024)):
                        series.setdefault((name, key), []).append(
                            (now - t0, v))
                if h.proc and h.proc.pid:
                    smp = proc_sample(h.proc.pid)
                    if smp:
                        series.setdefault(("herdd", "rss_kb"), []).append(
                            (now - t0, smp[0]))
                        series.setdefault(("herdd", "fds"), []).append(
                            (now - t0, smp[1]))
                next_sample = now + 10
            time.sleep(0.2)
        for l in loads:
            l.stop = True
        for l in loads:
            l.join(30)
        h.wait_running(30)
        time.sleep(15)                 # catch-ups and digests settle
        lost = stale = 0
        with lock:
            items = list(acked.items())
        for name in h.names:
            held = held_at(h.port[name], [cid for cid, _ in items])
            for cid, t in items:
                if cid not in held:
                    lost += 1
                elif float(held[cid]) < float(t):
                    stale += 1
        print("soak: %.1f min, %d commands sent by %d clients, %d client "
              "errors; %d kills, %d link cuts%s, %d reloads" % (
                  a.minutes, sum(l.sent for l in loads), len(loads),
                  sum(l.errors for l in loads), kills, cuts,
                  "" if cut else " (no ss)", reloads))
        print("acked %d ids (newest report each), checked at %d servers: "
              "lost %d, stale %d" % (len(items), len(h.names), lost, stale))
        print("%-8s %-10s %10s %10s %10s %14s" % (
            "process", "series", "first", "last", "max", "slope/min 1+"))
        for (name, key), pts in sorted(series.items()):
            late = [p for p in pts if p[0] >= 60] or pts
            print("%-8s %-10s %10d %10d %10d %14.1f" % (
                name, key, pts[0][1], pts[-1][1], max(v for _, v in pts),
                slope(late)))
    finally:
        for l in loads:
            l.stop = True
        try:
            h.ctl("shutdown", json_out=False, timeout=30)
        except Exception:
            pass
        if h.proc:
            try:
                h.proc.wait(30)
            except subprocess.TimeoutExpired:
                h.proc.kill()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
