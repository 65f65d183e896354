"""The feature definitions as Ibis expressions: one definition, any backend.

:func:`build_frames` turns three canonical tables (``events``, ``catalog``,
``transactions``) and a list of cutoffs into one Ibis table per feature frame of
:mod:`vitrina.adapters.features.definitions`. The same expressions run on DuckDB
(:mod:`~vitrina.adapters.features.duckdb_engine`) and on Spark
(:mod:`~vitrina.adapters.features.spark_engine`),
so the two engines cannot drift apart. The one engine-specific primitive is
:attr:`Sources.epoch_us` (timestamp → epoch microseconds: ``epoch_us`` in DuckDB,
``unix_micros`` in Spark).

How it stays point-in-time correct and cheap (see :mod:`~vitrina.adapters.features.cutoffs`):

1. each frame reads events only from ``[first cutoff − its horizon, last cutoff)``;
2. times become integer epoch microseconds (time-zone-free arithmetic, fast and identical
   in both engines) and events are summed per entity and *bucket* (``ts − ts mod grain``,
   the coarsest grain every cutoff is aligned to);
3. buckets are joined to the cutoffs with ``as_of − horizon ≤ bucket < as_of``: a bucket
   starting before an aligned cutoff ends at or before it, so no event at or after
   ``as_of`` is ever counted;
4. per-window sums keep the buckets with ``bucket ≥ as_of − window``.

The affinity's exponential decay is split as
``2^(−(as_of − ts)/h) = 2^((ts − origin)/h) · 2^(−(as_of − origin)/h)``: the per-event part
is summed in the buckets and the per-cutoff part applied after the join (exact; ``origin``
is the earliest cutoff minus the look-back, so exponents stay small).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from vitrina.adapters.features.cutoffs import bucket_grain
from vitrina.adapters.features.definitions import (
    ACTIVITY_WINDOW_DAYS,
    CTR_WINDOWS_DAYS,
    DECAY_PER_DAY,
    FRAMES,
    ITEM_WINDOWS_DAYS,
    POSITIVE_WEIGHT,
    RECENCY_HORIZON_DAYS,
    FeatureFrame,
)

_US_PER_DAY = 86_400_000_000
_GRAIN_US = {"D": _US_PER_DAY, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000, "us": 1}
_LOOKBACK_DAYS = max(RECENCY_HORIZON_DAYS, ACTIVITY_WINDOW_DAYS, *CTR_WINDOWS_DAYS, *ITEM_WINDOWS_DAYS)

EpochMicros = Callable[[ir.Value], ir.IntegerValue]


@dataclass(frozen=True)
class Sources:
    """The canonical tables the features read, as Ibis tables of one backend, and that
    backend's timestamp → epoch-microseconds function."""

    events: ir.Table
    catalog: ir.Table
    transactions: ir.Table
    epoch_us: EpochMicros


@dataclass(frozen=True)
class _Plan:
    cutoffs: ir.Table  # as_of, as_of_us and the cyclic columns
    grain_us: int
    first: pd.Timestamp
    last: pd.Timestamp
    origin_us: int


def _micros(stamp: pd.Timestamp) -> int:
    return int(stamp.value) // 1_000  # .value is nanoseconds whatever the unit


def cutoff_table(cutoffs: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per cutoff: ``as_of``, its epoch µs and the cyclic hour / weekday (UTC)."""
    hour = 2 * math.pi * cutoffs.hour.to_numpy(dtype=np.float64) / 24
    dow = 2 * math.pi * cutoffs.dayofweek.to_numpy(dtype=np.float64) / 7  # Monday 0
    return pd.DataFrame(
        {
            "as_of": cutoffs,
            "as_of_us": cutoffs.as_unit("us").asi8,
            "user_hour_sin": np.sin(hour),
            "user_hour_cos": np.cos(hour),
            "user_dow_sin": np.sin(dow),
            "user_dow_cos": np.cos(dow),
        }
    )


def _plan(cutoffs: pd.DatetimeIndex) -> _Plan:
    first, last = cutoffs.min(), cutoffs.max()
    grain_us = _GRAIN_US[bucket_grain(cutoffs)]
    origin = _micros(first) - _LOOKBACK_DAYS * _US_PER_DAY
    return _Plan(
        cutoffs=ibis.memtable(cutoff_table(cutoffs)),
        grain_us=grain_us,
        first=first,
        last=last,
        origin_us=origin - origin % grain_us,
    )


def _events(sources: Sources, plan: _Plan, horizon_days: int, categories: bool) -> ir.Table:
    """Events of ``[first − horizon, last)`` with ``ts_us``, ``bucket`` and one summable
    column per measure; with the product's L1/L2 when ``categories``."""
    ev = sources.events
    since = plan.first - pd.Timedelta(days=horizon_days)
    ev = ev.filter(ev.ts >= ibis.literal(since), ev.ts < ibis.literal(plan.last))
    if categories:
        ev = ev.join(sources.catalog.select("product_id", "category_l1", "category_l2"), "product_id")
    kind = ev.event_type
    ts_us = sources.epoch_us(ev.ts)
    weight = ibis.cases(*((kind == name, w) for name, w in POSITIVE_WEIGHT.items()), else_=0.0)
    days_from_origin = (ts_us - plan.origin_us).cast("float64") / _US_PER_DAY
    return ev.mutate(
        bucket=ts_us - ts_us % plan.grain_us,
        events=ibis.literal(1, "int64"),
        views=(kind == "view").cast("int64"),
        clicks=(kind == "click").cast("int64"),
        carts=(kind == "add_to_cart").cast("int64"),
        purchases=(kind == "purchase").cast("int64"),
        growth=weight * (days_from_origin * DECAY_PER_DAY).exp(),
        last_us=ts_us,
    )


def _sum_buckets(rows: ir.Table, keys: Iterable[str]) -> ir.Table:
    """Sum the measures of events (or of finer buckets) per ``keys`` + bucket."""
    return rows.group_by(*keys, "bucket").aggregate(
        events=rows.events.sum(),
        views=rows.views.sum(),
        clicks=rows.clicks.sum(),
        carts=rows.carts.sum(),
        purchases=rows.purchases.sum(),
        growth=rows.growth.sum(),
        last_us=rows.last_us.max(),
    )


def _window_join(buckets: ir.Table, plan: _Plan, horizon_days: int) -> ir.Table:
    """Every (bucket row, cutoff) pair with ``as_of − horizon ≤ bucket < as_of``."""
    c = plan.cutoffs.select("as_of_us")
    return buckets.join(
        c, [buckets.bucket < c.as_of_us, buckets.bucket >= c.as_of_us - horizon_days * _US_PER_DAY]
    )


def _wsum(joined: ir.Table, column: str, days: int) -> ir.IntegerScalar:
    inside = joined.bucket >= joined.as_of_us - days * _US_PER_DAY
    return inside.ifelse(joined[column], 0).sum()


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return num.cast("float64") / den.nullif(0).cast("float64")


def _label(days: int) -> str:
    return "24h" if days == 1 else f"{days}d"


def _user(sources: Sources, plan: _Plan) -> ir.Table:
    a = ACTIVITY_WINDOW_DAYS
    recent = _sum_buckets(_events(sources, plan, a, categories=False), ["user_id"])
    j = _window_join(recent, plan, a)
    u = j.group_by("user_id", "as_of_us").aggregate(
        **{f"imp_{w}": _wsum(j, "views", w) for w in CTR_WINDOWS_DAYS},
        **{f"clk_{w}": _wsum(j, "clicks", w) for w in CTR_WINDOWS_DAYS},
        carts=j.carts.sum(),
        purchases=j.purchases.sum(),
        events=j.events.sum(),
    )
    # recency looks further back than the counts: a separate, two-column scan
    ev = _events(sources, plan, RECENCY_HORIZON_DAYS, categories=False)
    seen = ev.group_by("user_id", "bucket").aggregate(last_us=ev.last_us.max())
    sj = _window_join(seen, plan, RECENCY_HORIZON_DAYS)
    last = sj.group_by("user_id", "as_of_us").aggregate(last_us=sj.last_us.max())

    tx = sources.transactions
    tx = tx.filter(tx.ts >= ibis.literal(plan.first - pd.Timedelta(days=a)), tx.ts < ibis.literal(plan.last))
    ts_us = sources.epoch_us(tx.ts)
    tx = tx.mutate(bucket=ts_us - ts_us % plan.grain_us)
    tb = tx.group_by("user_id", "bucket").aggregate(amount=tx.amount.sum(), orders=tx.order_id.nunique())
    tj = _window_join(tb, plan, a)
    money = tj.group_by("user_id", "as_of_us").aggregate(amount=tj.amount.sum(), orders=tj.orders.sum())

    t = last.left_join(u, ["user_id", "as_of_us"]).left_join(money, ["user_id", "as_of_us"])
    amount = t.amount.coalesce(0.0)
    orders = t.orders.coalesce(0)
    imp = {w: t[f"imp_{w}"].coalesce(0) for w in CTR_WINDOWS_DAYS}
    clk = {w: t[f"clk_{w}"].coalesce(0) for w in CTR_WINDOWS_DAYS}
    return t.select(
        "user_id",
        "as_of_us",
        **{f"user_ctr_{w}d": _ratio(clk[w], imp[w]) for w in CTR_WINDOWS_DAYS},
        user_impressions_30d=imp[a],
        user_clicks_30d=clk[a],
        user_carts_30d=t.carts.coalesce(0),
        user_purchases_30d=t.purchases.coalesce(0),
        user_events_30d=t.events.coalesce(0),
        user_recency_days=(t.as_of_us - t.last_us).cast("float64") / _US_PER_DAY,
        user_monetary_30d=amount,
        user_orders_30d=orders,
        user_avg_ticket_30d=_ratio(amount, orders),
    )


def _user_category(sources: Sources, plan: _Plan) -> ir.Table:
    horizon = max(CTR_WINDOWS_DAYS)
    buckets = _sum_buckets(_events(sources, plan, horizon, categories=True), ["user_id", "category_l1"])
    j = _window_join(buckets, plan, horizon)
    s = j.group_by("user_id", "category_l1", "as_of_us").aggregate(
        **{f"imp_{w}": _wsum(j, "views", w) for w in CTR_WINDOWS_DAYS},
        **{f"clk_{w}": _wsum(j, "clicks", w) for w in CTR_WINDOWS_DAYS},
    )
    return s.select(
        "user_id",
        "category_l1",
        "as_of_us",
        **{f"user_cat_impressions_{w}d": s[f"imp_{w}"] for w in CTR_WINDOWS_DAYS},
        **{f"user_cat_clicks_{w}d": s[f"clk_{w}"] for w in CTR_WINDOWS_DAYS},
        **{f"user_cat_ctr_{w}d": _ratio(s[f"clk_{w}"], s[f"imp_{w}"]) for w in CTR_WINDOWS_DAYS},
    )


def _user_affinity(sources: Sources, plan: _Plan) -> ir.Table:
    a = ACTIVITY_WINDOW_DAYS
    ev = _events(sources, plan, a, categories=True)
    ev = ev.filter(ev.event_type.isin(list(POSITIVE_WEIGHT)))  # impressions carry no preference
    j = _window_join(_sum_buckets(ev, ["user_id", "category_l2"]), plan, a)
    s = j.group_by("user_id", "category_l2", "as_of_us").aggregate(
        positives=(j.clicks + j.carts + j.purchases).sum(), growth=j.growth.sum()
    )
    total = s.growth.sum().over(group_by=[s.user_id, s.as_of_us])
    decay = ((s.as_of_us - plan.origin_us).cast("float64") / _US_PER_DAY * -DECAY_PER_DAY).exp()
    return s.select(
        "user_id",
        "category_l2",
        "as_of_us",
        user_l2_positives_30d=s.positives,
        user_l2_weight_30d=s.growth * decay,
        user_l2_affinity_30d=s.growth / total,
    )


def _item(sources: Sources, plan: _Plan) -> ir.Table:
    horizon = max(ITEM_WINDOWS_DAYS)
    j = _window_join(
        _sum_buckets(_events(sources, plan, horizon, categories=False), ["product_id"]), plan, horizon
    )
    measures = ("views", "clicks", "purchases")
    stats = j.group_by("product_id", "as_of_us").aggregate(
        **{f"{m}_{_label(w)}": _wsum(j, m, w) for m in measures for w in ITEM_WINDOWS_DAYS}
    )
    cat = sources.catalog
    cat = cat.mutate(
        created_us=sources.epoch_us(cat.created_at),
        **{f"l{n}_code": ibis.dense_rank().over(order_by=cat[f"category_l{n}"]) for n in (1, 2, 3)},
    )
    c = plan.cutoffs.select("as_of_us")
    base = cat.cross_join(c).filter(lambda t: t.created_us.isnull() | (t.created_us < t.as_of_us))
    t = base.left_join(stats, ["product_id", "as_of_us"])
    counts = {
        f"item_{m}_{_label(w)}": t[f"{m}_{_label(w)}"].coalesce(0)
        for m in measures
        for w in ITEM_WINDOWS_DAYS
    }
    margin = (t.price > 0).ifelse((t.price - t.cost) / t.price, ibis.null("float64"))
    return t.select(
        "product_id",
        "as_of_us",
        **counts,
        item_ctr_7d=_ratio(counts["item_clicks_7d"], counts["item_views_7d"]),
        item_price=t.price,
        item_log_price=(t.price + 1.0).ln(),
        item_stock=t.stock,
        item_margin=margin,
        item_freshness_days=(t.as_of_us - t.created_us).cast("float64") / _US_PER_DAY,
        item_category_l1=t.category_l1,
        item_category_l2=t.category_l2,
        item_category_l3=t.category_l3,
        item_category_l1_code=t.l1_code,
        item_category_l2_code=t.l2_code,
        item_category_l3_code=t.l3_code,
    )


def _conform(table: ir.Table, plan: _Plan, frame: FeatureFrame) -> ir.Table:
    """Exactly the frame's columns, in order, with its types, sorted by key and cutoff;
    ``as_of`` (and the cyclic columns) come from the cutoff table."""
    types = {f.name: f.dtype for f in frame.features}
    table = table.join(plan.cutoffs, "as_of_us")
    columns = [table[k].cast("string") for k in frame.keys]
    columns.append(table.as_of)
    columns.extend(table[name].cast(types[name]).name(name) for name in frame.feature_names)
    return table.select(*columns).order_by([*frame.keys, "as_of"])


_BUILDERS: dict[str, Callable[[Sources, _Plan], ir.Table]] = {
    "user": _user,
    "item": _item,
    "user_category": _user_category,
    "user_affinity": _user_affinity,
}


def build_frames(
    sources: Sources, cutoffs: pd.DatetimeIndex, names: Iterable[str] | None = None
) -> dict[str, ir.Table]:
    """Ibis expressions for the requested frames (default: all of ``FRAMES``) at ``cutoffs``.

    ``cutoffs`` must come from :func:`~vitrina.adapters.features.cutoffs.normalise_cutoffs`
    (UTC, µs, sorted, unique). Nothing runs until an expression is executed.
    """
    wanted = list(FRAMES) if names is None else list(names)
    unknown = sorted(set(wanted) - set(FRAMES))
    if unknown:
        raise ValueError(f"unknown feature frames {unknown}; known: {sorted(FRAMES)}")
    plan = _plan(cutoffs)
    return {name: _conform(_BUILDERS[name](sources, plan), plan, FRAMES[name]) for name in wanted}


def collect(expressions: dict[str, ir.Table]) -> dict[str, pa.Table]:
    """Execute each frame's expression and cast it to the frame's canonical Arrow schema
    (Spark returns naive timestamps and its own integer widths; DuckDB µs UTC)."""
    return {name: expr.to_pyarrow().cast(FRAMES[name].schema) for name, expr in expressions.items()}
