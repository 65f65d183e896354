"""Business filters applied to ranked candidates before the final cut (docs/spec.md §3.5).

Three rules, in the order a shopper would complain about them:

* **out of stock** (``stock <= 0`` or unknown): a product that cannot be bought is never
  recommended — not configurable;
* **reported** (``is_reported``): a product under review for policy reasons is never
  recommended — not configurable;
* **already purchased**: a product the user already bought is hidden, unless the shop's own
  history shows it is bought again: its repurchase rate — the share of its buyers who bought it
  on another day, shrunk towards its category's when it has few buyers
  (:mod:`vitrina.core.recs.repurchase`) — is at least ``min_rate`` (default
  :data:`~vitrina.core.recs.repurchase.REPEATABLE_RATE`, 0.1). Hiding a TV someone just bought
  is good taste; hiding the milk they buy every week is a lost sale. The shop may override the
  data for named categories (any level) or products, always or never repeatable
  (:class:`RulesConfig`, from the shop file's ``repurchase`` key); a product's own override
  wins over its category's.

:class:`BusinessRules` precomputes per-item flags and the set of (user, item) purchases once,
then answers for whole candidate matrices at a time: :meth:`BusinessRules.allowed` gives the
boolean mask, :meth:`BusinessRules.apply` removes the rest and closes the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_CODE, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.visible_products import servable_mask
from vitrina.core.recs.repurchase import CATEGORY_LEVELS, REPEATABLE_RATE, RepurchaseStats

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RulesConfig:
    """Which already-purchased products may be recommended again.

    Attributes:
        min_rate: a purchased product may reappear when its learnt repurchase rate is at least
            this (0 lets every purchase reappear; above 1 hides them all).
        always_categories / never_categories: category names (``category_l1``, ``_l2`` or
            ``_l3``) whose products are repeatable, or not, whatever the data says.
        always_items / never_items: product ids, the same, and over their category's setting.
    """

    min_rate: float = REPEATABLE_RATE
    always_categories: frozenset[str] = field(default_factory=frozenset)
    never_categories: frozenset[str] = field(default_factory=frozenset)
    always_items: frozenset[str] = field(default_factory=frozenset)
    never_items: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = (self.always_categories & self.never_categories) | (self.always_items & self.never_items)
        if both:
            raise ValueError(f"both always and never repeatable: {sorted(both)}")

    @classmethod
    def of(cls, **values: Any) -> RulesConfig:
        """From plain values (lists become sets): e.g. the shop file's ``repurchase`` mapping."""
        converted: dict[str, Any] = {
            k: frozenset(v) if isinstance(v, (list, tuple, set)) else v for k, v in values.items()
        }
        return cls(**converted)

    def repeatable(self, catalog: pd.DataFrame, learnt: BoolArray) -> BoolArray:
        """``learnt`` with the overrides applied: categories first, then products."""
        out = np.asarray(learnt, dtype=bool).copy()
        levels = [level for level in CATEGORY_LEVELS if level in catalog.columns]
        for names, value in ((self.always_categories, True), (self.never_categories, False)):
            if names:
                hit = np.zeros(len(catalog), dtype=bool)
                for level in levels:
                    hit |= catalog[level].isin(names).to_numpy(dtype=bool)
                out[hit] = value
        for names, value in ((self.always_items, True), (self.never_items, False)):
            if names:
                if "product_id" not in catalog.columns:
                    raise ValueError("repurchase overrides by product need the catalog's product_id")
                out[catalog["product_id"].isin(names).to_numpy(dtype=bool)] = value
        return out


@dataclass(frozen=True)
class BusinessRules:
    """Per-item flags and past purchases, ready to filter candidate matrices.

    Attributes:
        servable: ``bool (n_items,)``: in stock and not reported.
        repurchasable: ``bool (n_items,)``: may be shown again after the user bought it.
        purchased: sorted unique keys ``user * n_items + item`` of past purchases.
        config: the settings the rules were built with (to rebuild them on a newer history).
    """

    servable: BoolArray
    repurchasable: BoolArray
    purchased: IntArray
    config: RulesConfig = field(default_factory=RulesConfig)

    @property
    def n_items(self) -> int:
        return int(self.servable.size)

    @classmethod
    def build(
        cls, catalog: pd.DataFrame, history: Interactions | None = None, config: RulesConfig | None = None
    ) -> BusinessRules:
        """Rules for ``catalog`` (row ``i`` = item ``i``; columns ``stock``, ``is_reported``, and the
        category levels and ``product_id`` when present) and the purchases found in ``history``
        (only ``purchase`` events are hidden; repurchase rates are learnt from the same history:
        pass the interactions before the cutoff the lists are made for)."""
        config = config or RulesConfig()
        missing = {"stock", "is_reported"} - set(catalog.columns)
        if missing:
            raise ValueError(f"catalog lacks columns the business rules need: {sorted(missing)}")
        servable = servable_mask(catalog)
        n_items = len(catalog)
        learnt = np.zeros(n_items, dtype=bool)
        if history is not None and len(history) and (history.event == EVENT_CODE["purchase"]).any():
            learnt = RepurchaseStats.learn(history, catalog).rate >= config.min_rate
        repurchasable = config.repeatable(catalog, learnt)
        purchased = np.zeros(0, dtype=np.int64)
        if history is not None and len(history):
            bought = history.event == EVENT_CODE["purchase"]
            item = history.item[bought]
            if item.size and item.max() >= n_items:
                raise ValueError("history refers to items outside the catalog")
            purchased = np.unique(history.user[bought] * n_items + item)
        return cls(servable, repurchasable, purchased, config)

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
