"""herds -- a herd for a test, in a directory of its own, on 127.0.0.1
ports picked free (herdlib.free_ports); everything it starts is stopped by
its stop(), or by cleanup() whatever happened.

  Separate    herd-node processes started one by one, as graders start them
  Supervised  the herd under one herdd, with herdctl against its socket

Both write herd.ini from a mesh (links: each server and the neighbours its
own neighbors line names) with every default of the product, but for what
a test on a shared machine must set: each server's port and peer_port,
picked free, and [places] backend = offline with the data set by its
absolute path (herdlib.DATASET; the backend named, so that a
HERD_PLACES_KEY in the environment changes nothing).  A test that needs
another setting passes it in herd= (lines of [herd]) or places= (the whole
[places] section), and says why.  shipped=True writes etc/herd.ini instead,
as shipped.py says.  After a change to links, port, herd or places,
write() writes the file again.

main() runs a script's tests under herdd: each test(top) with a temporary
directory, cleanup() after each.  Binaries come from HERD_NODE, HERDD and
HERDCTL."""
import json
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

import tap
from herdlib import (DATASET, DEFAULT_LINKS, accepting, cmdline, exchange,
                     free_ports, pid_alive, sanitizer_report, wait_for)
from shipped import Shipped

NODE = os.environ.get("HERD_NODE", "build/node/herd-node")
HERDD = os.environ.get("HERDD", "")
HERDCTL = os.environ.get("HERDCTL", "")
HERE = os.path.dirname(os.path.abspath(__file__))


def offline_places():
    return "backend = offline\ndataset = %s" % DATASET


class Herd:
    """What both kinds share: the directory, the mesh and its ports,
    herd.ini, the servers' logs.  names: the servers, in order."""

    def __init__(self, d, links=None, herd="", places=None, hosts=None,
                 secret=None, more_ports=0, shipped=False):
        """more_ports: ports for the test (self.more), picked with the
        servers' so that none is picked twice.  secret: the herd's secret,
        written to herd.secret (mode 600) and named by secret_file."""
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.conf = os.path.join(d, "herd.ini")
        self.herd = herd
        self.places = offline_places() if places is None else places
        self.hosts = hosts or {}
        self.secret = secret
        self.shipped = shipped
        if secret is not None:
            self.write_keys([secret])
        if shipped:
            s = Shipped(d)
            self.links, self.port, self.peer_port = s.links, s.port, s.peer
            self.http, self.more = s.http, []
            return
        self.links = dict(links or DEFAULT_LINKS)
        n = len(self.links)
        p = free_ports(2 * n + more_ports)
        self.port = {s: p[2 * i] for i, s in enumerate(self.links)}
        self.peer_port = {s: p[2 * i + 1] for i, s in enumerate(self.links)}
        self.more = p[2 * n:]
        self.http = None
        self.write()

    @property
    def names(self):
        return list(self.links)

    def write_keys(self, keys):
        """Write herd.secret (mode 600): keys, one a line, the first the
        one that dials; by a rename, so that a reload reads it whole."""
        path = os.path.join(self.dir, "herd.secret")
        fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(k + "\n" for k in keys))
        os.rename(path + ".new", path)

    def key_names(self):
        """The keyring's public names (herd1:...), in order, as herdd -nv
        prints them ("; key N: NAME")."""
        p = subprocess.run([HERDD, "-nv", "-f", self.conf],
                           capture_output=True, text=True, timeout=30)
        return re.findall(r"; key \d+: (herd1:[0-9a-f]{16})", p.stdout)

    def conf_text(self):
        out = ["[herd]"]
        if self.secret is not None:
            out.append("secret_file = herd.secret")
        out += [self.herd, "", "[places]", self.places, ""]
        for name, nbs in self.links.items():
            out.append("[server %s]" % name)
            if name in self.hosts:
                out.append("host = %s" % self.hosts[name])
            out += ["port = %d" % self.port[name],
                    "peer_port = %d" % self.peer_port[name]]
            if nbs:
                out.append("neighbors = " + " ".join(nbs))
            out.append("")
        return "\n".join(out)

    def write(self, text=None):
        """Write herd.ini: text, or the herd as it now stands (not for a
        shipped herd: etc/herd.ini has more than that)."""
        assert text is not None or not self.shipped, "a shipped herd"
        with open(self.conf, "w") as f:
            f.write(self.conf_text() if text is None else text)

    def neighbours(self, name):
        """Both ways: the servers it names and those that name it."""
        out = set(self.links[name])
        out.update(o for o, nb in self.links.items() if name in nb)
        return out

    def reach(self, origin, live):
        """The servers of live that origin reaches through live links."""
        seen, todo = {origin}, [origin]
        while todo:
            for o in self.neighbours(todo.pop()):
                if o in live and o not in seen:
                    seen.add(o)
                    todo.append(o)
        return seen

    def log_path(self, name):
        return os.path.join(self.dir, "log", name + ".log")

    def log(self, name):
        """name's log, its rotated files first (log_max_size, log_keep:
        NAME.log.2, NAME.log.1, NAME.log), oldest first."""
        path = self.log_path(name)
        parts = []
        for k in range(9, -1, -1):
            try:
                with open(path + (".%d" % k if k else ""), "rb") as f:
                    parts.append(f.read())
            except OSError:
                pass
        return b"".join(parts).decode("utf-8", "replace")

    def read(self, name):
        """A file of the herd's directory as text ("" if there is none)."""
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def set_env(env, changes):
    """env with changes made (a value of None unsets); never HERD_SECRET
    from the test's own environment."""
    env = dict(env)
    env.pop("HERD_SECRET", None)
    for k, v in (changes or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


# -- herd-node processes ------------------------------------------------------

class Separate(Herd):
    """herd-node processes, each started by start(name).  In a temporary
    directory of its own, removed by stop(); or, given top, in top/label."""

    left = []                       # every one made, for cleanup()

    def __init__(self, links=None, places=None, herd="", hosts=None,
                 secret=None, top=None, label="separate", shipped=False):
        self.own_dir = top is None
        d = tempfile.mkdtemp(prefix="herdtest-") if top is None else \
            os.path.join(top, label)
        self.procs = {}
        super().__init__(d, links, herd, places, hosts, secret,
                         shipped=shipped)
        Separate.left.append(self)

    def stderr_path(self, name):
        return os.path.join(self.dir, name + ".stderr")

    def stderr(self, name):
        """What the node wrote on standard error, all its runs."""
        return self.read(name + ".stderr")

    def start(self, name, wait=True, max_fds=None, wrap=(), env=None):
        """Start name (wrap: a command line to run it under; env: changes
        to the environment, see set_env); wait: until it listens."""
        def limit():
            if max_fds is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))
        ready = self.readies(name)
        # stderr to a file: a pipe nobody reads would block the node
        with open(self.stderr_path(name), "ab") as err:
            p = subprocess.Popen(list(wrap) + [NODE, "-f", self.conf, name],
                                 stdout=subprocess.DEVNULL, stderr=err,
                                 preexec_fn=limit,
                                 env=set_env(os.environ, env))
        self.procs[name] = p
        if wait:
            # listening, and its start-up written out: the node listens
            # before it says "ready" and flushes its log
            assert wait_for(lambda: (self.accepting(name) and
                                     self.readies(name) >= min(
                                         ready + 1, 1 << 30)) or
                            p.poll() is not None, 10, 0.02), \
                "timed out waiting for %s to listen" % name
            if p.poll() is not None:
                raise AssertionError("%s exited %s: %s" % (
                    name, p.returncode, self.stderr(name)))
        return p

    def readies(self, name):
        """How many times name has said "ready" (log file or stderr); 1
        always at a log level that does not say it."""
        if re.search(r"log_level\s*=\s*(warning|error)", self.herd or ""):
            return 1 << 30
        return (self.log(name) + self.stderr(name)).count(": ready\n")

    def start_all(self):
        ready = {name: self.readies(name) for name in self.names}
        for name in self.names:
            self.start(name, wait=False)
        for name in self.names:
            assert wait_for(lambda: self.accepting(name) and
                            self.readies(name) >= min(ready[name] + 1,
                                                      1 << 30), 10, 0.02), \
                "timed out waiting for %s to listen" % name

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
        """Stop every node (TERM, then KILL), remove the directory if it is
        the herd's own, and fail if a node reported a sanitizer error."""
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        reports = [(n, sanitizer_report(self.stderr(n))) for n in self.procs]
        self.procs = {}
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        for name, report in reports:
            if report:
                raise AssertionError("%s: %s" % (name, report))

    # ----- clients -----

    def connect(self, name, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port[name]), timeout)
        s.settimeout(timeout)
        return s

    def ask(self, name, data, timeout=5):
        """herdlib.exchange on a new connection to name: the bytes."""
        if isinstance(data, str):
            data = data.encode()
        with self.connect(name, timeout) as s:
            return exchange(s, data, timeout)

    def whatsat(self, name, client, radius=10, n=5):
        return self.ask(name, "WHATSAT %s %s %s\n" % (client, radius, n)
                        ).decode()

    def known(self, name, client, radius=1, n=1, timeout=5):
        """name's reply to WHATSAT once it knows client (AT ...), or None
        past timeout."""
        return wait_for(lambda: (lambda r: r if r.startswith("AT") else None)(
            self.whatsat(name, client, radius, n)), timeout, 0.02)


def start_fakeplaces():
    """Start tests/integration/fakeplaces.py: (process, port).  Kill it
    when done."""
    path = os.path.join(os.path.dirname(HERE), "integration", "fakeplaces.py")
    p = subprocess.Popen([sys.executable, path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    return p, int(p.stdout.readline())


def google_places(port, key):
    """A [places] section: the legacy backend at fakeplaces."""
    return "backend = google\nkey = %s\nurl = http://127.0.0.1:%d/x\n" % (
        key, port)


# -- a herd under herdd -------------------------------------------------------

class Supervised(Herd):
    """The herd under one herdd, in top/label.  proc: herdd's process (its
    returncode stays readable after stop())."""

    left = []                       # every one made, for cleanup()

    def __init__(self, top, label, links=None, herd="", places=None,
                 hosts=None, more_ports=0, shipped=False, secret=None):
        self.label = label
        self.proc = None
        self.pids = set()           # every worker seen in a status
        self.told = False           # its sanitizer report was told
        super().__init__(os.path.join(top, label), links, herd, places,
                         hosts, secret, more_ports=more_ports,
                         shipped=shipped)
        Supervised.left.append(self)

    @property
    def sock(self):
        """The control socket: [herd] control in herd=, or the default."""
        named = re.findall(r"^\s*control\s*=\s*(\S+)", self.herd, re.M)
        return os.path.join(self.dir, named[-1] if named else "herd.sock")

    def start(self, env=None, wrap=()):
        """Start herdd (wrap: a command line to run it under; env: changes
        to the environment, see set_env); its process."""
        e = set_env(dict(os.environ, HERD_NODE=NODE), env)
        with open(os.path.join(self.dir, "herdd.stderr"), "a") as err:
            self.proc = subprocess.Popen(list(wrap) + [HERDD, "-f", self.conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, env=e)
        return self.proc

    def up(self, timeout=15, env=None):
        """start(), then wait_running()."""
        self.start(env)
        return self.wait_running(timeout)

    def ctl(self, *args, json_out=True, timeout=60):
        """herdctl -s SOCKET [-j] ARGS: (exit status, stdout, stderr)."""
        argv = [HERDCTL, "-s", self.sock] + (["-j"] if json_out else []) + \
            list(args)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def status(self):
        """{name: node} from herdctl -j status, or None."""
        try:
            rc, out, _ = self.ctl("status", timeout=10)
            if rc != 0:
                return None
            nodes = {n["name"]: n for n in json.loads(out)["nodes"]}
        except (OSError, subprocess.SubprocessError, ValueError, KeyError,
                TypeError):
            return None
        self.pids.update(n["pid"] for n in nodes.values() if n.get("pid"))
        return nodes

    def node(self, name):
        return (self.status() or {}).get(name)

    def all_running(self):
        """The status when every server runs, else None."""
        st = self.status()
        if st and len(st) == len(self.links) and all(
                n["state"] == "running" and n.get("pid")
                for n in st.values()):
            return st
        return None

    def wait_running(self, timeout=15):
        """Seconds until every worker is running and accepting, or None."""
        t0 = time.monotonic()
        st = wait_for(lambda: self.all_running() and all(
            accepting(self.port[n]) for n in self.names), timeout)
        return time.monotonic() - t0 if st else None

    def wait_state(self, name, state, timeout=10.0, pred=None):
        """name's status once it is in state (and pred(it)), or None."""
        def check():
            n = self.node(name)
            if n and n["state"] == state and (pred is None or pred(n)):
                return n
            return None
        return wait_for(check, timeout)

    def worker_pids(self):
        return [n["pid"] for n in (self.status() or {}).values()
                if n.get("pid")]

    def log(self, name="herdd"):
        return super().log(name)

    def stderr(self):
        """What herdd and its workers wrote on standard error, all runs."""
        return self.read("herdd.stderr")

    def tail(self, n=15):
        """The end of herdd's log and stderr, for a failure's details."""
        return "\n".join(self.log().splitlines()[-n:] +
                         self.stderr().splitlines()[-n:])

    def stop(self):
        """SIGTERM to herdd (KILL after 20 s), SIGKILL to any worker of this
        herd left; fail, once, if herdd or a worker (they share herdd's
        stderr) reported a sanitizer error."""
        if self.proc is not None and self.proc.poll() is None:
            self.status()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.pids:
            # only a worker of this herd (its command line names CONF)
            if pid_alive(pid) and self.conf in cmdline(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        report = sanitizer_report(self.stderr())
        if report and not self.told:
            self.told = True
            raise AssertionError("%s: %s" % (self.label, report))


def cleanup():
    """Stop every herd left, whatever happened: one "not ok" line for each
    sanitizer report not told yet."""
    for h in Supervised.left + Separate.left:
        try:
            h.stop()
        except AssertionError as e:
            tap.ok(False, "no sanitizer report", str(e))
        except OSError:
            pass
    Supervised.left.clear()
    Separate.left.clear()


def missing():
    """The first of HERDD, HERDCTL and HERD_NODE not given, or None."""
    for var, path in (("HERDD", HERDD), ("HERDCTL", HERDCTL),
                      ("HERD_NODE", NODE)):
        if not path or not os.access(path, os.X_OK):
            return var
    return None


def main(tests, prefix, limit=280, after=None):
    """Run the tests named on the command line (their names without
    test_; default all), each test(top) with one temporary directory, in
    limit seconds in all; after() (when given) and cleanup() after each.
    The directory is removed, or kept when something failed and HERD_KEEP
    is set.  The exit status: 77 (skip) when a binary is missing."""
    var = missing()
    if var is not None:
        print("1..0 # SKIP %s not set or not executable" % var)
        return 77
    by_name = {re.sub(r"^test_", "", t.__name__): t for t in tests}
    chosen = sys.argv[1:] or list(by_name)
    if any(n not in by_name for n in chosen):
        print("usage: %s [%s ...]" % (os.path.basename(sys.argv[0]),
                                      "|".join(by_name)), file=sys.stderr)
        return 64
    top = tempfile.mkdtemp(prefix=prefix)

    def each():
        if after is not None:
            after()
        cleanup()
    start = time.monotonic()
    try:
        return tap.run([t for n, t in by_name.items() if n in chosen], top,
                       limit=limit, after=each)
    finally:
        each()
        print("# all took %.1f s" % (time.monotonic() - start), flush=True)
        if tap.TAP.failed and os.environ.get("HERD_KEEP"):
            print("# kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
