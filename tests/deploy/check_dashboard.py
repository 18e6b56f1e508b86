#!/usr/bin/env python3
"""Static checks of the Grafana dashboard and the alert rules: the dashboard JSON is well formed
(unique panel ids, panels that do not overlap, every target has a refId, a datasource and an
expression), and every metric the dashboard and the alert rules name is a metric wsgw really has
(docs/metrics.md, or registered in the source), so a typo in a cluster-only query, which the
live Prometheus test cannot see, still fails.
Usage: check_dashboard.py DASHBOARD.json ALERTS.yaml --root REPO  (exit 1 on any problem)"""
import argparse
import json
import re
import sys
from pathlib import Path

import yaml

METRIC = re.compile(r"\b((?:wsgw|process)_[a-z0-9_]+)\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def known_metrics(root):
    names = set(METRIC.findall((root / "docs/metrics.md").read_text(encoding="utf-8")))
    for folder in ("gateway", "api", "common"):
        for path in (root / folder).rglob("*.cpp"):
            names.update(re.findall(r'"((?:wsgw|process)_[a-z0-9_]+)"', path.read_text(encoding="utf-8", errors="replace")))
    return names


def base_name(name):
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def dashboard_exprs(dashboard):
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            yield panel, target


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dashboard")
    ap.add_argument("alerts")
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    problems = []
    try:
        dashboard = json.loads(Path(a.dashboard).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"{a.dashboard}: {e}")
        return 1
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dashboard:
            problems.append(f"dashboard: no {key}")
    ids, cells = set(), {}
    for panel in dashboard.get("panels", []):
        pid = panel.get("id")
        if pid in ids:
            problems.append(f"dashboard: duplicate panel id {pid}")
        ids.add(pid)
        g = panel.get("gridPos", {})
        if not all(k in g for k in ("x", "y", "w", "h")) or g["x"] + g["w"] > 24:
            problems.append(f"dashboard: panel {panel.get('title')!r} has a bad gridPos {g}")
            continue
        for yy in range(g["y"], g["y"] + g["h"]):
            for xx in range(g["x"], g["x"] + g["w"]):
                if (xx, yy) in cells:
                    problems.append(f"dashboard: panel {panel.get('title')!r} overlaps {cells[(xx, yy)]!r}")
                    break
                cells[(xx, yy)] = panel.get("title")
            else:
                continue
            break
        if panel.get("type") != "row" and not panel.get("targets"):
            problems.append(f"dashboard: panel {panel.get('title')!r} has no query")
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    known = known_metrics(Path(a.root))
    used = {}
    for panel, target in dashboard_exprs(dashboard):
        expr = target.get("expr", "")
        if not expr or not target.get("refId") or not target.get("datasource"):
            problems.append(f"dashboard: panel {panel.get('title')!r} has a target without expr/refId/datasource")
        for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expr):
            if var not in variables and not var.startswith("__"):
                problems.append(f"dashboard: panel {panel.get('title')!r} uses undefined variable ${var}")
        for name in METRIC.findall(expr):
            used.setdefault(base_name(name), f"dashboard panel {panel.get('title')!r}")
    try:
        rules = yaml.safe_load(Path(a.alerts).read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                for name in METRIC.findall(rule["expr"]):
                    used.setdefault(base_name(name), f"alert {rule.get('alert') or rule.get('record')}")
    except (OSError, KeyError, TypeError, yaml.YAMLError) as e:
        problems.append(f"{a.alerts}: {e}")
    for name, where in sorted(used.items()):
        if name not in known:
            problems.append(f"{where}: unknown metric {name} (not in docs/metrics.md nor registered in the source)")
    for p in problems:
        print(p)
    print(f"{len(used)} metric names used by the dashboard and the alerts, all checked against {len(known)} known names"
          if not problems else f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
