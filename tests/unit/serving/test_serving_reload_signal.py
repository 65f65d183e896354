"""Admin changes reach every worker: the generation counters two processes share in the home
(two :class:`Generations` on one folder play two workers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vitrina.adapters.reload_counters import Kind
from vitrina.serving.reload_signal import Generations, stop

pytestmark = pytest.mark.unit


def test_a_change_is_pending_for_the_other_workers_not_for_the_one_that_made_it(tmp_path: Path) -> None:
    first, second = Generations(tmp_path), Generations(tmp_path)
    assert first.pending() == second.pending() == set()
    first.bump("experiment")
    assert first.pending() == set()
    assert second.pending() == {"experiment"}
    assert second.pending() == set()  # applied once
    second.bump("models")
    first.bump("experiment")
    assert first.pending() == {"models"}
    assert second.pending() == {"experiment"}
    assert first.read() == {"experiment": 2, "models": 1}


def test_a_bump_by_another_worker_in_between_is_not_swallowed_by_ones_own(tmp_path: Path) -> None:
    first, second, third = Generations(tmp_path), Generations(tmp_path), Generations(tmp_path)
    second.bump("models")  # first has not looked yet …
    first.bump("models")  # … when it makes its own change: it must still apply second's
    assert first.pending() == {"models"}
    assert third.pending() == {"models"}


def test_a_reset_file_counts_as_a_change(tmp_path: Path) -> None:
    first, second = Generations(tmp_path), Generations(tmp_path)
    first.bump("models")
    assert second.pending() == {"models"}
    first.path.unlink()  # e.g. a home restored from a copy
    assert second.pending() == {"models"}
    first.path.write_text("not json")
    assert second.pending() == set()  # unreadable reads as zeros: nothing new


def test_follow_applies_other_workers_changes_and_survives_a_failing_apply(tmp_path: Path) -> None:
    worker, admin = Generations(tmp_path, interval_s=0.01), Generations(tmp_path)
    applied: list[set[Kind]] = []

    async def apply(kinds: set[Kind]) -> None:
        applied.append(kinds)
        if len(applied) == 1:
            raise RuntimeError("the reload failed")

    async def scenario() -> None:
        task = asyncio.create_task(worker.follow(apply))
        admin.bump("models")
        for _ in range(500):
            await asyncio.sleep(0.01)
            if applied:
                break
        admin.bump("experiment")
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(applied) == 2:
                break
        await stop(task)
        assert task.cancelled()

    asyncio.run(scenario())
    assert applied == [{"models"}, {"experiment"}]
