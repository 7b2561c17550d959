#!/usr/bin/env python3
"""bench_tls.py -- what TLS on the peer links costs, and herd with TLS
against Redis replicating over TLS, in the same shapes on this machine.

    python3 tests/bench/bench_tls.py --build build-bench \\
        [--rounds 5] [--duration 3] [--out docs/BENCHMARKS.md] [--profile]

Parts (every shape run --rounds times, the subjects alternating within a
round, as bench_suite.py does, whose servers and load it imports):

  throughput  IAMAT to one herd-node A with 2 and 4 neighbours, at
              pipeline depth 1 and 16, 50 connections, the herd holding a
              secret (secret_file), against Redis, four ways:
                herd-tls    peer_tls on, the default: every link TLS 1.3,
                            PSK from the secret, TLS_AES_128_GCM_SHA256
                herd-plain  peer_tls = off, NOT the default (for a herd
                            inside a tunnel of its own): the same secret
                            authenticates the handshake, the lines travel
                            in clear
                redis-tls   SET to a Redis master with 2 and 4 replicas
                            replicating over TLS (tls-port, tls-replication
                            yes, certificates made here by openssl in the
                            temporary directory; TLS 1.3 and
                            TLS_AES_128_GCM_SHA256 only, as herd speaks)
                redis-plain the same Redis replicating in clear, for
                            what TLS costs Redis.
              Clients stay in plain text on both: herdload speaks to A's
              client port and to the master's plain port; only the links
              (herd) and the replication streams (Redis) are TLS, which
              is the like-for-like shape (herd's clients are plain, its
              links TLS).  Besides
              requests/s, the CPU time per request of the server under
              test (A, or the master) and of its neighbours (replicas)
              together, from /proc/PID/stat over the measured window:
              steadier than rates on a shared machine.
  storm       a link flap storm: bench_flap (tests/bench/bench_flap.c)
              keeps 8 dials going at one herd-node's peer port, each a
              whole link coming up as a neighbour brings it up (TCP, the
              TLS 1.3 handshake with (EC)DHE through node/ptls.c, HELLO,
              CHALLENGE, AUTH, OK, SINCE), then closing at once; TLS on
              against peer_tls = off.  Links up a second, and each end's
              CPU per link up (links up a second of the server's CPU is
              what it sustains with a core of its own).
  profile     (--profile) perf record -e cpu-clock with DWARF call
              graphs of A and of a neighbour during a herd-tls and a
              herd-plain run (4 neighbours, depth 16), and of A during a
              TLS storm: the share of each library, the top functions'
              own time, and the top functions with what they call.

A runs on core 0; herdload, the neighbours, the replicas and bench_flap on
core 1.  herd-node logs at info (every line), Redis at its default.
--out writes a section of docs/BENCHMARKS.md between <!-- bench_tls -->
and <!-- /bench_tls --> (appended at the end the first time, after
bench_scale's, where bench_suite.py keeps it).  Not a test: nothing is
asserted.  --quick: one round of 1 s, to try the script; --peers,
--depths and --subjects (comma-separated) narrow the throughput part.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))  # herdlib: tests/lib
from bench_node import wait_accepting  # noqa: E402
from bench_observe import cpu_s  # noqa: E402
from bench_suite import (PROCS, REPO, bench_args, bench_paths,  # noqa: E402
                         buildtype, herd_conf, load, spawn, start_herd,
                         start_redis, stop)
from herdlib import free_ports, wait_for  # noqa: E402

SUBJECTS = ("herd-tls", "herd-plain", "redis-tls", "redis-plain")
PROFILES = {"herd-tls": "A, herd TLS, 4 neighbours, depth 16",
            "herd-tls N0": "a neighbour (N0) of that A",
            "herd-plain": "A, herd plain, 4 neighbours, depth 16",
            "herd-plain N0": "a neighbour (N0) of that A",
            "storm": "A in the TLS storm"}
TLS13 = ["--tls-protocols", "TLSv1.3",
         "--tls-ciphersuites", "TLS_AES_128_GCM_SHA256"]


def make_certs(d):
    """A CA and a certificate for 127.0.0.1 signed by it (ECDSA P-256), for
    Redis: its servers present it, replicas as clients too."""
    ext = os.path.join(d, "san.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    p = {k: os.path.join(d, k) for k in ("ca.crt", "ca.key", "redis.crt",
                                         "redis.key", "redis.csr")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for argv in (
            ["req", "-x509"] + ec + ["-keyout", p["ca.key"], "-out",
                                     p["ca.crt"], "-days", "2", "-subj",
                                     "/CN=bench_tls CA"],
            ["req"] + ec + ["-keyout", p["redis.key"], "-out", p["redis.csr"],
                            "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", p["redis.csr"], "-CA", p["ca.crt"],
             "-CAkey", p["ca.key"], "-CAcreateserial", "-out", p["redis.crt"],
             "-days", "2", "-extfile", ext]):
        subprocess.run(["openssl"] + argv, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ["--tls-cert-file", p["redis.crt"], "--tls-key-file",
            p["redis.key"], "--tls-ca-cert-file", p["ca.crt"],
            "--tls-replication", "yes"] + TLS13


def herd_extra(a, tls):
    """[herd] keys of the herd under test: the secret, and peer_tls = off
    (not the default) for herd-plain."""
    return "secret_file = %s%s" % (a.secret, "" if tls else "\npeer_tls = off")


def links_up(d, tag, peers):
    """Wait until A's log says each of its links to the neighbours is up."""
    path = os.path.join(d, "log-" + tag, "A.log")

    def up():
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return False
        return len(set(re.findall(r"link to (N\d+) up", text))) >= peers
    if not wait_for(up, 20, 0.05):
        sys.exit("bench_tls: the links of %s did not come up" % tag)


def start(a, subject, peers, tag):
    """(processes, client port): the server under test first."""
    if subject.startswith("herd"):
        procs, port = start_herd(a, a.tmp, peers, False, tag,
                                 herd_extra(a, subject == "herd-tls"))
        links_up(a.tmp, tag, peers)
    else:
        tls = (a.redis_tls, free_ports(1)[0]) if subject == "redis-tls" \
            else None
        procs, port = start_redis(a, a.tmp, peers, False, tag, tls)
    return procs, port


def window_cpu(a, pids):
    """Timers that read the CPU time of pids at the start and the end of
    the load's measured window (after its warm-up)."""
    got = {}

    def take(k):
        try:
            got[k] = ([cpu_s(p) for p in pids], time.monotonic())
        except OSError:
            pass
    ts = [threading.Timer(a.warmup, take, ("t0",)),
          threading.Timer(a.warmup + a.duration, take, ("t1",))]
    for t in ts:
        t.start()
    return ts, got


def cpu_of(ts, got):
    """([CPU seconds of each pid in the window], the window's seconds)."""
    for t in ts:
        t.join()
    if "t0" not in got or "t1" not in got:
        return None, None
    return ([y - x for x, y in zip(got["t0"][0], got["t1"][0])],
            got["t1"][1] - got["t0"][1])


def throughput(a, res):
    """res[(subject, peers, depth)]: [(requests/s, us of CPU a request of
    the server under test, its share of core 0, us of CPU a request of the
    neighbours or replicas together, p99 ms)], one per round."""
    for peers in a.peers:
        for depth in a.depths:
            for rnd in range(a.rounds):
                order = a.subjects if rnd % 2 == 0 else a.subjects[::-1]
                for s in order:
                    tag = "%s-%d-%d-%d" % (s, peers, depth, rnd)
                    procs, port = start(a, s, peers, tag)
                    try:
                        ts, got = window_cpu(a, [p.pid for p in procs])
                        r = load(a, port, "set" if s.startswith("redis")
                                 else "iamat", 50, depth)
                        cpu, dt = cpu_of(ts, got)
                    finally:
                        stop(procs)
                    shutil.rmtree(os.path.join(a.tmp, "log-" + tag),
                                  ignore_errors=True)
                    n = r["rps"] * dt if cpu else 0
                    row = (r["rps"], 1e6 * cpu[0] / n if n else 0,
                           cpu[0] / dt if n else 0,
                           1e6 * sum(cpu[1:]) / n if n else 0, r["p99_ms"])
                    res.setdefault((s, peers, depth), []).append(row)
                    print("%-11s peers %d depth %2d: %9.0f/s  server %5.2f us "
                          "CPU a request (%3.0f%% of core 0), the %d others "
                          "%5.2f us  p99 %.2f ms" % (
                              s, peers, depth, row[0], row[1], 100 * row[2],
                              peers, row[3], row[4]), flush=True)
    for k, v in sorted(res.items()):
        print("median %-11s peers %d depth %2d: %9.0f/s  server %5.2f us, "
              "the others %5.2f us" % (k + (medians(v, 0), medians(v, 1),
                                             medians(v, 3))), flush=True)


def storm_once(a, tls, tag, perf_out=None):
    ini, _, port = herd_conf(a.tmp, tag, a.storm_conns, False,
                             herd_extra(a, tls))
    p = spawn([a.node, "-f", ini, "A"], 0, cwd=a.tmp)
    try:
        if wait_accepting(port, p, 30) is None:
            sys.exit("bench_tls: herd-node did not start")
        prof = perf_start(a, p.pid, perf_out) if perf_out else None
        ts, got = window_cpu(a, [p.pid])
        out = subprocess.run(
            ["taskset", "-c", "1", a.flap, "-f", ini, "-t", "A", "-c",
             str(a.storm_conns), "-d", str(a.duration), "-w",
             str(a.warmup)], capture_output=True, text=True,
            timeout=a.duration + a.warmup + 60)
        cpu, dt = cpu_of(ts, got)
        dcpu = cpu[0] if cpu else 0
        if prof:
            perf_stop(prof)
    finally:
        stop([p])
    shutil.rmtree(os.path.join(a.tmp, "log-" + tag), ignore_errors=True)
    last = [ln for ln in out.stdout.splitlines()
            if ln.startswith("bench_flap: ")]
    if out.returncode != 0 or not last:
        sys.exit("bench_tls: bench_flap failed (%d): %s%s" % (
            out.returncode, out.stdout, out.stderr))
    r = dict(kv.split("=", 1) for kv in last[-1].split()[1:])
    rate = float(r["rate"])
    return {"rate": rate, "util": dcpu / dt if dcpu else 0,
            "us": 1e6 * dcpu / (rate * dt) if dcpu and rate else 0,
            "p50": float(r["up_p50_ms"]), "tls_p50": float(r["tls_p50_ms"]),
            "d_util": float(r["cpu_util"]), "d_us": float(r["cpu_us"])}


def storm(a, res):
    for rnd in range(a.rounds):
        for tls in ((True, False) if rnd % 2 == 0 else (False, True)):
            r = storm_once(a, tls, "storm-%d-%d" % (tls, rnd))
            res.setdefault(("storm", tls), []).append(r)
            print("storm %-5s: %7.0f links up/s, A %4.0f%% of core 0, %6.1f "
                  "us CPU a link; dialler %4.0f%%, %6.1f us; up in p50 %.2f "
                  "ms (TLS %.2f ms)" % (
                      "tls" if tls else "plain", r["rate"], 100 * r["util"],
                      r["us"], 100 * r["d_util"], r["d_us"], r["p50"],
                      r["tls_p50"]), flush=True)


# ----- profile -------------------------------------------------------------

def perf_start(a, pid, out):
    return subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999",
                             "--call-graph", "dwarf,8192", "-o", out, "-p",
                             str(pid), "--", "sleep",
                             str(a.warmup + a.duration)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def perf_stop(prof):
    try:
        prof.wait(60)
    except subprocess.TimeoutExpired:
        prof.kill()


def perf_rows(data, opts, n, named=False):
    """[(percent, name)]: perf report's first n lines with opts; named:
    only symbols with a name, in user space."""
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none",
                        "--percent-limit", "0.3"] + opts,
                       capture_output=True, text=True)
    rows = []
    for ln in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(?:[\d.]+%\s+)?(.*\S)", ln)
        if not m:
            continue
        name = re.sub(r"(\s+-)+$", "", m.group(2))
        name = re.sub(r"\s+", " ", name).replace("[.] ", "")
        if re.match(r"0x[0-9a-f]+$", name) or named and (
                "[k]" in name or name.startswith("_") or name in (
                    "main", "ev_run", "ev_invoke_pending")):
            continue
        rows.append((float(m.group(1)), name))
    return rows[:n]


def perf_report(data):
    """By library (own time), the top symbols' own time, and the top named
    user-space functions with what they call."""
    return (perf_rows(data, ["--no-children", "--sort", "dso"], 6),
            perf_rows(data, ["--no-children", "--sort", "symbol"], 10),
            perf_rows(data, ["--children", "--sort", "symbol"], 14, True))


def profile(a, res):
    if shutil.which("perf") is None:
        print("bench_tls: no perf (Debian's linux-perf): no profile")
        return
    for s in ("herd-tls", "herd-plain"):
        tag = "prof-" + s
        data = [os.path.join(a.tmp, "%s-%d.data" % (tag, i)) for i in (0, 1)]
        procs, port = start(a, s, 4, tag)
        try:
            profs = [perf_start(a, procs[i].pid, data[i]) for i in (0, 1)]
            load(a, port, "iamat", 50, 16)
            for prof in profs:
                perf_stop(prof)
        finally:
            stop(procs)
        res[("prof", s)] = perf_report(data[0])
        res[("prof", s + " N0")] = perf_report(data[1])
    data = os.path.join(a.tmp, "prof-storm.data")
    storm_once(a, True, "prof-storm", data)
    res[("prof", "storm")] = perf_report(data)
    for k in PROFILES:
        print("profile %s:" % k)
        for rows in res[("prof", k)]:
            for pct, name in rows:
                print("  %6.2f%%  %s" % (pct, name))
            print()


# ----- the write-up --------------------------------------------------------

def medians(rows, i):
    return statistics.median(r[i] for r in rows)


def section(a, res):
    t = ["Made by `tests/bench/bench_tls.py --rounds %d --duration %g%s` "
         "on %s: medians of %d rounds of %g s (after %g s of warm-up), the "
         "subjects alternating within each round.  Machine: %s, %d cores, "
         "Linux %s; herd built in `%s` (%s); %s; %s.  A (or the Redis "
         "master) on core 0; herdload, the neighbours (replicas) and "
         "bench_flap on core 1." % (
             a.rounds, a.duration, " --profile" if a.profile else "",
             datetime.date.today().isoformat(), a.rounds, a.duration,
             a.warmup, platform.machine(), os.cpu_count(), platform.release(),
             os.path.relpath(a.build, REPO), buildtype(a.build),
             subprocess.run([a.redis, "--version"], capture_output=True,
                            text=True).stdout.split(" sha")[0],
             subprocess.run(["openssl", "version"], capture_output=True,
                            text=True).stdout.split(" (")[0].strip()), ""]
    shapes = [(p, d) for p in (2, 4) for d in (1, 16)
              if all(res.get((s, p, d)) for s in SUBJECTS)]
    if shapes:
        t += ["IAMAT to herd (50 connections), SET to Redis, requests a "
              "second.  herd plain is `peer_tls = off` (not the default); "
              "the herd holds a secret in both.  Clients are plain text "
              "in every column.", "",
              "| peers | depth | herd TLS | herd plain | herd TLS/plain | "
              "Redis TLS | Redis plain | Redis TLS/plain | herd TLS / Redis "
              "TLS |", "|---|---|---|---|---|---|---|---|---|"]
        for p, d in shapes:
            m = {s: medians(res[(s, p, d)], 0) for s in SUBJECTS}
            t.append("| %d | %d | %.0f | %.0f | %.3f | %.0f | %.0f | %.3f | "
                     "%.2fx |" % (p, d, m["herd-tls"], m["herd-plain"],
                                  m["herd-tls"] / m["herd-plain"],
                                  m["redis-tls"], m["redis-plain"],
                                  m["redis-tls"] / m["redis-plain"],
                                  m["herd-tls"] / m["redis-tls"]))
        t += ["", "CPU time per request (us, medians; from /proc/PID/stat "
              "over the measured window): of the server under test (A, the "
              "master), and of its neighbours (replicas) together.", "",
              "| peers | depth | A TLS | A plain | neighbours TLS | "
              "neighbours plain | master TLS | master plain | replicas TLS "
              "| replicas plain |", "|---|---|---|---|---|---|---|---|---|---|"]
        for p, d in shapes:
            c = [medians(res[(s, p, d)], i) for s, i in (
                ("herd-tls", 1), ("herd-plain", 1), ("herd-tls", 3),
                ("herd-plain", 3), ("redis-tls", 1), ("redis-plain", 1),
                ("redis-tls", 3), ("redis-plain", 3))]
            t.append("| %d | %d | " % (p, d) +
                     " | ".join("%.2f" % x for x in c) + " |")
        t.append("")
    if ("storm", True) in res:
        t += ["Link flap storm (bench_flap: %d dials at once, each a link "
              "brought up in full and closed at once): links up a second; "
              "A's share of core 0 and its CPU per link up; the same of the "
              "dialler (core 1); the time from connect(2) to SINCE at the "
              "dialler, and of it the TLS handshake." % a.storm_conns, "",
              "| peer links | links up/s | A's core | A's CPU a link | links "
              "up a second of A's CPU | dialler's core | dialler's CPU a "
              "link | up, p50 (TLS) |", "|---|---|---|---|---|---|---|---|"]
        for tls in (True, False):
            v = res[("storm", tls)]
            m = {k: statistics.median(r[k] for r in v) for k in v[0]}
            t.append("| %s | %.0f | %.0f%% | %.0f us | %.0f | %.0f%% | %.0f "
                     "us | %.2f ms (%.2f ms) |" % (
                         "TLS 1.3, PSK" if tls else "plain (peer_tls = off)",
                         m["rate"], 100 * m["util"], m["us"],
                         1e6 / m["us"] if m["us"] else 0, 100 * m["d_util"],
                         m["d_us"], m["p50"], m["tls_p50"]))
        t.append("")
    for k, title in PROFILES.items():
        if ("prof", k) in res:
            dso, own, incl = res[("prof", k)]
            t += ["perf, %s.  By library: %s.  Own time: %s.  With what it "
                  "calls: %s." % (title, *(", ".join(
                      "%s %.1f%%" % (n, p) for p, n in rows)
                      for rows in (dso, own, incl))), ""]
    return "\n".join(t).rstrip("\n")


def write_out(a, text):
    try:
        with open(a.out) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = ""
    block = "<!-- bench_tls -->\n%s\n<!-- /bench_tls -->" % text
    if "<!-- bench_tls -->" in doc:
        doc = re.sub(r"<!-- bench_tls -->.*<!-- /bench_tls -->",
                     lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n## TLS on the peer links\n\n" + \
            block + "\n"
    with open(a.out, "w") as f:
        f.write(doc)
    print("bench_tls: wrote %s" % a.out, flush=True)


def main():
    ap = argparse.ArgumentParser()
    bench_args(ap, 5)
    ap.add_argument("--storm-conns", type=int, default=8)
    ap.add_argument("--only", default="throughput,storm")
    ap.add_argument("--peers", default="2,4")
    ap.add_argument("--depths", default="1,16")
    ap.add_argument("--subjects", default=",".join(SUBJECTS))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 1, 0.5
    a.peers, a.depths = (tuple(int(x) for x in v.split(","))
                         for v in (a.peers, a.depths))
    a.subjects = tuple(a.subjects.split(","))
    bench_paths(a, "herdtls-")
    a.flap = os.path.join(os.path.dirname(a.herdload), "bench_flap")
    a.secret = os.path.join(a.tmp, "herd.secret")
    with open(a.secret, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(a.secret, 0o600)
    res = {}
    try:
        a.redis_tls = make_certs(a.tmp)
        if "throughput" in a.only:
            throughput(a, res)
        if "storm" in a.only:
            storm(a, res)
        if a.profile:
            profile(a, res)
        text = section(a, res)
        print(text)
        if a.out:
            write_out(a, text)
    finally:
        stop(PROCS)
        shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
