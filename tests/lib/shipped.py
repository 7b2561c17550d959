"""shipped -- etc/herd.ini as shipped, for a herd in a test's directory
(herds.py: shipped=True).

The drills run the herd as a user first runs it: every setting of
etc/herd.ini and every default.  Only what a test cannot share with a user
changes: the ports (free ones, picked by binding port 0, so that a test
never takes a running herd's; each server's peer_port is written out
because the default, port + 10000, could be taken) and the data set's
path (made absolute, as the file moves).  Paths relative to the file
(log, state, the control socket) then fall inside the test's directory.
"""
import os
import re

from herdlib import SERVER_RE, SHIPPED, free_ports, mesh, shipped_lines


class Shipped:
    """Write etc/herd.ini's text to dest/herd.ini with free ports.
    names: the servers in order; links: each server's own neighbors line;
    port, peer: their ports; http: the status page's port (or None)."""

    def __init__(self, dest):
        lines = shipped_lines()
        src_dir = os.path.dirname(os.path.abspath(SHIPPED))
        self.names, self.links = mesh(lines)
        ports = free_ports(2 * len(self.names) + 1)
        self.port = {n: ports[2 * i] for i, n in enumerate(self.names)}
        self.peer = {n: ports[2 * i + 1] for i, n in enumerate(self.names)}
        self.http = None
        out, cur = [], None
        for line in lines:
            m = SERVER_RE.match(line)
            if m:
                cur = m.group(1)
            elif re.match(r"\s*\[", line):
                cur = None
            key = re.match(r"\s*(\w+)\s*=\s*([^;]*?)\s*(;.*)?$", line)
            if key and cur is not None and key.group(1) == "port":
                out.append("port = %d" % self.port[cur])
                out.append("peer_port = %d" % self.peer[cur])
                continue
            if key and cur is None and key.group(1) == "http":
                self.http = ports[-1]
                out.append("http = 127.0.0.1:%d" % self.http)
                continue
            if key and key.group(1) == "dataset":
                out.append("dataset = %s" % os.path.normpath(
                    os.path.join(src_dir, key.group(2))))
                continue
            out.append(line)
        os.makedirs(dest, exist_ok=True)
        self.conf = os.path.join(dest, "herd.ini")
        with open(self.conf, "w") as f:
            f.write("\n".join(out) + "\n")

