"""The recommendation dataset coded inside DuckDB equals the one indexed from pandas frames.

``read_recs_data`` never materialises the events' strings; ``build_recs_data`` indexes the
same tables read as frames. On the ci marketplace and on a hand-made lake with the awkward
cases (ties in time across and within files, unknown users and products, missing sessions,
pages and positions, a page label only an unknown product's events use) they must agree on
every array, frame and the split.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.recs_tables import read_recs_data
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings, get_settings
from vitrina.core.recs.dataset import CATALOG_COLUMNS, RecsData, build_recs_data
from vitrina.core.tables import CATALOG, EVENT_TYPES, EVENTS, USERS

pytestmark = pytest.mark.unit

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAYS = 30


def _from_frames(settings: Settings) -> RecsData:
    """The dataset indexed from string frames (the reference the coded read must equal)."""
    with Warehouse.from_settings(settings) as warehouse:
        catalog = warehouse.df(f"SELECT {', '.join(CATALOG_COLUMNS)} FROM catalog")
        users = warehouse.df("SELECT * FROM users")
        events = warehouse.df(
            "SELECT user_id, product_id, event_type, ts, session_id, page, position FROM events"
        )
    catalog["is_reported"] = catalog["is_reported"].fillna(False).astype(bool)
    return build_recs_data(catalog, users, events)


def _assert_same(coded: RecsData, framed: RecsData) -> None:
    np.testing.assert_array_equal(coded.items.ids, framed.items.ids)
    np.testing.assert_array_equal(coded.users.ids, framed.users.ids)
    pd.testing.assert_frame_equal(coded.catalog, framed.catalog)
    pd.testing.assert_frame_equal(coded.user_table, framed.user_table)
    for name in ("user", "item", "event", "ts_us", "session", "position", "page"):
        mine, theirs = getattr(coded.interactions, name), getattr(framed.interactions, name)
        assert mine.dtype == theirs.dtype, name
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
    assert coded.split == framed.split


def test_the_ci_marketplace_reads_the_same_coded_as_from_frames(ci_settings: Settings) -> None:
    coded = read_recs_data(ci_settings)
    assert len(coded.interactions) > 100_000
    _assert_same(coded, _from_frames(ci_settings))


def _awkward_lake(home: Path) -> Settings:
    settings = get_settings(home=home)
    lake = LakePaths(settings.lake)
    rng = np.random.default_rng(11)
    products = [f"p{i}" for i in range(12)]
    catalog = pa.table(
        {
            "product_id": products,
            "title": [f"thing {i}" for i in range(12)],
            "description": [""] * 12,
            "category_l1": ["a"] * 12,
            "category_l2": [f"b{i % 3}" for i in range(12)],
            "category_l3": [f"c{i % 4}" for i in range(12)],
            "brand": ["x"] * 12,
            "price": rng.uniform(1, 50, 12),
            "cost": rng.uniform(0.5, 1, 12),
            "stock": rng.integers(0, 5, 12),
            "seller_id": ["s"] * 12,
            "created_at": [START] * 12,
            "updated_at": [START] * 12,
            "is_sponsored": [False] * 12,
            "is_reported": [None, True, *([False] * 10)],
        },
        schema=CATALOG.schema,
    )
    users = pa.table(
        {
            "user_id": [f"u{i}" for i in range(40)],
            "signup_date": [START.date()] * 40,
            "age_range": ["25-34"] * 40,
            "city": ["c"] * 40,
            "segment": ["s"] * 40,
            "lifetime_value": rng.uniform(0, 9, 40),
        },
        schema=USERS.schema,
    )
    write_table(lake, "validated", "catalog", catalog, None, snapshot_day=START.date())
    write_table(lake, "validated", "users", users, None, snapshot_day=START.date())
    for part in ("a", "b"):  # two files a day: ties in time across files too
        n = 600
        user = [f"u{i}" for i in rng.integers(0, 42, n)]  # u40, u41 are unknown
        product = [f"p{i}" for i in rng.integers(0, 13, n)]  # p12 is unknown
        minutes = rng.integers(0, DAYS * 24 * 6, n) * 10  # a coarse clock: many ties
        page = rng.choice(["home", "pdp", "search", None], n).tolist()
        page = [
            "a-page-only-unknown-products-use" if p == "p12" else g
            for p, g in zip(product, page, strict=True)
        ]
        session = [None if rng.random() < 0.1 else f"s{k}" for k in rng.integers(0, 90, n)]
        events = pa.table(
            {
                "event_id": [f"{part}{i}" for i in range(n)],
                "user_id": user,
                "product_id": product,
                "event_type": rng.choice(EVENT_TYPES, n, p=[0.6, 0.25, 0.1, 0.05]),
                "ts": [START + dt.timedelta(minutes=int(m)) for m in minutes],
                "session_id": session,
                "device": ["mobile"] * n,
                "page": page,
                "position": [None if rng.random() < 0.3 else int(k) for k in rng.integers(1, 20, n)],
                "request_id": [None] * n,
            },
            schema=EVENTS.schema,
        )
        write_table(lake, "validated", "events", events, "ts", part=part)
    return settings


def test_a_lake_with_ties_unknown_ids_and_missing_values_reads_the_same(tmp_path: Path) -> None:
    settings = _awkward_lake(tmp_path)
    coded = read_recs_data(settings)
    framed = _from_frames(settings)
    assert len(coded.interactions) < 1200  # unknown users and products were dropped
    assert np.any(np.diff(coded.interactions.ts_us) == 0)  # ties exist, and keep the lake's order
    assert -1 in coded.interactions.session
    assert "None" in coded.interactions.page
    _assert_same(coded, framed)


def test_a_lake_without_events_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no validated events"):
        read_recs_data(get_settings(home=tmp_path))
