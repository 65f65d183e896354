"""Ranked lists and their ground truth, joined into an aligned gain matrix.

Conventions shared by every metric in :mod:`vitrina.core.metrics`:

* A **ranked matrix** ``ranked: int64 (n_queries, k_max)`` holds, per query (a user to
  recommend for, or a search), item ids best first. Short lists are padded with ``-1``
  (:data:`PAD`); a padded slot still occupies its rank and earns nothing. Item ids are
  non-negative integers (encode string ids with one shared vocabulary, e.g. ``pd.factorize``
  over the catalog, before calling in here).
* **Truth** is sparse: per query, the judged items and their graded gains (``>= 0``), stored
  CSR-like (:class:`Truth`). An item is *relevant* when its gain is ``> 0``; judged items with
  gain 0 are known non-relevant and behave exactly like unjudged ones.
* A repeated item in a ranked list earns its gain only at its first (best) rank; later copies
  keep their slot but count as non-relevant. This keeps every metric bounded (recall <= 1,
  NDCG <= 1) even when a buggy ranker or a raw log shows an item twice.

:func:`judge` joins the two with one vectorised sorted search and returns :class:`Judged`,
the input of every accuracy metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

PAD = -1
"""Item id that fills ranked lists shorter than ``k_max``."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def check_k(k: int) -> int:
    """Return ``k`` if it is a positive integer cut-off, else raise ``ValueError``."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def as_ranked(ranked: ArrayLike) -> IntArray:
    """Validate a ranked matrix and return it as ``int64 (n_queries, k_max)``.

    A 1-D input is one query (one row). Entries must be item ids ``>= 0`` or :data:`PAD`.
    """
    array = np.asarray(ranked)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"ranked must be 1-D or 2-D (n_queries, k_max), got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"ranked must hold integer item ids, got dtype {array.dtype}")
    out = array.astype(np.int64, copy=False)
    if out.size and out.min() < PAD:
        raise ValueError(f"ranked holds negative item ids other than the padding {PAD}")
    return out


@dataclass(frozen=True, eq=False)
class Truth:
    """Graded ground truth for ``n_queries`` queries, stored CSR-like.

    Row ``q`` of the ranked matrix is judged by ``items[indptr[q]:indptr[q + 1]]`` with gains
    ``gains[indptr[q]:indptr[q + 1]]``. Within a query, items are unique and sorted ascending.
    Build it with :meth:`from_pairs` (long format, e.g. DataFrame columns) or
    :meth:`from_dicts` (one ``{item: gain}`` per query); the constructor only validates.

    Attributes:
        indptr: ``int64 (n_queries + 1,)``, non-decreasing, ``indptr[0] == 0``.
        items: ``int64 (nnz,)`` item ids ``>= 0``.
        gains: ``float64 (nnz,)`` finite gains ``>= 0``; relevance is ``gain > 0``.
    """

    indptr: IntArray
    items: IntArray
    gains: FloatArray
    _query: IntArray = field(init=False, repr=False, compare=False)
    _ideal_rank: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        indptr = np.asarray(self.indptr, dtype=np.int64)
        items = np.asarray(self.items, dtype=np.int64)
        gains = np.asarray(self.gains, dtype=np.float64)
        if indptr.ndim != 1 or indptr.size == 0 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must be 1-D, start at 0 and be non-decreasing")
        if items.shape != (indptr[-1],) or gains.shape != items.shape:
            raise ValueError(
                f"items {items.shape} and gains {gains.shape} must both have length indptr[-1]={indptr[-1]}"
            )
        _check_gains(gains)
        if items.size and items.min() < 0:
            raise ValueError("truth item ids must be >= 0")
        query = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
        if items.size > 1:
            same_query = query[1:] == query[:-1]
            if np.any(same_query & (items[1:] <= items[:-1])):
                raise ValueError("items must be unique and sorted ascending within each query")
        # Rank of each entry in its query's ideal ordering (gain descending), for IDCG@k.
        order = np.lexsort((-gains, query))
        ideal_rank = np.empty_like(query)
        ideal_rank[order] = np.arange(query.size, dtype=np.int64) - indptr[query[order]]
        for name, value in (
            ("indptr", indptr),
            ("items", items),
            ("gains", gains),
            ("_query", query),
            ("_ideal_rank", ideal_rank),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def from_pairs(
        cls,
        query_index: ArrayLike,
        items: ArrayLike,
        gains: ArrayLike | None = None,
        *,
        n_queries: int,
        duplicates: Literal["raise", "max"] = "raise",
    ) -> Truth:
        """Build from long format: one ``(query_index, item, gain)`` row per judgement.

        Args:
            query_index: ``(nnz,)`` row of the ranked matrix each judgement belongs to, in
                ``[0, n_queries)``. Map external keys first, e.g.
                ``pd.Index(user_order).get_indexer(df.user_id)``, and decide what to do with
                ``-1`` (keys outside the evaluated population) before calling.
            items: ``(nnz,)`` item ids ``>= 0``.
            gains: ``(nnz,)`` graded gains ``>= 0``; ``None`` means binary relevance (all 1).
            n_queries: number of rows of the ranked matrices this truth will judge.
            duplicates: a repeated ``(query, item)`` pair raises ``ValueError`` by default;
                ``"max"`` keeps its largest gain (e.g. a click then a purchase of one item).
        """
        if n_queries < 0:
            raise ValueError(f"n_queries must be >= 0, got {n_queries}")
        query = _as_int_vector(query_index, "query_index")
        item = _as_int_vector(items, "items")
        gain = np.ones(item.shape) if gains is None else np.asarray(gains, dtype=np.float64)
        if not (query.shape == item.shape == gain.shape):
            raise ValueError(
                f"query_index {query.shape}, items {item.shape} and gains {gain.shape} differ in length"
            )
        if query.size and (query.min() < 0 or query.max() >= n_queries):
            raise ValueError(f"query_index must lie in [0, {n_queries})")
        _check_gains(gain)
        order = np.lexsort((-gain, item, query))
        query, item, gain = query[order], item[order], gain[order]
        # Sorted by (query, item, gain desc): the head of each pair run holds the max gain.
        head = np.ones(query.shape, dtype=bool)
        head[1:] = (query[1:] != query[:-1]) | (item[1:] != item[:-1])
        if not head.all():
            if duplicates == "raise":
                first = int(np.flatnonzero(~head)[0])
                raise ValueError(
                    f"duplicate judgement for query {query[first]}, item {item[first]};"
                    " aggregate first or pass duplicates='max'"
                )
            if duplicates != "max":
                raise ValueError(f"duplicates must be 'raise' or 'max', got {duplicates!r}")
            query, item, gain = query[head], item[head], gain[head]
        indptr = np.zeros(n_queries + 1, dtype=np.int64)
        np.cumsum(np.bincount(query, minlength=n_queries), out=indptr[1:])
        return cls(indptr=indptr, items=item, gains=gain)

    @classmethod
    def from_dicts(cls, judgements: Sequence[Mapping[int, float]]) -> Truth:
        """Build from one ``{item_id: gain}`` mapping per query (row order of the ranked matrix)."""
        sizes = np.fromiter((len(j) for j in judgements), dtype=np.int64, count=len(judgements))
        query = np.repeat(np.arange(len(judgements), dtype=np.int64), sizes)
        items = np.fromiter((i for j in judgements for i in j), dtype=np.int64, count=int(sizes.sum()))
        gains = np.fromiter((g for j in judgements for g in j.values()), dtype=np.float64, count=items.size)
        return cls.from_pairs(query, items, gains, n_queries=len(judgements))

    @property
    def n_queries(self) -> int:
        """Number of queries (rows) this truth judges."""
        return int(self.indptr.size - 1)

    def n_relevant(self) -> IntArray:
        """``int64 (n_queries,)``: number of items with gain > 0 per query."""
        return np.bincount(self._query[self.gains > 0], minlength=self.n_queries).astype(np.int64)

    def ideal_dcg(self, k: int, transform: Literal["exponential", "linear"] = "exponential") -> FloatArray:
        """``float64 (n_queries,)``: DCG@k of the ideal ordering of ALL judged items of each query.

        The ideal list sorts every judged item of the query by gain, descending, whether or not
        any ranker retrieved it; ``transform`` is the gain transform of :func:`ndcg`.
        """
        k = check_k(k)
        keep = self._ideal_rank < k
        weights = transform_gains(self.gains[keep], transform) / np.log2(self._ideal_rank[keep] + 2.0)
        return np.bincount(self._query[keep], weights=weights, minlength=self.n_queries).astype(np.float64)


@dataclass(frozen=True, eq=False)
class Judged:
    """A ranked matrix joined with its truth: everything the accuracy metrics need.

    Attributes:
        gains: ``float64 (n_queries, k_max)`` gain of the item at each rank; 0 for padding,
            unjudged items and repeats of an item already seen higher in the list.
        n_relevant: ``int64 (n_queries,)`` items with gain > 0 in the truth (retrieved or not).
        truth: the truth the gains came from, for ideal orderings (IDCG).
    """

    gains: FloatArray
    n_relevant: IntArray
    truth: Truth

    def __post_init__(self) -> None:
        if self.gains.ndim != 2 or self.n_relevant.shape != (self.gains.shape[0],):
            raise ValueError("gains must be (n_queries, k_max) and n_relevant (n_queries,)")
        if self.truth.n_queries != self.gains.shape[0]:
            raise ValueError(f"{self.gains.shape[0]} ranked rows but the truth judges {self.truth.n_queries}")

    @property
    def n_queries(self) -> int:
        """Number of queries (rows)."""
        return int(self.gains.shape[0])

    @property
    def k_max(self) -> int:
        """Length of the ranked lists (columns)."""
        return int(self.gains.shape[1])


def judge(ranked: ArrayLike, truth: Truth) -> Judged:
    """Look up the gain of every ranked item in the truth of its query.

    Args:
        ranked: ``(n_queries, k_max)`` item ids padded with :data:`PAD`, or ``(k_max,)`` for a
            single query; ``n_queries`` must equal ``truth.n_queries``.
        truth: graded judgements per query.

    Returns:
        :class:`Judged` with ``gains[q, r]`` = gain of ``ranked[q, r]`` for query ``q``
        (0 when unjudged, padding, or a repeat within the row).

    Cost: one :func:`numpy.searchsorted` of the ``n_queries * k_max`` cells into the truth,
    whose ``(query, item)`` pairs are already sorted and become one int64 key
    ``query * span + item``. ``span`` is ``max truth item + 1``; ids too large for that key
    to fit in int64 (e.g. 64-bit hashes) are first encoded into the truth's vocabulary.
    """
    matrix = as_ranked(ranked)
    n, width = matrix.shape
    if n != truth.n_queries:
        raise ValueError(f"ranked has {n} rows but the truth judges {truth.n_queries} queries")
    gains = np.zeros((n, width), dtype=np.float64)
    if truth.items.size == 0 or matrix.size == 0:
        return Judged(gains=gains, n_relevant=truth.n_relevant(), truth=truth)
    truth_codes, codes, known, span = _encode(truth.items, matrix)
    truth_keys = truth._query * span + truth_codes
    keys = np.arange(n, dtype=np.int64)[:, None] * span + codes
    position = np.searchsorted(truth_keys, keys).ravel()
    cells = np.flatnonzero(
        known.ravel() & (truth_keys[np.minimum(position, truth_keys.size - 1)] == keys.ravel())
    )
    # Cells are in row-major (rank) order, and a truth position names one (query, item) pair,
    # so the first cell per position is the item's best rank; its repeats stay at gain 0.
    _, first = np.unique(position[cells], return_index=True)
    gains.ravel()[cells[first]] = truth.gains[position[cells[first]]]
    return Judged(gains=gains, n_relevant=truth.n_relevant(), truth=truth)


def _encode(truth_items: IntArray, matrix: IntArray) -> tuple[IntArray, IntArray, NDArray[np.bool_], int]:
    """Item codes in ``[0, span)`` for the truth and the ranked cells, and which cells can match.

    Ids are their own codes when ``n_queries * (max truth id + 1)`` fits in int64; otherwise
    they are ranks in the sorted truth vocabulary. Padding and ids absent from the truth
    vocabulary are marked unknown (their codes are clipped into range and must be ignored).
    """
    limit = np.iinfo(np.int64).max // max(1, matrix.shape[0])
    span = int(truth_items.max()) + 1
    if span <= limit:
        known = (matrix >= 0) & (matrix < span)
        return truth_items, np.clip(matrix, 0, span - 1), known, span
    vocabulary = np.unique(truth_items)
    if vocabulary.size > limit:
        raise ValueError("n_queries x distinct truth items overflows the int64 join key")
    codes = np.minimum(np.searchsorted(vocabulary, matrix), vocabulary.size - 1)
    known = (matrix >= 0) & (vocabulary[codes] == matrix)
    return np.searchsorted(vocabulary, truth_items), codes, known, int(vocabulary.size)


def to_ranked(
    query_index: ArrayLike,
    items: ArrayLike,
    *,
    n_queries: int,
    k_max: int,
    rank: ArrayLike | None = None,
) -> IntArray:
    """Turn long-format lists (one row per recommended item) into a padded ranked matrix.

    Args:
        query_index: ``(m,)`` row of each entry, in ``[0, n_queries)``.
        items: ``(m,)`` item ids ``>= 0``.
        n_queries: rows of the output; queries without entries become all-:data:`PAD` rows.
        k_max: columns of the output; entries beyond ``k_max`` per query are dropped.
        rank: ``(m,)`` sort key within a query (smaller is better, e.g. position 1..K, or
            ``-score``); ``None`` keeps the input order within each query.

    Returns:
        ``int64 (n_queries, k_max)`` best first, padded with :data:`PAD`.
    """
    k_max = check_k(k_max)
    query = _as_int_vector(query_index, "query_index")
    item = _as_int_vector(items, "items")
    if query.shape != item.shape:
        raise ValueError(f"query_index {query.shape} and items {item.shape} differ in length")
    if query.size and (query.min() < 0 or query.max() >= n_queries):
        raise ValueError(f"query_index must lie in [0, {n_queries})")
    if item.size and item.min() < 0:
        raise ValueError("item ids must be >= 0")
    if rank is None:
        order = np.argsort(query, kind="stable")
    else:
        key = np.asarray(rank)
        if key.shape != query.shape:
            raise ValueError(f"rank {key.shape} and query_index {query.shape} differ in length")
        order = np.lexsort((key, query))
    query, item = query[order], item[order]
    starts = np.searchsorted(query, np.arange(n_queries, dtype=np.int64))
    position = np.arange(query.size, dtype=np.int64) - starts[query]
    keep = position < k_max
    out = np.full((n_queries, k_max), PAD, dtype=np.int64)
    out[query[keep], position[keep]] = item[keep]
    return out


def transform_gains(gains: FloatArray, transform: Literal["exponential", "linear"]) -> FloatArray:
    """Gain transform of DCG: ``2**g - 1`` (exponential, the default) or ``g`` (linear)."""
    if transform == "exponential":
        transformed: FloatArray = np.expm1(gains * np.log(2.0))
        return transformed
    if transform == "linear":
        return gains
    raise ValueError(f"transform must be 'exponential' or 'linear', got {transform!r}")


def _check_gains(gains: FloatArray) -> None:
    if gains.size and (not np.all(np.isfinite(gains)) or gains.min() < 0):
        raise ValueError("gains must be finite and >= 0 (map signed utilities to grades first)")


def _as_int_vector(values: ArrayLike, name: str) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)
