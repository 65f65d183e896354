"""The recommendation dataset indexes the validated lake faithfully and splits it by time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.recs.dataset import EVENT_CODE, Vocabulary, load_recs_data

pytestmark = pytest.mark.unit


def test_vocabulary_round_trips_and_flags_unknown_ids() -> None:
    vocab = Vocabulary.of(["p3", "p1", "p2", "p1"])
    assert list(vocab.ids) == ["p1", "p2", "p3"]
    assert vocab.index(["p2", "p9", "p1"]).tolist() == [1, -1, 0]
    assert Vocabulary.of([]).index(["x"]).tolist() == [-1]


def test_indices_map_back_to_the_validated_events(ci_settings: Settings) -> None:
    data = load_recs_data(ci_settings)
    events = read_table(LakePaths(ci_settings.lake), "validated", "events").to_pandas()
    assert len(data.interactions) == len(events)
    assert np.all(np.diff(data.interactions.ts_us) >= 0)
    # the multiset of (user, product, type) survives the round trip through indices
    rebuilt = pd.DataFrame(
        {
            "user_id": data.users.ids[data.interactions.user],
            "product_id": data.items.ids[data.interactions.item],
            "event_type": np.array(list(EVENT_CODE))[data.interactions.event],
        }
    )
    key = ["user_id", "product_id", "event_type"]
    assert rebuilt.value_counts(key).sort_index().equals(events[key].value_counts().sort_index())
    assert (data.catalog["product_id"].to_numpy() == data.items.ids).all()
    assert (data.user_table["user_id"].to_numpy() == data.users.ids).all()


def test_parts_are_disjoint_in_time_and_cover_everything(ci_settings: Settings) -> None:
    data = load_recs_data(ci_settings)
    train, valid, test = data.part("train"), data.part("valid"), data.part("test")
    assert len(train) + len(valid) + len(test) == len(data.interactions)
    assert train.ts_us.max() < valid.ts_us.min() <= valid.ts_us.max() < test.ts_us.min()
    assert len(data.interactions.positives()) + len(data.interactions.impressions()) == len(data.interactions)
    assert data.servable.sum() < len(data.items)  # the simulator has out-of-stock products


def test_top_k_rows_orders_pads_and_never_returns_excluded() -> None:
    from vitrina.core.ranking.recommender import PAD, top_k_rows

    scores = np.array([[0.1, 0.9, -np.inf, 0.5], [-np.inf, -np.inf, 0.2, -np.inf]])
    items, top = top_k_rows(scores, 3)
    assert items.tolist() == [[1, 3, 0], [2, PAD, PAD]]
    assert top[0].tolist() == [0.9, 0.5, 0.1]
    wide, _ = top_k_rows(scores, 6)
    assert wide.shape == (2, 6)
    assert (wide[:, 4:] == PAD).all()
