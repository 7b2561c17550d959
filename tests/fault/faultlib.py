"""faultlib -- what the fault tests (test_fault.py, test_journal_cut.py,
test_pause.py) and the drills (tests/drill) share: fresh time stamps,
signals that are undone after each test, clients that count what was
acknowledged, and the set checker that compares it with what every server
answers.

Each fault test prints a Jepsen-style set-checker line as a TAP comment:

    # acked=N lost=N stale=N converged_in=T s

acked: updates that got a correct AT reply.  lost: acknowledged client ids
whose newest acknowledged update some server lacks once converged (no
record there, or on no server an update at least that new).  stale:
(server, id) pairs answering an older time stamp than the newest
acknowledged one.  Both must be 0.

HERD_FAULT_SEED fixes the random seed (printed at the start); HERD_KEEP=1
keeps the directory of a failed run.
"""

import os
import random
import re
import signal
import socket
import threading
import time

import herds
from herdlib import pipeline
from tap import ok

# Convergence: the brief is 5 s after the last restart.  We poll up to
# SETTLE_MAX to print the real figure, and assert CONVERGE_S.
CONVERGE_S = 5.0
SETTLE_MAX = 10.0

COORDS = "+0.000000+0.000000"     # open sea: WHATSAT answers are short
BASE_S = 1700000000               # time stamps: BASE_S + a counter in ns
AT_RE = re.compile(r"^AT (\S+) ([+-]\d+\.\d{9}) (\S+) (\S+) (\S+)$")

SEED = int(os.environ.get("HERD_FAULT_SEED") or time.time_ns() % 10**6)

# What to undo after each test, whatever happens.
STOPPED = set()     # pids we SIGSTOPped and have not continued
STOP_EVENTS = []    # threads of ours to stop


# -- time stamps -------------------------------------------------------------

_counter = [0]
_counter_lock = threading.Lock()


def next_stamp():
    """A fresh time stamp, larger than every earlier one: (string, ns)."""
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return "%d.%09d" % (BASE_S + n // 10**9, n % 10**9), BASE_S * 10**9 + n


def stamp_ns(s):
    sec, _, frac = s.partition(".")
    return int(sec) * 10**9 + int((frac + "000000000")[:9])


# -- processes ---------------------------------------------------------------

def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        return False
    if sig == signal.SIGSTOP:
        STOPPED.add(pid)
    elif sig in (signal.SIGCONT, signal.SIGKILL):
        STOPPED.discard(pid)
    return True



def undo():
    """Stop our threads, continue what we stopped (herds.cleanup() then
    stops the herds)."""
    for ev in STOP_EVENTS:
        ev.set()
    for pid in list(STOPPED):
        signal_pid(pid, signal.SIGCONT)


# -- talking to servers ------------------------------------------------------

def at_matches(line, server, cid, stamp):
    """line is the right AT reply to IAMAT cid COORDS stamp sent to server."""
    m = AT_RE.match(line)
    return bool(m) and m.group(1) == server and m.group(3) == cid and \
        m.group(4) == COORDS and m.group(5) == stamp


def iamat_line(cid, stamp):
    return "IAMAT %s %s %s\n" % (cid, COORDS, stamp)


def iamat_burst(port, server, items, timeout=30.0):
    """Pipeline IAMATs (cid, stamp, ns) to one server; the acknowledged
    ones as a list of (cid, ns)."""
    data = "".join(iamat_line(c, s) for c, s, _ in items).encode()
    lines = pipeline(port, data, timeout).decode(errors="replace").split("\n")
    return [(c, ns) for (c, s, ns), line in zip(items, lines[:-1])
            if at_matches(line, server, c, s)]


def parse_whatsat(out, ids):
    """Replies to one WHATSAT per id, in order: {id: time stamp, or "?"
    for an unknown id}; an id whose reply is missing or cut is left out."""
    lines = out.decode(errors="replace").split("\n")
    res, i = {}, 0
    for cid in ids:
        if i >= len(lines) - 1:
            break
        line = lines[i]
        if line.startswith("? "):
            res[cid] = "?"
            i += 1
            continue
        m = AT_RE.match(line)
        if not m or m.group(3) != cid:
            break
        j = i + 1
        while j < len(lines) - 1 and lines[j] != "":
            j += 1
        if j >= len(lines) - 1:
            break                           # no blank line yet: cut off
        res[cid] = m.group(5)
        i = j + 1
    return res


def snapshot(port, ids, timeout=20.0, radius="10"):
    """What one server answers for each id (see parse_whatsat)."""
    data = "".join("WHATSAT %s %s 1\n" % (c, radius) for c in ids).encode()
    return parse_whatsat(pipeline(port, data, timeout), ids)


def snapshot_all(ports, ids, timeout=20.0):
    """{server: snapshot} for every server, asked in parallel."""
    out = {}

    def one(name):
        out[name] = snapshot(ports[name], ids, timeout)
    threads = [threading.Thread(target=one, args=(n,)) for n in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return {n: out.get(n, {}) for n in ports}


class Verdict:
    """The set checker: every acknowledged id against every server."""

    def __init__(self, snaps, acked):
        self.lost = self.lost_nowhere = self.stale = self.disagree = 0
        self.examples = []
        for cid in sorted(acked):
            want = acked[cid]
            got = {n: snaps[n].get(cid) for n in snaps}
            nss = {n: stamp_ns(v) if v not in (None, "?") else None
                   for n, v in got.items()}
            missing = [n for n, v in nss.items() if v is None]
            nowhere = not any(v is not None and v >= want
                              for v in nss.values())
            old = [n for n, v in nss.items() if v is not None and v < want]
            if missing or nowhere:
                self.lost += 1
            self.lost_nowhere += nowhere
            self.stale += len(old)
            split = len(set(nss.values())) > 1
            self.disagree += split
            if (missing or nowhere or old or split) and \
                    len(self.examples) < 5:
                self.examples.append("%s: newest acked %d, servers %s" % (
                    cid, want, got))

    @property
    def converged(self):
        return self.lost == 0 and self.stale == 0 and self.disagree == 0


def converge(ports, acked, since, settle_max=SETTLE_MAX):
    """Poll every server until the verdict is clean or settle_max seconds
    after since; (seconds after since it converged, or None; verdict)."""
    ids = sorted(acked)
    while True:
        v = Verdict(snapshot_all(ports, ids), acked)
        t = time.monotonic() - since
        if v.converged:
            return t, v
        if t > settle_max:
            return None, v
        time.sleep(0.2)


def report(name, n_acked, t, v, more=""):
    """The set checker's line, then the assertions."""
    print("# %s: acked=%d lost=%d stale=%d converged_in=%s%s" % (
        name, n_acked, v.lost, v.stale,
        "%.2f s" % t if t is not None else "never (> %.0f s)" % SETTLE_MAX,
        more), flush=True)
    detail = "lost on every server: %d, ids the servers disagree on: %d\n" % (
        v.lost_nowhere, v.disagree) + "\n".join(v.examples)
    ok(v.lost == 0 and v.stale == 0,
       "%s: no acknowledged update lost, none stale" % name, detail)
    ok(t is not None and t <= CONVERGE_S,
       "%s: converged within %.0f s (%s)" % (
           name, CONVERGE_S, "%.2f s" % t if t is not None else "never"),
       detail)


def merge_acked(acked, pairs):
    for cid, ns in pairs:
        if ns > acked.get(cid, 0):
            acked[cid] = ns


# -- load ------------------------------------------------------------------

class Clients:
    """Client threads sending IAMATs for random ids to random servers, each
    on a connection of its own per server; records what was acknowledged."""

    def __init__(self, ports, ids, nthreads, seed):
        self.ports = ports
        self.ids = ids
        self.lock = threading.Lock()
        self.acked = {}          # id -> newest acknowledged ns
        self.n_acked = 0
        self.n_failed = 0
        self.stop = threading.Event()
        STOP_EVENTS.append(self.stop)
        self.threads = [threading.Thread(target=self.run, args=(seed + i,),
                                         daemon=True)
                        for i in range(nthreads)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def run(self, seed):
        rng = random.Random(seed)
        conns = {}
        names = list(self.ports)
        while not self.stop.is_set():
            name = rng.choice(names)
            cid = rng.choice(self.ids)
            stamp, ns = next_stamp()
            good = self.send(conns, name, cid, stamp)
            with self.lock:
                if good:
                    self.n_acked += 1
                    if ns > self.acked.get(cid, 0):
                        self.acked[cid] = ns
                else:
                    self.n_failed += 1
            if not good:
                time.sleep(0.005)
        for s in conns.values():
            s.close()

    def send(self, conns, name, cid, stamp):
        """One IAMAT on name's connection: True if rightly acknowledged."""
        s = conns.get(name)
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", self.ports[name]),
                                             timeout=0.5)
                s.settimeout(1.0)
                conns[name] = s
            s.sendall(iamat_line(cid, stamp).encode())
            buf = b""
            while b"\n" not in buf:
                b = s.recv(4096)
                if not b:
                    raise ConnectionError("closed")
                buf += b
        except OSError:
            if s is not None:
                s.close()
            conns.pop(name, None)
            return False
        line = buf.split(b"\n", 1)[0].decode(errors="replace")
        if not at_matches(line, name, cid, stamp):
            s.close()
            conns.pop(name, None)
            return False
        return True


def sigkill(name, pid):
    return signal_pid(pid, signal.SIGKILL)


def kill_storm(h, seconds, rng, end_one=sigkill):
    """End workers every 300 ms for seconds, each by end_one(name, pid)
    (True when it was sent; SIGKILL by default): one at random, sometimes
    two, every tenth time all of them, so that no worker is alive.
    Returns (kills, times all were ended at once)."""
    kills = empties = tick = 0
    end = time.monotonic() + seconds
    next_t = time.monotonic()
    while time.monotonic() < end:
        tick += 1
        st = h.status() or {}
        live = [(n["name"], n["pid"]) for n in st.values()
                if n.get("pid") and n["state"] in ("starting", "running")]
        if tick % 10 == 0:
            victims = live                      # a moment with none alive
        elif rng.random() < 0.25:
            victims = rng.sample(live, min(2, len(live)))
        else:
            victims = rng.sample(live, min(1, len(live)))
        for name, pid in victims:
            kills += bool(end_one(name, pid))
        if tick % 10 == 0 and victims and len(victims) == sum(
                1 for n in st.values() if n.get("pid")):
            empties += 1
        next_t += 0.3
        time.sleep(max(0.0, next_t - time.monotonic()))
    return kills, empties


def burst(h, ids, per_id, timeout=60.0):
    """per_id acknowledged-or-not IAMATs for each id, spread over the
    servers, pipelined on one connection per server in parallel; the
    acknowledged ones as {id: newest ns} and their number."""
    per_server = {n: [] for n in h.names}
    for k in range(per_id):
        for i, cid in enumerate(ids):
            stamp, ns = next_stamp()
            name = h.names[(i + k) % len(h.names)]
            per_server[name].append((cid, stamp, ns))
    results = {}

    def one(name):
        results[name] = iamat_burst(h.port[name], name, per_server[name],
                                    timeout)
    threads = [threading.Thread(target=one, args=(n,)) for n in h.names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    acked = {}
    n = 0
    for pairs in results.values():
        merge_acked(acked, pairs)
        n += len(pairs)
    return acked, n


# -- main --------------------------------------------------------------------

def main(tests, prefix, limit):
    """herds.main with the seed printed and undo() after each test."""
    print("# seed %d (HERD_FAULT_SEED)" % SEED, flush=True)
    random.seed(SEED)
    return herds.main(tests, prefix, limit, after=undo)
