"""Property: whatever corruption hits random clean tables, nothing is lost and nothing clean moves.

Random clean catalog/users/events are corrupted row by row (wrong types, negative prices,
duplicate ids, unknown products/users, future timestamps, nulls in required columns). Then:
valid + quarantined = input; exactly the corrupted rows are quarantined, each with its
reason; every untouched row is valid with exactly its original values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_contracts_factory import clean_rows, to_table

from vitrina.adapters.contracts.coerce import RawFile
from vitrina.adapters.contracts.integrity import Reference
from vitrina.core import tables as t
from vitrina.pipelines.validate import TableResult, check_table

pytestmark = pytest.mark.unit
NOW = dt.datetime.now(dt.UTC)

EVENT_CORRUPTIONS = {
    "wrong_type": "position: not a 32-bit integer",
    "negative": "position: must be >= 1",
    "duplicate": "duplicate event_id",
    "unknown_product": "product_id: unknown product",
    "unknown_user": "user_id: unknown user",
    "future": "ts: in the future",
    "null": "event_type: null",
}
PRODUCT_CORRUPTIONS = {
    "wrong_type": "price: not a float",
    "negative": "price: must be > 0",
    "null": "title: null",
}


@st.composite
def events_rows(draw: st.DrawFn, n_products: int, n_users: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=2, max_value=25))
    rows = []
    for i in range(n):
        rows.append(
            {
                "event_id": f"e{i}",
                "user_id": f"u{draw(st.integers(0, n_users - 1))}",
                "product_id": f"p{draw(st.integers(0, n_products - 1))}",
                "event_type": draw(st.sampled_from(t.EVENT_TYPES)),
                "ts": NOW - dt.timedelta(minutes=draw(st.integers(1, 60 * 40))),
                "session_id": f"s{i}",  # unique: identifies the row even when ids are duplicated
                "device": draw(st.sampled_from(t.DEVICES)),
                "page": draw(st.sampled_from(t.PAGES)),
                "position": draw(st.one_of(st.none(), st.integers(1, 50))),
                "request_id": draw(st.one_of(st.none(), st.just(f"r{i}"))),
            }
        )
    return rows


def corrupt_event(row: dict[str, Any], kind: str) -> None:
    if kind == "wrong_type":
        row["position"] = "segundo"
    elif kind == "negative":
        row["position"] = -3
    elif kind == "duplicate":
        row["event_id"] = "e0"  # row 0 is never corrupted, so it keeps the id
    elif kind == "unknown_product":
        row["product_id"] = "p-nope"
    elif kind == "unknown_user":
        row["user_id"] = "u-nope"
    elif kind == "future":
        row["ts"] = NOW + dt.timedelta(days=2)
    else:
        row["event_type"] = None


def corrupt_product(row: dict[str, Any], kind: str) -> None:
    if kind == "wrong_type":
        row["price"] = "gratis"
    elif kind == "negative":
        row["price"] = -row["price"]
    else:
        row["title"] = None


def raw_file(name: str, rows: list[dict[str, Any]], text_column: str | None) -> RawFile:
    """A raw file; with ``text_column`` that column is written as text, like a sloppy producer."""
    if text_column is None:
        return RawFile(path=f"raw/{name}/part-0.parquet", table=to_table(name, rows))
    clean = [{k: v for k, v in r.items() if k != text_column} for r in rows]
    table = pa.Table.from_pylist(
        clean, schema=t.TABLES[name].schema.remove(t.TABLES[name].schema.get_field_index(text_column))
    )
    texts = [None if r[text_column] is None else str(r[text_column]) for r in rows]
    return RawFile(
        path=f"raw/{name}/part-0.parquet",
        table=table.append_column(text_column, pa.array(texts, pa.string())),
    )


def check(name: str, files: list[RawFile], references: dict[str, Reference]) -> TableResult:
    return check_table(t.TABLES[name], files, references=references, now=NOW, future_skew_minutes=5.0)


def assert_partition(
    result: TableResult, clean: list[dict[str, Any]], tag: str, corrupted: dict[str, str], name: str
) -> None:
    assert result.valid.num_rows + result.quarantine.num_rows == result.input_rows == len(clean)
    reasons = dict(
        zip(result.quarantine[tag].to_pylist(), result.quarantine["_reason"].to_pylist(), strict=True)
    )
    assert set(reasons) == set(corrupted)
    for key, code in corrupted.items():
        assert code in reasons[key]
    expected = to_table(name, [r for r in clean if r[tag] not in corrupted]).sort_by(tag)
    assert result.valid.sort_by(tag).to_pylist() == expected.to_pylist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corruptions_are_quarantined_and_clean_rows_untouched(data: st.DataObject) -> None:
    n_products, n_users = 6, 3
    base = clean_rows(n_products=n_products, n_users=n_users, n_events=0)
    catalog, users = base["catalog"], base["users"]
    referenced = data.draw(st.integers(1, n_products - 2), label="products events may use")
    product_kinds = data.draw(
        st.dictionaries(
            st.integers(referenced, n_products - 1), st.sampled_from(sorted(PRODUCT_CORRUPTIONS))
        ),
        label="product corruptions",
    )
    events = data.draw(events_rows(referenced, n_users), label="events")
    event_kinds = data.draw(
        st.dictionaries(st.integers(1, len(events) - 1), st.sampled_from(sorted(EVENT_CORRUPTIONS))),
        label="event corruptions",
    )
    clean_catalog = [dict(r) for r in catalog]
    clean_events = [dict(r) for r in events]
    for index, kind in product_kinds.items():
        corrupt_product(catalog[index], kind)
    for index, kind in event_kinds.items():
        corrupt_event(events[index], kind)

    catalog_text = "price" if "wrong_type" in product_kinds.values() else None
    events_text = "position" if "wrong_type" in event_kinds.values() else None
    refs: dict[str, Reference] = {}
    users_result = check("users", [raw_file("users", users, None)], refs)
    refs["users"] = users_result.reference(t.USERS)
    catalog_result = check("catalog", [raw_file("catalog", catalog, catalog_text)], refs)
    refs["catalog"] = catalog_result.reference(t.CATALOG)
    events_result = check("events", [raw_file("events", events, events_text)], refs)

    assert users_result.quarantine.num_rows == 0
    products_bad = {f"p{i}": PRODUCT_CORRUPTIONS[k] for i, k in product_kinds.items()}
    assert_partition(catalog_result, clean_catalog, "product_id", products_bad, "catalog")
    events_bad = {f"s{i}": EVENT_CORRUPTIONS[k] for i, k in event_kinds.items()}
    assert_partition(events_result, clean_events, "session_id", events_bad, "events")
