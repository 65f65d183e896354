"""Maximal Marginal Relevance re-ranking for category diversity (docs/spec.md §3.5; Carbonell &
Goldstein 1998).

From each user's candidates, items are picked one at a time; the next pick maximises

    λ · rel(i) − (1 − λ) · max_{j already picked} sim(i, j)

so a relevant item loses ground when the list already has something just like it. λ = 1 is
the relevance order; λ = 0.7 (default) trades a little relevance for visibly varied lists.

**Relevance normalisation.** Ranker scores are unbounded and their scale differs between
users, while similarities live in [0, 1]; without a common scale λ would mean something
different for every user. Each user's finite scores are therefore min–max scaled to [0, 1]
(best candidate 1, worst 0; a user whose candidates all score the same gets 1 for all).
The transform is monotone, so it never changes the relevance order by itself.

**Similarity** (:class:`ItemSimilarity`): category equality (1 same category, 0 otherwise),
optionally blended with the cosine of item embeddings clipped at 0 (an opposite-looking item
is not "more different" than an unrelated one):
``sim = (1 − w) · [cat_i = cat_j] + w · max(cos(e_i, e_j), 0)``.

The greedy loop runs ``k`` steps, each vectorised over all users of a chunk; cost
``O(k · n · m)`` (plus ``· d`` with embeddings) for ``n`` users and ``m`` candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import PAD

DEFAULT_LAMBDA = 0.7


@dataclass(frozen=True)
class ItemSimilarity:
    """Item–item similarity in [0, 1] from categories, optionally blended with embeddings.

    Attributes:
        categories: ``int (n_items,)`` category code per item (e.g. ``RecsData.item_category``).
        embeddings: optional ``(n_items, d)`` item vectors (Item2Vec, two-tower, …).
        embedding_weight: ``w`` in the blend; ignored without embeddings.
    """

    categories: IntArray
    embeddings: npt.NDArray[np.floating] | None = None
    embedding_weight: float = 0.5

    def __post_init__(self) -> None:
        categories = np.asarray(self.categories, dtype=np.int64)
        if categories.ndim != 1:
            raise ValueError("categories must be 1-D, one code per item")
        object.__setattr__(self, "categories", categories)
        if self.embeddings is not None:
            vectors = np.asarray(self.embeddings, dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape[0] != categories.size:
                raise ValueError(f"embeddings {vectors.shape} must be (n_items={categories.size}, d)")
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            object.__setattr__(self, "embeddings", vectors / np.where(norms > 0, norms, 1.0))
        if not 0.0 <= self.embedding_weight <= 1.0:
            raise ValueError(f"embedding_weight must lie in [0, 1], got {self.embedding_weight}")

    @property
    def n_items(self) -> int:
        return int(self.categories.size)

    def to_picked(self, items: IntArray, picked: IntArray) -> FloatArray:
        """``sim(items[u, c], picked[u])`` for every row ``u``: shapes (n, m), (n,) → (n, m)."""
        n, m = items.shape
        both = np.concatenate([items, np.asarray(picked).reshape(n, 1)], axis=1)
        return self.of_candidates(both).to_slot(np.full(n, m))[:, :m]

    def of_candidates(self, items: IntArray) -> CandidateSimilarity:
        """Similarity restricted to the candidate matrix ``items`` (n, m), gathered once."""
        embeddings = None
        if self.embeddings is not None and self.embedding_weight > 0.0:
            embeddings = self.embeddings[items]
        return CandidateSimilarity(self.categories[items], embeddings, self.embedding_weight)


@dataclass(frozen=True)
class CandidateSimilarity:
    """Category codes (n, m) and unit vectors (n, m, d) of a candidate matrix, so each greedy
    step only gathers the picked column instead of the whole matrix again."""

    categories: IntArray
    embeddings: npt.NDArray[np.float32] | None
    embedding_weight: float

    def to_slot(self, column: IntArray) -> FloatArray:
        """``sim(candidate[u, c], candidate[u, column[u]])``: (n,) columns → (n, m)."""
        row = np.arange(column.size)
        same = np.asarray(self.categories == self.categories[row, column][:, None], dtype=np.float64)
        if self.embeddings is None:
            return same
        picked = self.embeddings[row, column][:, :, None]  # (n, d, 1)
        cosine = np.matmul(self.embeddings, picked)[:, :, 0]
        w = self.embedding_weight
        return np.asarray((1.0 - w) * same + w * np.maximum(cosine, 0.0), dtype=np.float64)


def normalise_relevance(relevance: npt.ArrayLike) -> FloatArray:
    """Per-row min–max scaling of finite scores to [0, 1]; non-finite entries become ``-inf``
    (ineligible). A row whose finite scores are all equal maps them to 1."""
    rel = np.asarray(relevance, dtype=np.float64)
    finite = np.isfinite(rel)
    low = np.min(np.where(finite, rel, np.inf), axis=1, keepdims=True)
    high = np.max(np.where(finite, rel, -np.inf), axis=1, keepdims=True)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, (rel - low) / np.where(span > 0, span, 1.0), 1.0)
    return np.asarray(np.where(finite, scaled, -np.inf), dtype=np.float64)


def mmr_rerank(
    candidates: npt.ArrayLike,
    relevance: npt.ArrayLike,
    k: int,
    similarity: ItemSimilarity,
    *,
    lambda_: float = DEFAULT_LAMBDA,
    chunk_size: int = 2048,
    selected: npt.ArrayLike | None = None,
) -> tuple[IntArray, FloatArray]:
    """Pick ``k`` items per row of ``candidates`` by MMR.

    Args:
        candidates: ``int (n, m)`` item indices, ``PAD`` for empty slots.
        relevance: ``(n, m)`` scores, higher is better; ``-inf``/NaN marks a candidate that
            must not be picked (e.g. removed by :mod:`vitrina.core.recs.business_rules`).
        k: list length.
        similarity: item–item similarity.
        lambda_: weight of relevance in [0, 1].
        chunk_size: users processed together (bounds memory at ``chunk · m · d`` floats).
        selected: optional ``int (n, p)`` items already placed above the picks (``PAD`` for
            none): they are not picked again, but count in the similarity penalty, as if MMR
            had picked them first.

    Returns:
        ``items (n, k)`` in pick order, ``PAD``-padded when a row has fewer than ``k``
        eligible candidates, and ``scores (n, k)``: each picked item's *input* relevance
        (``-inf`` at padding). Scores need not decrease along a row: diversity reorders.
    """
    items = np.asarray(candidates, dtype=np.int64)
    rel_in = np.asarray(relevance, dtype=np.float64)
    if items.ndim != 2 or rel_in.shape != items.shape:
        raise ValueError(f"candidates {items.shape} and relevance {rel_in.shape} must be the same (n, m)")
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must lie in [0, 1], got {lambda_}")
    if k < 1 or chunk_size < 1:
        raise ValueError(f"k and chunk_size must be positive, got {k} and {chunk_size}")
    if items.size and (items.min() < PAD or items.max() >= similarity.n_items):
        raise ValueError(f"candidates must be item indices in [0, {similarity.n_items}) or PAD")
    n = items.shape[0]
    above = np.full((n, 0), PAD, dtype=np.int64) if selected is None else np.asarray(selected, np.int64)
    if above.ndim != 2 or above.shape[0] != n:
        raise ValueError(f"selected {above.shape} must have one row per candidate row ({n})")
    out_items = np.full((n, k), PAD, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf)
    for start in range(0, n, chunk_size):
        rows = slice(start, start + chunk_size)
        out_items[rows], out_scores[rows] = _greedy(
            items[rows], rel_in[rows], k, similarity, lambda_, above[rows]
        )
    return out_items, out_scores


def _greedy(
    items: IntArray,
    rel_in: FloatArray,
    k: int,
    similarity: ItemSimilarity,
    lambda_: float,
    above: IntArray,
) -> tuple[IntArray, FloatArray]:
    n, m = items.shape
    rel = normalise_relevance(rel_in)
    eligible = (items != PAD) & np.isfinite(rel)
    eligible &= ~(items[:, :, None] == above[:, None, :]).any(axis=2)
    rel = np.where(eligible, rel, 0.0)  # -inf would turn into NaN under λ = 0
    safe = np.where(items != PAD, items, 0)
    candidates = similarity.of_candidates(safe)
    max_sim = np.zeros((n, m))
    for column in above.T:  # the items already above count as picks
        placed = column != PAD
        sim = similarity.to_picked(safe, np.where(placed, column, 0))
        np.maximum(max_sim, np.where(placed[:, None], sim, 0.0), out=max_sim)
    row = np.arange(n)
    picked_items = np.full((n, k), PAD, dtype=np.int64)
    picked_scores = np.full((n, k), -np.inf)
    for step in range(min(k, m)):
        value = np.where(eligible, lambda_ * rel - (1.0 - lambda_) * max_sim, -np.inf)
        pick = np.argmax(value, axis=1)  # the first maximum: ties keep candidate order
        live = eligible[row, pick]
        if not live.any():
            break
        picked_items[live, step] = items[row[live], pick[live]]
        picked_scores[live, step] = rel_in[row[live], pick[live]]
        eligible[row, pick] = False
        np.maximum(max_sim, candidates.to_slot(pick), out=max_sim)
    return picked_items, picked_scores
