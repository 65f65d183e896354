"""Feast over the feature frames: as-of training joins and online reads (SQLite, Redis)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from vitrina.adapters.features.definitions import FRAMES
from vitrina.adapters.features.feast_repo import (
    historical_features,
    online_features,
    open_store,
    redis_connection_string,
    repo_config,
)
from vitrina.adapters.features.offline import write_frames
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

T1 = pd.Timestamp("2026-03-09T00:00:00Z")
T2 = pd.Timestamp("2026-03-10T00:00:00Z")


def frame_rows(name: str, keys: dict[str, str], as_of: pd.Timestamp, value: int) -> pa.Table:
    """One row of ``name`` whose every number equals ``value`` (strings: ``v<value>``)."""
    frame = FRAMES[name]
    columns: dict[str, list[Any]] = {k: [keys[k]] for k in frame.keys}
    columns["as_of"] = [as_of]
    for f in frame.features:
        columns[f.name] = [f"v{value}" if f.dtype == "string" else value]
    return pa.Table.from_pydict(columns).cast(frame.schema)


def write_two_cutoffs(settings: Settings) -> None:
    """u1 and p1 as of T1 (value 1) and T2 (value 2); u2 only as of T1 (value 7)."""
    tables = {
        "user": pa.concat_tables(
            [
                frame_rows("user", {"user_id": "u1"}, T1, 1),
                frame_rows("user", {"user_id": "u1"}, T2, 2),
                frame_rows("user", {"user_id": "u2"}, T1, 7),
            ]
        ),
        "item": pa.concat_tables(
            [frame_rows("item", {"product_id": "p1"}, T1, 1), frame_rows("item", {"product_id": "p1"}, T2, 2)]
        ),
    }
    write_frames(LakePaths(settings.lake), tables)


def check_store(settings: Settings, project: str) -> None:
    write_two_cutoffs(settings)
    store = open_store(settings, project=project, frames=["user", "item"], ttl=dt.timedelta(days=3))
    try:
        stamps = [
            T1 - pd.Timedelta(hours=1),
            T1,
            T2 - pd.Timedelta(microseconds=1),
            T2 + pd.Timedelta(hours=5),
        ]
        entity_df = pd.DataFrame(
            {"user_id": ["u1"] * 4, "product_id": ["p1"] * 4, "event_timestamp": pd.DatetimeIndex(stamps)}
        )
        train = historical_features(store, entity_df).sort_values("event_timestamp").reset_index(drop=True)
        assert len(train) == 4
        assert pd.isna(train.loc[0, "user_events_30d"])  # nothing as of an earlier time
        assert train["user_events_30d"].iloc[1:].tolist() == [1, 1, 2]  # as-of, never a later row
        assert train["item_views_7d"].iloc[1:].tolist() == [1, 1, 2]
        assert train["item_category_l1"].iloc[1:].tolist() == ["v1", "v1", "v2"]

        store.materialize(start_date=(T1 - pd.Timedelta(days=1)).to_pydatetime(), end_date=T2.to_pydatetime())
        online = online_features(store, [{"user_id": "u1"}, {"user_id": "u2"}], ["user"])
        assert online["user_events_30d"].tolist() == [2, 7]  # the latest value of each user
        assert online["user_ctr_7d"].tolist() == [2.0, 7.0]
        items = online_features(store, [{"product_id": "p1"}], ["item"])
        assert items.loc[0, "item_category_l2"] == "v2"
    finally:
        store.teardown()


def test_feast_sqlite_as_of_join_and_online_read(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "home")
    check_store(settings, project="vitrina_test")
    config = yaml.safe_load((tmp_path / "home" / "feast" / "feature_store.yaml").read_text())
    assert config["online_store"]["type"] == "sqlite"
    assert config["offline_store"]["type"] == "duckdb"


def test_feast_redis_online_store(tmp_path: Path, redis_url: str) -> None:
    settings = get_settings(home=tmp_path / "home", store_url=redis_url)
    project = f"vitrina_{uuid.uuid4().hex[:10]}"  # keys of parallel runs never collide
    assert repo_config(settings, project)["online_store"]["type"] == "redis"
    check_store(settings, project=project)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "127.0.0.1:6379,db=0"),
        ("redis://:secret@cache:6380/2", "cache:6380,db=2,password=secret"),
        ("rediss://cache", "cache:6379,db=0,ssl=true"),
    ],
)
def test_redis_connection_string(url: str, expected: str) -> None:
    assert redis_connection_string(url) == expected


def test_repo_config_rejects_bad_project_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="project"):
        repo_config(get_settings(home=tmp_path), "bad-name")
