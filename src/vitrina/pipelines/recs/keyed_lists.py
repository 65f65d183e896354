"""The keyed lists a batch publishes beside the users' lists (``LIST_KINDS`` of the stores).

* ``similar`` (per product): the shrunk cosine of the products' shoppers
  (:class:`~vitrina.core.recs.item_knn.ItemKNN`: chosen — clicked, carted, bought — by the same
  users) plus :data:`CONTENT_WEIGHT` × content similarity, padded with the category's popular
  products. Content = the published model's two-tower item embeddings when it has them:
  they are learnt from the catalog's attributes (categories, brand, price) *and* from what
  users chose, cost nothing more to get, and exist for every product of the catalog, new
  ones included; Item2Vec vectors exist only for products with history (and scored ≈ 0 on
  real data), and catalog text would need a second text model in the batch. Without
  embeddings, the L2 category one-hot.
* ``together`` (per product): the same shrunk cosine over *baskets* instead of users (carts and
  purchases of one session, or of one user's day when events carry no session), padded the
  same way.
* ``buy_again`` (per user who bought anything): the user's own purchases ranked by
  :class:`~vitrina.core.recs.buy_again.BuyAgain` (repurchase propensity and cycle learnt from
  the shop's data) — the own-purchases list scored 0.318 NDCG@10 (all positives) on a real
  shop's repeat purchases.

Every product of the catalog is a key (an out-of-stock product's page still wants
substitutes); only servable products are ever listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from vitrina.adapters.stores.base import BUY_AGAIN, SIMILAR, TOGETHER
from vitrina.core.ranking.interactions import EVENT_CODE, EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_pairs
from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.item_knn import ItemKNN, cosine_neighbours, user_item_matrix
from vitrina.core.recs.product_lists import (
    REASON_ALSO_CHOSEN,
    REASON_SIMILAR,
    REASON_TOGETHER,
    baskets,
    blend,
    content_neighbours,
    fill_with_category_popular,
)

DAY_US = 86_400_000_000
POPULAR_DAYS = 30
NEIGHBOURS_KEPT = 2  # × k co-occurrence neighbours kept per product before dropping unservable ones
MAX_BASKET = 50  # a basket's latest products that count (bulk orders would add n² pairs each)
CONTENT_WEIGHT = 0.5  # co-occurrence is what shoppers did; content orders the rest (cosines ≤ 1 both)
REASON_BUY_AGAIN = "lo compraste antes"
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class KeyedLists:
    """One kind's lists: row ``r`` (items as indices, ``PAD`` beyond) is keyed ``keys[r]``."""

    kind: str
    keys: npt.NDArray[np.str_]
    items: IntArray
    scores: FloatArray
    reasons: ObjectArray


def keyed_lists(
    data: RecsData,
    history: Interactions,
    k: int,
    item_vectors: npt.NDArray[np.floating] | None = None,
    buy_again: Mapping[str, Any] | None = None,
) -> list[KeyedLists]:
    """``similar``, ``together`` and ``buy_again`` as of the end of ``history``; ``buy_again``:
    the buy-again source's settings chosen on validation (its timing, docs/adr/0043)."""
    blocked = ~data.servable
    positives = history.positives()
    n_items = len(data.items)
    category, names = pd.factorize(data.catalog["category_l2"].astype(str))
    category = np.asarray(category, dtype=np.int64)
    category_names = np.asarray(names, dtype=object)
    popularity = _recent_popularity(positives, n_items)

    def padded(
        items: IntArray, scores: FloatArray, reasons: ObjectArray
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        return fill_with_category_popular(
            items, scores, reasons, category, category_names, popularity, blocked
        )

    wide = NEIGHBOURS_KEPT * k  # room for the unservable neighbours dropped below
    knn = ItemKNN(n_neighbours=wide).fit(data, history)
    chosen = _servable(knn.neighbours(np.arange(n_items), wide), blocked)
    vectors = item_vectors if item_vectors is not None else _one_hot(category)
    similar = blend(
        chosen,
        content_neighbours(vectors, k, blocked),
        k,
        (REASON_ALSO_CHOSEN, REASON_SIMILAR),
        (1.0, CONTENT_WEIGHT),
    )
    bought = positives.take(positives.event >= EVENT_CODE["add_to_cart"])
    basket = baskets(bought.session, bought.user, bought.ts_us)
    by_basket = dataclasses.replace(bought, user=basket)
    matrix = user_item_matrix(by_basket, int(basket.max()) + 1 if basket.size else 0, n_items, MAX_BASKET)
    together_items, together_scores = _servable(_top(cosine_neighbours(matrix, wide), k), blocked)
    together_reasons = np.where(together_items != PAD, REASON_TOGETHER, "").astype(object)
    keys = data.items.ids.astype(str)
    return [
        KeyedLists(SIMILAR, keys, *padded(*similar)),
        KeyedLists(TOGETHER, keys, *padded(together_items, together_scores, together_reasons)),
        _buy_again(data, history, k, blocked, buy_again or {}),
    ]


def _top(matrix: sp.csr_matrix, k: int) -> tuple[IntArray, FloatArray]:
    """Each row's stored entries, best ``k`` first."""
    coo = matrix.tocoo()
    return top_k_pairs(
        coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64), matrix.shape[0], k
    )


def _servable(
    ranked: tuple[IntArray, FloatArray], blocked: npt.NDArray[np.bool_]
) -> tuple[IntArray, FloatArray]:
    """``ranked`` without its unservable items (kept in order, padding moved to the end)."""
    items, scores = ranked
    drop = (items == PAD) | blocked[np.where(items == PAD, 0, items)]
    order = np.argsort(drop, axis=1, kind="stable")
    items = np.where(drop, PAD, items)
    scores = np.where(drop, -np.inf, scores)
    return np.take_along_axis(items, order, axis=1), np.take_along_axis(scores, order, axis=1)


def _recent_popularity(positives: Interactions, n_items: int) -> FloatArray:
    """Event-weighted choices of the last :data:`POPULAR_DAYS` (all of history if empty)."""
    if len(positives) == 0:
        return np.zeros(n_items)
    recent = positives.ts_us >= positives.ts_us.max() - POPULAR_DAYS * DAY_US
    pick = positives.take(recent) if recent.any() else positives
    return np.bincount(pick.item, weights=EVENT_WEIGHT[pick.event], minlength=n_items).astype(np.float64)


def _one_hot(category: IntArray) -> npt.NDArray[np.float32]:
    vectors = np.zeros((category.size, int(category.max()) + 1 if category.size else 1), np.float32)
    vectors[np.arange(category.size), category] = 1.0
    return vectors


def _buy_again(
    data: RecsData,
    history: Interactions,
    k: int,
    blocked: npt.NDArray[np.bool_],
    settings: Mapping[str, Any],
) -> KeyedLists:
    """Each buyer's servable purchases ranked by :class:`~vitrina.core.recs.buy_again.BuyAgain`
    with ``settings`` (learnt repurchase propensity and cycle: what is re-bought, and when it is
    due, as far as the shop's validation said timing helps)."""
    buyers = np.unique(history.user[history.event == EVENT_CODE["purchase"]])
    model = BuyAgain(**settings).fit(data, history)
    items, scores = model.recommend(buyers, k, exclude=blocked)
    keep = (items != PAD).any(axis=1)
    reasons = np.where(items[keep] != PAD, REASON_BUY_AGAIN, "").astype(object)
    return KeyedLists(BUY_AGAIN, data.users.ids[buyers[keep]].astype(str), items[keep], scores[keep], reasons)
