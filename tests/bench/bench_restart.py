#!/usr/bin/env python3
"""bench_restart.py -- restart latency: SIGKILL a worker, time until its
client port accepts again.

Starts a herd of five servers (etc/herd.ini's shape, on free 127.0.0.1
ports) under herdd, then KILLS workers round-robin --kills times (default
100).  Each sample is the time from kill(2) to the first successful
connect(2) on the client port of the new process (we first wait until the
old one's sockets are gone, so that a connect to the dying process does not
count).  Before the next kill we wait until herdd reports the new worker
running (ready).  Prints p50, p90, p99 and max in milliseconds, and from
herdd's log the two parts: kill to the new fork (herdd's share: reaping
and spawning) and fork to READY (the new herd-node's start-up).

The herd runs with restart_reset_s = 0 (--reset-s): every worker killed
has been ready, so each kill is "the first restart of a healthy worker",
which herdd makes at once.  With the default of 10 s, kills of the same
worker closer than 10 s apart back off (100 ms, 200 ms, ...) by design.

Binaries: HERDD, HERDCTL, HERD_NODE, or --build DIR (default ./build).
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from herdlib import accepting, free_ports, wait_for  # noqa: E402


def gone(pid):
    """The process has exited (zombie or reaped): its sockets are closed."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--reset-s", type=int, default=0)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    herdd = os.environ.get("HERDD", os.path.join(a.build, "supervisor/herdd"))
    herdctl = os.environ.get("HERDCTL",
                             os.path.join(a.build, "supervisor/herdctl"))
    node = os.environ.get("HERD_NODE", os.path.join(a.build,
                                                    "node/herd-node"))
    for p in (herdd, herdctl, node):
        if not os.access(p, os.X_OK):
            sys.exit("bench_restart: %s: not executable" % p)

    names = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
    topo = {"Goloman": "Hands Holiday Wilkes", "Hands": "Wilkes",
            "Holiday": "Welsh Wilkes", "Welsh": "", "Wilkes": ""}
    ports = free_ports(10)
    top = tempfile.mkdtemp(prefix="herd-bench-")
    conf = os.path.join(top, "herd.ini")
    sock = os.path.join(top, "herd.sock")
    with open(conf, "w") as f:
        f.write("[herd]\nlog_dir = log\ncontrol = herd.sock\n"
                "restart_reset_s = %d\n\n[places]\nbackend = google\n"
                "url = http://127.0.0.1:9/\n\n" % a.reset_s)
        for i, n in enumerate(names):
            f.write("[server %s]\nport = %d\npeer_port = %d\n" %
                    (n, ports[i], ports[5 + i]))
            if topo[n]:
                f.write("neighbors = %s\n" % topo[n])
            f.write("\n")
    env = dict(os.environ, HERD_NODE=node)
    errf = open(os.path.join(top, "herdd.stderr"), "w")
    proc = subprocess.Popen([herdd, "-f", conf], env=env, stdout=errf,
                            stderr=errf, stdin=subprocess.DEVNULL)

    def status():
        r = subprocess.run([herdctl, "-s", sock, "-j", "status"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return None
        return {n["name"]: n for n in json.loads(r.stdout)["nodes"]}

    def wait_running(name, not_pid, timeout=10.0):
        return wait_for(lambda: (lambda st: st[name] if st and
                                 st[name]["state"] == "running" and
                                 st[name]["pid"] != not_pid else None)(
                                     status()), timeout, 0.01)

    samples = []
    kills = []                           # (wall time of kill, new pid)
    try:
        for n in names:
            if wait_running(n, None, 15.0) is None:
                sys.exit("bench_restart: %s never came up" % n)
        for i in range(a.kills):
            name = names[i % len(names)]
            st = status()[name]
            pid, port = st["pid"], st["port"]
            w0 = time.time()
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            # poll every 0.5 ms: a busy loop would steal the CPU the new
            # worker needs to start (the figures are then ~0.5 ms coarse)
            if not wait_for(lambda: gone(pid), 5, 0.0005):
                sys.exit("bench_restart: pid %d did not die" % pid)
            if not wait_for(lambda: accepting(port),
                            10 - (time.monotonic() - t0), 0.0005):
                sys.exit("bench_restart: %s never came back" % name)
            samples.append((time.monotonic() - t0) * 1000.0)
            new = wait_running(name, pid)
            if new is None:
                sys.exit("bench_restart: %s not running again" % name)
            kills.append((w0, new["pid"]))
        with open(os.path.join(top, "log", "herdd.log")) as f:
            log = f.read().splitlines()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(top, ignore_errors=True)

    spawned, ready = {}, {}
    for line in log:
        ts, _, rest = line.partition(" ")
        if ": starting: pid " in rest:
            pid = int(rest.rsplit(" ", 1)[1])
            t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
            spawned[pid] = t.replace(
                tzinfo=datetime.timezone.utc).timestamp()
        elif ": running: pid " in rest and "ready in" in rest:
            pid = int(rest.split("running: pid ")[1].split(",")[0])
            ready[pid] = float(rest.split("ready in ")[1].split()[0])
    to_fork = [(spawned[p] - w) * 1000.0 for w, p in kills if p in spawned]
    to_ready = [ready[p] for w, p in kills if p in ready]

    print("restart latency, SIGKILL to accepting again, %d kills "
          "(restart_reset_s = %d):" % (len(samples), a.reset_s))
    print("  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  "
          "min %.1f ms" % (pct(samples, 50), pct(samples, 90),
                           pct(samples, 99), max(samples), min(samples)))
    if to_fork and to_ready:
        print("  kill to new fork (herdd): p50 %.1f ms  p99 %.1f ms" %
              (pct(to_fork, 50), pct(to_fork, 99)))
        print("  fork to READY (herd-node start-up): p50 %.1f ms  "
              "p99 %.1f ms" % (pct(to_ready, 50), pct(to_ready, 99)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
