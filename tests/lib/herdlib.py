"""herdlib -- the basics every test and benchmark script shares, one way
each: free ports, waiting for a condition, whether a port accepts, what a
log gained (LogTail), the shipped herd's mesh (etc/herd.ini) and the
offline data set, processes and sanitizer reports, and a client's
requests:

  ask        one request on a connection of its own: the reply, or None
  pipeline   many requests on one new connection, sent while reading, for
             clients under faults: what came back, however it ended
  exchange   the same on a socket the caller opened: all of the replies,
             or an exception
  read_until, read_all   what a socket gives, up to a marker or its end

The herds themselves (herd-node processes, or a herd under herdd) are in
herds.py, TAP output in tap.py.  Meson gives each test PYTHONPATH with this
folder; by hand, PYTHONPATH=tests/lib (see tests/bench/README.md)."""
import os
import re
import select
import socket
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# etc/herd.ini as shipped: HERD_SHIPPED_CONF when set, else the source tree's
SHIPPED = os.environ.get("HERD_SHIPPED_CONF",
                         os.path.join(ROOT, "etc", "herd.ini"))

# the offline data set: HERD_DATASET when set, else the source tree's
DATASET = os.path.abspath(os.environ.get("HERD_DATASET") or
                          os.path.join(ROOT, "data", "cities.dat"))

SERVER_RE = re.compile(r"\s*\[server\s+(\S+)\]")
NEIGHBORS_RE = re.compile(r"\s*neighbors\s*=\s*([^;]*)")


def ts(ns):
    """ns nanoseconds since the epoch as the protocol writes a time stamp:
    seconds.nanoseconds, exact."""
    return "%d.%09d" % divmod(ns, 10**9)


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


class LogTail:
    """What a log file gained since this was made, read incrementally."""

    def __init__(self, path):
        self.path = path
        try:
            self.off = os.path.getsize(path)
        except OSError:
            self.off = 0
        self.data = b""

    def text(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                more = f.read()
        except OSError:
            more = b""
        self.off += len(more)
        self.data += more
        return self.data.decode(errors="replace")

    def count(self, s):
        return self.text().count(s)


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


# -- processes ---------------------------------------------------------------

def pid_alive(pid):
    """pid is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid):
    """A process's command line, with spaces for its NULs ("" if gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# what a sanitizer (ASan, LSan, UBSan, TSan) writes on standard error
SANITIZER_RE = re.compile(r"(ERROR|WARNING): \w*Sanitizer|runtime error:")


def sanitizer_report(text):
    """The end of text from a sanitizer's first report on, or ""."""
    m = SANITIZER_RE.search(text)
    return text[max(m.start() - 200, 0):][:3000] if m else ""


# -- a client's requests -----------------------------------------------------

def pump(s, data, timeout, got):
    """Send data on s while reading what comes back into the list got (a
    client that floods a server without reading stalls on its own
    replies), half-close once all is sent, read until the server closes.
    True at the server's end of file, False at the time-out; a socket
    error is raised."""
    s.setblocking(False)
    sent = 0
    if not data:
        s.shutdown(socket.SHUT_WR)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        want_w = [s] if sent < len(data) else []
        r, w, _ = select.select([s], want_w, [], 0.1)
        try:
            if w:
                sent += s.send(data[sent:sent + 65536])
                if sent == len(data):
                    s.shutdown(socket.SHUT_WR)
            if r:
                b = s.recv(1 << 20)
                if not b:
                    return True
                got.append(b)
        except (BlockingIOError, InterruptedError):
            pass
    return False


def exchange(s, data, timeout=30):
    """pump() on the caller's socket: every byte the server sent before it
    closed.  A time-out is an AssertionError, a socket error is raised."""
    got = []
    if not pump(s, data, timeout, got):
        raise AssertionError("exchange timed out")
    return b"".join(got)


def pipeline(port, data, timeout=20.0):
    """pump() on a new connection to 127.0.0.1:port, for a client under
    faults: what was read, all of it so far when the connection broke or
    the time ran out, b"" when there was no connection."""
    got = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            pump(s, data, timeout, got)
    except OSError:
        pass
    return b"".join(got)


def ask(port, line, timeout=5.0):
    """One request (a line, or several) on a connection of its own, as
    graders send it: send, half-close, read until the server closes.  The
    reply as text, or None when the server could not be reached or closed
    without a word."""
    return pipeline(port, line.encode(), timeout).decode(
        errors="replace") or None


def read_until(s, marker, timeout=5):
    """Read s until marker arrives or the server closes: all that was read."""
    s.settimeout(timeout)
    buf = b""
    while marker not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


def read_all(s):
    """Read s until the server closes."""
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


# A listener new to a stream (herd-protocol(7) SINCE): nothing seen yet.
NOTHING_SEEN = b"SINCE 0000000000000000 0\n"
