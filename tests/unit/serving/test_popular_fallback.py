"""The API's last-resort popularity list: computed from the validated lake when neither the
store nor its snapshot can answer, through the adapter that reads the recs tables."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vitrina.adapters.lake.recs_tables import read_recs_data
from vitrina.adapters.models.recs_bundle import POLICY_FILE
from vitrina.adapters.registry import models
from vitrina.adapters.stores.base import POPULAR_REASON, TOP_K
from vitrina.config import Settings, get_settings
from vitrina.core.recs.policy import FILL, make_source
from vitrina.serving.popular_fallback import load_popular

pytestmark = pytest.mark.unit


def test_without_store_or_snapshot_the_lake_answers_with_servable_popular_products(
    ci_settings: Settings,
) -> None:
    popular = load_popular(ci_settings, None)
    assert (popular.source, popular.model_version) == ("lake", "popularity-lake")
    assert len(popular.items) == TOP_K
    assert {item.reason for item in popular.items} == {POPULAR_REASON}
    scores = [item.score for item in popular.items]
    assert scores == sorted(scores, reverse=True)
    data = read_recs_data(ci_settings)
    servable = set(data.items.ids[data.servable])
    assert {item.product_id for item in popular.items} <= servable


def test_an_empty_lake_leaves_the_list_empty(tmp_path: Path) -> None:
    popular = load_popular(get_settings(home=tmp_path), None)
    assert (popular.items, popular.source) == ((), "none")


def test_the_lake_list_ranks_at_the_recency_the_champion_chose(
    ci_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the champion's run chose all-time popularity (policy.json sources, docs/adr/0026)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    chosen = {FILL: {"half_life_days": None, "window_days": None}}
    (bundle / POLICY_FILE).write_text(json.dumps({"kind": "single", "parts": [FILL], "sources": chosen}))
    monkeypatch.setattr(
        models, "resolve", lambda settings, model, alias="champion": SimpleNamespace(path=bundle)
    )
    popular = load_popular(ci_settings, None)
    data = read_recs_data(ci_settings)

    def top(settings: dict[str, dict[str, float | None]]) -> list[str]:
        model = make_source(FILL, settings).fit(data, data.interactions)
        rows, _ = model.recommend(np.zeros(1, dtype=np.int64), TOP_K, ~data.servable)
        return [str(data.items.ids[row]) for row in rows[0] if row >= 0]

    assert [item.product_id for item in popular.items] == top(chosen)
    assert top(chosen) != top({})  # not the 7-day default


def test_without_a_champion_the_lake_list_keeps_the_default_recency(
    ci_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(settings: Settings, model: str, alias: str = "champion") -> None:
        raise models.ModelNotFoundError("no champion")

    monkeypatch.setattr(models, "resolve", missing)
    popular = load_popular(ci_settings, None)
    data = read_recs_data(ci_settings)
    model = make_source(FILL).fit(data, data.interactions)
    rows, _ = model.recommend(np.zeros(1, dtype=np.int64), TOP_K, ~data.servable)
    assert [item.product_id for item in popular.items] == [str(data.items.ids[r]) for r in rows[0] if r >= 0]
