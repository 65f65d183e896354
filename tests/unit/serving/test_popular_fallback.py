"""The API's last-resort popularity list: computed from the validated lake when neither the
store nor its snapshot can answer, through the adapter that reads the recs tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrina.adapters.lake.recs_tables import read_recs_tables
from vitrina.adapters.stores.base import POPULAR_REASON, TOP_K
from vitrina.config import Settings, get_settings
from vitrina.core.recs.dataset import build_recs_data
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
    data = build_recs_data(*read_recs_tables(ci_settings))
    servable = set(data.items.ids[data.servable])
    assert {item.product_id for item in popular.items} <= servable


def test_an_empty_lake_leaves_the_list_empty(tmp_path: Path) -> None:
    popular = load_popular(get_settings(home=tmp_path), None)
    assert (popular.items, popular.source) == ((), "none")
