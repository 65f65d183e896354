"""The live simulation's reach probes: what the served batch lists, what a title search answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_store
from vitrina.config import Settings, get_settings
from vitrina.core.ranking.interactions import Vocabulary
from vitrina.core.ranking.top_k import PAD
from vitrina.pipelines.live_simulation.reach import ReachProbe, published_products, servable_titles
from vitrina.pipelines.recs.batch import publish_recommendations

pytestmark = pytest.mark.unit

VOCAB = Vocabulary.of([f"p{i}" for i in range(6)])
WHEN = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def publish(settings: Settings, run_id: str, lists: list[list[int]]) -> None:
    items = np.array(lists, dtype=np.int64)
    with open_store(settings) as store:
        publish_recommendations(
            store,
            user_ids=[f"u{i}" for i in range(len(lists))],
            items=items,
            scores=np.where(items == PAD, -np.inf, 1.0),
            reasons=np.full(items.shape, "r", dtype=object),
            model_version="m@1",
            lake=LakePaths(settings.lake),
            run_id=run_id,
            servable=np.ones(len(VOCAB), dtype=bool),
            popular=np.array([0]),
            vocab=VOCAB,
            k=2,
            generated_at=WHEN,
        )


class FakeApi:
    """Answers a title search with the products whose title holds the query's first word."""

    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = titles
        self.asked: list[str] = []

    def probe_search(self, query: str, *, k: int) -> list[str]:
        self.asked.append(query)
        word = query.split()[0]
        return [p for p, t in self.titles.items() if word in t][:k]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path / "home")


def test_published_products_are_those_of_the_batch_the_store_serves(settings: Settings) -> None:
    assert published_products(settings) == set()
    publish(settings, "b1", [[0, 1], [2, PAD]])
    assert published_products(settings) == {"p0", "p1", "p2"}
    publish(settings, "b2", [[3, 1], [PAD, PAD]])
    assert published_products(settings) == {"p3", "p1"}  # b1's audit file is not the served batch


def test_the_probe_records_each_products_first_day_and_stops_probing_it(settings: Settings) -> None:
    publish(settings, "b1", [[4, 0]])
    api = FakeApi({"p4": "casco azul", "p5": "remera roja"})
    probe = ReachProbe(settings, api, k=10)  # type: ignore[arg-type]
    assert probe.probe(1, {"p4": "casco azul", "p5": "pantalon"}) == (1, 1)  # p5's title finds nothing
    publish(settings, "b2", [[5, 0]])
    assert probe.probe(2, {"p4": "casco azul", "p5": "remera roja"}) == (1, 1)
    assert probe.recs == {"p4": 1, "p5": 2}
    assert probe.search == {"p4": 1, "p5": 2}
    assert api.asked == ["casco azul", "pantalon", "remera roja"]  # p4 is not searched again
    assert probe.first_days() == ({"p4": {1}, "p5": {2}}, {"p4": {1}, "p5": {2}})


def test_reported_new_products_are_not_probed() -> None:
    catalog = pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p3", "p9"],
            "title": ["casco", "remera", "detergente", "viejo"],
            "is_reported": [False, True, None, False],
        }
    )
    titles, reported = servable_titles(catalog, ["p1", "p2", "p3"])
    assert titles == {"p1": "casco", "p3": "detergente"}
    assert reported == {"p2"}
    assert servable_titles(catalog.drop(columns="is_reported"), ["p2"]) == ({"p2": "remera"}, set())
