#!/usr/bin/env python3
"""bench_suite.py -- herd against Redis and the asyncio reference, in the
same shapes on this machine, written up as docs/BENCHMARKS.md with plots.

Shapes (every one run --rounds times, servers alternating within a round):

  throughput  IAMAT to one herd-node with 0, 2 and 4 neighbours against
              SET to one Redis master with 0, 2 and 4 replicas (Debian's
              redis-server, started here on loopback), and against
              ref_asyncio.py (one server: it does not flood); like against
              like for durability: herd without state_dir against Redis
              without persistence, herd with fsync = everysec against
              Redis with appendonly yes, appendfsync everysec.  Shapes
              (see shapes()): pipeline depth 1, 4, 16, 64 with 0, 2 and 4
              peers at 50 connections; 1,000 connections alone at depth 1
              and 16; with durability, 0, 2 and 4 peers at depth 1 and 16.
  whatsat     WHATSAT (offline data set) against the asyncio reference.
  propagation the five-server herd of etc/herd.ini: IAMATs to Hands at a
              fixed rate (1,000 and 10,000 a second), and the time from
              each IAMAT's send to its arrival at a listener that Welsh
              streams to (a sixth, fake server linked to Welsh: Hands ->
              Welsh is three hops, the listener a fourth on loopback).
  memory      bytes of resident memory per stored client at 1,000,000
              clients, herd-node against redis-server.

The server under test runs on core 0 (taskset); the load generator,
neighbours, replicas and listener on core 1.  herdload drives every
throughput run (-m iamat for herd and the reference, -m set for Redis).
Medians of the rounds and herd/Redis, herd/asyncio ratios go to
docs/BENCHMARKS.md (--out), with PNG plots made by gnuplot (Debian's
gnuplot-nox) beside it.  Not a test; an optimised build is best:

    tools/bootstrap build-bench -Dbuildtype=release
    python3 tests/bench/bench_suite.py --build build-bench

--quick runs one round of fewer shapes, to try the script.
"""
import argparse
import datetime
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from bench_node import run_load, wait_accepting  # noqa: E402
from herdlib import free_ports  # noqa: E402

DATASET = os.path.join(REPO, "data", "cities.dat")
PROCS = []


def spawn(argv, core, cwd=None, log=None):
    out = open(log, "ab") if log else subprocess.DEVNULL
    p = subprocess.Popen(["taskset", "-c", str(core)] + argv, cwd=cwd,
                         stdout=out, stderr=out)
    PROCS.append(p)
    return p


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ----- the servers ---------------------------------------------------------

def herd_conf(d, name, peers, durable, extra=""):
    """A herd of A (the server under test) and peers neighbours."""
    ports = free_ports(2 * (peers + 1))
    names = ["A"] + ["N%d" % i for i in range(peers)]
    out = ["[herd]", "log_dir = log-%s" % name, extra]
    if durable:
        out += ["state_dir = state-%s" % name, "fsync = everysec"]
    else:
        # said, not left to the default: a herd-node outside its build
        # tree (a --base copied elsewhere) would journal to the installed
        # state_dir and be measured durable
        out += ["state_dir ="]
    out += ["[places]", "backend = offline", "dataset = %s" % DATASET]
    for i, n in enumerate(names):
        out += ["[server %s]" % n, "host = 127.0.0.1",
                "port = %d" % ports[2 * i], "peer_port = %d" % ports[2 * i + 1]]
        if n == "A" and peers:
            out.append("neighbors = " + " ".join(names[1:]))
    path = os.path.join(d, "%s.ini" % name)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path, names, ports[0]


def start_herd(a, d, peers, durable, tag, extra=""):
    shutil.rmtree(os.path.join(d, "state-" + tag), ignore_errors=True)
    ini, names, port = herd_conf(d, tag, peers, durable, extra)
    procs = [spawn([a.node, "-f", ini, n], 0 if n == "A" else 1, cwd=d)
             for n in names]
    if wait_accepting(port, procs[0], 30) is None:
        sys.exit("bench_suite: herd-node did not start")
    time.sleep(0.3 + 0.1 * peers)        # links up
    return procs, port


def start_redis(a, d, replicas, durable, tag, tls=None):
    """tls: (arguments for every server, a port) to replicate over TLS: the
    master listens there too (tls-port), the replicas dial it
    (bench_tls.py); clients stay on the plain ports."""
    ports = free_ports(replicas + 1)
    procs = []
    for i, port in enumerate(ports):
        rd = os.path.join(d, "redis-%s-%d" % (tag, i))
        shutil.rmtree(rd, ignore_errors=True)
        os.makedirs(rd)
        argv = [a.redis, "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--dir", rd, "--protected-mode", "no"]
        argv += ["--appendonly", "yes", "--appendfsync", "everysec"] \
            if durable else ["--appendonly", "no"]
        if tls:
            argv += tls[0] + (["--tls-port", str(tls[1])] if i == 0 else [])
        if i > 0:
            argv += ["--replicaof", "127.0.0.1",
                     str(tls[1] if tls else ports[0])]
        procs.append(spawn(argv, 0 if i == 0 else 1))
    for p, port in zip(procs, ports):
        if wait_accepting(port, p, 30) is None:
            sys.exit("bench_suite: redis-server did not start")
    if replicas:                        # replicas in sync
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            info = subprocess.run(["redis-cli", "-p", str(ports[0]), "info",
                                   "replication"], capture_output=True,
                                  text=True).stdout
            if info.count("state=online") >= replicas:
                break
            time.sleep(0.1)
    return procs, ports[0]


def start_ref(a, d):
    port = free_ports(1)[0]
    p = spawn([sys.executable, os.path.join(HERE, "ref_asyncio.py"),
               "--port", str(port), "--dataset", DATASET,
               "--log", os.path.join(d, "ref.log")], 0)
    if wait_accepting(port, p, 120) is None:
        sys.exit("bench_suite: ref_asyncio.py did not start")
    return [p], port


# ----- shapes --------------------------------------------------------------

class LoadArgs:
    def __init__(self, a, conns, depth):
        self.conns, self.pipeline = conns, depth
        self.duration, self.warmup, self.seed = a.duration, a.warmup, 1


def load(a, port, mode, conns, depth):
    return run_pinned(a, port, mode, LoadArgs(a, conns, depth))


def run_pinned(a, port, mode, la):
    """run_load with herdload on core 1."""
    wrapper = os.path.join(a.tmp, "herdload-core1")
    if not os.path.exists(wrapper):
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec taskset -c 1 %s \"$@\"\n" % a.herdload)
        os.chmod(wrapper, 0o755)
    return run_load(wrapper, port, mode, la)


def shapes(a):
    """(durable, conns, peers, depth) of the throughput runs: every depth
    and fan-out at 50 connections without durability; the goals' shapes
    (depth 1 and 16) with durability; 1,000 connections alone."""
    if a.quick:
        return [(d, 50, p, q) for d in (False, True) for p in (0, 2)
                for q in (1, 16)]
    out = [(False, 50, p, q) for p in (0, 2, 4) for q in (1, 4, 16, 64)]
    out += [(False, 1000, 0, q) for q in (1, 16)]
    out += [(True, 50, p, q) for p in (0, 2, 4) for q in (1, 16)]
    return out


class CpuWindow(threading.Thread):
    """The CPU seconds (user and system, from /proc) that the shape's
    servers -- the one under test and its neighbours or replicas, not the
    load generator -- spend over herdload's measured window (after its
    warm-up): started beside herdload, it samples at warmup and at warmup +
    duration."""

    def __init__(self, procs, warmup, duration):
        super().__init__(daemon=True)
        self.pids = [p.pid for p in procs]
        self.warmup, self.duration, self.spent = warmup, duration, None
        self.start()

    def total(self):
        t = 0.0
        for pid in self.pids:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    w = f.read().rsplit(")", 1)[1].split()
                t += (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                return None
        return t

    def run(self):
        time.sleep(self.warmup)
        c0, t0 = self.total(), time.monotonic()
        time.sleep(self.duration)
        c1, t1 = self.total(), time.monotonic()
        if c0 is not None and c1 is not None:
            self.spent = (c1 - c0) * self.duration / (t1 - t0)

    def us_per(self, rps):
        """Microseconds of the servers' CPU per request at rate rps."""
        if self.spent is None or not rps:
            return None
        return self.spent / (rps * self.duration) * 1e6


def throughput(a, results):
    for durable, conns, peers, depth in shapes(a):
        subjects = ["herd", "redis"]
        if peers == 0 and not durable:
            subjects.append("asyncio")
        for rnd in range(a.rounds):
            order = subjects if rnd % 2 == 0 else subjects[::-1]
            for s in order:
                tag = "%s-%d-%d-%d-%d" % (s, durable, conns, peers, depth)
                if s == "herd":
                    procs, port = start_herd(a, a.tmp, peers, durable, tag)
                    mode = "iamat"
                elif s == "redis":
                    procs, port = start_redis(a, a.tmp, peers, durable, tag)
                    mode = "set"
                else:
                    procs, port = start_ref(a, a.tmp)
                    mode = "iamat"
                cpu = CpuWindow(procs, a.warmup, a.duration)
                try:
                    r = load(a, port, mode, conns, depth)
                finally:
                    cpu.join()
                    stop(procs)
                key = (s, durable, conns, peers, depth)
                results.setdefault(key, []).append(r["rps"])
                us = cpu.us_per(r["rps"])
                if us is not None:
                    results.setdefault(("cpu",) + key, []).append(us)
                print("%-8s %-9s conns %4d peers %d depth %2d: %9.0f/s p99 "
                      "%.2f ms, %s us CPU an update (servers)" % (
                          s, "everysec" if durable else "none", conns, peers,
                          depth, r["rps"], r["p99_ms"],
                          "%.2f" % us if us is not None else "-"),
                      flush=True)
                shutil.rmtree(os.path.join(a.tmp, "log-" + tag),
                              ignore_errors=True)


def whatsat(a, results):
    for depth in ([1] if a.quick else [1, 16]):
        for rnd in range(a.rounds):
            for s in (("herd", "asyncio") if rnd % 2 == 0 else
                      ("asyncio", "herd")):
                if s == "herd":
                    procs, port = start_herd(a, a.tmp, 0, False, "w" + s)
                else:
                    procs, port = start_ref(a, a.tmp)
                try:
                    r = load(a, port, "whatsat", 50, depth)
                finally:
                    stop(procs)
                results.setdefault(("whatsat", s, depth), []).append(r["rps"])
                print("whatsat %-8s depth %2d: %9.0f/s p99 %.2f ms" % (
                    s, depth, r["rps"], r["p99_ms"]), flush=True)


def propagation(a, results):
    links = {"Goloman": ["Hands", "Holiday", "Wilkes"], "Hands": ["Wilkes"],
             "Holiday": ["Welsh", "Wilkes"], "Welsh": ["Sink"], "Wilkes": [],
             "Sink": []}
    ports = free_ports(2 * len(links))
    port = {n: ports[2 * i] for i, n in enumerate(links)}
    pport = {n: ports[2 * i + 1] for i, n in enumerate(links)}
    out = ["[herd]", "log_dir = log-prop", "log_level = %s" % a.prop_log_level,
           "state_dir =",       # said, as herd_conf says it
           "[places]", "backend = offline", "dataset = %s" % DATASET]
    for n, nb in links.items():
        out += ["[server %s]" % n, "host = 127.0.0.1", "port = %d" % port[n],
                "peer_port = %d" % pport[n]]
        if nb:
            out.append("neighbors = " + " ".join(nb))
    ini = os.path.join(a.tmp, "prop.ini")
    with open(ini, "w") as f:
        f.write("\n".join(out) + "\n")
    # propload (tests/bench/propload.c) on core 1: the listener Welsh
    # streams to, then the sender to Hands, both on the logs' clock
    dump = os.path.join(a.tmp, "prop.times")
    pl = subprocess.Popen(
        ["taskset", "-c", "1", a.propload, "-p", str(port["Hands"]), "-l",
         str(pport["Sink"]), "-r", "1000,10000", "-s", str(a.prop_seconds),
         "-w", "1.5", "-o", dump], stdout=subprocess.PIPE, text=True)
    procs = [spawn([a.node, "-f", ini, n], 0, cwd=a.tmp)
             for n in links if n != "Sink"]
    try:
        for n in links:
            if n != "Sink" and wait_accepting(port[n], procs[0], 30) is None:
                sys.exit("bench_suite: the herd did not start")
        try:
            said, _ = pl.communicate(timeout=60 + 3 * a.prop_seconds)
        except subprocess.TimeoutExpired:
            sys.exit("bench_suite: propload did not finish")
        if pl.returncode != 0:
            sys.exit("bench_suite: propload failed: %s" % said)
        sends, arrived = {}, {}
        with open(dump) as f:
            for ln in f:
                cid, t_sent, t_came = ln.split()
                cid = cid.encode()
                rate = int(cid.split(b"-")[1])
                sends.setdefault(rate, {})[cid] = int(t_sent) / 1e9
                if t_came != "0":
                    arrived[cid] = int(t_came) / 1e9
        for rate, sent in sends.items():
            lat = sorted((arrived[c] - t) * 1e6 for c, t in sent.items()
                         if c in arrived)
            got = len(lat)
            if not lat:
                sys.exit("bench_suite: nothing reached the listener")
            p50 = lat[len(lat) // 2]
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            results[("prop", rate)] = (p50, p99, got, len(sent))
            print("propagation at %5d/s: p50 %.0f us, p99 %.0f us (%d of %d)"
                  % (rate, p50, p99, got, len(sent)), flush=True)
        # the herd's own view, by its logs' stamps (one clock): from Hands
        # reading the IAMAT to Welsh reading the UPDATE
        stop(procs)
        hands = log_stamps(os.path.join(a.tmp, "log-prop", "Hands.log"),
                           b" recv IAMAT prop-", 5)
        welsh = log_stamps(os.path.join(a.tmp, "log-prop", "Welsh.log"),
                           b" recv UPDATE AT Hands ", 8)
        for rate in sends:
            lat = sorted((welsh[c] - t) * 1e6 for c, t in hands.items()
                         if c in welsh and c.startswith(b"prop-%d-" % rate))
            if lat:
                results[("hop3", rate)] = (lat[len(lat) // 2],
                                           lat[int(len(lat) * 0.99)])
                print("Hands -> Welsh by the logs at %5d/s: p50 %.0f us, "
                      "p99 %.0f us" % ((rate,) + results[("hop3", rate)]),
                      flush=True)
            # the edges, one clock: the sender to Hands reading the IAMAT,
            # Welsh reading the UPDATE to the listener's (its hop more)
            sent = sends[rate]
            for key, lat in (
                    ("edge_in", [(hands[c] - sent[c]) * 1e6 for c in sent
                                 if c in hands]),
                    ("edge_out", [(arrived[c] - welsh[c]) * 1e6
                                  for c in sent if c in welsh and
                                  c in arrived])):
                if lat:
                    lat.sort()
                    results[(key, rate)] = (lat[len(lat) // 2],
                                            lat[int(len(lat) * 0.99)])
                    print("%s at %5d/s: p50 %.0f us, p99 %.0f us" % (
                        key, rate, *results[(key, rate)]), flush=True)
    finally:
        if pl.poll() is None:
            pl.kill()
            pl.wait()
        stop(procs)


def log_stamps(path, marker, field):
    """{client id: the time of its first line holding marker} from a log;
    the id is the field'th word after the log prefix."""
    out = {}
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return out
    with f:
        for line in f:
            if marker not in line:
                continue
            w = line.split()
            t = datetime.datetime.strptime(
                w[0][:26].decode(), "%Y-%m-%dT%H:%M:%S.%f").replace(
                    tzinfo=datetime.timezone.utc)
            cid = w[1 + field] if len(w) > 1 + field else None
            if cid is not None and cid not in out:
                out[cid] = t.timestamp()
    return out


def memory(a, results):
    n = 100000 if a.quick else 1000000
    line = "IAMAT mem-%d +34.068930-118.445127 1700000000.123456789\n"
    # a million ids: past max_clients's default (250,000), so unbounded
    # here, to measure what a client costs at that scale
    procs, port = start_herd(a, a.tmp, 0, False, "mem", "max_clients = 0")
    try:
        before = rss_kb(procs[0].pid)
        push(port, (line % i for i in range(n)), n)
        results[("mem", "herd")] = (rss_kb(procs[0].pid) - before) * 1024 / n
    finally:
        stop(procs)
    procs, port = start_redis(a, a.tmp, 0, False, "mem")
    try:
        before = rss_kb(procs[0].pid)
        push(port, ('SET mem-%d "+34.068930-118.445127 1700000000.123456789"'
                    '\r\n' % i for i in range(n)), n)
        results[("mem", "redis")] = (rss_kb(procs[0].pid) - before) * 1024 / n
    finally:
        stop(procs)
    print("memory per client at %d: herd %.0f B, redis %.0f B" % (
        n, results[("mem", "herd")], results[("mem", "redis")]), flush=True)
    results[("mem", "n")] = n


def push(port, lines, n):
    s = socket.create_connection(("127.0.0.1", port))
    got, chunk = 0, []
    for i, l in enumerate(lines):
        chunk.append(l)
        if len(chunk) == 20000 or i == n - 1:
            s.sendall("".join(chunk).encode())
            want = i + 1
            while got < want:
                got += s.recv(1 << 20).count(b"\n")
            chunk = []
    s.close()


# ----- the write-up --------------------------------------------------------

def med(results, key):
    v = results.get(key)
    return statistics.median(v) if v else None


def plot(a, results, outdir):
    if shutil.which("gnuplot") is None:
        print("bench_suite: no gnuplot: no plots", flush=True)
        return []
    made = []
    depths = sorted({k[4] for k in results if len(k) == 5})
    peers = sorted({k[3] for k in results if len(k) == 5})
    data = os.path.join(a.tmp, "depth.dat")
    with open(data, "w") as f:
        for d in depths:
            f.write("%d %s %s %s\n" % (d, *[
                "%.0f" % (med(results, (s, False, 50, 0, d)) or 0)
                for s in ("herd", "redis", "asyncio")]))
    png = os.path.join(outdir, "bench-depth.png")
    gp(data, png, "IAMAT (SET) per second against pipeline depth, 50 "
       "connections, alone, no durability", "pipeline depth",
       [(2, "herd-node"), (3, "Redis"), (4, "asyncio reference")], logx=True)
    made.append(png)
    data = os.path.join(a.tmp, "peers.dat")
    with open(data, "w") as f:
        for p in peers:
            f.write("%d %s\n" % (p, " ".join(
                "%.0f" % (med(results, (s, False, 50, p, d)) or 0)
                for d in (1, 16) for s in ("herd", "redis"))))
    png = os.path.join(outdir, "bench-peers.png")
    gp(data, png, "IAMAT (SET) per second against neighbours (replicas), 50 "
       "connections", "neighbours / replicas",
       [(2, "herd, depth 1"), (3, "Redis, depth 1"), (4, "herd, depth 16"),
        (5, "Redis, depth 16")])
    made.append(png)
    return made


def gp(data, png, title, xlabel, cols, logx=False):
    script = ["set terminal png size 900,500 noenhanced",
              "set output '%s'" % png, "set title '%s'" % title,
              "set xlabel '%s'" % xlabel, "set ylabel 'per second'",
              "set key right top", "set grid", "set yrange [0:*]"]
    if logx:
        script.append("set logscale x 2")
    script.append("plot " + ", ".join(
        "'%s' using 1:%d with linespoints lw 2 title '%s'" % (data, c, t)
        for c, t in cols))
    subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True,
                   check=True)


def buildtype(build):
    """The meson buildtype of a build directory, or "?"."""
    try:
        r = subprocess.run(["meson", "introspect", "--buildoptions", build],
                           capture_output=True, text=True, timeout=30)
        import json
        for o in json.loads(r.stdout):
            if o.get("name") == "buildtype":
                return o.get("value")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    return "?"


def write_md(a, results, pngs):
    def ratio(x, y):
        return "%.2fx" % (x / y) if x and y else "-"

    lines = ["# Benchmarks", "",
             "Made by `tests/bench/bench_suite.py%s` on %s; numbers are "
             "medians of %d rounds of %.1f s (after %.1f s of warm-up), the "
             "servers alternating within each round." % (
                 " --quick" if a.quick else "",
                 datetime.date.today().isoformat(), a.rounds, a.duration,
                 a.warmup), "",
             "Machine: %s, %d cores, Linux %s; herd built in `%s` (%s); "
             "Redis `%s`.  The server "
             "under test is pinned to core 0; the load generator (herdload), "
             "neighbours, replicas and listener to core 1.  herd-node logs "
             "at `log_level = info` (every line in and out, as PROTOCOL.md "
             "asks); Redis logs at its default." % (
                 platform.processor() or platform.machine(), os.cpu_count(),
                 platform.release(), a.build, buildtype(a.build),
                 subprocess.run([a.redis, "--version"], capture_output=True,
                                text=True).stdout.strip()), "",
             "Redis is sent `SET load-N \"<coords> <time>\"` inline (one "
             "line, answered `+OK`), herd `IAMAT load-N <coords> <time>`; "
             "both through herdload, the same ids and the same pacing.", ""]
    for p in pngs:
        lines.append("![%s](%s)" % (os.path.basename(p),
                                    os.path.basename(p)))
        lines.append("")
    for durable in (False, True):
        lines += ["## IAMAT against SET, %s" % (
            "durable: herd `fsync = everysec`, Redis `appendonly yes`, "
            "`appendfsync everysec`" if durable else
            "no durability: herd without state_dir, Redis without "
            "persistence"), "",
            "| conns | peers | depth | herd/s | Redis/s | herd/Redis | "
            "asyncio/s | herd/asyncio | herd CPU/update | Redis CPU/update "
            "| herd/Redis CPU |", "|---|---|---|---|---|---|---|---|---|---|"
            "---|"]
        for key in sorted(k for k in results if len(k) == 5 and
                          k[0] == "herd" and k[1] == durable):
            _, _, conns, peers, depth = key
            h = med(results, key)
            r = med(results, ("redis", durable, conns, peers, depth))
            y = med(results, ("asyncio", durable, conns, peers, depth))
            hc = med(results, ("cpu", "herd", durable, conns, peers, depth))
            rc = med(results, ("cpu", "redis", durable, conns, peers, depth))
            lines.append("| %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s "
                         "| %s |" % (
                             conns, peers, depth, h, "%.0f" % r if r else "-",
                             ratio(h, r), "%.0f" % y if y else "-",
                             ratio(h, y), "%.2f us" % hc if hc else "-",
                             "%.2f us" % rc if rc else "-", ratio(hc, rc)))
        lines += ["", "CPU/update: the CPU seconds (user and system, from "
                  "/proc) of the shape's servers -- the one under test and "
                  "its neighbours or replicas, not the load generator -- "
                  "over the measured window, per request answered; "
                  "herd/Redis CPU below 1 is less.", ""]
    if any(k[0] == "whatsat" for k in results if isinstance(k, tuple)):
        lines += ["## WHATSAT (offline data set), 50 connections", "",
                  "| depth | herd/s | asyncio/s | herd/asyncio |",
                  "|---|---|---|---|"]
        for d in sorted({k[2] for k in results if k[0] == "whatsat"}):
            h = med(results, ("whatsat", "herd", d))
            y = med(results, ("whatsat", "asyncio", d))
            lines.append("| %d | %.0f | %.0f | %s |" % (d, h, y, ratio(h, y)))
        lines.append("")
    if ("prop", 1000) in results:
        lines += ["## Propagation, Hands to Welsh (three hops)", "",
                  "From each IAMAT's send to Hands to its arrival at a "
                  "listener that Welsh streams to (one hop more, on "
                  "loopback); the five servers share core 0.", "",
                  "| rate | p50 | p99 | arrived |", "|---|---|---|---|"]
        for rate in (1000, 10000):
            p50, p99, got, n = results[("prop", rate)]
            lines.append("| %d/s | %.0f us | %.0f us | %d of %d |" % (
                rate, p50, p99, got, n))
        for rate in (1000, 10000):
            if ("hop3", rate) in results:
                lines.append("| %d/s, by the servers' logs: Hands reads the "
                             "IAMAT, Welsh reads the UPDATE | %.0f us | %.0f "
                             "us | |" % ((rate,) + results[("hop3", rate)]))
        for rate in (1000, 10000):
            for key, what in (("edge_in", "the sender to Hands reading the "
                               "IAMAT"),
                              ("edge_out", "Welsh reading the UPDATE to the "
                               "listener's (its hop more)")):
                if (key, rate) in results:
                    lines.append("| %d/s, %s | %.0f us | %.0f us | |" % (
                        (rate, what) + results[(key, rate)]))
        lines.append("")
    if ("mem", "herd") in results:
        lines += ["## Memory per stored client", "",
                  "Resident memory grown over %d clients (the AT line, "
                  "about 70 bytes of it, is the value)." % results[
                      ("mem", "n")], "",
                  "| herd-node | redis-server |", "|---|---|",
                  "| %.0f B | %.0f B |" % (results[("mem", "herd")],
                                          results[("mem", "redis")]), ""]
    # bench_scale.py's section, which this suite does not measure, stays
    try:
        with open(a.out) as f:
            old = f.read()
        i = old.find("\n## A big herd on one machine")
        if i >= 0:
            lines.append(old[i:].strip("\n") + "\n")
    except FileNotFoundError:
        pass
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("bench_suite: wrote %s" % a.out, flush=True)


def bench_args(ap, rounds):
    """The options of the runs, shared with bench_tls.py."""
    ap.add_argument("--build", default="build")
    ap.add_argument("--redis", default=shutil.which("redis-server") or
                    "redis-server")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--quick", action="store_true")


def bench_paths(a, prefix):
    """The binaries of a.build, and a temporary directory."""
    a.node = os.path.abspath(os.path.join(a.build, "node", "herd-node"))
    a.propload = os.path.abspath(os.path.join(a.build, "tests", "bench",
                                              "propload"))
    a.herdload = os.path.abspath(os.path.join(a.build, "tests", "bench",
                                              "herdload"))
    a.tmp = tempfile.mkdtemp(prefix=prefix)


def main():
    ap = argparse.ArgumentParser()
    bench_args(ap, 3)
    ap.add_argument("--prop-seconds", type=float, default=3)
    ap.add_argument("--prop-log-level", default="info")
    ap.add_argument("--only", default="throughput,whatsat,propagation,memory")
    ap.add_argument("--out", default=os.path.join(REPO, "docs",
                                                  "BENCHMARKS.md"))
    a = ap.parse_args()
    if a.quick:
        a.rounds = 1
    bench_paths(a, "herdsuite-")
    results = {}
    try:
        only = a.only.split(",")
        if "throughput" in only:
            throughput(a, results)
        if "whatsat" in only:
            whatsat(a, results)
        if "propagation" in only:
            propagation(a, results)
        if "memory" in only:
            memory(a, results)
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        pngs = plot(a, results, os.path.dirname(a.out)) if any(
            len(k) == 5 for k in results) else []
        write_md(a, results, pngs)
    finally:
        stop(PROCS)
        shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
