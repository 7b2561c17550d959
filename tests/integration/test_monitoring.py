#!/usr/bin/env python3
"""test_monitoring.py -- the Grafana dashboard and the Prometheus alert
rules of contrib/: promtool checks the rules and runs their unit tests
(each alert has one); every query of the dashboard is valid PromQL
(promtool checks it as a recording rule); and every metric the dashboard
and the rules query is one herdd lists in herdd(8) and serves, scraped
from a real herd under herdd (127.0.0.1, ephemeral ports, removed at the
end).  TAP; exit 77 when a binary or promtool is missing."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import herds
from herds import Supervised
from tap import ok

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "contrib", "prometheus", "herd.rules.yml")
RULES_TEST = os.path.join(ROOT, "contrib", "prometheus",
                          "herd.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "herd.json")
HERDD_MAN = os.path.join(ROOT, "man", "herdd.8")
PROMTOOL = shutil.which("promtool")
METRIC_RE = re.compile(r"\bherd_[a-z_]+\b")


def promtool(*args):
    return subprocess.run([PROMTOOL] + list(args), capture_output=True,
                          text=True, timeout=60)


def dashboard_exprs():
    """Every PromQL expression of the dashboard: its panels' targets and
    its template variables' queries."""
    with open(DASHBOARD) as f:
        d = json.load(f)
    out = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            out.append(v["definition"])
    return d, out


def rule_exprs():
    """The alert rules' names and expressions (the file is simple YAML:
    read without a YAML module)."""
    with open(RULES) as f:
        text = f.read()
    alerts = re.findall(r"^\s*- alert: (\S+)", text, re.M)
    exprs = re.findall(r"expr: (>-\n(?:\s{10}.*\n)+|.*)", text)
    return alerts, [e.replace(">-\n", "") for e in exprs]


def test_rules(top):
    r = promtool("check", "rules", RULES)
    ok(r.returncode == 0 and "SUCCESS: 7 rules found" in r.stdout,
       "promtool check rules: 7 rules", r.stdout + r.stderr)
    r = promtool("test", "rules", RULES_TEST)
    ok(r.returncode == 0 and "SUCCESS" in r.stdout,
       "promtool test rules: every case passes", r.stdout + r.stderr)
    alerts, _ = rule_exprs()
    with open(RULES_TEST) as f:
        tested = set(re.findall(r"alertname: (\S+)", f.read()))
    ok(len(alerts) == 7 and set(alerts) <= tested,
       "each alert has a unit test", "untested: %s" % (set(alerts) - tested))
    bad = os.path.join(top, "bad.rules.yml")
    with open(RULES) as f, open(bad, "w") as g:
        g.write(f.read().replace("herd_worker_up == 0",
                                 "herd_worker_up == == 0"))
    r = promtool("check", "rules", bad)
    ok(r.returncode != 0, "promtool check rules refuses a broken copy",
       r.stdout)


def test_dashboard_promql(top):
    """Each query of the dashboard, $__rate_interval and the variables
    put in, as a recording rule: promtool parses it."""
    d, exprs = dashboard_exprs()
    ok(d["title"] == "herd" and len(d["panels"]) > 15 and
       all(p.get("targets") for p in d["panels"] if p["type"] != "row"),
       "the dashboard: every panel has a query", len(d["panels"]))
    path = os.path.join(top, "dashboard.rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            e = e.replace("$__rate_interval", "1m").replace("$job", ".*") \
                .replace("$server", ".*")
            if e.startswith("label_values("):
                e = re.match(r"label_values\((.*), \w+\)$", e).group(1)
            f.write("      - record: dashboard:q%d\n        expr: %s\n" % (
                i, json.dumps(e)))
    r = promtool("check", "rules", path)
    ok(r.returncode == 0 and "SUCCESS: %d rules found" % len(exprs)
       in r.stdout, "promtool parses the dashboard's %d queries" %
       len(exprs), r.stdout + r.stderr)


def base(name):
    return re.sub(r"_(bucket|sum|count)$", "", name) \
        if name.startswith("herd_places_seconds") else name


def test_metrics_served(top):
    """A real herd with journals: the metric names the dashboard and the
    rules query are all in its exposition and in herdd(8)."""
    h = Supervised(top, "mon", herd="state_dir = state\n")
    try:
        assert h.up() is not None, "the herd did not come up: " + h.tail()
        herds.wait_for(lambda: "herd_journal_error{" in
                       h.ctl("metrics", json_out=False)[1], 10)
        rc, text, err = h.ctl("metrics", json_out=False)
    finally:
        h.stop()
    served = {m.group(1) for m in re.finditer(
        r"^([a-z_]+)[{ ]", text, re.M)}
    ok(rc == 0 and "herd_worker_up" in served, "herdctl metrics: %d "
       "names served" % len(served), err)
    _, dexprs = dashboard_exprs()
    alerts, rexprs = rule_exprs()
    queried = {m for e in dexprs + rexprs for m in METRIC_RE.findall(e)}
    ok(len(queried) >= 15, "the dashboard and the rules query %d metrics"
       % len(queried), sorted(queried))
    missing = sorted(queried - served)
    ok(not missing, "every one of them is served", "not served: %s\n"
       "served: %s" % (missing, sorted(served)))
    with open(HERDD_MAN) as f:
        listed = {m for line in re.findall(r"^\.It Li (.*)", f.read(), re.M)
                  for m in METRIC_RE.findall(line)}
    unlisted = sorted({base(m) for m in queried} - listed)
    ok(not unlisted, "and listed in herdd(8)", "not listed: %s" % unlisted)
    for m in ("herd_worker_state", "herd_journal_error"):
        ok(re.search(r"^%s\{server=\"\w+\"" % m, text, re.M),
           "%s is served for each server" % m, text[:300])


if __name__ == "__main__":
    if PROMTOOL is None:
        print("1..0 # SKIP promtool is not installed (Debian: apt-get "
              "install prometheus)")
        sys.exit(77)
    sys.exit(herds.main([test_rules, test_dashboard_promql,
                         test_metrics_served], "herd-monitoring-",
                        limit=120))
