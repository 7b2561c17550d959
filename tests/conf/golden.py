#!/usr/bin/env python3
"""Golden tests of `herdd -nv`: each tests/conf/golden/NAME.ini (and the
default etc/herd.ini, as default.ini) must print exactly NAME.out.

    golden.py HERDD SOURCE_ROOT [--update]
"""
import difflib
import os
import subprocess
import sys

herdd, root = sys.argv[1], sys.argv[2]
update = "--update" in sys.argv
gdir = os.path.join("tests", "conf", "golden")
cases = [("default", os.path.join("etc", "herd.ini"))]
for f in sorted(os.listdir(os.path.join(root, gdir))):
    if f.endswith(".ini"):
        cases.append((f[:-4], os.path.join(gdir, f)))
env = dict(os.environ)
env.pop("HERD_PLACES_KEY", None)
failed = 0
for i, (name, conf) in enumerate(cases, 1):
    p = subprocess.run([herdd, "-nv", "-f", conf], cwd=root, env=env,
                       capture_output=True, text=True, timeout=30)
    out = os.path.join(root, gdir, name + ".out")
    if update:
        with open(out, "w") as f:
            f.write(p.stdout)
    with open(out) as f:
        want = f.read()
    if p.returncode == 0 and p.stdout == want:
        print("ok %d - herdd -nv -f %s" % (i, conf))
    else:
        failed += 1
        print("not ok %d - herdd -nv -f %s (exit %d)" % (i, conf, p.returncode))
        sys.stdout.writelines("# " + l for l in difflib.unified_diff(
            want.splitlines(True), p.stdout.splitlines(True), "want", "got"))
        print("# " + p.stderr.replace("\n", "\n# "))
print("1..%d" % len(cases))
sys.exit(1 if failed else 0)
