#!/usr/bin/env python3
"""Integration tests of herd-node's peer links: real processes on loopback.
A neighbour's death and return, catch-up, neighbours by name (every
address, a stuck lookup), the handshake (versions, names, secrets,
impostors), SIGTERM during a catch-up.  The client side is
test_node.py's."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from herdlib import NOTHING_SEEN, exchange, read_all, read_until, ts, wait_for
from herds import NODE, Separate
from tap import run


def a_to_b(h, cid):
    """An IAMAT for cid at A reaches B."""
    h.ask("A", "IAMAT %s +1+1 %s\n" % (cid, ts(time.time_ns())))
    got = h.known("B", cid)
    assert got, "timed out waiting for the update at B"
    assert got.startswith("AT A ")


def test_neighbour_death_and_return():
    """Holiday is Welsh's only link: kill it, update elsewhere, bring it back."""
    h = Separate()
    try:
        h.start_all()
        h.wait_links()
        h.kill("Holiday")
        assert wait_for(lambda: not h.link_up("Welsh", "Holiday"), 5, 0.02), \
            "timed out waiting for Welsh to see the drop"
        assert "link to Holiday down" in h.log("Welsh")
        # the herd keeps serving
        t = ts(time.time_ns())
        at = h.ask("Goloman", "IAMAT missed +1+1 %s\n" % t).decode()
        assert h.whatsat("Welsh", "missed", 1, 1).startswith("?"), \
            "Welsh cannot know yet"
        h.start("Holiday")
        h.wait_links(["Welsh", "Holiday", "Goloman", "Wilkes"])
        got = h.known("Welsh", "missed")
        assert got, "timed out waiting for catch-up at Welsh"
        assert got.split("\n")[0] + "\n" == at
        log = h.log("Welsh")
        assert log.index("link to Holiday down") < log.rindex("link to Holiday up")
        # and flooding works through the restarted node again
        at2 = h.ask("Hands", "IAMAT after +2+2 %s\n" % ts(time.time_ns())).decode()
        got = h.known("Welsh", "after")
        assert got, "timed out waiting for flood through Holiday"
        assert got.split("\n")[0] + "\n" == at2
    finally:
        h.stop()


def test_large_catch_up_streams():
    """A catch-up many times the link's output chunk arrives whole."""
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        n = 20000
        t = time.time_ns()
        s = h.connect("A", timeout=30)
        s.sendall("".join("IAMAT client-%05d +%d.5-%d.25 %s\n" % (
            i, i % 80, i % 170, ts(t + i)) for i in range(n)).encode())
        s.shutdown(socket.SHUT_WR)
        assert read_all(s).count(b"\n") == n
        s.close()
        h.start("B")
        assert wait_for(lambda: re.search(r"peer A: caught up \(%d records\)" % n,
                                   h.log("B")), 20, 0.02), \
            "timed out waiting for B to catch up"
        assert "link to B: sent %d records" % n in h.log("A")
        for i in (0, 1, n // 2, n - 1):
            got = h.whatsat("B", "client-%05d" % i, 1, 1)
            assert got.startswith("AT A ") and " %s\n" % ts(t + i) in got, got
    finally:
        h.stop()


def test_neighbour_by_name():
    """Neighbours may be given by name: looked up without blocking."""
    h = Separate(links={"A": ["B"], "B": []}, hosts={"B": "localhost"})
    try:
        h.start("A")
        h.start("B")
        h.wait_links()
        a_to_b(h, "named")
    finally:
        h.stop()


def v6_loopback():
    """::1 can be bound here."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def name_addrs(name):
    """The addresses name resolves to here, in order."""
    try:
        return [a[4][0] for a in socket.getaddrinfo(name, 1, 0,
                                                     socket.SOCK_STREAM)]
    except OSError:
        return []


def hosts_wrap(h, tag, text):
    """A wrap for Separate.start: the node sees /etc/hosts as text (a private
    mount namespace), or None when that takes root and unshare(1) and
    this is not root."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    path = os.path.join(h.dir, "hosts." + tag)
    with open(path, "w") as f:
        f.write(text)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', path]


def answers(family, addr, port):
    try:
        with socket.socket(family) as s:
            s.settimeout(2)
            s.connect((addr, port))
            s.sendall(b"IAMAT probe +1+1 1\n")
            s.shutdown(socket.SHUT_WR)
            return read_all(s).startswith(b"AT ")
    except OSError:
        return False


def test_localhost_on_every_address():
    """host = localhost listens on every address the name has (127.0.0.1
    and ::1 where /etc/hosts maps it to both, as on Debian), client and
    peer ports alike, and neighbours dialling it by name link up.  Where
    this machine's /etc/hosts maps localhost to 127.0.0.1 only, the nodes
    run with a private /etc/hosts that maps it to both."""
    if not v6_loopback():
        print("# skip: no IPv6 loopback (::1) on this machine")
        return
    h = Separate(links={"A": ["B"], "B": []},
             hosts={"A": "localhost", "B": "localhost"})
    try:
        wrap = ()
        if "::1" not in name_addrs("localhost") or \
                "127.0.0.1" not in name_addrs("localhost"):
            wrap = hosts_wrap(h, "dual", "127.0.0.1 localhost\n"
                              "::1 localhost ip6-localhost\n")
            if wrap is None:
                print("# skip: localhost is not both 127.0.0.1 and ::1 here, "
                      "and a private /etc/hosts takes root and unshare(1)")
                return
        h.start("A", wrap=wrap)
        h.start("B", wrap=wrap)
        for name in "AB":
            assert answers(socket.AF_INET, "127.0.0.1", h.port[name]), \
                "%s on 127.0.0.1" % name
            assert answers(socket.AF_INET6, "::1", h.port[name]), \
                "%s on ::1" % name
            for fam, addr in ((socket.AF_INET, "127.0.0.1"),
                              (socket.AF_INET6, "::1")):
                socket.create_connection((addr, h.peer_port[name]), 2).close()
        h.wait_links()
        a_to_b(h, "dual")
    finally:
        h.stop()


def test_neighbour_name_tries_each_address():
    """A neighbour whose name has two addresses, the first refusing: the
    link dials the second and comes up.  A sees herd-dual as ::1 then
    127.0.0.1; B, which listens on herd-dual, sees only 127.0.0.1."""
    h = Separate(links={"A": ["B"], "B": []}, hosts={"B": "herd-dual"})
    try:
        wrap_a = hosts_wrap(h, "a", "::1 herd-dual\n127.0.0.1 herd-dual\n")
        wrap_b = hosts_wrap(h, "b", "127.0.0.1 herd-dual\n")
        if wrap_a is None or not v6_loopback():
            print("# skip: needs root, unshare(1) and ::1")
            return
        order = subprocess.run(wrap_a + ["getent", "ahosts", "herd-dual"],
                               capture_output=True, text=True, timeout=10)
        assert order.stdout.split()[:1] == ["::1"], order.stdout
        h.start("B", wrap=wrap_b)
        h.start("A", wrap=wrap_a)
        h.wait_links()
        a_to_b(h, "twoaddr")
    finally:
        h.stop()


def test_stuck_name_lookup_does_not_stall():
    """A neighbour whose name the DNS never answers for: the node serves
    its clients meanwhile.  Runs the node in a mount namespace whose
    resolv.conf points at a resolver that swallows every query."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("# skip: needs root and unshare(1)")
        return
    h = Separate(links={"A": ["B"], "B": []}, hosts={"B": "herd-blackhole.invalid"})
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dns.bind(("127.0.0.77", 53))
        dns.settimeout(5)
        resolv = os.path.join(h.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.77\noptions timeout:4 attempts:1\n")
        wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv]
        h.start("A", wrap=wrap)
        dns.recvfrom(512)           # the node did ask the DNS
        worst = 0.0
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            start = time.monotonic()
            out = h.ask("A", "IAMAT meanwhile +1+1 1\n")
            worst = max(worst, time.monotonic() - start)
            assert out.startswith(b"AT A "), out
            time.sleep(0.05)
        assert worst < 1.0, "a client waited %.2f s" % worst
        assert wait_for(lambda: "link to B not up yet: herd-blackhole.invalid:"
                 in h.log("A"), 10, 0.02), \
            "timed out waiting for the lookup to fail"
    finally:
        dns.close()
        h.stop()




def fake_neighbour(h, name, ok=b"OK 1 %s\n" + NOTHING_SEEN):
    """Listen on name's peer port, accept one link, say OK (and SINCE:
    nothing of the stream seen yet), read nothing."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", h.peer_port[name]))
    ls.listen(4)
    ls.settimeout(10)
    c, _ = ls.accept()
    c.settimeout(10)
    hello = read_until(c, b"\n")
    assert hello.startswith(b"HELLO 1 ") and hello.split()[3] == name.encode(), hello
    c.sendall(ok.replace(b"%s", name.encode()))
    return ls, c


def test_link_refuses_other_version_or_name():
    """An OK for another protocol version or from another server does not
    bring the link up."""
    for ok in (b"OK 2 %s\n", b"OK 1 Other\n", b"PONG\n"):
        h = Separate(links={"A": ["B"], "B": []})
        try:
            h.start("A")
            ls, c = fake_neighbour(h, "B", ok)
            assert wait_for(lambda: "link to B refused" in h.log("A"), 5, 0.02), \
                "timed out waiting for the drop"
            assert "link to B up" not in h.log("A"), ok
            # a link that was never up is not reported as going down
            assert "link to B not up yet" in h.log("A")
            assert "link to B down" not in h.log("A")
            c.close()
            ls.close()
        finally:
            h.stop()


def test_sigterm_during_catch_up():
    """SIGTERM while a catch-up is stuck on a neighbour that does not read:
    a clean exit 0 (the walk's cursor used to outlive its link)."""
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start("A")
        s = h.connect("A", timeout=30)
        pad = "p" * 4000
        n = 4000
        out = exchange(s, "".join("IAMAT %s-%d +1+1 1\n" % (pad, i)
                                  for i in range(n)).encode())
        assert out.count(b"\n") == n
        s.close()
        ls, c = fake_neighbour(h, "B")
        assert wait_for(lambda: "link to B up" in h.log("A"), 10, 0.02), \
            "timed out waiting for the link"
        time.sleep(0.3)
        assert "link to B: sent" not in h.log("A"), "the catch-up ended"
        assert h.kill("A", signal.SIGTERM) == 0
        err = h.stderr("A")
        assert "Sanitizer" not in err and "runtime error" not in err, err
        c.close()
        ls.close()
    finally:
        h.stop()


def fake_dial(h, at, name):
    """Dial at's peer port as neighbour name (a test peer speaking the
    peer protocol, with the tree's feature word); past the handshake and
    an empty catch-up, so what it sends next is live."""
    p = socket.create_connection(("127.0.0.1", h.peer_port[at]), 5)
    p.settimeout(5)
    p.sendall(b"HELLO 1 %s %s +tree\n" % (name.encode(), at.encode()))
    got = read_until(p, b"SINCE", 5)
    while not got.endswith(b"\n"):
        got += p.recv(4096)
    assert got.startswith(b"OK 1 %s" % at.encode()), got
    p.sendall(b"FROM 00000000000000aa 0\nSYNCED 0\n")
    return p


def heard(s, secs):
    """What arrives on s in secs."""
    out, end = b"", time.monotonic() + secs
    s.settimeout(0.05)
    while time.monotonic() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        if not b:
            break
        out += b
    return out


def send_until_seen(h, s, upd, where, frm):
    """Send UPDATE line upd on s; wait until where logs it from frm."""
    s.sendall(upd)
    line = "peer %s recv %s" % (frm, upd.decode().strip())
    assert wait_for(lambda: line in h.log(where), 5, 0.02), \
        h.log(where)[-2000:]


def settled(h, names):
    """Wait until 2.5 s have passed since the last EAGER wave any of names
    logged (herd-protocol(7): 2 s in which nothing is pruned)."""
    def last():
        stamps = [m for n in names for m in re.findall(
            r"^(\S+) \S+: .*every link sends updates for", h.log(n), re.M)]
        return max(stamps) if stamps else ""
    seen, since = last(), time.monotonic()
    while time.monotonic() - since < 2.5:
        time.sleep(0.25)
        if last() != seen:
            seen, since = last(), time.monotonic()


def test_tree_prunes_the_longer_way():
    """Of two links that brought the same update, the one whose sender is
    farther from its origin in the mesh is pruned, even when its copy came
    first.  P is a test peer: its update reaches Y by X first (one link
    from P), then from P itself; Y prunes X's link, not P's."""
    h = Separate(links={"P": ["X", "Y"], "X": ["Y"], "Y": []})
    px = py = None
    try:
        h.start("X", wait=False)
        h.start("Y")
        h.wait_links(["X", "Y"])
        px, py = fake_dial(h, "X", "P"), fake_dial(h, "Y", "P")
        settled(h, ["X", "Y"])
        upd = b"UPDATE AT P +0.000000001 near +1+1 %s\n" % \
            ts(time.time_ns()).encode()
        send_until_seen(h, px, upd, "Y", "X")     # by X first
        py.sendall(upd)
        assert wait_for(lambda: "X's stream pruned" in h.log("Y"), 5, 0.02), \
            h.log("Y")[-2000:]
        assert "an update from P came first from X, 1 link from it, then " \
            "from P, 0: X's stream pruned" in h.log("Y"), h.log("Y")[-2000:]
        assert b"PRUNE" not in heard(py, 1.0), "P's link, the shorter, pruned"
        # X heard the PRUNE: its link to Y sends a notice, not the update
        # (and Y, which P does not pass it to, grafts it back)
        h.ask("X", "IAMAT after +2+2 %s\n" % ts(time.time_ns()))
        assert wait_for(lambda: "peer X: told of update" in h.log("Y"), 5,
                        0.02), h.log("Y")[-2000:]
        assert h.known("Y", "after"), "the update did not come by the graft"
    finally:
        for s in (px, py):
            if s is not None:
                s.close()
        h.stop()


def test_tree_echo_from_farther_prunes_nothing():
    """A copy that comes back from a neighbour farther from the origin
    prunes nothing while our link to it is eager: P - Y - X - Q, both P
    and Q test peers.  P's update reaches X by Y; Q (three links from P,
    X two) sends it to X again: X prunes nothing, and its link to Q still
    carries updates."""
    h = Separate(links={"P": ["Y"], "Y": ["X"], "X": ["Q"], "Q": []})
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", h.peer_port["Q"]))
    ls.listen(4)
    ls.settimeout(10)
    py = qx = xq = None
    try:
        h.start("X", wait=False)
        h.start("Y")
        h.wait_links(["X", "Y"])
        xq = ls.accept()[0]             # X's link to Q: answered as Q
        xq.settimeout(5)
        got = read_until(xq, b"\n", 5)
        assert got.startswith(b"HELLO 1 X Q"), got
        xq.sendall(b"OK 1 Q +tree\nSINCE 0000000000000000 0\n")
        assert wait_for(lambda: "link to Q up" in h.log("X"), 5, 0.02), \
            h.log("X")[-2000:]
        py, qx = fake_dial(h, "Y", "P"), fake_dial(h, "X", "Q")
        settled(h, ["X", "Y"])
        heard(xq, 0.1)
        upd = b"UPDATE AT P +0.000000001 echo +1+1 %s\n" % \
            ts(time.time_ns()).encode()
        send_until_seen(h, py, upd, "X", "Y")     # by Y first
        send_until_seen(h, qx, upd, "X", "Q")     # then back from Q
        assert b"PRUNE" not in heard(qx, 1.0), "Q's link pruned"
        assert "stream pruned" not in h.log("X"), h.log("X")[-2000:]
        h.ask("X", "IAMAT fresh +2+2 %s\n" % ts(time.time_ns()))
        out = heard(xq, 1.5)
        assert re.search(rb"^UPDATE AT X \S+ fresh ", out, re.M), \
            "X's link to Q no longer carries updates: %r" % out[-500:]
    finally:
        for s in (py, qx, xq, ls):
            if s is not None:
                s.close()
        h.stop()


if __name__ == "__main__":
    sys.exit(run([test_neighbour_death_and_return,
                  test_large_catch_up_streams,
                  test_neighbour_by_name,
                  test_localhost_on_every_address,
                  test_neighbour_name_tries_each_address,
                  test_stuck_name_lookup_does_not_stall,
                  test_sigterm_during_catch_up,
                  test_link_refuses_other_version_or_name,
                  test_tree_prunes_the_longer_way,
                  test_tree_echo_from_farther_prunes_nothing]))
