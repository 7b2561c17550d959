#!/usr/bin/env python3
"""test_scale.py -- what a big herd on one machine needs, with real
processes:

  share      herdd maps one image of the offline data set into every
             worker: each says so, each maps /memfd:herd-places, the
             mapping's proportional set size across the workers adds up
             to no more than one copy, each worker's whole PSS is well
             under a private copy of the data set, and WHATSAT answers
             from it; a reload to another copy of the file gives the
             restarted workers the new image, and a reload to a broken
             data set is refused with file:line, the herd left as it was
  weak       herdd -n names the weak spots of known meshes (a line, a
             ring, a star, the five-server herd) on its standard error,
             and exits 0; herdd at start logs them once
  herd30     30 servers on a seeded random mesh of 60 links, broadcast =
             tree (the default): duplicates prune links; then each update
             costs about N - 1 UPDATE messages by the counters (at most
             1.1 x); with ten servers stopped, every server still
             reachable through live links gets every later update, links
             are grafted, an update 2 s later reaches all of them with
             no GRAFT (the tree is repaired), and those cut off get
             nothing; the ten started again
             catch up, and the tree is back to about N - 1
  notice     a triangle: the tree is two of its links; with the hub
             paused (SIGSTOP: its connections stay open, so nothing
             tells of the break but the lazy link's notices), an update
             reaches the third server by IHAVE and GRAFT within 5 s
  flood30    the same mesh with broadcast = flood: exactly 2L - N + 1
             UPDATE messages per update, and no PRUNE
  rescue     rescue_links = 1 on the line A-B-C: with B stopped, A and C
             link to each other and updates flow both ways; with B back
             the rescue links go and updates take B again; off (the
             default), C does not hear of A's update

Binaries come from HERDD, HERDCTL, HERD_NODE; the data set from
HERD_DATASET.  Every herd lives in a temporary directory removed at the
end, on 127.0.0.1 ports picked by binding port 0.  TAP; exit 77 when a
binary is missing."""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import herdlib
import herds
from herdlib import DATASET, DEFAULT_LINKS, ask, wait_for
from herds import HERDD, Supervised
from tap import ok


def smaps(pid):
    """{mapping name: {field: kB}} summed per name, and the rollup."""
    maps, cur = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0]:
                cur = maps.setdefault(" ".join(parts[5:]) or "[anon]", {})
            elif cur is not None and len(parts) == 3 and parts[2] == "kB":
                cur[parts[0][:-1]] = cur.get(parts[0][:-1], 0) + int(parts[1])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        roll = {p[0][:-1]: int(p[1]) for p in (ln.split() for ln in f)
                if len(p) == 3 and p[2] == "kB"}
    return maps, roll


def image_of(maps):
    for name, m in maps.items():
        if "memfd:herd-places" in name:
            return m
    return None


def test_share(top):
    h = Supervised(top, "share")
    try:
        ok(h.up() is not None, "share: the five-server herd is up")
        st = h.status()
        ok(all("shared with herdd's other workers" in h.log(n)
               for n in DEFAULT_LINKS), "share: every worker maps herdd's image")
        pids = [st[n]["pid"] for n in DEFAULT_LINKS]
        seen = [smaps(p) for p in pids]
        images = [image_of(m) for m, _ in seen]
        ok(all(i is not None for i in images),
           "share: each worker maps /memfd:herd-places")
        if all(i is not None for i in images):
            pss = sum(i.get("Pss", 0) for i in images)
            rss = max(i.get("Rss", 0) for i in images)
            size = max(i.get("Size", 0) for i in images)
            ok(size > 8000 and pss <= rss + 64,
               "share: the image's PSS over five workers is one copy at most"
               " (%d kB PSS, %d kB resident in one, %d kB mapped)"
               % (pss, rss, size))
            private = os.path.getsize(DATASET) // 1024
            worst = max(r.get("Pss", 0) for _, r in seen)
            with open("/proc/%d/maps" % pids[0]) as f:
                asan = "libasan" in f.read()
            if asan:        # its shadow memory: PSS says nothing of ours
                ok(True, "share: # SKIP each worker's PSS (%d kB) under "
                   "ASan" % worst)
            else:
                ok(worst < 12000, "share: each worker's PSS is %d kB at "
                   "most (the data set file alone is %d kB)"
                   % (worst, private))
        r = ask(h.port["Hands"], "IAMAT kiwi +34.068930-118.445127 "
                "1700000000.0\n")
        # three hops from Hands: wait for it to get there
        r = wait_for(lambda: (lambda x: x if x and x.startswith("AT ")
                              else None)(ask(h.port["Welsh"],
                                             "WHATSAT kiwi 10 2\n")), 5)
        ok(r is not None and '"status":"OK"' in r.replace(" ", "") and
           "Westwood" in r, "share: WHATSAT answered from the shared image",
           repr(r)[:300])

        copy = os.path.join(top, "copy.dat")
        shutil.copy(DATASET, copy)
        offline = h.places
        h.places = offline + "\ndataset = %s" % copy
        h.write()
        rc, out, err = h.ctl("reload", json_out=False)
        ok(rc == 0, "share: reload to a copy of the data set", out + err)
        ok(wait_for(lambda: all(("%s, shared" % copy) in h.log(n)
                                for n in DEFAULT_LINKS), 10),
           "share: the restarted workers map the new image")
        bad = os.path.join(top, "bad.dat")
        with open(bad, "wb") as f:
            f.write(b"HERDPLC\0not a data set")
        h.places = offline + "\ndataset = %s" % bad
        h.write()
        before = {n: v["pid"] for n, v in h.status().items()}
        rc, out, err = h.ctl("reload", json_out=False)
        ok(rc == 1 and "herd.ini:" in err and bad in err,
           "share: a reload to a broken data set is refused with file:line",
           out + err)
        after = {n: v["pid"] for n, v in h.status().items()}
        ok(before == after, "share: and the herd is left as it was")
    finally:
        h.stop()


def weak_run(top, label, links):
    h = Supervised(top, label, links)
    r = subprocess.run([HERDD, "-n", "-f", h.conf], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, [ln.split("herd.ini: ", 1)[1] for ln in
                          r.stderr.splitlines() if "herd.ini: " in ln]


def test_weak(top):
    rc, said = weak_run(top, "line", {"A": ["B"], "B": ["C"], "C": ["D"],
                                      "D": []})
    ok(rc == 0 and said == [
        "A has one link (B): if B is down, A hears no updates",
        "D has one link (C): if C is down, D hears no updates",
        "if the link B-C is down, the herd splits in two: A and B on one "
        "side, C and D on the other"], "weak: a line", repr(said))
    rc, said = weak_run(top, "ring", {"A": ["B"], "B": ["C"], "C": ["D"],
                                      "D": ["A"]})
    ok(rc == 0 and said == [], "weak: a ring has none", repr(said))
    rc, said = weak_run(top, "star", {"Hub": ["A", "B", "C"], "A": [],
                                      "B": [], "C": []})
    ok(rc == 0 and said == [
        "A has one link (Hub): if Hub is down, A hears no updates",
        "B has one link (Hub): if Hub is down, B hears no updates",
        "C has one link (Hub): if Hub is down, C hears no updates"],
       "weak: a star", repr(said))
    rc, said = weak_run(top, "five", DEFAULT_LINKS)
    ok(rc == 0 and said == [
        "Welsh has one link (Holiday): if Holiday is down, Welsh hears no "
        "updates"], "weak: the five-server herd", repr(said))
    h = Supervised(top, "weaklog")
    try:
        ok(h.up() is not None, "weak: the five-server herd is up")
        log = h.log()
        ok(log.count("Welsh has one link (Holiday)") == 1,
           "weak: herdd logs it once at start")
    finally:
        h.stop()


def known(h, name, cid):
    r = ask(h.port[name], "WHATSAT %s 10 1\n" % cid)
    return r is not None and r.startswith("AT ")


def test_rescue(top):
    line = {"A": ["B"], "B": ["C"], "C": []}
    h = Supervised(top, "rescue", line, herd="rescue_links = 1")  # under test
    try:
        ok(h.up() is not None, "rescue: the line A-B-C is up")
        ok(wait_for(lambda: all(len(n.get("links") or []) == len(
            [1 for a, nb in line.items() for b in nb if name in (a, b)])
            for name, n in h.status().items()), 10),
           "rescue: its links are up")
        ok(h.ctl("stop", "B")[0] == 0, "rescue: B stopped")
        up = wait_for(lambda: "C" in (h.node("A").get("links") or []) and
                      "A" in (h.node("C").get("links") or []), 10)
        ok(up, "rescue: A and C, cut off, link to each other",
           str(h.status()))
        ok("rescue links to 1 server" in h.log("A"),
           "rescue: A says so in its log")
        ask(h.port["A"], "IAMAT resc-1 +34.0-118.0 1700000000.0\n")
        ok(wait_for(lambda: known(h, "C", "resc-1"), 5),
           "rescue: an update to A reaches C while B is down")
        ask(h.port["C"], "IAMAT resc-2 +34.0-118.0 1700000000.0\n")
        ok(wait_for(lambda: known(h, "A", "resc-2"), 5),
           "rescue: and one to C reaches A")
        ok(h.ctl("start", "B")[0] == 0, "rescue: B started again")
        ok(wait_for(lambda: (h.node("A").get("links") or []) == ["B"] and
                    "A" not in (h.node("C").get("links") or []), 10),
           "rescue: once B is back, the rescue links are dropped",
           str(h.status()))
        ok("dropping 1 rescue link" in h.log("A"),
           "rescue: A says so in its log")
        ask(h.port["A"], "IAMAT resc-3 +34.0-118.0 1700000000.0\n")
        ok(wait_for(lambda: known(h, "C", "resc-3"), 5),
           "rescue: updates go through B again")
    finally:
        h.stop()
    h = Supervised(top, "norescue", line)
    try:
        ok(h.up() is not None, "rescue off: the line A-B-C is up")
        wait_for(lambda: "B" in (h.node("A").get("links") or []), 10)
        ok(h.ctl("stop", "B")[0] == 0, "rescue off: B stopped")
        ask(h.port["A"], "IAMAT nores-1 +34.0-118.0 1700000000.0\n")
        ok(wait_for(lambda: known(h, "C", "nores-1"), 4) is None and
           "C" not in (h.node("A").get("links") or []),
           "rescue off: C does not hear of it: cut off, as configured")
    finally:
        h.stop()


def mesh30(seed=7, n=30):
    """A seeded random connected mesh of n servers, average degree 4."""
    rnd = random.Random(seed)
    edges = set()
    for i in range(1, n):
        j = rnd.randrange(i)
        edges.add((j, i))
    while len(edges) < 2 * n:
        a, b = sorted(rnd.sample(range(n), 2))
        edges.add((a, b))
    names = ["s%02d" % i for i in range(n)]
    links = {nm: [] for nm in names}
    for a, b in sorted(edges):
        links[names[a]].append(names[b])
    return names, sorted(edges), links


def clients_of(h):
    return {n: v.get("clients") or 0 for n, v in (h.status() or {}).items()}


def reach_of(names, edges, alive, src="s00"):
    """The servers src reaches through links between live servers."""
    reach, todo = {src}, [src]
    while todo:
        v = todo.pop()
        for a, b in edges:
            for x, y in ((names[a], names[b]), (names[b], names[a])):
                if x == v and y in alive and y not in reach:
                    reach.add(y)
                    todo.append(y)
    return reach


def herd30(top, label, broadcast):
    names, edges, links = mesh30()
    degree = {nm: 0 for nm in names}
    for a, b in edges:
        degree[names[a]] += 1
        degree[names[b]] += 1
    h = Supervised(top, label, links, more_ports=1)
    h.herd = "http = 127.0.0.1:%d" % h.more[0]
    if broadcast != "tree":             # the default
        h.herd += "\nbroadcast = %s" % broadcast
    h.write()
    ok(h.up() is not None, "%s: 30 servers, %d links, up" % (label,
                                                               len(edges)))
    ok(wait_for(lambda: all(len(v.get("links") or []) ==
                            degree[n] for n, v in h.status().items()),
                30), "%s: every link up" % label)
    return h, names, edges


def metric_sum(h, family, match=""):
    st, text = http_get(h.more[0], "/metrics")
    return sum(float(x) for x in re.findall(
        r"^%s\{[^}]*%s[^}]*\} (\S+)$" % (family, re.escape(match)), text,
        re.M))


def quiet(h, timeout=60):
    """herdlib.quiet on this herd's metrics."""
    return herdlib.quiet(lambda: metric_sum(
        h, "herd_tree_messages_total", 'type="eager"'), timeout)


def settle(h, prefix, t0, n1, origins, timeout=60):
    """The mesh quiet, then batches of five updates from origins until one
    costs at most 1.1 (N - 1) UPDATEs each: the duplicates have pruned the
    links back to a tree.  The batches it took, or None past timeout."""
    if not quiet(h, timeout):
        return None
    end = time.monotonic() + timeout
    for k in range(1000):
        if time.monotonic() > end:
            return None
        before = metric_sum(h, "herd_flood_messages_total")
        n = sum(clients_of(h).values())
        updates(h, "%s%d" % (prefix, k), 5, t0 + 10 * k, origins)
        wait_for(lambda: sum(clients_of(h).values()) >= n + 5 * len(
            clients_of(h)), 20)
        time.sleep(0.5)     # the counters travel every 100 ms
        if (metric_sum(h, "herd_flood_messages_total") - before) / 5 <= \
                1.1 * n1:
            return k + 1
    return None


def updates(h, prefix, count, t0, origins=("s00",)):
    for k in range(count):
        ask(h.port[origins[k % len(origins)]], "IAMAT %s-%d +34.0-118.0 "
            "%d.0\n" % (prefix, k, t0 + k))
        time.sleep(0.01)


def test_notice(top):
    """A paused server breaks the tree without closing a connection: only
    the lazy link's notices can tell the server below it what it lacks."""
    tri = {"A": ["B", "C"], "B": ["C"], "C": []}
    h = Supervised(top, "notice", tri, more_ports=1)
    h.herd = "http = 127.0.0.1:%d" % h.more[0]
    h.write()
    stopped = None
    try:
        ok(h.up() is not None and wait_for(lambda: all(
            len(v.get("links") or []) == 2 for v in h.status().values()),
            10), "notice: the triangle A, B, C is up")
        ok(quiet(h), "notice: the mesh quiet (no EAGER for 2.5 s)")
        updates(h, "ntw", 3, 1700000000, ("A",))
        wait_for(lambda: all(c >= 3 for c in clients_of(h).values()), 10)
        time.sleep(0.5)

        def sent(x, y):
            return metric_sum(h, "herd_flood_messages_total",
                              'server="%s",neighbor="%s"' % (x, y))
        pairs = [(x, y) for x in "ABC" for y in "ABC" if x != y]
        before = {p: sent(*p) for p in pairs}
        updates(h, "ntx", 3, 1700000010, ("A",))
        wait_for(lambda: all(c >= 6 for c in clients_of(h).values()), 10)
        time.sleep(0.5)
        moved = {p: sent(*p) - before[p] for p in pairs}
        lazy = [(x, y) for x, y in pairs if x < y and
                moved[(x, y)] == 0 and moved[(y, x)] == 0]
        ok(len(lazy) == 1 and sum(moved.values()) == 6, "notice: the tree "
           "is two of the three links, each update sent twice; the lazy "
           "link: %s" % "-".join(lazy[0] if lazy else "?"), str(moved))
        if len(lazy) != 1:
            return
        x, y = lazy[0]
        hub = ({"A", "B", "C"} - {x, y}).pop()
        eager = {n: set(v.get("eager") or []) for n, v in
                 h.status().items()}
        ok(eager == {hub: {x, y}, x: {hub}, y: {hub}} and
           metric_sum(h, "herd_link_eager") == 4,
           "notice: herdctl status and herd_link_eager say the same: %s-%s "
           "lazy both ways, the hub's links eager" % (x, y), str(eager))
        grafts = metric_sum(h, "herd_tree_messages_total",
                            'server="%s",type="graft"' % y)
        stopped = h.node(hub)["pid"]
        os.kill(stopped, signal.SIGSTOP)
        ask(h.port[x], "IAMAT nty +34.0-118.0 1700000020.0\n")
        t = time.monotonic()
        got = wait_for(lambda: known(h, y, "nty"), 5, 0.05)
        took = time.monotonic() - t
        time.sleep(0.3)
        g = metric_sum(h, "herd_tree_messages_total",
                       'server="%s",type="graft"' % y) - grafts
        ok(got and g >= 1, "notice: with %s paused (its connections open), "
           "%s's update reaches %s by the lazy link's notice and a GRAFT "
           "in %.0f ms (%d GRAFTs)" % (hub, x, y, took * 1e3, g))
        os.kill(stopped, signal.SIGCONT)
        stopped = None
        ok(wait_for(lambda: known(h, hub, "nty"), 5),
           "notice: %s, resumed, has it too" % hub)
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        h.stop()


def test_herd30_flood(top):
    h, names, edges = herd30(top, "flood30", "flood")
    try:
        before = metric_sum(h, "herd_flood_messages_total")
        updates(h, "f30", 20, 1700000000)
        ok(wait_for(lambda: all(c >= 20 for c in clients_of(h).values()),
                    20), "flood30: twenty updates reach all 30 servers")
        time.sleep(0.5)     # the counters travel every 100 ms
        per = (metric_sum(h, "herd_flood_messages_total") - before) / 20
        want = 2 * len(edges) - len(names) + 1
        ok(per == want, "flood30: broadcast = flood sends %.1f UPDATEs per "
           "update, 2L - N + 1 = %d (a spanning tree: %d)" % (
               per, want, len(names) - 1))
        ok(metric_sum(h, "herd_tree_messages_total", 'type="prune"') == 0,
           "flood30: and prunes nothing")
    finally:
        h.stop()


def test_herd30(top):
    h, names, edges = herd30(top, "herd30", "tree")
    n1 = len(names) - 1
    try:
        ok(quiet(h), "herd30: the mesh quiet (no EAGER for 2.5 s)")
        updates(h, "h30w", 20, 1700000000)
        ok(wait_for(lambda: all(c >= 20 for c in clients_of(h).values()),
                    20), "herd30: twenty updates reach all 30 servers")
        time.sleep(0.5)     # the counters travel every 100 ms
        prunes = metric_sum(h, "herd_tree_messages_total", 'type="prune"')
        ok(prunes > 0, "herd30: duplicates pruned links (%d PRUNEs)"
           % prunes)
        four = ("s00", "s07", "s13", "s29")
        b = settle(h, "h30s", 1700001000, n1, four)
        ok(b is not None, "herd30: the tree settles (%s batches of five "
           "updates)" % b)
        base = max(clients_of(h).values())
        before = metric_sum(h, "herd_flood_messages_total")
        bytes0 = metric_sum(h, "herd_peer_bytes_sent_total")
        updates(h, "h30", 20, 1700000020, four)
        ok(wait_for(lambda: all(c >= base + 20 for c in
                                clients_of(h).values()), 20),
           "herd30: twenty more, from four servers, reach all")
        time.sleep(0.5)
        per = (metric_sum(h, "herd_flood_messages_total") - before) / 20
        nbytes = (metric_sum(h, "herd_peer_bytes_sent_total") - bytes0) / 20
        ok(per <= 1.1 * n1, "herd30: the tree sends %.1f UPDATEs per update "
           "(N - 1 = %d; flooding: %d), %.0f bytes on peer links in all"
           % (per, n1, 2 * len(edges) - n1, nbytes))

        rnd = random.Random(2)     # a choice that cuts three servers off
        down = sorted(rnd.sample(names[1:], 10))
        grafts = metric_sum(h, "herd_tree_messages_total", 'type="graft"')
        rc, out, err = h.ctl("stop", *down, json_out=False)
        ok(rc == 0, "herd30: ten servers stopped: %s" % " ".join(down),
           out + err)
        reach = reach_of(names, edges, set(names) - set(down))
        cut = set(names) - set(down) - reach
        t = time.monotonic()
        updates(h, "h30b", 10, 1700000100)
        got = wait_for(lambda: (lambda c: c if all(
            c.get(n, 0) >= base + 30 for n in reach) else None)(clients_of(h)), 20,
            0.05)
        ok(got is not None, "herd30: after the stops, the %d servers still "
           "reachable through live links get every later update (all ten "
           "%.0f ms after the first was sent, by status polls)"
           % (len(reach), (time.monotonic() - t) * 1e3), str(clients_of(h)))
        time.sleep(0.5)
        g = metric_sum(h, "herd_tree_messages_total", 'type="graft"') - grafts
        ok(g > 0, "herd30: the tree repaired itself by %d GRAFTs" % g)
        # repaired within 2 s: a later update needs no notice to get through
        time.sleep(1.5)
        grafts = metric_sum(h, "herd_tree_messages_total", 'type="graft"')
        ask(h.port["s00"], "IAMAT h30c +34.0-118.0 1700000200.0\n")
        got = wait_for(lambda: (lambda c: c if all(
            c.get(n, 0) >= base + 31 for n in reach) else None)(clients_of(h)), 20)
        time.sleep(0.8)     # a notice and a GRAFT would be in by now
        g = metric_sum(h, "herd_tree_messages_total", 'type="graft"') - grafts
        ok(got is not None and g == 0, "herd30: 2 s after the stops, an "
           "update reaches all %d on the repaired tree, with no GRAFT (%d)"
           % (len(reach), g))
        c = clients_of(h)
        ok(all(c.get(n, 0) == base + 20 for n in cut),
           "herd30: the %d cut off (%s) do not, as configured"
           % (len(cut), " ".join(sorted(cut)) or "none"), str(c))

        # back: every link eager again, then pruned back to a tree
        rc, out, err = h.ctl("start", *down, json_out=False)
        ok(rc == 0 and wait_for(lambda: all(
            c >= base + 31 for c in clients_of(h).values()), 30),
           "herd30: the ten started again catch up on all", out + err)
        updates(h, "h30d", 10, 1700000300)
        ok(wait_for(lambda: all(c >= base + 41 for c in
                                clients_of(h).values()), 20),
           "herd30: and get every later update")
        # every link came up again: all eager for 2 s, then pruned back
        b = settle(h, "h30t", 1700002000, n1, four)
        ok(b is not None, "herd30: with all back, the tree settles again "
           "(%s batches of five updates)" % b)
        base = max(clients_of(h).values())
        before = metric_sum(h, "herd_flood_messages_total")
        updates(h, "h30e", 20, 1700000400, four)
        ok(wait_for(lambda: all(c >= base + 20 for c in
                                clients_of(h).values()), 20),
           "herd30: twenty more reach all")
        time.sleep(0.5)
        per = (metric_sum(h, "herd_flood_messages_total") - before) / 20
        ok(per <= 1.1 * n1, "herd30: with all back, the tree sends %.1f "
           "UPDATEs per update again (N - 1 = %d)" % (per, n1))
    finally:
        h.stop()


def http_get(port, path):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=10) as r:
        return r.status, r.read().decode()


def main():
    return herds.main((test_share, test_weak, test_rescue, test_notice,
                       test_herd30, test_herd30_flood), "herd-scale-")


if __name__ == "__main__":
    sys.exit(main())
