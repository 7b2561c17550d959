#!/usr/bin/env python3
"""test_herdd.py -- the herd's own drills against herdd, with every default.

The herd is etc/herd.ini's: its [herd] and [places] settings and its mesh
are read from that file, and only what must differ on a test machine is
changed -- every port is picked free on 127.0.0.1 (the servers', their peer
ports, the HTTP endpoint), the data set is named by its absolute path, and
everything lives in a temporary directory.  No restart, start-limit,
heartbeat or broadcast setting is touched: these drills are about the
defaults as shipped.

 storm     for 30 s, every 300 ms, a worker is ended by SIGKILL, SIGTERM
           or herdctl kill (sometimes two at once; every tenth time all
           of them, so that none runs), while 4 client threads update
           2,000 ids.  Afterwards every worker is running, no
           acknowledged update is lost or stale, converged within 5 s.
 rekill    one worker SIGKILLed six times in a row, each time as soon as
           its new process shows: it runs again afterwards (never
           failed) and answers an IAMAT.
 sigstop   herdd SIGSTOPped for 15 s, then continued: herdctl status
           answers at once, and the same five worker processes run on.
 notify    herdd under a NOTIFY_SOCKET that is read until READY=1 and
           then never again (its queue filled): a reload that restarts
           all five ([places] changed) finishes, herdctl status answers
           within 2 s all along, and every acknowledged update is held.
 unread    a control client that sends commands and never reads the
           replies: herdctl status still answers, and herdd closes that
           connection once it has neither sent nor read for 5 s.

The lost/stale lines are faultlib.py's (its Verdict, converge, report).

    meson test -C build drill --print-errorlogs
    HERDD=build/supervisor/herdd HERDCTL=build/supervisor/herdctl \\
        HERD_NODE=build/node/herd-node PYTHONPATH=tests/lib:tests/fault \\
        python3 tests/drill/test_herdd.py [TEST...]

HERD_FAULT_SEED fixes the random seed.  Output is TAP; exit 77 (skip)
when a binary is missing.
"""

import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import faultlib
from faultlib import (COORDS, SEED, Clients, burst, converge, kill_storm,
                      report, signal_pid)
from herdlib import ask, wait_for
from herds import Supervised
from tap import ok

TIME_LIMIT = 600        # the whole file (CI runs it under ASan, slower)


# -- the default herd --------------------------------------------------------

def shipped(top, label):
    """The default herd under one herdd: etc/herd.ini's, with free ports
    and absolute paths (shipped.py says why)."""
    return Supervised(top, label, shipped=True)


def came_up(h, label):
    """Start h's herdd: ok when every worker runs."""
    h.start()
    return ok(h.wait_running(30) is not None,
              "%s: the default herd comes up under herdd" % label, h.tail())


def watch_states(h, stop, seen):
    """Every state any worker was seen in, until stop is set."""
    while not stop.is_set():
        for n in (h.status() or {}).values():
            seen.add(n["state"])
        stop.wait(0.1)


# -- the storm ---------------------------------------------------------------

def storm(h, seconds, rng):
    """faultlib's kill storm, each worker ended by SIGKILL, SIGTERM or
    herdctl kill at random: ({how: count}, times none was running)."""
    count = {"SIGKILL": 0, "SIGTERM": 0, "herdctl kill": 0}

    def end_one(name, pid):
        how = rng.choice(list(count))
        if how == "herdctl kill":
            done = h.ctl("kill", name, rng.choice(["KILL", "TERM"]),
                         json_out=False, timeout=10)[0] == 0
        else:
            done = signal_pid(pid, getattr(signal, how))
        count[how] += done
        return done
    _, empties = kill_storm(h, seconds, rng, end_one)
    return count, empties


def test_storm(top):
    rng = random.Random(SEED)
    h = shipped(top, "storm")
    try:
        if not came_up(h, "storm"):
            return
        ids = ["drill-%04d" % i for i in range(2000)]
        clients = Clients(h.port, ids, 4, SEED)
        seen, stop = set(), threading.Event()
        watcher = threading.Thread(target=watch_states, args=(h, stop, seen),
                                   daemon=True)
        clients.start()
        watcher.start()
        try:
            count, empties = storm(h, 30.0, rng)
        finally:
            clients.finish()
        print("# storm: %s in 30 s (%d times no worker running); %d IAMATs "
              "acknowledged, %d not, %d ids" % (
                  ", ".join("%d %s" % (v, k) for k, v in count.items()),
                  empties, clients.n_acked, clients.n_failed,
                  len(clients.acked)), flush=True)
        ok(h.proc.poll() is None, "storm: herdd survived", h.tail())
        ok(clients.n_acked > 1000 and sum(count.values()) > 50 and
           all(count.values()) and empties > 0,
           "storm: it had load (%d acked), every kind of kill and moments "
           "with no worker running" % clients.n_acked, count)
        t0 = time.monotonic()
        back = h.wait_running(30)
        stop.set()
        watcher.join(5)
        ok(back is not None, "storm: every worker running at the end "
           "(%s s after the storm)" % (
               "%.2f" % back if back is not None else "never"),
           "%s\n%s" % (h.status(), h.tail()))
        ok("failed" not in seen, "storm: no worker ever failed (states "
           "seen: %s)" % " ".join(sorted(seen)), h.tail())
        t, v = converge(h.port, clients.acked, t0 + (back or 0))
        report("storm", clients.n_acked, t, v)
    finally:
        h.stop()


# -- killed as soon as it runs -----------------------------------------------

def test_rekill(top):
    h = shipped(top, "rekill")
    name = "Holiday"
    try:
        if not came_up(h, "rekill"):
            return
        seen, pids, kills = set(), set(), 0
        end = time.monotonic() + 60
        while kills < 6 and time.monotonic() < end:
            n = (h.status() or {}).get(name) or {}
            seen.add(n.get("state"))
            pid = n.get("pid")
            if pid and pid not in pids:
                pids.add(pid)
                kills += signal_pid(pid, signal.SIGKILL)
            else:
                time.sleep(0.01)
        ok(kills == 6, "rekill: %s SIGKILLed 6 times in a row, each as soon "
           "as its process showed" % name, h.tail())
        st = wait_for(lambda: (lambda n: n if n and n["state"] == "running"
                               and n["pid"] not in pids else None)(
            (h.status() or {}).get(name)), 60)
        seen.add(st and st["state"])
        ok(st is not None and "failed" not in seen,
           "rekill: %s running again, never failed (%s)" % (
               name, " ".join(sorted(str(s) for s in seen))),
           "%s\n%s" % (h.status(), h.tail()))
        reply = ask(h.port[name], "IAMAT rekill %s %.9f\n" % (
            COORDS, time.time()))
        ok(reply is not None and reply.startswith("AT %s " % name),
           "rekill: it answers an IAMAT", repr(reply))
    finally:
        h.stop()


# -- herdd stopped -----------------------------------------------------------

def test_sigstop(top):
    h = shipped(top, "sigstop")
    try:
        if not came_up(h, "sigstop"):
            return
        before = {n: s["pid"] for n, s in h.all_running().items()}
        signal_pid(h.proc.pid, signal.SIGSTOP)
        time.sleep(15)
        signal_pid(h.proc.pid, signal.SIGCONT)
        t0 = time.monotonic()
        st = h.status()
        took = time.monotonic() - t0
        ok(st is not None and took < 2.0,
           "sigstop: herdctl status answers right after (%.2f s)" % took)
        time.sleep(3)                   # past a heartbeat or two
        st = h.all_running() or {}
        after = {n: s["pid"] for n, s in st.items()}
        ok(after == before, "sigstop: herdd stopped 15 s: the same five "
           "workers run on", "before %s\nafter %s\n%s" % (
               before, after, h.tail()))
    finally:
        h.stop()


# -- a service manager that stopped reading ----------------------------------

def fill(path):
    """Fill the datagram socket at path until it takes no more: the
    senders (kept open by the caller), and how many datagrams went."""
    senders, sent = [], 0
    for _ in range(64):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setblocking(False)
        senders.append(s)
        n = 0
        try:
            while True:
                s.sendto(b"X", path)
                n += 1
        except BlockingIOError:
            pass
        sent += n
        if n == 0:                      # a fresh sender cannot get in: full
            break
    return senders, sent


def test_notify(top):
    h = shipped(top, "notify")
    path = os.path.join(h.dir, "notify.sock")
    mgr = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    mgr.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    mgr.bind(path)
    mgr.settimeout(1.0)
    senders = []
    try:
        h.start(env={"NOTIFY_SOCKET": path})
        got, end = [], time.monotonic() + 30
        while time.monotonic() < end and not any(
                b"READY=1" in m for m in got):
            try:
                got.append(mgr.recv(4096))
            except socket.timeout:
                pass
        if not ok(any(b"READY=1" in m for m in got),
                  "notify: READY=1 on NOTIFY_SOCKET", "%s\n%s" % (
                      got, h.tail())):
            return
        if not ok(h.wait_running(15) is not None,
                  "notify: the default herd comes up under herdd", h.tail()):
            return
        senders, sent = fill(path)      # never read again from here
        ok(sent > 0, "notify: NOTIFY_SOCKET full (%d datagrams)" % sent)
        ids = ["notify-%03d" % i for i in range(500)]
        acked, n = burst(h, ids, 1)
        ok(n == 500, "notify: 500 IAMATs acknowledged (%d)" % n)
        pids = set(h.worker_pids())
        with open(h.conf) as f:
            text = f.read()
        with open(h.conf, "w") as f:    # restarts all five
            f.write(text.replace("\ntimeout_ms = ", "\ntimeout_ms = 1", 1))
        done = {}

        def reload():
            try:
                done["r"] = h.ctl("reload", json_out=False, timeout=120)
            except subprocess.TimeoutExpired:
                done["r"] = None
        t = threading.Thread(target=reload, daemon=True)
        t0 = time.monotonic()
        t.start()
        worst = 0.0
        while t.is_alive() and time.monotonic() - t0 < 120:
            a = time.monotonic()
            try:
                rc = h.ctl("status", json_out=False, timeout=10)[0]
                took = time.monotonic() - a if rc == 0 else 10.0
            except subprocess.TimeoutExpired:
                took = 10.0
            worst = max(worst, took)
            time.sleep(0.1)
        t.join(5)
        r = done.get("r")
        ok(r is not None and r[0] == 0,
           "notify: the reload finishes (%.1f s)" % (time.monotonic() - t0),
           "%s\n%s" % (r and (r[1] + r[2]), h.tail()))
        ok(worst < 2.0, "notify: herdctl status answered within 2 s all "
           "along (slowest %.2f s)" % worst, h.tail())
        st = h.all_running() or {}
        ok(len(st) == 5 and not pids & set(s["pid"] for s in st.values()),
           "notify: all five restarted by the reload, running",
           "%s\n%s" % (st, h.tail()))
        t, v = converge(h.port, acked, time.monotonic())
        report("notify", n, t, v)
    finally:
        h.stop()
        for s in senders:
            s.close()
        mgr.close()


# -- a control client that does not read ------------------------------------

def test_unread(top):
    h = shipped(top, "unread")
    stuck = None
    try:
        if not came_up(h, "unread"):
            return
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(h.sock)
        stuck.setblocking(False)
        sent = 0
        try:                            # asks, and never reads the answers
            for _ in range(20000):
                sent += stuck.send(b"status\n")
        except BlockingIOError:
            pass
        t0 = time.monotonic()
        worst = 0.0
        while time.monotonic() - t0 < 3:
            a = time.monotonic()
            rc = h.ctl("status", json_out=False, timeout=10)[0]
            worst = max(worst, time.monotonic() - a if rc == 0 else 10.0)
        ok(worst < 2.0, "unread: a client asking %d bytes of commands and "
           "reading nothing: herdctl status answers (slowest %.2f s)" % (
               sent, worst), h.tail())
        # herdd lets it go once it has neither sent nor read for 5 s:
        # seen as a hang-up (poll), without reading a byte
        pl = select.poll()
        pl.register(stuck, select.POLLHUP)
        t1 = time.monotonic()
        closed = wait_for(lambda: any(ev & select.POLLHUP
                                      for _, ev in pl.poll(0)), 20, 0.1)
        took = time.monotonic() - t1
        ok(closed, "unread: herdd closed the connection that read nothing "
           "(%.1f s)" % took,
           h.tail())
    finally:
        if stuck is not None:
            stuck.close()
        h.stop()


def main():
    return faultlib.main((test_storm, test_rekill, test_sigstop, test_notify,
                          test_unread), "herd-drill-", TIME_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
