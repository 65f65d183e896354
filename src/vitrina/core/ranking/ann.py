"""Nearest-neighbour retrieval of items by inner product, with exclusions (FAISS).

Candidate generators (two-tower, Item2Vec) put one vector per item in an :class:`AnnIndex`
and ask it for the ``k`` items of highest inner product with each query vector. With
L2-normalised vectors the inner product is the cosine.

Index kind, chosen by catalog size (:func:`choose_kind`):

* ``flat`` (``IndexFlatIP``) up to :data:`EXACT_MAX_ITEMS` items: exact, no build cost, and a
  batched query is one BLAS matrix product (50k items x 64 d is ~3 MFLOP per query), so an
  approximate index would buy nothing below that size but lose recall.
* ``hnsw`` (``IndexHNSWFlat``, inner-product metric) above it: sub-linear queries for the
  500k-item scale, at the price of a build (seconds per 100k items) and approximate results.
* ``hnsw_sq8`` (``IndexHNSWSQ``, 8-bit scalar quantisation per dimension, trained on the
  vectors themselves): the same graph over one byte per dimension instead of four, for wide
  vectors (384-d sentence embeddings) where memory and cache traffic dominate; never chosen
  by ``auto``. Scores are inner products with the decoded (quantised) item vectors.

``ef_search`` (HNSW kinds) is the breadth of the graph search, the recall/latency knob; a
search asking for more than ``ef_search`` results widens it to the number asked for.

Exclusions are honoured by over-fetching: a row asks for ``k`` plus its own excluded-item
count plus a margin for the global mask; rows that still hold fewer than ``k`` allowed items
are asked again with twice the depth, until the whole catalog has been fetched. For the
exact index the result therefore equals a brute-force top-k over the allowed items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.top_k import PAD, top_k_rows

EXACT_MAX_ITEMS = 50_000
HNSW_M = 32  # graph degree: the usual recall/memory balance for 64-d vectors
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128

BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ItemSets:
    """One set of item indices per query row (e.g. what each user already interacted with),
    stored CSR-like: row ``r`` holds ``items[indptr[r]:indptr[r + 1]]``, sorted and unique."""

    indptr: Int64Array
    items: Int64Array

    @classmethod
    def from_pairs(cls, rows: npt.ArrayLike, items: npt.ArrayLike, n_rows: int) -> ItemSets:
        """Build from parallel ``rows`` (in ``[0, n_rows)``) and ``items`` arrays; repeats collapse."""
        row = np.asarray(rows, dtype=np.int64)
        item = np.asarray(items, dtype=np.int64)
        if row.shape != item.shape or row.ndim != 1:
            raise ValueError(f"rows {row.shape} and items {item.shape} must be equal-length 1-D arrays")
        if row.size and (row.min() < 0 or row.max() >= n_rows or item.min() < 0):
            raise ValueError(f"rows must lie in [0, {n_rows}) and items be >= 0")
        order = np.lexsort((item, row))
        row, item = row[order], item[order]
        keep = np.ones(row.shape, dtype=bool)
        keep[1:] = (row[1:] != row[:-1]) | (item[1:] != item[:-1])
        row, item = row[keep], item[keep]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
        return cls(indptr=indptr, items=item)

    @classmethod
    def empty(cls, n_rows: int) -> ItemSets:
        return cls(np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @property
    def n_rows(self) -> int:
        return int(self.indptr.size - 1)

    def sizes(self) -> Int64Array:
        return np.diff(self.indptr)

    def subset(self, rows: npt.ArrayLike) -> ItemSets:
        """The sets of ``rows``, in that order (row ``j`` of the result is ``rows[j]``)."""
        wanted = np.asarray(rows, dtype=np.int64)
        sizes = self.sizes()[wanted]
        starts = self.indptr[wanted]
        indptr = np.zeros(wanted.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        offsets = np.arange(int(indptr[-1]), dtype=np.int64) - np.repeat(indptr[:-1], sizes)
        return ItemSets(indptr, self.items[np.repeat(starts, sizes) + offsets])

    def contains(self, rows: Int64Array, items: Int64Array) -> BoolArray:
        """Elementwise: is ``items[...]`` in the set of ``rows[...]`` (broadcast shapes)."""
        rows, items = np.broadcast_arrays(np.asarray(rows, np.int64), np.asarray(items, np.int64))
        if self.items.size == 0:
            return np.zeros(rows.shape, dtype=bool)
        span = int(max(self.items.max(), items.max(initial=0))) + 1
        keys = np.repeat(np.arange(self.n_rows, dtype=np.int64), self.sizes()) * span + self.items
        wanted = rows * span + np.clip(items, 0, None)
        pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        found: BoolArray = (keys[pos] == wanted) & (items >= 0)
        return found


def choose_kind(n_items: int) -> str:
    """``flat`` (exact) up to :data:`EXACT_MAX_ITEMS` items, ``hnsw`` above (see module doc)."""
    return "flat" if n_items <= EXACT_MAX_ITEMS else "hnsw"


KINDS = ("auto", "flat", "hnsw", "hnsw_sq8")


class AnnIndex:
    """Inner-product top-k over a fixed set of item vectors; item index = row of ``vectors``."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @classmethod
    def build(
        cls,
        vectors: npt.ArrayLike,
        kind: str = "auto",
        *,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> AnnIndex:
        """Index ``vectors`` ``(n_items, d)`` (cast to float32); ``kind`` one of :data:`KINDS`.

        ``m``, ``ef_construction``, ``ef_search``: HNSW graph degree and search breadths.
        """
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise ValueError(f"vectors must be (n_items, d) with d > 0, got {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("vectors hold NaN or infinite values")
        kind = choose_kind(len(matrix)) if kind == "auto" else kind
        index: faiss.Index
        if kind == "flat":
            index = faiss.IndexFlatIP(matrix.shape[1])
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        elif kind == "hnsw_sq8":
            index = faiss.IndexHNSWSQ(
                matrix.shape[1],
                faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]  # the stub wants an instance
                m,
                faiss.METRIC_INNER_PRODUCT,
            )
            index.train(matrix)  # per-dimension ranges of the quantiser
        else:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
        index.add(matrix)
        return cls(index)

    @property
    def n_items(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        if isinstance(self.index, faiss.IndexHNSWSQ):
            return "hnsw_sq8"
        return "hnsw" if isinstance(self.index, faiss.IndexHNSW) else "flat"

    @property
    def ef_search(self) -> int | None:
        """The HNSW search breadth (saved with the index); None for a flat index."""
        return int(self.index.hnsw.efSearch) if isinstance(self.index, faiss.IndexHNSW) else None

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if not isinstance(self.index, faiss.IndexHNSW):
            raise ValueError("ef_search applies to HNSW indexes only")
        if value <= 0:
            raise ValueError(f"ef_search must be positive, got {value}")
        self.index.hnsw.efSearch = int(value)

    def search(
        self,
        queries: npt.ArrayLike,
        k: int,
        exclude: BoolArray | None = None,
        seen: ItemSets | None = None,
        batch_size: int = 4096,
    ) -> tuple[Int64Array, Float32Array]:
        """Top ``k`` items per query row, best first, never an excluded one.

        Args:
            queries: ``(n, d)`` query vectors.
            k: list length; rows with fewer than ``k`` allowed items are padded with ``PAD``
                (score ``-inf``).
            exclude: ``(n_items,)`` bool, items no row may get (out of stock, reported, …).
            seen: per-row exclusions (``seen.n_rows == n``), e.g. items the user already has.

        Returns:
            ``items`` int64 ``(n, k)`` and ``scores`` float32 ``(n, k)`` (inner products).
        """
        matrix = np.ascontiguousarray(queries, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"queries must be (n, {self.dim}), got {matrix.shape}")
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if exclude is not None and exclude.shape != (self.n_items,):
            raise ValueError(f"exclude must have shape ({self.n_items},), got {exclude.shape}")
        if seen is not None and seen.n_rows != len(matrix):
            raise ValueError(f"seen has {seen.n_rows} rows for {len(matrix)} queries")
        items = np.full((len(matrix), k), PAD, dtype=np.int64)
        scores = np.full((len(matrix), k), -np.inf, dtype=np.float32)
        for start in range(0, len(matrix), batch_size):
            rows = np.arange(start, min(start + batch_size, len(matrix)))
            self._search_rows(matrix, rows, k, exclude, seen, items, scores)
        return items, scores

    def _search_rows(
        self,
        matrix: Float32Array,
        rows: Int64Array,
        k: int,
        exclude: BoolArray | None,
        seen: ItemSets | None,
        items: Int64Array,
        scores: Float32Array,
    ) -> None:
        share = float(exclude.mean()) if exclude is not None else 0.0
        own = seen.sizes()[rows] if seen is not None else np.zeros(len(rows), dtype=np.int64)
        # First depth: enough for the row's own exclusions plus the expected global ones.
        depth = k + int(own.max(initial=0)) + int(np.ceil(2 * k * share / max(1e-9, 1 - share)))
        pending = rows
        params = None
        while pending.size:
            fetch = min(depth, self.n_items)
            if isinstance(self.index, faiss.IndexHNSW):
                # per call, so the index's own efSearch (and concurrent searches) stay untouched
                params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]  # missing from the stub
                    efSearch=max(self.index.hnsw.efSearch, fetch)
                )
            found_scores, found = self.index.search(matrix[pending], fetch, params=params)
            allowed = found >= 0
            if exclude is not None:
                allowed &= ~exclude[np.clip(found, 0, None)]
            if seen is not None:
                allowed &= ~seen.contains(pending[:, None], found)
            complete = (allowed.sum(axis=1) >= k) | (fetch >= self.n_items)
            done = pending[complete]
            # Stable sort keeps FAISS's best-first order among the allowed hits.
            order = np.argsort(~allowed[complete], axis=1, kind="stable")[:, :k]
            kept = np.take_along_axis(allowed[complete], order, axis=1)
            width = order.shape[1]
            items[done, :width] = np.where(kept, np.take_along_axis(found[complete], order, axis=1), PAD)
            scores[done, :width] = np.where(
                kept, np.take_along_axis(found_scores[complete], order, axis=1), -np.inf
            )
            pending = pending[~complete]
            depth *= 2

    def save(self, path: str | Path) -> None:
        """Write the index as a FAISS file (atomically: a temporary file, then a rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> AnnIndex:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no FAISS index at {path}")
        return cls(faiss.read_index(str(path)))


def brute_force_top_k(
    queries: npt.ArrayLike, vectors: npt.ArrayLike, k: int, exclude: BoolArray | None = None
) -> tuple[Int64Array, npt.NDArray[np.float64]]:
    """Reference exact top-k by inner product in numpy (for tests and small catalogs)."""
    scores = np.asarray(queries, np.float64) @ np.asarray(vectors, np.float64).T
    if exclude is not None:
        scores[:, exclude] = -np.inf
    return top_k_rows(scores, k)
