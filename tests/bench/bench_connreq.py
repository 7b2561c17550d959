#!/usr/bin/env python3
"""bench_connreq.py -- a connection per request (connect, send one IAMAT,
half-close, read to the end: how course graders and many clients talk),
at fixed rates, against one herd-node and the asyncio reference, with the
kernel's TCP counters over each run (where retransmissions come from).

    python3 tests/bench/bench_connreq.py --build build-bench \\
        [--rates 5000,10000,14000] [--rounds 3] [--duration 3]

herd-node as shipped runs it (log at info, durable: state_dir, fsync =
everysec), alone, on core 0; connload (tests/bench/connload.c) on core 1,
open loop at each rate, at most 1,000 in flight.  For each subject and
rate, medians over the rounds of: the rate done, p50 / p99 / p99.9 / max
latency, and the deltas of /proc/net/snmp and /proc/net/netstat counters
that tell of losses (RetransSegs, TCPTimeouts, TCPSynRetrans,
ListenOverflows, ListenDrops, TCPLostRetransmit, TCPAbortOnData,
TCPAbortOnClose) and the sockets left in TIME_WAIT (ss).  Not a test:
nothing is asserted.
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

from bench_suite import (bench_args, bench_paths, spawn, start_herd,  # noqa
                         start_ref, stop)

COUNTERS = ("RetransSegs", "TCPTimeouts", "TCPSynRetrans", "ListenOverflows",
            "ListenDrops", "TCPLostRetransmit", "TCPAbortOnData",
            "TCPAbortOnClose", "TCPAbortOnLinger", "OutRsts")


def tcp_counters():
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with open(path) as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            for k, v in zip(head.split()[1:], vals.split()[1:]):
                out[k] = out.get(k, 0) + int(v)
    return out


def time_wait():
    r = subprocess.run(["ss", "-tan", "state", "time-wait"],
                       capture_output=True, text=True)
    return max(0, len(r.stdout.splitlines()) - 1)


def connload(a, port, rate):
    before = tcp_counters()
    r = subprocess.run(["taskset", "-c", "1", a.connload, "-p", str(port),
                        "-r", str(rate), "-d", str(a.duration), "-w",
                        str(a.warmup)], capture_output=True, text=True,
                       timeout=a.duration + a.warmup + 60)
    after = tcp_counters()
    m = dict(re.findall(r"(\w+)=([\d.]+)", r.stdout.splitlines()[-1]))
    res = {k: float(v) for k, v in m.items()}
    for k in COUNTERS:
        res[k] = after.get(k, 0) - before.get(k, 0)
    res["time_wait"] = time_wait()
    return res


def main():
    ap = argparse.ArgumentParser()
    bench_args(ap, 3)
    ap.add_argument("--rates", default="5000,10000,14000")
    ap.add_argument("--subjects", default="herd,asyncio")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 1, 0.5
    bench_paths(a, "herdconn-")
    a.connload = os.path.join(os.path.dirname(a.herdload), "connload")
    rates = [int(x) for x in a.rates.split(",")]
    subjects = a.subjects.split(",")
    res = {}
    try:
        for rnd in range(a.rounds):
            for s in subjects:
                if s == "herd":
                    procs, port = start_herd(a, a.tmp, 0, True, "conn")
                else:
                    procs, port = start_ref(a, a.tmp)
                try:
                    for rate in rates:
                        r = connload(a, port, rate)
                        res.setdefault((s, rate), []).append(r)
                        print("%-8s %6d/s: done %6.0f/s p50 %6.2f p99 %7.2f "
                              "max %7.2f ms; retrans %d, timeouts %d, "
                              "listen overflows %d, errors %d, late %d" % (
                                  s, rate, r["rate"], r["p50_ms"],
                                  r["p99_ms"], r["max_ms"],
                                  r["RetransSegs"], r["TCPTimeouts"],
                                  r["ListenOverflows"], r["errors"],
                                  r["late"]), flush=True)
                        time.sleep(1)
                finally:
                    stop(procs)
        print("\nmedians of %d rounds of %g s:" % (a.rounds, a.duration))
        keys = ("rate", "p50_ms", "p99_ms", "p999_ms", "max_ms") + \
            COUNTERS + ("time_wait", "errors", "late")
        print("| subject | rate asked | " + " | ".join(keys) + " |")
        print("|" + "---|" * (len(keys) + 2))
        for (s, rate), runs in sorted(res.items()):
            print("| %s | %d | " % (s, rate) + " | ".join(
                "%.2f" % statistics.median(r[k] for r in runs)
                if k.endswith("_ms") else
                "%d" % statistics.median(r[k] for r in runs) for k in keys)
                + " |")
    finally:
        shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
