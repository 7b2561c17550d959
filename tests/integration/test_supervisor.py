#!/usr/bin/env python3
"""test_supervisor.py -- herdd and herdctl, with real processes: the
five-server herd under herdd (status, kills, stop and start, the control
socket, reloads, SIGTERM), herdd -n, and herdctl against a fake herdd that
answers nonsense.  The stand-in workers' cases are test_standin.py's.

Binaries come from the environment: HERDD, HERDCTL and HERD_NODE (meson
sets them).  Every herd lives in a temporary directory (configuration, logs,
control socket) on 127.0.0.1 ports picked by binding port 0; the directory
is removed at the end and every process started is killed, even on failure.
Output is TAP.  Exit 77 (skip) when a binary is missing.
"""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import herds
from herdlib import accepting, ask, pid_alive, wait_for
from herds import HERDCTL, HERDD, Supervised
from tap import ok


def flood_check(herd, src_port, dst_port, client):
    """IAMAT at src; WHATSAT at dst answers with the AT line."""
    reply = ask(src_port, "IAMAT %s +34.068930-118.445127 %.9f\n" %
                (client, time.time())) or ""
    if not reply.startswith("AT "):
        return "IAMAT got %r" % reply

    def check():
        r = ask(dst_port, "WHATSAT %s 10 1\n" % client)
        return r if r and r.startswith("AT ") else None
    r = wait_for(check, 5.0, 0.1)
    return None if r else "WHATSAT at the neighbour never found " + client


# -- the tests ---------------------------------------------------------------

def test_main(top):
    """The five-server herd, then its SIGTERM."""
    h = main_herd(top)
    if h is not None and h.proc.poll() is None:
        sigterm(h)


def main_herd(top):
    topo = {"Goloman": ["Hands", "Holiday", "Wilkes"], "Hands": ["Wilkes"],
            "Holiday": ["Welsh", "Wilkes"], "Welsh": [], "Wilkes": []}
    names = list(topo)
    h = Supervised(top, "main", topo, more_ports=3)
    port, peer = dict(h.port), dict(h.peer_port)
    fresh_port, fresh_peer, moved = h.more

    def reconfigure(drop=()):
        """herd.ini again: Fresh added (isolated), Hands moved to a port
        of its own, the servers in drop removed."""
        h.links = {n: [x for x in topo[n] if x not in drop]
                   for n in names if n not in drop}
        h.links["Fresh"] = []
        h.port["Fresh"], h.peer_port["Fresh"] = fresh_port, fresh_peer
        h.port["Hands"] = moved
        h.write()

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
    rc, out, errs = h.ctl("stop", "Nobody", json_out=False)
    ok(rc != 0 and "unknown node" in errs and len(errs.splitlines()) == 1,
       "herdctl: unknown node is an error with one line", errs)
    rc, out, errs = h.ctl("frobnicate", json_out=False)
    ok(rc != 0 and "unknown command" in errs and len(errs.splitlines()) == 1,
       "herdctl: unknown command is an error with one line", errs)
    rc, out, errs = h.ctl("kill", "Hands", "NOSUCHSIG", json_out=False)
    ok(rc != 0 and "unknown signal" in errs, "herdctl: unknown signal", errs)
    rc, out, errs = h.ctl("status", json_out=False)
    rows = out.splitlines()
    ok(rc == 0 and rows[0].split()[:3] == ["NAME", "STATE", "PID"] and
       [r.split()[0] for r in rows[1:6]] == names and
       all(r.split()[0] in names and r.split()[1] == "key" and
           r.split()[2].startswith("herd1:") for r in rows[6:]),
       "herdctl status prints a table, and under it the key of the links "
       "(herdd's own, no secret configured)", out)

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
    rc, out, errs = h.ctl("reload", json_out=False)
    ok(rc != 0 and "herd.ini:" in errs, "reload of a bad file is refused "
       "with file:line errors", errs)
    after = h.status()
    ok({n: v["pid"] for n, v in before.items()} ==
       {n: v["pid"] for n, v in after.items()},
       "a refused reload leaves the herd as it was")

    # reload: add F (isolated), remove Welsh, move Hands to a new port.
    # Holiday loses its neighbour Welsh: it restarts too.  Goloman and
    # Wilkes are untouched.
    reconfigure(drop=("Welsh",))
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
        ok(st["Hands"]["port"] == moved and
           wait_for(lambda: accepting(moved), 3.0) and
           wait_for(lambda: not accepting(port["Welsh"]), 3.0) and
           wait_for(lambda: accepting(fresh_port), 3.0),
           "new ports are served and the removed worker's port is closed")

    # reload by SIGHUP: Welsh comes back
    before = h.status()
    reconfigure()
    h.proc.send_signal(signal.SIGHUP)
    st = h.wait_state("Welsh", "running", 10.0)
    after = h.status()
    ok(st is not None and after["Goloman"]["pid"] ==
       before["Goloman"]["pid"] and after["Fresh"]["pid"] ==
       before["Fresh"]["pid"], "SIGHUP reloads: Welsh is back, the others "
       "untouched", after)
    return h



def sigterm(h):
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
    rc, out, errs = h.ctl("status", json_out=False)
    ok(rc != 0 and "no herdd" in errs and len(errs.splitlines()) == 1,
       "herdctl with no herdd listening: an error with one line", errs)



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
    # the links' keys, with odd values among them: a line per key
    rc, out, errs = fake_herdd(top, b'{"ok":true,"nodes":[{"name":"A",'
                               b'"keys":{"B":"herd1:aa","C":null},'
                               b'"keys_in":{"B":"herd1:bb","D":"herd1:aa",'
                               b'"E":[1]}},{"name":"Z","keys":[1],'
                               b'"keys_in":"x"},{"keys":{"B":"k"}}]}\n',
                               ["status"])
    lines = [" ".join(l.split()) for l in out.splitlines() if " key " in l]
    ok(rc == 0 and lines == ["A key herd1:aa to B; from D",
                             "A key herd1:bb from B", "? key k to B"],
       "herdctl status: a line per key of a server's links, to and from",
       out + errs)


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



def main():
    return herds.main((test_check_config, test_main, test_herdctl_odd_replies),
                      "herd-supervisor-", limit=240)


if __name__ == "__main__":
    sys.exit(main())
