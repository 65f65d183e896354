"""Alert rules and Grafana dashboards only use metrics that build_metrics() exports, and are well formed.

promtool itself (syntax, rule unit tests) runs in tests/integration/test_prometheus_rules.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.paths import REPO

from vitrina.adapters.prometheus.instruments import build_metrics, exported_names

pytestmark = pytest.mark.unit

DEPLOY = REPO / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

# Series that do not come from vitrina: Prometheus' own and redis_exporter's.
EXTERNAL = {"up", "ALERTS", "redis_memory_used_bytes", "redis_memory_max_bytes"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool"}


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (strings, matchers, ranges, groupings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if not match.group(2) and match.group(1) not in KEYWORDS:
            names.add(match.group(1))
    return names


def test_metric_names_parser_on_a_known_expression() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(vitrina_http_request_duration_seconds_bucket{route="/x"}[5m]))) > 0.01'
        " and on (job) up == 1 or time() - foo_seconds > 8 * 3600"
    )
    assert metric_names(expr) == {"vitrina_http_request_duration_seconds_bucket", "up", "foo_seconds"}


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            found = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["definition"])
            assert found, var["definition"]
            exprs.append(found.group(1))
    return exprs


def test_every_metric_in_rules_and_dashboards_is_exported_by_build_metrics() -> None:
    exported = exported_names(build_metrics().registry)
    used: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    for path in DASHBOARDS:
        for expr in dashboard_exprs(json.loads(path.read_text())):
            for name in metric_names(expr):
                used.setdefault(name, set()).add(path.name)
    unknown = {name: sorted(where) for name, where in used.items() if name not in exported | EXTERNAL}
    assert not unknown, f"metrics not defined in vitrina.adapters.prometheus.instruments: {unknown}"
    assert {n for n in used if n.startswith("vitrina_")}, "the parser found no vitrina metric at all"


def test_every_alert_has_severity_summary_and_a_firing_unit_test() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    assert {"ModelLatencyHigh", "SearchLatencyCritical", "DataDriftDetected", "BatchInferenceFailed",
            "HighErrorRate", "FallbackRateHigh", "CacheHitRateLow"} <= set(names)  # fmt: skip
    for rule in rules:
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    cases = yaml.safe_load(ALERTS_TEST.read_text())["tests"]
    fired = {t["alertname"] for case in cases for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert set(names) <= fired, f"alerts without a firing test: {sorted(set(names) - fired)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboards_are_well_formed(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"].startswith("vitrina-")
    assert dashboard["templating"]["list"][0] == {**dashboard["templating"]["list"][0], "type": "datasource"}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["title"], panel
        assert panel["targets"], panel
        assert panel["datasource"]["uid"] == "${datasource}"
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))


def test_the_five_dashboards_of_the_spec_exist_with_unique_uids() -> None:
    assert {p.stem for p in DASHBOARDS} == {
        "model-health", "search-performance", "recommendation-kpis", "drift", "ab-tests",
    }  # fmt: skip
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_runbook_links_point_at_existing_sections() -> None:
    runbooks = (DEPLOY.parent / "docs" / "runbooks.md").read_text()
    sections = set(re.findall(r"^## (\S+)$", runbooks, flags=re.MULTILINE))
    links = [rule["annotations"]["runbook"] for rule in alert_rules() if "runbook" in rule["annotations"]]
    assert links
    for link in links:
        path, _, anchor = link.partition("#")
        assert path == "docs/runbooks.md"
        assert anchor in sections, f"{link}: no '## {anchor}' section in docs/runbooks.md"
