"""The alerts fire from what a pipeline run pushes: real Prometheus, Pushgateway and API.

A ci lake with the ``price_inflation`` scenario (seed 7, the drift DAG's check decides
retrain on it) has its real drift check run, and a serving store whose only batch was
published 10 hours ago. The loop's exporter (:func:`vitrina.pipelines.run_metrics.export_loop_run`)
pushes that run to a ``prometheus-pushgateway``; a ``prometheus`` with the repository's
``alerts.yml`` (1 s scrape and evaluation) scrapes it and a live ``vitrina serve`` on the same
home. ``DataDriftDetected`` and ``RecommendationsStale`` must fire (their ``for: 1m`` passes)
and the API target must be up. A second test checks that a failed run pushed after a good one
keeps the good one's last-success time and a reused batch its coverage in the gateway; the
others that ``vitrina drift`` (the drift DAG's check) and ``vitrina train recs`` push a failed
step, and ``vitrina experiment ab``'s report its lift and SRM p-value.

Both binaries come from Debian (``make promtool``, ``make pushgateway``). Without them the
tests skip, unless ``CI`` is set, where a missing binary is a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console
from support.paths import REPO
from support.ports import free_port
from typer.testing import CliRunner

import vitrina
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.step_ledger import Ledger, StepEvent
from vitrina.bootstrap import open_store
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.pipelines.drift.run import DriftConfig, check_drift
from vitrina.pipelines.loop import LoopRun
from vitrina.pipelines.recs.batch import BatchReport, publish_recommendations
from vitrina.pipelines.recs.run import RecsRun
from vitrina.pipelines.run_metrics import export_experiment, export_loop_run
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = dt.date(2025, 3, 31)
SEED = 7
QUIET = Console(quiet=True)
PUBLISHED_HOURS_AGO = 10  # RecommendationsStale: older than 8 h
ALERT_TIMEOUT_S = 150.0  # `for: 1m` plus scrapes, rule loading and a loaded machine


def binary(name: str, package: str, target: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        message = f"{name} is not installed (Debian/Ubuntu: `make {target}`, package {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(message)
    return path


def get_json(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.load(response))


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    """Until ``url`` answers 200 (the process must stay alive meanwhile)."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, (
            f"{url} did not answer in {seconds:.0f} s:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.5)


class Processes:
    """Server processes started by one test, each logging to a file, all stopped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[subprocess.Popen[bytes], object]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / f"{name}.log"
        handle = log.open("w")
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        self.running.append((process, handle))
        return process, log

    def stop(self) -> None:
        for process, handle in reversed(self.running):
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            handle.close()  # type: ignore[attr-defined]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def start_pushgateway(processes: Processes) -> str:
    path = binary("prometheus-pushgateway", "prometheus-pushgateway", "pushgateway")
    port = free_port()
    # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: in memory
    # only, each test starts from an empty gateway
    command = [path, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    process, log = processes.start("pushgateway", command)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/-/ready", process, log, 60)
    return url


def drifted_home(home: Path) -> tuple[Settings, dt.datetime]:
    """A price-inflation ci lake, validated, with a recs batch published 10 h ago (returned)."""
    settings = get_settings(home=home)
    generate_marketplace(
        settings, scale="ci", seed=SEED, drift="price_inflation", end_date=END, catalog_to=None
    )
    validate_lake(settings, max_invalid_share=0.0)
    published = dt.datetime.now(dt.UTC) - dt.timedelta(hours=PUBLISHED_HOURS_AGO)
    with open_store(settings, ttl=dt.timedelta(days=2), clock=lambda: published) as store:
        publish_recommendations(
            store,
            user_ids=["u1", "u2"],
            items=np.array([["p1", "p2"], ["p2", "p1"]]),
            scores=np.array([[2.0, 1.0], [2.0, 1.0]]),
            reasons=np.array([["popular", "popular"], ["popular", "popular"]]),
            model_version="recs-test",
            lake=LakePaths(settings.lake),
            run_id="batch-old",
            servable={"p1", "p2"},
            popular=np.array(["p1", "p2"]),
            k=2,
            generated_at=published,
        )
    return settings, published


def prometheus_config(folder: Path, api: str, gateway: str) -> Path:
    """The deployment's scrape jobs pointed at the test's processes, 1 s intervals, the
    repository's alert rules as they are."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(REPO / "deploy" / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {"job_name": "vitrina-api", "static_configs": [{"targets": [api]}]},
            {"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [gateway]}]},
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def firing(prometheus: str) -> dict[str, set[str]]:
    """Alert name → the ``domain``/``model`` labels of its firing instances."""
    alerts = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
    out: dict[str, set[str]] = {}
    for alert in alerts:
        if alert["state"] == "firing":
            labels = alert["labels"]
            out.setdefault(labels["alertname"], set()).add(labels.get("domain") or labels.get("model") or "")
    return out


def test_drift_and_stale_recommendations_alerts_fire(tmp_path: Path, processes: Processes) -> None:
    prometheus_bin = binary("prometheus", "prometheus", "promtool")
    gateway = start_pushgateway(processes)

    settings, published = drifted_home(tmp_path / "home")
    steps: list[StepEvent] = []
    ledger = Ledger(settings, "drift", "alerts-test", QUIET, False, steps)
    check = check_drift(settings, DriftConfig(query_sample=0, html=False), QUIET, ledger=ledger)
    assert check.decision == "retrain", check.reasons
    retrain = {domain for domain, decision in check.decisions.items() if decision == "retrain"}
    assert retrain, check.decisions

    api_port = free_port()
    source = str(Path(vitrina.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("VITRINA_PUSHGATEWAY_URL", None)
    serve = [sys.executable, "-m", "vitrina.cli.main", "serve", "--home", str(settings.home)]
    api, api_log = processes.start("api", [*serve, "--port", str(api_port), "--log-level", "warning"], env)
    wait_http(f"http://127.0.0.1:{api_port}/health", api, api_log, 300)

    prom_port = free_port()
    config = prometheus_config(tmp_path, f"127.0.0.1:{api_port}", gateway.removeprefix("http://"))
    command = [
        prometheus_bin,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    prom, prom_log = processes.start("prometheus", command)
    prometheus = f"http://127.0.0.1:{prom_port}"
    wait_http(f"{prometheus}/-/ready", prom, prom_log, 60)

    loop = LoopRun(run_id="alerts-test", steps=steps, drift=check)
    pushed = export_loop_run(settings.model_copy(update={"pushgateway_url": gateway}), loop)
    assert {"drift", "recs", "loop"} <= set(pushed), pushed

    deadline = time.monotonic() + ALERT_TIMEOUT_S
    now = firing(prometheus)
    while not (
        retrain <= now.get("DataDriftDetected", set()) and "recs" in now.get("RecommendationsStale", set())
    ):
        assert time.monotonic() < deadline, f"after {ALERT_TIMEOUT_S:.0f} s firing: {now}"
        time.sleep(2)
        now = firing(prometheus)

    assert "ServiceDown" not in now
    up = get_json(f"{prometheus}/api/v1/query?query=up")["data"]["result"]
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {"vitrina-api": "1", "pushgateway": "1"}
    query = 'vitrina_batch_step_outcome{pipeline="drift",step="check",outcome="ran"}'
    ran = get_json(f"{prometheus}/api/v1/query?query={urllib.request.quote(query)}")["data"]["result"]
    assert [r["metric"]["job"] for r in ran] == ["vitrina-batch"]
    # the API reports the batch it serves, from the store, as the pipeline pushed it
    query = 'vitrina_published_timestamp_seconds{model="recs"}'
    found = get_json(f"{prometheus}/api/v1/query?query={urllib.request.quote(query)}")["data"]["result"]
    by_job = {r["metric"]["job"]: float(r["value"][1]) for r in found}
    assert by_job == {
        "vitrina-api": pytest.approx(published.timestamp()),
        "vitrina-batch": pytest.approx(published.timestamp()),
    }


def gateway_samples(gateway: str) -> dict[str, float]:
    """``name{labels}`` → value of every vitrina sample the gateway exposes."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("vitrina_"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def test_a_failed_run_keeps_the_last_success_time(tmp_path: Path, processes: Processes) -> None:
    gateway = start_pushgateway(processes)
    settings = get_settings(home=tmp_path / "home").model_copy(update={"pushgateway_url": gateway})
    written = BatchReport("v1", "recs-1", dt.datetime.now(dt.UTC), 200, 150, 3000, 20, 1.0)
    steps = [StepEvent("search", "index", "ran", 12.5), StepEvent("recs", "publish", "ran", 8.0)]
    good = LoopRun(run_id="good", steps=steps, recs=RecsRun(run_id="good", batch=written))
    assert {"search", "recs"} <= set(export_loop_run(settings, good))
    coverage = (
        'vitrina_batch_user_coverage_ratio{instance="",job="vitrina-batch",model="recs",pipeline="recs"}'
    )
    assert gateway_samples(gateway)[coverage] == 0.75
    success = [
        v for k, v in gateway_samples(gateway).items() if "last_success" in k and 'pipeline="search"' in k
    ]
    assert len(success) == 1
    assert success[0] > time.time() - 600

    steps = [StepEvent("recs", "publish", "reused", 0.0), StepEvent("search", "index", "failed", 3.0, "boom")]
    bad = LoopRun(run_id="bad", steps=steps, recs=RecsRun(run_id="bad"))  # the batch was reused
    assert {"search", "recs"} <= set(export_loop_run(settings, bad, RuntimeError("search · index failed")))
    after = gateway_samples(gateway)
    assert after[coverage] == 0.75  # measured when the batch was written, kept while it serves
    assert [v for k, v in after.items() if "last_success" in k and 'pipeline="search"' in k] == success
    failed = [
        v for k, v in after.items() if k.startswith("vitrina_batch_job_failed") and 'pipeline="search"' in k
    ]
    assert failed == [1.0]
    outcomes = {k for k in after if k.startswith("vitrina_batch_step_outcome") and 'pipeline="search"' in k}
    assert len(outcomes) == 1
    assert 'outcome="failed"' in outcomes.pop()


def test_the_drift_command_pushes_its_failed_check(tmp_path: Path, processes: Processes) -> None:
    gateway = start_pushgateway(processes)
    home = tmp_path / "home"  # no data: the check fails
    args = ["drift", "--home", str(home), "--no-html", "--query-sample", "0"]
    result = CliRunner().invoke(app, args, env={"VITRINA_PUSHGATEWAY_URL": gateway, "COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "drift check failed" in result.output
    samples = gateway_samples(gateway)
    drift = {k: v for k, v in samples.items() if 'pipeline="drift"' in k}
    assert [v for k, v in drift.items() if k.startswith("vitrina_batch_job_failed")] == [1.0]
    outcomes = [k for k in drift if k.startswith("vitrina_batch_step_outcome")]
    assert len(outcomes) == 1
    assert 'step="check"' in outcomes[0]
    assert 'outcome="failed"' in outcomes[0]


def test_an_ab_report_is_pushed_and_an_interleaving_one_is_not(tmp_path: Path, processes: Processes) -> None:
    gateway = start_pushgateway(processes)
    settings = get_settings(home=tmp_path / "home").model_copy(update={"pushgateway_url": gateway})
    interleaving = {"run_id": "il-search", "interleaving": {"wins_a": 40, "wins_b": 55}}
    assert export_experiment(settings, interleaving) == []
    ab = {
        "run_id": "ab-recs-seed7",
        "ab": {"comparisons": {"ctr": {"lift": 0.08, "p_value": 0.01}}, "srm": {"p_value": 0.0002}},
    }
    assert export_experiment(settings, ab) == ["experiment"]
    labels = 'experiment="ab-recs-seed7",instance="",job="vitrina-batch"'
    samples = gateway_samples(gateway)
    assert samples[f'vitrina_experiment_lift_ratio{{{labels},metric="ctr",pipeline="experiment"}}'] == 0.08
    assert samples[f'vitrina_experiment_srm_p_value{{{labels},pipeline="experiment"}}'] == 0.0002


def test_train_recs_pushes_its_failed_step(tmp_path: Path, processes: Processes) -> None:
    gateway = start_pushgateway(processes)
    args = ["train", "recs", "--home", str(tmp_path / "home")]  # no data: the train step fails
    result = CliRunner().invoke(app, args, env={"VITRINA_PUSHGATEWAY_URL": gateway, "COLUMNS": "200"})
    assert result.exit_code != 0, result.output
    samples = gateway_samples(gateway)
    assert {k for k in samples if k.startswith("vitrina_batch_job_failed")} == {
        'vitrina_batch_job_failed{instance="",job="vitrina-batch",pipeline="recs"}'
    }
    assert samples['vitrina_batch_job_failed{instance="",job="vitrina-batch",pipeline="recs"}'] == 1.0
    labels = 'instance="",job="vitrina-batch",outcome="failed",pipeline="recs",step="train"'
    outcome = f"vitrina_batch_step_outcome{{{labels}}}"
    assert samples[outcome] == 1.0
