"""Turn a simulated day (:class:`.day.DayLog`) into Arrow tables in the canonical schemas.

Ids carry the UTC day so a day's rows never depend on other days (which keeps the
pre-drift days identical under a drift scenario): ``ses-YYYYMMDD-NNNNNN``,
``req-…`` (browse requests), ``srch-…`` (searches; also the request id of their events),
``evt-YYYYMMDD-NNNNNNNN`` and ``ord-…`` (one order per session with purchases).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vitrina.core.tables import (
    DEVICES,
    EVENT_TYPES,
    EVENTS,
    PAGES,
    PAYMENT_METHODS,
    SEARCH_LOGS,
    TRANSACTIONS,
    TS,
)
from vitrina.simulator.common import format_ids
from vitrina.simulator.day import DayLog
from vitrina.simulator.market import Marketplace
from vitrina.simulator.queries import QUERY_TYPES, query_id


@dataclass(frozen=True)
class DayTables:
    """The day's rows of the raw tables plus the hidden query truth of its searches."""

    events: pa.Table
    transactions: pa.Table
    search_logs: pa.Table
    search_truth: pa.Table


def _lists(product_ids: pa.Array, matrix: np.ndarray, mask: np.ndarray) -> pa.Array:
    counts = mask.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = product_ids.take(pa.array(matrix[mask]))
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=pa.list_(pa.string()))


def day_tables(m: Marketplace, log: DayLog) -> DayTables:
    """Arrow tables for one day, columns exactly as in :mod:`vitrina.core.tables`."""
    date = m.start_date + dt.timedelta(days=log.day)
    stamp = date.strftime("%Y%m%d")
    req = log.requests
    sessions = format_ids(f"ses-{stamp}-", np.arange(req.n_sessions), 6)
    search_rank = np.cumsum(req.is_search) - 1
    browse_rank = np.cumsum(~req.is_search) - 1
    request_ids = np.where(
        req.is_search,
        format_ids(f"srch-{stamp}-", search_rank, 6),
        format_ids(f"req-{stamp}-", browse_rank, 7),
    )
    r = log.ev_request
    position = pa.array(log.ev_position.astype(np.int32), mask=log.ev_position == 0)
    events = pa.Table.from_arrays(
        [
            pa.array(format_ids(f"evt-{stamp}-", np.arange(r.size), 8)),
            m.user_ids.take(pa.array(req.user[r])),
            m.product_ids.take(pa.array(log.ev_product)),
            pa.array(np.array(EVENT_TYPES)[log.ev_type]),
            pa.array(log.ev_ts, type=TS),
            pa.array(sessions[req.session[r]]),
            pa.array(np.array(DEVICES)[req.device[r]]),
            pa.array(np.array(PAGES)[log.ev_page]),
            position,
            pa.array(request_ids[r]),
        ],
        schema=EVENTS.schema,
    )

    tx_req = r[log.tx_event]
    tx_session = req.session[tx_req]
    order_sessions, order_number = np.unique(tx_session, return_inverse=True)
    del order_sessions
    transactions = pa.Table.from_arrays(
        [
            pa.array(format_ids(f"ord-{stamp}-", order_number, 6)),
            m.user_ids.take(pa.array(req.user[tx_req])),
            m.product_ids.take(pa.array(log.ev_product[log.tx_event])),
            pa.array(log.tx_quantity),
            pa.array(log.tx_amount),
            pa.array(log.tx_discount),
            pa.array(np.array(PAYMENT_METHODS)[log.tx_payment]),
            pa.array(log.ev_ts[log.tx_event], type=TS),
        ],
        schema=TRANSACTIONS.schema,
    )

    s = log.searches
    shown_mask = s.shown >= 0
    safe = np.maximum(s.shown, 0)
    search_ids = request_ids[s.request]
    search_logs = pa.Table.from_arrays(
        [
            pa.array(search_ids),
            m.user_ids.take(pa.array(req.user[s.request])),
            pa.array(sessions[req.session[s.request]]),
            pa.array(s.queries, type=pa.string()),
            pa.array(req.ts_us[s.request], type=TS),
            _lists(m.product_ids, safe, shown_mask),
            _lists(m.product_ids, safe, s.clicked & shown_mask),
            _lists(m.product_ids, safe, s.purchased & shown_mask),
        ],
        schema=SEARCH_LOGS.schema,
    )
    target_ids = m.product_ids.take(pa.array(s.target)).to_pylist()
    search_truth = pa.table(
        {
            "search_id": pa.array(search_ids),
            "query_id": pa.array([query_id(q, t) for q, t in zip(s.queries, target_ids, strict=True)]),
            "query": pa.array(s.queries, type=pa.string()),
            "query_type": pa.array(
                np.array(QUERY_TYPES)[s.query_type] if s.query_type.size else [], pa.string()
            ),
            "product_id": pa.array(target_ids, type=pa.string()),
        }
    )
    return DayTables(events, transactions, search_logs, search_truth)
