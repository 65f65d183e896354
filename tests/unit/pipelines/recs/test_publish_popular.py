"""The popularity fallback list a batch publishes (what every customer without a list of their
own is served) ranks at the recency the run chose on validation, also when the shop has new
arrivals and the served lists carry their slot."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.recs_handmade import Event, handmade

from vitrina.bootstrap import open_store
from vitrina.config import get_settings
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import FILL, Policy, build_policy
from vitrina.core.recs.popularity_recency import Recency
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import publish_batch

pytestmark = pytest.mark.unit

# p0: three customers long ago; p1: two customers lately. All time ranks p0 first; the
# default week's half-life (widened over this tiny shop's 13 days) ranks p1 first.
EVENTS: list[Event] = [
    ("u0", "p0", "purchase", 0.0),
    ("u1", "p0", "purchase", 0.0),
    ("u2", "p0", "purchase", 0.0),
    ("u3", "p1", "purchase", 12.0),
    ("u0", "p1", "purchase", 13.0),
]


def published_popular(tmp_path: Path, data: RecsData, recency: Recency) -> list[str]:
    settings = get_settings(home=tmp_path)
    served = build_policy(
        Policy("single", (FILL,)), data, data.interactions, {}, settings={FILL: recency.settings()}
    )
    publish_batch(settings, data, served, "r1", RecsConfig(), lists=[])
    with open_store(settings) as store:
        record = store.popular()
    assert record is not None
    return [item.product_id for item in record.items]


def test_the_fallback_list_follows_the_chosen_recency_with_a_new_arrival(tmp_path: Path) -> None:
    # p3 was created on the data's last day: the served lists get a new-arrivals slot
    data = handmade(EVENTS, n_items=5, created_day={"p3": 13.0})
    all_time = published_popular(tmp_path / "all-time", data, Recency())
    default = published_popular(tmp_path / "default", data, Recency(half_life_days=7.0))
    assert all_time[:2] == ["p0", "p1"]
    assert default[:2] == ["p1", "p0"]


def test_the_fallback_list_follows_the_chosen_recency_without_arrivals(tmp_path: Path) -> None:
    data = handmade(EVENTS, n_items=5)
    assert published_popular(tmp_path, data, Recency())[:2] == ["p0", "p1"]
