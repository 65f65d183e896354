"""A synthetic shop that logs orders only, shaped like the real ones a user brings: purchase
events derived from order lines (no views, clicks, positions or search logs), one segment and
the same device and page for everyone, dates in 2011 — long before the day the tests run.

Taste is planted (each repeat buyer mostly orders from one category), so a recommender can
learn something; ``one_time_share`` of the users order once (a cold-start shop is one where
almost everyone does). With ``habit_share``, that share of a customer's order lines are one of
their own few staples (a shop of habitual re-buyers, where buying again is most of the revenue).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.tables import CATALOG, EVENTS, TRANSACTIONS, USERS

START = dt.datetime(2011, 1, 3, tzinfo=dt.UTC)
DAYS = 240  # to 2011-08-31
COUNTRIES = ("United Kingdom", "France", "Germany", "EIRE")


def write_orders_only_shop(
    settings: Settings,
    *,
    n_users: int = 500,
    n_items: int = 240,
    n_categories: int = 6,
    orders_per_user: int = 8,
    one_time_share: float = 0.2,
    max_lines: int = 4,
    seed: int = 11,
    habit_share: float = 0.0,
) -> None:
    """Write catalog, users, events (purchases) and transactions under ``raw/``; orders hold
    1 to ``max_lines`` products."""
    rng = np.random.default_rng(seed)
    category = np.arange(n_items) % n_categories
    created = START - dt.timedelta(days=30)
    catalog = pa.table(
        {
            "product_id": [f"{85000 + i}" for i in range(n_items)],
            "title": [f"GIFT ITEM {i} LINE {c}" for i, c in enumerate(category)],
            "description": [None] * n_items,
            "category_l1": [f"line {c}" for c in category],
            "category_l2": [f"line {c}" for c in category],
            "category_l3": [f"line {c}" for c in category],
            "brand": [None] * n_items,
            "price": rng.uniform(0.5, 20, n_items).round(2),
            "cost": [None] * n_items,
            "stock": [1] * n_items,
            "seller_id": ["shop"] * n_items,
            "created_at": [created] * n_items,
            "updated_at": [created] * n_items,
            "is_sponsored": [False] * n_items,
            "is_reported": [False] * n_items,
        },
        schema=CATALOG.schema,
    )
    taste = rng.integers(0, n_categories, n_users)
    habits = np.random.default_rng(seed + 1)  # its own stream: the shop without habits is unchanged
    staples = habits.integers(0, n_items, (n_users, 3))
    popularity = rng.zipf(1.6, n_items).astype(float)
    events: dict[str, list[object]] = {name: [] for name in EVENTS.schema.names}
    orders: dict[str, list[object]] = {name: [] for name in TRANSACTIONS.schema.names}
    first_order: dict[int, dt.datetime] = {}
    for user in range(n_users):
        n_orders = 1 if rng.random() < one_time_share else int(rng.integers(2, 2 * orders_per_user))
        for _ in range(n_orders):
            ts = START + dt.timedelta(days=float(rng.uniform(0, DAYS)))
            ts = ts.replace(second=0, microsecond=0)
            order_id = f"5{len(orders['order_id']) + 40000}"
            mine = category == taste[user] if rng.random() < 0.85 else np.ones(n_items, bool)
            weights = np.where(mine, popularity, 0.0)
            size = int(rng.integers(1, max_lines + 1))
            lines = rng.choice(n_items, size, replace=False, p=weights / weights.sum())
            if habit_share > 0:
                own = habits.random(size) < habit_share
                lines = np.where(own, staples[user, habits.integers(0, 3, size)], lines)
                lines = np.unique(lines)
            for line, item in enumerate(lines):
                quantity = int(rng.integers(1, 13))
                events["event_id"].append(f"{order_id}-{line}")
                events["user_id"].append(f"{12000 + user}")
                events["product_id"].append(f"{85000 + item}")
                events["event_type"].append("purchase")
                events["ts"].append(ts)
                events["session_id"].append(order_id)
                events["device"].append("desktop")
                events["page"].append("pdp")
                events["position"].append(None)
                events["request_id"].append(None)
                orders["order_id"].append(order_id)
                orders["user_id"].append(f"{12000 + user}")
                orders["product_id"].append(f"{85000 + item}")
                orders["quantity"].append(quantity)
                orders["amount"].append(round(quantity * float(catalog["price"][int(item)].as_py()), 2))
                orders["discount_pct"].append(0.0)
                orders["payment_method"].append("tarjeta_credito")
                orders["ts"].append(ts)
            first_order[user] = min(first_order.get(user, ts), ts)
    buyers = sorted(first_order)
    users = pa.table(
        {
            "user_id": [f"{12000 + u}" for u in buyers],
            "signup_date": [first_order[u].date() for u in buyers],
            "age_range": ["25-34"] * len(buyers),
            "city": [COUNTRIES[u % len(COUNTRIES)] for u in buyers],
            "segment": ["ocasional"] * len(buyers),
            "lifetime_value": [0.0] * len(buyers),
        },
        schema=USERS.schema,
    )
    lake = LakePaths(settings.lake)
    snapshot = (START + dt.timedelta(days=DAYS)).date()
    write_table(lake, "raw", "catalog", catalog, None, snapshot_day=snapshot)
    write_table(lake, "raw", "users", users, None, snapshot_day=snapshot)
    write_table(lake, "raw", "events", pa.table(events, schema=EVENTS.schema), "ts")
    write_table(lake, "raw", "transactions", pa.table(orders, schema=TRANSACTIONS.schema), "ts")
