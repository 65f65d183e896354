"""The interleaving of two search versions through its pipeline (registry calls stubbed, the
lake real): started on the registered challenger, judged on the logged answers and events of
its experiment, promoted, withdrawn or ended as stale, and recorded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from vitrina.adapters.interleave_state import load_interleave
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.experiments.interleave_verdict import InterleavePolicy
from vitrina.core.tables import EVENTS, SEARCH_ANSWERS
from vitrina.pipelines.search import interleave
from vitrina.pipelines.search.interleave import InterleaveError, interleave_step, start_interleave

pytestmark = pytest.mark.unit
TS = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
TEAMS = ["champion", "challenger", "champion", "challenger"]


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Aliases champion v1, challenger v2; what the pipeline asked of the registry is recorded."""
    calls: dict[str, Any] = {"aliases": {"champion": 1, "challenger": 2}, "done": []}

    def get_version(settings: Settings, model: str, alias: str) -> Any:
        version = calls["aliases"].get(alias)
        return None if version is None else SimpleNamespace(version=version)

    def promote(settings: Settings, model: str, reason: str, version: int) -> None:
        calls["aliases"] = {"champion": version}
        calls["done"].append(("promote", version))

    def withdraw(settings: Settings, model: str, reason: str) -> None:
        calls["aliases"].pop("challenger")
        calls["done"].append(("withdraw", reason.split(":")[1].strip()))

    monkeypatch.setattr(interleave, "get_version", get_version)
    monkeypatch.setattr(interleave, "promote", promote)
    monkeypatch.setattr(interleave, "withdraw_challenger", withdraw)
    monkeypatch.setattr(interleave, "serve_challenger_index", lambda settings: "products-v3")
    monkeypatch.setattr(interleave, "serve_champion_index", lambda s: calls["done"].append(("serve",)))
    monkeypatch.setattr(
        interleave, "set_challenger", lambda s, name, reason: calls["done"].append(("pointer", name))
    )
    monkeypatch.setattr(interleave, "tag_version", lambda s, m, v, tags: calls.setdefault("tags", tags))
    return calls


def _log(settings: Settings, name: str, users: int, winner: str) -> None:
    """``users`` challenger-arm answers of experiment ``name`` with a click on ``winner``'s item,
    and as many champion-arm answers (no teams) with a click, which must not count."""
    answers, events = [], []
    for i in range(users):
        for arm, teams in (("challenger", TEAMS), ("champion", None)):
            request = f"{name}-{arm}-{i}"
            answers.append({"request_id": request, "ts": TS, "user_id": f"{arm}-u{i}", "query": "q",
                            "results_shown": ["a", "b", "c", "d"], "positions": [1, 2, 3, 4],
                            "teams": teams, "arm": arm, "experiment": name, "mode": "m",
                            "index_version": "products-v1", "model_version": "m1"})  # fmt: skip
            product = "b" if winner == "challenger" else "a"
            events.append({"event_id": f"e-{request}", "user_id": f"{arm}-u{i}", "product_id": product,
                           "event_type": "click", "ts": TS + dt.timedelta(minutes=1),
                           "session_id": "s", "device": "web", "page": "search", "position": 1,
                           "request_id": request})  # fmt: skip
    lake = LakePaths(settings.lake)
    write_table(lake, "raw", "search_answers", pa.Table.from_pylist(answers, SEARCH_ANSWERS.schema), "ts")
    write_table(lake, "raw", "events", pa.Table.from_pylist(events, EVENTS.schema), "ts", part=name)


def test_users_preferring_the_challenger_promote_it_and_end_the_experiment(
    tmp_path: Path, registry: dict[str, Any]
) -> None:
    settings = get_settings(home=tmp_path)
    state = start_interleave(settings)
    assert (state["champion"], state["challenger"], state["challenger_index"]) == ("v1", "v2", "products-v3")
    experiment = json.loads((tmp_path / "serving" / "experiment.json").read_text())["search"]
    assert (experiment["enabled"], experiment["kind"], experiment["name"]) == (
        True,
        "interleave",
        "interleave-search-v2",
    )
    with pytest.raises(InterleaveError, match="already being interleaved"):
        start_interleave(settings)
    _log(settings, state["experiment"], 40, "challenger")
    state, decision = interleave_step(settings)
    assert decision.action == "promote"
    assert (decision.test.wins_b, decision.test.wins_a, decision.test.ties) == (40, 0, 0)
    assert registry["done"] == [("promote", 2), ("serve",), ("pointer", None)]
    assert load_interleave(settings)["status"] == "promoted"  # type: ignore[index]
    assert json.loads((tmp_path / "serving" / "experiment.json").read_text())["search"]["enabled"] is False
    assert json.loads(registry["tags"]["interleave.look.001"])["action"] == "promote"
    with pytest.raises(InterleaveError, match="no interleaving"):
        interleave_step(settings)


def test_users_preferring_the_champion_withdraw_the_challenger(
    tmp_path: Path, registry: dict[str, Any]
) -> None:
    settings = get_settings(home=tmp_path)
    state = start_interleave(settings)
    _log(settings, state["experiment"], 40, "champion")
    _, decision = interleave_step(settings)
    assert decision.action == "withdraw"
    assert registry["done"] == [("pointer", None), ("withdraw", "withdraw")]


def test_too_few_users_continue_and_a_newer_challenger_makes_it_stale(
    tmp_path: Path, registry: dict[str, Any]
) -> None:
    settings = get_settings(home=tmp_path)
    state = start_interleave(settings, InterleavePolicy(min_decided=50))
    _log(settings, state["experiment"], 10, "challenger")
    _, first = interleave_step(settings)
    assert (first.action, first.look) == ("continue", 1)
    assert registry["done"] == []
    registry["aliases"]["challenger"] = 4  # a newer version took the alias
    _, second = interleave_step(settings)
    assert (second.action, second.look) == ("stale", 2)
    assert registry["done"] == []  # v4 stays the challenger; the pointer follows it (stubbed)
    assert [look["action"] for look in load_interleave(settings)["looks"]] == ["continue", "stale"]  # type: ignore[index]
