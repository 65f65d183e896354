"""Metrics of several worker processes: counters and histograms summed over the processes,
gauges combined by their mode, ``vitrina_model_info`` unchanged. Each "worker" is a
subprocess with ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus_client is imported, as
``vitrina serve --workers N`` sets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vitrina.adapters.prometheus.multiprocess import ENV, prepare_dir

pytestmark = pytest.mark.unit

WORKER = """
import sys
from vitrina.adapters.prometheus.instruments import build_metrics
m = build_metrics()
for _ in range(int(sys.argv[1])):
    m.observe_request(route="/recs/{user_id}", method="GET", status=200, seconds=0.001)
if sys.argv[2] != "-":
    m.coverage.labels(model="recs").set(float(sys.argv[2]))
    m.drift_psi.labels(domain="recs", feature="price", role="data").set(float(sys.argv[2]))
m.set_model(model="recs", alias="champion", version="v" + sys.argv[1])
if sys.argv[3] == "expose":
    sys.stdout.write(m.exposition().decode())
elif sys.argv[3] == "exit":
    from vitrina.adapters.prometheus.multiprocess import process_exited
    process_exited()
"""


def _worker(folder: Path, requests: int, value: str, then: str) -> str:
    env = {**os.environ, ENV: str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(requests), str(value), then],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_workers_metrics_are_summed_and_the_model_info_keeps_its_shape(tmp_path: Path) -> None:
    folder = prepare_dir(tmp_path / "prometheus")
    _worker(folder, 3, "0.2", "stay")  # a worker still running (its live gauges count)
    _worker(folder, 4, "0.9", "exit")  # a worker that stopped since: its live gauges are dropped
    text = _worker(folder, 5, "-", "expose")  # the worker answering GET /metrics
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    recs = (("method", "GET"), ("route", "/recs/{user_id}"))
    assert samples[("vitrina_http_requests_total", (*recs, ("status", "200")))] == 12
    assert samples[("vitrina_http_request_duration_seconds_count", recs)] == 12
    assert samples[("vitrina_catalog_coverage_ratio", (("model", "recs"),))] == 0.2  # livemostrecent
    price = (("domain", "recs"), ("feature", "price"), ("role", "data"))
    assert samples[("vitrina_drift_psi", price)] == 0.9  # mostrecent
    info = [key for key in samples if key[0] == "vitrina_model_info"]
    assert info == [("vitrina_model_info", (("alias", "champion"), ("model", "recs"), ("version", "v5")))]
    assert "# TYPE vitrina_model_info gauge" in text


def test_prepare_dir_empties_a_previous_runs_files(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"old")
    assert list(prepare_dir(folder).iterdir()) == []


def test_a_variable_set_after_the_import_does_not_switch_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing ``feast.metrics`` sets ``PROMETHEUS_MULTIPROC_DIR`` in a process whose
    prometheus_client keeps its values in memory: its own metrics must still be exposed."""
    from vitrina.adapters.prometheus.instruments import build_metrics

    metrics = build_metrics()
    metrics.observe_request(route="/health", method="GET", status=200, seconds=0.001)
    monkeypatch.setenv(ENV, str(prepare_dir(tmp_path / "elsewhere")))
    line = b'vitrina_http_requests_total{method="GET",route="/health",status="200"} 1.0'
    assert line in metrics.exposition()
