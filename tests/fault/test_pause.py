#!/usr/bin/env python3
"""test_pause.py -- a link paused past the dead-peer time-out.  Two linked
nodes A and B, 100,000 clients loaded into A; B is SIGSTOPped past the
dead-peer time-out (15 s), 10 updates reach A meanwhile, then B is
continued.  A byte-counting proxy sits on both links: from B's resumption
until both links are up again and 3 s passed, under 64 KiB may cross
them, and B misses no update.

    meson test -C build fault-pause --print-errorlogs

Real herd-node processes on 127.0.0.1, ports picked by binding port 0, a
temporary directory removed at the end.  Output is TAP; exit 77 (skip)
when a binary is missing.
"""

import os
import re
import select
import signal
import socket
import sys
import threading
import time

import faultlib
from faultlib import (STOP_EVENTS, Verdict, iamat_burst, merge_acked,
                      next_stamp, report, signal_pid, snapshot)
from herdlib import LogTail, wait_for
from herds import Separate
from tap import ok


class CountingProxy:
    """A TCP relay on an ephemeral port of 127.0.0.1 to target (set before
    the first connection), counting the bytes it forwards each way."""

    def __init__(self):
        self.target = None
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.fwd = self.back = 0      # to the target, and from it
        self.conns = 0
        self.stop = threading.Event()
        STOP_EVENTS.append(self.stop)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def total(self):
        with self.lock:
            return self.fwd + self.back

    def accept_loop(self):
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.relay, args=(c,), daemon=True).start()
        self.ls.close()

    def relay(self, c):
        try:
            t = socket.create_connection(("127.0.0.1", self.target), 2)
        except OSError:
            c.close()
            return
        with self.lock:
            self.conns += 1
        c.settimeout(30)
        t.settimeout(30)
        other = {c: (t, "fwd"), t: (c, "back")}
        open_ = [c, t]                  # sides still sending
        try:
            while open_ and not self.stop.is_set():
                r, _, _ = select.select(open_, [], [], 0.2)
                for s in r:
                    data = s.recv(65536)
                    dst, way = other[s]
                    if not data:        # pass the half-close on
                        open_.remove(s)
                        dst.shutdown(socket.SHUT_WR)
                        continue
                    dst.sendall(data)
                    with self.lock:
                        setattr(self, way, getattr(self, way) + len(data))
        except OSError:
            return
        finally:
            c.close()
            t.close()

    def close(self):
        self.stop.set()


class SplitHerd(Separate):
    """A herd of herd-node processes each reading a configuration of its own,
    so that a node can be given a proxy's port as a neighbour's peer_port:
    via[(me, neighbour)] = the port me dials to reach neighbour."""

    def __init__(self, via, **kw):
        self.via = via
        super().__init__(**kw)

    def write(self, text=None):
        super().write(text)
        self.main_conf = self.conf
        self.confs = {}
        real = self.peer_port
        for me in self.names:
            self.peer_port = dict(real)
            for (a, b), port in self.via.items():
                if a == me:
                    self.peer_port[b] = port
            self.confs[me] = os.path.join(self.dir, "herd-%s.ini" % me)
            with open(self.confs[me], "w") as f:
                f.write(self.conf_text())
        self.peer_port = real

    def start(self, name, **kw):
        self.conf = self.confs[name]
        try:
            return super().start(name, **kw)
        finally:
            self.conf = self.main_conf


def load(port, server, items, nconns):
    """Pipeline items over nconns connections at once; acked (cid, ns)."""
    chunks = [items[i::nconns] for i in range(nconns)]
    results = [None] * nconns

    def one(i):
        results[i] = iamat_burst(port, server, chunks[i], 60)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(nconns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(65)
    return [p for r in results if r for p in r]


def test_pause(top):
    n_clients = 100000
    a_to_b, b_to_a = CountingProxy(), CountingProxy()
    h = SplitHerd(links={"A": ["B"], "B": []}, top=top, label="pause",
                  via={("A", "B"): a_to_b.port, ("B", "A"): b_to_a.port})
    a_to_b.target = h.peer_port["B"]
    b_to_a.target = h.peer_port["A"]
    try:
        h.start("A")
        h.start("B")
        h.wait_links()
        t_load = time.monotonic()
        ids = ["pause-%06d" % i for i in range(n_clients)]
        items = [(c,) + next_stamp() for c in ids]
        acked = {}
        merge_acked(acked, load(h.port["A"], "A", items, 4))
        ok(len(acked) == n_clients, "pause: %d IAMATs loaded into A in "
           "%.1f s (%d acknowledged)" % (n_clients, time.monotonic() - t_load,
                                         len(acked)))
        last = [items[i][0] for i in range(n_clients - 4, n_clients)]
        at_b = wait_for(lambda: Verdict({"B": snapshot(h.port["B"], last)},
                                        {c: acked.get(c, 1) for c in last}
                                        ).converged, 30, 0.2)
        ok(at_b, "pause: B has them (%.1f s after the load began)" % (
            time.monotonic() - t_load))
        print("# pause: %d bytes crossed the links for the load" % (
            a_to_b.total() + b_to_a.total()), flush=True)

        # B stops; A drops the link past the dead-peer time-out
        log_a = LogTail(h.log_path("A"))
        log_b = LogTail(h.log_path("B"))
        pid_b = h.procs["B"].pid
        t_stop = time.monotonic()
        signal_pid(pid_b, signal.SIGSTOP)
        during = [("pause-new-%d" % i,) + next_stamp() for i in range(10)]
        merge_acked(acked, iamat_burst(h.port["A"], "A", during[:5]))
        dropped = wait_for(lambda: log_a.count("link to B down"), 25, 0.2)
        took = time.monotonic() - t_stop
        ok(dropped,
           "pause: A drops its link to the stopped B after %.1f s" % took,
           log_a.text()[-2000:])
        merge_acked(acked, iamat_burst(h.port["A"], "A", during[5:]))
        time.sleep(max(0.0, 17.0 - (time.monotonic() - t_stop)))

        # B resumes: count what crosses the links until both are up + 3 s
        # (B's own link to A counts as up again when B logs it up, or if B
        # never logged it down: it may have outlived the pause)
        before = a_to_b.total() + b_to_a.total()
        fwd0, back0 = a_to_b.total(), b_to_a.total()
        signal_pid(pid_b, signal.SIGCONT)
        t_cont = time.monotonic()
        pending = {c: ns for c, _, ns in during if c in acked}
        caught_up = [None]

        def both_up():
            if caught_up[0] is None and Verdict(
                    {"B": snapshot(h.port["B"], sorted(pending), 2)},
                    pending).converged:
                caught_up[0] = time.monotonic() - t_cont
            return log_a.count("link to B up") and (
                log_b.count("link to A up") or
                not log_b.count("link to A down"))
        both = wait_for(both_up, 15, 0.05)
        t_up = time.monotonic() - t_cont
        ok(both, "pause: both links up again %.2f s after B resumed" % t_up,
           "A: %s\nB: %s" % (log_a.text()[-1500:], log_b.text()[-1500:]))
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            both_up()
            time.sleep(0.05)
        resent = a_to_b.total() + b_to_a.total() - before
        sent = re.findall(r"link to B: sent (\d+) records", log_a.text())
        caught = re.findall(r"peer A: caught up \((\d+) records\)",
                            log_b.text())
        print("# pause: %d bytes crossed the links after B resumed (A->B "
              "link %d, B->A link %d); A sent %s records, B caught up %s" % (
                  resent, a_to_b.total() - fwd0, b_to_a.total() - back0,
                  "/".join(sent) or "no", "/".join(caught) or "no"),
              flush=True)
        ok(resent < 64 * 1024,
           "pause: under 64 KiB crossed the links after B resumed (%d bytes)"
           % resent)

        for n in ("A", "B"):
            ok(h.procs[n].poll() is None, "pause: %s still runs" % n,
               "exit %s\n%s\n%s" % (h.procs[n].poll(), h.stderr(n)[-2000:],
                                     h.log(n)[-2000:]))
        # no update missed: every one of them at B
        t0 = time.monotonic()
        snap = {}
        every = sorted(acked)
        parts = [every[i::4] for i in range(4)]

        def one(part):
            snap.update(snapshot(h.port["B"], part, 30, radius="0.001"))
        threads = [threading.Thread(target=one, args=(p,)) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(35)
        v = Verdict({"B": snap}, acked)
        # converged_in: from B's resumption until it had the 10 updates
        # A got while B was stopped
        report("pause", len(acked), caught_up[0], v,
               " (checked %d ids at B in %.1f s)" % (len(every),
                                                    time.monotonic() - t0))
    finally:
        if "B" in h.procs:
            signal_pid(h.procs["B"].pid, signal.SIGCONT)
        a_to_b.close()
        b_to_a.close()
        h.stop()



def main():
    return faultlib.main((test_pause,), "herd-fault-pause-", 120)


if __name__ == "__main__":
    sys.exit(main())
