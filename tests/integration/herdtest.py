"""herdtest -- start real herd-node processes on loopback for the tests.

A Herd writes a configuration with free ephemeral ports into a temporary
directory, starts and kills herd-node processes, and talks to them over
real TCP sockets.  Everything is bounded in time and cleaned up by stop().
"""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from herdlib import DEFAULT_LINKS, accepting, free_ports, wait_for

NODE = os.environ.get("HERD_NODE", "build/node/herd-node")
DATASET = os.environ.get("HERD_DATASET", "data/cities.dat")

def start_fakeplaces():
    """Start fakeplaces.py; returns (process, port).  Kill it when done."""
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen([sys.executable, os.path.join(here, "fakeplaces.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p, int(p.stdout.readline())


def google_places(port, key):
    """A [places] body for a Herd: the legacy backend at fakeplaces."""
    return "backend = google\nkey = %s\nurl = http://127.0.0.1:%d/x\n" % (
        key, port)


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


class Herd:
    """secret: the herd's secret, written to herd.secret (mode 600) and
    named by secret_file; None for an unauthenticated herd.  Nodes never
    inherit HERD_SECRET from the test's environment: start(env=...) sets it."""

    def __init__(self, links=None, places=None, extra_herd="", hosts=None,
                 secret=None):
        self.links = links or DEFAULT_LINKS
        self.hosts = hosts or {}
        self.names = list(self.links)
        self.dir = tempfile.mkdtemp(prefix="herdtest-")
        ports = free_ports(2 * len(self.names))
        self.port = {}
        self.peer_port = {}
        for i, name in enumerate(self.names):
            self.port[name] = ports[2 * i]
            self.peer_port[name] = ports[2 * i + 1]
        if places is None:
            places = "backend = offline\ndataset = %s\n" % os.path.abspath(DATASET)
        self.places = places
        self.extra_herd = extra_herd
        self.secret = secret
        if secret is not None:
            path = os.path.join(self.dir, "herd.secret")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
        self.procs = {}
        self.write_conf()

    def conf_text(self):
        out = ["[herd]", "log_dir = log", "control = herd.sock", self.extra_herd]
        if self.secret is not None:
            out.append("secret_file = herd.secret")
        out += ["[places]", self.places]
        for name in self.names:
            out.append("[server %s]" % name)
            out.append("host = %s" % self.hosts.get(name, "127.0.0.1"))
            out.append("port = %d" % self.port[name])
            out.append("peer_port = %d" % self.peer_port[name])
            if self.links[name]:
                out.append("neighbors = " + " ".join(self.links[name]))
        return "\n".join(out) + "\n"

    def write_conf(self):
        self.conf = os.path.join(self.dir, "herd.ini")
        with open(self.conf, "w") as f:
            f.write(self.conf_text())

    def log_path(self, name):
        return os.path.join(self.dir, "log", name + ".log")

    def stderr_path(self, name):
        return os.path.join(self.dir, name + ".stderr")

    def stderr(self, name):
        """What the node wrote on standard error, all its runs."""
        try:
            with open(self.stderr_path(name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log(self, name):
        try:
            with open(self.log_path(name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def start(self, name, wait=True, max_fds=None, wrap=(), env=None):
        """env: variables to set for this node (a value of None unsets)."""
        penv = dict(os.environ)
        penv.pop("HERD_SECRET", None)
        for k, v in (env or {}).items():
            if v is None:
                penv.pop(k, None)
            else:
                penv[k] = v

        def limit():
            if max_fds is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))
        # stderr to a file: a pipe nobody reads would block the node
        with open(self.stderr_path(name), "ab") as err:
            p = subprocess.Popen(list(wrap) + [NODE, "-f", self.conf, name],
                                 stdout=subprocess.DEVNULL, stderr=err,
                                 preexec_fn=limit, env=penv)
        self.procs[name] = p
        if wait:
            assert wait_for(lambda: self.accepting(name) or
                            p.poll() is not None, 10, 0.02), \
                "timed out waiting for %s to listen" % name
            if p.poll() is not None:
                raise AssertionError("%s exited %s: %s" % (
                    name, p.returncode, self.stderr(name)))
        return p

    def start_all(self):
        for name in self.names:
            self.start(name, wait=False)
        for name in self.names:
            assert wait_for(lambda: self.accepting(name), 10, 0.02), \
                "timed out waiting for %s to listen" % name

    def neighbours(self, name):
        out = set(self.links[name])
        for other, nbs in self.links.items():
            if name in nbs:
                out.add(other)
        return out

    def link_up(self, name, other):
        """The last link event for name -> other in name's log is 'up'."""
        events = re.findall(r"link to %s (up|down)" % re.escape(other),
                            self.log(name))
        return bool(events) and events[-1] == "up"

    def wait_links(self, names=None, timeout=10):
        for name in names or self.names:
            if name not in self.procs or self.procs[name].poll() is not None:
                continue
            for other in self.neighbours(name):
                if other in self.procs and self.procs[other].poll() is None:
                    assert wait_for(lambda: self.link_up(name, other),
                                    timeout, 0.02), \
                        "timed out waiting for link %s -> %s" % (name, other)

    def accepting(self, name):
        return accepting(self.port[name], 0.2)

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(sig)
            p.wait(10)
        return p.returncode if p else None

    def stop(self):
        """Stop every node (TERM, then KILL), remove the directory, and
        fail if a node reported a sanitizer error on its way."""
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        reports = [(n, self.stderr(n)) for n in self.procs]
        shutil.rmtree(self.dir, ignore_errors=True)
        for name, err in reports:
            if "Sanitizer" in err or "runtime error" in err:
                raise AssertionError("%s: %s" % (name, err[-3000:]))

    # ----- clients -----

    def connect(self, name, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port[name]), timeout)
        s.settimeout(timeout)
        return s

    def ask(self, name, data, timeout=5):
        """Send data, half-close, read until the server closes."""
        if isinstance(data, str):
            data = data.encode()
        s = self.connect(name, timeout)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return read_all(s)
        finally:
            s.close()

    def whatsat(self, name, client, radius=10, n=5):
        return self.ask(name, "WHATSAT %s %s %s\n" % (client, radius, n)).decode()


def read_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def exchange(s, data, timeout=30):
    """Send data while reading (a client that floods the node without
    reading stalls on its own replies), half-close, read until the server
    closes; returns what was read."""
    s.setblocking(False)
    got, sent = [], 0
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            raise AssertionError("exchange timed out")
        if sent < len(data):
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
            if sent == len(data):
                s.shutdown(socket.SHUT_WR)
        try:
            b = s.recv(1 << 20)
            if not b:
                return b"".join(got)
            got.append(b)
        except BlockingIOError:
            time.sleep(0.001)


def read_until(s, marker, timeout=5):
    s.settimeout(timeout)
    buf = b""
    while marker not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


class Tap:
    """TAP output for scripts that check many things in one go:
    tap.ok(cond, what, detail) prints one line (detail as comments when
    it fails) and returns cond; tap.plan() prints the plan and returns the
    exit status."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what), flush=True)
            for line in str(detail).splitlines():
                print("#   " + line, flush=True)
        return cond

    def plan(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def run(tests):
    """Run test functions in order; print TAP; exit non-zero on failure."""
    signal.alarm(280)
    failed = 0
    for i, t in enumerate(tests, 1):
        try:
            t()
            print("ok %d - %s" % (i, t.__name__))
        except Exception as e:  # report and go on
            failed += 1
            print("not ok %d - %s: %r" % (i, t.__name__, e))
            import traceback
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    print("1..%d" % len(tests))
    sys.exit(1 if failed else 0)
