"""One pipeline at a time per home, with the real CLI in separate processes: a second run (and
the API's admin promote) is refused at once with the holder's identity while the first completes
and registers the only version; a run killed with SIGKILL leaves the home free for the next."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vitrina.adapters.home_lock import BUSY_EXIT_CODE, lock_path
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import list_versions
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VITRINA = str(Path(sys.executable).with_name("vitrina"))
RECS = ["train", "recs", "--trials", "1", "--no-publish"]
KEY = "lock-test-key"


@pytest.fixture
def home(ci_settings: Settings, mlflow_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "home"
    shutil.copytree(ci_settings.home, root)
    shutil.copy(mlflow_template, root / mlflow_template.name)
    return root


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [VITRINA, *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )


def _wait_until_holding(
    home: Path, process: subprocess.Popen[str], timeout: float = 180
) -> dict[str, object]:
    """The lock file's identity once ``process`` holds the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited {process.returncode} before taking the lock"
        try:
            identity = json.loads(lock_path(home).read_text())
        except (FileNotFoundError, ValueError):
            identity = {}
        if identity.get("pid") == process.pid:
            return identity
        time.sleep(0.05)
    raise AssertionError("the run never took the lock")


def test_a_second_run_and_the_admin_promote_are_refused_while_the_first_completes(home: Path) -> None:
    first = _start(home, *RECS)
    try:
        identity = _wait_until_holding(home, first)
        assert identity["command"] == f"vitrina {' '.join(RECS)} --home {home}"

        settings = get_settings(home=home, admin_api_key=KEY)
        with TestClient(create_app(settings)) as api:
            refused = api.post(f"/admin/promote/{RECS_MODEL}", headers={"X-API-Key": KEY}, json={})
        assert first.poll() is None
        assert refused.status_code == 409
        assert f"another vitrina run holds {lock_path(home)}: pid {first.pid}" in refused.json()["detail"]

        second = _start(home, *RECS)
        output, _ = second.communicate(timeout=120)
        assert first.poll() is None, "the second run waited for the first instead of failing fast"
        assert second.returncode == BUSY_EXIT_CODE, output
        flat = " ".join(output.split())
        assert f"another vitrina run holds {lock_path(home)}: pid {first.pid} on " in flat
        assert "'vitrina train recs --trials 1" in flat
        assert "wait for it or stop it" in flat

        output, _ = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, output
    assert len(list_versions(get_settings(home=home), RECS_MODEL)) <= 1  # the second never registered
    steps = list((home / "lake" / "state" / "steps" / "recs").glob("*.json"))
    assert steps
    assert len({json.loads(step.read_text())["run_id"] for step in steps}) == 1  # one run wrote the ledger
    assert lock_path(home).read_text() == ""  # released
    after = CliRunner().invoke(app, ["data", "validate", "--home", str(home)])
    assert after.exit_code == 0, after.output


def test_a_run_killed_with_sigkill_does_not_leave_the_home_locked(home: Path) -> None:
    holder = _start(home, "drift", "--query-sample", "0", "--no-html")
    try:
        _wait_until_holding(home, holder)
        busy = CliRunner().invoke(app, ["data", "validate", "--home", str(home)])
        assert busy.exit_code == BUSY_EXIT_CODE
        assert f"pid {holder.pid}" in busy.output
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate(timeout=60)
    assert holder.returncode == -signal.SIGKILL
    assert f'"pid": {holder.pid}' in lock_path(home).read_text()  # the dead holder's identity stays …
    after = CliRunner().invoke(app, ["data", "validate", "--home", str(home)])  # … and is no obstacle
    assert after.exit_code == 0, after.output
