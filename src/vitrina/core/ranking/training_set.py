"""Learning-to-rank training sets: candidate lists + what happened next → a :class:`RankingFrame`.

A ranking *query* is one user at one cutoff time. Any candidate generator (popularity,
Item2Vec, two-tower + FAISS, …) hands over, for ``n`` users, a candidate matrix
``items: int64 (n, m)`` padded with ``PAD`` and its retrieval scores ``(n, m)``. This module
flattens the non-padding cells into rows, labels each row with the best thing the user did
to that item in the horizon after the cutoff, and joins feature columns supplied by the
feature store as three plain inputs:

* ``user_features``: DataFrame indexed by user index (one row per user, as of the cutoff);
* ``item_features``: DataFrame indexed by item index (as of the cutoff);
* ``cross(users, items) -> DataFrame``: optional, one row per (user, item) pair, in order.

The same flattening and join serve inference (:func:`join_features` on
:class:`CandidateRows`, then :meth:`CandidateRows.unflatten` of the ranker's scores), so
training and serving can never disagree on column order or meaning.

Everything here is pure: no I/O, no clock, no model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_GAIN, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD

RETRIEVAL_SCORE = "retrieval_score"
"""Name of the feature column holding the candidate generator's score."""

CrossFeatures = Callable[[IntArray, IntArray], pd.DataFrame]
"""``cross(users, items)``: one row of (user, item) features per pair, in the given order."""

_LABELS = EVENT_GAIN.astype(np.int64)  # view 0, click 1, cart 1, purchase 2


@dataclass(frozen=True)
class CandidateRows:
    """The non-padding cells of a candidate matrix, flattened row-major (query by query).

    ``query[r]`` is the row of the candidate matrix (the query) and ``slot[r]`` its column;
    ``shape`` is the matrix shape, so model scores can be put back with :meth:`unflatten`.
    """

    users: IntArray
    items: IntArray
    query: IntArray
    slot: IntArray
    retrieval_score: FloatArray
    shape: tuple[int, int]

    @classmethod
    def from_matrix(
        cls, users: npt.ArrayLike, candidates: npt.ArrayLike, scores: npt.ArrayLike | None = None
    ) -> CandidateRows:
        """Flatten ``candidates: (n, m)`` (``PAD`` = empty slot) for ``users: (n,)``.

        ``scores`` (n, m) are the retrieval scores (``None``: all zero). A user may appear in
        several rows (e.g. the same user at two cutoffs built separately); an item repeated
        within one row is an error, since a query must judge each item once.
        """
        user = np.asarray(users, dtype=np.int64)
        items = np.asarray(candidates)
        if items.ndim != 2 or not np.issubdtype(items.dtype, np.integer):
            raise ValueError(
                f"candidates must be an integer matrix (n_users, m), got {items.dtype} {items.shape}"
            )
        items = items.astype(np.int64, copy=False)
        if user.shape != (items.shape[0],):
            raise ValueError(f"users {user.shape} must have one entry per candidate row {items.shape[0]}")
        score = np.zeros(items.shape) if scores is None else np.asarray(scores, dtype=np.float64)
        if score.shape != items.shape:
            raise ValueError(f"scores {score.shape} must match candidates {items.shape}")
        if items.size and items.min() < PAD:
            raise ValueError(f"candidates hold negative item ids other than PAD={PAD}")
        if user.size and user.min() < 0:
            raise ValueError("users must be non-negative indices")
        ordered = np.sort(items, axis=1)
        if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)):
            raise ValueError("an item appears twice in one candidate row; deduplicate candidates first")
        query, slot = np.nonzero(items != PAD)  # row-major: queries stay contiguous and in order
        return cls(
            users=user[query],
            items=items[query, slot],
            query=query.astype(np.int64),
            slot=slot.astype(np.int64),
            retrieval_score=score[query, slot],
            shape=(int(items.shape[0]), int(items.shape[1])),
        )

    def __len__(self) -> int:
        return int(self.items.size)

    def take(self, mask: npt.NDArray[np.bool_]) -> CandidateRows:
        """The rows where ``mask`` holds (order kept, ``shape`` unchanged)."""
        return CandidateRows(
            self.users[mask],
            self.items[mask],
            self.query[mask],
            self.slot[mask],
            self.retrieval_score[mask],
            self.shape,
        )

    def unflatten(self, values: npt.ArrayLike, fill: float = -np.inf) -> FloatArray:
        """Put one value per row back into an ``(n, m)`` matrix; empty slots get ``fill``."""
        flat = np.asarray(values, dtype=np.float64)
        if flat.shape != (len(self),):
            raise ValueError(f"values {flat.shape} must have one entry per row ({len(self)})")
        out = np.full(self.shape, fill, dtype=np.float64)
        out[self.query, self.slot] = flat
        return out


@dataclass(frozen=True)
class RankingFrame:
    """Rows of (query, candidate) with features, graded labels and query ids, for LambdaRank.

    Attributes:
        features: one row per candidate, numeric, boolean or pandas ``category`` columns.
        labels: ``int64`` graded gains (purchase 2, click or cart 1, shown or sampled 0).
        groups: ``int64`` query id of each row; a query's rows are contiguous (LightGBM reads
            queries as consecutive runs), ids need not be consecutive numbers.
        users, items: ``int64`` user and item index of each row, to map scores back and to
            evaluate rankings by item.
        weights: optional ``float64`` training weight of each row (``None``: all 1), e.g.
            inverse-propensity weights of :mod:`vitrina.core.recs.exposure` or
            :mod:`vitrina.core.search.propensity`.
    """

    features: pd.DataFrame
    labels: IntArray
    groups: IntArray
    users: IntArray
    items: IntArray
    weights: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.features)
        for name in ("labels", "groups", "users", "items"):
            value = np.asarray(getattr(self, name), dtype=np.int64)
            if value.shape != (n,):
                raise ValueError(f"{name} {value.shape} must have one entry per feature row ({n})")
            object.__setattr__(self, name, value)
        if n and self.labels.min() < 0:
            raise ValueError("labels must be non-negative graded gains")
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=np.float64)
            if weights.shape != (n,):
                raise ValueError(f"weights {weights.shape} must have one entry per feature row ({n})")
            if not np.all(np.isfinite(weights)) or (n and weights.min() < 0):
                raise ValueError("weights must be finite and non-negative")
            object.__setattr__(self, "weights", weights)
        if np.unique(self.groups).size != self.group_sizes.size:
            raise ValueError("the rows of each group (query) must be contiguous")
        if not isinstance(self.features.index, pd.RangeIndex) or self.features.index.start != 0:
            object.__setattr__(self, "features", self.features.reset_index(drop=True))

    def __len__(self) -> int:
        return int(self.labels.size)

    @property
    def group_sizes(self) -> IntArray:
        """Number of rows of each query, in row order (LightGBM's ``group``)."""
        if self.groups.size == 0:
            return np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, self.groups[1:] != self.groups[:-1]])
        return np.diff(np.append(starts, self.groups.size)).astype(np.int64)

    @property
    def n_groups(self) -> int:
        return int(self.group_sizes.size)

    @property
    def row_weights(self) -> FloatArray:
        """``weights``, or ones when the frame is unweighted."""
        return np.ones(len(self)) if self.weights is None else self.weights

    def take(self, mask: npt.NDArray[np.bool_]) -> RankingFrame:
        """The rows where ``mask`` is true (whole queries, so that groups stay contiguous)."""
        return RankingFrame(
            self.features[mask].reset_index(drop=True),
            self.labels[mask],
            self.groups[mask],
            self.users[mask],
            self.items[mask],
            None if self.weights is None else self.weights[mask],
        )

    def with_weights(self, weights: npt.ArrayLike | None) -> RankingFrame:
        """The same frame with other row weights (``None`` removes them)."""
        return replace(self, weights=None if weights is None else np.asarray(weights, dtype=np.float64))


def horizon_labels(rows: CandidateRows, events: Interactions, start_us: int, end_us: int) -> IntArray:
    """Label of each row: the highest ``EVENT_GAIN`` among the user's events on that item
    with ``start_us <= ts < end_us`` (0 when the user did nothing with it, or only saw it)."""
    if end_us <= start_us:
        raise ValueError(f"empty horizon: end {end_us} <= start {start_us}")
    window = events.between(start_us, end_us)
    gain = _LABELS[window.event]
    positive = gain > 0
    if not positive.any() or len(rows) == 0:
        return np.zeros(len(rows), dtype=np.int64)
    user, item, gain = window.user[positive], window.item[positive], gain[positive]
    width = int(max(item.max(), rows.items.max())) + 1
    key = user * width + item
    order = np.argsort(key, kind="stable")
    key, gain = key[order], gain[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    unique_key, best = key[starts], np.maximum.reduceat(gain, starts)
    wanted = rows.users * width + rows.items
    pos = np.minimum(np.searchsorted(unique_key, wanted), unique_key.size - 1)
    return np.where(unique_key[pos] == wanted, best[pos], 0).astype(np.int64)


def join_features(
    rows: CandidateRows,
    user_features: pd.DataFrame,
    item_features: pd.DataFrame,
    cross: CrossFeatures | None = None,
) -> pd.DataFrame:
    """Feature matrix of ``rows``: the retrieval score, then user, item and cross columns.

    Users or items missing from their frame get missing values (LightGBM treats NaN as
    "unknown" and learns where to send it), which is the honest state of a brand-new user.
    Column names must be unique across the three sources: silently renaming a clash would
    let training and serving disagree about which "price" a model saw.
    """
    parts = [pd.DataFrame({RETRIEVAL_SCORE: rows.retrieval_score})]
    for label, frame, keys in (("user", user_features, rows.users), ("item", item_features, rows.items)):
        if not frame.index.is_unique:
            raise ValueError(f"{label}_features must have a unique index ({label} indices)")
        parts.append(_rows_of(frame, keys))
    if cross is not None:
        extra = cross(rows.users, rows.items)
        if len(extra) != len(rows):
            raise ValueError(f"cross features returned {len(extra)} rows for {len(rows)} pairs")
        parts.append(extra.reset_index(drop=True))
    names = [name for part in parts for name in part.columns]
    clashes = sorted({str(name) for name in names if names.count(name) > 1})
    if clashes:
        raise ValueError(f"feature columns defined by more than one source: {clashes}")
    return pd.concat(parts, axis=1)


def _rows_of(frame: pd.DataFrame, keys: IntArray) -> pd.DataFrame:
    """Rows of ``frame`` at index ``keys``, missing keys as NaN, dtypes LightGBM accepts."""
    out = frame.reindex(keys).reset_index(drop=True)
    for name in frame.columns:
        if pd.api.types.is_bool_dtype(frame[name]) and not pd.api.types.is_bool_dtype(out[name]):
            # a missing key turned the column to object
            out[name] = out[name].astype("float64")
    return out


def build_ranking_frame(
    users: npt.ArrayLike,
    candidates: npt.ArrayLike,
    retrieval_scores: npt.ArrayLike | None,
    events: Interactions,
    cutoff_us: int,
    horizon_us: int,
    *,
    user_features: pd.DataFrame,
    item_features: pd.DataFrame,
    cross: CrossFeatures | None = None,
    drop_uninformative: bool = True,
) -> RankingFrame:
    """Training (or validation) frame for candidates generated as of ``cutoff_us``.

    Labels come from ``events`` in ``[cutoff_us, cutoff_us + horizon_us)``; features must be
    computed from data before ``cutoff_us`` (the caller's promise: this function never looks
    at feature timestamps). Group id = row of the candidate matrix. With
    ``drop_uninformative`` (the default, right for training and for early stopping), queries
    without any positive candidate are dropped: every ordering of them is equally good, so
    they carry no gradient and would only inflate NDCG (LightGBM scores them 1.0).
    """
    rows = CandidateRows.from_matrix(users, candidates, retrieval_scores)
    labels = horizon_labels(rows, events, cutoff_us, cutoff_us + horizon_us)
    if drop_uninformative:
        informative = np.zeros(rows.shape[0], dtype=bool)
        informative[rows.query[labels > 0]] = True
        keep = informative[rows.query]
        rows, labels = rows.take(keep), labels[keep]
    features = join_features(rows, user_features, item_features, cross)
    return RankingFrame(features, labels, rows.query, rows.users, rows.items)


def concat_frames(frames: Sequence[RankingFrame]) -> RankingFrame:
    """Stack frames (e.g. several cutoffs) into one; group ids are renumbered so that a
    user at two cutoffs stays two queries. All frames must have the same columns."""
    if not frames:
        raise ValueError("no frames to concatenate")
    columns = list(frames[0].features.columns)
    for frame in frames[1:]:
        if list(frame.features.columns) != columns:
            raise ValueError("frames have different feature columns; build them with the same inputs")
    groups, offset = [], 0
    for frame in frames:
        # Dense renumbering: run index within the frame, shifted past earlier frames.
        run = (
            np.cumsum(np.r_[True, frame.groups[1:] != frame.groups[:-1]]) - 1 if len(frame) else frame.groups
        )
        groups.append(run + offset)
        offset += frame.n_groups
    weighted = any(f.weights is not None for f in frames)
    return RankingFrame(
        features=_concat_features([f.features for f in frames]),
        labels=np.concatenate([f.labels for f in frames]),
        groups=np.concatenate(groups).astype(np.int64),
        users=np.concatenate([f.users for f in frames]),
        items=np.concatenate([f.items for f in frames]),
        weights=np.concatenate([f.row_weights for f in frames]) if weighted else None,
    )


def _concat_features(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise concat that keeps categorical columns categorical (pandas turns categoricals
    with different category sets into ``object``, which a model cannot read)."""
    parts = [part.copy() for part in parts]
    for name in parts[0].columns:
        if isinstance(parts[0][name].dtype, pd.CategoricalDtype):
            categories = pd.Index(
                pd.unique(np.concatenate([np.asarray(p[name].cat.categories, dtype=object) for p in parts]))
            )
            for part in parts:
                part[name] = part[name].cat.set_categories(categories)
    return pd.concat(parts, ignore_index=True)
