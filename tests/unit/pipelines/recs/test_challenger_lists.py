"""The loop's ``recs · publish challenger`` step: a challenger's lists published for an
experiment follow the data as the champion's do, in any deployment (DAG, ``train all``), while
lists its model did not make are left as published."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from rich.console import Console

from vitrina.adapters.reload_counters import read_counters
from vitrina.adapters.step_ledger import Ledger
from vitrina.adapters.stores.base import Recommendation
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.core.recs.dataset import RecsData
from vitrina.pipelines.recs import challenger_lists
from vitrina.pipelines.recs.challenger_lists import CHALLENGER_STEP, refresh_challenger
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import lists_model_version

pytestmark = pytest.mark.unit

TAGS = {"pipeline_run_id": "20261206T010000"}


def _publish(settings: Settings, version: str, model_version: str, channel: str) -> None:
    with open_store(settings) as store:
        with store.begin_version(version, model_version=model_version) as writer:
            writer.put("u1", [Recommendation("p1", 1.0, "test")])
            writer.set_popular([Recommendation("p1", 1.0, "test")])
        store.publish(version, channel=channel)


def _ledger(settings: Settings, run: str) -> Ledger:
    return Ledger(settings, "recs", run, Console(quiet=True))


@pytest.fixture
def republished(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The registry's challenger is v5 (trained in run ``TAGS``); calls of publish_challenger."""
    calls: list[dict[str, Any]] = []

    def publish(_settings: Settings, config: RecsConfig, data: Any = None) -> object:
        calls.append({"data": data})
        return SimpleNamespace(version=f"challenger-{len(calls)}", model_version="m", users=7)

    monkeypatch.setattr(
        challenger_lists, "get_version", lambda _s, _m, _alias: SimpleNamespace(version=5, tags=TAGS)
    )
    monkeypatch.setattr(challenger_lists, "publish_challenger", publish)
    _publish(settings, "champion-1", "recs-champion", "current")
    return calls


def test_the_challengers_own_lists_are_republished_when_the_data_changed(
    settings: Settings, republished: list[dict[str, Any]]
) -> None:
    _publish(settings, "challenger-0", lists_model_version(5, TAGS), "challenger")
    tables = {"events": "a"}
    first = _ledger(settings, "r1")
    loaded = cast(RecsData, SimpleNamespace())
    outputs = refresh_challenger(settings, first, lambda: tables, RecsConfig(), lambda: loaded)
    assert outputs is not None
    assert outputs["store_version"] == "challenger-1"
    assert republished == [{"data": loaded}]  # the data the champion's publish already loaded
    [event] = first.events
    assert (event.step, event.outcome) == (CHALLENGER_STEP, "ran")
    assert event.detail == "v5's lists re-published on today's data (7 users)"
    assert read_counters(settings.home).get("models", 0) >= 1  # the API reloads
    again = _ledger(settings, "r2")
    refresh_challenger(settings, again, lambda: tables, RecsConfig())
    assert again.events[0].outcome == "reused"  # same data, same challenger
    tables = {"events": "b"}
    later = _ledger(settings, "r3")
    refresh_challenger(settings, later, lambda: tables, RecsConfig())
    assert later.events[0].outcome == "ran"
    assert len(republished) == 2


def test_lists_another_model_made_are_left_as_published(
    settings: Settings, republished: list[dict[str, Any]]
) -> None:
    _publish(settings, "challenger-bad", "recs-bad-v5", "challenger")
    ledger = _ledger(settings, "r1")
    assert refresh_challenger(settings, ledger, lambda: {}, RecsConfig()) is None
    [event] = ledger.events
    assert event.outcome == "skipped"
    assert "made by recs-bad-v5, not by v5's model (recs-20261206T010000)" in event.detail
    assert republished == []


def test_nothing_is_published_without_challenger_lists_or_a_registered_challenger(
    settings: Settings, republished: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _ledger(settings, "r1")
    refresh_challenger(settings, ledger, lambda: {}, RecsConfig())
    assert ledger.events[-1].detail == "no challenger lists published: nothing to refresh"
    _publish(settings, "challenger-0", lists_model_version(5, TAGS), "challenger")
    monkeypatch.setattr(challenger_lists, "get_version", lambda _s, _m, _alias: None)
    refresh_challenger(settings, ledger, lambda: {}, RecsConfig())
    assert ledger.events[-1].outcome == "skipped"
    assert "has no challenger" in ledger.events[-1].detail
    assert republished == []
