#!/usr/bin/env python3
"""bench_whatsat.py -- WHATSAT from the offline data set against IAMAT, two
builds of herd-node side by side (issue 21: WHATSAT at least half of
IAMAT's rate at depth 16).

    python3 tests/bench/bench_whatsat.py --base OLD/herd-node \\
        --build build-bench [--rounds 3] [--duration 3] [--durable]

Each round starts a fresh one-server herd (bench_suite.py's herd_conf:
[places] backend = offline, data/cities.dat, herd at its default log
level) for each build and workload, herd-node on core 0 and herdload on
core 1 (50 connections): WHATSAT at depth 1 and 16, IAMAT at depth 16.
The builds alternate from round to round.  Prints each run, then the
medians, the new/base ratios and WHATSAT/IAMAT at depth 16 for each
build.  Not a test: nothing here asserts a time.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
import bench_suite  # noqa: E402
from bench_suite import bench_args, bench_paths, load, start_herd, stop  # noqa: E402

WORK = [("whatsat", 1), ("whatsat", 16), ("iamat", 16)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench_args(ap, 3)
    ap.add_argument("--base", required=True, help="the herd-node to beat")
    ap.add_argument("--durable", action="store_true",
                    help="state_dir with fsync = everysec")
    a = ap.parse_args()
    bench_paths(a, "herdwhatsat-")
    builds = [("base", os.path.abspath(a.base)), ("new", a.node)]
    res = {}
    try:
        for rnd in range(a.rounds):
            for name, node in (builds if rnd % 2 == 0 else builds[::-1]):
                a.node = node
                for mode, depth in WORK:
                    tag = "%s-%s-%d-%d" % (name, mode, depth, rnd)
                    procs, port = start_herd(a, a.tmp, 0, a.durable, tag)
                    try:
                        r = load(a, port, mode, 50, depth)
                    finally:
                        stop(procs)
                    res.setdefault((name, mode, depth), []).append(r["rps"])
                    print("round %d %-4s %-7s depth %2d: %9.0f/s p99 %.2f ms"
                          % (rnd + 1, name, mode, depth, r["rps"],
                             r["p99_ms"]), flush=True)
        med = {k: statistics.median(v) for k, v in res.items()}
        print("\nmedians of %d rounds:" % a.rounds)
        for mode, depth in WORK:
            b, n = med[("base", mode, depth)], med[("new", mode, depth)]
            print("  %-7s depth %2d  base %9.0f/s  new %9.0f/s  %.2fx" % (
                mode, depth, b, n, n / b))
        for name, _ in builds:
            print("  %s: WHATSAT/IAMAT at depth 16 %.2f" % (
                name, med[(name, "whatsat", 16)] / med[(name, "iamat", 16)]))
    finally:
        stop(bench_suite.PROCS)


if __name__ == "__main__":
    main()
