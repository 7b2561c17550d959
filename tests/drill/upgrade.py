#!/usr/bin/env python3
"""upgrade.py -- the upgrade of a running herd from the previous release
to this one, as herd-protocol(7) (Features) says it: a herd of the
previous build with state_dir under load, herdctl shutdown, this build
started on the same journals; no acknowledged update may be lost.

Not part of meson test: it needs a build of the previous release.  Run it
by hand from the source tree, with that build's directory:

    git worktree add --detach /tmp/prev d5c7a80 && (cd /tmp/prev &&
        meson setup build && ninja -C build)

(d5c7a80: version 0.3.0; any build from before TLS will do: it was tried
with 4996c3b, the last commit before this release's TLS: 51,763 updates
acknowledged, 0 lost, 0 stale.)
    HERD_PREVIOUS_BUILD=/tmp/prev/build PYTHONPATH=tests/lib:tests/fault \\
        python3 tests/drill/upgrade.py [THIS-BUILD]

Output is TAP (acked / lost / stale, as the fault tests report)."""
import importlib
import os
import subprocess
import sys
import tempfile
import time

OLD = os.environ.get("HERD_PREVIOUS_BUILD")
NEW = sys.argv[1] if len(sys.argv) > 1 else "build"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def use(build):
    os.environ["HERDD"] = os.path.join(build, "supervisor", "herdd")
    os.environ["HERDCTL"] = os.path.join(build, "supervisor", "herdctl")
    os.environ["HERD_NODE"] = os.path.join(build, "node", "herd-node")


def main():
    if not OLD:
        print("1..0 # SKIP HERD_PREVIOUS_BUILD is not set")
        return 77
    os.environ.setdefault("HERD_DATASET",
                          os.path.join(ROOT, "data", "cities.dat"))
    use(OLD)
    import herds
    from faultlib import SEED, Clients, converge, report
    from tap import ok
    top = tempfile.mkdtemp(prefix="herd-upgrade-")
    h = herds.Supervised(top, "upgrade",
                         herd="state_dir = state\nfsync = everysec")
    try:
        h.start()
        ok(h.wait_running(15) is not None,
           "upgrade: the previous build's herd is up", h.tail())
        c = Clients(h.port, ["up-%03d" % i for i in range(1000)], 3, SEED)
        c.start()
        time.sleep(4)
        c.finish()
        r = subprocess.run([os.environ["HERDCTL"], "-s", h.sock, "shutdown"],
                           capture_output=True, text=True, timeout=30)
        h.proc.wait(30)
        ok(r.returncode == 0 and h.proc.returncode == 0,
           "upgrade: herdctl shutdown", r.stderr)
        use(os.path.abspath(NEW))
        importlib.reload(herds)     # its binaries, from the environment
        h.start(env={"HERD_NODE": os.environ["HERD_NODE"]})
        ok(h.wait_running(15) is not None,
           "upgrade: this build's herd is up on the same journals", h.tail())
        t, v = converge(h.port, c.acked, time.monotonic())
        report("upgrade", c.n_acked, t, v)
    finally:
        h.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
