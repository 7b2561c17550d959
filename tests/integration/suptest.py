"""suptest -- a herd under one herdd, for the tests of the supervisor's
behaviour (test_ops, test_observe): its own directory, 127.0.0.1 ports
picked by binding port 0, herdctl against its socket, and one request on
its own connection (ask).  Binaries come from HERDD, HERDCTL, HERD_NODE;
the data set from HERD_DATASET."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import traceback

from herdlib import free_ports, wait_for
from herdtest import pid_alive

HERDD = os.environ.get("HERDD", "")
HERDCTL = os.environ.get("HERDCTL", "")
HERD_NODE = os.environ.get("HERD_NODE", "")
DATASET = os.path.abspath(os.environ.get("HERD_DATASET", "data/cities.dat"))

class Herd:
    """A herd under one herdd, in its own directory."""
    procs = []

    def __init__(self, top, label, links, extra="", places="timeout_ms = 1000",
                 more_ports=0):
        """more_ports: ports for the caller (self.more), picked with the
        servers' so that none is picked twice."""
        self.dir = os.path.join(top, label)
        os.makedirs(self.dir)
        self.links = links
        p = free_ports(2 * len(links) + more_ports)
        self.more = p[2 * len(links):]
        self.port = {n: p[2 * i] for i, n in enumerate(links)}
        self.peer = {n: p[2 * i + 1] for i, n in enumerate(links)}
        self.conf = os.path.join(self.dir, "herd.ini")
        self.sock = os.path.join(self.dir, "herd.sock")
        self.extra = extra
        self.write(places)
        self.proc = None

    def write(self, places):
        out = ["[herd]", "log_dir = log", "control = herd.sock",
               "restart_delay_ms = 50", "restart_max_ms = 400",
               "stop_timeout_ms = 2000", self.extra, "",
               "[places]", "backend = offline", "dataset = %s" % DATASET,
               places, ""]
        for n, nb in self.links.items():
            out += ["[server %s]" % n, "host = 127.0.0.1",
                    "port = %d" % self.port[n],
                    "peer_port = %d" % self.peer[n]]
            if nb:
                out.append("neighbors = " + " ".join(nb))
            out.append("")
        with open(self.conf, "w") as f:
            f.write("\n".join(out))

    def start(self, env=None):
        e = dict(os.environ, HERD_NODE=HERD_NODE)
        e.update(env or {})
        self.err = open(os.path.join(self.dir, "herdd.stderr"), "w")
        self.proc = subprocess.Popen([HERDD, "-f", self.conf], env=e,
                                     stdout=self.err, stderr=self.err)
        Herd.procs.append(self.proc)
        return wait_for(lambda: self.status() and all(
            n["state"] == "running" for n in self.status().values()), 15)

    def ctl(self, *args, json_out=True, timeout=60):
        argv = [HERDCTL, "-s", self.sock] + (["-j"] if json_out else []) + \
            list(args)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def status(self):
        rc, out, _ = self.ctl("status")
        if rc != 0:
            return None
        return {n["name"]: n for n in json.loads(out)["nodes"]}

    def node(self, name):
        st = self.status() or {}
        return st.get(name)

    def log(self, name="herdd"):
        try:
            with open(os.path.join(self.dir, "log", name + ".log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        st = self.status() or {}
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for n in st.values():
            if n.get("pid") and pid_alive(n["pid"]):
                os.kill(n["pid"], signal.SIGKILL)
        self.err.close()
        self.proc = None


def ask(port, line, timeout=5):
    """One request on its own connection: the reply's first line, or None
    when the server could not be reached or closed without answering."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.sendall(line.encode())
            buf = b""
            while b"\n" not in buf:
                d = s.recv(65536)
                if not d:
                    return None
                buf += d
            if line.startswith("WHATSAT") and buf.startswith(b"AT "):
                while not buf.endswith(b"\n\n"):
                    d = s.recv(65536)
                    if not d:
                        break
                    buf += d
            return buf.decode(errors="replace")
    except OSError:
        return None


def run(prefix, tests, tap):
    """Run each test(top) in one temporary directory, a failure of one
    not stopping the others; kill every herdd left, remove the directory,
    print the plan.  The exit status: 77 when a binary is missing."""
    for b in (HERDD, HERDCTL, HERD_NODE):
        if not b or not os.access(b, os.X_OK):
            print("1..0 # SKIP binaries not given")
            return 77
    top = tempfile.mkdtemp(prefix=prefix)
    try:
        for t in tests:
            try:
                t(top)
            except Exception as e:      # a failure, not a crash of the suite
                tap.ok(False, "%s: %r" % (t.__name__, e),
                       traceback.format_exc())
    finally:
        for p in Herd.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(top, ignore_errors=True)
    tap.plan()
    return 0 if tap.failed == 0 else 1
