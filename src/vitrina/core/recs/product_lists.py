"""Lists keyed by product, computed once per batch: "similar" and "bought together".

A product page asks for them on every view, so they are ranked by the batch for every product
and served from the store like the users' lists (never computed per request). Co-occurrence
itself is :mod:`vitrina.core.recs.item_knn`'s; here are the parts around it:

* **Baskets** (:func:`baskets`): what "bought together" counts over — a session when the
  events carry one, else the same user on the same day (an orders-only shop has no sessions).
* **Content** (:func:`content_neighbours`): cosine of item vectors, through FAISS.
* **Fallback** (:func:`fill_with_category_popular`): a product with too few neighbours gets
  its category's most popular products, then the shop's, so every list is full.

Each item carries a Spanish reason (the serving convention): :data:`REASON_ALSO_CHOSEN`,
:data:`REASON_TOGETHER`, :data:`REASON_SIMILAR`, or "popular en <categoría>".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.ann import AnnIndex, ItemSets
from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import PAD, top_k_pairs

REASON_ALSO_CHOSEN = "otros clientes también lo eligieron"
REASON_TOGETHER = "se compra junto con este"
REASON_SIMILAR = "parecido a este producto"
REASON_POPULAR_SHOP = "popular en la tienda"
ObjectArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]


def baskets(session: IntArray, user: IntArray, ts_us: IntArray) -> IntArray:
    """A basket id per event: its session, or (user, UTC day) for events without one (-1)."""
    day = np.asarray(ts_us, dtype=np.int64) // 86_400_000_000
    fallback = np.unique(np.stack([user, day], axis=1), axis=0, return_inverse=True)[1].ravel()
    offset = int(session.max()) + 1 if session.size else 0
    return np.where(session >= 0, session, offset + fallback).astype(np.int64)


def content_neighbours(
    vectors: npt.NDArray[np.floating], k: int, blocked: BoolArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Each item's ``k`` nearest items by cosine (never itself, never a ``blocked`` one), through
    the same FAISS index the candidate generators use (exact up to 50k items, HNSW above):
    a blocked top-k in numpy cost 25 s for 20k items on two loaded cores, FAISS a few."""
    unit = np.asarray(vectors, dtype=np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    n = unit.shape[0]
    itself = np.arange(n, dtype=np.int64)
    index = AnnIndex.build(unit)
    items, scores = index.search(unit, k, exclude=blocked, seen=ItemSets.from_pairs(itself, itself, n))
    return items, np.where(items == PAD, -np.inf, scores.astype(np.float64))


def blend(
    first: tuple[IntArray, FloatArray],
    second: tuple[IntArray, FloatArray],
    k: int,
    reasons: tuple[str, str],
    weights: tuple[float, float] = (1.0, 1.0),
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """Per row, the union of two ranked lists scored ``w1·s1 + w2·s2`` (a missing score is
    0), best ``k`` first (ties: lower item first); an item's reason is its larger weighted
    part's (``reasons``)."""
    n = first[0].shape[0]
    parts = []
    for (items, scores), weight, side in zip((first, second), weights, (0, 1), strict=True):
        real = items != PAD
        rows = np.broadcast_to(np.arange(n)[:, None], items.shape)[real]
        value = weight * np.nan_to_num(np.asarray(scores, dtype=np.float64)[real], neginf=0.0)
        parts.append((rows, items[real], np.where(side == 0, value, 0.0), np.where(side == 1, value, 0.0)))
    rows, items, a, b = (np.concatenate(column) for column in zip(*parts, strict=True))
    n_items = int(items.max()) + 1 if items.size else 1
    key = rows * n_items + items
    order = np.argsort(key, kind="stable")
    key, a, b = key[order], a[order], b[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    key = key[starts]
    a, b = np.add.reduceat(a, starts) if key.size else a, np.add.reduceat(b, starts) if key.size else b
    out_items, out_scores = top_k_pairs(key // n_items, key % n_items, a + b, n, k)
    real = out_items != PAD
    found = np.searchsorted(key, np.arange(n)[:, None] * n_items + np.where(real, out_items, 0))
    found = np.minimum(found, max(key.size - 1, 0))
    by_first = (a[found] >= b[found]) if key.size else np.zeros(out_items.shape, bool)
    out_reasons = np.where(real, np.where(by_first, reasons[0], reasons[1]), "").astype(object)
    return out_items, out_scores, out_reasons


def fill_with_category_popular(
    items: IntArray,
    scores: FloatArray,
    reasons: ObjectArray,
    category: IntArray,
    category_names: ObjectArray,
    popularity: FloatArray,
    blocked: BoolArray,
    anchors: IntArray | None = None,
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """Pad every row's empty slots with its anchor's category's most popular servable items,
    then the shop's, skipping the anchor itself and what the row holds. Row ``r``'s anchor is
    ``anchors[r]`` (default: item ``r``). Padded items score below every real neighbour."""
    n, k = items.shape
    anchors = np.arange(n) if anchors is None else anchors
    order = np.lexsort((np.arange(popularity.size), -popularity))  # most popular first
    order = order[~blocked[order]]
    by_category: dict[int, list[int]] = {}
    for item in order[: max(k * 50, 1000)].tolist():  # the head of each category is enough
        by_category.setdefault(int(category[item]), []).append(item)
    for cat in np.unique(category[anchors]).tolist():
        if len(by_category.get(cat, [])) < 2 * k + 1:
            members = order[category[order] == cat][: 2 * k + 1]
            by_category[cat] = members.tolist()
    shop = order[: 2 * k + 1].tolist()
    items, scores, reasons = items.copy(), scores.copy(), reasons.copy()
    floor = np.where(np.isfinite(scores), scores, np.inf).min(axis=1)
    for row in np.flatnonzero((items == PAD).any(axis=1)).tolist():
        anchor = int(anchors[row])
        have = set(items[row][items[row] != PAD].tolist()) | {anchor}
        slot = int((items[row] != PAD).sum())
        base = min(float(floor[row]), 0.0) if np.isfinite(floor[row]) else 0.0
        name = category_names[category[anchor]]
        for source, reason in (
            (by_category.get(int(category[anchor]), []), f"popular en {name}"),
            (shop, REASON_POPULAR_SHOP),
        ):
            for item in source:
                if slot >= k:
                    break
                if item in have:
                    continue
                have.add(item)
                items[row, slot] = item
                scores[row, slot] = base - (slot + 1) * 1e-3
                reasons[row, slot] = reason
                slot += 1
    return items, scores, reasons
