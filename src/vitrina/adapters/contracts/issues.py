"""Per-row contract failures, collected from every check before anything is decided.

A check never filters rows itself: it reports *which* rows (positions in the table being
validated), *which* column, a short stable ``code`` (what the report counts, e.g.
``price: must be > 0``) and optionally the offending values (what the quarantine row's
``_reason`` shows, e.g. ``price: must be > 0 (-3.0)``). Keeping every reason of a row lets
the quarantine explain everything wrong with it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

ISSUE_COLUMNS = ("row", "column", "code", "text", "stage")
COERCE_STAGE = 0
SCHEMA_STAGE = 1
INTEGRITY_STAGE = 2
MAX_VALUE_CHARS = 60


def show_value(value: Any) -> str:
    """A short, readable rendering of an offending value for a reason text."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value))
    else:
        text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


class Issues:
    """An append-only collection of (row, column, code, text) failures.

    ``stage`` orders the reasons of a row (coercion first, then single-table checks, then
    cross-table checks) so ``_reason`` reads in the order the checks ran.
    """

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        rows: npt.ArrayLike,
        column: str,
        code: str,
        values: Sequence[Any] | npt.NDArray[Any] | None = None,
        stage: int = COERCE_STAGE,
    ) -> None:
        """Record ``code`` for every row in ``rows``; ``values`` (same length) are shown in the text."""
        positions = np.asarray(rows, dtype=np.int64)
        if positions.size == 0:
            return
        if values is None:
            texts: Iterable[str] = [code] * positions.size
        else:
            prefix = f"{code} ("
            texts = [prefix + show_value(v) + ")" for v in values]
        self._parts.append(
            pd.DataFrame(
                {
                    "row": positions,
                    "column": column,
                    "code": code,
                    "text": list(texts),
                    "stage": stage,
                }
            )
        )

    def extend(self, other: Issues) -> None:
        self._parts.extend(other._parts)

    def keep_rows(self, keep: npt.NDArray[np.int64], n_before: int) -> None:
        """Renumber after rows were removed: ``keep`` are the surviving old positions, in order.

        Issues of removed rows are dropped (used when catalog versions are superseded).
        """
        mapping = np.full(n_before, -1, dtype=np.int64)
        mapping[keep] = np.arange(keep.size, dtype=np.int64)
        parts = []
        for part in self._parts:
            moved = mapping[part["row"].to_numpy()]
            parts.append(part.assign(row=moved)[moved >= 0])
        self._parts = [p for p in parts if not p.empty]

    def frame(self) -> pd.DataFrame:
        """All issues as one frame with columns ``ISSUE_COLUMNS``, one line per (row, code)."""
        if not self._parts:
            return pd.DataFrame(
                {
                    "row": pd.Series(dtype="int64"),
                    "column": pd.Series(dtype="object"),
                    "code": pd.Series(dtype="object"),
                    "text": pd.Series(dtype="object"),
                    "stage": pd.Series(dtype="int64"),
                }
            )
        merged = pd.concat(self._parts, ignore_index=True)
        merged = merged.drop_duplicates(subset=["row", "code"], keep="first")
        # A value that failed coercion (or a missing column) is null in the canonical table,
        # so later checks on that cell would only repeat the first reason as "null".
        first = merged[merged["stage"] == COERCE_STAGE][["row", "column"]].drop_duplicates()
        if first.empty:
            return merged.reset_index(drop=True)
        keyed = merged.merge(first.assign(_coerced=True), on=["row", "column"], how="left")
        repeat = keyed["_coerced"].notna() & (keyed["stage"] != COERCE_STAGE)
        return keyed.loc[~repeat, list(ISSUE_COLUMNS)].reset_index(drop=True)


def summarise(issues: pd.DataFrame, n_rows: int) -> tuple[npt.NDArray[np.bool_], pd.Series, dict[str, int]]:
    """Turn an issues frame into (invalid mask, reason text per invalid row, count per code).

    The reason text of a row joins all its reasons with ``"; "`` in stage order; a row with
    two reasons counts once under each code.
    """
    invalid = np.zeros(n_rows, dtype=bool)
    if issues.empty:
        return invalid, pd.Series(dtype="object"), {}
    invalid[issues["row"].to_numpy()] = True
    ordered = issues.sort_values(["row", "stage"], kind="stable")
    # Join per row without a Python-level groupby (millions of rows may fail at once):
    # take the k-th reason of every row, for k = 0, 1, … (a row rarely has more than a few).
    rank = ordered.groupby("row", sort=False).cumcount().to_numpy()
    texts = ordered["text"].to_numpy(dtype=object)
    rows = ordered["row"].to_numpy()
    reasons = pd.Series(texts[rank == 0], index=rows[rank == 0], dtype=object).sort_index()
    for k in range(1, int(rank.max()) + 1):
        more = pd.Series(texts[rank == k], index=rows[rank == k], dtype=object)
        reasons.loc[more.index] = reasons.loc[more.index] + "; " + more
    counts = issues["code"].value_counts()
    return invalid, reasons, {str(k): int(v) for k, v in counts.items()}
