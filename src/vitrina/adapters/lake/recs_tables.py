"""The recommendation dataset read from the validated lake, coded inside DuckDB.

Both the recs pipeline and the API's last-resort popularity list (computed from the lake when
neither the store nor its snapshot can answer) need :class:`~vitrina.core.recs.dataset.RecsData`;
the reading lives here so the API does not import a pipeline to do it.

Why the events never become a pandas frame: their five string columns (user, product, event
type, session, page) as Python objects cost about 0.6 KB an event, and the DuckDB result and
the frame are alive together while it converts — 17–18 GB for 28 M events before any model is
fitted (docs/benchmarks/scale.md). Instead DuckDB joins the events to the item and user
vocabularies (registered as small Arrow tables), numbers sessions and pages itself, sorts by
time and hands back integer columns only: about 50 bytes an event, page labels included once.

The result equals :func:`~vitrina.core.recs.dataset.build_recs_data` on the same tables read
as frames (a contract test holds them together): events of unknown users or products are
dropped, ties in time keep the lake's row order (file name, then row in the file — the order
DuckDB scans them), sessions are numbered by first appearance as ``pandas.factorize`` does
(``-1`` for none) and a missing position is 0.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vitrina.adapters.lake.warehouse import Warehouse, _quote_literal
from vitrina.config import Settings
from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.ranking.interactions import EVENT_CODE, IntArray, Interactions
from vitrina.core.recs.dataset import CATALOG_COLUMNS, RecsData, default_split, index_tables

QUERY_MEMORY = "1GB"
"""DuckDB's working memory for the coding query; past it the joins, the session numbering and
the sort spill to a temporary folder. The coded result itself (about 30 bytes an event, then
int64 arrays of 56) is outside it: demo's 4.5 M events load in 1.2 GB of peak with this limit,
2.0 GB with DuckDB's default (80% of the machine), 3.2 GB as a string frame."""

_NO_PAGE = "\x00"
"""Stands in for a null page inside the query (a join key cannot be null)."""


def read_catalog_users(warehouse: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The validated catalog (the columns recs uses) and users, as pandas frames (small tables)."""
    catalog = warehouse.df(f"SELECT {', '.join(CATALOG_COLUMNS)} FROM catalog")
    users = warehouse.df("SELECT * FROM users")
    catalog["is_reported"] = catalog["is_reported"].fillna(False).astype(bool)
    return catalog, users


def _event_case() -> str:
    whens = " ".join(f"WHEN {_quote_literal(name)} THEN {code}" for name, code in EVENT_CODE.items())
    return f"CASE event_type {whens} ELSE -1 END"


def _coded_events_sql(glob: str) -> str:
    """Known events as integer codes, in time order (ties: file, then row in the file)."""
    return f"""
    WITH raw AS (
        SELECT filename, file_row_number, user_id, product_id, event_type, ts, session_id,
               coalesce(page, {_quote_literal(_NO_PAGE)}) AS page, position
        FROM read_parquet({_quote_literal(glob)}, union_by_name = true,
                          hive_partitioning = false, filename = true, file_row_number = true)
    ),
    files AS (
        SELECT filename, (row_number() OVER (ORDER BY filename)) - 1 AS file_no
        FROM (SELECT DISTINCT filename FROM raw)
    ),
    known AS (
        SELECT u.code AS user_code, i.code AS item_code, {_event_case()} AS event_code,
               epoch_us(r.ts) AS ts_us, r.session_id, r.page,
               coalesce(r.position, 0) AS position,
               f.file_no * 4294967296 + r.file_row_number AS row_no
        FROM raw r
        JOIN files f USING (filename)
        JOIN recs_user_codes u ON u.user_id = r.user_id
        JOIN recs_item_codes i ON i.product_id = r.product_id
    ),
    sessions AS (
        SELECT session_id, (row_number() OVER (ORDER BY first_row)) - 1 AS session_code
        FROM (SELECT session_id, min(row_no) AS first_row FROM known
              WHERE session_id IS NOT NULL GROUP BY session_id)
    ),
    pages AS (
        SELECT page, (row_number() OVER (ORDER BY page)) - 1 AS page_code
        FROM (SELECT DISTINCT page FROM raw)
    )
    SELECT k.user_code::INTEGER AS user_code, k.item_code::INTEGER AS item_code,
           k.event_code::TINYINT AS event_code, k.ts_us,
           coalesce(s.session_code, -1)::INTEGER AS session_code, k.position::INTEGER AS position,
           p.page_code::INTEGER AS page_code
    FROM known k
    LEFT JOIN sessions s USING (session_id)
    JOIN pages p USING (page)
    ORDER BY k.ts_us, k.row_no
    """


def _page_labels(warehouse: Warehouse) -> npt.NDArray[np.str_]:
    """Page labels by code (the ``pages`` of the coded query: every distinct page of the table,
    sorted), spelled as ``to_numpy(dtype=str)`` spells them (a null page is ``'None'``)."""
    pages = warehouse.connection.sql(
        "SELECT DISTINCT page FROM (SELECT coalesce(page, ?) AS page FROM events) ORDER BY page",
        params=[_NO_PAGE],
    ).fetchall()
    return np.asarray([str(None) if page == _NO_PAGE else page for (page,) in pages], dtype=str)


def _columns(table: pa.Table) -> Callable[[str], IntArray]:
    def column(name: str) -> IntArray:
        return np.asarray(table.column(name).to_numpy(), dtype=np.int64)

    return column


def _pages(labels: npt.NDArray[np.str_], codes: IntArray) -> npt.NDArray[np.str_]:
    """Every event's page label, as wide as the longest label the kept events use."""
    used = np.unique(codes)
    width = np.asarray(labels[used].tolist(), dtype=str).dtype
    pages: npt.NDArray[np.str_] = labels[codes].astype(width)
    return pages


def read_recs_data(settings: Settings, split: TemporalSplit | None = None) -> RecsData:
    """The recommendation dataset of the validated lake; ``ValueError`` when there are no events."""
    with contextlib.ExitStack() as stack:
        warehouse = stack.enter_context(Warehouse.from_settings(settings, persistent=False))
        if "events" not in warehouse.present:
            raise ValueError("no validated events: run `vitrina data validate` first")
        catalog, users = read_catalog_users(warehouse)
        items, user_vocab, catalog, users = index_tables(catalog, users)
        connection = warehouse.connection
        spill = stack.enter_context(tempfile.TemporaryDirectory(prefix="vitrina-recs-load-"))
        connection.execute(f"SET memory_limit = {_quote_literal(QUERY_MEMORY)}")
        connection.execute(f"SET temp_directory = {_quote_literal(spill)}")
        for name, key, vocabulary in (
            ("recs_item_codes", "product_id", items),
            ("recs_user_codes", "user_id", user_vocab),
        ):
            codes = pa.table({key: pa.array(vocabulary.ids, pa.string()), "code": np.arange(len(vocabulary))})
            connection.register(name, codes)
        coded = connection.sql(_coded_events_sql(warehouse.glob("events"))).to_arrow_table()
        labels = _page_labels(warehouse)
    if coded.num_rows == 0:
        raise ValueError("no validated events of known users and products")
    column = _columns(coded)
    interactions = Interactions(
        user=column("user_code"),
        item=column("item_code"),
        event=column("event_code"),
        ts_us=column("ts_us"),
        session=column("session_code"),
        position=column("position"),
        page=_pages(labels, column("page_code")),
    )
    if split is None:
        split = default_split(interactions)
    return RecsData(items, user_vocab, catalog, users, interactions, split)
