#!/usr/bin/env python3
"""test_keys.py -- which key each peer link uses, as herdd shows it
(herdctl(8) status, herdd(8) METRICS): three servers under herdd with a
keyring in secret_file.

  keys     every link, both ways, shows the first key's name (herd1:...,
           as herdd -nv prints it) in herdctl -j status (keys, keys_in),
           in herdctl status (a line per server and key under the table)
           and in herdctl metrics (herd_link_key_info); the keyring
           rotated as herd.ini(5) says (new key added, made first, old
           removed, a reload each): links up keep the old key until it
           is removed (those of a server restarted between come up with
           the new one), and then every link shows the new one
  certs    certificates instead (peer_tls_cert): every link shows the
           certificate, cert:NAME:FINGERPRINT
  plain    peer_tls = off: links up, no key anywhere (keys {}, no line,
           no series)

Real processes on 127.0.0.1, ports picked free, a temporary directory
removed at the end.  TAP; exit 77 when a binary is missing."""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys

import herds
from herdlib import wait_for
from herds import Supervised
from pki import make_cert
from tap import ok

MESH = {"A": ["B", "C"], "B": ["C"], "C": []}
KEY_LINE = re.compile(r"^(\S+)\s+key (\S+)  (?:to (\S+))?(?:; )?"
                      r"(?:from (\S+))?$")
INFO = re.compile(r'^herd_link_key_info\{server="([^"]*)",neighbor="([^"]*)"'
                  r',direction="(out|in)",key="([^"]*)"\} 1$')


def expected(h, name):
    """Every link of the mesh, both ways, on key name: a set of (server,
    neighbour, direction, key)."""
    return {(s, o, d, name) for s in h.names for o in h.neighbours(s)
            for d in ("out", "in")}


def from_json(st):
    """The links' keys in a status ({name: node}), as expected() gives
    them; None when a server said nothing of them."""
    out = set()
    for s, n in st.items():
        if n.get("keys") is None or n.get("keys_in") is None:
            return None
        out |= {(s, o, "out", k) for o, k in n["keys"].items()}
        out |= {(s, o, "in", k) for o, k in n["keys_in"].items()}
    return out


def from_text(text):
    """The same from herdctl status's key lines."""
    out = set()
    for line in text.splitlines():
        m = KEY_LINE.match(line)
        if m is None:
            continue
        s, k, to, frm = m.groups()
        out |= {(s, o, "out", k) for o in (to or "").split(",") if o}
        out |= {(s, o, "in", k) for o in (frm or "").split(",") if o}
    return out


def from_metrics(text):
    """The same from herd_link_key_info."""
    return {m.groups() for m in map(INFO.match, text.splitlines()) if m}


def shown(h):
    """(JSON, text, metrics) as herdctl gives them now."""
    st = h.status() or {}
    _, text, _ = h.ctl("status", json_out=False, timeout=10)
    _, metrics, _ = h.ctl("metrics", json_out=False, timeout=10)
    return from_json(st), from_text(text), from_metrics(metrics)


def wait_shown(h, want, what, timeout=15):
    """ok() when JSON, text and metrics all show want within timeout."""
    return ok(wait_for(lambda: all(got == want for got in shown(h)),
                       timeout, 0.2), what,
              "%s\nwant %s" % (shown(h), sorted(want)))


def taken(h):
    """How many workers have logged taking a new keyring (SIGHUP)."""
    return sum(h.log(n).count("SIGHUP: ") for n in h.names)


def reload_keys(h, keys):
    """Write the keyring, herdctl reload, wait until every worker took
    it; True when it did."""
    h.write_keys(keys)
    before = taken(h)
    rc, _, _ = h.ctl("reload", json_out=False, timeout=20)
    return rc == 0 and bool(wait_for(
        lambda: taken(h) >= before + len(h.names), 10))


def test_keys(top):
    old, new = secrets.token_hex(16), secrets.token_hex(16)
    h = Supervised(top, "keys", MESH, secret=old)
    try:
        old_name = h.key_names()[0]
        if not ok(h.up() is not None, "keys: the herd comes up under herdd",
                  h.tail()):
            return
        want = expected(h, old_name)
        wait_shown(h, want, "keys: status, JSON and metrics show %s on "
                   "every link, both ways (%d)" % (old_name, len(want)))
        _, metrics, _ = h.ctl("metrics", json_out=False)
        if shutil.which("promtool") is None:
            ok(True, "keys: promtool check metrics # SKIP no promtool")
        else:
            r = subprocess.run(["promtool", "check", "metrics"],
                               input=metrics, capture_output=True, text=True,
                               timeout=30)
            ok(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
               "keys: promtool check metrics accepts herd_link_key_info",
               r.stdout + r.stderr)
        _, text, _ = h.ctl("status", json_out=False)
        ok(all(re.search(r"^%s +key %s  to \S+; from \S+$" % (s, old_name),
                         text, re.M) for s in h.names),
           "keys: herdctl status: a line per server under the table", text)
        st = h.status()
        ok(all(sorted(n["keys"]) == sorted(n["links"]) for n in st.values()),
           "keys: JSON keys names the links up", json.dumps(st))

        # the rotation of herd.ini(5): the old key stays on the links up
        # until it is removed
        ok(reload_keys(h, [old, new]), "keys: step 1, the new key added",
           h.tail())
        names = h.key_names()
        new_name = names[-1]
        ok(names == [old_name, new_name] and new_name != old_name and
           shown(h) == (want, want, want), "keys: after step 1, every link "
           "still shows the old key", "%s\n%s" % (names, shown(h)))
        ok(reload_keys(h, [new, old]) and
           h.key_names() == [new_name, old_name],
           "keys: step 2, the new key first", h.tail())
        ok(shown(h) == (want, want, want), "keys: after step 2, the links "
           "up still show the old key: it is still in use", shown(h))
        # B restarted: its links come up again, each dialled with the
        # dialler's first key, the new one; the others keep the old
        rc, _, err = h.ctl("kill", "B", json_out=False)
        mixed = {(s, o, d, new_name if "B" in (s, o) else old_name)
                 for s, o, d, _ in want}
        ok(rc == 0, "keys: herdctl kill B", err)
        wait_shown(h, mixed, "keys: B's links, after its restart, show the "
                   "new key; the others still the old")
        ok(reload_keys(h, [new]), "keys: step 3, the old key removed",
           h.tail())
        want = expected(h, new_name)
        wait_shown(h, want, "keys: after step 3, every link shows the new "
                   "key %s, none the old" % new_name)
    finally:
        h.stop()


def test_certs(top):
    if shutil.which("openssl") is None:
        ok(True, "certs: certificates # SKIP no openssl command")
        return
    cert, key, ca, name = make_cert(os.path.join(top, "pki"), list(MESH))
    h = Supervised(top, "certs", MESH, herd="peer_tls_cert = %s\n"
                   "peer_tls_key = %s\npeer_tls_ca = %s" % (cert, key, ca))
    try:
        if not ok(h.up() is not None, "certs: the herd comes up under herdd",
                  h.tail()):
            return
        wait_shown(h, expected(h, name), "certs: every link, both ways, "
                   "shows the certificate it was made with (%s)" % name)
    finally:
        h.stop()


def test_plain(top):
    h = Supervised(top, "plain", MESH, secret=secrets.token_hex(16),
                   herd="peer_tls = off")
    try:
        if not ok(h.up() is not None, "plain: the herd comes up under herdd",
                  h.tail()):
            return
        st = wait_for(lambda: (lambda s: s if s and all(
            len(n["links"]) == 2 for n in s.values()) else None)(
            h.status()), 15)
        ok(st and all(n["keys"] == {} and n["keys_in"] == {}
                      for n in st.values()),
           "plain: peer_tls = off: links up, keys and keys_in {}",
           json.dumps(st))
        _, text, _ = h.ctl("status", json_out=False)
        _, metrics, _ = h.ctl("metrics", json_out=False)
        ok(len(text.splitlines()) == 1 + len(h.names) and
           " key " not in text, "plain: herdctl status has no key line",
           text)
        ok("# TYPE herd_link_key_info gauge" in metrics and
           not from_metrics(metrics) and
           "herd_link_key_info{" not in metrics,
           "plain: no herd_link_key_info series", metrics)
    finally:
        h.stop()


def main():
    return herds.main((test_keys, test_certs, test_plain), "herd-keys-", 120)


if __name__ == "__main__":
    sys.exit(main())
