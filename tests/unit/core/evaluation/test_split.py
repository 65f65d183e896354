"""Temporal split: boundaries, conventions, errors and the partition property."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitrina.core.evaluation.split import TEST, TRAIN, VALID, SplitError, TemporalSplit
from vitrina.core.tables import TS

pytestmark = pytest.mark.unit

UTC = dt.UTC
DAY = dt.timedelta(days=1)
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


def _hourly(days: int, start: dt.datetime = START) -> pa.Table:
    """One row per hour over ``days`` days, ``i`` = row number."""
    n = days * 24
    return pa.table(
        {"i": list(range(n)), "ts": [start + dt.timedelta(hours=h) for h in range(n)]},
        schema=pa.schema([("i", pa.int64()), ("ts", TS)]),
    )


def test_trailing_defaults_give_whole_last_weeks_of_twelve() -> None:
    table = _hourly(84)  # 12 weeks, last row at 23:00 of day 84
    split = TemporalSplit.trailing(table)
    end = START + 84 * DAY
    assert split.end == end
    assert split.valid_end == end - 7 * DAY
    assert split.train_end == end - 14 * DAY
    parts = split.apply(table)
    assert [part.num_rows for part in parts] == [70 * 24, 7 * 24, 7 * 24]


def test_boundary_convention_is_half_open() -> None:
    train_end, valid_end = START + DAY, START + 2 * DAY
    table = pa.table(
        {
            "ts": [
                train_end - dt.timedelta(microseconds=1),
                train_end,
                valid_end - dt.timedelta(microseconds=1),
                valid_end,
                valid_end + 10 * DAY,
            ]
        },
        schema=pa.schema([("ts", TS)]),
    )
    split = TemporalSplit(train_end, valid_end)
    assert split.labels(table).tolist() == [TRAIN, VALID, VALID, TEST, TEST]


def test_trailing_without_alignment_anchors_at_the_last_timestamp() -> None:
    table = _hourly(30)
    last = START + dt.timedelta(hours=30 * 24 - 1)
    split = TemporalSplit.trailing(table, test=DAY, valid=DAY, align=None)
    assert split.end == last + dt.timedelta(microseconds=1)
    assert split.valid_end == split.end - DAY
    assert [part.num_rows for part in split.apply(table)] == [28 * 24, 24, 24]


def test_fractions_share_the_time_range_not_the_rows() -> None:
    # 90 rows on day 0, then 1 row per day for 9 days: time shares differ from row shares
    times = [START + dt.timedelta(minutes=m) for m in range(90)] + [START + d * DAY for d in range(1, 10)]
    table = pa.table({"ts": times}, schema=pa.schema([("ts", TS)]))
    split = TemporalSplit.fractions(table, valid=0.2, test=0.2, align=DAY)
    assert split.train_end == START + 5 * DAY  # 60 % of ~9 days, floored to midnight
    assert split.valid_end == START + 7 * DAY
    assert [part.num_rows for part in split.apply(table)] == [94, 2, 3]


def test_explicit_boundaries_are_checked_against_the_data() -> None:
    table = _hourly(10)
    split = TemporalSplit.at(table, START + 6 * DAY, START + 8 * DAY)
    assert split.end == START + 10 * DAY - dt.timedelta(hours=1) + dt.timedelta(microseconds=1)
    with pytest.raises(SplitError, match="test"):
        TemporalSplit.at(table, START + 6 * DAY, START + 11 * DAY)  # after the data end
    with pytest.raises(SplitError, match="train"):
        TemporalSplit.at(table, START - DAY, START + 2 * DAY)


@pytest.mark.parametrize(
    ("train_end", "valid_end", "end"),
    [
        (START + 2 * DAY, START + DAY, None),
        (START + DAY, START + DAY, None),
        (START + DAY, START + 3 * DAY, START + 2 * DAY),
    ],
)
def test_boundaries_out_of_order_are_refused(
    train_end: dt.datetime, valid_end: dt.datetime, end: dt.datetime | None
) -> None:
    with pytest.raises(SplitError, match="out of order"):
        TemporalSplit(train_end, valid_end, end)


def test_naive_boundaries_are_refused_and_other_zones_normalised() -> None:
    with pytest.raises(SplitError, match="timezone-aware"):
        TemporalSplit(dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3))
    lima = dt.timezone(dt.timedelta(hours=-5))
    split = TemporalSplit(dt.datetime(2024, 1, 1, 19, tzinfo=lima), dt.datetime(2024, 1, 2, 19, tzinfo=lima))
    assert split.train_end == START + DAY
    assert split.train_end.tzinfo is UTC


def test_empty_parts_and_bad_inputs_give_clear_errors() -> None:
    table = _hourly(3)
    with pytest.raises(SplitError, match="valid and test part"):
        TemporalSplit(START + 10 * DAY, START + 11 * DAY).apply(table)
    parts = TemporalSplit(START + 10 * DAY, START + 11 * DAY).apply(table, allow_empty=True)
    assert [part.num_rows for part in parts] == [72, 0, 0]
    with pytest.raises(SplitError, match="empty frame"):
        TemporalSplit.trailing(table.slice(0, 0))
    with pytest.raises(SplitError, match="train"):
        TemporalSplit.trailing(table)  # 3 days cannot hold 7 + 7 trailing days
    with pytest.raises(SplitError, match="no column 'when'"):
        TemporalSplit.trailing(table, column="when")
    with pytest.raises(SplitError, match="must hold timestamps"):
        TemporalSplit.trailing(table, column="i")
    with_null = pa.table({"ts": [START, None]}, schema=pa.schema([("ts", TS)]))
    with pytest.raises(SplitError, match="1 rows without a timestamp"):
        TemporalSplit(START + DAY, START + 2 * DAY).labels(with_null)
    with pytest.raises(SplitError, match="positive"):
        TemporalSplit.trailing(table, test=dt.timedelta(0))
    with pytest.raises(SplitError, match="sum below 1"):
        TemporalSplit.fractions(table, valid=0.5, test=0.5)


def test_pandas_and_polars_frames_split_like_arrow() -> None:
    table = _hourly(21)
    split = TemporalSplit.trailing(table)
    expected = [part["i"].to_pylist() for part in split.apply(table)]
    frame = table.to_pandas()
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert [part["i"].tolist() for part in split.apply(frame)] == expected
    assert [part["i"].to_list() for part in split.apply(pl.from_arrow(table))] == expected  # type: ignore[arg-type]
    # nanosecond pandas timestamps and zone-less (UTC by convention) timestamps agree too
    nanos = frame.assign(ts=frame["ts"].astype("datetime64[ns, UTC]"))
    assert [part["i"].tolist() for part in split.apply(nanos)] == expected
    naive = frame.assign(ts=frame["ts"].dt.tz_localize(None))
    assert [part["i"].tolist() for part in split.apply(naive)] == expected
    other_zone = frame.assign(ts=frame["ts"].dt.tz_convert("America/Bogota"))
    assert [part["i"].tolist() for part in split.apply(other_zone)] == expected


def test_mask_matches_apply_and_round_trip_through_dict() -> None:
    table = _hourly(21)
    split = TemporalSplit.trailing(table)
    assert split.mask(table, "valid").sum() == split.apply(table).valid.num_rows
    with pytest.raises(SplitError, match="part must be"):
        split.mask(table, "holdout")
    assert TemporalSplit.from_dict(split.as_dict()) == split


_instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    times=st.lists(_instants, min_size=1, max_size=60),
    cut_a=_instants,
    cut_b=_instants,
)
def test_parts_partition_the_input_in_time_order(
    times: list[dt.datetime], cut_a: dt.datetime, cut_b: dt.datetime
) -> None:
    if cut_a == cut_b:
        cut_b += dt.timedelta(microseconds=1)
    train_end, valid_end = sorted((cut_a, cut_b))
    table = pa.table(
        {"row": np.arange(len(times)), "ts": times}, schema=pa.schema([("row", pa.int64()), ("ts", TS)])
    )
    parts = TemporalSplit(train_end, valid_end).apply(table, allow_empty=True)
    rows = [part["row"].to_pylist() for part in parts]
    assert sorted(rows[0] + rows[1] + rows[2]) == list(range(len(times)))  # a partition
    train, valid, test = ([times[i] for i in part] for part in rows)
    assert all(a < b for a in train for b in valid)
    assert all(a < b for a in valid for b in test)
    assert all(t < train_end for t in train)
    assert all(train_end <= t < valid_end for t in valid)
    assert all(t >= valid_end for t in test)


@settings(max_examples=100, deadline=None)
@given(
    times=st.lists(_instants, min_size=3, max_size=60, unique=True),
    valid=st.floats(0.05, 0.45),
    test=st.floats(0.05, 0.45),
)
def test_fraction_splits_that_succeed_have_three_nonempty_ordered_parts(
    times: list[dt.datetime], valid: float, test: float
) -> None:
    frame = pd.DataFrame({"ts": pd.to_datetime(times, utc=True)})
    try:
        split = TemporalSplit.fractions(frame, valid=valid, test=test)
    except SplitError as error:
        if "empty" not in str(error):  # the only acceptable refusal: a part without rows
            raise
        return
    parts = split.apply(frame)
    assert all(len(part) > 0 for part in parts)
    assert sum(len(part) for part in parts) == len(frame)
    assert parts.train["ts"].max() < parts.valid["ts"].min()
    assert parts.valid["ts"].max() < parts.test["ts"].min()
