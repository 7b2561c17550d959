#!/usr/bin/env python3
"""bench_node.py -- client throughput of one herd-node against the asyncio
reference (ref_asyncio.py), measured by herdload in the same run.

Starts one real herd-node (a one-server herd, [places] backend = offline
with data/cities.dat) and the reference, each on a free 127.0.0.1 port,
in a temporary directory; then, --rounds times (default 5), runs herdload
against each for the same workloads: IAMAT, then WHATSAT, both with
--conns connections (default 50) and --pipeline commands outstanding on
each (default 1).  The order of the two servers alternates from round to
round so that drift in the machine's load does not favour one.  Prints,
per workload, the median requests/s and p99 latency of each server and
the herd/reference ratio of the medians; then the node's resident memory
after the runs (VmRSS and its peak VmHWM), the reference's, and the load
time of the data set (from herd-node's log: "starting" to "places: ...
loaded"; and from exec to the client port accepting).

Everything started is killed at the end, the temporary directory removed
(--keep keeps it: logs and config).

Paths: --node (default BUILD/node/herd-node), --herdload (default
BUILD/tests/bench/herdload), --build (default ./build), --dataset
(default data/cities.dat of this repository).
"""

import argparse
import datetime
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from herdlib import accepting, free_ports, wait_for  # noqa: E402


def wait_accepting(port, proc, timeout=30.0):
    """Seconds until port accepts; None if proc died or time ran out."""
    t0 = time.monotonic()
    up = wait_for(lambda: proc.poll() is not None or accepting(port),
                  timeout, 0.002)
    if not up or proc.poll() is not None:
        return None
    return time.monotonic() - t0


def proc_mem(pid):
    """(VmRSS, VmHWM) in MiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0
    return out.get("VmRSS", 0.0), out.get("VmHWM", 0.0)


def log_load_ms(path):
    """From herd-node's log: "starting" to the places line, in ms."""
    t_start = t_places = None
    with open(path, errors="replace") as f:
        for line in f:
            ts = line.split(" ", 1)[0]
            if " starting: " in line and t_start is None:
                t_start = ts
            elif " places: offline backend" in line and t_places is None:
                t_places = ts
                break
    if t_start is None or t_places is None:
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    d = (datetime.datetime.strptime(t_places, fmt) -
         datetime.datetime.strptime(t_start, fmt))
    return d.total_seconds() * 1e3


def run_load(herdload, port, mode, a):
    cmd = [herdload, "-p", str(port), "-m", mode, "-c", str(a.conns),
           "-P", str(a.pipeline), "-d", str(a.duration),
           "-w", str(a.warmup), "-s", str(a.seed)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=a.duration +
                       a.warmup + 60)
    last = [l for l in p.stdout.splitlines() if l.startswith("herdload: ")]
    if p.returncode != 0 or not last:
        sys.exit("bench_node: %s failed (%d): %s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    r = dict(kv.split("=", 1) for kv in last[-1].split()[1:])
    for k in ("rps", "p50_ms", "p90_ms", "p99_ms"):
        r[k] = float(r[k])
    for k in ("replies", "errors", "malformed", "zero"):
        r[k] = int(r[k])
    if r["errors"] or r["malformed"]:
        sys.exit("bench_node: %s: %d errors, %d malformed replies" % (
            " ".join(cmd), r["errors"], r["malformed"]))
    return r


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--node")
    ap.add_argument("--herdload")
    ap.add_argument("--dataset",
                    default=os.path.join(REPO, "data", "cities.dat"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--modes", default="iamat,whatsat")
    ap.add_argument("--no-ref", action="store_true",
                    help="herd-node alone (for profiling)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    node = a.node or os.path.join(a.build, "node", "herd-node")
    herdload = a.herdload or os.path.join(a.build, "tests", "bench",
                                          "herdload")
    for p in (node, herdload):
        if not os.access(p, os.X_OK):
            sys.exit("bench_node: %s: not found (build first, or --build, "
                     "--node, --herdload)" % p)
    node, herdload = os.path.abspath(node), os.path.abspath(herdload)
    a.dataset = os.path.abspath(a.dataset)
    modes = a.modes.split(",")

    tmp = tempfile.mkdtemp(prefix="bench_node.")
    procs = []
    try:
        nport, pport, rport = free_ports(3)
        conf = os.path.join(tmp, "herd.ini")
        with open(conf, "w") as f:
            f.write("[herd]\nlog_dir = log\n\n[places]\nbackend = offline\n"
                    "dataset = %s\n\n[server Bench]\nhost = 127.0.0.1\n"
                    "port = %d\npeer_port = %d\n" % (
                        os.path.abspath(a.dataset), nport, pport))
        herd = subprocess.Popen([node, "-f", conf, "Bench"], cwd=tmp)
        procs.append(herd)
        t_node = wait_accepting(nport, herd)
        if t_node is None:
            sys.exit("bench_node: herd-node did not start (see %s)" % tmp)
        servers = [("herd", herd, nport)]
        t_ref = None
        if not a.no_ref:
            ref = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "ref_asyncio.py"),
                 "--port", str(rport), "--dataset", a.dataset,
                 "--log", os.path.join(tmp, "ref.log")],
                cwd=tmp, stdout=subprocess.DEVNULL)
            procs.append(ref)
            t_ref = wait_accepting(rport, ref, 120)
            if t_ref is None:
                sys.exit("bench_node: ref_asyncio.py did not start")
            servers.append(("reference", ref, rport))

        print("bench_node: %d rounds of %s, %d connections, pipeline %d, "
              "%.0f s (+%.0f s warm-up) each; load average %s" % (
                  a.rounds, "+".join(modes), a.conns, a.pipeline,
                  a.duration, a.warmup, loadavg()))
        res = {(s[0], m): [] for s in servers for m in modes}
        for rnd in range(a.rounds):
            order = servers if rnd % 2 == 0 else servers[::-1]
            for name, _, port in order:
                for m in modes:
                    r = run_load(herdload, port, m, a)
                    res[(name, m)].append(r)
                    print("  round %d %-9s %-7s %9.0f req/s  p50 %7.3f  "
                          "p99 %7.3f ms%s" % (
                              rnd + 1, name, m, r["rps"], r["p50_ms"],
                              r["p99_ms"], "  (%.0f%% ZERO_RESULTS)" % (
                                  100.0 * r["zero"] / r["replies"])
                              if m != "iamat" and r["replies"] else ""),
                          flush=True)

        print("\nmedians of %d rounds (load average now %s):" % (
            a.rounds, loadavg()))
        print("  %-8s %12s %12s %8s %10s %10s" % (
            "workload", "herd req/s", "ref req/s", "ratio", "herd p99",
            "ref p99"))
        for m in modes:
            hr = statistics.median(r["rps"] for r in res[("herd", m)])
            hp = statistics.median(r["p99_ms"] for r in res[("herd", m)])
            if a.no_ref:
                print("  %-8s %12.0f %12s %8s %8.3fms %10s" % (
                    m, hr, "-", "-", hp, "-"))
                continue
            rr = statistics.median(r["rps"] for r in res[("reference", m)])
            rp = statistics.median(r["p99_ms"]
                                   for r in res[("reference", m)])
            print("  %-8s %12.0f %12.0f %7.1fx %8.3fms %8.3fms" % (
                m, hr, rr, hr / rr if rr else float("inf"), hp, rp))

        rss, hwm = proc_mem(herd.pid)
        print("\nherd-node: RSS %.1f MiB after the runs (peak %.1f MiB)" % (
            rss, hwm))
        lt = log_load_ms(os.path.join(tmp, "log", "Bench.log"))
        print("herd-node: data set loaded in %s ms (log); exec to accepting "
              "%.1f ms" % ("%.1f" % lt if lt is not None else "?",
                           t_node * 1e3))
        if not a.no_ref:
            rss, hwm = proc_mem(ref.pid)
            print("reference: RSS %.1f MiB (peak %.1f MiB); exec to "
                  "accepting %.1f ms" % (rss, hwm, t_ref * 1e3))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if a.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
