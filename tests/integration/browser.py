"""browser -- drive a headless Chromium over the DevTools protocol.

A Browser starts Chromium with --remote-debugging-pipe: the protocol's
JSON messages, each ended by a NUL byte, go in on the browser's fd 3 and
come out on its fd 4.  No websocket, no network port, stdlib only.

    with Browser() as b:
        b.open("http://127.0.0.1:%d/" % port)
        b.wait_for("document.querySelectorAll('tr.server').length", 5)
        b.screenshot("/tmp/page.png")

Every wait is bounded by a timeout.  Chromium runs in its own session
(process group), with a fresh temporary --user-data-dir that also holds
its stderr (chromium.log, whose tail is in the errors); close() -- also
run by __exit__, by a failing __init__ and at interpreter exit -- kills
the whole group and removes the directory.  If the Python process dies
without closing, Chromium sees its pipe close and exits by itself.
"""
import atexit
import base64
import collections
import fcntl
import json
import math
import os
import select
import shutil
import signal
import tempfile
import time

__all__ = ["Browser", "BrowserError", "BrowserMissing", "JSError",
           "find_chromium"]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--remote-debugging-pipe",
    # Not asked for, harmless: no keyring over D-Bus, no sound.
    "--password-store=basic", "--mute-audio",
]
WINDOW = "--window-size=1200,800"


class BrowserError(Exception):
    """Chromium failed: did not start, died, answered with an error."""


class BrowserMissing(BrowserError):
    """No Chromium on this machine (skip the test)."""


class JSError(BrowserError):
    """The evaluated JavaScript threw (or its promise rejected)."""


def find_chromium():
    """Chromium's path: $CHROMIUM if set, else chromium or
    chromium-browser on $PATH; None if there is none."""
    env = os.environ.get("CHROMIUM")
    if env:
        path = shutil.which(env)
        return os.path.abspath(path) if path else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return os.path.abspath(path)
    return None


_live = set()


@atexit.register
def _close_all():
    for b in list(_live):
        b.close()


def _high_fd(fd):
    """A close-on-exec copy of fd numbered 10 or more (so the dup2s onto
    3 and 4 in the child cannot overwrite one another); closes fd."""
    try:
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    finally:
        os.close(fd)


def _truthy(v):
    """JavaScript's truthiness of a returned value."""
    if isinstance(v, float) and math.isnan(v):
        return False
    if isinstance(v, (list, dict)):
        return True
    return bool(v)


class Browser:
    def __init__(self, timeout=20):
        """Start Chromium on about:blank and attach to its page.
        timeout bounds the start and each later command."""
        self.timeout = timeout
        self.pid = None
        self.dir = self.log = None
        self._to = self._from = None
        self._buf = b""
        self._id = 0
        self._events = collections.deque(maxlen=1000)
        self._session = None
        exe = find_chromium()
        if exe is None:
            raise BrowserMissing("chromium not found (set $CHROMIUM)")
        _live.add(self)
        try:
            self._start(exe)
            self._attach()
        except BaseException:
            self.close()
            raise

    # -- process --

    def _start(self, exe):
        self.dir = tempfile.mkdtemp(prefix="herd-chromium-")
        self.log = os.path.join(self.dir, "chromium.log")
        profile = os.path.join(self.dir, "profile")
        os.mkdir(profile)
        cmd_r, cmd_w = os.pipe()     # we write commands, chromium reads fd 3
        out_r, out_w = os.pipe()     # chromium writes fd 4, we read
        cmd_r, cmd_w = _high_fd(cmd_r), _high_fd(cmd_w)
        out_r, out_w = _high_fd(out_r), _high_fd(out_w)
        self._to, self._from = cmd_w, out_r
        argv = [exe] + FLAGS + ["--user-data-dir=" + profile, WINDOW,
                                "about:blank"]
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, self.log,
             os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
            (os.POSIX_SPAWN_DUP2, cmd_r, 3),
            (os.POSIX_SPAWN_DUP2, out_w, 4),
        ]
        try:
            # setsid: its own process group, killed as a whole by close();
            # signals Python ignores (SIGPIPE) back to their defaults.
            self.pid = os.posix_spawn(
                exe, argv, self._env(), file_actions=actions, setsid=True,
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        finally:
            os.close(cmd_r)
            os.close(out_w)

    def _env(self):
        """The environment, with a HOME of its own in the temporary
        directory: Chromium writes its crash database (~/.config), dconf
        and NSS files (~/.cache, ~/.pki) there, not in the real home."""
        env = dict(os.environ)
        home = os.path.join(self.dir, "home")
        os.mkdir(home)
        env["HOME"] = home
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            env.pop(var, None)
        return env

    def _stragglers(self):
        """Pids of processes still running with our temporary directory
        on their command line: the crash handlers, which put themselves
        in a session of their own (they exit when Chromium does)."""
        pids = []
        tag = self.dir.encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if tag in f.read():
                        pids.append(int(name))
            except OSError:
                pass
        return pids

    def _exited(self):
        """Chromium's main process has exited (not reaped: its pid, and so
        its process group id, stay reserved until close() reaps it)."""
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG
                             | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _tail(self, n=2000):
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n))
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def _fail(self, msg):
        tail = self._tail()
        return BrowserError("%s\n--- chromium.log (tail) ---\n%s" % (
            msg, tail) if tail else msg)

    def close(self):
        """Kill Chromium (its whole process group) and remove its
        temporary directory.  Safe to call more than once."""
        _live.discard(self)
        if self.pid is not None:
            if self._to is not None and not self._exited():
                try:  # ask nicely first, briefly
                    self._send("Browser.close", {}, session=False)
                    deadline = time.monotonic() + 2
                    while not self._exited() and time.monotonic() < deadline:
                        time.sleep(0.05)
                except (OSError, BrowserError):
                    pass
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None
        if self.dir is not None:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                pids = self._stragglers()
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                time.sleep(0.05)
        for fd in (self._to, self._from):
            if fd is not None:
                os.close(fd)
        self._to = self._from = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- protocol --

    def _send(self, method, params, session=True):
        if self._to is None:
            raise BrowserError("browser is closed")
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session and self._session:
            msg["sessionId"] = self._session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            try:
                n = os.write(self._to, data)
            except BrokenPipeError:
                raise self._fail("chromium closed its pipe (died?)") from None
            data = data[n:]
        return self._id

    def _read(self, deadline):
        """The next message, or None when the deadline has passed."""
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self._from], [], [], left)
            if not r:
                return None
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                raise self._fail("chromium closed its pipe (died?)")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def _call(self, method, params=None, session=True, timeout=None):
        """Send a command, wait for its answer, keep events for later."""
        timeout = self.timeout if timeout is None else timeout
        id = self._send(method, params or {}, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read(deadline)
            if msg is None:
                raise TimeoutError("%s: no answer from chromium in %g s" % (
                    method, timeout))
            if msg.get("id") == id:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _event(self, method, deadline):
        """Wait for an event from our page session; None on timeout."""
        while True:
            for ev in self._events:
                if ev["method"] == method and \
                        ev.get("sessionId") == self._session:
                    self._events.remove(ev)
                    return ev
            msg = self._read(deadline)
            if msg is None:
                return None
            if "method" in msg:
                self._events.append(msg)

    def _attach(self):
        deadline = time.monotonic() + self.timeout
        target = None
        while target is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail("no page target in chromium after %g s" %
                                 self.timeout)
            infos = self._call("Target.getTargets", session=False,
                               timeout=left)["targetInfos"]
            pages = [t for t in infos if t["type"] == "page"]
            if pages:
                target = pages[0]["targetId"]
            else:
                time.sleep(0.05)
        self._session = self._call("Target.attachToTarget", {
            "targetId": target, "flatten": True}, session=False)["sessionId"]
        self._call("Page.enable")

    # -- the API --

    def open(self, url, timeout=None):
        """Navigate the page to url and wait for its load event."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._events.clear()
        r = self._call("Page.navigate", {"url": url}, timeout=timeout)
        if r.get("errorText"):
            raise BrowserError("open %s: %s" % (url, r["errorText"]))
        if self._event("Page.loadEventFired", deadline) is None:
            raise TimeoutError("open %s: not loaded in %g s" % (url, timeout))

    def eval(self, expression, timeout=None):
        """The value of a JavaScript expression in the page (a promise is
        awaited), as JSON gives it: undefined is None.  Raises JSError if
        it throws."""
        r = self._call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True,
            "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            exc = d.get("exception") or {}
            raise JSError(exc.get("description") or d.get("text")
                          or "exception")
        res = r.get("result", {})
        if "unserializableValue" in res:
            u = res["unserializableValue"]
            return int(u[:-1]) if u.endswith("n") else float(u)
        return res.get("value")

    def wait_for(self, expression, timeout):
        """Evaluate expression every 0.1 s until it is truthy, and return
        that value.  A JSError counts as not yet (the page may not have
        rendered).  TimeoutError, with the last value or error, after
        timeout seconds."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            left = deadline - time.monotonic()
            try:
                last = self.eval(expression, timeout=max(left, 0) + 2)
                if _truthy(last):
                    return last
            except JSError as e:
                last = e
            if time.monotonic() >= deadline:
                raise TimeoutError("%s: still %r after %g s" % (
                    expression, last, timeout))
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def screenshot(self, path, full_page=False):
        """A PNG of the viewport (1200x800), or of the whole page."""
        params = {"format": "png"}
        if full_page:
            m = self._call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": size["height"], "scale": 1}
        data = self._call("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
