#!/usr/bin/env python3
"""test_install.py -- herd run like installed software: the defaults that
follow where a binary runs from (paths.h), what herdd -n checks against
this machine (check.h), and meson install into a temporary DESTDIR.  Real
processes on 127.0.0.1 with ephemeral ports, temporary directories removed
at the end.  TAP."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from herdlib import DATASET, free_ports, wait_for
from herds import HERDD, NODE, Separate, Supervised
from tap import ok
import tap


def run(*argv, timeout=30, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True,
                          timeout=timeout, **kw)


def test_node_default_dataset():
    """A node from the build tree with no dataset key takes the source
    tree's data/cities.dat (not the installed path, which need not be
    there) and answers WHATSAT from it."""
    h = Separate(links={"A": []}, places="backend = offline\n")
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
        port = 12345                    # never bound: herdd stops before
        conf = write(d, "herd.ini", "[herd]\nlog_dir = log\ncontrol = c.sock\n"
                     "[places]\nbackend = offline\ndataset = nope.dat\n"
                     "[server A]\nport = %d\n" % port)
        want = "%s:6: dataset %s: No such file or directory" % (
            conf, os.path.join(d, "nope.dat"))
        r = run(HERDD, "-n", "-f", conf)
        ok(r.returncode == 78 and want in r.stderr,
           "herdd -n: a missing data set is an error (exit 78) naming the "
           "file:line and the path", "exit %d: %s" % (r.returncode, r.stderr))
        r = run(HERDD, "-f", conf, env=dict(os.environ, HERD_NODE=NODE))
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
        h = Supervised(d, "start", {"In": []})  # free ports: ephemeral
        h.start()
        try:
            assert wait_for(lambda: "herd up" in h.stderr(), 15, 0.02), \
                "timed out waiting for herd up"
        finally:
            h.stop()
        out = h.stderr()
        ok("server In: port %d and peer_port %d lie in the kernel's "
           "ephemeral port range" % (h.port["In"], h.peer_port["In"]) in out,
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


BUILD = os.environ.get("HERD_BUILD_ROOT", "build")
SYSCONFDIR = os.environ.get("HERD_SYSCONFDIR", "/usr/local/etc")
DATADIR = os.environ.get("HERD_DATADIR", "/usr/local/share")
LOCALSTATEDIR = os.environ.get("HERD_LOCALSTATEDIR", "/var/local")
RUNSTATEDIR = os.environ.get("HERD_RUNSTATEDIR", "/run")
PREFIX = os.environ.get("HERD_PREFIX", "/usr/local")


def meson_install(dest):
    return run("meson", "install", "-C", BUILD, "--no-rebuild", "--destdir",
               dest, timeout=120)


def installed_conf(path):
    """The [herd] and [places] keys of an installed herd.ini."""
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.split(";", 1)[0].strip()
            if "=" in line:
                k, v = (x.strip() for x in line.split("=", 1))
                keys.setdefault(k, v)
    return keys


def test_meson_install():
    """meson install --destdir: the programs, manual pages, data set,
    herd.ini with the installed paths, the two systemd units and the
    logrotate file; a second install keeps an edited herd.ini; the
    installed programs take the installed defaults."""
    if not shutil.which("meson"):
        print("# skip: meson is not installed")
        return
    dest = tempfile.mkdtemp(prefix="herd-destdir-")
    try:
        r = meson_install(dest)
        ok(r.returncode == 0, "meson install --destdir", r.stdout + r.stderr)
        sbin = os.path.join(dest + PREFIX, "sbin")
        conf = dest + os.path.join(SYSCONFDIR, "herd", "herd.ini")
        units = dest + os.path.join(PREFIX, "lib", "systemd", "system")
        want = [os.path.join(sbin, p) for p in ("herdd", "herdctl",
                                                 "herd-node")]
        want += [dest + os.path.join(DATADIR, *p) for p in (
            ("herd", "cities.dat"), ("herd", "status.html"),
            ("man", "man8", "herdd.8"),
            ("man", "man8", "herdctl.8"), ("man", "man8", "herd-node.8"),
            ("man", "man5", "herd.ini.5"), ("man", "man7", "herd-protocol.7"),
            ("doc", "herd", "NOTICE"))]
        want += [conf, os.path.join(units, "herdd.service"),
                 os.path.join(units, "herd-node@.service"),
                 dest + os.path.join(SYSCONFDIR, "logrotate.d", "herd")]
        missing = [w for w in want if not os.path.isfile(w)]
        ok(not missing, "every file is installed", "missing: %s\ninstalled: "
           "%s" % (missing, "\n".join(os.path.join(r_, f) for r_, _, fs in
                                       os.walk(dest) for f in fs)))
        ok(all(os.access(p, os.X_OK) for p in want[:3]),
           "the programs are executable")

        keys = installed_conf(conf)
        paths = {"log_dir": os.path.join(LOCALSTATEDIR, "log", "herd"),
                 "state_dir": os.path.join(LOCALSTATEDIR, "lib", "herd"),
                 "control": os.path.join(RUNSTATEDIR, "herd", "herd.sock"),
                 "dataset": os.path.join(DATADIR, "herd", "cities.dat")}
        ok(all(keys.get(k) == v for k, v in paths.items()),
           "the installed herd.ini has the installed paths",
           "%s\nwant %s" % (keys, paths))
        ok(keys.get("log_level") == "notice",
           "the installed herd.ini logs at notice (connections and faults, "
           "not every line)", str(keys))
        ok(keys.get("http") == "127.0.0.1:9180",
           "the installed herd.ini serves its status page on 127.0.0.1:9180",
           str(keys))
        with open(os.path.join(units, "herdd.service")) as f:
            unit = f.read()
        ok("ExecStart=%s/herdd -f %s/herd/herd.ini\n" % (
            os.path.join(PREFIX, "sbin"), SYSCONFDIR) in unit and
           "ExecReload=%s/herdctl -f %s/herd/herd.ini reload\n" % (
               os.path.join(PREFIX, "sbin"), SYSCONFDIR) in unit,
           "herdd.service runs the installed herdd and herdctl", unit)
        with open(dest + os.path.join(SYSCONFDIR, "logrotate.d", "herd")) as f:
            rot = f.read()
        ok(rot.startswith("#") and "%s/log/herd/*.log {" % LOCALSTATEDIR in rot
           and "herdctl -f %s/herd/herd.ini reopen" % SYSCONFDIR in rot,
           "logrotate: the installed log_dir, herdctl reopen", rot)

        with open(conf, "a") as f:
            f.write("; edited by the administrator\n")
        r = meson_install(dest)
        with open(conf) as f:
            kept = f.read()
        ok(r.returncode == 0 and kept.endswith("; edited by the "
                                               "administrator\n"),
           "a second install leaves an edited herd.ini alone",
           r.stdout + r.stderr)

        herdd = os.path.join(sbin, "herdd")
        tmp = tempfile.mkdtemp(prefix="herd-installed-", dir=dest)
        if os.path.exists(os.path.join(SYSCONFDIR, "herd", "herd.ini")):
            print("# skip: %s/herd/herd.ini exists on this machine"
                  % SYSCONFDIR)
        else:
            r = run(herdd, "-n", cwd=tmp)
            ok(r.returncode == 78 and ("%s/herd/herd.ini: No such file" %
                                       SYSCONFDIR) in r.stderr,
               "installed herdd reads %s/herd/herd.ini by default"
               % SYSCONFDIR, r.stderr)
        port = 12345                    # -n binds nothing
        mini = write(tmp, "mini.ini", "[places]\ndataset = %s\n"
                     "[server A]\nport = %d\n" % (DATASET, port))
        r = run(herdd, "-nv", "-f", mini, cwd=tmp)
        for k in ("log_dir", "state_dir", "control"):
            ok(("%s = %s\n" % (k, paths[k])) in r.stdout or
               ("state_dir %s" % paths[k]) in r.stderr,
               "installed herdd: default %s = %s" % (k, paths[k]),
               r.stdout + r.stderr)
        if os.path.exists(paths["dataset"]):
            print("# skip: %s exists on this machine" % paths["dataset"])
        else:
            bare = write(tmp, "bare.ini", "[herd]\nstate_dir =\n"
                         "[server A]\nport = %d\n" % port)
            r = run(herdd, "-n", "-f", bare, cwd=tmp)
            ok(r.returncode == 78 and "dataset %s (the default): No such "
               "file" % paths["dataset"] in r.stderr,
               "installed herdd: the default data set %s, missing: exit 78"
               % paths["dataset"], r.stderr)
        page = os.path.join(DATADIR, "herd", "status.html")
        if os.path.exists(page):
            print("# skip: %s exists on this machine" % page)
        else:
            web = write(tmp, "web.ini", "[herd]\nstate_dir =\nhttp = "
                        "127.0.0.1:9180\n[places]\ndataset = %s\n"
                        "[server A]\nport = %d\n" % (DATASET, port))
            r = run(herdd, "-n", "-f", web, cwd=tmp)
            ok(r.returncode == 78 and "web.ini:3: http: the status page %s: "
               "No such file" % page in r.stderr,
               "installed herdd -n: http with no status page at %s: exit 78"
               % page, r.stderr)

        if not shutil.which("systemd-analyze"):
            print("# skip: systemd-analyze is not installed (Debian: "
                  "apt-get install systemd)")
        else:
            # verify wants the programs where the units say: point them
            # into DESTDIR
            vdir = tempfile.mkdtemp(prefix="units-", dir=dest)
            files = []
            for u in ("herdd.service", "herd-node@.service"):
                with open(os.path.join(units, u)) as f:
                    text = f.read().replace(
                        os.path.join(PREFIX, "sbin") + "/", sbin + "/")
                files.append(write(vdir, u, text))
            r = run("systemd-analyze", "verify", "--man=no", *files)
            ok(r.returncode == 0 and not r.stdout.strip() and
               not r.stderr.strip(), "systemd-analyze verify: both units "
               "clean", r.stdout + r.stderr)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(tap.run((test_node_default_dataset, test_n_missing_dataset,
                      test_n_ephemeral_ports, test_n_none_here,
                      test_meson_install)))
