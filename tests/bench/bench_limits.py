#!/usr/bin/env python3
"""bench_limits.py -- what the limits of herd.ini(5) cost: IAMAT to one
herd-node with every bound at its default against every bound off
(max_clients, max_clock_skew, max_connections,
max_connections_per_address, log_max_size all 0), side by side in
alternating rounds; and the memory a client costs, both ways.

    python3 tests/bench/bench_limits.py --build build-bench [--rounds 5]

herd-node alone on core 0 (log at info, durable), herdload on core 1, 50
connections, depth 1 and 16, as bench_suite.py runs it.  Memory: 200,000
new ids pushed (under the default max_clients), resident memory before
and after, per id.  Not a test: nothing is asserted.
"""
import argparse
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

from bench_suite import (bench_args, bench_paths, load, push, rss_kb,  # noqa
                         start_herd, stop)

OFF = ("max_clients = 0\nmax_clock_skew = 0\nmax_connections = 0\n"
       "max_connections_per_address = 0\nlog_max_size = 0")
SUBJECTS = (("bounds", ""), ("unbounded", OFF))
# --split: also every bound on but the log's, to tell the two costs apart
SPLIT = ("nologbound", "log_max_size = 0")


def main():
    ap = argparse.ArgumentParser()
    bench_args(ap, 5)
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--depths", default="1,16")
    a = ap.parse_args()
    subjects = SUBJECTS + ((SPLIT,) if a.split else ())
    depths = [int(d) for d in a.depths.split(",")]
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 1, 0.5
    bench_paths(a, "herdlim-")
    res = {}
    try:
        for rnd in range(a.rounds):
            for depth in depths:
                for tag, extra in (subjects if rnd % 2 == 0 else
                                   subjects[::-1]):
                    procs, port = start_herd(a, a.tmp, 0, True, tag, extra)
                    try:
                        r = load(a, port, "iamat", 50, depth)
                    finally:
                        stop(procs)
                        shutil.rmtree(os.path.join(a.tmp, "log-" + tag),
                                      ignore_errors=True)
                    res.setdefault((tag, depth), []).append(r["rps"])
                    print("%-9s depth %2d: %9.0f/s" % (tag, depth, r["rps"]),
                          flush=True)
        n = 200000
        line = "IAMAT mem-%d +34.068930-118.445127 1700000000.123456789\n"
        for tag, extra in SUBJECTS:
            procs, port = start_herd(a, a.tmp, 0, False, "mem" + tag, extra)
            try:
                before = rss_kb(procs[0].pid)
                push(port, (line % i for i in range(n)), n)
                res[("mem", tag)] = (rss_kb(procs[0].pid) - before) * 1024 / n
            finally:
                stop(procs)
        print("\n| depth | bounds on | all off | on / off |\n|---|---|---|---|")
        for depth in depths:
            on = statistics.median(res[("bounds", depth)])
            off = statistics.median(res[("unbounded", depth)])
            print("| %d | %.0f | %.0f | %.3f |" % (depth, on, off, on / off))
        if a.split:
            for depth in depths:
                print("depth %d, every bound but the log's: %.0f/s" % (
                    depth, statistics.median(res[("nologbound", depth)])))
        print("\nmemory per client (%d ids): bounds on %.0f B, off %.0f B" % (
            n, res[("mem", "bounds")], res[("mem", "unbounded")]))
    finally:
        shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
