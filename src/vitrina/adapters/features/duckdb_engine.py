"""Features on DuckDB over the validated lake (the default engine).

>>> tables = compute_features(settings, ["2026-11-08T00:00:00Z"])   # doctest: +SKIP
>>> tables["user"].to_pandas()                                        # doctest: +SKIP

The expressions come from :mod:`vitrina.adapters.features.expressions` and run on the
:class:`~vitrina.adapters.lake.warehouse.Warehouse`'s own connection, so they read the validated
Parquet files in place through its views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import ibis
import ibis.expr.datatypes as dt_
import pandas as pd
import pyarrow as pa

from vitrina.adapters.features.cutoffs import Cutoffs, normalise_cutoffs
from vitrina.adapters.features.definitions import ACTIVITY_WINDOW_DAYS, POSITIVE_WEIGHT
from vitrina.adapters.features.expressions import Sources, build_frames, collect
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _epoch_us(ts: dt_.Timestamp(timezone="UTC")) -> dt_.int64:  # type: ignore[empty-body,valid-type]
    """DuckDB's ``epoch_us``: microseconds since the epoch of a TIMESTAMPTZ."""


@contextmanager
def _opened(source: Settings | Warehouse) -> Iterator[Warehouse]:
    """Use a caller's warehouse as is; open (and close) one for settings."""
    if isinstance(source, Warehouse):
        yield source
        return
    with Warehouse.from_settings(source) as warehouse:
        warehouse.connection.execute("SET enable_progress_bar = false")  # no bars in pipeline logs
        yield warehouse


def duckdb_sources(warehouse: Warehouse) -> Sources:
    """The warehouse's canonical views as Ibis tables."""
    con = ibis.duckdb.from_connection(warehouse.connection)
    return Sources(
        events=con.table("events"),
        catalog=con.table("catalog"),
        transactions=con.table("transactions"),
        epoch_us=_epoch_us,
    )


def compute_features(
    source: Settings | Warehouse, cutoffs: Cutoffs, frames: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Feature frames (default: all) as of every cutoff, one Arrow table per frame.

    Each table has the frame's schema (keys, ``as_of`` µs UTC, features) and one row per
    entity active before each cutoff, sorted by key and cutoff. Cutoffs must be UTC-aware.
    """
    index = normalise_cutoffs(cutoffs)
    with _opened(source) as warehouse:
        return collect(build_frames(duckdb_sources(warehouse), index, frames))


def last_session_items(
    source: Settings | Warehouse, cutoff: dt.datetime | pd.Timestamp | str
) -> pd.DataFrame:
    """The items each user acted on (click, add-to-cart, purchase) in their last session
    before ``cutoff`` (within the 30-day activity window): the input of the
    ``user_session_embedding`` hook. Columns: user_id, product_id, weight (summed event
    weights), session_id; sorted by user and product.
    """
    (as_of,) = normalise_cutoffs([cutoff])
    kinds = ", ".join(f"('{name}', {weight})" for name, weight in POSITIVE_WEIGHT.items())
    query = f"""
        WITH w(event_type, weight) AS (VALUES {kinds}),
        pos AS (
            SELECT e.user_id, e.product_id, e.session_id, e.ts, w.weight
            FROM events e JOIN w USING (event_type)
            WHERE e.ts < $as_of AND e.ts >= $as_of - INTERVAL {ACTIVITY_WINDOW_DAYS} DAY
        ),
        last AS (SELECT user_id, arg_max(session_id, ts) AS session_id FROM pos GROUP BY user_id)
        SELECT p.user_id, p.product_id, sum(p.weight) AS weight, p.session_id
        FROM pos p JOIN last l USING (user_id, session_id)
        GROUP BY p.user_id, p.product_id, p.session_id
        ORDER BY p.user_id, p.product_id
    """
    with _opened(source) as warehouse:
        return warehouse.df(query, {"as_of": as_of.to_pydatetime()})
