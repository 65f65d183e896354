"""promtool on the observability assets: rule syntax, rule unit tests, config, PromQL, exposition.

promtool comes with the Debian package ``prometheus`` (``make install`` adds it). Without it
the tests skip, unless ``CI`` is set, where a missing promtool is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from vitrina.adapters.prometheus.instruments import build_metrics

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"

# Values for Grafana's template variables, so dashboard queries are plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$experiment": "exp"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (Debian/Ubuntu: `make promtool`, package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(f"{message}; set CI=1 to make this a failure")
    return path


def run(promtool: str, *args: str | Path, stdin: bytes | None = None) -> str:
    """Run promtool; fail the test with its full output on a non-zero exit."""
    command = [promtool, *map(str, args)]
    done = subprocess.run(command, input=stdin, capture_output=True, timeout=120, check=False)
    output = (done.stdout + done.stderr).decode()
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output


def test_alert_rules_are_valid(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "check", "rules", PROMETHEUS / "alerts.yml")


def test_alert_rule_unit_tests_pass(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "test", "rules", PROMETHEUS / "alerts_test.yml")


def test_rule_unit_tests_catch_a_wrong_threshold(promtool: str, tmp_path: Path) -> None:
    # The rule tests must be able to fail: a latency threshold moved from 10 ms to 50 ms does.
    alerts = (PROMETHEUS / "alerts.yml").read_text()
    p99_recs = "\n          ) > 0.01\n"  # the closing line of ModelLatencyHigh's expression
    assert alerts.count(p99_recs) == 1
    (tmp_path / "alerts.yml").write_text(alerts.replace(p99_recs, p99_recs.replace("0.01", "0.05")))
    shutil.copy(PROMETHEUS / "alerts_test.yml", tmp_path / "alerts_test.yml")
    command = [promtool, "test", "rules", str(tmp_path / "alerts_test.yml")]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode != 0
    assert b"ModelLatencyHigh" in done.stdout + done.stderr


def test_prometheus_config_is_valid(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "check", "config", PROMETHEUS / "prometheus.yml")


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    # promtool has no "check expression"; a recording rule per query makes it parse them all.
    rules = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
        exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
        for i, expr in enumerate(exprs):
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{path.name}: unknown template variable in {expr}"
            rules.append({"record": f"dashboard:{path.stem.replace('-', '_')}:{i}", "expr": expr})
    assert len(rules) > 30
    file = tmp_path / "dashboards_rules.yml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run(promtool, "check", "rules", file)


def test_exposition_passes_promtool_lint(promtool: str) -> None:
    metrics = build_metrics()
    metrics.observe_request(route="/search", method="GET", status=200, seconds=0.004)
    metrics.errors.labels(route="/search", kind="TimeoutError").inc()
    metrics.cache_requests.labels(cache="search", result="miss").inc()
    metrics.fallbacks.labels(route="/recs/{user_id}", reason="store_unavailable").inc()
    metrics.search_zero_results.labels(mode="hybrid").inc()
    metrics.events_received.labels(event_type="click", page="search").inc()
    metrics.set_model(model="recs", alias="champion", version="7")
    metrics.model_trained.labels(model="recs", alias="champion").set(1.7e9)
    metrics.model_offline_metric.labels(model="recs", alias="champion", metric="ndcg_at_10").set(0.41)
    metrics.coverage.labels(model="recs").set(0.62)
    metrics.drift_psi.labels(domain="recs", feature="price", role="data").set(0.08)
    metrics.experiment_exposures.labels(experiment="e", arm="champion").inc()
    metrics.experiment_events.labels(experiment="e", arm="champion", event_type="view").inc()
    metrics.experiment_p_value.labels(experiment="e", metric="ctr").set(0.2)
    metrics.experiment_lift.labels(experiment="e", metric="ctr").set(0.01)
    metrics.experiment_srm_p_value.labels(experiment="e").set(0.5)
    metrics.experiment_required_sessions.labels(experiment="e").set(8158)
    metrics.batch_duration.labels(pipeline="recs").set(95.0)
    metrics.batch_failed.labels(pipeline="recs").set(0)
    metrics.batch_last_success.labels(pipeline="recs").set(1.7e9)
    run(promtool, "check", "metrics", stdin=generate_latest(metrics.registry))
