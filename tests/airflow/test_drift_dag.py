"""`dag.test()` of the drift DAG on SQLite metadata after `airflow db migrate`.

The branch logic runs against a stand-in `vitrina` written here (it only records its calls and
writes the decision it is told); the end-to-end test runs the real CLI of ``VITRINA_BIN`` on a
ci-scale marketplace.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

DRIFT_REPORT = Path("lake/reports/drift/latest/metrics.json")


def _fake_vitrina(path: Path, decision: str, drift_exit: int = 0) -> Path:
    """A stand-in CLI: appends its arguments to $VITRINA_HOME/calls.log; `drift` writes DECISION."""
    path.write_text(
        f"""#!/usr/bin/env bash
echo "$*" >> "$VITRINA_HOME/calls.log"
if [ "$1" = "drift" ]; then
  mkdir -p "$VITRINA_HOME/{DRIFT_REPORT.parent}"
  echo '{{"decision": "{decision}", "reasons": ["fake"]}}' > "$VITRINA_HOME/{DRIFT_REPORT}"
  exit {drift_exit}
fi
"""
    )
    path.chmod(0o755)
    return path


def _run_drift_dag(dagbag: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One `dag.test()` run of the drift DAG, without retries (a failure shows at once, not after
    the backoff): task_id → final state."""
    dag = dagbag.dags["vitrina_drift"]
    for task in dag.tasks:
        monkeypatch.setattr(task, "retries", 0)
    run = dag.test()
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("decision", "followed", "skipped"),
    [
        ("retrain", "retrain", "keep_champion"),
        ("warn", "keep_champion", "retrain"),
        ("none", "keep_champion", "retrain"),
    ],
)
def test_branch_follows_the_drift_decision(
    airflow_db: None,
    dagbag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    decision: str,
    followed: str,
    skipped: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_VITRINA_BIN", str(_fake_vitrina(tmp_path / "vitrina", decision)))
    monkeypatch.setenv("VITRINA_HOME", str(home))
    states = _run_drift_dag(dagbag, monkeypatch)
    assert states["validate"] == states["drift_check"] == states["branch_on_drift"] == "success"
    assert (states[followed], states[skipped]) == ("success", "skipped")
    calls = (home / "calls.log").read_text().splitlines()
    intake = ["data ingest catalog --if-configured", "data ingest events"]
    assert calls == [*intake, "data validate", "drift"] + (["train recs"] if decision == "retrain" else [])
    assert not (home / "lake" / "state" / "airflow_failures.jsonl").exists()


@pytest.mark.integration
def test_failed_drift_check_keeps_the_champion_and_is_recorded(
    airflow_db: None, dagbag: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    fake = _fake_vitrina(tmp_path / "vitrina", "retrain", drift_exit=3)
    monkeypatch.setenv("AIRFLOW_VAR_VITRINA_BIN", str(fake))
    monkeypatch.setenv("VITRINA_HOME", str(home))
    states = _run_drift_dag(dagbag, monkeypatch)
    assert states["drift_check"] == "failed"
    assert states["branch_on_drift"] == states["retrain"] == "upstream_failed"
    assert "train recs" not in (home / "calls.log").read_text()
    failures = (home / "lake" / "state" / "airflow_failures.jsonl").read_text().splitlines()
    record = json.loads(failures[-1])
    assert (record["dag_id"], record["task_id"]) == ("vitrina_drift", "drift_check")
    assert "exit code 3" in record["error"]


@pytest.fixture
def vitrina_with_drift(vitrina_bin: str) -> str:
    """The real CLI; it must have `vitrina drift` (a missing command is a failure)."""
    probe = subprocess.run([vitrina_bin, "drift", "--help"], capture_output=True, timeout=120, check=False)
    assert probe.returncode == 0, f"`vitrina drift --help` failed: {probe.stderr!r}"
    return vitrina_bin


@pytest.mark.integration
@pytest.mark.slow
def test_drift_dag_end_to_end_with_the_real_cli(
    vitrina_with_drift: str, airflow_db: None, dagbag: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `vitrina` on a ci-scale marketplace: the branch taken is the one the report asks for."""
    home = tmp_path / "home"
    subprocess.run(
        [vitrina_with_drift, "data", "generate", "--scale", "ci", "--seed", "7", "--home", str(home)],
        check=True,
        timeout=600,
    )
    monkeypatch.setenv("AIRFLOW_VAR_VITRINA_HOME", str(home))
    states = _run_drift_dag(dagbag, monkeypatch)
    # no catalog source: the intake says so and succeeds
    assert states["ingest_catalog"] == states["ingest_events"] == "success"
    assert states["validate"] == states["drift_check"] == states["branch_on_drift"] == "success"
    decision = json.loads((home / DRIFT_REPORT).read_text())["decision"]
    followed = "retrain" if decision == "retrain" else "keep_champion"
    skipped = ({"retrain", "keep_champion"} - {followed}).pop()
    assert (states[followed], states[skipped]) == ("success", "skipped")
