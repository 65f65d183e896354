"""Column coercion: lossless casts pass, everything else is parsed or reported with its text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from vitrina.adapters.contracts.coerce import RawFile, coerce_column, coerce_file
from vitrina.adapters.contracts.issues import Issues, summarise
from vitrina.core.tables import EVENTS, ID_LIST, TS

pytestmark = pytest.mark.unit
UTC = dt.UTC


@pytest.mark.parametrize(
    ("values", "target", "expected", "failed"),
    [
        (pa.array([1, 2, None]), pa.string(), ["1", "2", None], [None, None, None]),
        (
            pa.array(["1.5", "abc", None, "2"]),
            pa.float64(),
            [1.5, None, None, 2.0],
            [None, "abc", None, None],
        ),
        (pa.array(["3", "3.0", "3.5", "x"]), pa.int64(), [3, 3, None, None], [None, None, "3.5", "x"]),
        (pa.array([1, 2**40]), pa.int32(), [1, None], [None, str(2**40)]),
        (pa.array([2.0, 7.0]), pa.int64(), [2, 7], [None, None]),
        (pa.array(["true", "0", "maybe"]), pa.bool_(), [True, False, None], [None, None, "maybe"]),
        (pa.array(["inf", "nan"]), pa.float64(), [None, None], ["inf", "nan"]),
        (pa.array([["a"], None]), pa.string(), [None, None], ['["a"]', None]),
        (
            pa.array(['["p1", "p2"]', "a|b", "[oops"]),
            ID_LIST,
            [["p1", "p2"], ["a", "b"], None],
            [None, None, "[oops"],
        ),
        (pa.array([[1, 2], []]), ID_LIST, [["1", "2"], []], [None, None]),
        (pa.array(["2024-03-01"]), pa.date32(), [dt.date(2024, 3, 1)], [None]),
    ],
)
def test_coerce_column(values: pa.Array, target: pa.DataType, expected: list[Any], failed: list[Any]) -> None:
    coerced, failed_text = coerce_column(values, target)
    assert coerced.type == target
    assert coerced.to_pylist() == expected
    assert failed_text.to_pylist() == failed


def test_timestamps_from_text_and_other_units_become_utc_microseconds() -> None:
    text = pa.array(
        ["2024-03-01T10:00:00Z", "2024-03-01 05:00:00-05:00", "2024-03-01T10:00:00", "mañana", "2024-03-01"]
    )
    coerced, failed = coerce_column(text, TS)
    expected = dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    midnight = dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert coerced.to_pylist() == [expected, expected, expected, None, midnight]
    assert failed.to_pylist() == [None, None, None, "mañana", None]
    nanos = pa.array([expected.replace(tzinfo=None)], pa.timestamp("ns"))
    assert coerce_column(nanos, TS)[0].to_pylist() == [expected]
    lima = pa.array([expected], pa.timestamp("ms", tz="America/Lima"))
    assert coerce_column(lima, TS)[0].to_pylist() == [expected]


def test_integers_are_not_read_as_timestamps() -> None:
    coerced, failed = coerce_column(pa.array([1_700_000_000]), TS)
    assert coerced.to_pylist() == [None]
    assert failed.to_pylist() == ["1700000000"]


def test_coerce_file_reports_missing_columns_and_bad_values_at_their_offset() -> None:
    table = pa.table({"event_id": [1, 2], "position": ["1", "primero"], "ts": ["2024-01-01", "2024-01-02"]})
    issues = Issues()
    canonical = coerce_file(RawFile(path="raw/events/x.parquet", table=table), EVENTS, issues, offset=10)
    assert canonical.schema == EVENTS.schema
    assert canonical["event_id"].to_pylist() == ["1", "2"]
    assert canonical["position"].to_pylist() == [1, None]
    frame = issues.frame()
    invalid, reasons, counts = summarise(frame[frame["row"] >= 10].assign(row=lambda f: f["row"] - 10), 2)
    assert invalid.tolist() == [True, True]
    assert counts["position: not a 32-bit integer"] == 1
    assert counts["user_id: missing column"] == 2
    assert "position: not a 32-bit integer ('primero')" in reasons[1]
    assert np.array_equal(np.sort(frame["row"].unique()), [10, 11])
