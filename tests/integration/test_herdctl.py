#!/usr/bin/env python3
"""test_herdctl.py -- herdctl and herdd as commands: -h, --help and
--version answer with exit 0; herdctl reaches herdd through [herd] control
even when the rest of the file is broken (mid-edit), so status and
shutdown still work.  Real processes on 127.0.0.1, ephemeral ports, a
temporary directory removed at the end.  TAP; exit 77 when a binary is
missing."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herdtest import Tap, free_ports  # noqa: E402

HERDD = os.environ.get("HERDD", "")
HERDCTL = os.environ.get("HERDCTL", "")
HERD_NODE = os.environ.get("HERD_NODE", "")
DATASET = os.environ.get("HERD_DATASET", "data/cities.dat")
TAP = Tap()
ok = TAP.ok


def run(*argv, timeout=10):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=timeout)


def test_help_and_version():
    for prog, name in ((HERDCTL, "herdctl"), (HERDD, "herdd")):
        for flag in ("-h", "--help"):
            r = run(prog, flag)
            ok(r.returncode == 0 and r.stdout.startswith("usage: " + name),
               "%s %s: usage on stdout, exit 0" % (name, flag),
               r.stdout + r.stderr)
        r = run(prog, "--version")
        ok(r.returncode == 0 and r.stdout.startswith(name + " 0."),
           "%s --version: %s" % (name, r.stdout.strip()), r.stderr)
    r = run(HERDCTL, "-x")
    ok(r.returncode == 64, "herdctl -x: usage error, exit 64", r.stderr)


def test_broken_file():
    d = tempfile.mkdtemp(prefix="herdctl-")
    p = None
    try:
        port, pport = free_ports(2)
        conf = os.path.join(d, "herd.ini")
        text = ("[herd]\nlog_dir = log\ncontrol = ctl.sock\n[places]\n"
                "backend = offline\ndataset = %s\n[server Solo]\n"
                "host = 127.0.0.1\nport = %d\npeer_port = %d\n" % (
                    os.path.abspath(DATASET), port, pport))
        with open(conf, "w") as f:
            f.write(text)
        env = dict(os.environ, HERD_NODE=HERD_NODE)
        p = subprocess.Popen([HERDD, "-f", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 15
        st = None
        while time.monotonic() < deadline:
            r = run(HERDCTL, "-f", conf, "-j", "status")
            if r.returncode == 0:
                st = json.loads(r.stdout)
                if st["nodes"][0]["state"] == "running":
                    break
            time.sleep(0.1)
        ok(st is not None and st["nodes"][0]["state"] == "running",
           "the herd is up", st)
        # the file breaks (an edit in progress): herdctl still answers
        with open(conf, "a") as f:
            f.write("[server Solo\nnonsense = 1\nport = banana\n")
        r = run(HERDCTL, "-f", conf, "status")
        ok(r.returncode == 0 and "Solo" in r.stdout,
           "status with a broken file", r.stdout + r.stderr)
        r = run(HERDCTL, "-f", conf, "reload")
        ok(r.returncode != 0 and "reload refused" not in r.stdout and
           r.stderr, "reload of the broken file is refused, and said",
           r.stdout + r.stderr)
        r = run(HERDCTL, "-f", conf, "shutdown")
        ok(r.returncode == 0, "shutdown with a broken file",
           r.stdout + r.stderr)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, "herdd stopped, exit 0 (%s)" % rc)
        r = run(HERDCTL, "-f", os.path.join(d, "missing.ini"), "status")
        ok(r.returncode == 78, "a missing file: exit 78", r.stderr)
    finally:
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def main():
    if not (HERDD and HERDCTL and HERD_NODE and os.path.exists(HERDD)):
        print("1..0 # SKIP binaries not given")
        return 77
    signal.alarm(120)
    test_help_and_version()
    test_broken_file()
    return TAP.plan()


if __name__ == "__main__":
    sys.exit(main())
