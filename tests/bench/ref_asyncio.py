#!/usr/bin/env python3
"""ref_asyncio.py -- the REFERENCE for bench_node.py, not part of herd.

What a user would otherwise write: one server of the original Python
asyncio prototype (../seed's report), speaking the same client protocol
(PROTOCOL.md), in the prototype's style: asyncio.start_server, one
coroutine per connection reading lines, a dict of the newest AT line per
client, every line received and sent logged with the logging module, and
WHATSAT answered with json.dumps(..., indent=...).  To be fair on WHATSAT
it does not call Google: it reads the same data set as herd's offline
backend (data/cities.dat, format at the top of tools/mkcities.py) into a
half-degree grid, and answers the places within the radius, nearest first,
in the same Nearby Search shape.

No flooding: it is a one-server herd, as herd-node is in bench_node.py.

    ref_asyncio.py --port PORT --dataset data/cities.dat [--name NAME]
        [--host 127.0.0.1] [--log FILE]

Prints "ready" on standard output once it accepts connections.
"""

import argparse
import asyncio
import json
import logging
import math
import re
import struct
import sys
import time

EARTH_M = 6371008.8
CELLS_PER_DEG = 2
COORD = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)$")
STAMP = re.compile(r"^(\d+)(?:\.(\d{1,9}))?$")

log = logging.getLogger("ref")


class Places:
    """The data set in a dict of half-degree cells."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        magic, _ver, dec, n, strsize, attr, _ = struct.unpack_from(
            "<8sIIIIII", data, 0)
        if magic != b"HERDPLC\0":
            raise ValueError("%s: not a places file" % path)
        self.scale = 10 ** dec
        pool = data[32 + 16 * n:]
        strs = {}

        def string(off):
            s = strs.get(off)
            if s is None:
                s = pool[off:pool.index(b"\0", off)].decode()
                strs[off] = s
            return s

        self.attribution = string(attr)
        self.grid = {}
        for lat, lng, name, vic in struct.iter_unpack(
                "<iiII", data[32:32 + 16 * n]):
            la, ln = lat / self.scale, lng / self.scale
            self.grid.setdefault(self.cell(la, ln), []).append(
                (la, ln, string(name), string(vic)))
        self.count = n

    @staticmethod
    def cell(lat, lng):
        row = min(int((lat + 90) * CELLS_PER_DEG), 180 * CELLS_PER_DEG - 1)
        col = min(int((lng + 180) * CELLS_PER_DEG), 360 * CELLS_PER_DEG - 1)
        return row, col

    @staticmethod
    def distance(lat1, lng1, lat2, lng2):
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dp, dl = p2 - p1, math.radians(lng2 - lng1)
        a = (math.sin(dp / 2) ** 2 +
             math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2)
        return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))

    def nearby(self, lat, lng, radius_m, count):
        ddeg = math.degrees(radius_m / EARTH_M)
        lo, hi = lat - ddeg, lat + ddeg
        rows = range(max(0, int((lo + 90) * CELLS_PER_DEG)),
                     min(180 * CELLS_PER_DEG - 1,
                         int((hi + 90) * CELLS_PER_DEG)) + 1)
        cosl = math.cos(math.radians(lat))
        if lo <= -90 or hi >= 90 or math.sin(radius_m / EARTH_M) >= cosl:
            cols = range(360 * CELLS_PER_DEG)
        else:
            dl = math.degrees(math.asin(math.sin(radius_m / EARTH_M) / cosl))
            c0 = int(math.floor((lng - dl + 180) * CELLS_PER_DEG))
            c1 = int(math.floor((lng + dl + 180) * CELLS_PER_DEG))
            cols = [c % (360 * CELLS_PER_DEG) for c in range(c0, c1 + 1)]
        hits = []
        for r in rows:
            for c in cols:
                for p in self.grid.get((r, c), ()):
                    d = self.distance(lat, lng, p[0], p[1])
                    if d <= radius_m:
                        hits.append((d, p))
        hits.sort(key=lambda h: h[0])
        results = [{
            "geometry": {"location": {"lat": p[0], "lng": p[1]}},
            "name": p[2],
            "types": ["locality", "political"],
            "vicinity": p[3],
        } for _, p in hits[:count]]
        return {
            "html_attributions": [self.attribution],
            "results": results,
            "status": "OK" if results else "ZERO_RESULTS",
        }


class Server:
    def __init__(self, name, places):
        self.name = name
        self.places = places
        self.clients = {}   # id -> (stamp_ns, lat, lng, AT line)

    def iamat(self, f):
        m, t = COORD.match(f[2]), STAMP.match(f[3])
        if m is None or t is None:
            return None
        lat, lng = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return None
        stamp = int(t.group(1)) * 10**9 + int((t.group(2) or "0").ljust(9,
                                                                        "0"))
        diff = time.time_ns() - stamp
        sign = "+" if diff >= 0 else "-"
        diff = abs(diff)
        at = "AT %s %s%d.%09d %s %s %s" % (self.name, sign, diff // 10**9,
                                           diff % 10**9, f[1], f[2], f[3])
        old = self.clients.get(f[1])
        if old is None or stamp > old[0]:
            self.clients[f[1]] = (stamp, lat, lng, at)
        return at + "\n"

    def whatsat(self, f):
        rec = self.clients.get(f[1])
        try:
            radius, count = float(f[2]), int(f[3])
        except ValueError:
            return None
        if rec is None or not (0 < radius <= 50) or not (1 <= count <= 20):
            return None
        doc = self.places.nearby(rec[1], rec[2], radius * 1000, count)
        text = re.sub(r"\n\n+", "\n", json.dumps(doc, indent=2)).rstrip("\n")
        return rec[3] + "\n" + text + "\n\n"

    def command(self, line):
        f = line.split()
        reply = None
        if len(f) == 4 and f[0] == "IAMAT":
            reply = self.iamat(f)
        elif len(f) == 4 and f[0] == "WHATSAT":
            reply = self.whatsat(f)
        if reply is None:
            reply = "? %s\n" % line.rstrip("\r\n")
        return reply

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        log.info("new connection from %s", peer)
        try:
            while True:
                data = await reader.readline()
                if not data:
                    break
                line = data.decode(errors="replace")
                log.info("received %r", line)
                reply = self.command(line)
                log.info("sent %r", reply)
                writer.write(reply.encode())
                await writer.drain()
        except (ConnectionError, ValueError) as e:
            log.info("dropped connection %s: %s", peer, e)
        log.info("closed connection from %s", peer)
        writer.close()


async def serve(a):
    t0 = time.monotonic()
    places = Places(a.dataset)
    log.info("loaded %d places in %.1f ms", places.count,
             (time.monotonic() - t0) * 1e3)
    server = Server(a.name, places)
    srv = await asyncio.start_server(server.handle, a.host, a.port)
    print("ready", flush=True)
    async with srv:
        await srv.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="Reference")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--log", help="log file (default: standard error)")
    a = ap.parse_args()
    logging.basicConfig(filename=a.log, level=logging.INFO,
                        format="%(asctime)s %(message)s")
    try:
        asyncio.run(serve(a))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
