#!/usr/bin/env python3
"""test_multihost.py -- one herd on two machines, made of network namespaces.

Two network namespaces, A and B, joined by a veth pair (10.213.X.1 in A,
10.213.X.2 in B, X from our pid), stand for two machines.  One herd.ini
puts three servers on A's address and two on B's, linked across; a herdd
runs in each namespace with its own copy of the file, in a directory of
its own (its control socket and logs beside it, as two machines would
each have theirs).
Checked: each herdd runs only the servers of its machine and shows the
others as remote; commands on a remote server are refused; a herdd on a
machine with none of the herd's addresses exits 78; an IAMAT sent to a
server on A is answered by WHATSAT on B and the other way round; killing
a worker on B brings it back and the herd works across machines again.

Needs root and ip(8) (iproute2); exit 77 (skip) otherwise.  Binaries come
from HERDD, HERDCTL and HERD_NODE.  Everything (processes, namespaces,
the temporary directory) is removed at the end, even on failure; the whole
test is bounded by alarm(2).  Output is TAP.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import herds
from herdlib import wait_for
from herds import HERDD, Supervised
from tap import ok

LIMIT = 100                                 # seconds, the whole test
SECRET = "a-test-secret-of-the-herd-0123456789"
PID = os.getpid()
NS_A = "herdtest-%d-a" % PID
NS_B = "herdtest-%d-b" % PID
VETH_A = "ht%da" % PID                      # at most 15 characters
VETH_B = "ht%db" % PID
NET = "10.213.%d" % (PID % 200 + 20)
ADDR_A = NET + ".1"
ADDR_B = NET + ".2"

# Holiday-Welsh and Goloman-Wilkes cross from A to B
LINKS = {"Goloman": ["Hands", "Wilkes"], "Hands": ["Holiday"],
         "Holiday": ["Welsh"], "Welsh": ["Wilkes"], "Wilkes": []}
ON_A = {"Goloman", "Hands", "Holiday"}
ON_B = {"Welsh", "Wilkes"}
HOST = {n: ADDR_A if n in ON_A else ADDR_B for n in LINKS}
NS_OF = {n: (NS_A if n in ON_A else NS_B) for n in LINKS}
PORT = {}                                   # the herd's, once it is made

# a client run inside a namespace: send one line, print the reply
CLIENT = r"""
import socket, sys, time
host, port, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=3)
s.sendall(line.encode() + b"\n")
s.shutdown(socket.SHUT_WR)
data, end = b"", time.monotonic() + 3
while b"\n\n" not in data and time.monotonic() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode(errors="replace"))
"""


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                       timeout=15)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def talk(name, line):
    """Send line to server name, from inside its own namespace."""
    try:
        r = subprocess.run(["ip", "netns", "exec", NS_OF[name],
                            sys.executable, "-c", CLIENT, HOST[name],
                            str(PORT[name]), line],
                           capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "error: timed out"
    return r.stdout if r.returncode == 0 else "error: " + r.stderr


def first_line(text):
    return text.split("\n", 1)[0]


def machine(top, tag, like=None):
    """One machine's herdd: the herd's configuration in a directory of its
    own (its control socket and logs there, as two machines would each
    have theirs); like: a machine whose ports it takes (one herd)."""
    # a secret_file, the same on both machines: a herd on several machines
    # needs one (herdd makes one only for a herd on one machine), and with
    # it the links across machines speak TLS
    m = Supervised(top, tag, LINKS, hosts=HOST, secret=SECRET)
    if like is not None:
        m.port, m.peer_port = like.port, like.peer_port
        m.write()
    return m


def running(m, names):
    """m's status once every one of names runs, else None."""
    st = m.status()
    return st if st and all(st.get(n, {}).get("state") == "running"
                            for n in names) else None


def logs(m):
    """The last lines of every log of m's, for a failure's details."""
    out = []
    d = os.path.join(m.dir, "log")
    try:
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f)) as fp:
                out += ["%s/%s: %s" % (m.label, f, ln.rstrip())
                        for ln in fp.readlines()[-15:]]
    except OSError:
        pass
    return "\n".join(out)


def setup_net():
    ip("netns", "add", NS_A)
    ip("netns", "add", NS_B)
    ip("link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B)
    ip("link", "set", VETH_A, "netns", NS_A)
    ip("link", "set", VETH_B, "netns", NS_B)
    ip("-n", NS_A, "addr", "add", ADDR_A + "/24", "dev", VETH_A)
    ip("-n", NS_B, "addr", "add", ADDR_B + "/24", "dev", VETH_B)
    for ns, dev in ((NS_A, VETH_A), (NS_B, VETH_B)):
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", dev, "up")


def teardown_net():
    for ns in (NS_A, NS_B):
        r = ip("netns", "pids", ns, check=False)
        for w in r.stdout.split():
            try:
                os.kill(int(w), signal.SIGKILL)
            except (ValueError, OSError):
                pass
    for ns in (NS_A, NS_B):
        ip("netns", "del", ns, check=False)
    ip("link", "del", VETH_A, check=False)    # if it never moved


def iamat(name, client, when):
    return talk(name, "IAMAT %s +34.068930-118.445127 %s" % (client, when))


def whatsat_at(name, client, when, timeout=10.0):
    """Poll WHATSAT at name until its AT line carries when; that line."""
    def check():
        line = first_line(talk(name, "WHATSAT %s 10 1" % client))
        return line if line.startswith("AT ") and when in line else None
    return wait_for(check, timeout, 0.2)


def run(top):
    a = machine(top, "a")
    b = machine(top, "b", like=a)
    PORT.update(a.port)
    machines = [a, b]
    try:
        setup_net()
        r = subprocess.run(["ip", "netns", "exec", NS_A, "ping", "-c1",
                            "-W2", ADDR_B], capture_output=True, text=True,
                           timeout=10) if shutil.which("ping") else None
        if r is not None:
            ok(r.returncode == 0, "A reaches B over the veth pair", r.stdout)

        # -nv marks; no server here: 78; an unknown -s name: 64
        r = subprocess.run(["ip", "netns", "exec", NS_A, HERDD, "-nv",
                            "-f", a.conf], capture_output=True, text=True,
                           timeout=15)
        ok(r.returncode == 0 and
           all("%s: local" % n in r.stderr for n in ON_A) and
           all("%s: remote" % n in r.stderr for n in ON_B),
           "herdd -nv in A marks A's servers local, B's remote", r.stderr)
        lone = machine(top, "lone")
        try:
            r = subprocess.run([HERDD, "-f", lone.conf], capture_output=True,
                               text=True, timeout=10)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired as e:   # killed: its workers follow
            rc, err = None, "still running after 10 s\n%s" % e.stderr
        ok(rc == 78 and "no server" in err,
           "herdd on a machine with none of the herd's hosts exits 78",
           "exit %s\n%s" % (rc, err))
        # peer_tls = off on several machines: a warning at start (its own
        # ports, so that it does not meet the herd of the test)
        plain = Supervised(top, "plain", LINKS, hosts=HOST, secret=SECRET,
                           herd="peer_tls = off")
        plain.start(wrap=["ip", "netns", "exec", NS_A])
        warned = wait_for(lambda: "peer_tls = off, and the herd is on "
                          "several machines" in plain.stderr(), 10, 0.1)
        plain.stop()
        ok(warned, "peer_tls = off across machines: herdd warns at start",
           plain.stderr()[-1500:])
        r = subprocess.run([HERDD, "-n", "-s", "Goloman,Nope", "-f",
                            a.conf], capture_output=True, text=True,
                           timeout=15)
        ok(r.returncode == 64 and "Nope" in r.stderr,
           "herdd -s with an unknown name exits 64", r.stderr)

        for m, ns in ((a, NS_A), (b, NS_B)):
            m.start(wrap=("ip", "netns", "exec", ns))
        sa = wait_for(lambda: running(a, ON_A), 20, 0.1)
        sb = wait_for(lambda: running(b, ON_B), 20, 0.1)
        ok(sa is not None and sb is not None,
           "each herdd brings its own servers up", "%s\n%s\n%s" % (
               sa, sb, logs(a) + "\n" + logs(b)))
        if sa is None or sb is None:
            return
        ok(set(sa) == set(PORT) and
           all(sa[n]["state"] == "remote" and sa[n]["pid"] is None and
               sa[n]["host"] == ADDR_B for n in ON_B),
           "A's status shows B's servers as remote", json.dumps(sa))
        ok(set(sb) == set(PORT) and
           all(sb[n]["state"] == "remote" and sb[n]["pid"] is None and
               sb[n]["host"] == ADDR_A for n in ON_A),
           "B's status shows A's servers as remote", json.dumps(sb))
        pids_a = {n: sa[n]["pid"] for n in ON_A}
        pids_b = {n: sb[n]["pid"] for n in ON_B}
        in_ns = ip("netns", "pids", NS_A).stdout.split()
        ok(all(str(p) in in_ns for p in pids_a.values()),
           "A's workers run in namespace A", "%s vs %s" % (pids_a, in_ns))
        rc, out, err = a.ctl("status", json_out=False)
        ok(rc == 0 and any(l.split()[:2] == ["Wilkes", "remote"] and
                           ADDR_B in l for l in out.splitlines()),
           "herdctl's table shows remote rows with their host", out + err)

        rc, _, err = a.ctl("kill", "Welsh", json_out=False)
        ok(rc != 0 and "Welsh runs on another machine (%s)" % ADDR_B in err,
           "kill on a remote server is refused", err)
        rc, _, err = b.ctl("stop", "Hands", json_out=False)
        ok(rc != 0 and "another machine" in err,
           "stop on a remote server is refused", err)
        rc, _, err = a.ctl("start", "Wilkes", json_out=False)
        ok(rc != 0 and "another machine" in err,
           "start on a remote server is refused", err)
        rc, out, err = a.ctl("status", "Wilkes")
        ok(rc == 0 and '"remote"' in out, "status of one remote server",
           out + err)

        # the links across machines come up
        def linked():
            sa, sb = a.status() or {}, b.status() or {}
            h = sa.get("Holiday", {}).get("links") or []
            w = sb.get("Welsh", {}).get("links") or []
            return "Welsh" in h and "Holiday" in w
        ok(wait_for(linked, 20, 0.1), "Holiday (A) and Welsh (B) are linked",
           json.dumps(a.status()) + "\n" + json.dumps(b.status()))
        ok("link to Welsh: TLS up (herd1:" in a.log("Holiday") and
           "link to Holiday: TLS up (herd1:" in b.log("Welsh"),
           "the links across machines speak TLS 1.3 with the herd's key",
           logs(a) + "\n" + logs(b))

        t1 = "%.9f" % time.time()
        r = iamat("Goloman", "kiwi.cs.ucla.edu", t1)
        ok(first_line(r).startswith("AT Goloman ") and t1 in r,
           "IAMAT at Goloman in A is answered", r)
        line = whatsat_at("Wilkes", "kiwi.cs.ucla.edu", t1)
        ok(line is not None and line.startswith("AT Goloman "),
           "WHATSAT at Wilkes in B knows it", str(line) + "\n" + logs(a) +
           "\n" + logs(b))
        line = whatsat_at("Welsh", "kiwi.cs.ucla.edu", t1)
        ok(line is not None, "and so does Welsh in B", str(line))

        # a crash on B: the worker comes back, the herd works across again
        rc, out, err = b.ctl("kill", "Wilkes", json_out=False)
        ok(rc == 0, "herdctl kill Wilkes on B", out + err)

        def back():
            n = (b.status() or {}).get("Wilkes", {})
            return n if n.get("state") == "running" and \
                n.get("pid") not in (None, pids_b["Wilkes"]) else None
        n = wait_for(back, 15, 0.1)
        ok(n is not None and n["restarts"] >= 1,
           "Wilkes comes back with a new pid", json.dumps(n))
        st = a.status() or {}
        ok(all(st.get(k, {}).get("pid") == v for k, v in pids_a.items()),
           "A's workers are untouched", json.dumps(st))
        line = whatsat_at("Wilkes", "kiwi.cs.ucla.edu", t1, 15)
        ok(line is not None, "the restarted Wilkes catches up from A",
           str(line))
        t2 = "%.9f" % time.time()
        r = iamat("Wilkes", "lime.cs.ucla.edu", t2)
        ok(first_line(r).startswith("AT Wilkes ") and t2 in r,
           "IAMAT at the restarted Wilkes", r)
        line = whatsat_at("Hands", "lime.cs.ucla.edu", t2, 15)
        ok(line is not None and line.startswith("AT Wilkes "),
           "WHATSAT at Hands in A knows it", str(line) + "\n" + logs(a) +
           "\n" + logs(b))
        t3 = "%.9f" % time.time()
        r = iamat("Hands", "kiwi.cs.ucla.edu", t3)
        line = whatsat_at("Wilkes", "kiwi.cs.ucla.edu", t3, 15)
        ok(line is not None and line.startswith("AT Hands "),
           "an update from A reaches the restarted Wilkes", str(line))

        # SIGTERM: each herdd stops its own workers and exits 0
        all_pids = list(pids_a.values()) + [pids_b["Welsh"], n["pid"]
                                            if n else 0]
        for m in machines:
            m.stop()
        ok(all(m.proc.returncode == 0 for m in machines),
           "both herdds exit 0 on SIGTERM",
           [m.proc.returncode for m in machines])
        gone = wait_for(lambda: not any(
            p and os.path.exists("/proc/%d" % p) for p in all_pids), 5, 0.1)
        ok(gone, "no worker is left")
    finally:
        herds.cleanup()


def test_multihost(top):
    try:
        run(top)
    finally:
        teardown_net()
        left = ip("netns", "list").stdout
        ok(NS_A not in left and NS_B not in left, "the namespaces are gone",
           left)


def main():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("1..0 # SKIP needs root and ip(8)")
        return 77
    r = subprocess.run(["ip", "netns", "add", NS_A], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print("1..0 # SKIP cannot make a network namespace: %s" %
              r.stderr.strip())
        return 77
    ip("netns", "del", NS_A, check=False)
    return herds.main((test_multihost,), "herd-multihost-", limit=LIMIT)


if __name__ == "__main__":
    sys.exit(main())
