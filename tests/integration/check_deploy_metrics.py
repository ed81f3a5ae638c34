#!/usr/bin/env python3
"""Checks that deploy/'s Grafana dashboard and Prometheus rules only use
metrics cellar exposes. Usage: check_deploy_metrics.py DEPLOY_DIR METRICS_TEXT SRC_DIR

Every cellar_* name in a dashboard target or a rule expression must be a
family in METRICS_TEXT (a live server's /metrics, `# TYPE` lines) or, for
families only registered in fleet or S3 mode, one that SRC_DIR registers
(AddCounter/AddGauge/AddHistogram). Histogram series (_bucket, _sum,
_count) count as their family. Prints what it checked; exits 1 on an unknown
name, a dashboard that is not valid JSON, or a panel without a query."""
import json
import pathlib
import re
import sys

import yaml

deploy, metrics_text, src = map(pathlib.Path, sys.argv[1:4])
live = set(re.findall(r"^# TYPE (cellar_\w+) ", metrics_text.read_text(), re.M))
registered = set()
for path in src.rglob("*.cc"):
    if path.name.endswith("_test.cc"):
        continue
    registered |= set(re.findall(r'Add(?:Counter|Gauge|Histogram)\(\s*"(cellar_\w+)"', path.read_text()))

exprs = []
dashboard = json.loads((deploy / "grafana-dashboard.json").read_text())
for panel in dashboard["panels"]:
    targets = panel.get("targets") or []
    if not targets:
        sys.exit(f"panel '{panel.get('title')}' has no query")
    exprs += [(f"panel '{panel['title']}'", t["expr"]) for t in targets]
for var in dashboard["templating"]["list"]:
    if var.get("type") == "query":
        exprs.append((f"variable '{var['name']}'", var["definition"]))
rules = yaml.safe_load((deploy / "prometheus-alerts.yml").read_text())
for group in rules["groups"]:
    exprs += [(f"alert {r['alert']}", r["expr"]) for r in group["rules"]]

bad = []
used = set()
for where, expr in exprs:
    for name in re.findall(r"\b(cellar_\w+)", expr):
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        family = family if family in live or family in registered else name
        used.add(family)
        if family not in live and family not in registered:
            bad.append(f"{where}: {name}")
only_registered = sorted(used - live)
print(f"{len(exprs)} expressions, {len(used)} metric families; {len(used) - len(only_registered)} exposed by the "
      f"server, {len(only_registered)} only in other modes: {', '.join(only_registered)}")
if bad:
    sys.exit("unknown metrics:\n  " + "\n  ".join(bad))
