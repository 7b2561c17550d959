#!/usr/bin/env python3
"""test_package.py -- the Debian package, as an admin takes it: built
from a copy of the source tree with dpkg-buildpackage (and lintian: no
error, no warning not overridden), then installed with apt into a clean
Debian 12 root made by debootstrap: herdd -n, the default herd started by
the unit's ExecStart line (no systemd in a chroot) in a network namespace
of its own, an IAMAT and a WHATSAT answered over 127.0.0.1 (by the
packaged herd-cli), an upgrade to a newer build with an edited
/etc/herd/herd.ini kept, and apt purge leaving nothing of herd behind.

Needs root, dpkg-buildpackage with the build dependencies, debootstrap,
unshare and ip, and Debian's mirror (HERD_DEBIAN_MIRROR, default
http://deb.debian.org/debian): else exit 77 with the reason.  Every mount it makes is in a mount namespace of its
own (unshare --mount), so none outlives it; the work directory is removed
at the end, whatever happened (HERD_KEEP=1 keeps it after a failure).
TAP."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import tap
from tap import ok

SRC = os.environ.get("HERD_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "bookworm"
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
for k in [k for k in ENV if k.startswith(("MESON_", "ASAN_", "UBSAN_"))] + [
        "MALLOC_PERTURB_", "HERD_SECRET", "HERD_PLACES_KEY"]:
    ENV.pop(k, None)
# what apt, dpkg and the libraries' maintainer scripts leave by design:
# their own state and logs (Debian policy keeps them), and /tmp
KEPT = ("var/lib/dpkg/", "var/lib/apt/", "var/cache/apt/", "var/log/",
        "var/cache/debconf/", "var/cache/ldconfig/", "etc/ld.so.cache",
        "tmp/", "var/lib/systemd/deb-systemd-helper-enabled/",
        "var/lib/systemd/deb-systemd-helper-masked/",
        "var/lib/systemd/deb-systemd-user-helper-enabled/")
# what the dependencies' maintainer scripts make, owned by no package:
# ca-certificates (libcurl4 recommends it) links each certificate and
# makes the directory of local ones
GENERATED = ("etc/ssl/certs/", "etc/ca-certificates.conf",
             "usr/local/share/ca-certificates")


def run(argv, timeout, cwd=None, env=None):
    """argv with ENV (and env) in a process group of its own, killed
    whole past timeout: (exit status, or -1 on a time-out; its output,
    standard error and output together)."""
    p = subprocess.Popen(argv, cwd=cwd, env=dict(ENV, **(env or {})),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return -1, "timed out after %d s\n%s" % (timeout, out)


def mirror():
    """HERD_DEBIAN_MIRROR, else Debian's own."""
    return os.environ.get("HERD_DEBIAN_MIRROR") or \
        "http://deb.debian.org/debian"


def why_not():
    """Why this machine cannot run the test, or None."""
    if os.geteuid() != 0:
        return "not root (debootstrap, chroot and unshare need it)"
    for tool, pkg in (("dpkg-buildpackage", "dpkg-dev"),
                      ("dh", "debhelper"), ("debootstrap", "debootstrap"),
                      ("unshare", "util-linux"), ("ip", "iproute2")):
        if shutil.which(tool) is None:
            return "%s is not installed (Debian: apt-get install %s)" % (
                tool, pkg)
    rc, out = run(["dpkg-checkbuilddeps"], 60, cwd=SRC)
    if rc != 0:
        return "the build dependencies are missing: " + out.strip()
    u = urllib.parse.urlparse(mirror())
    try:
        socket.create_connection((u.hostname, u.port or (
            443 if u.scheme == "https" else 80)), 10).close()
    except OSError as e:
        return "the Debian mirror %s cannot be reached: %s" % (mirror(), e)
    return None


class Work:
    """The work directory: two trees and their packages, the root."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="herd-package-", dir="/var/tmp")
        self.root = os.path.join(self.dir, "root")
        self.debs = {}              # version: path of herd_VERSION_*.deb
        self.version = None

    def cleanup(self):
        """Unmount whatever is left under the root (none should be: the
        mounts are in namespaces of their own), then remove it all."""
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f]
        for m in sorted((m for m in mounts if m.startswith(self.dir + "/")),
                        reverse=True):
            subprocess.run(["umount", "-l", m], timeout=30)
        subprocess.run(["rm", "-rf", "--one-file-system", self.dir],
                       timeout=300)

    def inside(self, script, timeout=300, net=True):
        """script run by /bin/sh in the root, with /proc mounted in a mount
        and pid namespace of its own (both end with it, and every process
        in it); net=False: in a network namespace of its own too, with
        only its loopback up.  (exit status, output)."""
        path = os.path.join(self.root, "tmp", "step.sh")
        with open(path, "w") as f:
            f.write("set -eu\nmount -t proc proc /proc\n" + script)
        argv = ["unshare", "--mount", "--propagation", "private", "--pid",
                "--fork"]
        if not net:
            argv += ["--net", "--", "sh", "-c", 'ip link set lo up && '
                     'exec chroot "$0" /bin/sh /tmp/step.sh', self.root]
        else:
            argv += ["--", "chroot", self.root, "/bin/sh", "/tmp/step.sh"]
        return run(argv, timeout)


def copy_tree(dest):
    """The source tree without build directories, git or packaging
    leftovers."""
    skip = re.compile(r"^(build.*|obj-.*|\.git|debian/herd|debian/\.debhelper"
                      r"|debian/files|.*__pycache__)$")
    shutil.copytree(SRC, dest, symlinks=True, ignore=lambda d, names: [
        n for n in names if skip.match(os.path.relpath(
            os.path.join(d, n), SRC))])


def build(w, tree, version, check):
    """dpkg-buildpackage -us -uc -b in tree; the .deb's path."""
    t0 = time.monotonic()
    rc, out = run(["nice", "dpkg-buildpackage", "-us", "-uc", "-b"], 900,
                  cwd=tree, env=None if check else {
                      "DEB_BUILD_OPTIONS": "nocheck"})
    deb = os.path.join(os.path.dirname(tree), "herd_%s_amd64.deb" % version)
    ok(rc == 0 and os.path.isfile(deb) and os.path.isfile(os.path.join(
        os.path.dirname(tree), "herd-dbgsym_%s_amd64.deb" % version)),
       "dpkg-buildpackage -us -uc -b: herd_%s_amd64.deb and its -dbgsym "
       "(%.0f s%s)" % (version, time.monotonic() - t0,
                       ", with the unit and conf tests" if check else ""),
       out[-3000:])
    assert rc == 0, "the package did not build"
    w.debs[version] = deb
    return deb


def changelog_version():
    with open(os.path.join(SRC, "debian", "changelog")) as f:
        return re.match(r"herd \(([^)]+)\)", f.read()).group(1)


def test_build(w):
    """The package as built from the tree: its files, its conffiles, its
    maintainer scripts, lintian."""
    w.version = changelog_version()
    tree = os.path.join(w.dir, "v1", "herd")
    copy_tree(tree)
    deb = build(w, tree, w.version, True)
    rc, out = run(["dpkg-deb", "-c", deb], 60)
    files = {line.split()[5].lstrip(".") for line in out.splitlines()}
    want = ["/usr/sbin/herdd", "/usr/sbin/herdctl", "/usr/sbin/herd-node",
            "/usr/bin/herd-cli", "/etc/herd/herd.ini", "/etc/logrotate.d/herd",
            "/lib/systemd/system/herdd.service",
            "/lib/systemd/system/herd-node@.service",
            "/usr/share/herd/cities.dat", "/usr/share/herd/status.html",
            "/usr/share/herd/grafana/herd.json",
            "/usr/share/herd/prometheus/herd.rules.yml",
            "/usr/share/bash-completion/completions/herdctl",
            "/usr/share/bash-completion/completions/herd-cli",
            "/usr/share/man/man1/herd-cli.1.gz",
            "/usr/share/man/man8/herdd.8.gz", "/usr/share/doc/herd/copyright"]
    missing = [f for f in want if f not in files]
    ok(rc == 0 and not missing, "the package holds the programs, units, "
       "herd.ini, logrotate, data set, status page, dashboard, rules, "
       "completion and manual pages", "missing: %s\n%s" % (missing, out))
    ok(not any("/usr/lib/systemd" in f for f in files),
       "units only in /lib/systemd/system (Debian 12)")
    ctl = os.path.join(w.dir, "control")
    rc, out = run(["dpkg-deb", "-e", deb, ctl], 60)
    with open(os.path.join(ctl, "conffiles")) as f:
        conffiles = f.read().split()
    ok(conffiles == ["/etc/herd/herd.ini", "/etc/logrotate.d/herd"],
       "conffiles: herd.ini and the logrotate file", conffiles)
    with open(os.path.join(ctl, "postinst")) as f:
        postinst = f.read()
    ok("deb-systemd-helper enable 'herdd.service'" in postinst and
       "_dh_action=restart" in postinst and "herd-node@" not in postinst,
       "postinst enables and starts herdd.service, restarts it on upgrade; "
       "the template is left alone", postinst)
    if shutil.which("lintian") is None:
        print("# skip: lintian is not installed")
        return
    changes = deb.replace(".deb", ".changes")
    rc, out = run(["lintian", "--fail-on", "error,warning", deb, changes],
                  600)
    ok(rc == 0 and not re.search(r"^[EW]: ", out, re.M),
       "lintian: no error, no warning (overridden ones have their reason "
       "in debian/herd.lintian-overrides)", out)


def test_build_newer(w):
    """A newer build: a changelog entry (as dch would write it) and a
    changed herd.ini, in a copy of the tree."""
    tree = os.path.join(w.dir, "v2", "herd")
    shutil.copytree(os.path.join(w.dir, "v1", "herd"), tree, symlinks=True,
                    ignore=shutil.ignore_patterns("obj-*", ".debhelper"))
    up, rev = w.version.rsplit("-", 1)
    w.newer = "%s-%d" % (up, int(rev) + 1)
    path = os.path.join(tree, "debian", "changelog")
    with open(path) as f:
        old = f.read()
    with open(path, "w") as f:
        f.write("herd (%s) unstable; urgency=medium\n\n  * A rebuild for "
                "tests/package: its herd.ini has one more line.\n\n -- The "
                "herd authors <tests@herd.invalid>  %s\n\n" % (
                    w.newer, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                           time.gmtime())) + old)
    with open(os.path.join(tree, "etc", "herd.ini"), "a") as f:
        f.write("; shipped with %s\n" % w.newer)
    build(w, tree, w.newer, False)


def snapshot(root):
    """Every path under root (relative), but /proc, /sys and /dev."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel in ("proc", "sys", "dev"):
            dirs[:] = []
            continue
        for n in dirs + files:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


def test_root(w):
    """A clean Debian 12 (debootstrap --variant=minbase)."""
    t0 = time.monotonic()
    rc, out = run(["nice", "debootstrap", "--variant=minbase", SUITE,
                   w.root, mirror()], 900)
    ok(rc == 0, "debootstrap --variant=minbase %s (%.0f s)" % (
        SUITE, time.monotonic() - t0), out[-3000:])
    assert rc == 0, "no root"
    shutil.copy("/etc/resolv.conf", os.path.join(w.root, "etc"))
    w.before = snapshot(w.root)


HERD_RUN = r"""
# herdd as herdd.service runs it: the directories systemd would make,
# then the unit's ExecStart line, in the background
mkdir -p /run/herd /var/log/herd /var/lib/herd
start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/herdd.service)
echo "ExecStart: $start"
$start >/tmp/herdd.out 2>&1 &
i=0
until herdctl status 2>/dev/null | grep -q running &&
    ! herdctl status | grep -Eq 'starting|backoff'; do
	i=$((i + 1)); [ $i -lt 150 ] || { cat /tmp/herdd.out; exit 1; }
	sleep 0.2
done
herdctl status
"""

HERD_STOP = r"""
herdctl shutdown
wait
echo "herdd exited"
"""


def test_install(w):
    """apt installs the package and its dependencies; herdd -n; the unit
    enabled; the herd answers over 127.0.0.1."""
    shutil.copy(w.debs[w.version], os.path.join(w.root, "tmp"))
    t0 = time.monotonic()
    rc, out = w.inside("apt-get update -qq\napt-get install -y -q "
                       "/tmp/%s\n" % os.path.basename(w.debs[w.version]))
    ok(rc == 0, "apt install ./herd_%s_amd64.deb in the root (%.0f s)" % (
        w.version, time.monotonic() - t0), out[-3000:])
    assert rc == 0, "not installed"
    rc, out = w.inside("herdd -n\n")
    ok(rc == 0 and "configuration OK" in out,
       "herdd -n: /etc/herd/herd.ini and the data set check out", out)
    link = os.path.join(w.root, "etc/systemd/system/multi-user.target.wants/"
                        "herdd.service")
    ok(os.path.islink(link) and os.readlink(link) ==
       "/lib/systemd/system/herdd.service",
       "herdd.service is enabled (deb-systemd-helper)", str(os.path.islink(
           link)))
    rc, out = w.inside(HERD_RUN + r"""
herd-cli -s Hands iamat kiwi.cs.ucla.edu 34.068930 -118.445127
i=0
until herd-cli -s Welsh whatsat kiwi.cs.ucla.edu 10 2 >/tmp/w.out; do
	i=$((i + 1)); [ $i -lt 50 ] || break
	sleep 0.1
done
cat /tmp/w.out
""" + HERD_STOP, timeout=120, net=False)
    ok(rc == 0 and re.search(r"^AT Hands \+\d+\.\d{9} kiwi\.cs\.ucla\.edu "
                             r"\+34\.068930-118\.445127 \d+\.\d{9}$", out,
                             re.M),
       "the herd started by ExecStart answers IAMAT at Hands", out)
    ok(re.search(r"^AT Hands .*\n\{\n  \"html_attributions\"", out, re.M) and
       "\"name\": \"Bel Air\"" in out and "herdd exited" in out,
       "and WHATSAT at Welsh, from the data set in /usr/share/herd", out)
    ok(os.path.isfile(os.path.join(w.root, "var/lib/herd/Hands.journal")) and
       os.path.isfile(os.path.join(w.root, "var/log/herd/Hands.log")),
       "journals in /var/lib/herd, logs in /var/log/herd")


def test_upgrade(w):
    """An edited herd.ini survives the upgrade to a newer build whose
    herd.ini changed too (dpkg asks; the admin's is kept, the new one put
    beside it), and the herd comes back with its journals."""
    conf = os.path.join(w.root, "etc/herd/herd.ini")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("timeout_ms = 5000", "timeout_ms = 4000") +
                "; edited by the admin\n")
    shutil.copy(w.debs[w.newer], os.path.join(w.root, "tmp"))
    rc, out = w.inside("apt-get install -y -q -o Dpkg::Options::="
                       "--force-confold /tmp/%s\ndpkg-query -W herd\n" %
                       os.path.basename(w.debs[w.newer]))
    ok(rc == 0 and re.search(r"^herd\t%s$" % re.escape(w.newer), out, re.M),
       "apt upgrades to %s" % w.newer, out[-3000:])
    ok("Configuration file '/etc/herd/herd.ini'" in out,
       "dpkg asks about the edited herd.ini", out[-3000:])
    with open(conf) as f:
        kept = f.read()
    ok(kept.endswith("; edited by the admin\n") and "timeout_ms = 4000"
       in kept, "the edited herd.ini is kept", kept[-300:])
    dist = conf + ".dpkg-dist"
    ok(os.path.isfile(dist) and open(dist).read().endswith(
        "; shipped with %s\n" % w.newer), "the new one is beside it, "
       "herd.ini.dpkg-dist")
    rc, out = w.inside(HERD_RUN + r"""
herd-cli -s Welsh whatsat kiwi.cs.ucla.edu 10 1
herd-cli --version
""" + HERD_STOP, timeout=120, net=False)
    ok(rc == 0 and re.search(r"^AT Hands .* kiwi\.cs\.ucla\.edu ", out,
                             re.M) and "herdd exited" in out,
       "the upgraded herd knows kiwi from its journals", out)


def merged(path):
    """path as a Debian 12 root has it: /lib, /bin and /sbin are links to
    their /usr namesakes."""
    return re.sub(r"^(lib|lib64|bin|sbin)/", r"usr/\1/", path)


def owned(root):
    """The paths the packages installed in root own (dpkg's lists)."""
    out = set()
    for path in glob.glob(os.path.join(root, "var/lib/dpkg/info/*.list")):
        with open(path, errors="replace") as f:
            out.update(merged(line.strip().lstrip("/")) for line in f)
    return out


def shipped(w):
    """The paths the herd packages hold, as the root has them (/lib is
    /usr/lib on a Debian 12 root)."""
    out = set()
    for deb in w.debs.values():
        rc, text = run(["dpkg-deb", "-c", deb], 60)
        for line in text.splitlines():
            out.add(merged(line.split()[5].lstrip("./").rstrip("/")))
    out.discard("")
    return out


def test_purge(w):
    """apt purge herd: nothing of herd left but apt's and dpkg's own
    records; what is new since the root was made is all the dependencies'
    (their files, and the certificate links ca-certificates makes)."""
    for deb in w.debs.values():
        p = os.path.join(w.root, "tmp", os.path.basename(deb))
        if os.path.exists(p):
            os.unlink(p)
    rc, out = w.inside("apt-get purge -y -q herd\n"
                       "dpkg-query -W herd 2>&1 || true\n")
    ok(rc == 0 and "no packages found matching herd" in out,
       "apt purge herd", out[-3000:])
    after = snapshot(w.root)
    named = sorted(p for p in after if "herd" in p and
                   not p.startswith(KEPT))
    ok(not named, "no file or directory named herd is left", named)
    mine = owned(w.root)
    left = sorted(p for p in shipped(w) & after if p not in mine)
    ok(not left, "none of the paths the package held is left, unless "
       "another package holds it too", left)
    new = sorted(p for p in after - w.before - mine
                 if not p.startswith(KEPT + GENERATED) and
                 p + "/" not in KEPT + GENERATED)
    ok(not new, "nothing else is new but what the dependencies left",
       "\n".join(new[:200]))


def main():
    reason = why_not()
    if reason is not None:
        print("1..0 # SKIP " + reason)
        return 77
    w = Work()
    t0 = time.monotonic()
    try:
        return tap.run([test_build, test_build_newer, test_root,
                        test_install, test_upgrade, test_purge], w,
                       limit=1700)
    finally:
        print("# all took %.0f s" % (time.monotonic() - t0))
        if tap.TAP.failed and os.environ.get("HERD_KEEP"):
            print("# kept " + w.dir)
        else:
            w.cleanup()


if __name__ == "__main__":
    sys.exit(main())
