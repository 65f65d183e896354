"""Post-processing of a ranked result list (docs/spec.md §4.6), in this order:

1. **Servable only**: out-of-stock and reported products are dropped (the definition shared
   with recommendations, :func:`vitrina.core.ranking.visible_products.servable_mask`). Not configurable.
2. **Bounded sponsored boost**: a sponsored product may move up past organic results the
   ranker does *not clearly* prefer, and at most ``sponsored_max_positions`` places.
   "Clearly" is a score margin, ``sponsored_max_boost``: an organic result scoring at least
   that much more than the sponsored one is never passed. The default margin is read on
   the ranker's own scale: LightGBM's LambdaRank models the probability that result *i* is
   more relevant than *j* as ``σ(s_i − s_j)`` (``sigmoid`` = 1), so a margin of
   ``logit(0.6) = ln 1.5 ≈ 0.405`` lets sponsorship settle near-ties — where the ranker is
   less than 60 % sure the organic result is better — and never overturn a confident
   judgement. (LambdaRank weights its pairs by ΔNDCG, so the probability reading is
   approximate, but the margin has the right scale.) For other scores (BM25, cosine)
   choose the margin in their units. Sponsored products keep their order among
   themselves; organic results keep theirs. A margin or a position cap of 0 disables it.
3. **Seller diversity**: at most ``max_per_seller`` results of one seller in the top
   ``k``. Overflow is pushed below the top ``k``, not dropped, in its original order (it
   is still there on the next page). When too few sellers exist to fill ``k`` places, the
   top ``k`` is filled with the overflow in order; below ``k`` no cap applies. A product
   with no known seller counts as its own seller (it is not grouped with other unknowns).

Boost before diversity, so the seller cap is the last word. :class:`SearchRules` holds the
per-product flags of one index version (built once, like the index); :meth:`SearchRules.apply`
handles one query's list (~150 candidates) in tens of microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.visible_products import SERVABLE_COLUMNS, servable_mask
from vitrina.core.search.types import Hits, Int64Array

BoolArray = npt.NDArray[np.bool_]

DEFAULT_MAX_BOOST = math.log(0.6 / 0.4)
"""logit(0.6): pass an organic result only if the ranker is < 60 % sure it is better."""
RULES_COLUMNS = (*SERVABLE_COLUMNS, "is_sponsored", "seller_id")


@dataclass(frozen=True)
class SearchRulesConfig:
    """Knobs of the post-processing (see the module docstring for their meaning).

    Attributes:
        k: size of the window the seller cap applies to (the first result page).
        max_per_seller: results of one seller allowed in the top ``k``.
        sponsored_max_positions: places a sponsored product may gain (0: no boost).
        sponsored_max_boost: score margin that makes an organic result "clearly better"
            (0: no boost). Default ``logit(0.6)`` for LambdaRank scores.
    """

    k: int = 20
    max_per_seller: int = 3
    sponsored_max_positions: int = 3
    sponsored_max_boost: float = DEFAULT_MAX_BOOST

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_per_seller < 1:
            raise ValueError(f"k ({self.k}) and max_per_seller ({self.max_per_seller}) must be ≥ 1")
        if self.sponsored_max_positions < 0:
            raise ValueError(f"sponsored_max_positions must be ≥ 0, got {self.sponsored_max_positions}")
        if not (math.isfinite(self.sponsored_max_boost) and self.sponsored_max_boost >= 0):
            raise ValueError(f"sponsored_max_boost must be finite and ≥ 0, got {self.sponsored_max_boost}")

    @property
    def boost_enabled(self) -> bool:
        return self.sponsored_max_positions > 0 and self.sponsored_max_boost > 0


@dataclass(frozen=True)
class RuledHits:
    """The list after the rules, best first; arrays are aligned with ``hits.rows``.

    Attributes:
        hits: surviving rows in their final order, with the ranker's scores (unchanged, so
            they need not be sorted any more).
        boost_gain: places each result gained from the sponsored boost (0 when none).
        demoted: pushed below the top ``k`` (or later in it) by the seller cap.
        dropped: how many candidates were removed as not servable.
    """

    hits: Hits
    boost_gain: Int64Array
    demoted: BoolArray
    dropped: int


def sponsored_boost(
    scores: npt.ArrayLike, sponsored: npt.ArrayLike, *, max_positions: int, max_boost: float
) -> Int64Array:
    """The boosted order, as a permutation of list positions ``0..n-1`` (input best first).

    Sponsored entries are moved up one by one, from the top: each passes the organic
    entries directly above it while ``score_above − own score < max_boost``, at most
    ``max_positions`` of them, and never another sponsored entry.
    """
    score = np.asarray(scores, dtype=np.float64)
    paid = np.asarray(sponsored, dtype=bool)
    order = list(range(score.size))
    if max_positions <= 0 or max_boost <= 0:
        return np.asarray(order, dtype=np.int64)
    for item in np.flatnonzero(paid).tolist():
        # Earlier sponsored entries only moved among the entries above this one: it is still at `item`.
        target = item
        while target > 0 and item - target < max_positions:
            above = order[target - 1]
            if paid[above] or score[above] - score[item] >= max_boost:
                break
            target -= 1
        if target < item:
            order.insert(target, order.pop(item))
    return np.asarray(order, dtype=np.int64)


def seller_diversity(sellers: npt.ArrayLike, *, k: int, max_per_seller: int) -> Int64Array:
    """The diversified order, as a permutation of list positions (input best first).

    The top ``k`` are the first ``k`` entries that are among their seller's first
    ``max_per_seller`` in the list; everything else follows in its original order.
    ``sellers`` are integer codes, one per entry.
    """
    seller = np.asarray(sellers)
    n = seller.size
    by_seller = np.argsort(seller, kind="stable")
    grouped = seller[by_seller]
    starts = np.ones(n, dtype=bool)
    starts[1:] = grouped[1:] != grouped[:-1]
    first_of_group = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    occurrence = np.empty(n, dtype=np.int64)
    occurrence[by_seller] = np.arange(n) - first_of_group  # how many of its seller came before
    top = np.flatnonzero(occurrence < max_per_seller)[:k]
    rest = np.ones(n, dtype=bool)
    rest[top] = False
    return np.concatenate([top, np.flatnonzero(rest)]).astype(np.int64)


@dataclass(frozen=True)
class SearchRules:
    """Per-product flags of one product table (row ``i`` = product row ``i`` of the index).

    Attributes:
        servable: ``bool (n,)`` in stock and not reported.
        sponsored: ``bool (n,)`` ``is_sponsored`` (unknown: not sponsored).
        seller: ``int64 (n,)`` seller codes; products without a seller get a code of their own.
        config: the knobs.
    """

    servable: BoolArray
    sponsored: BoolArray
    seller: Int64Array
    config: SearchRulesConfig

    @property
    def n_products(self) -> int:
        return int(self.servable.size)

    @classmethod
    def build(cls, products: pd.DataFrame, config: SearchRulesConfig | None = None) -> SearchRules:
        """Flags for ``products`` (columns ``stock``, ``is_reported``, ``is_sponsored``, ``seller_id``)."""
        missing = set(RULES_COLUMNS) - set(products.columns)
        if missing:
            raise ValueError(f"products lack columns the search rules need: {sorted(missing)}")
        codes, uniques = pd.factorize(products["seller_id"], use_na_sentinel=True)
        seller = np.asarray(codes, dtype=np.int64)
        unknown = seller < 0
        seller[unknown] = len(uniques) + np.arange(int(unknown.sum()))
        return cls(
            servable=servable_mask(products),
            sponsored=products["is_sponsored"].fillna(False).to_numpy(dtype=bool),
            seller=seller,
            config=config or SearchRulesConfig(),
        )

    def apply(self, hits: Hits, *, k: int | None = None) -> RuledHits:
        """Apply the rules to one ranked list (``hits`` best first, unique rows, finite scores);
        ``k`` overrides ``config.k`` for this call (the page size a request asked for)."""
        window = self.config.k if k is None else k
        if window < 1:
            raise ValueError(f"k must be ≥ 1, got {window}")
        rows = hits.rows
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_products):
            raise ValueError(f"rows must be product rows in [0, {self.n_products})")
        if np.unique(rows).size != rows.size:
            raise ValueError("rows must be unique (merge and de-duplicate candidates first)")
        if not np.isfinite(hits.scores).all():
            raise ValueError("scores must be finite")
        keep = self.servable[rows]
        rows, scores = rows[keep], hits.scores[keep]
        config = self.config
        boosted = sponsored_boost(
            scores,
            self.sponsored[rows],
            max_positions=config.sponsored_max_positions,
            max_boost=config.sponsored_max_boost,
        )
        gain = np.where(self.sponsored[rows[boosted]], boosted - np.arange(boosted.size), 0)
        rows, scores = rows[boosted], scores[boosted]
        diverse = seller_diversity(self.seller[rows], k=window, max_per_seller=config.max_per_seller)
        position = np.arange(diverse.size)
        return RuledHits(
            hits=Hits(rows[diverse], np.asarray(scores[diverse], dtype=np.float32)),
            boost_gain=np.asarray(np.maximum(gain, 0)[diverse], dtype=np.int64),
            demoted=np.asarray(diverse < position, dtype=bool),  # now stands later than before
            dropped=int(hits.rows.size - keep.sum()),
        )
