#!/usr/bin/env python3
"""Integration tests of what a client may cost a server (herd.ini(5)
LIMITS, herd-protocol(7) LIMITS): real herd-node processes on loopback.

- one client filling the shipped five-server herd with new ids up to
  max_clients: the ids past it are refused ("? IAMAT") and stored nowhere,
  every acknowledged one is held everywhere, memory and disk stay bounded,
  other clients are answered throughout; the same after a restart of
  every server
- a report more than max_clock_skew ahead is refused by the server it
  reaches, and by a neighbour it is forced on; the id takes current ones
- expire_s: a report is forgotten everywhere by its own time stamp, at a
  server that was down meanwhile, and after a restart from the journal
- connections past max_connections_per_address and max_connections are
  closed at once, counted, logged at most once a second
- the log rotates past log_max_size and keeps log_keep files
"""
import os
import re
import resource
import select
import signal
import socket
import sys
import threading
import time

from herdlib import exchange, read_all, read_until, wait_for, NOTHING_SEEN
from herds import Separate
from tap import run


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def du(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                n += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return n


def iamats(prefix, lo, hi, t=None):
    t = time.time() if t is None else t
    return "".join("IAMAT %s%d +1.5-2.5 %.9f\n" % (prefix, i, t)
                   for i in range(lo, hi)).encode()


class Probe(threading.Thread):
    """Asks each server, a new connection each time, every 20 ms: the
    latencies, and whether any went unanswered."""

    def __init__(self, h):
        super().__init__(daemon=True)
        self.h, self.lat, self.failed, self.stop = h, [], [], False

    def run(self):
        i = 0
        while not self.stop:
            name = self.h.names[i % len(self.h.names)]
            i += 1
            t0 = time.monotonic()
            try:
                out = self.h.ask(name, "IAMAT probe-%s +1+1 %.9f\n" % (
                    name, time.time()), timeout=5)
                if not out.startswith(b"AT "):
                    self.failed.append((name, out))
            except (OSError, AssertionError) as e:
                self.failed.append((name, repr(e)))
            self.lat.append(time.monotonic() - t0)
            time.sleep(0.02)


def held_everywhere(h, ids, want):
    """Every server answers WHATSAT for each of ids (want) or "?" (not)."""
    for name in h.names:
        for i in ids:
            got = h.whatsat(name, i, 1, 1)
            if got.startswith("AT") != want:
                return "%s: %s: %s" % (name, i, got[:80])
    return None


def test_fill_to_the_bound():
    """One client fills the shipped herd with new ids at full speed."""
    h = Separate(shipped=True, label="fill")
    try:
        h.start_all()
        h.wait_links()
        pid = h.procs["Hands"].pid
        bound = 250000                  # max_clients's default
        if sanitized(pid):
            # under ASan a server is 3 to 5 times slower and larger: the
            # same behaviour at a bound an eighth of the default's
            bound = 30000
            with open(h.conf) as f:
                text = f.read()
            with open(h.conf, "w") as f:
                f.write(text.replace("[herd]\n", "[herd]\nmax_clients = "
                                     "%d\n" % bound, 1))
            for name in h.names:
                h.kill(name, signal.SIGTERM)
            h.start_all()
            h.wait_links()
        base = {n: rss_kb(h.procs[n].pid) for n in h.names}
        probe = Probe(h)
        probe.start()
        s = h.connect("Hands", timeout=120)
        extra = 2000
        out = exchange(s, iamats("fill-", 0, bound + extra), 120).decode()
        s.close()
        lines = out.splitlines()
        acked = [i for i, l in enumerate(lines) if l.startswith("AT ")]
        refused = [i for i, l in enumerate(lines) if l.startswith("? ")]
        # a few probes of new ids may have taken places first
        assert bound - 10 <= len(acked) <= bound, len(acked)
        assert len(acked) + len(refused) == bound + extra
        assert acked == list(range(len(acked))), "refused before the bound"
        last = "fill-%d" % acked[-1]
        for name in h.names:
            assert h.known(name, last, timeout=60), "%s lacks %s" % (
                name, last)
        probe.stop = True
        probe.join()
        lat = sorted(probe.lat)
        p99 = lat[int(len(lat) * 0.99)] if lat else 0
        print("# probes: %d, p99 %.1f ms, max %.1f ms, unanswered %d" % (
            len(lat), p99 * 1000, lat[-1] * 1000 if lat else 0,
            len(probe.failed)))
        assert not probe.failed, probe.failed[:3]
        sample = ["fill-%d" % i for i in acked[::len(acked) // 40]]
        gone = ["fill-%d" % i for i in refused[::len(refused) // 20]]
        # the last one's arrival does not mean all came: a link grafted
        # into the tree late resends what it lacks after (herd-protocol(7))
        t0 = time.monotonic()
        errs = []
        assert wait_for(lambda: errs.append(
            held_everywhere(h, sample, True) or
            held_everywhere(h, gone, False)) or errs[-1] is None, 60, 0.5), \
            errs[-1]
        print("# the sample held everywhere %.1f s after the last came" %
              (time.monotonic() - t0))
        for name in h.names:
            rss = rss_kb(h.procs[name].pid)
            disk = du(os.path.join(h.dir, "log")) // len(h.names)
            print("# %s: %d kB resident (%d at start), log %d MB, journal "
                  "%d MB" % (name, rss, base[name], disk >> 20, os.path.
                             getsize(os.path.join(h.dir, "state", name +
                                                  ".journal")) >> 20))
            if not sanitized(h.procs[name].pid):
                # 250,000 records of about 200 bytes and the table's slots
                assert rss - base[name] < bound * 400 // 1024, \
                    "%s grew %d kB" % (name, rss - base[name])
        for name in h.names:
            logs = [f for f in os.listdir(os.path.join(h.dir, "log"))
                    if f.startswith(name + ".log")]
            size = sum(os.path.getsize(os.path.join(h.dir, "log", f))
                       for f in logs)
            # log_max_size 32 MiB, log_keep 3; a flush may pass it by its
            # buffer (256 KiB)
            assert size <= 4 * (32 << 20) + 4 * (256 << 10), (name, size)
        # the restart of every server: the same
        for name in h.names:
            h.kill(name, signal.SIGTERM)
        h.start_all()
        h.wait_links()
        err = held_everywhere(h, sample, True) or \
            held_everywhere(h, gone, False)
        assert err is None, "after a restart: " + err
        for name in h.names:
            out = h.ask(name, "IAMAT after-%s +1+1 %.9f\n" % (
                name, time.time())).decode()
            assert out.startswith("? IAMAT"), (name, out)
            out = h.ask(name, "IAMAT %s +2+2 %.9f\n" % (
                sample[1], time.time())).decode()
            assert out.startswith("AT "), "a known id updates: " + out
    finally:
        h.stop()


def peer_update(h, at, line, name="B"):
    """As neighbour name, dial at's peer port and send one UPDATE line."""
    p = socket.create_connection(("127.0.0.1", h.peer_port[at]), 5)
    p.settimeout(5)
    p.sendall(b"HELLO 1 %s %s\n" % (name.encode(), at.encode()))
    got = b""
    while b"SINCE" not in got or not got.endswith(b"\n"):
        b = p.recv(4096)
        assert b, got
        got += b
    assert got.startswith(b"OK 1 " + at.encode()), got
    p.sendall(b"FROM 00000000000000aa 0\n" + line + b"\nSEQ 1\n")
    return p


def test_clock_skew():
    """Ten years ahead: refused where it arrives, by a client or a
    neighbour; the id then takes current reports."""
    h = Separate(links={"A": ["B"], "B": ["C"], "C": []})
    try:
        h.start_all()
        h.wait_links()
        future = time.time() + 10 * 365 * 86400
        out = h.ask("A", "IAMAT x +1+1 %.9f\n" % future).decode()
        assert out.startswith("? IAMAT x "), out
        out = h.ask("A", "IAMAT x +2+2 %.9f\n" % time.time()).decode()
        assert out.startswith("AT A "), out
        for name in "ABC":
            assert h.known(name, "x"), name
            assert "+2+2" in h.whatsat(name, "x", 1, 1), name
        # forced into C's stream by a neighbour (a test peer, as B)
        h.kill("B")
        p = peer_update(h, "C", b"UPDATE AT B +0.000000001 y +3+3 %.9f"
                        % future)
        assert wait_for(lambda: "update of y from B refused: time stamp "
                        "ahead" in h.log("C"), 5, 0.02), h.log("C")[-1500:]
        p.close()
        assert h.whatsat("C", "y", 1, 1).startswith("?")
        out = h.ask("C", "IAMAT y +4+4 %.9f\n" % time.time()).decode()
        assert out.startswith("AT C "), out
        assert "+4+4" in h.whatsat("C", "y", 1, 1)
    finally:
        h.stop()


def test_expiry():
    """expire_s = 2: forgotten 2 s after its time stamp, everywhere."""
    # non-default: expiry is off by default; 2 s keeps the test short
    h = Separate(links={"A": ["B"], "B": ["C"], "C": []},
                 herd="state_dir = state\nexpire_s = 2")
    try:
        h.start_all()
        h.wait_links()
        h.kill("C", signal.SIGTERM)
        t = time.time()
        out = h.ask("A", "IAMAT old +1+1 %.9f\n" % (t - 5)).decode()
        assert out.startswith("? IAMAT"), "already expired: " + out
        out = h.ask("A", "IAMAT e +1+1 %.9f\n" % t).decode()
        assert out.startswith("AT A "), out
        assert h.known("B", "e"), "B has it"
        h.start("C")                     # caught up while it lives
        h.wait_links()
        assert h.known("C", "e"), "C caught up"
        assert wait_for(lambda: all(h.whatsat(n, "e", 1, 1).startswith("?")
                                    for n in "ABC"), 5, 0.05), \
            "forgotten everywhere"
        assert time.time() - t >= 2.0
        # a server down meanwhile: the catch-up does not bring it back
        h.kill("C", signal.SIGTERM)
        t = time.time()
        assert h.ask("A", "IAMAT f +1+1 %.9f\n" % t).startswith(b"AT A ")
        assert h.known("B", "f")
        time.sleep(max(0, t + 2.2 - time.time()))
        h.start("C")
        h.wait_links()
        time.sleep(0.5)
        for n in "ABC":
            assert h.whatsat(n, "f", 1, 1).startswith("?"), n
        # after a restart from the journal
        t = time.time()
        assert h.ask("A", "IAMAT g +1+1 %.9f\n" % t).startswith(b"AT A ")
        h.kill("A", signal.SIGKILL)
        time.sleep(max(0, t + 2.2 - time.time()))
        h.start("A")
        assert h.whatsat("A", "g", 1, 1).startswith("?")
    finally:
        h.stop()


def test_expiry_turned_on_by_sighup():
    """expire_s set by a reload (SIGHUP, as herdd sends it): the sweep
    starts, and what is older goes; the running server is not restarted."""
    h = Separate(links={"A": []})
    try:
        h.start("A")
        t = time.time()
        assert h.ask("A", "IAMAT r +1+1 %.9f\n" % (t - 5)).startswith(
            b"AT A "), "expiry is off by default"
        h.herd = "expire_s = 2"
        h.write()
        pid = h.procs["A"].pid
        h.procs["A"].send_signal(signal.SIGHUP)
        assert wait_for(lambda: h.whatsat("A", "r", 1, 1).startswith("?"),
                        5, 0.05), "not forgotten after the reload"
        assert h.procs["A"].pid == pid and h.procs["A"].poll() is None
    finally:
        h.stop()


def raise_fds(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= n


def closed_at_once(socks, timeout=2):
    """The sockets of socks the server closed within timeout."""
    poll = select.poll()
    for s in socks:
        poll.register(s, select.POLLIN)
    by_fd = {s.fileno(): s for s in socks}
    out, end = [], time.monotonic() + timeout
    while time.monotonic() < end and len(out) < len(socks):
        for fd, _ in poll.poll(max(0, end - time.monotonic()) * 1000):
            poll.unregister(fd)
            try:
                if by_fd[fd].recv(16) == b"":
                    out.append(by_fd[fd])
            except OSError:
                out.append(by_fd[fd])
    return out


def test_connections_per_address():
    """max_connections_per_address (1024): the 1025th from 127.0.0.1 is
    closed at once; from 127.0.0.2 one is served."""
    h = Separate(links={"A": []})
    socks = []
    try:
        h.start("A")
        assert raise_fds(1200), "the test needs 1,200 descriptors"
        for _ in range(1024):
            socks.append(socket.create_connection(
                ("127.0.0.1", h.port["A"]), 5))
        assert not closed_at_once(socks, 1), "one of 1,024 closed"
        past = [socket.create_connection(("127.0.0.1", h.port["A"]), 5)
                for _ in range(3)]
        assert len(closed_at_once(past, 3)) == 3, "past the limit: open"
        assert wait_for(lambda: "max_connections_per_address reached" in
                        h.log("A"), 5, 0.02), h.log("A")[-1000:]
        assert h.log("A").count("max_connections_per_address") == 1, \
            "said once a second"
        other = socket.create_connection(("127.0.0.1", h.port["A"]), 5,
                                         source_address=("127.0.0.2", 0))
        other.sendall(b"IAMAT o +1+1 1\n")
        other.shutdown(socket.SHUT_WR)
        other.settimeout(5)
        assert read_all(other).startswith(b"AT A ")
        other.close()
        for s in socks[:10]:
            s.close()
        time.sleep(0.2)
        out = h.ask("A", "IAMAT p +1+1 1\n")
        assert out.startswith(b"AT A "), "a place again: " + repr(out)
    finally:
        for s in socks:
            s.close()
        h.stop()


def test_connections_per_server():
    """max_connections (10,000): from ten addresses, the 10,001st is closed
    at once."""
    h = Separate(links={"A": []})
    socks = []
    try:
        if not raise_fds(10300):
            print("# SKIP: fewer than 10,300 descriptors for the test")
            return
        h.start("A", max_fds=10300)
        for i in range(10000):
            src = ("127.0.0.%d" % (2 + i // 1000), 0)
            socks.append(socket.create_connection(
                ("127.0.0.1", h.port["A"]), 5, source_address=src))
        past = socket.create_connection(("127.0.0.1", h.port["A"]), 5,
                                        source_address=("127.0.1.1", 0))
        assert closed_at_once([past], 3), "the 10,001st is open"
        assert wait_for(lambda: "max_connections reached" in h.log("A"), 5,
                        0.02)
        assert not closed_at_once(socks[:500], 0.5)
    finally:
        for s in socks:
            s.close()
        h.stop()


def test_log_rotation():
    """Past log_max_size the log is NAME.log.1, and so on to log_keep."""
    # non-default: 64 KiB (not 32 MiB) to see the rotation in a second
    h = Separate(links={"A": []}, herd="log_max_size = 64k\nlog_keep = 2")
    try:
        h.start("A")
        for k in range(8):
            h.ask("A", iamats("r%d-" % k, 0, 500), timeout=30)
        def logs():
            return sorted(f for f in os.listdir(os.path.join(h.dir, "log"))
                          if f.startswith("A.log"))
        # the oldest goes by a thread of its own (herd-node(8) LOGGING)
        assert wait_for(lambda: logs() == ["A.log", "A.log.1", "A.log.2"],
                        5, 0.02), logs()
        logs = logs()
        for f in logs:
            n = os.path.getsize(os.path.join(h.dir, "log", f))
            assert n <= 64 * 1024 + 256 * 1024, (f, n)
        assert "IAMAT r7-499" in h.log("A") or "IAMAT r7-499" in \
            h.read(os.path.join("log", "A.log.1"))
    finally:
        h.stop()


if __name__ == "__main__":
    sys.exit(run([test_clock_skew, test_expiry,
                  test_expiry_turned_on_by_sighup, test_connections_per_address,
                  test_connections_per_server, test_log_rotation,
                  test_fill_to_the_bound]))
