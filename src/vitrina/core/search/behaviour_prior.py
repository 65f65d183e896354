"""Behavioural rates shrunk towards their category's rate, with a strength the shop's data sets.

A product that has been on sale for a day has had a day to collect views, and one shown ten times
in search has had ten chances to be clicked. Read raw, its counts say "unpopular" when they only
say "new" (docs/adr/0044). Each behavioural rate of the search signals is therefore an empirical
Bayes estimate: the product's own evidence plus a prior worth ``strength`` units of exposure,
centred on its L3 category's pooled rate::

    rate = (events + strength × category_rate) / (exposure + strength)

A product without exposure gets its category's rate; one with much exposure keeps its own. The
strength is not a constant: it is the method-of-moments estimate of how much the true rates of
products differ within a category, given how much of the observed spread the sampling noise of
their exposure explains (Gamma–Poisson for counts per day, Beta–binomial for click-through).
Little true spread → a strong prior; much → a weak one. :class:`Prior` records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Kind = Literal["poisson", "binomial"]


@dataclass(frozen=True)
class Prior:
    """The fitted prior of one rate: ``strength`` in exposure units (days, impressions),
    ``rate`` the catalog-wide pooled rate, ``fitted_on`` the products with exposure it used."""

    strength: float
    rate: float
    fitted_on: int


def _pooled(events: FloatArray, exposure: FloatArray, groups: npt.NDArray[np.int64]) -> FloatArray:
    """Each group's pooled rate (sum of events / sum of exposure), NaN for a group without exposure."""
    n = int(groups.max()) + 1 if groups.size else 0
    num = np.bincount(groups, weights=events, minlength=n)
    den = np.bincount(groups, weights=exposure, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def fit_prior(events: FloatArray, exposure: FloatArray, groups: npt.NDArray[np.int64], kind: Kind) -> Prior:
    """Method-of-moments prior strength for rates ``events / exposure`` around their group's rate.

    Over products with exposure, the observed variance of ``rate - group rate`` is the true
    between-product variance plus the sampling noise (Poisson: ``rate / exposure``; binomial:
    ``rate (1 - rate) / exposure``). Strength = ``mean / true variance`` (Poisson) or
    ``mean (1 - mean) / true variance - 1`` (binomial). When the noise explains all of the spread
    the products are indistinguishable from their category: the strength is the whole exposure
    the fit saw (as strong as the data can make it); without any exposure it is 1.
    """
    seen = exposure > 0
    total = float(exposure[seen].sum())
    rate = float(events[seen].sum() / total) if total > 0 else 0.0
    if seen.sum() < 2 or rate <= 0.0:
        return Prior(strength=max(total, 1.0), rate=rate, fitted_on=int(seen.sum()))
    centre = _pooled(events, exposure, groups)[groups[seen]]
    own = events[seen] / exposure[seen]
    noise = centre / exposure[seen] if kind == "poisson" else centre * (1.0 - centre) / exposure[seen]
    between = float(np.mean((own - centre) ** 2) - np.mean(noise))
    spread = rate if kind == "poisson" else rate * (1.0 - rate)
    if between <= 0.0:
        return Prior(strength=total, rate=rate, fitted_on=int(seen.sum()))
    strength = spread / between - (1.0 if kind == "binomial" else 0.0)
    return Prior(strength=float(np.clip(strength, 1e-6, total)), rate=rate, fitted_on=int(seen.sum()))


def shrunk_rates(
    events: FloatArray, exposure: FloatArray, groups: npt.NDArray[np.int64], prior: Prior
) -> FloatArray:
    """Every product's rate shrunk towards its group's rate (itself shrunk towards the catalog's,
    with the same strength, so a category with little exposure does not stand on its own)."""
    n = int(groups.max()) + 1 if groups.size else 0
    num = np.bincount(groups, weights=events, minlength=n)
    den = np.bincount(groups, weights=exposure, minlength=n)
    group_rate = (num + prior.strength * prior.rate) / (den + prior.strength)
    return np.asarray(
        (events + prior.strength * group_rate[groups]) / (exposure + prior.strength), dtype=np.float64
    )
