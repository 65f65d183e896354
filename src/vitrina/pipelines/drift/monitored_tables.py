"""The monitored tables: what drift is measured on, read from the validated lake.

Each table has one row per *unit* in each window (see :mod:`vitrina.core.drift.windows`):

=================  ==========================================  ==============================
table              unit                                        columns
=================  ==========================================  ==============================
``events``         an event                                    event_type, page
``sessions``       a session (dated by its first event)        device, entry_page, events,
                                                               interactions, category_l1/l2
                                                               (where most of its events fall:
                                                               its intent), interaction_l1/l2
                                                               (same over clicks, carts and
                                                               purchases)
``transactions``   an order line                               unit_price, price_vs_catalog,
                                                               quantity, discount_pct
``users``          a user active in a block of the window      city, age_range, segment
``searches``       a search                                    query_tokens, query_chars,
                                                               clicked, clicked_l1; model
                                                               outputs: results, top_result_l1
=================  ==========================================  ==============================

Honest corners:

* **Prices.** The catalog keeps only each product's current row, so a catalog price is the
  same in both windows and cannot show inflation. The price actually paid can:
  ``unit_price = amount / quantity / (1 − discount_pct / 100)`` is the list price at the
  time of the order, and ``price_vs_catalog = ln(unit_price / today's catalog price)``
  (rounded to 0.01) says how far each window's prices are from today's. Where nothing was
  repriced it is 0 in both windows; after a price rise the reference's orders of the
  repriced products sit below 0 while the current window's sit at 0. Unlike matching a
  product's price across windows, it needs no repeat purchase — and repriced products are
  bought less after a rise. The reasons break it down by L2 category. Rounding: amounts are
  rounded to cents, which alone moves a reconstructed price by up to ~0.5 % on cheap items.
* **Segments.** ``users.segment`` is a label as of when the table was written, and
  "nuevo" (signed up in the last :data:`NEW_USER_DAYS` days) is relative to that moment.
  The share of new users follows acquisition, not tastes: the simulator's signups jump at
  the start of its window, so new users go from ~10 % to ~17 % of active users in two weeks
  with no drift at all. ``segment`` is therefore the segment of *established* users —
  active users who signed up more than :data:`NEW_USER_DAYS` days before their block's end
  (new users are left out, not relabelled; so are established users whose label still says
  "nuevo": a label written while they were new, which a users table nobody relabels keeps —
  in the live shop it rose from 0.2 % to 6.9 % of established users in nine days); a new city
  or age group still shows in ``city`` and ``age_range``, which count every active user.
* **Model outputs.** How many results a search returned and the category of its first result
  are decided by the served engine, not by the shopper: replacing the engine moves them with
  the same shoppers (the generator's weak lexical engine returned fewer than 20 results for
  about a third of its searches, the served one always fills 20). They are monitored with
  role ``model_output`` — reported, never a reason to retrain (ADR-0031). What shoppers
  search for shows in the query's length, in whether they clicked, and in ``clicked_l1``, the
  L1 of the first result they clicked (their choice among what was shown).
* **Units.** Category mix is measured per session, not per event or order line: the events
  of a session share its intent and the lines of an order its basket, and a test that counts
  thirty impressions of one session as thirty observations calls noise drift (on no-drift
  simulated data, per-event and per-order-line category shares flag categories as movers;
  per-session shares flag none). Purchases are in the sessions' ``interaction_*`` mix.

Event-level tables are sampled to ``max_rows`` per window (DuckDB reservoir sampling) so
memory stays bounded on large lakes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.core.drift.decision import Kind, MonitoredTable
from vitrina.core.drift.windows import DriftWindows
from vitrina.core.tables import SEGMENTS

SEARCH_OUTPUTS = frozenset({"results", "top_result_l1"})
"""Columns of ``searches`` the served engine decides (module docstring: model outputs)."""
NEW_SEGMENT = SEGMENTS[0]
"""The new-user segment label ("nuevo"): a recency label, not a taste."""
NEW_USER_DAYS = 30
"""A user is "nuevo" for this many days after signing up (the simulator's segment rule)."""
MAX_ROWS = 200_000
SEED = 42

_EVENTS = "SELECT event_type, page FROM events WHERE ts >= $lo AND ts < $hi"
_SESSIONS = """
    WITH e AS (
        SELECT e.session_id, e.ts, e.device, e.page, e.event_type, c.category_l1, c.category_l2
        FROM events e LEFT JOIN catalog c USING (product_id)
        WHERE e.ts >= $lo AND e.ts < $hi
    )
    SELECT session_id,
           arg_min(device, ts) AS device,
           arg_min(page, ts) AS entry_page,
           count(*) AS events,
           count(*) FILTER (WHERE event_type <> 'view') AS interactions,
           mode(category_l1 ORDER BY category_l1) AS category_l1,
           mode(category_l2 ORDER BY category_l2) AS category_l2,
           mode(category_l1 ORDER BY category_l1) FILTER (WHERE event_type <> 'view') AS interaction_l1,
           mode(category_l2 ORDER BY category_l2) FILTER (WHERE event_type <> 'view') AS interaction_l2
    FROM e GROUP BY session_id
"""
_TRANSACTIONS = """
    WITH t AS (
        SELECT t.product_id, t.quantity, t.discount_pct, c.category_l2, c.price AS catalog_price,
               CASE WHEN t.discount_pct < 100 THEN t.amount / t.quantity / (1 - t.discount_pct / 100) END
                   AS unit_price
        FROM transactions t LEFT JOIN catalog c USING (product_id)
        WHERE t.ts >= $lo AND t.ts < $hi
    )
    SELECT *, round(ln(unit_price / catalog_price), 2) AS price_vs_catalog
    FROM t
"""
_USERS = """
    WITH active AS (
        SELECT DISTINCT user_id,
               CAST(floor(date_diff('second', ts, $hi) / $block_seconds) AS INTEGER) AS block
        FROM events WHERE ts >= $lo AND ts < $hi
    )
    SELECT a.user_id, a.block, u.city, u.age_range, u.segment, u.signup_date
    FROM active a JOIN users u USING (user_id)
"""
_SEARCHES = """
    SELECT CASE WHEN trim(s.query) = '' THEN 0 ELSE len(regexp_split_to_array(trim(s.query), '\\s+')) END
               AS query_tokens,
           length(s.query) AS query_chars,
           len(s.results_shown) AS results,
           CASE WHEN len(s.results_clicked) > 0 THEN 'yes' ELSE 'no' END AS clicked,
           c.category_l1 AS top_result_l1,
           k.category_l1 AS clicked_l1
    FROM search_logs s LEFT JOIN catalog c ON c.product_id = s.results_shown[1]
                       LEFT JOIN catalog k ON k.product_id = s.results_clicked[1]
    WHERE s.ts >= $lo AND s.ts < $hi
"""
_DAILY_EVENTS = """
    SELECT CAST(date_trunc('day', ts) AS DATE) AS day,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'click') AS clicks,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
           count(DISTINCT session_id) AS sessions
    FROM events WHERE ts >= $lo AND ts < $hi GROUP BY 1 ORDER BY 1
"""
_DAILY_SEARCHES = """
    SELECT CAST(date_trunc('day', ts) AS DATE) AS day, count(*) AS searches,
           count(*) FILTER (WHERE len(results_shown) = 0) AS zero_results
    FROM search_logs WHERE ts >= $lo AND ts < $hi GROUP BY 1 ORDER BY 1
"""


SESSION_COLUMNS: dict[str, Kind] = {
    "device": "categorical",
    "entry_page": "categorical",
    "events": "numeric",
    "interactions": "numeric",
    "category_l1": "categorical",
    "category_l2": "categorical",
    "interaction_l1": "categorical",
    "interaction_l2": "categorical",
}


def data_span(warehouse: Warehouse) -> tuple[dt.datetime, dt.datetime]:
    """First and last event timestamps of the validated lake (ValueError when it has none)."""
    row = warehouse.sql("SELECT min(ts) AS first, max(ts) AS last FROM events").to_pylist()[0]
    if row["first"] is None:
        raise ValueError(
            "the validated lake has no events: run `vitrina data generate` and `vitrina data validate` first"
        )
    return row["first"], row["last"]


def _windowed(
    warehouse: Warehouse, query: str, windows: DriftWindows, max_rows: int | None, **params: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``query`` (with ``$lo``/``$hi`` bounds) run for the reference and the current window."""
    if max_rows is not None:
        sample = f"USING SAMPLE reservoir({int(max_rows)} ROWS) REPEATABLE ({SEED})"
        query = f"SELECT * FROM ({query}) AS q {sample}"
    bounds = ((windows.reference_start, windows.current_start), (windows.current_start, windows.end))
    ref, cur = (warehouse.df(query, {"lo": lo, "hi": hi, **params}) for lo, hi in bounds)
    return ref, cur


def established_segment(users: pd.DataFrame, windows: DriftWindows, current: bool) -> pd.Series:
    """Each active user's segment, or None for users who signed up within
    :data:`NEW_USER_DAYS` days of their block's end (see the module docstring)."""
    stop = windows.end if current else windows.current_start
    age = pd.to_timedelta(users["block"].astype(int) * windows.block_days, unit="D")
    block_end = pd.Timestamp(stop) - age
    signup = pd.to_datetime(users["signup_date"]).dt.tz_localize("UTC")
    recent = signup >= block_end - pd.Timedelta(days=NEW_USER_DAYS)
    # an established user still labelled new carries a label written when they were: the shop's
    # export is not relabelled as days pass (the live shop's users table), so it is left out too
    stale = users["segment"].astype(object) == NEW_SEGMENT
    return users["segment"].astype(object).where(~recent & ~stale, None)


def lake_tables(
    warehouse: Warehouse, windows: DriftWindows, max_rows: int = MAX_ROWS
) -> list[MonitoredTable]:
    """The five raw-data tables of the module docstring, for both windows."""
    events = _windowed(warehouse, _EVENTS, windows, max_rows)
    sessions = _windowed(warehouse, _SESSIONS, windows, max_rows)
    orders = _windowed(warehouse, _TRANSACTIONS, windows, max_rows)
    users = _windowed(warehouse, _USERS, windows, None, block_seconds=windows.block_days * 86_400)
    for frame, is_current in zip(users, (False, True), strict=True):
        frame["segment"] = established_segment(frame, windows, is_current)
    searches = _windowed(warehouse, _SEARCHES, windows, max_rows)
    cat: Kind = "categorical"
    num: Kind = "numeric"
    return [
        MonitoredTable("events", "an event", "recs", {"event_type": cat, "page": cat}, *events),
        MonitoredTable(
            "sessions",
            "a session, dated by its first event",
            "recs",
            SESSION_COLUMNS,
            *sessions,
            descriptions={
                "category_l1": "L1 most of the session's events fall in (its intent)",
                "category_l2": "L2 most of the session's events fall in (its intent)",
                "interaction_l1": "L1 most of its clicks, carts and purchases fall in",
                "interaction_l2": "L2 most of its clicks, carts and purchases fall in",
            },
        ),
        MonitoredTable(
            "transactions",
            "an order line",
            "recs",
            {"unit_price": num, "price_vs_catalog": num, "quantity": num, "discount_pct": num},
            *orders,
            group_by={"price_vs_catalog": "category_l2", "unit_price": "category_l2"},
            descriptions={
                "unit_price": "list price paid: amount / quantity / (1 − discount_pct / 100)",
                "price_vs_catalog": "ln(unit_price / today's catalog price), rounded to 0.01",
            },
        ),
        MonitoredTable(
            "users",
            "a user active in a block of the window",
            "recs",
            {"city": cat, "age_range": cat, "segment": cat},
            *users,
            descriptions={
                "segment": f"segment of users signed up > {NEW_USER_DAYS} d before the block's end"
            },
        ),
        MonitoredTable(
            "searches",
            "a search",
            "search",
            {
                "query_tokens": num,
                "query_chars": num,
                "clicked": cat,
                "clicked_l1": cat,
                "results": num,
                "top_result_l1": cat,
            },
            *searches,
            descriptions={
                "clicked_l1": "L1 of the first result the shopper clicked (none without a click)",
                "results": "how many results the engine returned (model output)",
                "top_result_l1": "L1 of the first result shown (model output)",
            },
            outputs=SEARCH_OUTPUTS,
        ),
    ]


def daily_counts(warehouse: Warehouse, windows: DriftWindows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-day event counts (views, clicks, purchases, sessions) and search counts (searches,
    zero_results) over both windows, each with an ``is_current`` column."""
    params = {"lo": windows.reference_start, "hi": windows.end}
    frames = []
    for query in (_DAILY_EVENTS, _DAILY_SEARCHES):
        frame = warehouse.df(query, params)
        frame["is_current"] = pd.to_datetime(frame["day"]) >= pd.Timestamp(windows.current_start.date())
        frames.append(frame)
    return frames[0], frames[1]


def query_sample(warehouse: Warehouse, windows: DriftWindows, n: int) -> tuple[list[str], list[str]]:
    """Up to ``n`` search queries drawn from each window (with their frequencies)."""
    ref, cur = _windowed(warehouse, "SELECT query FROM search_logs WHERE ts >= $lo AND ts < $hi", windows, n)
    return ref["query"].astype(str).tolist(), cur["query"].astype(str).tolist()
