"""The step ledger: unchanged inputs are reused, changed ones re-run, failures are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from vitrina.adapters.step_ledger import ARTIFACTS, Ledger, StepFailedError, inputs_hash
from vitrina.config import Settings

pytestmark = pytest.mark.unit
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def _ledger(settings: Settings, run_id: str, force: bool = False) -> Ledger:
    return Ledger(settings, "demo", run_id, QUIET, force)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"value": self.calls}


def test_same_inputs_are_reused_and_changed_inputs_rerun(settings: Settings) -> None:
    work = Counter()
    first, reused = _ledger(settings, "r1").run("step", lambda: {"table": "abc", "k": 1}, work)
    assert (first, reused) == ({"value": 1}, False)
    again, reused = _ledger(settings, "r2").run("step", lambda: {"k": 1, "table": "abc"}, work)
    assert (again, reused, work.calls) == ({"value": 1}, True, 1)  # key order does not matter
    changed, reused = _ledger(settings, "r3").run("step", lambda: {"table": "abd", "k": 1}, work)
    assert (changed, reused, work.calls) == ({"value": 2}, False, 2)
    record = _ledger(settings, "r4").last("step")
    assert record is not None
    assert (record.status, record.run_id, record.inputs) == ("done", "r3", {"k": 1, "table": "abd"})
    assert record.inputs_hash == inputs_hash({"table": "abd", "k": 1})


def test_force_reruns_and_events_say_what_happened(settings: Settings) -> None:
    work = Counter()
    _ledger(settings, "r1").run("step", lambda: {"x": 1}, work)
    forced = _ledger(settings, "r2", force=True)
    _, reused = forced.run("step", lambda: {"x": 1}, work)
    assert not reused
    assert work.calls == 2
    ledger = _ledger(settings, "r3")
    ledger.run("step", lambda: {"x": 1}, work)
    ledger.skipped("other", "not needed")
    assert [(e.step, e.outcome) for e in ledger.events] == [("step", "reused"), ("other", "skipped")]


def test_a_step_that_ran_shows_the_detail_of_its_outputs(settings: Settings) -> None:
    ledger = _ledger(settings, "r1")
    ledger.run("moved", lambda: {"x": 1}, lambda: {"rows": 7}, lambda out: f"{out['rows']} rows moved")
    ledger.run("plain", lambda: {"x": 1}, Counter())
    assert [(e.step, e.outcome, e.detail) for e in ledger.events] == [
        ("moved", "ran", "7 rows moved"),
        ("plain", "ran", ""),
    ]


def test_a_missing_artifact_means_the_work_is_redone(settings: Settings, tmp_path: Path) -> None:
    artifact = tmp_path / "model.txt"
    artifact.write_text("trained")
    work = Counter()

    def train() -> dict[str, Any]:
        return {**work(), ARTIFACTS: [str(artifact)]}

    _ledger(settings, "r1").run("train", lambda: {"x": 1}, train)
    assert _ledger(settings, "r2").run("train", lambda: {"x": 1}, train)[1]
    artifact.unlink()
    assert not _ledger(settings, "r3").run("train", lambda: {"x": 1}, train)[1]
    assert work.calls == 2


def test_a_failure_is_recorded_named_and_retried_next_time(settings: Settings) -> None:
    work = Counter()
    _ledger(settings, "r1").run("step", lambda: {"x": 1}, work)

    def broken() -> dict[str, Any]:
        raise OSError("disk full")

    with pytest.raises(StepFailedError, match=r"demo · step failed: OSError: disk full") as failed:
        _ledger(settings, "r2").run("step", lambda: {"x": 2}, broken)
    assert (failed.value.pipeline, failed.value.step) == ("demo", "step")
    record = _ledger(settings, "r3").last("step")
    assert record is not None
    assert (record.status, record.message) == ("failed", "OSError: disk full")
    _, reused = _ledger(settings, "r4").run("step", lambda: {"x": 1}, work)
    assert not reused  # the failed record replaced the done one: the work runs again


def test_failing_to_hash_the_inputs_is_a_failed_step(settings: Settings) -> None:
    def unreadable() -> dict[str, Any]:
        raise ValueError("corrupt parquet footer")

    with pytest.raises(StepFailedError, match="corrupt parquet footer"):
        _ledger(settings, "r1").run("step", unreadable, Counter())
    record = _ledger(settings, "r2").last("step")
    assert record is not None
    assert record.status == "failed"


def test_record_lets_the_next_run_reuse_work_done_elsewhere(settings: Settings) -> None:
    _ledger(settings, "r1").record("reindex", {"model": "v1"}, {"index": "v0001"})
    work = Counter()
    outputs, reused = _ledger(settings, "r2").run("reindex", lambda: {"model": "v1"}, work)
    assert (outputs, reused, work.calls) == ({"index": "v0001"}, True, 0)
