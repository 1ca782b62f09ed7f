#!/usr/bin/env python3
"""Checks the metric names the deployment files use against the ones the code emits.

The code's list is `METRICS` in crates/telemetry/src/metrics.rs (the instruments are built from
it). The collector (deploy/otel/collector.yaml) names each series as the metric, dots as
underscores, with no suffix but a histogram's _bucket/_sum/_count. Every series named by the
Grafana dashboard (deploy/grafana/dashboards/*.json, which must parse) and by the Prometheus
alert rules (deploy/prometheus/alerts.yml, which must parse and hold the rules below) must be
one of those; the README's Metrics table lists every metric. Needs only Python 3 and PyYAML; deploy/validate.sh runs it.
"""
import json
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
errors = []


def check(ok, what):
    if not ok:
        errors.append(what)


# The code's metrics.
src = (root / "crates/telemetry/src/metrics.rs").read_text()
defs = {
    const: (name, kind)
    for const, name, kind in re.findall(
        r'const (\w+): Metric = Metric \{\s*name: "([^"]+)",\s*kind: Kind::(\w+)', src
    )
}
listed = re.search(r"pub const METRICS: &\[Metric\] = &\[(.*?)\];", src, re.S)
check(listed is not None, "metrics.rs: METRICS not found")
emitted = {}
for const in re.findall(r"\w+", listed.group(1) if listed else ""):
    check(const in defs, f"metrics.rs: METRICS names {const}, which is not a Metric")
    if const in defs:
        name, kind = defs[const]
        emitted[name] = kind
check(len(emitted) >= 10, f"metrics.rs: only {len(emitted)} metrics found; has its layout changed?")
series = set()
for name, kind in emitted.items():
    base = name.replace(".", "_")
    if kind == "Histogram":
        series |= {base + "_bucket", base + "_sum", base + "_count"}
    else:
        series.add(base)

PROMQL_WORDS = {
    # aggregations, functions and keywords that may appear in the expressions
    "sum", "avg", "min", "max", "count", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "bool", "offset", "rate", "irate", "increase",
    "delta", "histogram_quantile", "label_values", "clamp_min", "clamp_max", "abs", "topk",
    "bottomk", "vector", "scalar", "time", "avg_over_time", "max_over_time", "min_over_time",
    "humanizePercentage", "le", "inf", "nan",
}


def names_in(expr):
    """The series names in a PromQL expression."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\w+", "", e)  # dashboard variables
    e = re.sub(r"label_values\(\s*(\w+)\s*,\s*\w+\s*\)", r"\1", e)
    words = re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*", e)
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"e\d*", w)}


def check_expr(where, expr):
    found = names_in(expr)
    check(found, f"{where}: names no series: {expr!r}")
    for n in sorted(found - series):
        errors.append(f"{where}: {n} is not a series of a metric the code emits")


# The Grafana dashboards.
dashboards = sorted((root / "deploy/grafana/dashboards").glob("*.json"))
check(dashboards, "deploy/grafana/dashboards: no dashboard")
used = set()
for path in dashboards:
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        errors.append(f"{path.name}: not JSON: {e}")
        continue
    check(dash.get("title") and dash.get("uid"), f"{path.name}: needs a title and a uid")
    check(dash.get("panels"), f"{path.name}: no panels")
    ids = [p.get("id") for p in dash.get("panels", [])]
    check(len(ids) == len(set(ids)), f"{path.name}: panel ids repeat")
    for p in dash.get("panels", []):
        check(p.get("targets"), f"{path.name} {p.get('title')!r}: no queries")
        for t in p.get("targets", []):
            check_expr(f"{path.name} {p.get('title')!r}", t.get("expr", ""))
            used |= names_in(t.get("expr", ""))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query":
            check_expr(f"{path.name} variable {v.get('name')}", q or "")
    # The dashboard shows each kind of figure the README promises.
    for must in ["rpc_server_duration_count", "rpc_server_duration_bucket", "rpc_server_shed_requests",
                 "rpc_server_active_requests", "rpc_server_open_streams", "db_client_connection_count",
                 "almo_variances_accepted", "almo_invoices_issued", "almo_returns_signed_off",
                 "almo_scheduling_runs"]:
        check(must in used, f"{path.name}: no panel shows {must}")

# The alert rules.
try:
    rules = yaml.safe_load((root / "deploy/prometheus/alerts.yml").read_text())
except yaml.YAMLError as e:
    rules = {}
    errors.append(f"alerts.yml: not YAML: {e}")
alerts = {}
for g in (rules or {}).get("groups", []):
    check(g.get("name"), "alerts.yml: a group without a name")
    for r in g.get("rules", []):
        check(r.get("alert") and r.get("expr"), f"alerts.yml: a rule without alert or expr: {r}")
        check(re.fullmatch(r"\d+[smh]", str(r.get("for", ""))), f"alerts.yml {r.get('alert')}: `for` missing")
        check(r.get("labels", {}).get("severity"), f"alerts.yml {r.get('alert')}: no severity")
        check_expr(f"alerts.yml {r.get('alert')}", r.get("expr", ""))
        alerts[r.get("alert")] = r.get("expr", "")
for alert, series_name in [("AlmoHighErrorRate", "rpc_server_duration_count"),
                           ("AlmoSlowCalls", "rpc_server_duration_bucket"),
                           ("AlmoShedding", "rpc_server_shed_requests"),
                           ("AlmoDatabasePoolExhausted", "db_client_connection_max")]:
    check(series_name in names_in(alerts.get(alert, "")), f"alerts.yml: {alert} on {series_name} missing")

# The path from the services to Prometheus.
collector = yaml.safe_load((root / "deploy/otel/collector.yaml").read_text())
prom = collector.get("exporters", {}).get("prometheus", {})
check(prom.get("add_metric_suffixes") is False,
      "collector: the prometheus exporter must add no suffixes (the names above assume none)")
check("prometheus" in collector["service"]["pipelines"].get("metrics", {}).get("exporters", []),
      "collector: a metrics pipeline exporting to prometheus")
scrape = yaml.safe_load((root / "deploy/prometheus/prometheus.yml").read_text())
targets = [t for sc in scrape.get("scrape_configs", []) for s in sc.get("static_configs", [])
           for t in s.get("targets", [])]
check(any(t.startswith("otel-collector:") and t.endswith(":" + prom.get("endpoint", "").rsplit(":", 1)[-1])
          for t in targets), "prometheus.yml: scrapes the collector's prometheus endpoint")
check("/etc/prometheus/alerts.yml" in scrape.get("rule_files", []), "prometheus.yml: loads alerts.yml")
compose = yaml.safe_load((root / "deploy/compose/compose.yaml").read_text())["services"]
mounts = {v.split(":")[1]: v.split(":")[0] for s in ("prometheus", "grafana")
          for v in compose.get(s, {}).get("volumes", []) if v.startswith("../")}
check(mounts.get("/etc/prometheus/prometheus.yml") == "../prometheus/prometheus.yml"
      and mounts.get("/etc/prometheus/alerts.yml") == "../prometheus/alerts.yml",
      "compose: prometheus mounts deploy/prometheus's config and alert rules")
check(mounts.get("/var/lib/grafana/dashboards") == "../grafana/dashboards"
      and mounts.get("/etc/grafana/provisioning") == "../grafana/provisioning",
      "compose: grafana mounts deploy/grafana's dashboards and provisioning")

# The README's table lists every metric.
readme = (root / "README.md").read_text()
for name in emitted:
    check(f"| `{name}` |" in readme, f"README.md: the Metrics table does not list {name}")

if errors:
    print("\n".join("FAIL " + e for e in errors))
    sys.exit(1)
print(f"metrics: {len(emitted)} emitted; {len(dashboards)} dashboard(s) and {len(alerts)} alert rules "
      "name only those")
