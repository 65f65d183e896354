"""The shared DAG helpers: configuration lookup, the rendered CLI line, the drift branch, failure records."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from vitrina_dag_common import (
    KEEP_TASK,
    RETRAIN_TASK,
    ConfigError,
    VitrinaConfig,
    branch_for,
    cli_command,
    failure_record,
    failures_path,
    parse_decision,
    read_drift_decision,
    record_failure,
    resolve_config,
)


def _executable(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """Prints its VITRINA_HOME, VITRINA_LAKE_URL and arguments, one per line."""
    return _executable(
        tmp_path / "vitrina",
        'echo "$VITRINA_HOME"; echo "${VITRINA_LAKE_URL:-unset}"; for a in "$@"; do echo "$a"; done\n',
    )


@pytest.mark.unit
def test_variable_wins_over_env(tmp_path: Path, fake_bin: Path) -> None:
    other = _executable(tmp_path / "other", "true\n")
    variables = {"vitrina_bin": str(fake_bin), "vitrina_home": str(tmp_path / "from-variable")}
    environ = {"VITRINA_BIN": str(other), "VITRINA_HOME": str(tmp_path / "from-env")}
    config = resolve_config(variables.get, environ)
    assert config == VitrinaConfig(bin=str(fake_bin), home=tmp_path / "from-variable")
    assert config.lake == str(tmp_path / "from-variable" / "lake")


@pytest.mark.unit
def test_env_is_the_fallback(tmp_path: Path, fake_bin: Path) -> None:
    environ = {"VITRINA_BIN": str(fake_bin), "VITRINA_HOME": str(tmp_path), "VITRINA_LAKE_URL": "s3://b/l"}
    config = resolve_config(lambda _name: None, environ)
    assert (config.bin, config.home, config.lake) == (str(fake_bin), tmp_path, "s3://b/l")


@pytest.mark.unit
def test_missing_cli_says_what_to_set(tmp_path: Path) -> None:
    environ = {"VITRINA_BIN": str(tmp_path / "nope"), "VITRINA_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match="vitrina_bin"):
        resolve_config(lambda _name: None, environ)


@pytest.mark.unit
@pytest.mark.parametrize("home", [None, "relative/home"])
def test_home_must_be_absolute(fake_bin: Path, home: str | None) -> None:
    environ = {"VITRINA_BIN": str(fake_bin)} | ({"VITRINA_HOME": home} if home else {})
    with pytest.raises(ConfigError, match="vitrina_home"):
        resolve_config(lambda _name: None, environ)


@pytest.mark.unit
def test_cli_command_runs_the_cli_against_the_home(tmp_path: Path, fake_bin: Path) -> None:
    """The rendered line, run by bash as BashOperator does, passes the home and arguments intact."""
    home = tmp_path / "a home with spaces"
    config = VitrinaConfig(bin=str(fake_bin), home=home, lake_url="file:///x y/lake")
    line = cli_command(["drift", "--window-days", "7"], config)
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(home), "file:///x y/lake", "drift", "--window-days", "7"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("decision", "task"), [("retrain", RETRAIN_TASK), ("warn", KEEP_TASK), ("none", KEEP_TASK)]
)
def test_only_retrain_retrains(decision: str, task: str) -> None:
    assert branch_for(parse_decision({"decision": decision})) == task


@pytest.mark.unit
@pytest.mark.parametrize("payload", [{}, {"decision": "RETRAIN"}, {"decision": None}])
def test_unknown_decision_is_an_error(payload: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="decision"):
        parse_decision(payload)


@pytest.mark.unit
def test_read_drift_decision_from_the_lake(tmp_path: Path) -> None:
    config = VitrinaConfig(bin="vitrina", home=tmp_path)
    with pytest.raises(FileNotFoundError, match="vitrina drift"):
        read_drift_decision(config)
    report = tmp_path / "lake" / "reports" / "drift" / "latest" / "metrics.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"decision": "warn", "reasons": ["price PSI 0.12"]}))
    decision, payload = read_drift_decision(config)
    assert decision == "warn"
    assert payload["reasons"] == ["price PSI 0.12"]


@pytest.mark.unit
def test_failures_go_to_the_lake_state_or_the_home(tmp_path: Path) -> None:
    local = VitrinaConfig(bin="vitrina", home=tmp_path)
    assert failures_path(local) == tmp_path / "lake" / "state" / "airflow_failures.jsonl"
    moved = VitrinaConfig(bin="vitrina", home=tmp_path, lake_url=f"file://{tmp_path}/other")
    assert failures_path(moved) == tmp_path / "other" / "state" / "airflow_failures.jsonl"
    remote = VitrinaConfig(bin="vitrina", home=tmp_path, lake_url="s3://bucket/lake")
    assert failures_path(remote) == tmp_path / "state" / "airflow_failures.jsonl"


def _context() -> dict[str, object]:
    ti = SimpleNamespace(dag_id="vitrina_drift", task_id="drift_check", try_number=3)
    return {
        "ti": ti,
        "dag_run": SimpleNamespace(run_id="scheduled__2026-11-22T04:00:00+00:00"),
        "logical_date": dt.datetime(2026, 11, 22, 4, tzinfo=dt.UTC),
        "exception": RuntimeError("exit code 1"),
    }


@pytest.mark.unit
def test_failure_record_names_the_task_and_the_error() -> None:
    now = dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.UTC)
    record = failure_record(_context(), now=now)
    assert record == {
        "at": "2026-11-22T04:30:00+00:00",
        "dag_id": "vitrina_drift",
        "task_id": "drift_check",
        "run_id": "scheduled__2026-11-22T04:00:00+00:00",
        "try_number": 3,
        "logical_date": "2026-11-22T04:00:00+00:00",
        "error": "RuntimeError('exit code 1')",
    }


@pytest.mark.unit
def test_record_failure_appends_and_never_raises(
    tmp_path: Path, fake_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VITRINA_BIN", str(fake_bin))
    monkeypatch.delenv("VITRINA_HOME", raising=False)
    record_failure(_context())  # no home configured: logged, not raised
    monkeypatch.setenv("VITRINA_HOME", str(tmp_path))
    record_failure(_context())
    record_failure(_context())
    lines = (tmp_path / "lake" / "state" / "airflow_failures.jsonl").read_text().splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == ["drift_check", "drift_check"]
