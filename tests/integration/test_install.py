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


def main():
    for t in (test_node_default_dataset,):
        try:
            t()
        except Exception as e:  # report and go on
            ok(False, t.__name__, repr(e))
    sys.exit(TAP.plan())


if __name__ == "__main__":
    main()
