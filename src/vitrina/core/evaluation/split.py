"""Temporal train / validation / test split (docs/spec.md §3.8: by time, never random).

Boundary convention (half-open intervals, all instants in UTC)::

    train:  ts <  train_end
    valid:  train_end <= ts < valid_end
    test:   valid_end <= ts

``end`` is the exclusive upper bound of the data the split was computed from (informational,
and the anchor for trailing windows); rows later than it still belong to ``test``, so a
split computed on events can be applied to transactions or search logs unchanged.

A split is built in one of three ways:

* :meth:`TemporalSplit.at` — explicit boundaries;
* :meth:`TemporalSplit.trailing` — the last ``test`` duration is test, the ``valid`` before
  it validation (defaults: 7 and 7 days, the usual choice for 12 weeks of logs), boundaries
  aligned to UTC midnight so each part is made of whole ``dt=`` partitions;
* :meth:`TemporalSplit.fractions` — shares of the time range (not of the rows).

and applied with :meth:`TemporalSplit.apply` (pyarrow Table, pandas or polars DataFrame) or
:meth:`TemporalSplit.labels` (one part code per row, for frameworks that want a column).
Timestamps may be of any unit and time zone; a timestamp without a zone is read as UTC (the
lake's convention). Rows without a timestamp belong to no part and are an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

TRAIN, VALID, TEST = 0, 1, 2
PART_NAMES = ("train", "valid", "test")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

Frame = TypeVar("Frame")


class SplitError(ValueError):
    """A split that cannot be made or used: boundaries out of order, an empty part, bad data."""


class Parts(NamedTuple, Generic[Frame]):
    """The three parts of a frame, each of the input's own type."""

    train: Frame
    valid: Frame
    test: Frame


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise SplitError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    utc = value.astimezone(dt.UTC)
    # a plain datetime (not a pandas Timestamp): boundaries are exact to the microsecond
    return dt.datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=dt.UTC)


def _floor(value: dt.datetime, step: dt.timedelta | None) -> dt.datetime:
    if step is None:
        return value
    return _EPOCH + ((value - _EPOCH) // step) * step


def _column(data: Any, column: str) -> pa.ChunkedArray | pa.Array:
    """``data[column]`` as Arrow, for a pyarrow Table, a pandas or a polars DataFrame."""
    if isinstance(data, pa.Table):
        if column not in data.column_names:
            raise SplitError(f"no column {column!r} in the table (columns: {data.column_names})")
        return data[column]
    if column not in data.columns:
        raise SplitError(f"no column {column!r} in the frame (columns: {list(data.columns)})")
    series = data[column]
    if hasattr(series, "to_arrow"):  # polars
        return series.to_arrow()
    return pa.Array.from_pandas(series)


def _timestamps(data: Any, column: str) -> pa.ChunkedArray | pa.Array:
    """The timestamp column in a comparable type: UTC, microseconds (nanoseconds kept as is)."""
    values = _column(data, column)
    kind = values.type
    if pa.types.is_date(kind):
        values = pc.cast(values, pa.timestamp("us"))
        kind = values.type
    if not pa.types.is_timestamp(kind):
        raise SplitError(f"column {column!r} must hold timestamps, not {kind}")
    if values.null_count:
        raise SplitError(f"column {column!r} has {values.null_count} rows without a timestamp")
    # casting keeps the instant; a zone-less timestamp is taken as UTC by the cast itself
    unit = "ns" if kind.unit == "ns" else "us"
    return pc.cast(values, pa.timestamp(unit, tz="UTC"))


def _range(data: Any, column: str) -> tuple[dt.datetime, dt.datetime]:
    """The first timestamp and the exclusive end (last + 1 µs) of ``data[column]``."""
    values = _timestamps(data, column)
    if len(values) == 0:
        raise SplitError(f"cannot split an empty frame: column {column!r} has no rows")
    bounds = pc.min_max(pc.cast(values, pa.timestamp("us", tz="UTC"), safe=False))
    first, last = bounds["min"].as_py(), bounds["max"].as_py()
    return first, last + _MICROSECOND


@dataclass(frozen=True)
class TemporalSplit:
    """Boundaries of a temporal split, UTC, microsecond precision (see the module docstring).

    Invariant: ``train_end < valid_end <= end``; ``end`` may be None for a split given only
    by its boundaries.
    """

    train_end: dt.datetime
    valid_end: dt.datetime
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        train_end = _utc(self.train_end, "train_end")
        valid_end = _utc(self.valid_end, "valid_end")
        end = None if self.end is None else _utc(self.end, "end")
        if not train_end < valid_end:
            raise SplitError(
                f"boundaries out of order: train_end {train_end.isoformat()} must be before "
                f"valid_end {valid_end.isoformat()}"
            )
        if end is not None and not valid_end <= end:
            raise SplitError(
                f"boundaries out of order: valid_end {valid_end.isoformat()} is after the data end "
                f"{end.isoformat()}, so the test part would be empty"
            )
        object.__setattr__(self, "train_end", train_end)
        object.__setattr__(self, "valid_end", valid_end)
        object.__setattr__(self, "end", end)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def at(
        cls, data: Any, train_end: dt.datetime, valid_end: dt.datetime, *, column: str = "ts"
    ) -> TemporalSplit:
        """Explicit boundaries, checked against ``data`` so that no part is empty."""
        _, end = _range(data, column)
        split = cls(train_end, valid_end, end)
        split.apply(data, column=column)  # raises on an empty part
        return split

    @classmethod
    def trailing(
        cls,
        data: Any,
        *,
        column: str = "ts",
        test: dt.timedelta = dt.timedelta(days=7),
        valid: dt.timedelta = dt.timedelta(days=7),
        align: dt.timedelta | None = dt.timedelta(days=1),
    ) -> TemporalSplit:
        """The last ``test`` of the data is test, the ``valid`` before it validation.

        With ``align`` (default one day) the data end is rounded up to the next multiple of
        ``align`` since the epoch (UTC midnight for days), so 12 weeks of logs ending at
        23:59 give a test part of exactly the last 7 calendar days. ``align=None`` anchors
        the windows at the last timestamp itself.
        """
        if test <= dt.timedelta(0) or valid <= dt.timedelta(0):
            raise SplitError(f"test and valid durations must be positive, got {test} and {valid}")
        _, end = _range(data, column)
        if align is not None:
            end = _floor(end - _MICROSECOND, align) + align
        split = cls(end - test - valid, end - test, end)
        split.apply(data, column=column)
        return split

    @classmethod
    def fractions(
        cls,
        data: Any,
        *,
        column: str = "ts",
        valid: float = 0.15,
        test: float = 0.15,
        align: dt.timedelta | None = None,
    ) -> TemporalSplit:
        """Split the *time range* ``[first, end)``: the last ``test`` share is test, and so on.

        Shares of time, not of rows: traffic varies by day, so row shares would move the
        boundaries with the traffic. ``align`` floors both boundaries to that step.
        """
        if not (0 < valid < 1 and 0 < test < 1 and valid + test < 1):
            raise SplitError(f"valid and test must be in (0, 1) with a sum below 1, got {valid}, {test}")
        first, end = _range(data, column)
        span = end - first
        train_end = _floor(first + span * (1 - valid - test), align)
        valid_end = _floor(first + span * (1 - test), align)
        split = cls(train_end, valid_end, end)
        split.apply(data, column=column)
        return split

    # -- application -------------------------------------------------------------------

    def labels(self, data: Any, *, column: str = "ts") -> npt.NDArray[np.int8]:
        """Part of every row: :data:`TRAIN` (0), :data:`VALID` (1) or :data:`TEST` (2)."""
        values = _timestamps(data, column)
        kind = values.type
        train_end = pa.scalar(self.train_end, pa.timestamp("us", tz="UTC")).cast(kind)
        valid_end = pa.scalar(self.valid_end, pa.timestamp("us", tz="UTC")).cast(kind)
        after_train = pc.greater_equal(values, train_end)
        after_valid = pc.greater_equal(values, valid_end)
        codes = np.asarray(after_train, dtype=np.int8) + np.asarray(after_valid, dtype=np.int8)
        return codes

    def mask(self, data: Any, part: str, *, column: str = "ts") -> npt.NDArray[np.bool_]:
        """Boolean row mask of one part (``"train"``, ``"valid"`` or ``"test"``)."""
        if part not in PART_NAMES:
            raise SplitError(f"part must be one of {PART_NAMES}, got {part!r}")
        return np.equal(self.labels(data, column=column), PART_NAMES.index(part))

    def apply(self, data: Frame, *, column: str = "ts", allow_empty: bool = False) -> Parts[Frame]:
        """Cut ``data`` (pyarrow Table, pandas or polars DataFrame) into its three parts.

        Row order inside each part is the input's. Raises :class:`SplitError` when a part is
        empty, unless ``allow_empty`` (e.g. applying a split to a small side table).
        """
        codes = self.labels(data, column=column)
        masks = [codes == code for code in (TRAIN, VALID, TEST)]
        if not allow_empty:
            empty = [name for name, mask in zip(PART_NAMES, masks, strict=True) if not mask.any()]
            if empty:
                raise SplitError(f"the {' and '.join(empty)} part(s) would be empty under {self}")
        train, valid, test = (_take(data, mask) for mask in masks)
        return Parts(train, valid, test)

    # -- records -----------------------------------------------------------------------

    def as_dict(self) -> dict[str, str | None]:
        """ISO-8601 boundaries, for run parameters and reports."""
        return {
            "train_end": self.train_end.isoformat(),
            "valid_end": self.valid_end.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
        }

    @classmethod
    def from_dict(cls, record: dict[str, str | None]) -> TemporalSplit:
        """Inverse of :meth:`as_dict`."""
        end = record.get("end")
        return cls(
            dt.datetime.fromisoformat(str(record["train_end"])),
            dt.datetime.fromisoformat(str(record["valid_end"])),
            None if end is None else dt.datetime.fromisoformat(end),
        )

    def __str__(self) -> str:
        end = "…" if self.end is None else self.end.isoformat()
        return (
            f"TemporalSplit(train < {self.train_end.isoformat()} <= valid < "
            f"{self.valid_end.isoformat()} <= test; data end {end})"
        )


def _take(data: Frame, mask: npt.NDArray[np.bool_]) -> Frame:
    """Rows of ``data`` where ``mask`` holds, keeping the frame's type."""
    frame: Any = data
    if isinstance(frame, pa.Table):
        return frame.filter(pa.array(mask))  # type: ignore[no-any-return]
    if hasattr(frame, "iloc"):  # pandas
        return frame.loc[mask]  # type: ignore[no-any-return]
    return frame.filter(mask)  # type: ignore[no-any-return]  # polars
