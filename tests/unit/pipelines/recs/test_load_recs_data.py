"""The recommendation dataset indexes the validated lake faithfully and splits it by time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.ranking.interactions import EVENT_CODE
from vitrina.pipelines.recs.dataset import load_recs_data

pytestmark = pytest.mark.unit


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
