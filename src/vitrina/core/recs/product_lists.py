"""Lists keyed by product, computed once per batch: "similar" and "bought together".

A product page asks for them on every view, so they are ranked by the batch for every product
and served from the store like the users' lists (never computed per request). Co-occurrence
itself is :mod:`vitrina.core.recs.item_knn`'s; here are the parts around it:

* **Baskets** (:func:`baskets`): what "bought together" counts over — a session when the
  events carry one, else the same user on the same day (an orders-only shop has no sessions).
* **Content** (:func:`content_neighbours`): cosine of item vectors, in blocks of rows so
  memory stays ``block × n_items``.
* **Fallback** (:func:`fill_with_category_popular`): a product with too few neighbours gets
  its category's most popular products, then the shop's, so every list is full.

Each item carries a Spanish reason (the serving convention): :data:`REASON_ALSO_CHOSEN`,
:data:`REASON_TOGETHER`, :data:`REASON_SIMILAR`, or "popular en <categoría>".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray
from vitrina.core.ranking.top_k import PAD, top_k_rows

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
    vectors: npt.NDArray[np.floating], k: int, blocked: BoolArray | None = None, block: int = 2048
) -> tuple[IntArray, FloatArray]:
    """Each item's ``k`` nearest items by cosine (never itself, never a ``blocked`` one)."""
    unit = np.asarray(vectors, dtype=np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    n = unit.shape[0]
    items = np.full((n, k), PAD, dtype=np.int64)
    scores = np.full((n, k), -np.inf)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = (unit[start:stop] @ unit.T).astype(np.float64)
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        if blocked is not None:
            sims[:, blocked] = -np.inf
        items[start:stop], scores[start:stop] = top_k_rows(sims, k)
    return items, scores


def blend(
    first: tuple[IntArray, FloatArray],
    second: tuple[IntArray, FloatArray],
    k: int,
    reasons: tuple[str, str],
    weights: tuple[float, float] = (1.0, 1.0),
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """Per row, the union of two ranked lists scored ``w1·s1 + w2·s2`` (a missing score is
    0), best ``k`` first; an item's reason is its larger weighted part's (``reasons``)."""
    items = np.concatenate([first[0], second[0]], axis=1)
    parts = np.zeros((*items.shape, 2))
    width = first[0].shape[1]
    parts[:, :width, 0] = np.where(first[0] != PAD, weights[0] * np.nan_to_num(first[1], neginf=0.0), 0.0)
    parts[:, width:, 1] = np.where(second[0] != PAD, weights[1] * np.nan_to_num(second[1], neginf=0.0), 0.0)
    n = items.shape[0]
    out_items = np.full((n, k), PAD, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf)
    out_reasons = np.full((n, k), "", dtype=object)
    for row in range(n):  # ≤ 2k cells per row: a dictionary merge is cheaper than sorting matrices
        merged: dict[int, list[float]] = {}
        for item, (a, b) in zip(items[row].tolist(), parts[row].tolist(), strict=True):
            if item != PAD:
                cell = merged.setdefault(item, [0.0, 0.0])
                cell[0] += a
                cell[1] += b
        ranked = sorted(merged.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))[:k]
        for j, (item, (a, b)) in enumerate(ranked):
            out_items[row, j], out_scores[row, j] = item, a + b
            out_reasons[row, j] = reasons[0] if a >= b else reasons[1]
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
