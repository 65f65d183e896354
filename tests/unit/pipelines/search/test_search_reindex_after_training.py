"""The served index is refreshed on every cycle, whatever became of a retrain: a trained
version that does not serve (a challenger beside a serving champion) leaves the champion's
index to the re-index, so new products are searchable after one cycle."""

from __future__ import annotations

from typing import Any

import pytest

from vitrina.config import Settings
from vitrina.pipelines.retrain_policy import TrainDecision
from vitrina.pipelines.search import run as search_run
from vitrina.pipelines.search.run import SearchConfig, SearchRun, run_search

pytestmark = pytest.mark.unit

DRIFT = TrainDecision(True, "drift", "drift report r decided retrain for search")


def _pipeline(monkeypatch: pytest.MonkeyPatch, served: str, built: str) -> list[str]:
    """A search pipeline whose training builds index version ``built`` while ``served`` serves;
    returns the re-indexes it ran."""
    reindexed: list[str] = []

    def build(
        _s: Settings, _c: SearchConfig, _console: Any, run: SearchRun, _d: TrainDecision
    ) -> dict[str, Any]:
        run.version = built
        return {"index_version": built}

    def reindex(_s: Settings, run: SearchRun) -> dict[str, Any]:
        reindexed.append(served)
        run.version = f"{served}+1"
        return {"index_version": run.version, "previous": served, "embedded": 5}

    monkeypatch.setattr(search_run, "_tables", lambda _s: {"catalog": "digest"})
    monkeypatch.setattr(search_run, "text_inputs", lambda _s: {})
    monkeypatch.setattr(search_run, "current_version", lambda _s: served)
    monkeypatch.setattr(search_run, "read_version_meta", lambda _s, _v: {"model_version": "m"})
    monkeypatch.setattr(search_run, "_build", build)
    monkeypatch.setattr(search_run, "_reindex", reindex)
    return reindexed


def _outcomes(run: SearchRun) -> dict[str, str]:
    return {event.step: event.outcome for event in run.steps}


def test_a_retrain_registered_as_challenger_still_reindexes_the_champion(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reindexed = _pipeline(monkeypatch, served="champion-index", built="challenger-index")
    run = run_search(settings, SearchConfig(), decision=DRIFT)
    assert reindexed == ["champion-index"]
    assert _outcomes(run)["reindex"] == "ran"


def test_a_retrain_that_serves_is_the_reindex(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    reindexed = _pipeline(monkeypatch, served="fresh-index", built="fresh-index")
    run = run_search(settings, SearchConfig(), decision=DRIFT)
    assert reindexed == []
    assert run.version == "fresh-index"
    assert _outcomes(run).get("reindex") != "ran"
