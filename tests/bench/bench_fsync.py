#!/usr/bin/env python3
"""bench_fsync.py -- what the journal costs, and writes per update per link.

A three-server herd on loopback, A linked to B and C, run by herd-node
directly; herdload sends IAMATs to A.  For each durability setting
(--modes, default none,no,everysec,always: "none" is no state_dir, the
others are state_dir with that fsync) and each pipeline depth (--depths,
default 1,16), --rounds rounds (default 3, the settings alternating within
a round) of --duration seconds after --warmup.  Prints the median
requests/s per setting and its ratio to "none", and, from /proc/PID/io
(syscw, A's write-type system calls), A's writes per IAMAT: the journal's
and each link's, per batch of a loop iteration.  Not a test: run by hand,
with an optimised build:

    python3 tests/bench/bench_fsync.py --build build-bench

herd-node logs every line in and out (PROTOCOL.md); the logs go to a
temporary directory, as do the journals (so the disk under /tmp is what is
measured with fsync = always).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from bench_node import run_load, wait_accepting  # noqa: E402
from herdlib import free_ports  # noqa: E402


def herd_conf(d, mode, ports):
    herd = "[herd]\nlog_dir = log\n"
    if mode != "none":
        herd += "state_dir = state-%s\nfsync = %s\n" % (mode, mode)
    else:
        herd += "state_dir =\n"    # said: installed, the default journals
    servers = ""
    for i, (name, nb) in enumerate((("A", "B C"), ("B", ""), ("C", ""))):
        servers += "[server %s]\nhost = 127.0.0.1\nport = %d\npeer_port = " \
            "%d\n%s" % (name, ports[2 * i], ports[2 * i + 1],
                        "neighbors = %s\n" % nb if nb else "")
    path = os.path.join(d, "herd-%s.ini" % mode)
    with open(path, "w") as f:
        f.write(herd + "[places]\nbackend = offline\ndataset = %s\n" %
                os.path.join(REPO, "data", "cities.dat") + servers)
    return path


def syscw(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--modes", default="none,no,everysec,always")
    ap.add_argument("--depths", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    node = os.path.join(a.build, "node", "herd-node")
    herdload = os.path.join(a.build, "tests", "bench", "herdload")
    modes = a.modes.split(",")
    d = tempfile.mkdtemp(prefix="herdbench-")
    results = {}
    try:
        for depth in [int(x) for x in a.depths.split(",")]:
            a.pipeline = depth
            for r in range(a.rounds):
                order = modes if r % 2 == 0 else modes[::-1]
                for mode in order:
                    ports = free_ports(6)
                    ini = herd_conf(d, mode, ports)
                    procs = [subprocess.Popen(
                        ["taskset", "-c", "0" if n == "A" else "1", node,
                         "-f", ini, n], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) for n in "ABC"]
                    try:
                        for i, p in enumerate(procs):
                            if wait_accepting(ports[2 * i], p) is None:
                                sys.exit("bench_fsync: a node did not start")
                        time.sleep(0.5)     # links up
                        w0 = syscw(procs[0].pid)
                        res = run_load(herdload, ports[0], "iamat", a)
                        w1 = syscw(procs[0].pid)
                        n = res["replies"] + (res["rps"] * a.warmup)
                        results.setdefault((depth, mode), []).append(
                            (res["rps"], (w1 - w0) / max(n, 1)))
                        print("depth %2d %-9s %10.0f IAMAT/s  %.3f writes "
                              "per IAMAT" % (depth, mode, res["rps"],
                                             (w1 - w0) / max(n, 1)),
                              flush=True)
                    finally:
                        for p in procs:
                            p.kill()
                            p.wait()
                    shutil.rmtree(os.path.join(d, "log"), ignore_errors=True)
        print("\nmedians (%d rounds of %.0f s, %d connections)" % (
            a.rounds, a.duration, a.conns))
        for depth in [int(x) for x in a.depths.split(",")]:
            base = statistics.median(x[0] for x in results[(depth, "none")]) \
                if (depth, "none") in results else None
            for mode in modes:
                rps = statistics.median(x[0] for x in results[(depth, mode)])
                wr = statistics.median(x[1] for x in results[(depth, mode)])
                print("depth %2d %-9s %10.0f IAMAT/s %7s  %.3f writes per "
                      "IAMAT" % (depth, mode, rps, "%.2fx" % (rps / base)
                                 if base else "", wr))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
