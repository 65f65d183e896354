"""Features on DuckDB: hand-computed values, no leakage, many cutoffs = one at a time."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from vitrina.adapters.features.cutoffs import bucket_grain, daily_cutoffs, normalise_cutoffs
from vitrina.adapters.features.definitions import FRAMES, all_features
from vitrina.adapters.features.duckdb_engine import compute_features, last_session_items
from vitrina.adapters.features.embeddings import cosine, session_embeddings
from vitrina.adapters.features.offline import read_frame, write_frames
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.tables import TABLES

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")]

T = pd.Timestamp("2026-03-10T00:00:00Z")


def at(days_before: float, hours: float = 0.0) -> pd.Timestamp:
    return T - pd.Timedelta(days=days_before) + pd.Timedelta(hours=hours)


CATALOG = [
    # product, l1, l2, l3, price, cost, stock, created_at
    ("p1", "Hogar", "Cocina", "Ollas", 100.0, 60.0, 5, at(400)),
    ("p2", "Hogar", "Baño", "Toallas", 10.0, None, 0, at(3)),
    ("p3", "Moda", "Calzado", "Zapatillas", 50.0, 20.0, 7, at(-5)),  # created after T
]


def base_events() -> list[tuple[str, str, str, pd.Timestamp, str]]:
    """(user, product, event_type, ts, session): all strictly before T."""
    return [
        ("u1", "p1", "view", at(20), "s1"),
        ("u1", "p1", "click", at(20), "s1"),
        ("u1", "p1", "view", at(10), "s2"),
        ("u1", "p2", "view", at(5), "s3"),
        ("u1", "p2", "view", at(0, hours=-1), "s4"),  # 1 h before T
        ("u1", "p2", "click", at(0, hours=-1), "s4"),
        ("u1", "p1", "add_to_cart", at(0, hours=-1), "s4"),
        ("u1", "p1", "purchase", at(2), "s5"),
        ("u2", "p1", "view", at(60), "s6"),  # recency only (outside 30 d)
        ("u3", "p3", "view", at(40), "s7"),  # outside every window except recency
    ]


def future_events() -> list[tuple[str, str, str, pd.Timestamp, str]]:
    """Events at or after T that would change every feature family if they leaked."""
    return [
        ("u1", "p1", "view", T, "f1"),  # exactly at T: still the future
        ("u1", "p1", "click", T, "f1"),
        ("u1", "p2", "purchase", at(-1), "f2"),
        ("u4", "p2", "click", at(-2), "f3"),  # a user who only exists after T
        ("u2", "p1", "add_to_cart", at(-0.5), "f4"),
    ]


def write_lake(
    settings: Settings, events: list[tuple[str, str, str, pd.Timestamp, str]], orders: list[tuple]
) -> None:
    lake = LakePaths(settings.lake)
    snapshot = dt.date(2026, 3, 1)
    catalog = pd.DataFrame(
        [
            {
                "product_id": p,
                "title": p,
                "description": p,
                "category_l1": l1,
                "category_l2": l2,
                "category_l3": l3,
                "brand": "b",
                "price": price,
                "cost": cost,
                "stock": stock,
                "seller_id": "s",
                "created_at": created,
                "updated_at": created,
                "is_sponsored": False,
                "is_reported": False,
            }
            for p, l1, l2, l3, price, cost, stock, created in CATALOG
        ]
    )
    ev = pd.DataFrame(
        [
            {
                "event_id": f"e{i}",
                "user_id": u,
                "product_id": p,
                "event_type": kind,
                "ts": ts,
                "session_id": s,
                "device": "mobile",
                "page": "home",
                "position": None,
                "request_id": None,
            }
            for i, (u, p, kind, ts, s) in enumerate(events)
        ]
    )
    tx = pd.DataFrame(
        [
            {
                "order_id": o,
                "user_id": u,
                "product_id": p,
                "quantity": 1,
                "amount": amount,
                "discount_pct": 0.0,
                "payment_method": "efectivo",
                "ts": ts,
            }
            for o, u, p, amount, ts in orders
        ]
    )
    for name, frame in (("catalog", catalog), ("events", ev), ("transactions", tx)):
        spec = TABLES[name]
        table = pa.Table.from_pandas(frame, schema=spec.schema, preserve_index=False)
        write_table(lake, "validated", name, table, spec.date_column, snapshot_day=snapshot, part="t")


BASE_ORDERS = [
    ("o1", "u1", "p1", 100.0, at(2)),
    ("o2", "u1", "p2", 10.0, at(1)),
    ("o2", "u1", "p1", 30.0, at(1)),
]
FUTURE_ORDERS = [("o3", "u1", "p2", 500.0, T), ("o4", "u2", "p1", 80.0, at(-1))]


def lake_settings(tmp_path: Path, name: str, future: bool) -> Settings:
    settings = get_settings(home=tmp_path / name)
    events = base_events() + (future_events() if future else [])
    orders = BASE_ORDERS + (FUTURE_ORDERS if future else [])
    write_lake(settings, events, orders)
    return settings


@pytest.fixture
def base(tmp_path: Path) -> Settings:
    return lake_settings(tmp_path, "base", future=False)


def row(table: pa.Table, **keys: str) -> dict[str, object]:
    frame = table.to_pandas()
    for key, value in keys.items():
        frame = frame[frame[key] == value]
    assert len(frame) == 1, f"expected one row for {keys}, got {len(frame)}"
    record: dict[str, object] = frame.iloc[0].to_dict()
    return record


def test_user_features_match_hand_computation(base: Settings) -> None:
    user = compute_features(base, [T], ["user"])["user"]
    u1 = row(user, user_id="u1")
    assert u1["as_of"] == T
    assert (u1["user_impressions_30d"], u1["user_clicks_30d"]) == (4, 2)
    assert u1["user_ctr_7d"] == pytest.approx(1 / 2)  # views at 5 d and 1 h; click at 1 h
    assert u1["user_ctr_14d"] == pytest.approx(1 / 3)
    assert u1["user_ctr_30d"] == pytest.approx(2 / 4)
    assert (u1["user_carts_30d"], u1["user_purchases_30d"], u1["user_events_30d"]) == (1, 1, 8)
    assert u1["user_recency_days"] == pytest.approx(1 / 24)
    assert u1["user_monetary_30d"] == pytest.approx(140.0)
    assert u1["user_orders_30d"] == 2
    assert u1["user_avg_ticket_30d"] == pytest.approx(70.0)
    # T is a Tuesday at midnight
    assert u1["user_hour_sin"] == pytest.approx(0.0, abs=1e-12)
    assert u1["user_hour_cos"] == pytest.approx(1.0)
    assert u1["user_dow_sin"] == pytest.approx(math.sin(2 * math.pi * 1 / 7))
    u2 = row(user, user_id="u2")  # only seen 60 days ago: a row with recency, zero counts
    assert u2["user_recency_days"] == pytest.approx(60.0)
    assert u2["user_events_30d"] == 0
    assert math.isnan(u2["user_ctr_30d"])  # type: ignore[arg-type]
    assert math.isnan(u2["user_avg_ticket_30d"])  # type: ignore[arg-type]
    assert set(user.column("user_id").to_pylist()) == {"u1", "u2", "u3"}


def test_item_features_match_hand_computation(base: Settings) -> None:
    item = compute_features(base, [T], ["item"])["item"]
    assert item.column("product_id").to_pylist() == ["p1", "p2"]  # p3 is created after T
    p2 = row(item, product_id="p2")
    assert (p2["item_views_24h"], p2["item_views_7d"], p2["item_clicks_24h"]) == (1, 2, 1)
    assert p2["item_ctr_7d"] == pytest.approx(0.5)
    assert p2["item_margin"] is None or math.isnan(p2["item_margin"])  # type: ignore[arg-type]
    assert p2["item_freshness_days"] == pytest.approx(3.0)
    assert p2["item_stock"] == 0
    p1 = row(item, product_id="p1")
    assert (p1["item_views_7d"], p1["item_clicks_7d"], p1["item_purchases_7d"]) == (0, 0, 1)
    assert math.isnan(p1["item_ctr_7d"])  # type: ignore[arg-type]
    assert p1["item_margin"] == pytest.approx(0.4)
    assert p1["item_log_price"] == pytest.approx(math.log(101.0))
    assert p1["item_category_l1_code"] == 0  # "Hogar" < "Moda"
    assert (p1["item_category_l2_code"], p2["item_category_l2_code"]) == (2, 0)  # Baño < Calzado < Cocina


def test_cross_features_match_hand_computation(base: Settings) -> None:
    tables = compute_features(base, [T], ["user_category", "user_affinity"])
    hogar = row(tables["user_category"], user_id="u1", category_l1="Hogar")
    assert (hogar["user_cat_impressions_7d"], hogar["user_cat_clicks_7d"]) == (2, 1)
    assert hogar["user_cat_ctr_30d"] == pytest.approx(0.5)
    affinity = tables["user_affinity"].to_pandas().set_index("category_l2")
    assert set(affinity.index) == {"Cocina", "Baño"}  # the 20-day-old click is in Cocina too
    cocina = 1 * 2.0 ** (-20 / 7) + 2 * 2.0 ** (-1 / 24 / 7) + 4 * 2.0 ** (-2 / 7)
    bano = 1 * 2.0 ** (-1 / 24 / 7)
    assert affinity.loc["Cocina", "user_l2_weight_30d"] == pytest.approx(cocina)
    assert affinity.loc["Baño", "user_l2_affinity_30d"] == pytest.approx(bano / (cocina + bano))
    assert affinity["user_l2_affinity_30d"].sum() == pytest.approx(1.0)
    assert affinity.loc["Cocina", "user_l2_positives_30d"] == 3


@pytest.mark.parametrize("frame", list(FRAMES))
def test_no_leakage_events_after_cutoff_are_invisible(tmp_path: Path, frame: str) -> None:
    """Adding events at or after T leaves every feature as of T unchanged, while the
    same events do change the features one day later (so the data can catch a leak)."""
    without = lake_settings(tmp_path, "without", future=False)
    with_future = lake_settings(tmp_path, "with", future=True)
    later = T + pd.Timedelta(days=1)
    at_t = [compute_features(s, [T], [frame])[frame] for s in (without, with_future)]
    assert at_t[0].num_rows > 0
    assert at_t[0].equals(at_t[1])
    after = [compute_features(s, [later], [frame])[frame] for s in (without, with_future)]
    assert not after[0].equals(after[1])


@pytest.mark.parametrize(
    "cutoffs",
    [
        daily_cutoffs(T.date() - dt.timedelta(days=1), T.date() + dt.timedelta(days=1)),
        normalise_cutoffs([T - pd.Timedelta(hours=1), T + pd.Timedelta(hours=5)]),
        normalise_cutoffs([T - pd.Timedelta(microseconds=1), T + pd.Timedelta(seconds=0.25)]),
    ],
    ids=["daily", "hourly", "microseconds"],
)
def test_many_cutoffs_equal_one_at_a_time(tmp_path: Path, cutoffs: pd.DatetimeIndex) -> None:
    settings = lake_settings(tmp_path, "lake", future=True)
    together = compute_features(settings, cutoffs)
    for name in FRAMES:
        separately = pa.concat_tables([compute_features(settings, [c], [name])[name] for c in cutoffs])
        key = [(k, "ascending") for k in FRAMES[name].keys] + [("as_of", "ascending")]
        expected = separately.sort_by(key).to_pandas()
        pd.testing.assert_frame_equal(together[name].to_pandas(), expected, check_exact=False, rtol=1e-9)


def test_an_event_one_microsecond_before_the_cutoff_counts(base: Settings) -> None:
    cutoff = at(0, hours=-1) + pd.Timedelta(microseconds=1)
    user = compute_features(base, [cutoff], ["user"])["user"]
    assert row(user, user_id="u1")["user_recency_days"] == pytest.approx(1e-6 / 86_400)
    exactly = compute_features(base, [at(0, hours=-1)], ["user"])["user"]
    assert row(exactly, user_id="u1")["user_clicks_30d"] == 1  # the click at the cutoff is not yet seen


def test_output_schemas_and_offline_files_round_trip(base: Settings) -> None:
    cutoffs = daily_cutoffs(T.date() - dt.timedelta(days=1), T.date())
    tables = compute_features(base, cutoffs)
    for name, table in tables.items():
        assert table.schema == FRAMES[name].schema
    lake = LakePaths(base.lake)
    write_frames(lake, tables)
    write_frames(lake, tables)  # a re-run replaces its files: no duplicate rows
    for name, table in tables.items():
        stored = read_frame(lake, name)
        key = [(k, "ascending") for k in [*FRAMES[name].keys, "as_of"]]
        assert stored.sort_by(key).equals(table.sort_by(key))


def test_bad_inputs_get_clear_errors(base: Settings) -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        compute_features(base, [dt.datetime(2026, 3, 10)])
    with pytest.raises(ValueError, match="at least one cutoff"):
        compute_features(base, [])
    with pytest.raises(ValueError, match="unknown feature frames"):
        compute_features(base, [T], ["nope"])
    with pytest.raises(ValueError, match="columns"):
        write_frames(LakePaths(base.lake), {"user": pa.table({"x": [1]})})


def test_grain_is_the_coarsest_alignment() -> None:
    assert bucket_grain(daily_cutoffs("2026-01-01", "2026-01-03")) == "D"
    assert bucket_grain(daily_cutoffs("2026-01-01", "2026-01-03", hour=6)) == "h"
    assert bucket_grain(normalise_cutoffs(["2026-01-01T00:00:01Z"])) == "s"
    assert bucket_grain(normalise_cutoffs(["2026-01-01T00:00:00.5Z"])) == "us"


def test_last_session_items_sees_only_the_past(tmp_path: Path) -> None:
    settings = lake_settings(tmp_path, "lake", future=True)
    items = last_session_items(settings, T)
    u1 = items[items["user_id"] == "u1"]
    assert set(u1["session_id"]) == {"s4"}
    assert dict(zip(u1["product_id"], u1["weight"], strict=True)) == {"p1": 2.0, "p2": 1.0}
    assert "u4" not in set(items["user_id"])


def test_every_feature_is_documented() -> None:
    names = [f.name for _, f in all_features()]
    assert len(names) == len(set(names))
    assert all(f.description for _, f in all_features())


def test_session_embedding_hooks() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    users = session_embeddings(
        np.array([0, 0, 2, 1]), np.array([0, 1, 2, -1]), np.array([3.0, 1.0, 2.0, 5.0]), vectors, n_users=3
    )
    np.testing.assert_allclose(users, [[0.75, 0.25], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosine(users, vectors), [0.75 / math.hypot(0.75, 0.25), 0.0, 1.0])
