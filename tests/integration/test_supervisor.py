#!/usr/bin/env python3
"""test_supervisor.py -- herdd and herdctl, with real processes.

Binaries come from the environment: HERDD, HERDCTL and HERD_NODE (meson
sets them).  Every herd lives in a temporary directory (configuration, logs,
control socket) on 127.0.0.1 ports picked by binding port 0; the directory
is removed at the end and every process started is killed, even on failure.
Output is TAP.  Exit 77 (skip) when a binary is missing.

The crash loop, the exit-78 worker and the worker that never gets ready
use a small shell script as [herd] node: it exits 1 for the server named
Loop, 78 for Bad, and sleeps (never writing READY) for Mute, and for
Stubborn, which also ignores SIGTERM; Late writes READY after 500 ms.
"""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import herdlib  # noqa: E402
from herdlib import accepting, free_ports  # noqa: E402
from herdtest import Tap, cmdline, pid_alive  # noqa: E402

HERDD = os.environ.get("HERDD", "")
HERDCTL = os.environ.get("HERDCTL", "")
HERD_NODE = os.environ.get("HERD_NODE", "")
DEADLINE = time.monotonic() + 240        # the whole test, bounded

TAP = Tap()
ok = TAP.ok


def wait_for(pred, timeout=10.0, step=0.02):
    """herdlib.wait_for, its time-out cut short at the whole test's
    DEADLINE."""
    return herdlib.wait_for(
        pred, max(0.0, min(timeout, DEADLINE - time.monotonic())), step)


def talk(port, line, timeout=5.0):
    """Send one line, half-close, read until close, a blank line or time."""
    try:
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=timeout) as s:
            s.sendall(line.encode() + b"\n")
            s.shutdown(socket.SHUT_WR)
            data = b""
            end = time.monotonic() + timeout
            while b"\n\n" not in data and time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace")
    except OSError as e:
        return "error: %s" % e


class Herd:
    """One herdd with its configuration in a directory of its own."""

    all_herds = []
    seen_pids = set()

    def __init__(self, top, name, servers, herd_extra=""):
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "herd.ini")
        self.sock = os.path.join(self.dir, "herd.sock")
        self.log = os.path.join(self.dir, "log")
        if "stop_timeout_ms" not in herd_extra:
            herd_extra += "\nstop_timeout_ms = 2000"
        self.herd_extra = herd_extra
        self.proc = None
        self.write(servers)
        Herd.all_herds.append(self)

    def text(self, servers):
        out = ["[herd]", "log_dir = log", "control = herd.sock",
               self.herd_extra, "",
               "[places]", "backend = google",
               "url = http://127.0.0.1:9/", ""]
        for name, port, peer, nbs in servers:
            out += ["[server %s]" % name, "port = %d" % port,
                    "peer_port = %d" % peer]
            if nbs:
                out.append("neighbors = " + " ".join(nbs))
            out.append("")
        return "\n".join(out)

    def write(self, servers=None, text=None):
        with open(self.conf, "w") as f:
            f.write(text if text is not None else self.text(servers))

    def start(self):
        self.stderr = open(os.path.join(self.dir, "herdd.stderr"), "w")
        self.proc = subprocess.Popen([HERDD, "-f", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        return self.proc

    def ctl(self, *args, raw=False):
        argv = [HERDCTL, "-s", self.sock] + (["-j"] if not raw else []) + \
            list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout, r.stderr

    def status(self):
        rc, out, _ = self.ctl("status")
        if rc != 0:
            return None
        st = json.loads(out)
        nodes = {n["name"]: n for n in st["nodes"]}
        for n in nodes.values():
            if n.get("pid"):
                Herd.seen_pids.add(n["pid"])
        return nodes

    def node(self, name):
        st = self.status()
        return st.get(name) if st else None

    def wait_state(self, name, state, timeout=10.0, pred=None):
        def check():
            n = self.node(name)
            if n and n["state"] == state and (pred is None or pred(n)):
                return n
            return None
        return wait_for(check, timeout, 0.05)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def herdd_log(self):
        try:
            with open(os.path.join(self.log, "herdd.log")) as f:
                return f.read()
        except OSError:
            return ""


def cleanup():
    """Kill whatever is left: herdd first, then any worker we saw."""
    for h in Herd.all_herds:
        if h.proc is not None and h.proc.poll() is None:
            h.proc.kill()
            h.proc.wait()
    for pid in Herd.seen_pids:
        if pid_alive(pid) and ("herd" in cmdline(pid) or
                               "node.sh" in cmdline(pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def flood_check(herd, src_port, dst_port, client):
    """IAMAT at src; WHATSAT at dst answers with the AT line."""
    reply = talk(src_port, "IAMAT %s +34.068930-118.445127 %.9f" %
                 (client, time.time()))
    if not reply.startswith("AT "):
        return "IAMAT got %r" % reply

    def check():
        r = talk(dst_port, "WHATSAT %s 10 1" % client)
        return r if r.startswith("AT ") else None
    r = wait_for(check, 5.0, 0.1)
    return None if r else "WHATSAT at the neighbour never found " + client


# -- the tests ---------------------------------------------------------------

def test_main_herd(top):
    p = free_ports(14)
    names = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
    port = {n: p[i] for i, n in enumerate(names)}
    peer = {n: p[5 + i] for i, n in enumerate(names)}
    topo = {"Goloman": ["Hands", "Holiday", "Wilkes"], "Hands": ["Wilkes"],
            "Holiday": ["Welsh", "Wilkes"], "Welsh": [], "Wilkes": []}

    def servers(extra=None, drop=(), move=None):
        out = []
        for n in names:
            if n in drop:
                continue
            pp = port[n] if not (move and n == move[0]) else move[1]
            out.append((n, pp, peer[n], [x for x in topo[n]
                                         if x not in drop]))
        for e in extra or []:
            out.append(e)
        return out

    h = Herd(top, "main", servers())
    h.start()
    st = wait_for(lambda: (lambda s: s if s and all(
        n["state"] == "running" for n in s.values()) else None)(h.status()),
        15.0, 0.05)
    if not ok(st is not None and len(st) == 5,
              "the herd comes up with one command: 5 workers running",
              h.status()):
        return h
    ok(all(accepting(port[n]) for n in names),
       "every client port accepts")
    mode = stat.S_IMODE(os.stat(h.sock).st_mode)
    ok(stat.S_ISSOCK(os.stat(h.sock).st_mode) and mode == 0o600,
       "control socket has mode 0600", oct(mode))
    links = wait_for(lambda: (lambda s: s if s and all(
        s[n]["links"] is not None and
        sorted(s[n]["links"]) == sorted(set(topo[n]) | {
            m for m in names if n in topo[m]})
        for n in names) else None)(h.status()), 10.0, 0.1)
    ok(links is not None, "status shows every peer link up, by name",
       h.status())
    st = h.status()
    n0 = st["Goloman"]
    ok(all(k in n0 for k in ("name", "state", "pid", "restarts", "uptime_s",
                             "last_exit", "port", "peer_port", "clients",
                             "conns", "links")),
       "status has every field", n0)
    ok(n0["port"] == port["Goloman"] and n0["peer_port"] == peer["Goloman"],
       "status shows the ports")

    # a second herdd on the same socket refuses to start
    h2 = subprocess.run([HERDD, "-f", h.conf], capture_output=True,
                        text=True, timeout=10)
    ok(h2.returncode != 0 and "already running" in h2.stderr,
       "a second herdd refuses to start", h2.stderr)
    ok(h.status() is not None, "the first herdd still answers")

    # SIGKILL of a worker: back with a new pid, restart counted, floods
    old = st["Hands"]
    t0 = time.monotonic()
    os.kill(old["pid"], signal.SIGKILL)
    back = h.wait_state("Hands", "running", 5.0,
                        lambda n: n["pid"] != old["pid"])
    took = time.monotonic() - t0
    ok(back is not None and back["restarts"] == old["restarts"] + 1 and
       back["last_exit"] == "signal 9",
       "SIGKILL: Hands is back with a new pid, restarts %s, last_exit %s "
       "(%.0f ms)" % (back and back["restarts"], back and back["last_exit"],
                      took * 1000), back)
    ok(wait_for(lambda: accepting(port["Hands"]), 2.0),
       "Hands accepts clients again")
    linked = h.wait_state("Hands", "running", 5.0,
                          lambda n: n["links"] and "Goloman" in n["links"])
    ok(linked is not None, "Hands' link to Goloman is up again")
    err = flood_check(h, port["Goloman"], port["Hands"], "kiwi.after.kill")
    ok(err is None, "IAMAT at Goloman is visible through the new Hands", err)

    # herdctl kill: same, through the control socket
    old = h.node("Welsh")
    rc, out, errs = h.ctl("kill", "Welsh")
    ok(rc == 0 and json.loads(out)["ok"], "herdctl kill Welsh", errs)
    back = h.wait_state("Welsh", "running", 5.0,
                        lambda n: n["pid"] != old["pid"])
    ok(back is not None and back["restarts"] == old["restarts"] + 1 and
       back["last_exit"] == "signal 9",
       "herdctl kill: Welsh is back with a new pid and a restart counted",
       back)
    linked = h.wait_state("Welsh", "running", 5.0,
                          lambda n: n["links"] and "Holiday" in n["links"])
    err = flood_check(h, port["Holiday"], port["Welsh"], "kiwi.after.ctl")
    ok(linked is not None and err is None,
       "IAMAT at Holiday is visible through the new Welsh", err)
    rc, out, errs = h.ctl("kill", "Welsh", "SIGTERM")
    back = h.wait_state("Welsh", "running", 5.0,
                        lambda n: n["last_exit"] == "exit 0")
    ok(rc == 0 and back is not None,
       "herdctl kill NAME SIGTERM: the worker exits 0 and is restarted too",
       back)

    # stop and start
    rc, out, errs = h.ctl("stop", "Wilkes")
    down = h.wait_state("Wilkes", "stopped", 5.0)
    ok(rc == 0 and down is not None and down["pid"] is None,
       "herdctl stop Wilkes: stopped, no pid", down)
    time.sleep(0.5)
    ok(h.node("Wilkes")["state"] == "stopped" and
       not accepting(port["Wilkes"]), "a stopped worker stays down")
    rc, out, errs = h.ctl("start", "Wilkes")
    up = h.wait_state("Wilkes", "running", 5.0)
    ok(rc == 0 and up is not None and accepting(port["Wilkes"]),
       "herdctl start Wilkes: running again", up)
    old = h.node("Goloman")
    rc, out, errs = h.ctl("restart", "Goloman")
    up = h.wait_state("Goloman", "running", 5.0,
                      lambda n: n["pid"] != old["pid"])
    ok(rc == 0 and up is not None, "herdctl restart Goloman: new pid", up)

    # herdctl errors
    rc, out, errs = h.ctl("stop", "Nobody", raw=True)
    ok(rc != 0 and "unknown node" in errs and len(errs.splitlines()) == 1,
       "herdctl: unknown node is an error with one line", errs)
    rc, out, errs = h.ctl("frobnicate", raw=True)
    ok(rc != 0 and "unknown command" in errs and len(errs.splitlines()) == 1,
       "herdctl: unknown command is an error with one line", errs)
    rc, out, errs = h.ctl("kill", "Hands", "NOSUCHSIG", raw=True)
    ok(rc != 0 and "unknown signal" in errs, "herdctl: unknown signal", errs)
    rc, out, errs = h.ctl("status", raw=True)
    ok(rc == 0 and out.splitlines()[0].split()[:3] == ["NAME", "STATE",
                                                       "PID"] and
       len(out.splitlines()) == 6, "herdctl status prints a table", out)

    # the raw socket: one JSON line per command, several per connection
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(h.sock)
        s.sendall(b"status Hands\n\nbogus\nstatus Hands")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    lines = data.decode().splitlines()
    ok(len(lines) == 3 and json.loads(lines[0])["ok"] and
       not json.loads(lines[1])["ok"] and json.loads(lines[2])["ok"],
       "socket: one reply line per command, last line without newline",
       lines)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(h.sock)
        s.sendall(b"x" * 5000 + b"\nstatus Welsh\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    lines = data.decode().splitlines()
    ok(len(lines) == 2 and json.loads(lines[0])["error"] == "line too long"
       and json.loads(lines[1])["ok"], "socket: an over-long line is "
       "refused and the connection goes on", lines)

    # reload: a bad file is refused and nothing moves
    before = h.status()
    good = open(h.conf).read()
    h.write(text=good + "\n[server Broken]\nport = banana\n")
    rc, out, errs = h.ctl("reload", raw=True)
    ok(rc != 0 and "herd.ini:" in errs, "reload of a bad file is refused "
       "with file:line errors", errs)
    after = h.status()
    ok({n: v["pid"] for n, v in before.items()} ==
       {n: v["pid"] for n, v in after.items()},
       "a refused reload leaves the herd as it was")

    # reload: add F (isolated), remove Welsh, move Hands to a new port.
    # Holiday loses its neighbour Welsh: it restarts too.  Goloman and
    # Wilkes are untouched.
    h.write(servers(extra=[("Fresh", p[10], p[11], [])], drop=("Welsh",),
                    move=("Hands", p[12])))
    rc, out, errs = h.ctl("reload")
    res = json.loads(out) if rc == 0 else {}
    ok(rc == 0 and res.get("added") == ["Fresh"] and
       res.get("removed") == ["Welsh"] and
       sorted(res.get("changed", [])) == ["Hands", "Holiday"] and
       res.get("unchanged") == 2,
       "reload reports added, removed, changed and unchanged", out + errs)
    st = wait_for(lambda: (lambda s: s if s and set(s) == {
        "Goloman", "Hands", "Holiday", "Wilkes", "Fresh"} and all(
        n["state"] == "running" for n in s.values()) and
        s["Hands"]["pid"] != before["Hands"]["pid"] and
        s["Holiday"]["pid"] != before["Holiday"]["pid"]
        else None)(h.status()), 10.0, 0.05)
    ok(st is not None, "after reload: Fresh running, Welsh gone, Hands and "
       "Holiday restarted", h.status())
    if st:
        ok(st["Goloman"]["pid"] == before["Goloman"]["pid"] and
           st["Wilkes"]["pid"] == before["Wilkes"]["pid"],
           "untouched workers keep their pids")
        ok(st["Hands"]["port"] == p[12] and
           wait_for(lambda: accepting(p[12]), 3.0) and
           wait_for(lambda: not accepting(port["Welsh"]), 3.0) and
           wait_for(lambda: accepting(p[10]), 3.0),
           "new ports are served and the removed worker's port is closed")

    # reload by SIGHUP: Welsh comes back
    before = h.status()
    h.write(servers(extra=[("Fresh", p[10], p[11], [])],
                    move=("Hands", p[12])))
    h.proc.send_signal(signal.SIGHUP)
    st = h.wait_state("Welsh", "running", 10.0)
    after = h.status()
    ok(st is not None and after["Goloman"]["pid"] ==
       before["Goloman"]["pid"] and after["Fresh"]["pid"] ==
       before["Fresh"]["pid"], "SIGHUP reloads: Welsh is back, the others "
       "untouched", after)
    return h


def test_sigterm(h):
    st = h.status() or {}
    pids = [n["pid"] for n in st.values() if n.get("pid")]
    t0 = time.monotonic()
    h.proc.send_signal(signal.SIGTERM)
    try:
        rc = h.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 0, "SIGTERM: herdd exits 0 (%.0f ms)" %
       ((time.monotonic() - t0) * 1000), rc)
    left = [pid for pid in pids if pid_alive(pid)]
    ok(len(pids) >= 5 and not left, "SIGTERM leaves no worker behind",
       "alive: %s" % left)
    ok(not os.path.exists(h.sock), "SIGTERM removes the control socket")
    rc, out, errs = h.ctl("status", raw=True)
    ok(rc != 0 and "no herdd" in errs and len(errs.splitlines()) == 1,
       "herdctl with no herdd listening: an error with one line", errs)


def node_script(top):
    """The stand-in worker for Loop, Bad, Mute and Stubborn."""
    script = os.path.join(top, "node.sh")
    if os.path.exists(script):
        return script
    with open(script, "w") as f:
        f.write("#!/bin/sh\n# -f CONF NAME\n"
                "case \"$3\" in\nLoop) exit 1 ;;\nBad) exit 78 ;;\n"
                "Mute) exec sleep 60 ;;\n"
                "Stubborn) trap '' TERM; exec sleep 60 ;;\n"
                "Late) sleep 0.5; echo READY >&\"$HERD_NOTIFY_FD\"; "
                "exec sleep 60 ;;\nesac\n"
                "exit 2\n")
    os.chmod(script, 0o755)
    return script


def test_crash_loop(top):
    script = node_script(top)
    p = free_ports(6)
    h = Herd(top, "loop", [("Loop", p[0], p[1], []), ("Bad", p[2], p[3], []),
                           ("Mute", p[4], p[5], [])],
             herd_extra="node = %s\nrestart_delay_ms = 100\n"
                        "restart_max_ms = 800\nready_timeout_ms = 300\n"
                        "start_limit_burst = 0" % script)
    h.start()
    seen = []                            # next_start_ms seen in status

    def watch():
        n = h.node("Loop")
        if n and n["state"] == "backoff":
            seen.append((n["restarts"], n["next_start_ms"]))
        return n and n["restarts"] >= 5
    wait_for(watch, 8.0, 0.02)
    delays = [int(x.split("next start in ")[1].split()[0])
              for x in h.herdd_log().splitlines()
              if "Loop: backoff" in x and "next start in" in x]
    ok(delays[:5] == [100, 200, 400, 800, 800],
       "a crash loop backs off: 100 200 400 800 800 ms (log)", delays)
    grow = {}
    for r, ms in seen:
        grow[r] = max(grow.get(r, 0), ms)
    vals = [grow[r] for r in sorted(grow)]
    ok(len(vals) >= 3 and vals[-1] > vals[0] and
       all(v <= 800 for v in vals),
       "status shows backoff with growing next_start_ms", seen)
    n = h.node("Loop")
    ok(n["last_exit"] == "exit 1", "last_exit is \"exit 1\"", n)

    bad = h.node("Bad")
    time.sleep(0.5)
    bad2 = h.node("Bad")
    ok(bad["state"] == "failed" and bad2["state"] == "failed" and
       bad2["restarts"] == 0 and bad2["last_exit"] == "exit 78",
       "exit 78: failed, not restarted", bad2)
    rc, out, errs = h.ctl("start", "Bad")
    again = h.wait_state("Bad", "failed", 5.0,
                         lambda n: n["restarts"] == 1)
    rep = json.loads(out) if out else {}
    ok(rc == 1 and again is not None and
       rep.get("nodes", [{}])[0].get("state") == "failed" and
       rep["nodes"][0].get("done") is False,
       "herdctl start retries a failed worker once, waits, and exits 1 "
       "when it fails again", "%s %s" % (out, again))
    mute = wait_for(lambda: (lambda n: n if n and n["restarts"] >= 1 and
                             n["last_exit"] == "signal 9" else None)(
        h.node("Mute")), 5.0, 0.05)
    ok(mute is not None and "Mute: not ready after 300 ms" in h.herdd_log(),
       "a worker never ready is killed after ready_timeout_ms and "
       "restarted", mute)
    rc, out, errs = h.ctl("stop", "Loop")
    ok(rc == 0 and h.wait_state("Loop", "stopped", 5.0) is not None,
       "stop ends a crash loop")
    rc, out, errs = h.ctl("shutdown")
    try:
        code = h.proc.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    ok(rc == 0 and code == 0 and not os.path.exists(h.sock),
       "herdctl shutdown: herdd exits 0 and removes its socket")


def test_orphans(top):
    """herdd killed by SIGKILL: its workers follow; the stale socket is
    replaced by the next herdd."""
    script = node_script(top)
    p = free_ports(2)
    h = Herd(top, "orphan", [("Mute", p[0], p[1], [])],
             herd_extra="node = %s" % script)
    h.start()
    n = h.wait_state("Mute", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "a herd with one worker that never gets "
              "ready"):
        return
    h.proc.kill()
    h.proc.wait()
    ok(wait_for(lambda: not pid_alive(n["pid"]), 3.0),
       "herdd killed by SIGKILL: its worker goes too (Linux)")
    ok(os.path.exists(h.sock), "the dead herdd left its socket behind")
    h.start()
    again = h.wait_state("Mute", "starting", 5.0, lambda n: n["pid"])
    ok(again is not None and "replaced the stale control socket" in
       h.herdd_log(), "a new herdd replaces a stale socket")
    h.stop()
    ok(h.proc.returncode == 0 and not pid_alive(again["pid"]),
       "and stops cleanly")


def test_stubborn(top):
    """A worker that ignores SIGTERM is killed after stop_timeout_ms."""
    script = node_script(top)
    p = free_ports(2)
    h = Herd(top, "stubborn", [("Stubborn", p[0], p[1], [])],
             herd_extra="node = %s\nstop_timeout_ms = 300" % script)
    h.start()
    n = h.wait_state("Stubborn", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "a worker that ignores SIGTERM"):
        return
    time.sleep(0.2)                      # let sh install its trap
    t0 = time.monotonic()
    rc, out, errs = h.ctl("stop", "--no-wait", "Stubborn")
    stopping = json.loads(out)["nodes"][0]["state"] if rc == 0 else None
    down = h.wait_state("Stubborn", "stopped", 5.0)
    took = time.monotonic() - t0
    ok(stopping == "stopping" and down is not None and
       down["last_exit"] == "signal 9" and 0.25 <= took < 3 and
       not pid_alive(n["pid"]) and "still there 300 ms after TERM" in
       h.herdd_log(), "stop: TERM, then KILL after stop_timeout_ms "
       "(%.0f ms)" % (took * 1000), down)
    rc, out, errs = h.ctl("start", "--no-wait", "Stubborn")
    n = h.wait_state("Stubborn", "starting", 5.0, lambda n: n["pid"])
    time.sleep(0.2)
    h.proc.send_signal(signal.SIGTERM)
    try:
        code = h.proc.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    ok(n is not None and code == 0 and not pid_alive(n["pid"]),
       "SIGTERM: herdd kills a worker that ignores TERM, then exits 0")


def test_readd(top):
    """A server removed by a reload and put back by the next one, while its
    old worker (which ignores TERM) is still stopping: one reload at a time,
    so the second is refused until the first is done (its reply waits for
    the old worker to go); then the server is back with a new worker."""
    script = node_script(top)
    p = free_ports(4)
    servers = [("Stubborn", p[0], p[1], []), ("Mute", p[2], p[3], [])]
    h = Herd(top, "readd", servers,
             herd_extra="node = %s\nstop_timeout_ms = 1000" % script)
    h.start()
    n = h.wait_state("Stubborn", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "re-add: a herd with a worker ignoring TERM"):
        return
    time.sleep(0.2)                      # let sh install its trap
    h.write(servers[1:])
    rc, out, errs = h.ctl("reload", "--no-wait")
    ok(rc == 0 and json.loads(out)["removed"] == ["Stubborn"],
       "re-add: Stubborn removed", out + errs)
    h.write(servers)
    rc, out, errs = h.ctl("reload")
    ok(rc == 1 and "still under way" in errs and pid_alive(n["pid"]),
       "re-add: a second reload while the first waits is refused",
       out + errs)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        rc, out, errs = h.ctl("reload")
        if rc == 0:
            break
        time.sleep(0.1)
    res = json.loads(out) if rc == 0 else {}
    ok(res.get("added") == ["Stubborn"] and not pid_alive(n["pid"]),
       "re-add: once the old worker is gone, the next reload puts it back",
       "%s %s" % (out, errs))
    new = h.wait_state("Stubborn", "starting", 5.0,
                       lambda m: m["pid"] and m["pid"] != n["pid"])
    ok(new is not None and not pid_alive(n["pid"]),
       "re-add: it starts once the old worker is gone", h.status())
    h.stop()
    ok(h.proc.returncode == 0 and (new is None or
                                   not pid_alive(new["pid"])),
       "re-add: herdd stops cleanly")


def test_reload_waits_for_stop(top):
    """A server being stopped by hand when a reload removes it: the new
    servers of that reload wait until its worker is gone."""
    script = node_script(top)
    p = free_ports(4)
    h = Herd(top, "waits", [("Stubborn", p[0], p[1], [])],
             herd_extra="node = %s\nstop_timeout_ms = 1000" % script)
    h.start()
    n = h.wait_state("Stubborn", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "reload waits: a worker ignoring TERM"):
        return
    time.sleep(0.2)                      # let sh install its trap
    rc, out, errs = h.ctl("stop", "--no-wait", "Stubborn")
    h.write([("Mute", p[0], p[1], [])])  # takes Stubborn's ports
    rc, out, errs = h.ctl("reload", "--no-wait")
    res = json.loads(out) if rc == 0 else {}
    st = h.status() or {}
    ok(res.get("added") == ["Mute"] and res.get("removed") == ["Stubborn"]
       and st.get("Mute", {}).get("state") == "stopped",
       "reload waits: the new server waits for the worker stopped by hand",
       "%s %s" % (out, st))
    m = h.wait_state("Mute", "starting", 5.0, lambda m: m["pid"])
    ok(m is not None and not pid_alive(n["pid"]),
       "reload waits: then it starts", h.status())
    h.stop()
    ok(h.proc.returncode == 0 and (m is None or not pid_alive(m["pid"])),
       "reload waits: herdd stops cleanly")


def test_late_ready(top):
    """A READY that comes after ready_timeout_ms fired is too late: the
    worker was killed as never ready, and backs off as such."""
    script = node_script(top)
    p = free_ports(2)
    h = Herd(top, "late", [("Late", p[0], p[1], [])],
             herd_extra="node = %s\nready_timeout_ms = 300\n"
                        "restart_delay_ms = 2000" % script)
    h.start()
    n = h.wait_state("Late", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "late READY: a worker ready after 500 ms"):
        return
    # herdd sees the timeout and the READY in the same loop iteration;
    # stopped well under a second, which herdd would take for a stall of
    # its own and give the worker its whole ready_timeout_ms again
    h.proc.send_signal(signal.SIGSTOP)
    time.sleep(0.7)
    h.proc.send_signal(signal.SIGCONT)
    b = h.wait_state("Late", "backoff", 5.0,
                     lambda m: m["last_exit"] == "signal 9")
    log = h.herdd_log()
    ok(b is not None and "Late: running" not in log and
       "restarting at once" not in log,
       "late READY: ignored, the worker is killed and backs off", log)
    h.stop()
    ok(h.proc.returncode == 0, "late READY: herdd stops cleanly")


def test_control_not_socket(top):
    """A file at the control path that is not a socket is not herdd's to
    remove: herdd refuses to start and leaves it."""
    script = node_script(top)
    p = free_ports(2)
    h = Herd(top, "notsock", [("Mute", p[0], p[1], [])],
             herd_extra="node = %s" % script)
    with open(h.sock, "w") as f:
        f.write("precious\n")
    h.start()
    try:
        rc = h.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
        h.stop()
    try:
        with open(h.sock) as f:
            kept = f.read()
    except OSError as e:
        kept = str(e)
    ok(rc == 1 and kept == "precious\n",
       "a regular file at the control path: herdd exits 1 and keeps it",
       "rc %s, file %r" % (rc, kept))


def test_shutdown_twice(top):
    """A second shutdown while a worker ignores TERM kills it at once."""
    script = node_script(top)
    p = free_ports(2)
    h = Herd(top, "twice", [("Stubborn", p[0], p[1], [])],
             herd_extra="node = %s\nstop_timeout_ms = 20000" % script)
    h.start()
    n = h.wait_state("Stubborn", "starting", 5.0, lambda n: n["pid"])
    if not ok(n is not None, "shutdown twice: a worker ignoring TERM"):
        return
    time.sleep(0.2)                      # let sh install its trap
    rc1, _, _ = h.ctl("shutdown")
    time.sleep(0.2)
    rc2, _, _ = h.ctl("shutdown")
    try:
        code = h.proc.wait(5)
    except subprocess.TimeoutExpired:
        code = None
    ok(rc1 == 0 and rc2 == 0 and code == 0 and not pid_alive(n["pid"]),
       "shutdown twice: the second kills the worker, herdd exits 0",
       (rc1, rc2, code))


def test_pipelined(top):
    """A client that sends many commands at once, then reads, gets every
    reply, however much they weigh: herdd stops reading past its
    high-water mark instead of dropping the client."""
    script = node_script(top)
    p = free_ports(40)
    h = Herd(top, "pipelined", [("Mute%02d" % i, p[2 * i], p[2 * i + 1], [])
                                for i in range(20)],
             herd_extra="node = %s\nready_timeout_ms = 60000" % script)
    h.start()
    if not ok(wait_for(lambda: h.status(), 5.0) is not None,
              "pipelined: a herd of 20"):
        return
    count = 1000
    data = b""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(h.sock)
        s.sendall(b"status\n" * count)
        s.shutdown(socket.SHUT_WR)
        try:
            while True:
                c = s.recv(1 << 20)
                if not c:
                    break
                data += c
        except OSError as e:
            data += b"\n" + str(e).encode()
    lines = data.splitlines()
    ok(len(lines) == count and all(json.loads(x)["ok"] for x in lines[:1]),
       "pipelined: %d status commands at once, %d replies (%d bytes)" %
       (count, len(lines), len(data)))
    h.stop()
    ok(h.proc.returncode == 0, "pipelined: herdd stops cleanly")


def fake_herdd(top, reply, args):
    """herdctl against a fake herdd that reads the command line, answers
    reply (bytes) and closes; (exit code, stdout, stderr)."""
    path = os.path.join(top, "fake.sock")
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    ls.listen(1)
    ls.settimeout(10)

    def serve():
        try:
            c, _ = ls.accept()
        except OSError:
            return
        with c:
            c.settimeout(10)
            try:
                c.recv(4096)
                c.sendall(reply)
            except OSError:
                pass
    import threading
    t = threading.Thread(target=serve)
    t.start()
    try:
        r = subprocess.run([HERDCTL, "-s", path] + args, capture_output=True,
                           text=True, errors="replace", timeout=30)
    finally:
        t.join(15)
        ls.close()
    return r.returncode, r.stdout, r.stderr


def test_herdctl_odd_replies(top):
    """herdctl and a server that answers nonsense: a one-line error or a
    table of question marks, never "(null)" nor a crash."""
    cases = [
        (b'{"ok":false,"error":null}\n', ["stop", "A"], 1),
        (b'{"ok":false,"error":12}\n', ["stop", "A"], 1),
        (b'{"ok":"yes"}\n', ["stop", "A"], 1),
        (b'{"ok":null}\n', ["stop", "A"], 1),
        (b'hello\n', ["status"], 1),
        (b'', ["status"], 1),
        (b'{"ok":tr', ["status"], 1),
        (b'{"ok":true,"nodes":[{"name":null,"links":[null,1],"state":5,'
         b'"pid":"x"},3,null]}\n', ["status"], 0),
        (b'{"ok":true,"added":[null,{}],"removed":null,"changed":3}\n',
         ["reload"], 0),
        (b'{"ok":true,"signal":null}\n', ["kill", "A"], 0),
        (b'x' * (17 * 1024 * 1024), ["status"], 1),
    ]
    bad = []
    for reply, args, want in cases:
        rc, out, errs = fake_herdd(top, reply, args)
        if rc != want or "(null)" in out + errs or \
                (rc != 0 and len(errs.splitlines()) != 1) or \
                (rc == 1 and args == ["kill", "A"]):
            bad.append("%r %s: rc %d, out %r, err %r" %
                       (reply[:50], args, rc, out[:200], errs[:200]))
        elif args == ["kill", "A"] and "signal 9" not in out:
            bad.append("kill: %r" % out)
    ok(not bad, "herdctl: odd replies give one-line errors, no (null)",
       "\n".join(bad))


def test_check_config(top):
    d = os.path.join(top, "check")
    os.makedirs(d)
    conf = os.path.join(d, "bad.ini")
    with open(conf, "w") as f:
        f.write("[herd]\nrestart_delay_ms = soon\n[server A]\nport = 1\n")
    r = subprocess.run([HERDD, "-n", "-f", conf], capture_output=True,
                       text=True, timeout=10)
    ok(r.returncode == 78 and "bad.ini:2:" in r.stderr,
       "herdd -n: a bad file exits 78 with file:line", r.stderr)
    with open(conf, "w") as f:
        f.write("[server A]\nport = 1\n")
    r = subprocess.run([HERDD, "-nv", "-f", conf], capture_output=True,
                       text=True, timeout=10)
    ok(r.returncode == 0 and "[server A]" in r.stdout,
       "herdd -nv prints the parsed herd", r.stdout + r.stderr)
    r = subprocess.run([HERDD, "-x"], capture_output=True, text=True,
                       timeout=10)
    ok(r.returncode == 64 and "usage" in r.stderr, "herdd: bad option: 64")


def test_sanitizers():
    """herdd (and the workers, which share its stderr) reported nothing."""
    bad = []
    for h in Herd.all_herds:
        try:
            with open(os.path.join(h.dir, "herdd.stderr")) as f:
                text = f.read()
        except OSError:
            continue
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:"):
            if marker in text:
                bad.append("%s: %s" % (h.dir, marker))
    ok(not bad, "no sanitizer report from herdd or its workers", bad)


def main():
    for var, path in (("HERDD", HERDD), ("HERDCTL", HERDCTL),
                      ("HERD_NODE", HERD_NODE)):
        if not path or not os.access(path, os.X_OK):
            print("1..0 # SKIP %s not set or not executable" % var)
            return 77
    top = tempfile.mkdtemp(prefix="herd-supervisor-")
    try:
        test_check_config(top)
        h = test_main_herd(top)
        if h is not None and h.proc.poll() is None:
            test_sigterm(h)
        test_crash_loop(top)
        test_orphans(top)
        test_stubborn(top)
        test_readd(top)
        test_reload_waits_for_stop(top)
        test_late_ready(top)
        test_control_not_socket(top)
        test_herdctl_odd_replies(top)
        test_shutdown_twice(top)
        test_pipelined(top)
        test_sanitizers()
    except Exception as e:                # report, then clean up
        import traceback
        ok(False, "no exception", traceback.format_exc() or e)
    finally:
        cleanup()
        if TAP.failed and os.environ.get("HERD_KEEP"):
            print("# kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    return TAP.plan()


if __name__ == "__main__":
    sys.exit(main())
