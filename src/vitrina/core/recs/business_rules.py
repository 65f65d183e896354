"""Business filters applied to ranked candidates before the final cut (docs/spec.md §3.5).

Three rules, in the order a shopper would complain about them:

* **out of stock** (``stock <= 0`` or unknown): a product that cannot be bought is never
  recommended — not configurable;
* **reported** (``is_reported``): a product under review for policy reasons is never
  recommended — not configurable;
* **already purchased**: a product the user already bought is hidden, except in
  categories where people buy the same thing again (:class:`RulesConfig`, by ``category_l1``;
  default: groceries and pet food). Hiding a TV someone just bought is good taste; hiding
  the milk they buy every week is a lost sale.

:class:`BusinessRules` precomputes per-item flags and the set of (user, item) purchases once,
then answers for whole candidate matrices at a time: :meth:`BusinessRules.allowed` gives the
boolean mask, :meth:`BusinessRules.apply` removes the rest and closes the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_CODE, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.visible_products import servable_mask

BoolArray = npt.NDArray[np.bool_]

DEFAULT_REPURCHASE_L1 = frozenset({"Supermercado", "Mascotas"})
"""Top-level categories of consumables that are bought again and again (food, pet food)."""


@dataclass(frozen=True)
class RulesConfig:
    """Which already-purchased products may be recommended again.

    Attributes:
        repurchase_l1: ``category_l1`` names whose products stay recommendable after a
            purchase. Default: Supermercado and Mascotas (consumables). Pass an empty set
            to hide every purchased product, or add e.g. "Belleza" for a cosmetics shop.
    """

    repurchase_l1: frozenset[str] = field(default_factory=lambda: DEFAULT_REPURCHASE_L1)


@dataclass(frozen=True)
class BusinessRules:
    """Per-item flags and past purchases, ready to filter candidate matrices.

    Attributes:
        servable: ``bool (n_items,)``: in stock and not reported.
        repurchasable: ``bool (n_items,)``: may be shown again after the user bought it.
        purchased: sorted unique keys ``user * n_items + item`` of past purchases.
    """

    servable: BoolArray
    repurchasable: BoolArray
    purchased: IntArray

    @property
    def n_items(self) -> int:
        return int(self.servable.size)

    @classmethod
    def build(
        cls, catalog: pd.DataFrame, history: Interactions | None = None, config: RulesConfig | None = None
    ) -> BusinessRules:
        """Rules for ``catalog`` (row ``i`` = item ``i``; columns ``stock``, ``is_reported``,
        ``category_l1``) and the purchases found in ``history`` (only ``purchase`` events are
        used; pass the interactions before the cutoff the lists are made for)."""
        config = config or RulesConfig()
        missing = {"stock", "is_reported", "category_l1"} - set(catalog.columns)
        if missing:
            raise ValueError(f"catalog lacks columns the business rules need: {sorted(missing)}")
        servable = servable_mask(catalog)
        repurchasable = catalog["category_l1"].isin(config.repurchase_l1).to_numpy(dtype=bool)
        n_items = len(catalog)
        purchased = np.zeros(0, dtype=np.int64)
        if history is not None and len(history):
            bought = history.event == EVENT_CODE["purchase"]
            item = history.item[bought]
            if item.size and item.max() >= n_items:
                raise ValueError("history refers to items outside the catalog")
            purchased = np.unique(history.user[bought] * n_items + item)
        return cls(servable, repurchasable, purchased)

    def exclude(self) -> BoolArray:
        """Items no list may contain whoever the user is (the ``exclude`` of ``Recommender``)."""
        return ~self.servable

    def allowed(self, users: npt.ArrayLike, candidates: npt.ArrayLike) -> BoolArray:
        """``bool (n, m)``: which candidates of each user's row may be shown (PAD never)."""
        user = np.asarray(users, dtype=np.int64)
        items = np.asarray(candidates, dtype=np.int64)
        if items.ndim != 2 or user.shape != (items.shape[0],):
            raise ValueError(f"users {user.shape} must have one entry per candidate row {items.shape}")
        if items.size and (items.min() < PAD or items.max() >= self.n_items):
            raise ValueError(f"candidates must be item indices in [0, {self.n_items}) or PAD")
        real = items != PAD
        safe = np.where(real, items, 0)
        ok = real & self.servable[safe]
        if self.purchased.size:
            key = user[:, None] * self.n_items + safe
            pos = np.minimum(np.searchsorted(self.purchased, key), self.purchased.size - 1)
            bought = self.purchased[pos] == key
            ok &= ~bought | self.repurchasable[safe]
        return np.asarray(ok, dtype=bool)

    def apply(
        self, users: npt.ArrayLike, candidates: npt.ArrayLike, scores: npt.ArrayLike
    ) -> tuple[IntArray, FloatArray]:
        """Drop disallowed candidates, keeping the others in their order, left-aligned.

        Returns ``(items, scores)`` of the input shape, with ``PAD`` / ``-inf`` after the
        survivors of each row.
        """
        items = np.asarray(candidates, dtype=np.int64)
        score = np.asarray(scores, dtype=np.float64)
        if score.shape != items.shape:
            raise ValueError(f"scores {score.shape} must match candidates {items.shape}")
        ok = self.allowed(users, items)
        order = np.argsort(~ok, axis=1, kind="stable")  # survivors first, in their order
        kept = np.take_along_axis(ok, order, axis=1)
        out_items = np.where(kept, np.take_along_axis(items, order, axis=1), PAD)
        out_scores = np.where(kept, np.take_along_axis(score, order, axis=1), -np.inf)
        return out_items.astype(np.int64), out_scores
