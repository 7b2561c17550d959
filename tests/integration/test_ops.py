#!/usr/bin/env python3
"""test_ops.py -- running the herd as real software, with real processes:

  giveup     a port held by the test: the worker crash-loops, herdd gives
             up (failed) with "Address already in use" as the reason, and
             a start once the port is free brings it back
  paused     a SIGSTOPped worker turns unresponsive, answers again on
             SIGCONT, and is killed and restarted when paused for longer
             than hang_timeout_ms
  systemd    the test plays systemd: a NOTIFY_SOCKET datagram socket reads
             READY=1, STATUS=, WATCHDOG=1, RELOADING=1/READY=1, STOPPING=1
  names      start, stop and restart with several names and all; they wait
  logs       herdctl log [-n] [-f], herdctl reopen and SIGUSR1 after a
             rotation
  peercred   a user other than root and herdd's is refused (needs root)
  rolling    a reload changing [places] while clients write to and ask
             every server: servers restart one at a time (never two down),
             no request goes unanswered (a client tries the next server
             when one is restarting), and no acknowledged update is lost,
             without a state_dir (each restarted server is caught up by its
             neighbours before the next goes)

Binaries come from HERDD, HERDCTL, HERD_NODE; the data set from
HERD_DATASET.  Every herd lives in a temporary directory removed at the
end, on 127.0.0.1 ports picked by binding port 0; every process is killed
at the end.  TAP; exit 77 when a binary is missing."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import herds
from herdlib import DEFAULT_LINKS, ask, pid_alive, wait_for
from herds import HERDCTL, Supervised
from tap import ok


# -- giveup ------------------------------------------------------------------

def test_giveup(top):
    h = Supervised(top, "giveup", {"Solo": [], "Other": []})
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", h.port["Solo"]))
    held.listen(1)
    try:
        h.start()
        n = wait_for(lambda: (lambda n: n if n and n["state"] == "failed"
                              else None)(h.node("Solo")), 15)
        ok(n is not None and "crashed 5 times within 10 s" in
           (n.get("reason") or "") and "Address already in use" in
           (n.get("reason") or "") and n["last_exit"] == "exit 1",
           "a port held: the worker fails after 5 crashes in 10 s, with "
           "the reason", n)
        time.sleep(1.0)
        m = h.node("Solo")
        ok(m and m["state"] == "failed" and m["restarts"] == n["restarts"],
           "and is not restarted any more", m)
        rc, out, _ = h.ctl("status", json_out=False)
        ok(rc == 0 and "Solo failed: crashed 5 times" in out and
           "Address already in use" in out,
           "herdctl status says why, under the table", out)
        held.close()
        rc, out, err = h.ctl("start", "Solo", json_out=False)
        ok(rc == 0 and out.startswith("Solo: running, pid "),
           "the port free again: herdctl start waits, prints running, "
           "exit 0", out + err)
    finally:
        held.close()
        h.stop()


# -- paused ------------------------------------------------------------------

def test_paused(top):
    # the kill is timed against hang_timeout_ms: 6 s, not the default
    # 10 s, keeps the test short
    h = Supervised(top, "paused", {"Solo": []},
                   herd="hang_timeout_ms = 6000")
    try:
        ok(h.up() is not None, "paused: a herd of one")
        pid = h.node("Solo")["pid"]
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        n = wait_for(lambda: (lambda n: n if n and n["state"] ==
                              "unresponsive" else None)(h.node("Solo")), 6)
        took = time.monotonic() - t0
        ok(n is not None and n["pid"] == pid and 2.5 <= took < 5.5 and
           "heartbeat" in (n.get("reason") or ""),
           "SIGSTOP: unresponsive after %.1f s" % took, n)
        os.kill(pid, signal.SIGCONT)
        n = wait_for(lambda: (lambda n: n if n and n["state"] == "running"
                              else None)(h.node("Solo")), 3)
        ok(n is not None and n["pid"] == pid and n["restarts"] == 0,
           "SIGCONT: running again, same process", n)
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        n = wait_for(lambda: (lambda n: n if n and n["state"] == "running"
                              and n["pid"] != pid else None)(
            h.node("Solo")), 12)
        took = time.monotonic() - t0
        ok(n is not None and not pid_alive(pid) and 5.5 <= took < 10 and
           n["restarts"] == 1 and "no answer for" in h.log(),
           "paused past hang_timeout_ms: killed and restarted after "
           "%.1f s" % took, n)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except (OSError, UnboundLocalError):
            pass
        h.stop()


# -- systemd -----------------------------------------------------------------

def test_systemd(top):
    h = Supervised(top, "systemd", {"A": ["B"], "B": []})
    path = os.path.join(h.dir, "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(0.2)
    got = []

    def drain(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                got.append(rx.recv(4096).decode())
            except socket.timeout:
                pass
    try:
        h.up(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        drain(1.2)
        ready = [m for m in got if m == "READY=1"]
        ok(len(ready) == 1 and "STATUS=2 of 2 servers running" in got,
           "READY=1 once every worker is up, and a STATUS line", got)
        ok(got.count("WATCHDOG=1") >= 3,
           "WATCHDOG=1 every 200 ms for WATCHDOG_USEC=400000 (%d in 1.2 s)"
           % got.count("WATCHDOG=1"))
        env = open("/proc/%d/environ" % h.node("A")["pid"], "rb").read()
        ok(b"NOTIFY_SOCKET" not in env and b"WATCHDOG_USEC" not in env,
           "the workers do not get NOTIFY_SOCKET nor WATCHDOG_USEC")
        del got[:]
        h.places += "\ntimeout_ms = 1500"     # restarts both
        h.write()
        rc, out, err = h.ctl("reload")
        drain(0.5)
        rel = [m for m in got if m.startswith("RELOADING=1")]
        ok(rc == 0 and len(rel) == 1 and "MONOTONIC_USEC=" in rel[0] and
           "READY=1" in got and got.index("READY=1") >
           got.index(rel[0]), "a reload: RELOADING=1 (MONOTONIC_USEC), "
           "then READY=1", got)
        del got[:]
        h.proc.send_signal(signal.SIGTERM)
        h.proc.wait(15)
        drain(0.3)
        ok("STOPPING=1" in got, "SIGTERM: STOPPING=1", got)
    finally:
        rx.close()
        h.stop()


# -- names -------------------------------------------------------------------

def test_names(top):
    h = Supervised(top, "names", {"A": ["B"], "B": ["C"], "C": []})
    try:
        ok(h.up() is not None, "names: a herd of three")
        rc, out, err = h.ctl("stop", "A", "B", json_out=False)
        st = h.status()
        ok(rc == 0 and out.splitlines() == ["A: stopped", "B: stopped"] and
           st["A"]["state"] == st["B"]["state"] == "stopped" and
           st["C"]["state"] == "running",
           "stop A B: waits, both stopped, one line each", out + err)
        rc, out, err = h.ctl("start", "all", json_out=False)
        st = h.status()
        ok(rc == 0 and len(out.splitlines()) == 3 and
           all(n["state"] == "running" for n in st.values()),
           "start all: every worker running when it returns", out + err)
        old = {n: st[n]["pid"] for n in st}
        rc, out, err = h.ctl("restart", "all")
        rep = json.loads(out)
        st = h.status()
        ok(rc == 0 and all(x["done"] for x in rep["nodes"]) and
           all(st[n]["state"] == "running" and st[n]["pid"] != old[n]
               for n in st), "restart all: new processes, all running",
           out + err)
        rc, out, err = h.ctl("stop", "--no-wait", "C", json_out=False)
        ok(rc == 0 and out.startswith("C: stopping"),
           "stop --no-wait: at once, stopping", out + err)
        rc, out, err = h.ctl("start", "A", "Nobody", json_out=False)
        ok(rc == 1 and "unknown node" in err and
           h.node("A")["state"] == "running",
           "an unknown name refuses the whole command", err)
        rc, out, err = h.ctl("start", "all", "A", json_out=False)
        ok(rc == 64 and "alone" in err, "all goes alone (exit 64)", err)
    finally:
        h.stop()


# -- logs --------------------------------------------------------------------

def test_logs(top):
    h = Supervised(top, "logs", {"A": []})
    f = None
    try:
        ok(h.up() is not None, "logs: a herd of one")
        rc, out, err = h.ctl("log", "A", json_out=False)
        ok(rc == 0 and "ready" in out and len(out.splitlines()) <= 10,
           "herdctl log A: its last lines", out + err)
        rc, out, err = h.ctl("log", "-n", "1", "A", json_out=False)
        ok(rc == 0 and len(out.splitlines()) == 1, "log -n 1: one line",
           out)
        f = subprocess.Popen([HERDCTL, "-s", h.sock, "log", "-f", "-n", "0",
                              "A"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        logdir = os.path.join(h.dir, "log")
        os.rename(os.path.join(logdir, "A.log"),
                  os.path.join(logdir, "A.log.1"))
        os.rename(os.path.join(logdir, "herdd.log"),
                  os.path.join(logdir, "herdd.log.1"))
        rc, out, err = h.ctl("reopen", json_out=False)
        back = wait_for(lambda: "log reopened" in h.log("A") and
                        "logs reopened" in h.log("herdd"), 3)
        ok(rc == 0 and out.strip() == "logs reopened" and back,
           "logs rotated away, herdctl reopen: herdd and the worker write "
           "new files", out + err)
        time.sleep(0.6)
        f.terminate()
        seen = f.communicate(timeout=5)[0]
        ok("log reopened" in seen,
           "log -f follows the worker's log across the rotation", seen)
        os.rename(os.path.join(logdir, "herdd.log"),
                  os.path.join(logdir, "herdd.log.2"))
        h.proc.send_signal(signal.SIGUSR1)
        ok(wait_for(lambda: "logs reopened" in h.log(), 3),
           "SIGUSR1: herdd reopens its log (a new herdd.log)")
    finally:
        if f is not None and f.poll() is None:
            f.kill()
            f.wait()
        h.stop()


# -- peercred ----------------------------------------------------------------

def test_peercred(top):
    if os.geteuid() != 0:
        ok(True, "# SKIP peercred: needs root to act as another user")
        return
    h = Supervised(top, "peercred", {"A": []})
    try:
        ok(h.up() is not None, "peercred: a herd of one")
        os.chmod(h.sock, 0o666)
        os.chmod(h.dir, 0o755)
        os.chmod(top, 0o755)
        # the refusal comes at once, before any command: read it first (a
        # command sent after herdd closed would only meet EPIPE)
        code = ("import socket,os;os.setgid(65534);os.setuid(65534);"
                "s=socket.socket(socket.AF_UNIX);s.settimeout(5);"
                "s.connect(%r);print(s.recv(4096).decode())" % h.sock)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, timeout=10)
        ok('"ok":false' in r.stdout and "permission denied" in r.stdout and
           "refused a connection from uid 65534" in h.log(),
           "another user is refused, whatever the socket's mode",
           r.stdout + r.stderr)
        rc, out, err = h.ctl("status")
        ok(rc == 0, "root still gets in", err)
    finally:
        h.stop()


# -- rolling -----------------------------------------------------------------

class Clients(threading.Thread):
    """IAMATs and WHATSATs to random servers, each on its own connection;
    a request the chosen server does not answer is sent to another."""

    def __init__(self, h, ids, seed):
        super().__init__(daemon=True)
        self.h, self.ids, self.rng = h, ids, random.Random(seed)
        self.halt = threading.Event()
        self.acked = {}                  # id -> newest time stamp acked
        self.requests = self.unanswered = self.retried = 0
        self.t = 1700000000

    def one(self, line):
        names = list(self.h.port)
        self.rng.shuffle(names)
        for n in names:
            r = ask(self.h.port[n], line)
            if r is not None:
                return r
            self.retried += 1
        return None

    def run(self):
        while not self.halt.is_set():
            i = self.rng.choice(self.ids)
            self.requests += 1
            if self.rng.random() < 0.7:
                self.t += 1
                line = "IAMAT %s +34.068930-118.445127 %d.0\n" % (i, self.t)
                r = self.one(line)
                if r is None:
                    self.unanswered += 1
                elif r.startswith("AT "):
                    self.acked[i] = max(self.acked.get(i, 0), self.t)
            else:
                r = self.one("WHATSAT %s 10 1\n" % i)
                if r is None:
                    self.unanswered += 1


def test_rolling(top):
    h = Supervised(top, "rolling")
    try:
        if not ok(h.up() is not None, "rolling: the five-server herd"):
            return
        ids = ["roll-%03d" % i for i in range(60)]
        c = Clients(h, ids, 7)
        c.start()
        time.sleep(1.0)
        h.places += "\ntimeout_ms = 2500"     # [places]: every server
        h.write()
        down_max = [0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                st = h.status() or {}
                down = sum(1 for n in st.values() if n["state"] != "running")
                down_max[0] = max(down_max[0], down)
                time.sleep(0.02)
        w = threading.Thread(target=watch, daemon=True)
        w.start()
        t0 = time.monotonic()
        rc, out, err = h.ctl("reload", timeout=120)
        took = time.monotonic() - t0
        stop.set()
        w.join(5)
        time.sleep(0.5)
        c.halt.set()
        c.join(10)
        rep = json.loads(out) if rc == 0 else {}
        ok(rc == 0 and sorted(rep.get("restarted", [])) == sorted(DEFAULT_LINKS) and
           sorted(rep.get("changed", [])) == sorted(DEFAULT_LINKS),
           "reload changing [places]: all five restarted, reply after "
           "%.1f s" % took, out + err)
        ok(down_max[0] == 1, "one server down at a time at most (%d)" %
           down_max[0])
        ok(c.unanswered == 0 and c.requests > 100,
           "no request unanswered: %d requests, %d sent on to another "
           "server" % (c.requests, c.retried))
        print("# rolling: %d requests, %d acked ids, %d retried elsewhere, "
              "reload took %.1f s" % (c.requests, len(c.acked), c.retried,
                                      took))

        def missing():
            bad = []
            for i, t in c.acked.items():
                for n in DEFAULT_LINKS:
                    r = ask(h.port[n], "WHATSAT %s 10 1\n" % i)
                    if r is None or not r.startswith("AT ") or \
                            int(float(r.split()[5])) < t:
                        bad.append((i, n, r and r.split("\n")[0]))
            return bad
        bad = wait_for(lambda: not missing(), 5) and []
        if bad is None:
            bad = missing()
        ok(not bad, "no acknowledged update lost, on any server (%d ids, "
           "no state_dir)" % len(c.acked), bad[:5])
    finally:
        h.stop()


def main():
    return herds.main((test_giveup, test_paused, test_systemd, test_names,
                       test_logs, test_peercred, test_rolling), "herd-ops-")


if __name__ == "__main__":
    sys.exit(main())
