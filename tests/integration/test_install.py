#!/usr/bin/env python3
"""test_install.py -- herd run like installed software: the defaults that
follow where a binary runs from (paths.h), what herdd -n checks against
this machine (check.h), and meson install into a temporary DESTDIR.  Real
processes on 127.0.0.1 with ephemeral ports, temporary directories removed
at the end.  TAP."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herdtest import Herd, Tap, free_ports, wait_for  # noqa: E402

HERDD = os.environ.get("HERDD", "build/supervisor/herdd")
HERD_NODE = os.environ.get("HERD_NODE", "build/node/herd-node")
DATASET = os.path.abspath(os.environ.get("HERD_DATASET", "data/cities.dat"))
TAP = Tap()
ok = TAP.ok


def run(*argv, timeout=30, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=timeout, **kw)


def test_node_default_dataset():
    """A node from the build tree with no dataset key takes the source
    tree's data/cities.dat (not the installed path, which need not be
    there) and answers WHATSAT from it."""
    h = Herd(links={"A": []}, places="backend = offline\n")
    try:
        h.start("A")
        h.ask("A", "IAMAT kiwi +34.068930-118.445127 %d.0\n" % time.time())
        out = h.whatsat("A", "kiwi", 10, 2)
        body = json.loads(out.split("\n", 1)[1])
        ok(body.get("status") == "OK" and len(body["results"]) == 2,
           "a node with no dataset key answers WHATSAT from the offline "
           "data", out[:500] + h.stderr("A"))
        ok(os.path.join(os.path.dirname(DATASET), "cities.dat") in h.log("A"),
           "it loaded the source tree's data set", h.log("A")[-800:])
    finally:
        h.stop()


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def ephemeral_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    return lo, hi


def test_n_missing_dataset():
    """herdd -n, and herdd at start, refuse a data set that is not there:
    exit 78, with the file and line of the dataset key."""
    d = tempfile.mkdtemp(prefix="herd-install-")
    try:
        port = free_ports(1)[0]
        conf = write(d, "herd.ini", "[herd]\nlog_dir = log\ncontrol = c.sock\n"
                     "[places]\nbackend = offline\ndataset = nope.dat\n"
                     "[server A]\nport = %d\n" % port)
        want = "%s:6: dataset %s: No such file or directory" % (
            conf, os.path.join(d, "nope.dat"))
        r = run(HERDD, "-n", "-f", conf)
        ok(r.returncode == 78 and want in r.stderr,
           "herdd -n: a missing data set is an error (exit 78) naming the "
           "file:line and the path", "exit %d: %s" % (r.returncode, r.stderr))
        r = run(HERDD, "-f", conf, env=dict(os.environ, HERD_NODE=HERD_NODE))
        ok(r.returncode == 78 and want in r.stderr,
           "herdd at start: the same, before any worker starts",
           "exit %d: %s" % (r.returncode, r.stderr))
        conf = write(d, "google.ini", "[places]\nbackend = google\n"
                     "dataset = nope.dat\n[server A]\nport = %d\n" % port)
        r = run(HERDD, "-n", "-f", conf)
        ok(r.returncode == 0, "herdd -n: the google backend needs no data "
           "set", r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_n_ephemeral_ports():
    """herdd -n warns of a port or peer_port in the kernel's ephemeral
    range (an outgoing connection can take it first), and of nothing
    for ports outside it."""
    lo, hi = ephemeral_range()
    d = tempfile.mkdtemp(prefix="herd-install-")
    try:
        inside = free_ports(1)[0]       # bind(0) draws from that range
        outside = lo - 2 if lo > 1100 else hi + 1
        conf = write(d, "herd.ini", "[places]\ndataset = %s\n"
                     "[server In]\nport = %d\npeer_port = %d\n"
                     "[server Out]\nport = %d\npeer_port = %d\n" % (
                         DATASET, inside, outside + 1, outside - 5,
                         outside))
        r = run(HERDD, "-n", "-f", conf)
        ok(r.returncode == 0 and "configuration OK" in r.stderr,
           "a warning only: exit 0", r.stderr)
        ok(("%s:3: server In: port %d lies in the kernel's ephemeral port "
            "range %d-%d" % (conf, inside, lo, hi)) in r.stderr and
           "an outgoing connection can take it first" in r.stderr,
           "herdd -n warns of a port in the ephemeral range", r.stderr)
        ok("server Out" not in r.stderr,
           "and not of ports outside it", r.stderr)
        ports = free_ports(2)
        conf = write(d, "start.ini", "[herd]\nlog_dir = log\ncontrol = c.sock"
                     "\n[places]\ndataset = %s\n[server In]\nport = %d\n"
                     "peer_port = %d\n" % (DATASET, ports[0], ports[1]))
        errpath = os.path.join(d, "herdd.err")
        with open(errpath, "w") as err:
            p = subprocess.Popen([HERDD, "-f", conf], stdout=err, stderr=err,
                                 env=dict(os.environ, HERD_NODE=HERD_NODE))
        try:
            wait_for(lambda: "herd up" in open(errpath).read(), 15, "herd up")
        finally:
            p.terminate()
            p.wait(15)
        out = open(errpath).read()
        ok("server In: port %d and peer_port %d lie in the kernel's "
           "ephemeral port range" % tuple(ports) in out,
           "herdd at start warns of them too", out)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_n_none_here():
    """herdd -n warns when no server's host is this machine (herdd itself
    would exit 78); with -s it does not."""
    d = tempfile.mkdtemp(prefix="herd-install-")
    try:
        conf = write(d, "herd.ini", "[places]\ndataset = %s\n[server Far]\n"
                     "host = 192.0.2.1\nport = 12000\n" % DATASET)
        r = run(HERDD, "-n", "-f", conf)
        ok(r.returncode == 0 and "no server's host is an address of this "
           "machine" in r.stderr, "herdd -n warns that nothing runs here",
           r.stderr)
        r = run(HERDD, "-n", "-s", "Far", "-f", conf)
        ok(r.returncode == 0 and "no server's host" not in r.stderr,
           "herdd -n -s Far: no such warning", r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    for t in (test_node_default_dataset, test_n_missing_dataset,
              test_n_ephemeral_ports, test_n_none_here):
        try:
            t()
        except Exception as e:  # report and go on
            ok(False, t.__name__, repr(e))
    sys.exit(TAP.plan())


if __name__ == "__main__":
    main()
