"""Which recommendation features drift is measured on, and the prediction batches it compares."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from vitrina.adapters.features.definitions import FRAMES
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.pipelines.drift.model_inputs import (
    IMPRESSION_COUNTS,
    MONITORED_FRAMES,
    frame_columns,
    prediction_batches,
    ranked_lists,
)
from vitrina.pipelines.recs.batch import AUDIT_SCHEMA, AUDIT_TABLE

pytestmark = pytest.mark.unit


def test_item_features_at_a_week_keep_windowed_counts_and_catalog_attributes() -> None:
    columns = frame_columns(FRAMES["item"], 7)
    assert columns["item_views_7d"] == "numeric"
    assert columns["item_views_24h"] == "numeric"
    assert columns["item_price"] == "numeric"
    assert columns["item_category_l1"] == "categorical"
    assert "item_freshness_days" not in columns  # a function of the cutoff itself
    assert "item_log_price" not in columns
    assert "item_category_l1_code" not in columns


def test_features_longer_than_the_window_are_left_out() -> None:
    user = frame_columns(FRAMES["user"], 7)
    assert "user_ctr_7d" in user
    assert "user_ctr_30d" not in user
    assert "user_hour_sin" not in user
    assert "user_ctr_30d" in frame_columns(FRAMES["user"], 30)
    assert frame_columns(FRAMES["user_affinity"], 7) == {}
    assert frame_columns(FRAMES["user_category"], 7)["category_l1"] == "categorical"


def _batch(settings: Settings, run_id: str, when: dt.datetime, items: dict[str, list[str]]) -> None:
    rows = [
        {
            "user_id": user,
            "rank": rank,
            "product_id": item,
            "score": 1.0 / rank,
            "reason": "r",
            "model_version": f"recs-{run_id}",
            "generated_at": when,
        }
        for user, ranked in items.items()
        for rank, item in enumerate(ranked, start=1)
    ]
    table = pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
    write_table(
        LakePaths(settings.lake),
        "predictions",
        AUDIT_TABLE,
        table,
        None,
        snapshot_day=when.date(),
        part=run_id,
    )


def test_prediction_batches_are_the_two_latest(settings: Settings) -> None:
    assert prediction_batches(settings) is None
    day = dt.datetime(2025, 3, 31, tzinfo=dt.UTC)
    _batch(settings, "a", day, {"u1": ["p1", "p2"]})
    assert prediction_batches(settings) is None  # one batch: nothing to compare
    _batch(settings, "b", day + dt.timedelta(hours=6), {"u1": ["p2", "p3"], "u2": ["p9"]})
    _batch(settings, "c", day + dt.timedelta(hours=12), {"u2": ["p4", "p1"], "u1": ["p5"]})
    batches = prediction_batches(settings)
    assert batches is not None
    previous, latest = batches
    assert set(previous["model_version"]) == {"recs-b"}
    assert set(latest["model_version"]) == {"recs-c"}
    assert ranked_lists(latest) == [["p5"], ["p4", "p1"]]


def test_impression_counts_are_the_model_outputs_of_the_feature_frames() -> None:
    # every shown item is a view event: counts of views are what the served lists decided
    counted = set()
    for name in MONITORED_FRAMES:
        spec = FRAMES[name]
        columns = frame_columns(spec, 7)
        counted |= {
            f.name
            for f in spec.features
            if f.name in columns and f.dtype == "int64" and "impression" in f.description
        }
    assert counted == IMPRESSION_COUNTS == {"item_views_24h", "item_views_7d", "user_cat_impressions_7d"}
