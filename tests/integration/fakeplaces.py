#!/usr/bin/env python3
"""fakeplaces.py -- a stand-in Google Places server for the herd's tests.

    python3 fakeplaces.py [PORT]

Listens on 127.0.0.1 (port 0 = ephemeral, the default), prints the port it
got as the first line of standard output, then serves until killed.  Python
standard library only: http.server's ThreadingHTTPServer, HTTP/1.1 with
keep-alive, one thread per connection.

Places requests
    GET  <any path>   legacy Nearby Search: ?location=LAT,LNG&radius=M&key=K
    POST <any path>   Places API (New) searchNearby: JSON body, X-Goog-Api-Key
Both answer with canned places around the requested location: legacy
answers hold 25 results by default (more than WHATSAT's 20, with a
next_page_token, so that cutting is observable); New answers hold
maxResultCount places with every field of the herd's field mask.

Modes.  What a Places request gets is chosen by a mode string, a comma-
separated list of directives:
    n=K          K places (legacy default 25, New default maxResultCount)
    zero         no places (ZERO_RESULTS / {})
    delay=S      wait S seconds before answering (a hung upstream); the
                 request ends at once if the client closes the connection
    http=CODE    answer HTTP CODE with a text body
    status=S     legacy: HTTP 200, status S, error_message "fake S"
    error=RPC    New: {"error": {"code", "message": "fake RPC", "status"}}
                 with the HTTP code Google uses for RPC
    garbage      HTTP 200, a body that is not JSON
    big=N        HTTP 200, a valid JSON body of N bytes
    nolen        no Content-Length: the body ends when the connection closes
The mode of a request is the first found of
    1. its X-Fake-Mode header (for requests made by hand);
    2. the mode registered for its latitude with POST /_fake/modes, so that
       a test picks the behaviour per WHATSAT by the client's position;
    3. its API key (query "key" or header X-Goog-Api-Key), when the key
       holds directives, e.g. key=n=3,delay=0.2;
    4. the default mode set with POST /_fake/modes {"default": "..."}.

Control endpoints (not recorded, not counted as Places traffic)
    GET  /_fake/stats     {"connections": TCP connections that carried a
                          Places request, "accepted": all TCP connections,
                          "requests": Places requests, "in_flight": now,
                          "max_concurrent": most Places requests at once,
                          "aborted": requests whose client hung up while
                          they were delayed}
    GET  /_fake/requests  every Places request, oldest first: {"method",
                          "path", "query" (name -> first value), "rawquery",
                          "headers" (lower-case names), "body", "json" (the
                          body parsed, or null), "conn" (connection number),
                          "mode"}
    POST /_fake/modes     body {"LAT": "mode", ..., "default": "mode"}:
                          merged into the table (latitudes compared as
                          numbers); {"clear": true} empties it first
    POST /_fake/reset     forget requests and counters (and modes)
"""

import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PRICE_LEVELS = ["PRICE_LEVEL_FREE", "PRICE_LEVEL_INEXPENSIVE",
                "PRICE_LEVEL_MODERATE", "PRICE_LEVEL_EXPENSIVE",
                "PRICE_LEVEL_VERY_EXPENSIVE"]
RPC_HTTP = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401,
            "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
            "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = 0
        self.gen = 0
        self.reset()

    def reset(self):
        self.gen += 1
        self.connections = 0
        self.requests = []
        self.in_flight = 0
        self.max_concurrent = 0
        self.live = set()       # sockets of the requests in flight
        self.aborted = 0
        self.modes = {}
        self.default = ""


STATE = State()


def hung_up(sock):
    """True when the peer of sock has closed its end (EOF or error
    waiting), without consuming anything or blocking."""
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    return not data


def parse_mode(text):
    mode = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition("=")
        mode[name] = value
    return mode


def is_mode(text):
    names = ("n", "zero", "delay", "http", "status", "error", "garbage",
             "big", "nolen")
    return bool(text) and all(
        p.partition("=")[0] in names for p in text.split(",") if p)


def legacy_doc(lat, lng, n):
    results = []
    for i in range(n):
        results.append({
            "business_status": "OPERATIONAL",
            "geometry": {
                "location": {"lat": round(lat + i * 0.001, 7),
                             "lng": round(lng - i * 0.001, 7)},
                "viewport": {
                    "northeast": {"lat": round(lat + i * 0.001 + 0.001, 7),
                                  "lng": round(lng - i * 0.001 + 0.001, 7)},
                    "southwest": {"lat": round(lat + i * 0.001 - 0.001, 7),
                                  "lng": round(lng - i * 0.001 - 0.001, 7)}}},
            "icon": "https://maps.gstatic.com/mapfiles/place_api/icons/"
                    "v1/png_71/generic_business-71.png",
            "name": "Legacy Place %d" % i,
            "place_id": "fake-legacy-%d" % i,
            "rating": 4.5,
            "reference": "fake-legacy-%d" % i,
            "types": ["point_of_interest", "establishment"],
            "user_ratings_total": 100 + i,
            "vicinity": "%d Fake Street, Testville" % i,
        })
    doc = {"html_attributions": [], "results": results,
           "status": "OK" if n > 0 else "ZERO_RESULTS"}
    if n > 20:
        doc["next_page_token"] = "fake/next+page=token"
    return doc


def new_doc(lat, lng, n):
    places = []
    for i in range(n):
        places.append({
            "id": "fake-new-%d" % i,
            "types": ["restaurant", "food", "point_of_interest"],
            "shortFormattedAddress": "%d New Street, Testville" % i,
            "location": {"latitude": round(lat + i * 0.001, 7),
                         "longitude": round(lng - i * 0.001, 7)},
            "viewport": {
                "low": {"latitude": round(lat + i * 0.001 - 0.001, 7),
                        "longitude": round(lng - i * 0.001 - 0.001, 7)},
                "high": {"latitude": round(lat + i * 0.001 + 0.001, 7),
                         "longitude": round(lng - i * 0.001 + 0.001, 7)}},
            "rating": 4.2,
            "userRatingCount": 200 + i,
            "priceLevel": PRICE_LEVELS[i % 5],
            "businessStatus": "OPERATIONAL",
            "displayName": {"text": "New Place %d" % i,
                            "languageCode": "en"},
        })
    return {"places": places} if places else {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fakeplaces/1"

    def setup(self):
        super().setup()
        with STATE.lock:
            STATE.accepted += 1
            self.conn_no = STATE.accepted
        self.counted_gen = 0

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype="application/json", length=True):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_fake/"):
            self.control(method, url.path, body)
            return
        try:
            self.places(method, url, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def control(self, method, path, body):
        self.close_connection = True
        with STATE.lock:
            if path == "/_fake/stats":
                out = {"connections": STATE.connections,
                       "accepted": STATE.accepted,
                       "requests": len(STATE.requests),
                       "in_flight": STATE.in_flight,
                       "max_concurrent": STATE.max_concurrent,
                       "aborted": STATE.aborted}
            elif path == "/_fake/requests":
                out = STATE.requests
            elif path == "/_fake/modes" and method == "POST":
                table = json.loads(body or b"{}")
                if table.pop("clear", False):
                    STATE.modes = {}
                    STATE.default = ""
                if "default" in table:
                    STATE.default = table.pop("default")
                for lat, mode in table.items():
                    STATE.modes[float(lat)] = mode
                out = {"ok": True}
            elif path == "/_fake/reset" and method == "POST":
                STATE.reset()
                out = {"ok": True}
            else:
                self.send(404, "no such control endpoint\n", "text/plain")
                return
        self.send(200, json.dumps(out))

    def places(self, method, url, body):
        query = parse_qs(url.query, keep_blank_values=True)
        query = {k: v[0] for k, v in query.items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        lat = lng = 0.0
        maxn = 20
        try:
            if method == "GET":
                lat, lng = (float(x) for x in query["location"].split(","))
                key = query.get("key", "")
            else:
                c = parsed["locationRestriction"]["circle"]["center"]
                lat, lng = float(c["latitude"]), float(c["longitude"])
                maxn = int(parsed.get("maxResultCount", 20))
                key = headers.get("x-goog-api-key", "")
        except (KeyError, ValueError, TypeError, AttributeError):
            key = query.get("key", headers.get("x-goog-api-key", ""))

        with STATE.lock:
            if self.counted_gen != STATE.gen:
                self.counted_gen = STATE.gen
                STATE.connections += 1
            text = headers.get("x-fake-mode")
            if text is None:
                for mlat, m in STATE.modes.items():
                    if abs(mlat - lat) < 1e-9:
                        text = m
                        break
            if text is None and is_mode(key):
                text = key
            if text is None:
                text = STATE.default
            STATE.requests.append({
                "method": method, "path": url.path, "query": query,
                "rawquery": url.query, "headers": headers,
                "body": body.decode("utf-8", "replace"), "json": parsed,
                "conn": self.conn_no, "mode": text, "time": time.time()})
            STATE.in_flight += 1
            # At once: a request whose client has hung up already (its
            # FIN is here) is over for the client even if its thread has
            # not run yet to see it; counting it would blame the node
            # for this fake's scheduling.
            now = 1 + sum(1 for s in STATE.live if not hung_up(s))
            STATE.max_concurrent = max(STATE.max_concurrent, now)
            STATE.live.add(self.connection)
        try:
            self.answer(method, parse_mode(text), lat, lng, maxn)
        finally:
            with STATE.lock:
                STATE.in_flight -= 1
                STATE.live.discard(self.connection)

    def wait(self, seconds):
        """Sleep, but give up (False) as soon as the client hangs up."""
        end = time.time() + seconds
        while True:
            left = end - time.time()
            if left <= 0:
                return True
            r, _, _ = select.select([self.connection], [], [],
                                    min(left, 0.05))
            if r:
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    return False
                time.sleep(min(left, 0.05))

    def answer(self, method, mode, lat, lng, maxn):
        if "delay" in mode and not self.wait(float(mode["delay"])):
            with STATE.lock:
                STATE.aborted += 1
            self.close_connection = True
            return
        length = "nolen" not in mode
        if "http" in mode:
            code = int(mode["http"])
            self.send(code, "fake HTTP %d\n" % code, "text/plain", length)
            return
        if "garbage" in mode:
            self.send(200, "<html>this is not JSON</html>\n", "text/html",
                      length)
            return
        if "big" in mode:
            size = int(mode["big"])
            pad = max(0, size - len('{"status":"OK","results":[],"pad":""}'))
            body = '{"status":"OK","results":[],"pad":"%s"}' % ("x" * pad)
            self.send(200, body, length=length)
            return
        if method == "GET":
            if "status" in mode:
                doc = {"html_attributions": [], "results": [],
                       "status": mode["status"],
                       "error_message": "fake %s" % mode["status"]}
            else:
                n = 0 if "zero" in mode else int(mode.get("n", 25))
                doc = legacy_doc(lat, lng, n)
            self.send(200, json.dumps(doc, indent=3), length=length)
            return
        if "error" in mode:
            rpc = mode["error"]
            code = RPC_HTTP.get(rpc, 500)
            doc = {"error": {"code": code, "message": "fake %s" % rpc,
                             "status": rpc}}
            self.send(code, json.dumps(doc, indent=2), length=length)
            return
        n = 0 if "zero" in mode else int(mode.get("n", maxn))
        self.send(200, json.dumps(new_doc(lat, lng, n), indent=2),
                  length=length)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = Server(("127.0.0.1", port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
