"""Facet counts of one search: how many of its matched products have each category, brand,
seller and price band.

Counts are over the *matched pool* — every product the query retrieved that passes the
request's filters and may be shown — not over the page, so a facet says what narrowing the
search further would leave. A count is one ``bincount`` over the pool's codes (the pool is a
few hundred rows), so facets cost microseconds and are recomputed from a cached pool.

Price bands have round edges (1, 2 or 5 × 10ⁿ steps, at most :data:`MAX_PRICE_BANDS` bands)
over the pool's price range, so they read as a shopper would type them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vitrina.core.search.filters import CATEGORY_LEVELS, Coded, FilterIndex
from vitrina.core.search.types import Int64Array

MAX_FACET_VALUES = 10
MAX_PRICE_BANDS = 6


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class PriceBand:
    """Products priced in ``[low, high)`` (``high`` None: no upper edge)."""

    low: float
    high: float | None
    count: int


@dataclass(frozen=True)
class Facets:
    """Counts per field (most frequent first, ties by name) and price bands."""

    fields: dict[str, list[FacetValue]]
    price_bands: list[PriceBand]
    price_min: float | None
    price_max: float | None


def _counts(field: Coded, rows: Int64Array, limit: int) -> list[FacetValue]:
    counts = np.bincount(field.codes[rows], minlength=len(field.names))
    present = [c for c in np.flatnonzero(counts).tolist() if field.names[c]]
    present.sort(key=lambda c: (-int(counts[c]), field.names[c]))
    return [FacetValue(field.names[c], int(counts[c])) for c in present[:limit]]


def band_step(low: float, high: float, bands: int = MAX_PRICE_BANDS) -> float:
    """The smallest round step (1, 2 or 5 × 10ⁿ) that covers ``[low, high]`` in ``bands`` bands."""
    span = max(high - low, 1e-9)
    exponent = math.floor(math.log10(span / bands))
    for base in (1.0, 2.0, 5.0, 10.0):
        step = base * 10.0**exponent
        if math.floor(high / step) - math.floor(low / step) + 1 <= bands:
            return step
    return 10.0 ** (exponent + 1)  # pragma: no cover - 10 × 10ⁿ always fits


def price_bands(prices: np.ndarray) -> list[PriceBand]:
    """Counts of ``prices`` (finite) in round bands; one band when every price is equal."""
    if prices.size == 0:
        return []
    low, high = float(prices.min()), float(prices.max())
    if low == high:
        return [PriceBand(low, None, int(prices.size))]
    step = band_step(low, high)
    first = math.floor(low / step)
    slot = np.floor(prices / step).astype(np.int64) - first
    counts = np.bincount(slot)
    return [
        PriceBand(round((first + i) * step, 10), round((first + i + 1) * step, 10), int(c))
        for i, c in enumerate(counts.tolist())
        if c
    ]


def facet_counts(index: FilterIndex, rows: Int64Array, limit: int = MAX_FACET_VALUES) -> Facets:
    """Facets of the matched pool ``rows`` (product rows of ``index``'s table)."""
    pool = np.asarray(rows, dtype=np.int64)
    fields = {
        level: _counts(coded, pool, limit) for level, coded in zip(CATEGORY_LEVELS, index.levels, strict=True)
    }
    fields["brand"] = _counts(index.brand, pool, limit)
    fields["seller"] = _counts(index.seller, pool, limit)
    prices = index.price[pool]
    prices = prices[np.isfinite(prices)]
    return Facets(
        fields=fields,
        price_bands=price_bands(prices),
        price_min=float(prices.min()) if prices.size else None,
        price_max=float(prices.max()) if prices.size else None,
    )
