"""Tiny hand-made recommendation datasets (not from the simulator) for baseline and protocol tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.recs.dataset import RecsData, build_recs_data

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# train: days 0-9, valid: days 10-11, test: days 12+
SPLIT = TemporalSplit(START + dt.timedelta(days=10), START + dt.timedelta(days=12))
Event = tuple[str, str, str, float]  # (user_id, product_id, event_type, day)


def handmade(
    events: Sequence[Event],
    *,
    n_items: int = 8,
    n_users: int = 4,
    segments: Sequence[str | None] | None = None,
    out_of_stock: Sequence[str] = (),
    reported: Sequence[str] = (),
    created_day: dict[str, float] | None = None,
) -> RecsData:
    """Products ``p0..``, users ``u0..`` and ``events`` at fractional days after :data:`START`."""
    products = [f"p{i}" for i in range(n_items)]
    created = created_day or {}
    catalog = pd.DataFrame(
        {
            "product_id": products,
            "title": products,
            "category_l1": "c",
            "category_l2": [f"c{i % 3}" for i in range(n_items)],
            "category_l3": "c",
            "brand": "b",
            "price": 10.0,
            "cost": 5.0,
            "stock": [0 if p in out_of_stock else 5 for p in products],
            "seller_id": "s",
            "created_at": [START + dt.timedelta(days=created.get(p, -30.0)) for p in products],
            "is_sponsored": False,
            "is_reported": [p in reported for p in products],
        }
    )
    users = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n_users)],
            "signup_date": START.date(),
            "age_range": "25-34",
            "city": "Lima",
            "segment": list(segments) if segments is not None else ["frecuente"] * n_users,
            "lifetime_value": 1.0,
        }
    )
    frame = pd.DataFrame(events, columns=["user_id", "product_id", "event_type", "day"])
    frame["ts"] = [START + dt.timedelta(days=float(d)) for d in frame["day"]]
    frame["session_id"] = frame["user_id"] + "-" + frame["day"].astype(int).astype(str)
    frame["page"] = "home"
    frame["position"] = float("nan")
    return build_recs_data(catalog, users, frame.drop(columns="day"), SPLIT)


def changed_shop(
    shop: RecsData, removed: list[str], new_items: dict[str, str], new_users: list[str]
) -> RecsData:
    """``shop`` without products ``removed`` (and their events), with products ``new_items``
    (new id → the existing product whose attributes it copies) and customers ``new_users``, each
    of whom bought the first new product twice."""
    catalog = shop.catalog[~shop.catalog["product_id"].isin(removed)]
    copies = shop.catalog.set_index("product_id").loc[list(new_items.values())].reset_index()
    copies["product_id"] = list(new_items)
    users = shop.user_table.iloc[: len(new_users)].copy()
    users["user_id"] = new_users
    inter = shop.interactions
    events = pd.DataFrame(
        {
            "user_id": shop.users.ids[inter.user],
            "product_id": shop.items.ids[inter.item],
            "event_type": "purchase",
            "ts": pd.to_datetime(inter.ts_us, unit="us", utc=True),
            "session_id": inter.session.astype(str),
            "page": "home",
            "position": np.nan,
        }
    )
    first_new = next(iter(new_items))
    extra = pd.DataFrame(
        {
            "user_id": [u for u in new_users for _ in range(2)],
            "product_id": first_new,
            "event_type": "purchase",
            "ts": events["ts"].max(),
            "session_id": [f"{u}-new" for u in new_users for _ in range(2)],
            "page": "home",
            "position": np.nan,
        }
    )
    return build_recs_data(
        pd.concat([catalog, copies], ignore_index=True),
        pd.concat([shop.user_table, users], ignore_index=True),
        pd.concat([events, extra], ignore_index=True),
        SPLIT,
    )
