"""A user's served list as a table, read from the serving store (what the API will serve)."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.stores import open_store
from vitrina.config import Settings


def render_user_recs(settings: Settings, user_id: str) -> Table | None:
    """The current TOP-20 of ``user_id`` with product details and reasons; None when the
    store has no list for the user (unknown user or nothing published yet)."""
    with open_store(settings) as store:
        record = store.get(user_id)
    if record is None:
        return None
    ids = [r.product_id for r in record.items]
    with Warehouse.from_settings(settings) as warehouse:
        details = warehouse.df(
            "SELECT product_id, title, category_l2, price FROM catalog WHERE product_id IN "
            "(SELECT unnest($ids))",
            {"ids": ids},
        ).set_index("product_id")
    table = Table(
        title=f"Para ti · {user_id} · {record.model_version} · {record.generated_at:%Y-%m-%d %H:%M}"
    )
    for column in ("#", "producto", "categoría", "precio", "score", "por qué"):
        table.add_column(column, justify="right" if column in ("#", "precio", "score") else "left")
    for rank, rec in enumerate(record.items, start=1):
        row = details.loc[rec.product_id] if rec.product_id in details.index else pd.Series(dtype=object)
        table.add_row(
            str(rank),
            str(row.get("title", rec.product_id)),
            str(row.get("category_l2", "")),
            f"{row['price']:.2f}" if "price" in row else "",
            f"{rec.score:.3f}",
            rec.reason,
        )
    return table
