#!/usr/bin/env python3
"""test_mixed.py -- a herd of mixed releases under load (herd-protocol(7),
features): the shipped five-server mesh as separate herd-node processes,
two of which (Goloman, Welsh) speak no feature word
(HERD_PEER_FEATURES empty, as a release without the broadcast tree would),
the other three every one.  Client threads send IAMATs to random servers
for a few seconds; meanwhile each pair builds the tree only where both
speak +tree, and floods to and from the others.

Checked: no link is refused or dropped for a message its other end does
not speak (an IHAVE, EAGER, GRAFT or PRUNE to a server without +tree);
the servers that speak +tree still prune between themselves, never a link
of a server without it; and no acknowledged update is lost nor stale
(acked / lost / stale, as the other fault tests report).

    meson test -C build fault-mixed --print-errorlogs
"""

import re
import sys
import time

import faultlib
from faultlib import SEED, Clients, converge, report
from herdlib import wait_for
from herds import Separate
from tap import ok

OLD = ("Goloman", "Welsh")          # no feature words: base protocol only
SECRET = "a-test-secret-of-the-herd-0123456789"
REFUSED = re.compile(r"without \+tree|unexpected (GRAFT|PRUNE)|protocol error")


def test_mixed(top):
    # a secret, as a herd under herdd has: the links speak TLS, as shipped
    h = Separate(top=top, label="mixed", shipped=True, secret=SECRET)
    clients = None
    try:
        for name in h.names:
            # HERD_DEBUG: the tree's prunes are logged at debug
            env = {"HERD_DEBUG": "1"}
            if name in OLD:
                env["HERD_PEER_FEATURES"] = ""
            h.start(name, wait=False, env=env)
        for name in h.names:
            assert wait_for(lambda: h.accepting(name), 10, 0.02), name
        h.wait_links(timeout=15)
        clients = Clients(h.port, ["mixed-%03d" % i for i in range(500)], 3,
                          SEED)
        clients.start()
        time.sleep(6.0)
        clients.finish()
        logs = {n: h.log(n) for n in h.names}
        bad = [(n, m.group(0)) for n, t in logs.items()
               for m in REFUSED.finditer(t)]
        ok(not bad, "mixed: no link refused for a message its other end "
           "does not speak", repr(bad[:5]))
        new = [n for n in h.names if n not in OLD]
        pruned = sum(len(re.findall(r"link to \S+: pruned from the tree",
                                    logs[n])) for n in new)
        wrong = [(n, o) for n in new for o in OLD
                 if "link to %s: pruned from the tree" % o in logs[n]]
        ok(pruned > 0 and not wrong, "mixed: the servers with +tree prune "
           "between themselves (%d prunes), never a link to one without"
           % pruned, repr(wrong))
        ok(all("HERD_PEER_FEATURES: peer features none" in logs[n]
               for n in OLD), "mixed: Goloman and Welsh speak no feature",
           logs[OLD[0]][-1500:])
        t, v = converge(h.port, clients.acked, time.monotonic())
        report("mixed", clients.n_acked, t, v,
               ", %d failed" % clients.n_failed)
    finally:
        if clients is not None:
            clients.finish()
        h.stop()


def main():
    return faultlib.main((test_mixed,), "herd-mixed-", 120)


if __name__ == "__main__":
    sys.exit(main())
