#!/usr/bin/env python3
"""bench_scale.py -- a big herd on one machine: memory, start-up, what an
update costs, flooding against the broadcast tree, and the tree's repair.

    python3 tests/bench/bench_scale.py --build build-bench \\
        [--sizes 25,50,100] [--updates 200] [--modes flood,tree] \\
        [--out docs/BENCHMARKS.md]

For each size N and each broadcast mode: a random connected mesh of
average degree 4 (a random spanning tree, then random links until there
are 2N), seeded, under one herdd, with the offline backend and no
state_dir.  Ports are taken below the kernel's ephemeral range (client
ports from 20000, peer ports from 30000), so that no outgoing connection
can take one first.  It reports:

  ready     herdd's "herd up ... ready in" time
  PSS       the proportional set size of herdd and its N workers, from
            /proc/PID/smaps_rollup (the shared data set counted once)
  msgs      UPDATE (and RESEND) messages sent on peer links per client
            update, from herd_flood_messages_total, against N - 1 (a
            spanning tree) and 2L - N + 1 (flooding, L links)
  bytes     every byte written on peer links per update (updates,
            notices, marks, pings, digests), from
            herd_peer_bytes_sent_total, and its ratio to N - 1 copies of
            the update's line (what a perfect tree would send)
  to last   from the first server reading an IAMAT to the last server
            reading its UPDATE (or RESEND), p50 and p99, by the servers'
            log stamps
  repair    10 random servers (not the first) paused (SIGSTOP: their
            connections stay open, so only the lazy links' notices tell
            of the break), and later 10 (another draw) stopped (their
            connections close, and they stay down); each time an update
            every 20 ms for 3 s: the time from the pause or the stops to
            the first update after which every update reaches every
            server still reachable through live links within 50 ms; and
            the p99 of those updates

Updates are sent one at a time to the first server, each for a new
client, a few milliseconds apart, so that the links do not batch them;
before them, 20 updates let the tree form (they are not counted); the
counts are taken once every server holds every client.  With --out, the
table replaces the part of the file between the markers
<!-- bench_scale --> and <!-- /bench_scale -->, and gnuplot (if there is
one) plots the bytes per update beside it, in bench-scale.png."""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))  # herdlib: tests/lib
from herdlib import quiet, wait_for  # noqa: E402


def mesh(n, seed):
    rnd = random.Random(seed)
    names = ["s%03d" % i for i in range(n)]
    edges = set()
    for i in range(1, n):
        j = rnd.randrange(i)
        edges.add((min(i, j), max(i, j)))
    while len(edges) < min(2 * n, n * (n - 1) // 2):
        a, b = rnd.sample(range(n), 2)
        edges.add((min(a, b), max(a, b)))
    return names, sorted(edges)


def port_free(p):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base(n):
    for base in range(20000, 30000 - n, 500):
        if all(port_free(base + i) and port_free(base + 10000 + i)
               for i in range(n)) and port_free(base - 1):
            return base
    sys.exit("bench_scale: no free block of %d ports below 32768" % n)


def write_conf(d, names, edges, base, mode):
    nb = {i: [] for i in range(len(names))}
    for a, b in edges:
        nb[a].append(names[b])
    out = ["[herd]", "log_dir = log", "log_level = info",
           "control = herd.sock", "http = 127.0.0.1:%d" % (base - 1),
           "broadcast = %s" % mode,
           "",
           "[places]", "backend = offline",
           "dataset = %s" % os.path.join(SRC, "data", "cities.dat"), ""]
    for i, n in enumerate(names):
        out += ["[server %s]" % n, "host = 127.0.0.1",
                "port = %d" % (base + i), "peer_port = %d" % (base + 10000 + i)]
        if nb[i]:
            out.append("neighbors = " + " ".join(nb[i]))
        out.append("")
    path = os.path.join(d, "herd.ini")
    with open(path, "w") as f:
        f.write("\n".join(out))
    return path


def status(ctl, sock):
    r = subprocess.run([ctl, "-s", sock, "-j", "status"], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)["nodes"]


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def metric_total(http, family, match=""):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http,
                                timeout=10) as r:
        text = r.read().decode()
    return sum(float(m.group(1)) for m in re.finditer(
        r'^%s\{[^}]*%s[^}]*\} (\S+)$' % (family, re.escape(match)), text,
        re.M))


def stamp(word):
    return datetime.datetime.strptime(word[:26].decode(),
                                      "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def arrivals(d, names, prefix):
    """Per client whose id starts with prefix: when the first server read
    its IAMAT, and when the last of names read its UPDATE (or RESEND),
    from the servers' own log stamps."""
    sent, last, seen = {}, {}, {}
    with open(os.path.join(d, "log", names[0] + ".log"), "rb") as f:
        for line in f:
            w = line.split()
            if len(w) > 6 and w[4] == b"recv" and w[5] == b"IAMAT" and \
                    w[6].startswith(prefix):
                sent.setdefault(w[6], stamp(w[0]))
    for nm in names[1:]:
        first = {}
        with open(os.path.join(d, "log", nm + ".log"), "rb") as f:
            for line in f:
                w = line.split()
                if len(w) > 9 and w[4] == b"recv" and \
                        w[5] in (b"UPDATE", b"RESEND") and \
                        w[9].startswith(prefix):
                    first.setdefault(w[9], stamp(w[0]))
        for cid, t in first.items():
            last[cid] = max(last.get(cid, 0), t)
            seen[cid] = seen.get(cid, 0) + 1
    return {c: (t, last[c]) for c, t in sent.items()
            if seen.get(c) == len(names) - 1}


def arrivals_any(d, names, prefix):
    """As arrivals, for updates sent to any server: per client, when its
    origin read the IAMAT and when the last of the others read it."""
    sent, origin, last, seen = {}, {}, {}, {}
    for nm in names:
        with open(os.path.join(d, "log", nm + ".log"), "rb") as f:
            for line in f:
                w = line.split()
                if len(w) > 6 and w[4] == b"recv" and w[5] == b"IAMAT" \
                        and w[6].startswith(prefix):
                    sent.setdefault(w[6], stamp(w[0]))
                    origin.setdefault(w[6], nm)
                elif len(w) > 9 and w[4] == b"recv" and \
                        w[5] in (b"UPDATE", b"RESEND") and \
                        w[9].startswith(prefix):
                    key = (w[9], nm)
                    if key not in seen:
                        seen[key] = 1
                        last[w[9]] = max(last.get(w[9], 0), stamp(w[0]))
    count = {}
    for (cid, nm) in seen:
        if origin.get(cid) != nm:
            count[cid] = count.get(cid, 0) + 1
    return {c: (t, last[c]) for c, t in sent.items()
            if count.get(c) == len(names) - 1}


def load(a, d, names, base, rate, seconds, line_bytes):
    """Updates at rate a second for seconds, each to a random server, for
    a new client: bytes and UPDATE messages per update, and p50 and p99
    from its origin reading it to the last server reading it."""
    rnd = random.Random(a.seed + rate)
    prefix = "load%d-" % rate
    n = max(1, int(rate * seconds))
    before = metric_total(base - 1, "herd_flood_messages_total")
    bytes0 = metric_total(base - 1, "herd_peer_bytes_sent_total")
    t0 = time.monotonic()
    for k in range(n):
        delay = t0 + k / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        i = rnd.randrange(len(names))
        msg = "IAMAT %s%d +34.068930-118.445127 %d.5\n" % (
            prefix, k, 1700200000 + k)
        with socket.create_connection(("127.0.0.1", base + i), 5) as s:
            s.sendall(msg.encode())
            s.makefile().readline()
    time.sleep(2)
    msgs = (metric_total(base - 1, "herd_flood_messages_total") - before) / n
    nbytes = (metric_total(base - 1, "herd_peer_bytes_sent_total") -
              bytes0) / n
    return {"rate": rate, "n": n, "msgs": msgs, "bytes": nbytes,
            "ratio": nbytes / ((len(names) - 1) * line_bytes),
            "prefix": prefix}


def pct(lat, q):
    return lat[min(len(lat) - 1, int(len(lat) * q))] if lat else None


def propagation(d, names):
    """Per update: p50 and p99 of the time from the first server reading
    the IAMAT to the last server reading its UPDATE."""
    lat = sorted((b - a) * 1e3 for a, b in
                 arrivals(d, names, b"scale-").values())
    return pct(lat, 0.5), pct(lat, 0.99)


def reach_of(names, edges, alive):
    reach, todo = {names[0]}, [0]
    while todo:
        v = todo.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == v and names[y] in alive and names[y] not in reach:
                    reach.add(names[y])
                    todo.append(y)
    return reach


def repair(d, names, edges, base, ctl, sock, seed, how):
    """Stop (how "stop": their connections close, and they stay down) or
    pause (SIGSTOP: their connections stay open) 10 servers; an update
    every 20 ms for 3 s to the first: the time from then until every later
    update reaches every server still reachable within 50 ms, and the p99
    of those updates."""
    down = random.Random(seed).sample(names[1:], 10)
    pids = {s["name"]: s["pid"] for s in status(ctl, sock)}
    if how == "stop":
        subprocess.run([ctl, "-s", sock, "stop"] + down,
                       capture_output=True, timeout=60)
    else:
        for nm in down:
            os.kill(pids[nm], signal.SIGSTOP)
    prefix = "%s-" % how
    t0 = time.time()
    k = 0
    while time.time() - t0 < 3.0:
        msg = "IAMAT %s%d +34.068930-118.445127 %d.5\n" % (
            prefix, k, 1700100000 + k)
        with socket.create_connection(("127.0.0.1", base), 5) as s:
            s.sendall(msg.encode())
            s.makefile().readline()
        k += 1
        time.sleep(0.02)
    time.sleep(1)
    if how != "stop":
        for nm in down:
            os.kill(pids[nm], signal.SIGCONT)
    time.sleep(1)
    subprocess.run([ctl, "-s", sock, "reopen"], capture_output=True,
                   timeout=30)
    time.sleep(1)
    reach = reach_of(names, edges, set(names) - set(down))
    order = [n for n in names if n in reach]
    got = arrivals(d, order, prefix.encode())
    ids = [("%s%d" % (prefix, i)).encode() for i in range(k)]
    good = None
    for i in range(k - 1, -1, -1):
        a = got.get(ids[i])
        if a is None or a[1] - a[0] > 0.05:
            break
        good = i
    if good is None:
        return None, None
    lat = sorted((got[c][1] - got[c][0]) * 1e3 for c in ids[good:])
    return (got[ids[good]][0] - t0) * 1e3, pct(lat, 0.99)


def one(a, n, mode):
    names, edges = mesh(n, a.seed)
    base = pick_base(n)
    d = tempfile.mkdtemp(prefix="herd-bench-scale-")
    conf = write_conf(d, names, edges, base, mode)
    sock = os.path.join(d, "herd.sock")
    ctl = os.path.join(a.build, "supervisor", "herdctl")
    env = dict(os.environ, HERD_NODE=os.path.join(a.build, "node",
                                                  "herd-node"))
    herdd = subprocess.Popen([os.path.join(a.build, "supervisor", "herdd"),
                              "-f", conf], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        degree = {nm: 0 for nm in names}
        for x, y in edges:
            degree[names[x]] += 1
            degree[names[y]] += 1

        def all_up():
            st = status(ctl, sock)
            return st if st and all(
                s["state"] == "running" and
                len(s.get("links") or []) == degree[s["name"]]
                for s in st) else None
        st = wait_for(all_up, 120, 0.2)
        if st is None:
            sys.exit("bench_scale: the %d-server herd did not come up" % n)
        with open(os.path.join(d, "log", "herdd.log")) as f:
            m = re.search(r"herd up: \d+ servers ready in (\d+) ms", f.read())
        ready = int(m.group(1)) if m else -1
        time.sleep(1)
        pss = pss_kb(herdd.pid) + sum(pss_kb(s["pid"]) for s in st)
        # the links are up: the tree forms after that
        quiet(lambda: metric_total(base - 1, "herd_tree_messages_total",
                                   'type="eager"'), 120)
        for k in range(20):         # the tree forms
            msg = "IAMAT warm-%d +34.068930-118.445127 %d.5\n" % (
                k, 1690000000 + k)
            with socket.create_connection(("127.0.0.1", base), 5) as s:
                s.sendall(msg.encode())
                s.makefile().readline()
            time.sleep(0.005)
        if not wait_for(lambda: all((s.get("clients") or 0) >= 20
                                for s in (status(ctl, sock) or [{}])), 120):
            sys.exit("bench_scale: the updates did not reach every server")
        time.sleep(1)
        before = metric_total(base - 1, "herd_flood_messages_total")
        bytes0 = metric_total(base - 1, "herd_peer_bytes_sent_total")
        line_bytes = 0
        for k in range(a.updates):
            msg = "IAMAT scale-%d +34.068930-118.445127 %d.5\n" % (
                k, 1700000000 + k)
            with socket.create_connection(("127.0.0.1", base), 5) as s:
                s.sendall(msg.encode())
                at = s.makefile().readline()
            line_bytes += len("UPDATE ") + len(at)
            time.sleep(0.005)
        if not wait_for(lambda: all((s.get("clients") or 0) >= a.updates + 20
                                for s in (status(ctl, sock) or [{}])), 120):
            sys.exit("bench_scale: the updates did not reach every server")
        time.sleep(1.5)
        msgs = (metric_total(base - 1, "herd_flood_messages_total") -
                before) / a.updates
        nbytes = (metric_total(base - 1, "herd_peer_bytes_sent_total") -
                  bytes0) / a.updates
        subprocess.run([ctl, "-s", sock, "reopen"], capture_output=True,
                       timeout=30)     # the workers' logs written out
        time.sleep(1)
        loads = [load(a, d, names, base, r, max(a.load_s, 20.0 / r),
                      line_bytes / a.updates)
                 for r in (float(x) for x in a.rates.split(",") if x)]
        subprocess.run([ctl, "-s", sock, "reopen"], capture_output=True,
                       timeout=30)
        time.sleep(1)
        for ld in loads:
            lat = sorted((b - t) * 1e3 for t, b in arrivals_any(
                d, names, ld["prefix"].encode()).values())
            ld["reached"] = len(lat)
            ld["p50"], ld["p99"] = pct(lat, 0.5), pct(lat, 0.99)
        p50, p99 = propagation(d, names)
        pz, pz99 = repair(d, names, edges, base, ctl, sock, a.seed + 1,
                          "pause")
        time.sleep(2)       # they catch up
        fix, fix99 = repair(d, names, edges, base, ctl, sock, a.seed,
                            "stop")
        return {"n": n, "mode": mode, "links": len(edges),
                "ready_ms": ready, "pss_mb": pss / 1024.0, "msgs": msgs,
                "tree": n - 1, "flood": 2 * len(edges) - n + 1,
                "bytes": nbytes,
                "copies": (n - 1) * line_bytes / a.updates, "p50": p50,
                "p99": p99, "fix": fix, "fix99": fix99, "pz": pz,
                "pz99": pz99, "loads": loads}
    finally:
        herdd.send_signal(signal.SIGTERM)
        try:
            herdd.wait(60)
        except subprocess.TimeoutExpired:
            herdd.kill()
            herdd.wait()
        shutil.rmtree(d, ignore_errors=True)


def plot(rows, png):
    """Bytes on peer links per update against servers, flood and tree, with
    N - 1 copies of the update's line: a PNG by gnuplot, if there is one."""
    if shutil.which("gnuplot") is None:
        print("bench_scale: no gnuplot: no plot", flush=True)
        return False
    by = {}
    for r in rows:
        by.setdefault(r["n"], {})[r["mode"]] = r
    fd, data = tempfile.mkstemp(suffix=".dat")
    with os.fdopen(fd, "w") as f:
        for n in sorted(by):
            m = by[n]
            any_r = next(iter(m.values()))
            f.write("%d %.0f %.0f %.0f\n" % (
                n, m["flood"]["bytes"] if "flood" in m else float("nan"),
                m["tree"]["bytes"] if "tree" in m else float("nan"),
                any_r["copies"]))
    script = ["set terminal png size 900,500 noenhanced",
              "set output '%s'" % png,
              "set title 'Bytes on peer links per client update, random "
              "mesh of average degree 4'",
              "set xlabel 'servers'", "set ylabel 'bytes per update'",
              "set key left top", "set grid", "set yrange [0:*]",
              "plot '%s' using 1:2 with linespoints lw 2 title "
              "'broadcast = flood', '' using 1:3 with linespoints lw 2 "
              "title 'broadcast = tree', '' using 1:4 with lines dt 2 lw 2 "
              "title 'N - 1 copies of the update'" % data]
    subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True,
                   check=True)
    os.unlink(data)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--modes", default="flood,tree")
    ap.add_argument("--rates", default="100,1",
                    help="sustained loads, updates a second to random "
                    "servers")
    ap.add_argument("--load-s", type=float, default=10.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    rows = [one(a, int(n), m) for n in a.sizes.split(",")
            for m in a.modes.split(",")]
    table = ["| servers | links | broadcast | ready | PSS, herdd and workers "
             "| UPDATE messages per update (N - 1; 2L - N + 1) | bytes on "
             "peer links per update (x N - 1 copies) | to the last server, "
             "p50 / p99 | 10 paused: repaired after; p99 since | 10 stopped: "
             "repaired after; p99 since |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append("| %d | %d | %s | %d ms | %.0f MB (%.1f MB a server) | "
                     "%.1f (%d; %d) | %.0f (%.2fx) | %s | %s | %s |" % (
                         r["n"], r["links"], r["mode"], r["ready_ms"],
                         r["pss_mb"], r["pss_mb"] / r["n"], r["msgs"],
                         r["tree"], r["flood"], r["bytes"],
                         r["bytes"] / r["copies"], "%.1f / %.1f ms" % (
                             r["p50"], r["p99"]) if r["p50"] is not None
                         else "-", "%.0f ms; %.1f ms" % (
                             r["pz"], r["pz99"]) if r["pz"] is not None
                         else "not within 3 s", "%.0f ms; %.1f ms" % (
                             r["fix"], r["fix99"]) if r["fix"] is not None
                         else "not within 3 s"))
    table += ["", "Sustained load: updates at a steady rate, each to a "
              "random server (many origins), after the tree formed:", "",
              "| servers | broadcast | updates a second | UPDATE messages "
              "per update | bytes on peer links per update (x N - 1 copies) "
              "| to the last server, p50 / p99 | reached all |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        for ld in r["loads"]:
            table.append("| %d | %s | %g | %.1f | %.0f (%.2fx) | %s | "
                         "%d of %d |" % (
                             r["n"], r["mode"], ld["rate"], ld["msgs"],
                             ld["bytes"], ld["ratio"], "%.1f / %.1f ms" % (
                                 ld["p50"], ld["p99"])
                             if ld["p50"] is not None else "-",
                             ld["reached"], ld["n"]))
    text = "\n".join(table)
    print(text)
    if a.out:
        try:
            with open(a.out) as f:
                doc = f.read()
        except FileNotFoundError:
            doc = ""            # a new file: the section alone
        png = os.path.join(os.path.dirname(os.path.abspath(a.out)),
                           "bench-scale.png")
        if plot(rows, png):
            text += "\n\n![bytes per update](bench-scale.png)"
        block = ("<!-- bench_scale -->\n%s\n\n(`tests/bench/bench_scale.py "
                 "--sizes %s --updates %d --modes %s --rates %s`, %s)\n"
                 "<!-- /bench_scale -->" % (
                     text, a.sizes, a.updates, a.modes, a.rates,
                     time.strftime("%Y-%m-%d")))
        if "<!-- bench_scale -->" in doc:
            doc = re.sub(r"<!-- bench_scale -->.*<!-- /bench_scale -->",
                         lambda _: block, doc, flags=re.S)
        else:
            doc += "\n## A big herd on one machine\n\n" + block + "\n"
        with open(a.out, "w") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
