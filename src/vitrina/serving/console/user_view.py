"""Data of the Usuario page: a user's recent history beside their "Para ti" list.

The history comes from the validated events. Scanning the lake per request would cost the
page its time budget on demo data, so :class:`Activity` copies the four columns it needs
into an in-memory DuckDB table ordered by user (zone maps make a user's lookup a few
milliseconds) together with the catalog's display columns; the router rebuilds it in the
background every few minutes (:mod:`vitrina.serving.console.cache`).

The list is what ``GET /recs/{user_id}`` serves the champion arm (the store's record), and
the challenger arm's list beside it (the popularity list, see
:mod:`vitrina.serving.experiment_config`). A user with fewer positive events than cold start's
threshold is explained as a cold-start user; a user without a list as the fallback. Without
validated events (``vitrina data validate`` never ran, or ``validated/`` was removed) the page
says so instead of counting zero interactions for everyone.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.stores import Recommendation, RecsRecord
from vitrina.config import Settings
from vitrina.core.recs.cold_start import ColdStartRecommender

COLD_START_MIN = ColdStartRecommender.min_interactions
"""Positive events below which the recommender treats a user as cold (cold start's default)."""
POSITIVE = ("click", "add_to_cart", "purchase")
HISTORY_LIMIT = 20
Kind = Literal["personal", "cold_start", "fallback", "store_down", "unknown"]


@dataclass(frozen=True)
class Product:
    product_id: str
    title: str
    category: str
    price: float | None


@dataclass(frozen=True)
class HistoryRow:
    ts: dt.datetime
    event_type: str
    product: Product


@dataclass(frozen=True)
class ListRow:
    rank: int
    product: Product
    score: float
    reason: str


@dataclass(frozen=True)
class UserExamples:
    """Users to pick from: the most active ones and a few cold-start ones (with a list)."""

    active: list[tuple[str, int]]
    cold: list[tuple[str, int]]


class Activity:
    """Validated events (user, product, type, time) and catalog titles, in memory."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, loaded_at: dt.datetime, missing: str | None = None
    ) -> None:
        self._connection = connection
        self._lock = threading.Lock()  # one DuckDB connection, used by one request at a time
        self.loaded_at = loaded_at
        self.missing = missing
        """Where the validated events should be, when there were none to load."""

    @classmethod
    def load(cls, settings: Settings) -> Activity:
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        with Warehouse.from_settings(settings) as warehouse:
            missing = None if "events" in warehouse.present else warehouse.lake.table("validated", "events")
            events = warehouse.sql("SELECT user_id, product_id, event_type, ts FROM events")
            catalog = warehouse.sql(
                "SELECT product_id, arg_max(title, updated_at) AS title, "
                "arg_max(category_l2, updated_at) AS category, arg_max(price, updated_at) AS price "
                "FROM catalog GROUP BY product_id"
            )
        connection.register("events_arrow", events)
        connection.register("catalog_arrow", catalog)
        connection.execute("CREATE TABLE activity AS SELECT * FROM events_arrow ORDER BY user_id, ts")
        connection.execute("CREATE TABLE products AS SELECT * FROM catalog_arrow")
        connection.unregister("events_arrow")
        connection.unregister("catalog_arrow")
        return cls(connection, dt.datetime.now(dt.UTC), missing)

    def close(self) -> None:
        self._connection.close()

    def _rows(self, query: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._connection.execute(query, params).fetchall()

    def history(self, user_id: str, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
        """The user's newest ``limit`` events, newest first."""
        rows = self._rows(
            "SELECT a.ts, a.event_type, a.product_id, p.title, p.category, p.price FROM activity a "
            "LEFT JOIN products p USING (product_id) WHERE a.user_id = ? ORDER BY a.ts DESC LIMIT ?",
            [user_id, limit],
        )
        return [
            HistoryRow(ts, str(kind), _product(pid, title, category, price))  # type: ignore[arg-type]
            for ts, kind, pid, title, category, price in rows
        ]

    def positives(self, user_id: str) -> int:
        """Clicks, carts and purchases of the user (what cold start counts)."""
        found = self._rows(
            "SELECT count(*) FROM activity WHERE user_id = ? AND event_type IN (?, ?, ?)",
            [user_id, *POSITIVE],
        )
        count: int = found[0][0]  # type: ignore[assignment]
        return count

    def products(self, ids: Sequence[str]) -> dict[str, Product]:
        rows = self._rows(
            "SELECT product_id, title, category, price FROM products WHERE product_id IN (SELECT unnest(?))",
            [list(ids)],
        )
        return {str(r[0]): _product(*r) for r in rows}

    def examples(self, n: int = 8) -> UserExamples:
        """The ``n`` users with most positive events, and ``n`` with 1 … threshold − 1."""
        query = (
            "SELECT user_id, count(*) FILTER (WHERE event_type IN (?, ?, ?)) AS n FROM activity "
            "GROUP BY user_id HAVING n {cond} ORDER BY n {order}, user_id LIMIT ?"
        )
        active = self._rows(query.format(cond=">= ?", order="DESC"), [*POSITIVE, COLD_START_MIN, n])
        cold = self._rows(
            query.format(cond="BETWEEN 1 AND ?", order="DESC"), [*POSITIVE, COLD_START_MIN - 1, n]
        )
        return UserExamples(
            active=[(str(u), int(c)) for u, c in active],  # type: ignore[call-overload]
            cold=[(str(u), int(c)) for u, c in cold],  # type: ignore[call-overload]
        )


def _product(pid: object, title: object, category: object, price: object) -> Product:
    return Product(
        product_id=str(pid),
        title=str(title) if title is not None else str(pid),
        category=str(category) if category is not None else "",
        price=float(price) if price is not None else None,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class UserView:
    user_id: str
    kind: Kind
    positives: int
    history: list[HistoryRow]
    champion: list[ListRow]
    challenger: list[ListRow]
    model_version: str
    batch_version: str | None = None
    generated_at: dt.datetime | None = None
    error: str | None = None
    cold_start_min: int = COLD_START_MIN
    reasons: dict[str, int] = field(default_factory=dict)


def list_rows(items: Sequence[Recommendation], products: dict[str, Product]) -> list[ListRow]:
    return [
        ListRow(
            i + 1,
            products.get(r.product_id, Product(r.product_id, r.product_id, "", None)),
            r.score,
            r.reason,
        )
        for i, r in enumerate(items)
    ]


def classify(
    record: RecsRecord | None, positives: int, store_error: str | None, history_known: bool = True
) -> Kind:
    """What kind of list the user gets: their own (warm or cold start) or the fallback;
    ``unknown`` when the user has a list but no validated events tell warm from cold."""
    if store_error is not None:
        return "store_down"
    if record is None:
        return "fallback"
    if not history_known:
        return "unknown"
    return "cold_start" if positives < COLD_START_MIN else "personal"


def user_view(
    activity: Activity,
    user_id: str,
    *,
    record: RecsRecord | None,
    popular: Sequence[Recommendation],
    popular_version: str,
    store_error: str | None = None,
    k: int = 20,
) -> UserView:
    """Shape the page: ``record`` is the store's list (None: no list), ``popular`` the
    challenger / fallback list."""
    own = list(record.items[:k]) if record is not None else []
    other = list(popular[:k])
    products = activity.products([r.product_id for r in own + other])
    positives = activity.positives(user_id)
    kind = classify(record, positives, store_error, history_known=activity.missing is None)
    reasons: dict[str, int] = {}
    for item in own:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    return UserView(
        user_id=user_id,
        kind=kind,
        positives=positives,
        history=activity.history(user_id),
        champion=list_rows(own if own else other, products),
        challenger=list_rows(other, products),
        model_version=record.model_version if record is not None else popular_version,
        batch_version=record.version if record is not None else None,
        generated_at=record.generated_at if record is not None else None,
        error=store_error,
        reasons=dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
    )
