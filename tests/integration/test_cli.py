#!/usr/bin/env python3
"""test_cli.py -- herd-cli against real herd-node processes on 127.0.0.1,
ephemeral ports: IAMAT with the time of now and WHATSAT with its JSON
indented, to a server of herd.ini (-f, -s) or -c HOST:PORT; mistakes told
before anything is sent; the exit statuses; commands from a pipe on one
connection, made again after the server restarts; the interactive mode
through a pty, with its history.  TAP; exit 77 when a binary is
missing."""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import tap
from herdlib import free_ports
from herds import Separate, cleanup
from tap import ok

CLI = os.environ.get("HERD_CLI", "")
AT_RE = re.compile(r"^AT (\S+) ([+-]\d+\.\d{9}) (\S+) (\S+) (\d+\.\d{9})$")


def cli(*args, timeout=15, **kw):
    return subprocess.run([CLI] + list(args), capture_output=True,
                          text=True, timeout=timeout, **kw)


def test_iamat_whatsat(h):
    """iamat with decimal degrees: the AT line of the server named, the
    coordinates signed, a time stamp of now; whatsat at the other server:
    that AT line, then the JSON the server sent, indented."""
    t0 = time.time()
    r = cli("-f", h.conf, "-s", "B", "iamat", "kiwi.cs.ucla.edu",
            "34.068930", "-118.445127")
    m = AT_RE.match(r.stdout.rstrip("\n"))
    ok(r.returncode == 0 and m and m.group(1) == "B" and
       m.group(3) == "kiwi.cs.ucla.edu" and
       m.group(4) == "+34.068930-118.445127" and
       abs(float(m.group(5)) - t0) < 5 and r.stdout.count("\n") == 1,
       "iamat NAME LAT LON: B's AT line, signed ISO 6709, now",
       r.stdout + r.stderr)
    at = r.stdout.rstrip("\n")
    h.known("A", "kiwi.cs.ucla.edu")
    r = cli("-f", h.conf, "-s", "A", "whatsat", "kiwi.cs.ucla.edu", "10",
            "2")
    head, _, body = r.stdout.partition("\n")
    raw = h.whatsat("A", "kiwi.cs.ucla.edu", 10, 2)
    want = json.loads(raw.split("\n", 1)[1])
    try:
        got = json.loads(body)
    except ValueError:
        got = None
    ok(r.returncode == 0 and head == at and got == want,
       "whatsat at A: the AT line B sent, and the JSON A sends", r.stdout +
       r.stderr)
    ok(body.startswith("{\n  \"") and "\n      \"name\": " in body and
       len(body.splitlines()) > 10, "the JSON indented, a member a line",
       body[:400])
    r = cli("-f", h.conf, "-s", "A", "WHATSAT", "kiwi.cs.ucla.edu")
    got = json.loads(r.stdout.partition("\n")[2] or "{}")
    ok(r.returncode == 0 and len(got.get("results", [])) == 5,
       "whatsat NAME: 10 km and 5 results when left out", r.stdout[:300])


def test_target(h):
    """-c HOST:PORT needs no file; without -s, the first server; an
    unknown server or file: exit 78; nobody listening: exit 1."""
    r = cli("-c", "127.0.0.1:%d" % h.port["B"], "iamat", "c1",
            "+1.5-2.5")
    ok(r.returncode == 0 and r.stdout.startswith("AT B ") and
       " c1 +1.5-2.5 " in r.stdout, "-c 127.0.0.1:PORT, ISO 6709 "
       "coordinates", r.stdout + r.stderr)
    r = cli("-f", h.conf, "iamat", "c2", "1", "2")
    ok(r.returncode == 0 and r.stdout.startswith("AT A "),
       "no -s: the file's first server", r.stdout + r.stderr)
    r = cli("-f", h.conf, "-s", "Nobody", "iamat", "c2", "1", "2")
    ok(r.returncode == 78 and "no server Nobody" in r.stderr,
       "-s an unknown server: exit 78", r.stderr)
    r = cli("-f", os.path.join(h.dir, "none.ini"), "help")
    ok(r.returncode == 78 and "none.ini" in r.stderr,
       "a missing file: exit 78", r.stderr)
    port = free_ports(1)[0]
    r = cli("-c", "127.0.0.1:%d" % port, "iamat", "c3", "1", "2")
    ok(r.returncode == 1 and "Connection refused" in r.stderr,
       "nobody listening: exit 1, said why", r.stderr)
    r = cli("-c", "127.0.0.1:%d" % port, "-f", h.conf, "help")
    ok(r.returncode == 64 and r.stderr.startswith("usage:"),
       "-c with -f: usage, exit 64", r.stderr)


def test_mistakes(h):
    """Bad operands are told before anything is sent (exit 64); a line
    the server refuses is shown as it came (exit 1)."""
    before = h.log("A")
    for args, what in ((["iamat", "k", "91", "0"], "bad coordinates"),
                       (["iamat", "k", "+1+2", "x"], "bad time stamp"),
                       (["whatsat", "k", "51"], "a radius above 0"),
                       (["whatsat", "k", "1", "21"], "a count from 1 to 20"),
                       (["frobnicate"], "unknown command")):
        r = cli("-f", h.conf, *args)
        ok(r.returncode == 64 and what in r.stderr and r.stdout == "",
           "%s: %s, exit 64" % (" ".join(args), what), r.stdout + r.stderr)
    ok(h.log("A") == before, "and nothing reached the server",
       h.log("A")[len(before):])
    r = cli("-f", h.conf, "whatsat", "nobody.example")
    ok(r.returncode == 1 and r.stdout == "? WHATSAT nobody.example 10 5\n",
       "an unknown client: the server's ? line, exit 1", r.stdout)
    r = cli("-f", h.conf, "send", "AT", "A", "+0.1", "x", "+1+2", "3")
    ok(r.returncode == 1 and r.stdout == "? AT A +0.1 x +1+2 3\n",
       "send: the line as given, the server's answer", r.stdout)


def test_pipe(h):
    """Commands from a pipe: one connection for all, each reply in turn;
    one that failed makes the status 1; after the server is killed and
    started again, the next command connects again."""
    before = h.log("B").count(" connected from ")
    r = cli("-f", h.conf, "-s", "B", input="iamat p1 1 2\n\nhelp\n"
            "whatsat p1 1 1\nbogus\nquit\niamat never 1 2\n")
    lines = r.stdout.splitlines()
    ok(r.returncode == 1 and lines[0].startswith("AT B ") and
       any(x.startswith("whatsat NAME") for x in lines) and
       "unknown command \"bogus\"" in r.stderr and "never" not in r.stdout,
       "a pipe: each command in turn, quit ends it, exit 1 for bogus",
       r.stdout + r.stderr)
    conns = h.log("B").count(" connected from ") - before
    ok(conns == 1, "on one connection", "%d connections" % conns)
    p = subprocess.Popen([CLI, "-f", h.conf, "-s", "B"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("iamat p2 1 2\n")
        p.stdin.flush()
        first = p.stdout.readline()
        h.kill("B")
        h.start("B")
        p.stdin.write("iamat p3 1 2\n")
        p.stdin.close()
        second = p.stdout.readline()
        p.wait(15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ok(first.startswith("AT B ") and second.startswith("AT B ") and
       " p3 " in second and p.returncode == 0,
       "the server killed and started again: the next command connects "
       "again", first + second + p.stderr.read())


def pty_read(fd, want, timeout=10):
    """What the pty says until want (a regex) matches it, or timeout."""
    out = b""
    end = time.monotonic() + timeout
    while not re.search(want, out.decode("utf-8", "replace")):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode("utf-8", "replace")


def test_interactive(h):
    """On a terminal: the server's name as prompt; a line typed and
    edited (a word rubbed out with ^W) is sent; up-arrow brings back the
    last line; ^D leaves, the history kept in HERD_CLI_HISTORY and read
    again next time."""
    d = tempfile.mkdtemp(prefix="herd-cli-")
    hist = os.path.join(d, "history")
    env = dict(os.environ, HERD_CLI_HISTORY=hist, TERM="xterm", HOME=d)
    try:
        for run in (1, 2):
            pid, fd = pty.fork()
            if pid == 0:
                os.execve(CLI, [CLI, "-f", h.conf, "-s", "A"], env)
            try:
                got = pty_read(fd, r"A> ")
                ok("A> " in got, "run %d: the prompt names the server" %
                   run, got)
                if run == 1:
                    os.write(fd, b"iamat tty1 10 20 oops\x17\r")
                    got = pty_read(fd, r"AT A \S+ tty1 \+10\+20 \d+")
                    ok(re.search(r"AT A \S+ tty1 \+10\+20 \d+", got),
                       "a line edited (^W rubbed out a word) and sent",
                       got)
                    os.write(fd, b"whatsat tty1 1 1\r")
                    got = pty_read(fd, r"\"status\": \"(OK|ZERO_RESULTS)\"")
                    ok("\"status\"" in got, "whatsat answered", got)
                    pty_read(fd, r"A> ", 2)
                else:
                    os.write(fd, b"\x1b[A\x1b[A\r")  # two lines back
                    got = pty_read(fd, r"AT A \S+ tty1 \+10\+20 \d+")
                    ok(re.search(r"AT A \S+ tty1 \+10\+20 \d+", got),
                       "run 2: up-arrow twice brings back run 1's iamat",
                       got)
                    pty_read(fd, r"A> ", 2)
                os.write(fd, b"\x04")
                _, status = os.waitpid(pid, 0)
                pid = 0
                ok(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
                   "run %d: ^D leaves, exit 0" % run, status)
            finally:
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                os.close(fd)
        with open(hist, errors="replace") as f:
            kept = f.read().replace("\\040", " ")   # libedit's encoding
        ok("iamat tty1 10 20" in kept and "whatsat tty1 1 1" in kept,
           "the history file holds the lines typed", kept)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_version(h):
    for flag in ("-h", "--help"):
        r = cli(flag)
        ok(r.returncode == 0 and r.stdout.startswith("usage: herd-cli"),
           "herd-cli %s: usage on stdout, exit 0" % flag, r.stderr)
    r = cli("--version")
    ok(r.returncode == 0 and r.stdout.startswith("herd-cli 0."),
       "--version: " + r.stdout.strip(), r.stderr)
    r = cli("-t", "0", "help")
    ok(r.returncode == 64, "-t 0: exit 64", r.stderr)


def main():
    if not CLI or not os.access(CLI, os.X_OK):
        print("1..0 # SKIP HERD_CLI not set or not executable")
        return 77
    h = Separate(links={"A": ["B"], "B": []})
    try:
        h.start_all()
        h.wait_links()
        return tap.run([test_version, test_iamat_whatsat, test_target,
                        test_mistakes, test_pipe, test_interactive], h,
                       limit=100)
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
