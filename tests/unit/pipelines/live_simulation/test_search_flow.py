"""The live simulation's record of the search side: the loop's start of an interleaving and each
look, each once; an interleaving the home held before the run is not a start of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.interleave_state import interleave_url
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.pipelines.live_simulation.search_flow import SearchInterleaveFlow

pytestmark = pytest.mark.unit
LOOK = {"look": 1, "action": "promote", "reason": "users prefer it", "wins_b": 30, "wins_a": 10, "ties": 5,
        "p_value": 0.002, "always_valid_p": 0.01}  # fmt: skip


def _state(challenger: str, started: str, looks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"challenger": challenger, "champion": "v1", "challenger_index": "products-v4",
            "started_at": started, "status": "running", "looks": looks}  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path / "home")


def test_the_loops_start_and_then_its_looks_are_recorded_once(settings: Settings) -> None:
    flow = SearchInterleaveFlow(settings)
    flow.begin()
    assert flow.watch(0) == []
    write_json_atomic(_state("v2", "t1", []), interleave_url(settings))

    (started,) = flow.watch(1)
    assert started["summary"] == "the loop starts interleaving v2 (products-v4) with the champion v1"
    assert flow.watch(1) == []
    write_json_atomic(_state("v2", "t1", [LOOK]), interleave_url(settings))
    (look,) = flow.watch(2)
    assert "look 1: promote" in look["summary"]
    assert [(c.version, c.day) for c in flow.promotions] == [("v2", 2)]


def test_an_interleaving_held_before_the_run_is_not_a_start(settings: Settings) -> None:
    write_json_atomic(_state("v2", "t0", [LOOK]), interleave_url(settings))
    flow = SearchInterleaveFlow(settings)
    flow.begin()
    assert flow.watch(0) == []
    assert flow.verdicts == []
