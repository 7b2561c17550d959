#!/usr/bin/env python3
"""test_observe.py -- seeing the herd: counters, metrics, top, the HTTP
endpoint and its status page, on the five-server herd under herdd:

  counts     after known traffic the counters move by exactly that much:
             ten IAMATs (ten clients) to Hands, a WHATSAT, a bad line and
             an over-long one; Welsh stores the ten from a neighbour and
             Holiday sends Welsh exactly ten UPDATEs; the links up match
             the topology; a SIGKILLed worker raises herd_restarts_total
             and its counters go on from where they were
  exposition herdctl metrics and GET /metrics agree and promtool check
             metrics accepts them; /status.json is herdctl -j status; HEAD,
             404, 405 with Allow; herdctl top shows rates and p99
  badinput   a slow client, a 100 KiB header, 1,000 connections and a
             POST: herdd goes on answering herdctl and restarting workers,
             and /metrics answers afterwards
  reload     a reload moves the endpoint to a new port; a port taken at
             start stops herdd (exit 1) with the reason
  browser    headless Chromium loads the page: five servers, six links up;
             a worker killed (and kept down) turns its node and links down
             within 3 s, without a reload of the page; a screenshot is kept
             in HERD_ARTIFACTS

TAP; exit 77 when a binary is missing.  promtool and Chromium are
installed by tools/bootstrap; without them those checks skip, saying
so."""

import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

import herds
from herdlib import DEFAULT_LINKS, ask, free_ports, wait_for
from herds import HERDCTL, HERDD, NODE, Supervised
from tap import TAP, ok
PAIRS = {("Goloman", "Hands"), ("Goloman", "Holiday"), ("Goloman", "Wilkes"),
         ("Hands", "Wilkes"), ("Holiday", "Welsh"), ("Holiday", "Wilkes")}
ARTIFACTS = os.environ.get("HERD_ARTIFACTS", "")
SAMPLE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def val(mx, name, **labels):
    return mx.get((name, frozenset(labels.items())))


def get(port, path, method="GET", headers=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


class ObsHerd(Supervised):
    """The five-server herd with its HTTP endpoint on a free port, and a
    state_dir (the journal's metrics)."""

    def __init__(self, top, label, herd=""):
        super().__init__(top, label, more_ports=1)
        self.http = self.more[0]
        self.herd = "state_dir = state\nhttp = 127.0.0.1:%d\n%s" % (
            self.http, herd)
        self.write()

    def metrics(self):
        st, _, body = get(self.http, "/metrics")
        assert st == 200
        return parse_metrics(body.decode())

    def links_all_up(self):
        st = self.status() or {}
        return all(len(n.get("links") or []) == len(
            [p for p in PAIRS if n["name"] in p]) for n in st.values())


def restarted(h, name, old):
    """Running with a new process (one status: a state and pid together)."""
    n = h.node(name) or {}
    return n.get("state") == "running" and n.get("pid") not in (None, old)


def settle(h, name, value, timeout=5.0, **labels):
    """Wait until the metric is value (the counters travel at most every
    100 ms); the last metrics."""
    last = {}

    def reached():
        last["mx"] = h.metrics()
        return val(last["mx"], name, **labels) == value
    wait_for(reached, timeout)
    return last["mx"]


# -- counts -----------------------------------------------------------------

def test_counts(h):
    ok(wait_for(h.links_all_up, 10), "counts: every link up")
    mx = h.metrics()
    for a, b in PAIRS:
        ok(val(mx, "herd_link_up", server=a, neighbor=b) == 1 and
           val(mx, "herd_link_up", server=b, neighbor=a) == 1,
           "counts: herd_link_up %s-%s is 1 both ways" % (a, b))
    ok(len([k for k in mx if k[0] == "herd_link_up"]) == 2 * len(PAIRS),
       "counts: one herd_link_up per configured link and direction")
    for n in DEFAULT_LINKS:
        want = len([p for p in PAIRS if n in p])
        ok(val(mx, "herd_links_up", server=n) == want and
           val(mx, "herd_worker_up", server=n) == 1,
           "counts: %s has %d links up and its worker up" % (n, want))

    base = h.metrics()
    lines = "".join("IAMAT obs-%d +34.068930-118.445127 1700000000.%d\n"
                    % (i, i) for i in range(10))
    with socket.create_connection(("127.0.0.1", h.port["Hands"]), 5) as s:
        s.sendall(lines.encode())
        buf = b""
        while buf.count(b"\n") < 10:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    ok(buf.count(b"AT Hands ") == 10, "counts: ten ATs from Hands")

    def moved(mx, name, **labels):
        return (val(mx, name, **labels) or 0) - (val(base, name, **labels) or 0)
    want = (val(base, "herd_updates_total", server="Welsh", source="peer")
            or 0) + 10
    mx = settle(h, "herd_updates_total", want, server="Welsh", source="peer")
    time.sleep(0.5)             # anything more would show by now
    mx = h.metrics()
    ok(moved(mx, "herd_commands_total", server="Hands", verb="IAMAT") == 10,
       "counts: herd_commands_total{Hands,IAMAT} +10",
       str(moved(mx, "herd_commands_total", server="Hands", verb="IAMAT")))
    ok(moved(mx, "herd_updates_total", server="Hands", source="client") == 10,
       "counts: herd_updates_total{Hands,client} +10")
    ok(moved(mx, "herd_updates_total", server="Welsh", source="peer") == 10,
       "counts: herd_updates_total{Welsh,peer} +10",
       str(moved(mx, "herd_updates_total", server="Welsh", source="peer")))
    for n in ("Goloman", "Holiday", "Wilkes"):
        ok(moved(mx, "herd_updates_total", server=n, source="peer") == 10,
           "counts: %s stored the ten from a neighbour" % n)
    ok(moved(mx, "herd_flood_messages_total", server="Holiday",
             neighbor="Welsh") == 10,
       "counts: Holiday sent Welsh exactly ten UPDATEs",
       str(moved(mx, "herd_flood_messages_total", server="Holiday",
                 neighbor="Welsh")))
    ok(moved(mx, "herd_flood_messages_total", server="Welsh",
             neighbor="Holiday") == 0,
       "counts: Welsh sent nothing back to Holiday (it came from there)")
    ok(moved(mx, "herd_commands_total", server="Hands", verb="WHATSAT") == 0
       and moved(mx, "herd_commands_total", server="Hands",
                 verb="invalid") == 0,
       "counts: no WHATSAT or invalid line yet")

    base = mx
    r = ask(h.port["Hands"], "WHATSAT obs-3 10 2\n")
    ok(r is not None and r.startswith("AT Hands "), "counts: a WHATSAT")
    r = ask(h.port["Hands"], "HELLO there\n")
    ok(r == "? HELLO there\n", "counts: a bad line", repr(r))
    r = ask(h.port["Hands"], "X" * 300000 + "\n", timeout=10)
    ok(r is not None and r.startswith("? XXX"), "counts: an over-long line")
    mx = settle(h, "herd_commands_total",
                (val(base, "herd_commands_total", server="Hands",
                     verb="invalid") or 0) + 2, server="Hands", verb="invalid")
    ok(moved(mx, "herd_commands_total", server="Hands", verb="WHATSAT") == 1,
       "counts: herd_commands_total{Hands,WHATSAT} +1")
    ok(moved(mx, "herd_commands_total", server="Hands", verb="invalid") == 2,
       "counts: herd_commands_total{Hands,invalid} +2 (bad, over-long)")
    ok(moved(mx, "herd_places_requests_total", server="Hands",
             backend="offline", status="ok") == 1 and
       moved(mx, "herd_places_seconds_count", server="Hands") == 1 and
       moved(mx, "herd_places_seconds_bucket", server="Hands",
             le="+Inf") == 1,
       "counts: one offline Places lookup, ok, in the histogram")
    ok(moved(mx, "herd_commands_total", server="Welsh", verb="WHATSAT") == 0,
       "counts: other servers' WHATSAT counts did not move")

    # a SIGKILL: one restart more, and the counters go on
    st = h.node("Hands")
    restarts = val(mx, "herd_restarts_total", server="Hands")
    iamat = val(mx, "herd_commands_total", server="Hands", verb="IAMAT")
    os.kill(st["pid"], signal.SIGKILL)
    ok(wait_for(lambda: restarted(h, "Hands", st["pid"]), 10),
       "counts: Hands restarted after SIGKILL")
    mx = settle(h, "herd_restarts_total", restarts + 1, server="Hands")
    ok(val(mx, "herd_restarts_total", server="Hands") == restarts + 1,
       "counts: herd_restarts_total{Hands} +1")
    r = ask(h.port["Hands"], "IAMAT obs-after +34.068930-118.445127 "
            "1700000100.0\n")
    ok(r is not None and r.startswith("AT Hands "),
       "counts: the restarted Hands answers", repr(r))
    mx = settle(h, "herd_commands_total", iamat + 1, server="Hands",
                verb="IAMAT")
    ok(val(mx, "herd_commands_total", server="Hands", verb="IAMAT") ==
       iamat + 1, "counts: IAMAT counted on from %d across the restart"
       % iamat, str(val(mx, "herd_commands_total", server="Hands",
                        verb="IAMAT")))

    # a stopped server is caught up when it starts: exactly what it missed
    base = h.metrics()
    ok(h.ctl("stop", "Welsh")[0] == 0, "counts: Welsh stopped")
    for i in range(5):
        ask(h.port["Hands"], "IAMAT missed-%d +34.0-118.0 1700000300.0\n" % i)
    ok(h.ctl("start", "Welsh")[0] == 0, "counts: Welsh started")
    last = {}

    def caught_up():
        last["mx"] = h.metrics()
        return moved(last["mx"], "herd_catchup_records_received_total",
                     server="Welsh") >= 5 and moved(
            last["mx"], "herd_catchup_records_sent_total",
            server="Holiday") >= 5
    wait_for(caught_up, 5)
    time.sleep(0.3)
    mx = h.metrics()
    ok(moved(mx, "herd_catchup_records_received_total", server="Welsh") == 5
       and moved(mx, "herd_catchup_records_sent_total",
                 server="Holiday") == 5,
       "counts: Holiday sent Welsh the 5 updates it missed in a catch-up",
       "%s %s" % (moved(mx, "herd_catchup_records_received_total",
                        server="Welsh"),
                  moved(mx, "herd_catchup_records_sent_total",
                        server="Holiday")))


# -- exposition -------------------------------------------------------------

def test_exposition(h):
    st, hdr, body = get(h.http, "/metrics")
    ok(st == 200 and hdr.get("Content-Type") ==
       "text/plain; version=0.0.4; charset=utf-8",
       "exposition: /metrics is text/plain; version=0.0.4", str(hdr))
    text = body.decode()
    promtool = shutil.which("promtool")
    if promtool is None:
        ok(True, "exposition: promtool check metrics # SKIP promtool not "
           "installed (Debian's prometheus package)")
    else:
        r = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        ok(r.returncode == 0 and r.stdout.strip() == "" and
           r.stderr.strip() == "", "exposition: promtool check metrics "
           "accepts /metrics", r.stdout + r.stderr)
    rc, out, err = h.ctl("metrics", json_out=False)
    a, b = parse_metrics(out), parse_metrics(text)
    ok(rc == 0 and set(a) == set(b), "exposition: herdctl metrics has the "
       "same series as /metrics", err)
    for fam in ("herd_commands_total", "herd_updates_total",
                "herd_updates_stale_total", "herd_flood_messages_total",
                "herd_link_up", "herd_links_up", "herd_clients",
                "herd_connections", "herd_places_requests_total",
                "herd_places_seconds_bucket", "herd_restarts_total",
                "herd_worker_up", "herd_journal_bytes",
                "herd_catchup_records_sent_total",
                "herd_catchup_records_received_total"):
        ok(any(k[0] == fam for k in b), "exposition: %s is there" % fam)

    st, hdr, body = get(h.http, "/status.json")
    rc, out, _ = h.ctl("status")
    mine, theirs = json.loads(body), json.loads(out)
    ok(st == 200 and hdr.get("Content-Type") == "application/json" and
       [n["name"] for n in mine["nodes"]] ==
       [n["name"] for n in theirs["nodes"]] and
       set(mine["nodes"][0]) == set(theirs["nodes"][0]),
       "exposition: /status.json is herdctl -j status")
    st, hdr, body = get(h.http, "/", method="HEAD")
    ok(st == 200 and body == b"" and hdr.get("Content-Type", "").startswith(
        "text/html") and int(hdr.get("Content-Length", "0")) > 1000,
       "exposition: HEAD / has the page's headers and no body", str(hdr))
    st, _, body = get(h.http, "/")
    ok(st == 200 and b'id="mesh"' in body, "exposition: GET / is the page")
    st, _, _ = get(h.http, "/nothing/here")
    ok(st == 404, "exposition: another path is 404")
    for m in ("POST", "PUT", "DELETE"):
        st, hdr, _ = get(h.http, "/metrics", method=m)
        ok(st == 405 and hdr.get("Allow") == "GET, HEAD",
           "exposition: %s is 405 with Allow: GET, HEAD" % m, str(st))

    # top: two frames of rates while a client writes to Hands
    stop = time.monotonic() + 3.5
    proc = subprocess.Popen([HERDCTL, "-s", h.sock, "top", "-n", "2", "-d",
                             "1"], stdout=subprocess.PIPE, text=True)
    i = 0
    while time.monotonic() < stop and proc.poll() is None:
        ask(h.port["Hands"], "IAMAT top-%d +34.0-118.0 %d.0\n"
            % (i % 50, 1700000200 + i))
        if i % 10 == 0:
            ask(h.port["Hands"], "WHATSAT top-0 10 1\n")
        i += 1
    out, _ = proc.communicate(timeout=10)
    frames = [f for f in out.split("herd: ") if f.strip()]
    rows = [ln.split() for ln in out.splitlines()
            if ln.startswith("Hands ")]
    ok(proc.returncode == 0 and len(frames) == 2 and len(rows) == 2,
       "top: -n 2 prints two frames", out)
    ok(rows and rows[-1][1] == "running" and int(rows[-1][4]) > 0 and
       int(rows[-1][5]) > 0 and rows[-1][6] == "2/2" and
       rows[-1][7].endswith("ms"),
       "top: Hands running, commands/s and updates/s above 0, links 2/2, "
       "a Places p99", out)
    ok(all(r[4] == "0" for r in [ln.split() for ln in out.splitlines()
                                 if ln.startswith("Welsh ")]),
       "top: Welsh took no commands")
    r = subprocess.run([HERDCTL, "-s", h.sock, "top", "-n", "0"],
                       capture_output=True, text=True, timeout=10)
    ok(r.returncode == 64 and "-n 0" in r.stderr, "top: a bad -n is refused",
       r.stderr)


# -- badinput ---------------------------------------------------------------

def test_badinput(h):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 and hard >= 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    st, hdr, _ = get(h.http, "/metrics", method="POST",
                     headers={"Content-Length": "5"})
    ok(st == 405 and hdr.get("Allow") == "GET, HEAD",
       "badinput: POST is 405")
    held = []
    slow = socket.create_connection(("127.0.0.1", h.http), 5)
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")   # and no more
    held.append(slow)

    big = socket.create_connection(("127.0.0.1", h.http), 5)
    big.settimeout(5)
    try:
        big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                    b"a" * (100 * 1024) + b"\r\n\r\n")
    except OSError:
        pass                    # closed on us mid-send: refused too
    try:
        reply = big.recv(4096)
    except OSError:
        reply = b""
    big.close()
    ok(reply == b"" or reply.split(b" ")[1] in (b"413", b"414", b"431"),
       "badinput: a 100 KiB header is refused", reply[:80])

    opened = 0
    for _ in range(1000):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", h.http))
            held.append(s)
            opened += 1
        except OSError:
            break
    ok(opened == 1000, "badinput: 1,000 connections opened", str(opened))
    try:
        st = get(h.http, "/metrics", timeout=2)[0]
    except OSError:
        st = None
    ok(st is None, "badinput: while one address holds %d, a new connection "
       "is turned away" % 32, str(st))
    t = time.monotonic()
    rc, out, _ = h.ctl("status")
    took = time.monotonic() - t
    ok(rc == 0 and took < 2, "badinput: herdctl status answers while they "
       "are open (%.2f s)" % took)
    pid = h.node("Welsh")["pid"]
    os.kill(pid, signal.SIGKILL)
    ok(wait_for(lambda: restarted(h, "Welsh", pid), 10),
       "badinput: a killed worker is restarted meanwhile")
    for s in held[1:]:
        s.close()
    time.sleep(0.2)
    st, _, body = get(h.http, "/metrics", timeout=5)
    ok(st == 200 and b"herd_worker_up" in body,
       "badinput: /metrics answers once they are gone")
    # the slow one is closed by the server in its time (10 s) at most
    slow.settimeout(15)
    t = time.monotonic()
    try:
        gone = slow.recv(4096) == b""
    except OSError:
        gone = True
    ok(gone and time.monotonic() - t < 12, "badinput: the slow client is "
       "cut off after its time-out")
    slow.close()
    rc, _, _ = h.ctl("status")
    ok(rc == 0 and h.proc.poll() is None, "badinput: herdd still runs")


# -- reload -----------------------------------------------------------------

def test_reload(top):
    """http moves with a reload; a port in use at start stops herdd."""
    h = ObsHerd(top, "reload")
    try:
        ok(h.up() is not None, "reload: the herd is up")
        old = h.http
        new = free_ports(1)[0]
        with open(h.conf) as f:
            text = f.read()
        with open(h.conf, "w") as f:
            f.write(text.replace("http = 127.0.0.1:%d" % old,
                                 "http = 127.0.0.1:%d" % new))
        rc, out, err = h.ctl("reload", json_out=False)
        ok(rc == 0, "reload: herdctl reload", out + err)
        h.http = new
        st, _, body = get(new, "/metrics")
        ok(st == 200 and b"herd_worker_up" in body,
           "reload: /metrics on the new port")
        try:
            get(old, "/metrics", timeout=2)
            gone = False
        except OSError:
            gone = True
        ok(gone, "reload: nothing on the old port")
    finally:
        h.stop()
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    h = ObsHerd(top, "busy")
    h.http = held.getsockname()[1]
    with open(h.conf) as f:
        text = f.read()
    with open(h.conf, "w") as f:
        f.write(re.sub(r"http = 127.0.0.1:\d+", "http = 127.0.0.1:%d"
                       % h.http, text))
    try:
        r = subprocess.run([HERDD, "-f", h.conf], capture_output=True,
                           text=True, timeout=20,
                           env=dict(os.environ, HERD_NODE=NODE))
        ok(r.returncode == 1 and "port %d: Address already in use" % h.http
           in r.stderr, "reload: herdd exits 1 when its HTTP port is taken, "
           "saying so", "%r %s" % (r.returncode, r.stderr))
    finally:
        held.close()


# -- browser ----------------------------------------------------------------

def test_browser(top):
    try:
        from browser import Browser, BrowserMissing
    except ImportError as e:
        ok(False, "browser: browser.py: %r" % e)
        return
    flags = os.path.join(top, "flags")
    os.makedirs(flags)
    wrapper = os.path.join(top, "node-wrapper")
    with open(wrapper, "w") as f:
        # a server whose flag file exists fails at once: kept down
        f.write('#!/bin/sh\n[ -e "%s/down-$3" ] && exit 1\nexec "%s" "$@"\n'
                % (flags, NODE))
    os.chmod(wrapper, 0o755)
    h = ObsHerd(top, "browser", herd="node = %s" % wrapper)
    try:
        ok(h.up() is not None, "browser: the herd is up")
        ok(wait_for(h.links_all_up, 10), "browser: every link up")
        try:
            b = Browser()
        except BrowserMissing:
            ok(True, "browser # SKIP Chromium is not installed (Debian's "
               "chromium package)")
            return
        with b:
            b.open("http://127.0.0.1:%d/" % h.http)
            n = b.wait_for("document.querySelectorAll('tr.server').length "
                           "== 5 && document.querySelectorAll("
                           "'line.link[data-up=\"1\"]').length == 6 && "
                           "document.querySelectorAll('g.node[data-up=\"1\"]')"
                           ".length", 10)
            ok(n == 5, "browser: five servers, five nodes up, six links up")
            refreshes = b.eval("Number(document.body.dataset.refreshes)")
            with open(os.path.join(flags, "down-Welsh"), "w"):
                pass
            os.kill(h.node("Welsh")["pid"], signal.SIGKILL)
            t = time.monotonic()
            try:
                b.wait_for("document.querySelector('g.node[data-server="
                           "\"Welsh\"]').dataset.up == '0' && "
                           "document.querySelector('line.link[data-a="
                           "\"Holiday\"][data-b=\"Welsh\"]').dataset.up == "
                           "'0' && document.querySelectorAll('line.link"
                           "[data-up=\"1\"]').length == 5", 3)
                down = time.monotonic() - t
            except TimeoutError as e:
                down = None
                ok(False, "browser: Welsh down on the page within 3 s",
                   str(e))
            if down is not None:
                ok(True, "browser: Welsh's node and link down on the page "
                   "%.1f s after the kill" % down)
            ok(b.eval("Number(document.body.dataset.refreshes)") > refreshes
               and b.eval("performance.getEntriesByType('navigation')"
                          ".length") == 1,
               "browser: by refreshing, not by reloading the page")
            state = b.eval("document.querySelector('tr.server[data-server="
                           "\"Welsh\"]').dataset.state")
            ok(state in ("backoff", "failed", "starting"),
               "browser: Welsh's row says %s" % state)
            if ARTIFACTS:
                path = os.path.join(ARTIFACTS, "status-page.png")
                b.screenshot(path)
                ok(os.path.getsize(path) > 10000,
                   "browser: screenshot kept in %s" % path)
            os.unlink(os.path.join(flags, "down-Welsh"))
            h.ctl("start", "Welsh")
            n = b.wait_for("document.querySelectorAll('line.link[data-up="
                           "\"1\"]').length == 6", 10)
            ok(n, "browser: Welsh started again, six links up again")
    finally:
        h.stop()


def test_five(top):
    """counts, exposition and badinput, on one five-server herd."""
    h = ObsHerd(top, "five")
    try:
        ok(h.up() is not None, "the five-server herd is up")
        for t in (test_counts, test_exposition, test_badinput):
            TAP.check(t, h)             # a failure: the next one still runs
    finally:
        h.stop()


def main():
    return herds.main((test_five, test_reload, test_browser),
                      "herd-observe-")


if __name__ == "__main__":
    sys.exit(main())
