"""The canonical tables of docs/spec.md §1: names, columns and Arrow types.

This is the one place the column layout is written down. The simulator writes these
schemas, the contracts validate against them, and users map their own data onto them.
Timestamps are UTC microseconds (Feast's DuckDB store wants microseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
ID_LIST = pa.list_(pa.string())

EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")
PAGES = ("home", "search", "pdp", "recs", "cart")
DEVICES = ("mobile", "desktop", "tablet", "app")
AGE_RANGES = ("18-24", "25-34", "35-44", "45-54", "55+")
SEGMENTS = ("nuevo", "ocasional", "frecuente", "vip", "cazador_ofertas")
PAYMENT_METHODS = ("tarjeta_credito", "tarjeta_debito", "transferencia", "efectivo", "billetera_digital")


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its Arrow schema, primary key and the column that dates a row.

    ``date_column`` decides the ``dt=YYYY-MM-DD`` partition in ``raw/`` and ``validated/``;
    tables without one are snapshots partitioned by the day they were written.
    """

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    date_column: str | None


CATALOG = TableSpec(
    name="catalog",
    schema=pa.schema(
        [
            ("product_id", pa.string()),
            ("title", pa.string()),
            ("description", pa.string()),
            ("category_l1", pa.string()),
            ("category_l2", pa.string()),
            ("category_l3", pa.string()),
            ("brand", pa.string()),
            ("price", pa.float64()),
            ("cost", pa.float64()),
            ("stock", pa.int64()),
            ("seller_id", pa.string()),
            ("created_at", TS),
            ("updated_at", TS),
            ("is_sponsored", pa.bool_()),
            ("is_reported", pa.bool_()),
        ]
    ),
    key=("product_id",),
    date_column=None,
)

USERS = TableSpec(
    name="users",
    schema=pa.schema(
        [
            ("user_id", pa.string()),
            ("signup_date", pa.date32()),
            ("age_range", pa.string()),
            ("city", pa.string()),
            ("segment", pa.string()),
            ("lifetime_value", pa.float64()),
        ]
    ),
    key=("user_id",),
    date_column=None,
)

EVENTS = TableSpec(
    name="events",
    schema=pa.schema(
        [
            ("event_id", pa.string()),
            ("user_id", pa.string()),
            ("product_id", pa.string()),
            ("event_type", pa.string()),
            ("ts", TS),
            ("session_id", pa.string()),
            ("device", pa.string()),
            ("page", pa.string()),
            ("position", pa.int32()),
            ("request_id", pa.string()),
        ]
    ),
    key=("event_id",),
    date_column="ts",
)

TRANSACTIONS = TableSpec(
    name="transactions",
    schema=pa.schema(
        [
            ("order_id", pa.string()),
            ("user_id", pa.string()),
            ("product_id", pa.string()),
            ("quantity", pa.int64()),
            ("amount", pa.float64()),
            ("discount_pct", pa.float64()),
            ("payment_method", pa.string()),
            ("ts", TS),
        ]
    ),
    key=("order_id", "product_id"),
    date_column="ts",
)

SEARCH_LOGS = TableSpec(
    name="search_logs",
    schema=pa.schema(
        [
            ("search_id", pa.string()),
            ("user_id", pa.string()),
            ("session_id", pa.string()),
            ("query", pa.string()),
            ("ts", TS),
            ("results_shown", ID_LIST),
            ("results_clicked", ID_LIST),
            ("results_purchased", ID_LIST),
        ]
    ),
    key=("search_id",),
    date_column="ts",
)

SEARCH_ANSWERS = TableSpec(
    name="search_answers",
    schema=pa.schema(
        [
            ("request_id", pa.string()),
            ("ts", TS),
            ("user_id", pa.string()),
            ("query", pa.string()),
            ("results_shown", ID_LIST),
            ("positions", pa.list_(pa.int32())),
            ("teams", ID_LIST),
            ("arm", pa.string()),
            ("experiment", pa.string()),
            ("mode", pa.string()),
            ("index_version", pa.string()),
            ("model_version", pa.string()),
        ]
    ),
    key=("request_id",),
    date_column="ts",
)
"""What the API showed for each ``/search`` request: the products in order with their 1-based
positions (a later page starts past 1), the interleaving team of each (null outside an
interleaving experiment), the arm and what ranked it. Written by the API (through the event
buffer), never by a shop: raw only, not validated. ``search_logs`` rows are derived from it
joined with the clicks and purchases that carry its ``request_id``
(:mod:`vitrina.core.search.logged_answers`)."""

SYNONYMS = TableSpec(
    name="synonyms",
    schema=pa.schema(
        [
            ("term", pa.string()),
            ("synonyms", ID_LIST),
            ("category_scope", pa.string()),
        ]
    ),
    key=("term", "category_scope"),
    date_column=None,
)

JUDGMENTS = TableSpec(
    name="judgments",
    schema=pa.schema(
        [
            ("query", pa.string()),
            ("product_id", pa.string()),
            ("grade", pa.float64()),
            ("source", pa.string()),
        ]
    ),
    key=("query", "product_id"),
    date_column=None,
)
"""A shop's own relevance judgments (graded by people or by a rule it trusts): what the search
evaluation scores against beside, or instead of, the simulator's truth. ``grade`` is on the
shop's own scale (0 = irrelevant); ``source`` says who graded (optional)."""

TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (CATALOG, USERS, EVENTS, TRANSACTIONS, SEARCH_LOGS, SYNONYMS, JUDGMENTS)
}
