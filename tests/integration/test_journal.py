#!/usr/bin/env python3
"""Integration tests of the journal and of catch-up: real herd-node
processes on loopback with a state_dir (herd-node(8), herd-protocol(7)).

- an AT reply means the update is in the journal: the file is read back
- replies held for the journal and WHATSAT answers keep the commands' order
- a node restarted from its state_dir is sent only what it missed
- compaction rewrites the journal and loses nothing
- a full file system (a 1 MiB tmpfs, needs root) refuses updates with
  "? IAMAT ...", never AT, and recovers by itself once space is back
- a gap that the streams cannot see (a record its neighbour is thought to
  have) is found by the digests and repaired
- a lost journal tail (the neighbour saw changes we no longer have) starts
  a new epoch and a full catch-up
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib

from herdlib import exchange, wait_for
from herds import Separate
from tap import run


def iamats(ids, t, pad=""):
    return "".join("IAMAT %s%s +1.5-2.5 %d.%09d\n" % (pad, i, t, n)
                   for n, i in enumerate(ids)).encode()


def send(h, name, data, timeout=30):
    s = h.connect(name, timeout)
    try:
        return exchange(s, data, timeout).decode()
    finally:
        s.close()


def answers(h, name, ids):
    """{id: AT line or None} from pipelined WHATSATs."""
    out = send(h, name, "".join("WHATSAT %s 1 1\n" % i
                                for i in ids).encode())
    got, lines = {}, out.split("\n")
    k = 0
    for i in ids:
        while k < len(lines) and not (lines[k].startswith("AT ") or
                                      lines[k].startswith("? ")):
            k += 1
        if k >= len(lines):
            got[i] = None
            continue
        got[i] = lines[k] if lines[k].startswith("AT ") else None
        k += 1
    return got


def journal(h, name):
    with open(os.path.join(h.dir, "state", name + ".journal"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def seal(body):
    return "%08x %s\n" % (zlib.crc32(body.encode()), body)


def test_at_means_written():
    """Every id answered AT is in the journal when the reply arrives."""
    h = Separate(links={"A": []}, herd="state_dir = state\nfsync = no")
    try:
        h.start("A")
        ids = ["w%d" % i for i in range(2000)]
        out = send(h, "A", iamats(ids, 1700000000))
        n = out.count("\nAT A ") + out.startswith("AT A ")
        assert n == 2000, out[:200]
        j = journal(h, "A")
        missing = [i for i in ids if " %s +1.5-2.5 " % i not in j]
        assert not missing, missing[:5]
        h.kill("A")
        h.start("A")
        got = answers(h, "A", ids[::97])
        assert all(got.values()), got
    finally:
        h.stop()


def test_held_replies_and_answers_in_order():
    """In one batch, ATs held until the journal is written and WHATSAT
    answers given at once go out in the order of the commands: the same
    bytes as from a server without a journal (each AT's time difference
    aside)."""
    cmds = "".join([
        "WHATSAT nobody 10 2\n",
        "IAMAT a +34.068930-118.445127 1700000000.5\n",
        "WHATSAT a 10 2\n", "IAMAT b +40.7128-74.006 1700000000.5\n",
        "WHATSAT a 5 1\n", "bogus\n", "WHATSAT b 10 3\n",
        "IAMAT a +34.068930-118.445127 1700000000.5\n",   # not newer
        "WHATSAT b 20 1\n"]) * 3
    outs = []
    # the shipped state_dir and fsync, and then none: the order without a
    # journal is the one to match
    for herd in ("state_dir = state\nfsync = everysec", "state_dir ="):
        h = Separate(links={"A": []}, herd=herd)
        try:
            h.start("A")
            out = send(h, "A", cmds.encode())
        finally:
            h.stop()
        outs.append(re.sub(r"AT A [+-][0-9.]+ ", "AT A T ", out))
    held, plain = outs
    assert held.count("\n\n") == 12 and held.count("? ") == 6, held[:300]
    assert held.startswith("? WHATSAT nobody 10 2\nAT A T a "), held[:200]
    assert held == plain, "first difference at %d: %r / %r" % (
        next(i for i in range(min(len(held), len(plain)))
             if held[i] != plain[i]), held[:200], plain[:200])


def test_restart_sends_only_what_was_missed():
    h = Separate(links={"A": ["B"], "B": []}, herd="state_dir = state")
    try:
        h.start_all()
        h.wait_links()
        ids = ["r%d" % i for i in range(3000)]
        send(h, "A", iamats(ids, 1700000000))
        assert wait_for(lambda: answers(h, "B", ids[-1:])[ids[-1]], 10, 0.02), \
            "timed out waiting for B has all"
        # A says where its stream is (SEQ) at most every 100 ms while
        # updates flow (herd-protocol(7)): B's mark is exact 0.1 s after
        time.sleep(0.3)
        h.kill("B", signal.SIGTERM)
        send(h, "A", iamats(ids[:10], 1700000001))     # missed by B
        before = len(re.findall(r"link to B: sent", h.log("A")))
        h.start("B")
        assert wait_for(lambda: len(re.findall(r"link to B: sent", h.log("A"))) >
                 before, 10, 0.02), \
            "timed out waiting for the catch-up"
        last = re.findall(r"link to B: sent (\d+) records", h.log("A"))[-1]
        assert last == "10", "sent %s records, not the 10 missed" % last
        assert re.search(r"link to B up: resuming after change \d+",
                         h.log("A")), h.log("A")[-2000:]
        got = answers(h, "B", ids[:10])
        assert all(v and v.endswith(" 1700000001.%09d" % n)
                   for n, v in enumerate(got.values())), got
        # B's own link back to A resumes too: it has nothing A lacks
        sent = re.findall(r"link to A: sent (\d+) records", h.log("B"))
        assert sent and sent[-1] == "0", sent
    finally:
        h.stop()


def test_compaction():
    """The same clients updated over and over: the journal is rewritten
    while clients are served, and nothing is lost."""
    h = Separate(links={"A": []}, herd="state_dir = state\nfsync = everysec")
    try:
        h.start("A")
        ids = ["c%d" % i for i in range(1000)]
        pad = "p" * 60
        for k in range(30):
            send(h, "A", iamats(ids, 1700000000 + k, pad))
        assert wait_for(lambda: "compacted" in h.log("A"), 10, 0.02), \
            "timed out waiting for the compaction"
        size = os.path.getsize(os.path.join(h.dir, "state", "A.journal"))
        assert size < 600000, size
        send(h, "A", iamats(ids, 1700000100, pad))
        h.kill("A")
        h.start("A")
        got = answers(h, "A", [pad + i for i in ids])
        bad = [i for i, v in got.items()
               if not v or not re.search(r" 1700000100\.\d{9}$", v)]
        assert not bad, bad[:3]
        assert "1000 clients" in h.log("A"), h.log("A")[-1500:]
    finally:
        h.stop()


def test_disk_full():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        print("# skipped: needs root to mount a tmpfs")
        return
    h = Separate(links={"A": []}, herd="state_dir = state\nfsync = always")
    state = os.path.join(h.dir, "state")
    os.makedirs(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", state],
                   check=True)
    try:
        with open(os.path.join(state, "filler"), "wb") as f:
            f.write(b"x" * 700000)
        h.start("A")
        pad = "f" * 4000
        ids = ["%s%d" % (pad, i) for i in range(200)]
        s = h.connect("A", 10)
        acked, refused = [], []
        for i in ids:
            line = "IAMAT %s +1.5-2.5 1700000000.5\n" % i
            s.sendall(line.encode())
            r = b""
            while not r.endswith(b"\n"):
                r += s.recv(65536)
            if r.startswith(b"AT "):
                acked.append(i)
            else:
                assert r == line.encode()[:0] + b"? " + line.encode(), r[:80]
                refused.append(i)
        s.close()
        assert acked and refused, (len(acked), len(refused))
        assert refused[0] == ids[len(acked)], "refused are the last ones"
        j = journal(h, "A")
        missing = [i[-4:] for i in acked if i not in j]
        assert not missing, "acked but not in the journal: %s" % missing
        log = h.log("A")
        assert re.search(r"journal \S+: write: No space left on device; "
                         r"updates are refused", log), log[-2000:]
        assert log.count("No space left") == 1, "logged once"
        os.unlink(os.path.join(state, "filler"))
        # it recovers by itself: an update is taken again within a second
        def taken():
            r = send(h, "A", ("IAMAT again +1.5-2.5 1700000001.5\n").encode())
            return r.startswith("AT ")
        assert wait_for(taken, 3, 0.2), \
            "timed out waiting for writes to succeed again"
        assert "written again; updates are taken" in h.log("A")
        h.kill("A")
        h.start("A")
        got = answers(h, "A", acked[-3:] + ["again"])
        assert all(got.values()), got
    finally:
        for p in h.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["umount", "-l", state])
        h.stop()


def test_digest_repairs_a_gap():
    """A record A believes came from B (so its stream never sends it back)
    that B lacks: the digests differ, and A resends that part."""
    h = Separate(links={"A": ["B"], "B": []}, herd="state_dir = state")
    try:
        h.start_all()
        h.wait_links()
        send(h, "A", iamats(["g%d" % i for i in range(50)], 1700000000))
        assert wait_for(lambda: answers(h, "B", ["g49"])["g49"], 10, 0.02), \
            "timed out waiting for B has g49"
        h.kill("A", signal.SIGTERM)
        lseq = max(int(m) for m in re.findall(r"^\w{8} U (\d+) ",
                                                journal(h, "A"), re.M))
        with open(os.path.join(h.dir, "state", "A.journal"), "a") as f:
            f.write(seal("U %d B AT B +0.100000000 ghost +1.5-2.5 "
                         "1700000000.5" % (lseq + 1)))
        h.start("A")
        h.wait_links()
        assert answers(h, "B", ["ghost"])["ghost"] is None, "no gap"
        assert wait_for(lambda: answers(h, "B", ["ghost"])["ghost"], 25, 0.5), \
            "timed out waiting for the repair"
        assert "digests differ in 1 of 32 parts" in h.log("A"), \
            h.log("A")[-2000:]
        assert "its table differs from ours" in h.log("B")
    finally:
        h.stop()


def damage(prefix, n, edit):
    """A and B linked with state_dirs; n updates (ids prefix0..) reach B;
    A is SIGKILLed, edit(lines) rewrites A's journal, A starts again.
    Returns the herd (running) and the ids."""
    h = Separate(links={"A": ["B"], "B": []}, herd="state_dir = state")
    ids = ["%s%d" % (prefix, i) for i in range(n)]
    try:
        h.start_all()
        h.wait_links()
        send(h, "A", iamats(ids, 1700000000))
        assert wait_for(lambda: answers(h, "B", ids[-1:])[ids[-1]], 10, 0.02), \
            "timed out waiting for B has " + ids[-1]
        h.kill("A", signal.SIGKILL)
        path = os.path.join(h.dir, "state", "A.journal")
        with open(path) as f:
            lines = f.readlines()
        with open(path, "w") as f:
            f.writelines(edit(lines))
        h.start("A")
    except BaseException:
        h.stop()
        raise
    return h, ids


def back_at_a(h, ids, what):
    assert wait_for(lambda: all(answers(h, "A", ids).values()), 10, 0.02), \
        "timed out waiting for " + what


def test_cut_tail_full_catch_up():
    """A journal cut at a bad record: the node starts a new epoch with no
    marks, so its neighbour gives back what the cut took."""
    def flip(lines):
        bad = next(i for i, l in enumerate(lines) if " k12 " in l)
        lines[bad] = lines[bad].replace(" k12 ", " k1x ")   # fails its crc
        return lines
    h, ids = damage("k", 20, flip)
    try:
        log = h.log("A")
        assert "changes may be lost: a new epoch" in log, log[-2000:]
        back_at_a(h, ids, "the cut records back at A")
    finally:
        h.stop()


def test_machine_crash_full_catch_up():
    """A journal not closed, last opened in another boot (the machine went
    down under the server, fsync = everysec): whole batches may be gone
    without a cut to find, so the server starts a new epoch, forgets its
    marks, and its neighbour gives back what it holds."""
    def other_boot(lines):
        assert any(l[9:11] == "B " for l in lines), lines[:3]
        # another boot; and the last 3 records gone with it, cleanly
        lines = [seal("B " + "f" * 32) if l[9:11] == "B " else l
                 for l in lines]
        return [l for l in lines if l[9:11] != "U "][:2] + \
            [l for l in lines if l[9:11] == "U "][:7]
    h, ids = damage("m", 10, other_boot)
    try:
        assert "the machine has restarted since" in h.log("A"), \
            h.log("A")[-1500:]
        back_at_a(h, ids, "m7..m9 back at A from B")
        # a clean stop ends the journal with C: no such warning next time
        h.kill("A", signal.SIGTERM)
        with open(os.path.join(h.dir, "state", "A.journal")) as f:
            assert f.readlines()[-1][9:10] == "C"
        h.start("A")
        assert h.log("A").count("the machine has restarted since") == 1
    finally:
        h.stop()


def test_lost_tail_new_epoch():
    """B saw A's changes up to n; A's journal lost its tail: A starts a
    new epoch and B gets everything again (nothing is skipped)."""
    h, ids = damage("t", 20, lambda lines: lines[:-5])  # a power cut
    try:
        assert wait_for(lambda: "a new epoch" in h.log("A"), 10, 0.02), \
            "timed out waiting for the new epoch"
        m = re.search(r"link to B: it has seen our change (\d+), but our "
                      r"newest is (\d+)", h.log("A"))
        assert m and int(m.group(1)) > int(m.group(2)), h.log("A")[-2000:]
        # what A lost comes back from B: A forgot its marks, so B sends
        # everything, even what came from A
        back_at_a(h, ids, "the lost records back at A")
        # A's new updates reach B: none hides under lseqs B has seen
        new = ["n%d" % i for i in range(5)]
        send(h, "A", iamats(new, 1700000005))
        assert wait_for(lambda: all(answers(h, "B", new).values()), 10, 0.02), \
            "timed out waiting for new updates at B"
    finally:
        h.stop()


def test_state_dir_errors():
    """herdd -n catches a state_dir that cannot be used, with file:line;
    a worker given one exits 78 (configuration), not a crash loop."""
    herdd = os.environ.get("HERDD")
    h = Separate(links={"A": []}, herd="state_dir = herd.ini")
    try:
        if herdd:
            p = subprocess.run([herdd, "-n", "-f", h.conf],
                               capture_output=True, text=True, timeout=10)
            assert p.returncode == 78, p
            assert re.search(r"herd\.ini:\d+: state_dir \S+herd\.ini: not a "
                             r"directory", p.stderr), p.stderr
        p = h.start("A", wait=False)
        assert p.wait(10) == 78, p.returncode
        assert "journal:" in h.log("A") or "journal" in h.stderr("A")
    finally:
        h.stop()


if __name__ == "__main__":
    sys.exit(run([test_state_dir_errors, test_at_means_written,
                  test_held_replies_and_answers_in_order,
                  test_restart_sends_only_what_was_missed,
         test_compaction, test_disk_full, test_digest_repairs_a_gap,
         test_cut_tail_full_catch_up, test_machine_crash_full_catch_up,
         test_lost_tail_new_epoch]))
