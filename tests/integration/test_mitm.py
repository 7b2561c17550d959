#!/usr/bin/env python3
"""A man in the middle of a peer link (issue 19; herd-protocol(7) TLS):
A's neighbour B is, in A's configuration, a proxy that relays to B and
records every byte; in a second phase it flips one byte of each TLS record
from A once the handshake is under way.  With the herd's secret (TLS by
default): no client id nor coordinate appears in what the proxy saw; the
flipped link is dropped, the drop logged once however often A redials,
nothing altered is stored anywhere, and once the proxy stops flipping the
link comes up again and every update reaches B byte for byte.

Real herd-node processes on 127.0.0.1, ports picked by binding port 0, a
temporary directory removed at the end.  Output is TAP."""
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

from herdlib import ask, free_ports, ts, wait_for
from herds import Separate, Supervised
from tap import ok, run

SECRET = "a-test-secret-of-the-herd-0123456789"
COORDS = "+48.856600+002.352200"


class Proxy:
    """Listen on port; relay each connection to target, recording what
    passes each way.  flip: from the third TLS application-data record
    (type 23) the dialler sends on, flip one byte of each."""

    def __init__(self, port, target):
        self.target = target
        self.flip = False
        self.flipped = 0
        self.seen = bytearray()
        self.conns = []
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(8)
        self.stop = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        self.ls.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), 2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            threading.Thread(target=self.pipe, args=(c, u, True),
                             daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, False),
                             daemon=True).start()

    def pipe(self, src, dst, up):
        buf, napp = b"", 0
        try:
            while not self.stop.is_set():
                b = src.recv(65536)
                if not b:
                    break
                with self.lock:
                    self.seen += b
                if not up:
                    dst.sendall(b)
                    continue
                buf += b
                out = bytearray()
                while len(buf) >= 5:            # whole TLS records
                    n = 5 + int.from_bytes(buf[3:5], "big")
                    if len(buf) < n:
                        break
                    rec = bytearray(buf[:n])
                    buf = buf[n:]
                    if rec[0] == 23:
                        napp += 1
                        if self.flip and napp >= 3 and n > 6:
                            rec[n // 2] ^= 0x01
                            self.flipped += 1
                    out += rec
                if out:
                    dst.sendall(bytes(out))
        except (OSError, ValueError):
            pass                        # closed under it (cut, close)
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        """Close every connection relayed so far (the dialler redials)."""
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def close(self):
        self.stop.set()
        self.cut()
        self.ls.close()


def conf_via(h, name, port):
    """h's configuration with name's peer port replaced by port (what the
    other servers dial; name itself is started from the true one)."""
    text = h.conf_text()
    i = text.index("[server %s]" % name)
    j = text.find("[server ", i + 1)
    j = len(text) if j == -1 else j
    section = re.sub(r"peer_port = \d+", "peer_port = %d" % port, text[i:j])
    return text[:i] + section + text[j:]


def test_mitm():
    h = Separate(links={"A": ["B"], "B": []}, secret=SECRET)
    proxy = None
    try:
        h.start("B")
        proxy = Proxy(free_ports(1)[0], h.peer_port["B"])
        h.write(conf_via(h, "B", proxy.ls.getsockname()[1]))
        h.start("A")
        assert wait_for(lambda: h.link_up("A", "B"), 10, 0.02), "no link"
        answers = {}
        for i in range(20):
            cid = "secret-location-%d.example" % i
            answers[cid] = h.ask("A", "IAMAT %s %s %s\n" % (
                cid, COORDS, ts(time.time_ns()))).decode()
        for cid, at in answers.items():
            assert wait_for(lambda: h.whatsat("B", cid, 1, 1).startswith(at),
                            5, 0.02), "%s did not reach B" % cid
        seen = bytes(proxy.seen)
        ok(len(seen) > 1000 and b"secret-location" not in seen and
           COORDS.encode() not in seen and b"UPDATE" not in seen,
           "mitm: the proxy saw %d bytes, and no client id, coordinate or "
           "line" % len(seen), seen[:200])
        # flip a byte of each record from A from now on
        proxy.flip = True
        proxy.cut()
        flipped = {}
        for i in range(10):
            cid = "flipped-%d.example" % i
            flipped[cid] = h.ask("A", "IAMAT %s %s %s\n" % (
                cid, COORDS, ts(time.time_ns()))).decode()
        time.sleep(3.0)         # A redials, through the proxy, each time
        ok(proxy.flipped >= 2, "mitm: the proxy flipped %d records"
           % proxy.flipped)
        alog, blog = h.log("A"), h.log("B")
        warned = re.findall(r"link to B \(127\.0\.0\.1 port \d+\): TLS: .*",
                            alog)
        ok(len(warned) == 1, "mitm: A warned once of the altered link "
           "(%d warnings, %d drops)" % (len(warned), alog.count(
               "link to B not up yet") + alog.count("link to B down")),
           "\n".join(warned) or alog[-2000:])
        ok(all(h.whatsat("B", cid, 1, 1).startswith("?") for cid in flipped),
           "mitm: nothing of the altered link was stored at B",
           blog[-2000:])
        ok(h.procs["A"].poll() is None and h.procs["B"].poll() is None,
           "mitm: both servers still run")
        proxy.flip = False
        proxy.cut()
        assert wait_for(lambda: all(h.whatsat("B", cid, 1, 1).startswith(at)
                                    for cid, at in flipped.items()), 15, 0.1), \
            "the link did not come back"
        ok(True, "mitm: once the proxy stops altering, the link is back and "
           "every update reaches B byte for byte")
    finally:
        if proxy is not None:
            proxy.close()
        h.stop()


def sniff(ports, seconds, stop):
    """TCP payloads on the loopback interface to or from ports, for up to
    seconds (AF_PACKET: root only): {port: bytes}; None when not root."""
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                          socket.ntohs(0x0003))
        s.bind(("lo", 0))
    except (PermissionError, OSError):
        return None
    s.settimeout(0.1)
    got = {p: bytearray() for p in ports}
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        try:
            frame = s.recv(65536)
        except socket.timeout:
            continue
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue                    # IPv4 only (127.0.0.1)
        ip = frame[14:]
        ihl = (ip[0] & 0x0f) * 4
        if ip[9] != 6:
            continue                    # TCP
        tcp = ip[ihl:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        data = tcp[(tcp[12] >> 4) * 4:]
        for p in (sport, dport):
            if p in got and data:
                got[p] += data
    s.close()
    return got


def test_wire_of_the_shipped_herd():
    """The default herd under herdd (etc/herd.ini as shipped, herdd's own
    secret): on the wire of every peer port, no client id nor coordinate;
    on the client ports the same ids are there (the capture works)."""
    top = tempfile.mkdtemp(prefix="herd-wire-")
    h = Supervised(top, "wire", shipped=True)
    try:
        h.start()
        assert h.wait_running(15) is not None, h.tail()
        time.sleep(1.0)                 # the links come up
        peer = list(h.peer_port.values())
        client = list(h.port.values())
        result, stop = {}, threading.Event()
        t = threading.Thread(target=lambda: result.update(
            got=sniff(peer + client, 8.0, stop)), daemon=True)
        t.start()
        time.sleep(0.3)
        for i, name in enumerate(h.names * 4):
            ask(h.port[name], "IAMAT wire-secret-%d.example %s %s\n" % (
                i, COORDS, ts(time.time_ns())))
        time.sleep(1.0)                 # the updates cross the herd
        stop.set()
        t.join(10)
        got = result.get("got")
        if got is None:
            ok(True, "wire: # SKIP not root: no capture on lo")
            return
        on_peer = b"".join(bytes(got[p]) for p in peer)
        on_client = b"".join(bytes(got[p]) for p in client)
        ok(b"wire-secret-" in on_client, "wire: the capture sees the ids on "
           "the client ports (%d bytes)" % len(on_client))
        ok(len(on_peer) > 1000 and b"wire-secret-" not in on_peer and
           COORDS.encode() not in on_peer and b"UPDATE" not in on_peer,
           "wire: %d bytes on the peer ports, no client id, coordinate or "
           "line in clear" % len(on_peer), on_peer[:300])
    finally:
        h.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run([test_mitm, test_wire_of_the_shipped_herd]))
