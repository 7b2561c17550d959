#!/usr/bin/env python3
"""test_places.py -- WHATSAT through the Google backends, end to end.

Starts tests/integration/fakeplaces.py and two real herd-node processes
(path from $HERD_NODE): "Legacy" with backend google and "Gnew" with
backend google-new, both pointed at the fake server, everything on
127.0.0.1 with ephemeral ports.  Each test picks the fake server's
behaviour per WHATSAT by the latitude its client reports (POST /_fake/modes),
then talks to the node over plain TCP as a client would.

Exit 77 (skip) without $HERD_NODE.  Bounded in time: socket time-outs and
an alarm; every process is killed at the end, even on failure.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from herds import NODE, Separate, start_fakeplaces

TIMEOUT_MS = 1000
MAX_INFLIGHT = 3
MAX_BODY = 65536
LEGACY_KEY = "test key/+=&"
GNEW_KEY = "new-key-123"
FIELDMASK = ("places.id,places.displayName,places.location,"
             "places.shortFormattedAddress,places.types,"
             "places.businessStatus,places.rating,places.userRatingCount,"
             "places.priceLevel,places.viewport")

PROCS = []          # fakeplaces
HERDS = []          # a herd of one for each node
TMP = None
FAKE_PORT = None
NODES = {}          # name -> {"port": client port, "log": log path}
_lat_next = [10.0]


def kill_all():
    for h in HERDS:
        try:
            h.stop()
        except AssertionError:
            pass                        # stop_node tells of them
    HERDS.clear()
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    for p in PROCS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()
    PROCS.clear()


def fake(path, body=None):
    url = "http://127.0.0.1:%d%s" % (FAKE_PORT, path)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(url, data=data, timeout=5) as r:
        return json.loads(r.read())


def new_lat():
    """A latitude of its own for each WHATSAT whose mode matters."""
    _lat_next[0] += 0.125
    return _lat_next[0]


def start_node(name, backend, key, path, host="127.0.0.1"):
    """A herd of one node, name, its backend at fakeplaces."""
    h = Separate(links={name: []}, top=TMP, label=name, places=(
        "backend = %s\nkey = %s\nurl = http://%s:%d%s\ntimeout_ms = %d\n"
        "max_inflight = %d\nmax_body = %d" % (
            backend, key, host, FAKE_PORT, path, TIMEOUT_MS, MAX_INFLIGHT,
            MAX_BODY)))
    HERDS.append(h)
    p = h.start(name, env={"HERD_PLACES_KEY": None})
    NODES[name] = {"port": h.port[name], "proc": p,
                   "stderr": h.stderr_path(name), "log": h.log_path(name)}


def setUpModule():
    global TMP, FAKE_PORT
    TMP = tempfile.mkdtemp(prefix="herd-places-")
    p, FAKE_PORT = start_fakeplaces()
    PROCS.append(p)
    try:
        start_node("Legacy", "google", LEGACY_KEY,
                   "/maps/api/place/nearbysearch/json")
        # By name: the lookups go through libcurl's resolver too.
        start_node("Gnew", "google-new", GNEW_KEY,
                   "/v1/places:searchNearby", host="localhost")
    except Exception:
        kill_all()
        raise


def stop_node(name):
    """SIGTERM with lookups running and queued: a clean exit 0, and no
    sanitizer report (the node may be built with ASan+UBSan)."""
    p = NODES[name]["proc"]
    clients = []
    for i in range(MAX_INFLIGHT + 2):
        lat = new_lat()
        fake("/_fake/modes", {str(lat): "delay=3"})
        cid = "stop-%s-%d" % (name, i)
        iamat(name, cid, lat)
        c = Client(name)
        c.send("WHATSAT %s 10 5\n" % cid)
        clients.append(c)
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    finally:
        for c in clients:
            c.close()
    with open(NODES[name]["stderr"], errors="replace") as f:
        err = f.read()
    if p.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
        raise AssertionError("herd-node %s exited %d:\n%s" % (
            name, p.returncode, err))


def tearDownModule():
    try:
        for name in list(NODES):
            if NODES[name]["proc"].poll() is None:
                stop_node(name)
    finally:
        kill_all()
        if TMP is not None:
            shutil.rmtree(TMP, ignore_errors=True)


class Client:
    def __init__(self, node):
        self.s = socket.create_connection(
            ("127.0.0.1", NODES[node]["port"]), timeout=10)
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.encode())

    def read_until(self, delim, timeout=10):
        deadline = time.time() + timeout
        while delim not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %r in %r" % (delim, self.buf))
            self.s.settimeout(left)
            data = self.s.recv(65536)
            if not data:
                raise EOFError("closed; got %r" % self.buf)
            self.buf += data
        i = self.buf.index(delim) + len(delim)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode()

    def line(self, timeout=10):
        return self.read_until(b"\n", timeout)

    def reply(self, timeout=10):
        return self.read_until(b"\n\n", timeout)

    def close(self):
        self.s.close()


def iamat(node, cid, lat, lng=-118.25):
    c = Client(node)
    try:
        c.send("IAMAT %s %+f%+f %.9f\n" % (cid, lat, lng, time.time()))
        at = c.line()
    finally:
        c.close()
    assert at.startswith("AT %s " % node), at
    return at.rstrip("\n")


def whatsat(node, cid, radius=10, n=5, timeout=10):
    """The AT line and the JSON document of one WHATSAT, format checked."""
    c = Client(node)
    try:
        c.send("WHATSAT %s %s %d\n" % (cid, radius, n))
        raw = c.reply(timeout)
    finally:
        c.close()
    return split_reply(raw)


def split_reply(raw):
    assert raw.endswith("\n\n"), raw
    body = raw[:-2]
    assert "\n\n" not in body, "runs of newlines must be collapsed"
    at, _, js = body.partition("\n")
    assert not js.endswith("\n")
    return at, json.loads(js)


def last_requests(n=1):
    return fake("/_fake/requests")[-n:]


class Base(unittest.TestCase):
    node = None

    def lookup(self, mode, n=5, radius=10, cid=None, lng=-118.25):
        lat = new_lat()
        if mode is not None:
            fake("/_fake/modes", {str(lat): mode})
        cid = cid or "c%s-%f" % (self.node, lat)
        at = iamat(self.node, cid, lat, lng)
        at2, doc = whatsat(self.node, cid, radius, n)
        self.assertEqual(at2, at, "WHATSAT starts with the stored AT line")
        return lat, doc

    def assertError(self, doc, status, msgpart=""):
        self.assertEqual(doc["status"], status, doc)
        self.assertEqual(doc["results"], [])
        self.assertEqual(doc["html_attributions"], [])
        self.assertIn("error_message", doc)
        self.assertIn(msgpart, doc["error_message"])
        self.assertNotIn("next_page_token", doc)

    def log_has(self, text, timeout=3):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(NODES[self.node]["log"], errors="replace") as f:
                    if text in f.read():
                        return True
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        return False


class TestLegacy(Base):
    node = "Legacy"

    def test_ok_cut_and_request(self):
        lat, doc = self.lookup("n=25", n=5, radius=10)
        self.assertEqual(doc["status"], "OK")
        self.assertEqual(len(doc["results"]), 5)
        self.assertEqual([r["place_id"] for r in doc["results"]],
                         ["fake-legacy-%d" % i for i in range(5)])
        self.assertNotIn("next_page_token", doc)
        self.assertNotIn("error_message", doc)
        self.assertEqual(doc["html_attributions"], [])
        req = last_requests()[0]
        self.assertEqual(req["method"], "GET")
        self.assertEqual(req["path"], "/maps/api/place/nearbysearch/json")
        self.assertEqual(req["query"]["location"], "%g,-118.25" % lat)
        self.assertEqual(req["query"]["radius"], "10000")
        self.assertEqual(req["query"]["key"], LEGACY_KEY)
        self.assertIn("key=test%20key%2F%2B%3D%26", req["rawquery"])
        self.assertEqual(req["body"], "")

    def test_twenty_of_twenty_five(self):
        _, doc = self.lookup("n=25", n=20, radius=50)
        self.assertEqual(len(doc["results"]), 20)
        self.assertEqual(last_requests()[0]["query"]["radius"], "50000")

    def test_fractional_radius(self):
        self.lookup("n=1", n=1, radius=1.5)
        self.assertEqual(last_requests()[0]["query"]["radius"], "1500")

    def test_fewer_than_asked(self):
        _, doc = self.lookup("n=2", n=10)
        self.assertEqual(doc["status"], "OK")
        self.assertEqual(len(doc["results"]), 2)

    def test_zero_results(self):
        _, doc = self.lookup("zero")
        self.assertEqual(doc["status"], "ZERO_RESULTS")
        self.assertEqual(doc["results"], [])
        self.assertNotIn("error_message", doc)

    def test_http_500(self):
        _, doc = self.lookup("http=500")
        self.assertError(doc, "UNKNOWN_ERROR", "HTTP 500")
        self.assertTrue(self.log_has("HTTP 500"))

    def test_google_status(self):
        for st in ("REQUEST_DENIED", "OVER_QUERY_LIMIT", "INVALID_REQUEST"):
            _, doc = self.lookup("status=" + st)
            self.assertError(doc, st, "fake " + st)
        self.assertTrue(self.log_has("REQUEST_DENIED: fake REQUEST_DENIED"))

    def test_garbage(self):
        _, doc = self.lookup("garbage")
        self.assertError(doc, "UNKNOWN_ERROR", "not JSON")

    def test_oversized(self):
        _, doc = self.lookup("big=%d" % (MAX_BODY * 4))
        self.assertError(doc, "UNKNOWN_ERROR", "max_body")
        _, doc = self.lookup("big=%d,nolen" % (MAX_BODY * 4))
        self.assertError(doc, "UNKNOWN_ERROR", "max_body")
        # Just under the cap is fine.
        _, doc = self.lookup("big=%d" % (MAX_BODY - 100))
        self.assertEqual(doc["status"], "OK")

    def test_timeout_others_served(self):
        lat = new_lat()
        fake("/_fake/modes", {str(lat): "delay=4"})
        iamat(self.node, "slow-legacy", lat)
        c = Client(self.node)
        try:
            t0 = time.time()
            c.send("WHATSAT slow-legacy 10 5\n")
            time.sleep(0.1)
            t1 = time.time()
            iamat(self.node, "quick-legacy", new_lat())
            self.assertLess(time.time() - t1, 0.5,
                            "IAMAT answered while a lookup hangs")
            at, doc = split_reply(c.reply(timeout=5))
            took = time.time() - t0
        finally:
            c.close()
        self.assertError(doc, "UNKNOWN_ERROR", "timed out")
        self.assertGreater(took, TIMEOUT_MS / 1000.0 * 0.8)
        self.assertLess(took, TIMEOUT_MS / 1000.0 + 1.5)
        self.assertTrue(self.log_has("timed out"))

    def test_pipelined_order(self):
        lat = new_lat()
        fake("/_fake/modes", {str(lat): "delay=0.4,n=3"})
        iamat(self.node, "pipe-slow", lat)
        c = Client(self.node)
        try:
            c.send("WHATSAT pipe-slow 10 3\nIAMAT pipe-fast +1.000000-2.000000 %.9f\n"
                   "WHATSAT pipe-slow 10 2\n" % time.time())
            at, doc = split_reply(c.reply(timeout=5))
            self.assertTrue(at.startswith("AT Legacy "))
            self.assertEqual(len(doc["results"]), 3)
            line = c.line()
            self.assertTrue(line.startswith("AT Legacy ") and
                            "pipe-fast" in line, line)
            at, doc = split_reply(c.reply(timeout=5))
            self.assertEqual(len(doc["results"]), 2)
        finally:
            c.close()

    def test_max_inflight(self):
        fake("/_fake/reset", {})
        lats = []
        for i in range(3 * MAX_INFLIGHT):
            lat = new_lat()
            lats.append(lat)
            fake("/_fake/modes", {str(lat): "delay=0.12,n=4"})
            iamat(self.node, "burst-%d" % i, lat)
        results = [None] * len(lats)

        def one(i):
            try:
                results[i] = whatsat(self.node, "burst-%d" % i, 10, 4)[1]
            except Exception as e:     # reported below
                results[i] = e
        threads = [threading.Thread(target=one, args=(i,))
                   for i in range(len(lats))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for doc in results:
            self.assertIsInstance(doc, dict, doc)
            self.assertEqual(doc["status"], "OK", doc)
            self.assertEqual(len(doc["results"]), 4)
        st = fake("/_fake/stats")
        self.assertEqual(st["requests"], len(lats))
        self.assertLessEqual(st["max_concurrent"], MAX_INFLIGHT)
        self.assertEqual(st["max_concurrent"], MAX_INFLIGHT,
                         "the bound is reached, not just respected")

    def test_connection_reuse(self):
        self.lookup("n=1", n=1)          # a connection is open
        fake("/_fake/reset", {})
        for i in range(8):
            _, doc = self.lookup("n=1", n=1)
            self.assertEqual(doc["status"], "OK")
        st = fake("/_fake/stats")
        self.assertEqual(st["requests"], 8)
        self.assertLess(st["connections"], st["requests"])
        self.assertLessEqual(st["connections"], 1, st)


class TestGnew(Base):
    node = "Gnew"

    def test_ok_request_and_mapping(self):
        lat, doc = self.lookup(None, n=5, radius=10, lng=-118.445127)
        req = last_requests()[0]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/v1/places:searchNearby")
        self.assertEqual(req["rawquery"], "")
        h = req["headers"]
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["x-goog-api-key"], GNEW_KEY)
        self.assertEqual(h["x-goog-fieldmask"], FIELDMASK)
        self.assertEqual(req["json"], {
            "maxResultCount": 5,
            "locationRestriction": {"circle": {
                "center": {"latitude": lat, "longitude": -118.445127},
                "radius": 10000}}})
        self.assertIn('"radius":10000}', req["body"].replace(" ", ""))

        self.assertEqual(doc["status"], "OK")
        self.assertEqual(doc["html_attributions"], [])
        self.assertNotIn("next_page_token", doc)
        self.assertEqual(len(doc["results"]), 5)
        r = doc["results"][0]
        self.assertEqual(r, {
            "business_status": "OPERATIONAL",
            "geometry": {
                "location": {"lat": round(lat, 7), "lng": -118.445127},
                "viewport": {
                    "northeast": {"lat": round(lat + 0.001, 7),
                                  "lng": round(-118.445127 + 0.001, 7)},
                    "southwest": {"lat": round(lat - 0.001, 7),
                                  "lng": round(-118.445127 - 0.001, 7)}}},
            "name": "New Place 0",
            "place_id": "fake-new-0",
            "price_level": 0,
            "rating": 4.2,
            "types": ["restaurant", "food", "point_of_interest"],
            "user_ratings_total": 200,
            "vicinity": "0 New Street, Testville"})
        self.assertEqual([x["price_level"] for x in doc["results"]],
                         [0, 1, 2, 3, 4])

    def test_cut_when_upstream_sends_more(self):
        _, doc = self.lookup("n=25", n=3)
        self.assertEqual(len(doc["results"]), 3)

    def test_zero_results(self):
        _, doc = self.lookup("zero")
        self.assertEqual(doc["status"], "ZERO_RESULTS")
        self.assertEqual(doc["results"], [])
        self.assertNotIn("error_message", doc)

    def test_errors(self):
        for rpc, st in (("INVALID_ARGUMENT", "INVALID_REQUEST"),
                        ("PERMISSION_DENIED", "REQUEST_DENIED"),
                        ("UNAUTHENTICATED", "REQUEST_DENIED"),
                        ("RESOURCE_EXHAUSTED", "OVER_QUERY_LIMIT"),
                        ("INTERNAL", "UNKNOWN_ERROR")):
            _, doc = self.lookup("error=" + rpc)
            self.assertError(doc, st, "fake " + rpc)
        self.assertTrue(self.log_has("OVER_QUERY_LIMIT: fake "
                                     "RESOURCE_EXHAUSTED"))

    def test_http_and_garbage(self):
        _, doc = self.lookup("http=502")
        self.assertError(doc, "UNKNOWN_ERROR", "HTTP 502")
        _, doc = self.lookup("garbage")
        self.assertError(doc, "UNKNOWN_ERROR", "not JSON")
        _, doc = self.lookup("big=%d" % (MAX_BODY * 2))
        self.assertError(doc, "UNKNOWN_ERROR", "max_body")

    def test_timeout(self):
        t0 = time.time()
        _, doc = self.lookup("delay=3")
        self.assertError(doc, "UNKNOWN_ERROR", "timed out")
        self.assertLess(time.time() - t0, TIMEOUT_MS / 1000.0 + 1.5)

    def test_queued_lookup_keeps_its_deadline(self):
        """max_inflight hung lookups and one more queued behind them: the
        queued one's deadline counts from its WHATSAT, not from when a slot
        frees (else it would take two time-outs), and upstream sees the
        node hang up on every hung request."""
        fake("/_fake/reset", {})
        n = MAX_INFLIGHT + 1
        cids = []
        for i in range(n):
            lat = new_lat()
            fake("/_fake/modes", {str(lat): "delay=5"})
            cids.append("queued-%d" % i)
            iamat(self.node, cids[-1], lat)
        clients, sent, took, docs = [], [], [], []
        try:
            for cid in cids:
                c = Client(self.node)
                c.send("WHATSAT %s 10 5\n" % cid)
                sent.append(time.time())
                clients.append(c)
                time.sleep(0.05)
            for c, t in zip(clients, sent):
                docs.append(split_reply(c.reply(timeout=5))[1])
                took.append(time.time() - t)
        finally:
            for c in clients:
                c.close()
        for doc, t in zip(docs, took):
            self.assertError(doc, "UNKNOWN_ERROR", "timed out")
            self.assertLess(t, TIMEOUT_MS / 1000.0 + 0.8, took)
        time.sleep(0.3)
        st = fake("/_fake/stats")
        self.assertLessEqual(st["requests"], n, st)
        self.assertGreaterEqual(st["requests"], MAX_INFLIGHT, st)
        self.assertEqual(st["aborted"], st["requests"], st)
        self.assertEqual(st["in_flight"], 0, st)
        self.assertLessEqual(st["max_concurrent"], MAX_INFLIGHT, st)


class TestKeyLineBreak(unittest.TestCase):
    def test_refused(self):
        """A key holding a line break (HERD_PLACES_KEY can) would end the
        X-Goog-Api-Key header and smuggle in others: the node refuses it
        as a configuration error (exit 78) instead."""
        h = Separate(links={"BadKey": []}, top=TMP, label="badkey", places=(
            "backend = google-new\n"
            "url = http://127.0.0.1:%d/v1/places:searchNearby" % FAKE_PORT))
        HERDS.append(h)
        p = h.start("BadKey", wait=False,
                    env={"HERD_PLACES_KEY": "k\r\nX-Injected: 1"})
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        self.assertEqual(rc, 78, "herd-node runs with a key that breaks "
                         "its header")
        self.assertIn("line break", h.log("BadKey"))


if __name__ == "__main__":
    if not NODE or not os.access(NODE, os.X_OK):
        print("HERD_NODE not set or not executable: skipped")
        sys.exit(77)
    signal.signal(signal.SIGALRM, lambda *a: (kill_all(),
                                              os._exit(1)))
    signal.alarm(110)
    try:
        unittest.main(verbosity=2)
    finally:
        kill_all()
