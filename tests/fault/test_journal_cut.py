#!/usr/bin/env python3
"""test_journal_cut.py -- a node's journal damaged as a crash leaves it: cut
in the middle of its last record, then with a flipped byte in a record
near its end.  Each time the node starts, logs the cut, and keeps exactly
the records before it (herd-node processes, state_dir, fsync = always).

    meson test -C build fault-journal --print-errorlogs

Real processes on 127.0.0.1, ports picked by binding port 0, a temporary
directory removed at the end.  Output is TAP; exit 77 (skip) when a
binary is missing.
"""

import os
import re
import signal
import sys
import zlib

import faultlib
from faultlib import iamat_burst, next_stamp, snapshot, stamp_ns
from herds import Separate
from tap import ok


def journal_records(data):
    """The lines of a journal: [(offset, line without newline)]; a last
    line with no newline is included."""
    out, off = [], 0
    for line in data.split(b"\n"):
        out.append((off, line))
        off += len(line) + 1
    if out and out[-1][1] == b"":
        out.pop()
    return out


def line_ok(line):
    crc, sp, rest = line.partition(b" ")
    return sp == b" " and re.fullmatch(rb"[0-9a-f]{8}", crc) is not None \
        and int(crc, 16) == zlib.crc32(rest)


def journal_updates(data, upto=None):
    """[(offset, client id, time stamp)] of the U records, before upto."""
    out = []
    for off, line in journal_records(data):
        f = line.split(b" ")
        if upto is not None and off >= upto:
            break
        if len(f) >= 10 and f[1] == b"U" and f[4] == b"AT":
            out.append((off, f[7].decode(), f[9].decode()))
    return out


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def journal_restart(h, name, path, cut_at, data, label, ids, acked):
    """Start name on its damaged journal; check the log, the file and the
    answers: everything before cut_at kept, nothing from there on."""
    logs_before = (h.log(name) + h.stderr(name)).count("cut")
    h.start(name)
    text = h.log(name) + h.stderr(name)
    cuts = [ln for ln in text.splitlines()
            if "journal" in ln and "cut" in ln]
    ok(len(cuts) > 0 and text.count("cut") > logs_before,
       "journal: %s: the node starts and logs the cut" % label,
       text[-2000:])
    if cuts:
        print("# journal: %s: %s" % (label, cuts[-1]), flush=True)
    new = read_file(path)
    ok(new[:cut_at] == data[:cut_at] and
       all(line_ok(ln) for _, ln in journal_records(new)) and
       new.endswith(b"\n"),
       "journal: %s: the file keeps its %d bytes before the cut, and only "
       "good lines" % (label, cut_at),
       "bad lines: %s" % [ln[:80] for _, ln in journal_records(new)
                          if not line_ok(ln)][:3])
    kept = {c: stamp_ns(s) for _, c, s in journal_updates(data, cut_at)}
    snap = snapshot(h.port[name], ids)
    answered = {c for c in ids if snap.get(c) not in (None, "?")}
    gone = [c for c in ids if c not in kept]
    ok(answered == set(kept) and all(
        stamp_ns(snap[c]) == kept[c] == acked[c] for c in kept),
       "journal: %s: the %d records before the cut are answered, the %d "
       "from it on are not" % (label, len(kept), len(gone)),
       "answered %d, unknown %s" % (len(answered), gone[:10]))
    return kept


def test_journal(top):
    h = Separate(links={"Solo": []}, top=top, label="journal",
                 herd="state_dir = state\nfsync = always")
    try:
        h.start("Solo")
        path = os.path.join(h.dir, "state", "Solo.journal")
        ids = ["jrnl-%03d" % i for i in range(100)]
        items = [(c,) + next_stamp() for c in ids]
        acked_pairs = iamat_burst(h.port["Solo"], "Solo", items)
        acked = dict(acked_pairs)
        ok(len(acked) == 100, "journal: 100 IAMATs acknowledged (%d)" %
           len(acked))
        h.kill("Solo", signal.SIGKILL)
        data = read_file(path)
        recs = journal_records(data)
        ups = journal_updates(data)
        ok(recs and recs[0][1].split(b" ")[1:3] == [b"H", b"1"] and
           all(line_ok(ln) for _, ln in recs) and
           [c for _, c, _ in ups] == ids,
           "journal: %d lines, an H line first, a good crc on every line, "
           "one U record per IAMAT in order" % len(recs),
           "first lines: %s" % [ln for _, ln in recs[:3]])
        if len(ups) < 10:
            return

        # (a) the last record cut in its middle, as by a crash mid-write
        off, cid, _ = ups[-1]
        line_len = data.index(b"\n", off) - off
        cut = off + line_len // 2
        with open(path, "r+b") as f:
            f.truncate(cut)
        journal_restart(h, "Solo", path, off, data[:cut], "a cut last line",
                        ids, acked)

        # (b) a byte flipped in a record near the end (SIGTERM this time)
        h.kill("Solo", signal.SIGTERM)
        data = read_file(path)
        ups = journal_updates(data)
        off, cid, _ = ups[-5]
        line = data[off:data.index(b"\n", off)]
        pos = off + line.index(cid.encode()) + len(cid) // 2
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with open(path, "wb") as f:
            f.write(bad)
        journal_restart(h, "Solo", path, off, bytes(bad), "a flipped byte",
                        ids, acked)
    finally:
        h.stop()



def main():
    return faultlib.main((test_journal,), "herd-fault-journal-", 60)


if __name__ == "__main__":
    sys.exit(main())
