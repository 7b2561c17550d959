#!/usr/bin/env python3
"""test_completion.py -- the bash completion of herdctl and herd-cli
(etc/bash-completion/herd), driven in bash as readline would: COMP_WORDS
and COMP_CWORD set, the function that complete -p names called, COMPREPLY
printed.  Server names come from the file of -f, else etc/herd.ini of the
current directory.  Temporary directory removed at the end.  TAP; exit 77
without bash."""
import os
import shutil
import subprocess
import sys
import tempfile

import tap
from tap import ok

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "etc", "bash-completion", "herd")
CONF = """[herd]
control = herd.sock
[server Alpha]
port = 12000
neighbors = Beta
 [ server   Beta ]   ; spaced
port = 12001
[server Gamma.2]
port = 12002
[places]
backend = offline
"""


def complete(line, cwd):
    """What bash offers for the last word of line (a trailing space: a
    new word), one a line, sorted; and the function registered."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    script = ('source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; '
              'fn=$(complete -p "$1" | sed -n "s/.*-F \\([^ ]*\\).*/\\1/p"); '
              '"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" '
              '"${COMP_WORDS[COMP_CWORD-1]}"; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script,
                        "bash", SCRIPT] + words, capture_output=True,
                       text=True, timeout=10, cwd=cwd,
                       env=dict(os.environ, HOME=cwd))
    assert r.returncode == 0 and not r.stderr, r.stderr
    return sorted(x for x in r.stdout.split("\n") if x)


def check(line, want, cwd, what):
    got = complete(line, cwd)
    ok(got == sorted(want), "%r: %s" % (line, what),
       "got %s, want %s" % (got, sorted(want)))


def test_herdctl(d):
    conf = os.path.join(d, "my.ini")
    with open(conf, "w") as f:
        f.write(CONF)
    verbs = ["status", "start", "stop", "restart", "kill", "reload",
             "reopen", "shutdown", "metrics", "top", "log"]
    check("herdctl ", verbs, d, "every verb")
    check("herdctl re", ["reload", "reopen", "restart"], d, "verbs by prefix")
    check("herdctl -", ["-f", "-s", "-j", "-h", "--help", "--version"], d,
          "the options")
    check("herdctl -f my.ini -j status ", ["Alpha", "Beta", "Gamma.2"], d,
          "status: the servers of -f's file, a spaced header too")
    check("herdctl -f my.ini restart ", ["all", "Alpha", "Beta", "Gamma.2"],
          d, "restart: all and the servers")
    check("herdctl -f my.ini stop B", ["Beta"], d, "a server by prefix")
    check("herdctl -f my.ini start --", ["--no-wait"], d,
          "start --no-wait")
    check("herdctl -f my.ini kill A", ["Alpha"], d, "kill: a server")
    check("herdctl -f my.ini kill Alpha T", ["TERM"], d, "then a signal")
    check("herdctl -f my.ini log -", ["-f", "-n"], d, "log's options")
    check("herdctl -f my.ini log -f ", ["Alpha", "Beta", "Gamma.2"], d,
          "log -f: the servers")
    check("herdctl -f my.ini reload -", ["--no-wait"], d, "reload --no-wait")
    check("herdctl -f my.ini metrics ", [], d, "metrics takes nothing")
    check("herdctl -f my.i", ["my.ini"], d, "-f: a file name")
    check("herdctl -f nowhere.ini status ", [], d,
          "a missing file: no names, no error")
    if os.path.exists("/etc/herd/herd.ini"):
        print("# skip: no -f and no etc/herd.ini: /etc/herd/herd.ini is "
              "there")
    else:
        check("herdctl status ", [], d, "no -f, no etc/herd.ini here: no "
              "names")
    os.mkdir(os.path.join(d, "etc"))
    shutil.copy(conf, os.path.join(d, "etc", "herd.ini"))
    check("herdctl status G", ["Gamma.2"], d,
          "no -f: etc/herd.ini of the current directory")


def test_herd_cli(d):
    check("herd-cli ", ["iamat", "whatsat", "send", "help", "quit"], d,
          "herd-cli: its commands")
    check("herd-cli -", ["-f", "-s", "-c", "-t", "-h", "--help",
                          "--version"], d, "herd-cli: its options")
    check("herd-cli -f my.ini -s ", ["Alpha", "Beta", "Gamma.2"], d,
          "herd-cli -s: the servers of -f's file")
    check("herd-cli -f my.ini -s Beta w", ["whatsat"], d,
          "after the server, a command")
    check("herd-cli -s Beta iamat ", [], d, "a command's operands: none")


def main():
    if shutil.which("bash") is None:
        print("1..0 # SKIP bash is not installed")
        return 77
    d = tempfile.mkdtemp(prefix="herd-completion-")
    try:
        return tap.run([test_herdctl, test_herd_cli], d, limit=60)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
