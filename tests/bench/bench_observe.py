#!/usr/bin/env python3
"""bench_observe.py -- what counting and the HTTP endpoint cost.

    python3 tests/bench/bench_observe.py --build build-bench \\
        --old-build ../old/build-bench [--rounds 5] [--duration 5]

The five-server herd of etc/herd.ini under herdd, without a state_dir
(so that nothing but the work of the servers is measured), driven by
herdload at Hands with a mixed load (one IAMAT for four WHATSATs) on 50
connections, pipeline 16.  Three variants, alternating in each round:

  old      herdd and herd-node of --old-build: a tree from before the
           counters (3be193c), the reference
  new      this tree's, with counters, [herd] http off
  scraped  this tree's, [herd] http on, and a scraper fetching /metrics and
           /status.json ten times a second each during the run

It prints the median requests/s and p99 of each, their ratios to old, and
herdd's own CPU time per second of the run and the workers' CPU time per
request (from /proc/PID/stat; steadier than the rates on a shared
machine).
The herd is started anew for every run, on free ports, in a temporary
directory, and stopped after it."""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))  # herdlib: tests/lib
from herdlib import DEFAULT_LINKS, accepting, free_ports, wait_for  # noqa: E402


def herd_conf(d, http):
    p = free_ports(2 * len(DEFAULT_LINKS) + 1)
    port = {n: p[2 * i] for i, n in enumerate(DEFAULT_LINKS)}
    out = ["[herd]", "log_dir = log", "log_level = warning",
           "control = herd.sock"]
    if http:
        out.append("http = 127.0.0.1:%d" % p[-1])
    out += ["", "[places]", "backend = offline",
            "dataset = %s" % os.path.join(SRC, "data", "cities.dat"), ""]
    for i, (n, nb) in enumerate(DEFAULT_LINKS.items()):
        out += ["[server %s]" % n, "host = 127.0.0.1", "port = %d" % port[n],
                "peer_port = %d" % p[2 * i + 1]]
        if nb:
            out.append("neighbors = " + " ".join(nb))
        out.append("")
    path = os.path.join(d, "herd.ini")
    with open(path, "w") as f:
        f.write("\n".join(out))
    return path, port["Hands"], p[-1] if http else None


def scraper(http, stop, counts):
    while not stop.is_set():
        for path in ("/metrics", "/status.json"):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d%s" %
                                            (http, path), timeout=5) as r:
                    r.read()
                counts[path] = counts.get(path, 0) + 1
            except OSError:
                counts["failed"] = counts.get("failed", 0) + 1
        stop.wait(0.1)


def cpu_s(pid):
    """User and system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(build, variant, a):
    d = tempfile.mkdtemp(prefix="herd-bench-observe-")
    conf, hands, http = herd_conf(d, variant == "scraped")
    env = dict(os.environ, HERD_NODE=os.path.join(build, "node", "herd-node"))
    herdd = subprocess.Popen([os.path.join(build, "supervisor", "herdd"),
                              "-f", conf], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    stop, counts, t = threading.Event(), {}, None
    try:
        if not wait_for(lambda: accepting(hands), 10, 0.05):
            sys.exit("bench_observe: the %s herd did not start" % variant)
        time.sleep(0.5)         # links up
        if http:
            t = threading.Thread(target=scraper, args=(http, stop, counts))
            t.start()
        workers = [int(q) for q in open("/proc/%d/task/%d/children" % (
            herdd.pid, herdd.pid)).read().split()]
        cpu0, t0 = cpu_s(herdd.pid), time.monotonic()
        wcpu0 = sum(cpu_s(w) for w in workers)
        cmd = [a.herdload, "-p", str(hands), "-m", "mixed", "-c", "50",
               "-P", "16", "-d", str(a.duration), "-w", "1", "-s", "1"]
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=a.duration + 60)
        last = [ln for ln in p.stdout.splitlines()
                if ln.startswith("herdload: ")]
        if p.returncode != 0 or not last:
            sys.exit("bench_observe: %s: %s%s" % (" ".join(cmd), p.stdout,
                                                   p.stderr))
        r = dict(kv.split("=", 1) for kv in last[-1].split()[1:])
        counts["herdd_cpu_ms_per_s"] = round(1000 * (cpu_s(herdd.pid) - cpu0)
                                             / (time.monotonic() - t0), 2)
        counts["workers_cpu_us_per_req"] = round(1e6 * (sum(
            cpu_s(w) for w in workers) - wcpu0) / (int(r["replies"]) or 1), 2)
        return float(r["rps"]), float(r["p99_ms"]), counts
    finally:
        stop.set()
        if t is not None:
            t.join()
        herdd.send_signal(signal.SIGTERM)
        try:
            herdd.wait(15)
        except subprocess.TimeoutExpired:
            herdd.kill()
            herdd.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--old-build", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.herdload = os.path.join(a.build, "tests", "bench", "herdload")
    builds = {"old": os.path.abspath(a.old_build), "new": a.build,
              "scraped": a.build}
    res = {v: [] for v in builds}
    cpus = {v: [] for v in builds}
    scrapes = []
    for r in range(a.rounds):
        order = list(builds) if r % 2 == 0 else list(reversed(builds))
        for v in order:
            rps, p99, counts = one_run(builds[v], v, a)
            res[v].append((rps, p99))
            cpus[v].append(counts)
            if v == "scraped":
                scrapes.append(counts)
            print("round %d %-8s %9.0f req/s  p99 %.2f ms %s" % (
                r + 1, v, rps, p99, counts or ""), flush=True)
    old = statistics.median(x[0] for x in res["old"])
    print("\nvariant   median req/s   median p99   ratio to old")
    for v in builds:
        m = statistics.median(x[0] for x in res[v])
        p = statistics.median(x[1] for x in res[v])
        print("%-8s %13.0f %10.2f ms %12.3f" % (v, m, p, m / old))
    failed = sum(c.get("failed", 0) for c in scrapes)
    print("scrapes per run: %s; failed: %d" % (
        [c.get("/metrics", 0) for c in scrapes], failed))
    for v in builds:
        print("%-8s herdd CPU %.2f ms per second; the five workers' CPU "
              "%.2f us per request (medians)" % (v, statistics.median(
                  c["herdd_cpu_ms_per_s"] for c in cpus[v]),
                  statistics.median(c["workers_cpu_us_per_req"]
                                    for c in cpus[v])))


if __name__ == "__main__":
    main()
