#!/usr/bin/env python3
"""test_rotate.py -- the herd's keys changed with every server up and
under load (herd.ini(5), Changing the keys): five servers under herdd,
a keyring in secret_file, client threads sending IAMATs to random servers
throughout, and the three steps, each a herdctl reload:

  1. the new key added last everywhere (all dial the old one);
  2. the new key first everywhere (new links dial it, the old is accepted);
  3. the old key removed everywhere (links still on it are closed and come
     up again with the new one).

It checks that no server restarted (herdd applies keys by SIGHUP), that no
link was refused at any step, that every link that came up after step 3
uses the new key (in the logs, and in herdctl status), and, as the other
fault tests do, that no acknowledged update is lost nor stale (acked /
lost / stale).

    meson test -C build fault-rotate --print-errorlogs

Real processes on 127.0.0.1, ports picked by binding port 0, a temporary
directory removed at the end.  Output is TAP.
"""

import json
import re
import secrets
import sys
import time

import faultlib
from faultlib import SEED, Clients, converge, report
from herdlib import wait_for
from herds import Supervised
from tap import ok

REFUSED = re.compile(r"is not in our keyring|refused by the listener|"
                     r"authentication failed")


def taken(h, names):
    """How many workers have logged taking a new keyring (SIGHUP)."""
    return sum(h.log(n).count("SIGHUP: ") for n in names)


def test_rotate(top):
    # secret_file: a keyring to rotate; the default herd's key is one that
    # herdd makes at each start, which never changes while it runs
    h = Supervised(top, "rotate", herd="secret_file = herd.secret")
    clients = None
    try:
        old, new = secrets.token_hex(16), secrets.token_hex(16)
        h.write_keys([old])
        h.start()
        if not ok(h.wait_running(15) is not None,
                  "rotate: the herd comes up under herdd", h.tail()):
            return
        names = list(h.port)
        pids = set(h.worker_pids())
        clients = Clients(h.port, ["rotate-%03d" % i for i in range(300)], 2,
                          SEED)
        clients.start()
        time.sleep(1.0)
        for step, keys in enumerate(([old, new], [new, old], [new]), 1):
            h.write_keys(keys)
            before = taken(h, names)
            rc, out, err = h.ctl("reload", json_out=False, timeout=20)
            got = wait_for(lambda: taken(h, names) >= before + len(names), 10)
            ok(rc == 0 and got, "rotate: step %d: every server took the "
               "keyring by SIGHUP" % step, out + err + h.tail())
            time.sleep(1.5)         # links come and go under load
        clients.finish()
        ok(set(h.worker_pids()) == pids, "rotate: no server restarted",
           h.tail())
        refused = sum(len(REFUSED.findall(h.log(n))) for n in names)
        ok(refused == 0, "rotate: no link refused at any step (%d)" % refused,
           "\n".join(h.log(n)[-2000:] for n in names))
        old_name, new_name = key_names_of(old, new, h)
        last = {n: h.log(n).rsplit("SIGHUP: ", 1)[-1] for n in names}
        stale = sum(s.count("TLS up (%s" % old_name) for s in last.values())
        fresh = sum(s.count("TLS up (%s" % new_name) for s in last.values())
        dropped = sum(s.count("its key was removed from the keyring")
                      for s in last.values())
        ok(stale == 0 and fresh >= dropped,
           "rotate: after the old key's removal, links come up with the new "
           "key only (%d links closed that had the old, %d up with the new)"
           % (dropped, fresh), "\n".join(last.values())[-3000:])
        st = wait_for(lambda: on_key(h, new_name), 10)
        ok(st, "rotate: herdctl status shows every link, both ways, on the "
           "new key (%s)" % new_name, json.dumps(h.status(), indent=1))
        t, v = converge(h.port, clients.acked, time.monotonic())
        report("rotate", clients.n_acked, t, v,
               ", %d failed while links came and went" % clients.n_failed)
    finally:
        if clients is not None:
            clients.finish()
        h.stop()


def on_key(h, name):
    """The status when every server's links, both ways, use the key name
    (herdctl -j status: keys and keys_in), else None."""
    st = h.status()
    return st if st and all(
        n["links"] and set(n["keys"]) == set(n["links"]) and
        set(n["keys_in"]) == set(n["links"]) and
        set(n["keys"].values()) | set(n["keys_in"].values()) == {name}
        for n in st.values()) else None


def key_names_of(old, new, h):
    """The public names of old and new: write each alone, ask herdd -nv."""
    out = []
    for k in (old, new):
        h.write_keys([k])
        out.append(h.key_names()[0])
    h.write_keys([new])
    return out


def main():
    return faultlib.main((test_rotate,), "herd-rotate-", 120)


if __name__ == "__main__":
    sys.exit(main())
