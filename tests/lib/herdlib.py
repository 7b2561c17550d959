"""herdlib -- the basics every test and benchmark script shares, one way
each: free ports, waiting for a condition, whether a port accepts, and the
shipped herd's mesh (etc/herd.ini).

Meson gives each test PYTHONPATH with this folder; by hand,
PYTHONPATH=tests/lib (see tests/bench/README.md)."""
import os
import re
import socket
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# etc/herd.ini as shipped: HERD_SHIPPED_CONF when set, else the source tree's
SHIPPED = os.environ.get("HERD_SHIPPED_CONF",
                         os.path.join(ROOT, "etc", "herd.ini"))

SERVER_RE = re.compile(r"\s*\[server\s+(\S+)\]")
NEIGHBORS_RE = re.compile(r"\s*neighbors\s*=\s*([^;]*)")


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound to port 0 together,
    then released)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_for(pred, timeout=10.0, step=0.05, what=None):
    """Poll pred() every step seconds until it returns something true:
    that value, or None once timeout seconds have passed (after printing
    "# timed out waiting for WHAT" when what is given).  A caller for
    which a time-out is a failure says so itself, e.g.
    assert wait_for(...), "timed out waiting for X"."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            if what is not None:
                print("# timed out waiting for " + what, flush=True)
            return None
        time.sleep(step)


def quiet(eager_sent, timeout=60):
    """Wait until eager_sent() (the herd's EAGER messages sent so far, a
    metric) has not moved for 2.5 s: the 2 s every link stays eager after
    the mesh changed (herd-protocol(7)) are over.  True, or False past
    timeout."""
    last, since = None, time.monotonic()
    end = since + timeout
    while time.monotonic() < end:
        n = eager_sent()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 2.5:
            return True
        time.sleep(0.25)
    return False


def accepting(port, timeout=0.5):
    """127.0.0.1:port accepts a connection now."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout).close()
        return True
    except OSError:
        return False


def mesh(lines):
    """The servers of a herd.ini's lines, in order, and each one's own
    neighbors line: (names, {name: [neighbour, ...]})."""
    names, links = [], {}
    for line in lines:
        m = SERVER_RE.match(line)
        if m:
            names.append(m.group(1))
            links[m.group(1)] = []
        m = NEIGHBORS_RE.match(line)
        if m and names:
            links[names[-1]] = m.group(1).split()
    return names, links


def shipped_lines():
    with open(SHIPPED) as f:
        return f.read().splitlines()


# The shipped herd's mesh: each server (in the file's order) and the
# neighbours it names.
DEFAULT_LINKS = mesh(shipped_lines())[1]
