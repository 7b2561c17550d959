#!/usr/bin/env python3
"""test_standin.py -- herdd with stand-in workers: a small shell script as
[herd] node, which exits 1 for the server named Loop, 78 for Bad, and
sleeps (never writing READY) for Mute, and for Stubborn, which also
ignores SIGTERM; Late writes READY after 500 ms.  With it: a crash loop's
backoff, exit 78, a worker never ready, herdd killed by SIGKILL, TERM then
KILL, reloads while a worker is stopping, a READY too late, a control path
that is not a socket, a second shutdown, a pipelining control client.

Binaries come from HERDD, HERDCTL and HERD_NODE; every herd lives in a
temporary directory removed at the end, every process started is killed,
even on failure.  Output is TAP.  Exit 77 (skip) when a binary is missing.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import herds
from herdlib import pid_alive, wait_for
from herds import Supervised
from tap import ok


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


def started(h, name, what):
    """Start h's herdd: name's status once its process shows, or None;
    ok(what) says which."""
    h.start()
    n = h.wait_state(name, "starting", 5.0, lambda n: n["pid"])
    ok(n is not None, what)
    return n


def stubborn(top, label, stop_timeout_ms, what, links=None):
    """A herd under the stand-in (default: Stubborn alone) with
    stop_timeout_ms, started: (herd, Stubborn's status once its trap is
    set, or None); ok(what) says which."""
    h = Supervised(top, label, links or {"Stubborn": []},
                   herd="node = %s\nstop_timeout_ms = %d" % (
                       node_script(top), stop_timeout_ms))
    n = started(h, "Stubborn", what)
    if n is not None:
        time.sleep(0.2)                 # let sh install its trap
    return h, n


def test_crash_loop(top):
    script = node_script(top)
    # the backoff's sequence is checked: its start and cap named here; a
    # never-ready worker killed in 300 ms; a crash loop never given up
    h = Supervised(top, "loop", {"Loop": [], "Bad": [], "Mute": []},
                   herd="node = %s\nrestart_delay_ms = 100\n"
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
              for x in h.log().splitlines()
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
    ok(mute is not None and "Mute: not ready after 300 ms" in h.log(),
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
    h = Supervised(top, "orphan", {"Mute": []}, herd="node = %s" % script)
    n = started(h, "Mute", "a herd with one worker that never gets ready")
    if n is None:
        return
    h.proc.kill()
    h.proc.wait()
    ok(wait_for(lambda: not pid_alive(n["pid"]), 3.0),
       "herdd killed by SIGKILL: its worker goes too (Linux)")
    ok(os.path.exists(h.sock), "the dead herdd left its socket behind")
    h.start()
    again = h.wait_state("Mute", "starting", 5.0, lambda n: n["pid"])
    ok(again is not None and "replaced the stale control socket" in
       h.log(), "a new herdd replaces a stale socket")
    h.stop()
    ok(h.proc.returncode == 0 and not pid_alive(again["pid"]),
       "and stops cleanly")


def test_stubborn(top):
    """A worker that ignores SIGTERM is killed after stop_timeout_ms."""
    h, n = stubborn(top, "stubborn", 300, "a worker that ignores SIGTERM")
    if n is None:
        return
    t0 = time.monotonic()
    rc, out, errs = h.ctl("stop", "--no-wait", "Stubborn")
    stopping = json.loads(out)["nodes"][0]["state"] if rc == 0 else None
    down = h.wait_state("Stubborn", "stopped", 5.0)
    took = time.monotonic() - t0
    ok(stopping == "stopping" and down is not None and
       down["last_exit"] == "signal 9" and 0.25 <= took < 3 and
       not pid_alive(n["pid"]) and "still there 300 ms after TERM" in
       h.log(), "stop: TERM, then KILL after stop_timeout_ms "
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
    # the old worker outlives TERM for 1 s: long enough to reload meanwhile
    h, n = stubborn(top, "readd", 1000, "re-add: a herd with a worker "
                    "ignoring TERM", links={"Stubborn": [], "Mute": []})
    if n is None:
        return
    h.links = {"Mute": []}
    h.write()
    rc, out, errs = h.ctl("reload", "--no-wait")
    ok(rc == 0 and json.loads(out)["removed"] == ["Stubborn"],
       "re-add: Stubborn removed", out + errs)
    h.links = {"Stubborn": [], "Mute": []}
    h.write()
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
    # the worker outlives TERM for 1 s: long enough to reload meanwhile
    h, n = stubborn(top, "waits", 1000,
                    "reload waits: a worker ignoring TERM")
    if n is None:
        return
    rc, out, errs = h.ctl("stop", "--no-wait", "Stubborn")
    h.links = {"Mute": []}              # takes Stubborn's ports
    h.port["Mute"] = h.port["Stubborn"]
    h.peer_port["Mute"] = h.peer_port["Stubborn"]
    h.write()
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
    # READY comes at 500 ms, past ready_timeout_ms; the backoff, long
    # enough to be seen
    h = Supervised(top, "late", {"Late": []},
                   herd="node = %s\nready_timeout_ms = 300\n"
                        "restart_delay_ms = 2000" % script)
    n = started(h, "Late", "late READY: a worker ready after 500 ms")
    if n is None:
        return
    # herdd sees the timeout and the READY in the same loop iteration;
    # stopped well under a second, which herdd would take for a stall of
    # its own and give the worker its whole ready_timeout_ms again
    h.proc.send_signal(signal.SIGSTOP)
    time.sleep(0.7)
    h.proc.send_signal(signal.SIGCONT)
    b = h.wait_state("Late", "backoff", 5.0,
                     lambda m: m["last_exit"] == "signal 9")
    log = h.log()
    ok(b is not None and "Late: running" not in log and
       "restarting at once" not in log,
       "late READY: ignored, the worker is killed and backs off", log)
    h.stop()
    ok(h.proc.returncode == 0, "late READY: herdd stops cleanly")


def test_control_not_socket(top):
    """A file at the control path that is not a socket is not herdd's to
    remove: herdd refuses to start and leaves it."""
    script = node_script(top)
    h = Supervised(top, "notsock", {"Mute": []}, herd="node = %s" % script)
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
    # long past the test's 5 s: only the second shutdown can end it
    h, n = stubborn(top, "twice", 20000,
                    "shutdown twice: a worker ignoring TERM")
    if n is None:
        return
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
    # never ready, and never killed for it while the test runs
    h = Supervised(top, "pipelined", {"Mute%02d" % i: [] for i in range(20)},
                   herd="node = %s\nready_timeout_ms = 60000" % script)
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



def main():
    return herds.main((test_crash_loop, test_orphans, test_stubborn,
                       test_readd, test_reload_waits_for_stop,
                       test_late_ready, test_control_not_socket,
                       test_shutdown_twice, test_pipelined),
                      "herd-standin-", limit=240)


if __name__ == "__main__":
    sys.exit(main())
