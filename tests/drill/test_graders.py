#!/usr/bin/env python3
"""test_graders.py -- the drill course graders run, on the herd as shipped.

etc/herd.ini with every default (shipped.py: only ports and the data set's
path differ).  For each of the ten pairs of the five servers: both are
stopped, 0.3 s later an IAMAT goes to one of the three left and, at once
(a few ms), a WHATSAT to each of them; every server still connected to the
origin through live links must know the update (a miss: it answers `?`).
Then both are started again, 0.5 s, and the next pair.

  separate   herd-node processes, as graders start them: two rounds with
             SIGKILL, two with SIGTERM (40 cases)
  herdd      under herdd: two rounds of `herdctl stop A B` / `start A B`,
             one of SIGKILL and one of SIGTERM to both workers, which herdd
             starts again (only servers connected through the three not
             killed count) (40 cases)

Each case reports the tree around a miss (every server's log lines about
its links since the case began), so that a failure says why.
"""
import itertools
import os
import signal
import sys
import time

import herds
from herdlib import LogTail, accepting, ask, wait_for
from herds import Separate, Supervised
from tap import ok

STAMP = [1700000000]


def case(h, down, origin, live, label, logs):
    """One case: an IAMAT at origin, then at once a WHATSAT at each of
    live.  Returns the misses: (server, reply) for each server origin
    reaches through live links that does not know the update."""
    STAMP[0] += 1
    cid = "drill%d" % STAMP[0]
    r = ask(h.port[origin], "IAMAT %s +34.068930-118.445127 %d.5\n" % (
        cid, STAMP[0]))
    if r is None or not r.startswith("AT "):
        return [(origin, "IAMAT: %r" % r)]
    replies = {origin: ask(h.port[origin], "WHATSAT %s 10 1\n" % cid)}
    # "at once (a few ms)", as graders ask: the two asks above took about
    # 1 ms; 3 ms more keep a busy two-core machine's scheduling out of it
    # (a lazy link's notice would take 250 ms or more)
    time.sleep(0.003)
    for n in live:
        if n != origin:
            replies[n] = ask(h.port[n], "WHATSAT %s 10 1\n" % cid)
    want = h.reach(origin, live)
    misses = [(n, (replies.get(n) or "no answer").splitlines()[0][:80])
              for n in sorted(want)
              if not (replies.get(n) or "").startswith("AT ")]
    if misses:
        print("# %s: %s down, update at %s: missed by %s" % (
            label, "+".join(down), origin, misses))
        for n in sorted(live):
            for line in logs(n):
                print("#   %s: %s" % (n, line))
    return misses


def wait_up(h, names):
    return wait_for(lambda: all(accepting(h.port[n], 0.2) for n in names), 10)


class Marks:
    """Each server's log since the case began (mark()), its lines about
    links."""

    def __init__(self, h):
        self.h = h
        self.tails = {}

    def mark(self):
        self.tails = {n: LogTail(self.h.log_path(n)) for n in self.h.names}

    def logs(self, n):
        return [ln for ln in self.tails[n].text().splitlines()
                if "link" in ln or "peer" in ln or "EAGER" in ln or
                "tree" in ln][-40:]


def drill(label, h, stop_pair, start_pair, rounds):
    """rounds: what each round passes to stop_pair.  Returns the misses."""
    marks = Marks(h)
    cases, misses = 0, []
    for rnd in rounds:
        for i, pair in enumerate(itertools.combinations(h.names, 2)):
            live = [n for n in h.names if n not in pair]
            origin = live[(i + cases) % len(live)]
            marks.mark()
            stop_pair(pair, rnd)
            time.sleep(0.3)
            # under herdd a killed worker may be back by now: count only
            # the servers connected through those not killed
            m = case(h, pair, origin, live, "%s %s" % (
                label, getattr(rnd, "name", rnd)), marks.logs)
            cases += 1
            misses += m
            start_pair(pair, rnd)
            time.sleep(0.5)
    return cases, misses


def test_separate(top):
    h = Separate(top=top, label="separate", shipped=True)
    try:
        for n in h.names:
            h.start(n, wait=False)
        ok(wait_up(h, h.names), "separate: the shipped herd's five "
           "herd-node processes listen")
        time.sleep(1.0)     # the links come up

        def stop_pair(pair, sig):
            for n in pair:
                h.kill(n, sig)

        def start_pair(pair, sig):
            for n in pair:
                h.start(n, wait=False)
            wait_up(h, pair)

        k = signal.SIGKILL
        t = signal.SIGTERM
        t0 = time.monotonic()
        cases, misses = drill("separate", h, stop_pair, start_pair,
                              (k, t, k, t))
        ok(cases == 40 and not misses, "separate: two of five killed "
           "(SIGKILL, SIGTERM), an IAMAT 0.3 s later and at once a "
           "WHATSAT at the others: %d misses in %d cases (%.0f s)"
           % (len(misses), cases, time.monotonic() - t0), str(misses))
    finally:
        h.stop()


def test_herdd(top):
    h = Supervised(top, "herdd", shipped=True)
    try:
        h.start()
        ok(wait_for(h.all_running, 20), "herdd: the shipped herd is running")
        time.sleep(1.0)     # the links come up

        def stop_pair(pair, how):
            if how == "stop":
                rc, out, err = h.ctl("stop", *pair, json_out=False)
                if rc != 0:
                    print("# herdctl stop: %s" % (out + err))
                return
            st = h.status() or {}
            for n in pair:
                if st.get(n, {}).get("pid"):
                    os.kill(st[n]["pid"], getattr(signal, how))

        def start_pair(pair, how):
            if how == "stop":
                rc, out, err = h.ctl("start", *pair, json_out=False)
                if rc != 0:
                    print("# herdctl start: %s" % (out + err))
            wait_for(lambda: (lambda s: all(
                s.get(n, {}).get("state") == "running" for n in pair))(
                h.status() or {}), 20)
            wait_up(h, pair)

        t0 = time.monotonic()
        cases, misses = drill("herdd", h, stop_pair, start_pair,
                              ("stop", "SIGKILL", "SIGTERM", "stop"))
        ok(cases == 40 and not misses, "herdd: two of five stopped "
           "(herdctl stop) or killed (SIGKILL, SIGTERM: herdd restarts "
           "them), an IAMAT 0.3 s later and at once a WHATSAT at the "
           "others: %d misses in %d cases (%.0f s)" % (
               len(misses), cases, time.monotonic() - t0), str(misses))
        st = h.status() or {}
        ok(st and all(v["state"] == "running" for v in st.values()),
           "herdd: every worker running after the drill",
           str({n: v["state"] for n, v in st.items()}))
    finally:
        h.stop()


def main():
    return herds.main((test_separate, test_herdd), "herd-drill-", limit=600)


if __name__ == "__main__":
    sys.exit(main())
