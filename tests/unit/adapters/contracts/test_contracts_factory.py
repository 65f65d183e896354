"""Tiny clean datasets for the contract tests (no tests here; imported by test_contracts*).

Every table follows ``vitrina.core.tables`` exactly and passes every contract, so a test
can corrupt one thing and know exactly which rows must be quarantined and why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core import tables as t


def recent(hours_ago: float) -> dt.datetime:
    """A UTC instant ``hours_ago`` before now (data must be fresh to avoid stale warnings)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=hours_ago)


def clean_rows(n_products: int = 6, n_users: int = 4, n_events: int = 24) -> dict[str, list[dict[str, Any]]]:
    """Clean rows per table, as plain dicts (easy to corrupt one field at a time)."""
    created = recent(24 * 30)
    catalog = [
        {
            "product_id": f"p{i}",
            "title": f"Producto {i}",
            "description": None if i == 0 else f"Descripción {i}",
            "category_l1": "Electrónica",
            "category_l2": "Celulares",
            "category_l3": "Smartphones",
            "brand": "Marca",
            "price": 100.0 + i,
            "cost": 50.0 + i,
            "stock": i,
            "seller_id": f"s{i % 2}",
            "created_at": created,
            "updated_at": created + dt.timedelta(days=1),
            "is_sponsored": i % 2 == 0,
            "is_reported": False,
        }
        for i in range(n_products)
    ]
    users = [
        {
            "user_id": f"u{i}",
            "signup_date": (created - dt.timedelta(days=i)).date(),
            "age_range": t.AGE_RANGES[i % len(t.AGE_RANGES)],
            "city": "Lima",
            "segment": t.SEGMENTS[i % len(t.SEGMENTS)],
            "lifetime_value": 10.0 * i,
        }
        for i in range(n_users)
    ]
    events = [
        {
            "event_id": f"e{i}",
            "user_id": f"u{i % n_users}",
            "product_id": f"p{i % n_products}",
            "event_type": t.EVENT_TYPES[i % len(t.EVENT_TYPES)],
            "ts": recent(1 + i % 30),
            "session_id": f"ss{i // 4}",
            "device": t.DEVICES[i % len(t.DEVICES)],
            "page": t.PAGES[i % len(t.PAGES)],
            "position": None if i % 3 == 0 else 1 + i % 5,
            "request_id": None if i % 2 else f"r{i}",
        }
        for i in range(n_events)
    ]
    transactions = [
        {
            "order_id": f"o{i // 2}",
            "user_id": f"u{i % n_users}",
            "product_id": f"p{i % n_products}",
            "quantity": 1 + i % 3,
            "amount": 100.0 + i,
            "discount_pct": float(i % 4) * 10,
            "payment_method": t.PAYMENT_METHODS[i % len(t.PAYMENT_METHODS)],
            "ts": recent(2 + i),
        }
        for i in range(8)
    ]
    search_logs = [
        {
            "search_id": f"q{i}",
            "user_id": None if i % 3 == 0 else f"u{i % n_users}",
            "session_id": f"ss{i}",
            "query": f"celular {i}",
            "ts": recent(3 + i),
            "results_shown": [f"p{j}" for j in range(n_products)],
            "results_clicked": [f"p{i % n_products}"] if i % 2 else [],
            "results_purchased": [f"p{i % n_products}"] if i % 4 == 1 else [],
        }
        for i in range(6)
    ]
    synonyms = [
        {"term": "celular", "synonyms": ["smartphone", "teléfono móvil"], "category_scope": "Celulares"},
        {"term": "tele", "synonyms": ["televisor", "tv"], "category_scope": None},
    ]
    return {
        "catalog": catalog,
        "users": users,
        "events": events,
        "transactions": transactions,
        "search_logs": search_logs,
        "synonyms": synonyms,
    }


def to_table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows → an Arrow table with the canonical schema of ``name``."""
    return pa.Table.from_pylist(rows, schema=t.TABLES[name].schema)


def write_raw(settings: Settings, name: str, table: pa.Table, part: str = "0") -> None:
    """Write ``table`` to ``raw/<name>`` the way producers do (partitioned by its date column)."""
    spec = t.TABLES.get(name)
    date_column = spec.date_column if spec is not None and spec.date_column in table.column_names else None
    write_table(LakePaths(settings.lake), "raw", name, table, date_column, part=part)


def write_clean_lake(settings: Settings, rows: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Write every table of ``rows`` (default: :func:`clean_rows`) to ``raw/``."""
    for name, table_rows in (rows or clean_rows()).items():
        write_raw(settings, name, to_table(name, table_rows))
