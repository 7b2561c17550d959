#!/usr/bin/env python3
"""bench_log.py -- what logging every line costs: one herd-node (alone, or
with --peers neighbours) at log_level = info (the default: every line in
and out, as PROTOCOL.md asks) against the same build at log_level =
notice, IAMAT through herdload, side by side.

    python3 tests/bench/bench_log.py --build build-bench \\
        [--depths 1,16] [--peers 0] [--durable 0,1] [--rounds 5] [--profile]

Each round runs every shape at both levels, the order alternating from
round to round; the node under test on core 0, herdload (and neighbours)
on core 1, as bench_suite.py does.  Prints per shape the median rate at
each level and info/notice (1.00: logging is free).  --profile records
the info node at depth 16 with perf (cpu-clock, DWARF call graphs) and
prints where its time goes (for each --durable): by library, the top symbols, and the log
functions' share.  Not a test.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from bench_suite import (bench_args, bench_paths, load,  # noqa: E402
                         start_herd, stop)
from bench_tls import perf_report, perf_start, perf_stop  # noqa: E402

LEVELS = ("info", "notice")


def run(a, level, durable, peers, depth, tag, prof=None):
    procs, port = start_herd(a, a.tmp, peers, durable, tag,
                             "log_level = %s" % level)
    rec = None
    try:
        if prof is not None:
            rec = perf_start(a, procs[0].pid, prof)
        r = load(a, port, "iamat", a.conns, depth)
        if rec is not None:
            perf_stop(rec)
    finally:
        stop(procs)
        shutil.rmtree(os.path.join(a.tmp, "log-" + tag), ignore_errors=True)
        shutil.rmtree(os.path.join(a.tmp, "state-" + tag), ignore_errors=True)
    return r["rps"]


def log_rows(data):
    """The log's functions with what they call (their children), and
    the write(2) under log_flush."""
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g",
                        "none", "--children", "--sort", "symbol"],
                       capture_output=True, text=True)
    rows = []
    for ln in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+[\d.]+%\s+\[.\]\s+(log_\w+)", ln)
        if m:
            rows.append((float(m.group(1)), m.group(2) + " (with children)"))
    return rows


def main():
    ap = argparse.ArgumentParser()
    bench_args(ap, 5)
    ap.add_argument("--depths", default="1,16")
    ap.add_argument("--peers", type=int, default=0)
    ap.add_argument("--durable", default="0,1")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds = 1
    bench_paths(a, "herdlog-")
    shapes = [(bool(int(d)), int(q)) for d in a.durable.split(",")
              for q in a.depths.split(",")]
    res = {}
    try:
        for rnd in range(a.rounds):
            for durable, depth in shapes:
                order = LEVELS if rnd % 2 == 0 else LEVELS[::-1]
                for lv in order:
                    tag = "%s-%d-%d-%d" % (lv, durable, depth, rnd)
                    rps = run(a, lv, durable, a.peers, depth, tag)
                    res.setdefault((durable, depth, lv), []).append(rps)
                    print("round %d %-8s %-6s depth %2d: %9.0f/s" % (
                        rnd, "everysec" if durable else "none", lv, depth,
                        rps), flush=True)
        print("\npeers %d, %d connections, medians of %d rounds:" % (
            a.peers, a.conns, a.rounds))
        print("| durable | depth | info/s | notice/s | info/notice |")
        print("|---|---|---|---|---|")
        for durable, depth in shapes:
            i = statistics.median(res[(durable, depth, "info")])
            n = statistics.median(res[(durable, depth, "notice")])
            print("| %s | %d | %.0f | %.0f | %.3f |" % (
                "everysec" if durable else "no", depth, i, n, i / n))
        if a.profile and shutil.which("perf"):
            for durable, lv in [(d, lv) for d in sorted(set(
                    s[0] for s in shapes)) for lv in LEVELS]:
                data = os.path.join(a.tmp, "prof-%s.data" % lv)
                run(a, lv, durable, a.peers, 16, "prof-" + lv, data)
                print("\nprofile, log_level %s, depth 16, %s:" % (
                    lv, "fsync everysec" if durable else "no state_dir"))
                for rows in perf_report(data) + (log_rows(data),):
                    for pct, name in rows:
                        print("  %6.2f%%  %s" % (pct, name))
                    print()
    finally:
        stop([])
        shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
