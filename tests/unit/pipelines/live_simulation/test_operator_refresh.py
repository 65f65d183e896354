"""While a canary runs, the live operator re-publishes the challenger's lists after every loop
run (the day's new customers folded in), as the loop re-publishes the champion's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from vitrina.config import Settings
from vitrina.core.experiments.canary import CanaryPolicy
from vitrina.pipelines.live_simulation import operator
from vitrina.pipelines.live_simulation.operator import ChallengerFlow
from vitrina.pipelines.recs import publish

pytestmark = pytest.mark.unit


def test_a_challenger_under_canary_is_republished_every_day(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[str] = []
    bumped: list[str] = []
    state: dict[str, Any] = {"canary": SimpleNamespace(status="running", challenger="v5")}

    def republish(_settings: Settings) -> object:
        published.append("challenger")
        return object()

    monkeypatch.setattr(operator, "load_canary", lambda _s, _surface: state["canary"])
    monkeypatch.setattr(operator, "bump_counter", lambda _home, name: bumped.append(name))
    monkeypatch.setattr(publish, "publish_challenger", republish)
    flow = ChallengerFlow(settings, CanaryPolicy())
    assert flow.advance(8) == [
        {"surface": "recs", "challenger": "v5", "summary": "re-published on today's data"}
    ]
    assert flow.advance(9)[0]["summary"] == "re-published on today's data"
    assert (published, bumped) == (["challenger", "challenger"], ["models", "models"])
    state["canary"] = SimpleNamespace(status="rolled_back", challenger="v5")
    monkeypatch.setattr(operator, "get_version", lambda _s, _m, _alias: None)
    assert flow.advance(10) == []  # no canary running, nothing registered: nothing to publish
    assert len(published) == 2
