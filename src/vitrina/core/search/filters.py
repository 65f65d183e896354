"""Marketplace filters of a search: category (any level), brand, seller, price range, in stock.

A :class:`SearchFilters` is what a request asked for; :class:`FilterIndex` turns it into a
boolean mask over the product rows of one index version, which the retrievers honour
*before* their top-k cut (the best ``k`` matches among the allowed products, not the allowed
few among the best ``k`` of everything).

Values match whole names, compared folded (case and accents ignored): ``category=herramientas``
matches a product whose level-1, level-2 or level-3 category is *Herramientas*. Several values
of one field are alternatives (OR); different fields must all hold (AND). A value the served
catalog does not have is refused (:class:`FilterError`): a misspelt brand would otherwise
answer an empty page that looks like "no such product".

Out-of-stock products are never shown (the servable rule shared with recommendations), so
``in_stock`` can only be true; asking for out-of-stock products is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.search.products import ProductTable
from vitrina.core.search.text import fold

BoolArray = npt.NDArray[np.bool_]
Field = Literal["category", "brand", "seller", "price"]
CATEGORY_LEVELS = ("category_l1", "category_l2", "category_l3")
MAX_VALUES = 20
"""Values one field may list (a request naming hundreds of brands is not a shopper's)."""


class FilterError(ValueError):
    """A filter a request cannot have: malformed, contradictory or naming an unknown value."""


def _key(value: str) -> str:
    return " ".join(fold(value).split())


def _values(field: str, values: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v.strip() for v in values))
    if any(not v for v in cleaned):
        raise FilterError(f"{field}: an empty value; name a {field} or leave the filter out")
    if len(cleaned) > MAX_VALUES:
        raise FilterError(f"{field}: at most {MAX_VALUES} values, got {len(cleaned)}")
    return cleaned


@dataclass(frozen=True)
class SearchFilters:
    """What one request restricts its results to (empty tuples / None: no restriction)."""

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    sellers: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", _values("category", tuple(self.categories)))
        object.__setattr__(self, "brands", _values("brand", tuple(self.brands)))
        object.__setattr__(self, "sellers", _values("seller", tuple(self.sellers)))
        for name in ("price_min", "price_max"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise FilterError(f"{name} must be a finite number ≥ 0, got {value}")
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise FilterError(f"price_min ({self.price_min:g}) is above price_max ({self.price_max:g})")
        if not self.in_stock:
            raise FilterError("in_stock=false cannot be served: out-of-stock products are never shown")

    @property
    def is_empty(self) -> bool:
        return (
            not (self.categories or self.brands or self.sellers)
            and self.price_min is None
            and (self.price_max is None)
        )

    @property
    def active(self) -> tuple[Field, ...]:
        """The fields this request restricts, in the order zero-result recovery drops them
        (price first: the shopper's words say more about what they want than a budget)."""
        out: list[Field] = []
        if self.price_min is not None or self.price_max is not None:
            out.append("price")
        out += [f for f, v in (("seller", self.sellers), ("brand", self.brands)) if v]  # type: ignore[misc]
        if self.categories:
            out.append("category")
        return tuple(out)

    def without(self, field: Field) -> SearchFilters:
        """These filters with ``field`` lifted."""
        if field == "price":
            return replace(self, price_min=None, price_max=None)
        if field == "category":
            return replace(self, categories=())
        if field == "brand":
            return replace(self, brands=())
        return replace(self, sellers=())

    def as_dict(self) -> dict[str, object]:
        """The filters in the request's own terms (what a response echoes)."""
        out: dict[str, object] = {}
        if self.categories:
            out["category"] = list(self.categories)
        if self.brands:
            out["brand"] = list(self.brands)
        if self.sellers:
            out["seller"] = list(self.sellers)
        if self.price_min is not None:
            out["price_min"] = self.price_min
        if self.price_max is not None:
            out["price_max"] = self.price_max
        return out

    @property
    def key(self) -> str:
        """A canonical text of the filters, equal for equal restrictions (folded, sorted):
        part of cache keys and cursors."""
        canonical = {
            "c": sorted({_key(v) for v in self.categories}),
            "b": sorted({_key(v) for v in self.brands}),
            "s": sorted({_key(v) for v in self.sellers}),
            "p": [self.price_min, self.price_max],
        }
        text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if not self.is_empty else ""


@dataclass(frozen=True)
class Coded:
    """One text field of the catalog as integer codes (row → code) and folded names (code → name)."""

    codes: npt.NDArray[np.int64]
    names: tuple[str, ...]
    lookup: dict[str, list[int]]
    """Folded name → the codes of every spelling that folds to it."""

    @classmethod
    def of(cls, column: pd.Series) -> Coded:
        text = column.fillna("").astype(str)
        codes, uniques = pd.factorize(text, sort=True)
        names = tuple(str(u) for u in uniques)
        lookup: dict[str, list[int]] = {}
        for code, name in enumerate(names):
            if name:
                lookup.setdefault(_key(name), []).append(code)
        return cls(np.asarray(codes, dtype=np.int64), names, lookup)

    def rows_matching(self, keys: set[str]) -> BoolArray:
        """Rows whose name folds to one of ``keys``."""
        wanted = np.zeros(len(self.names), dtype=bool)
        wanted[[code for key in keys for code in self.lookup.get(key, ())]] = True
        return np.asarray(wanted[self.codes], dtype=bool)


def _nanoseconds(column: pd.Series) -> npt.NDArray[np.int64]:
    stamps = pd.to_datetime(column, utc=True, errors="coerce")
    values = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.asarray(np.where(stamps.isna().to_numpy(), np.iinfo(np.int64).min, values), dtype=np.int64)


@dataclass(frozen=True)
class FilterIndex:
    """The filterable fields of one product table, coded once per index version."""

    levels: tuple[Coded, ...]
    brand: Coded
    seller: Coded
    price: npt.NDArray[np.float64]
    updated: npt.NDArray[np.int64]
    """``updated_at`` in nanoseconds since the epoch (unknown: the smallest int64)."""
    servable: BoolArray

    @classmethod
    def build(cls, products: ProductTable) -> FilterIndex:
        frame = products.frame
        return cls(
            levels=tuple(Coded.of(frame[c]) for c in CATEGORY_LEVELS),
            brand=Coded.of(frame["brand"]),
            seller=Coded.of(frame["seller_id"]),
            price=pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=np.float64),
            updated=_nanoseconds(frame["updated_at"]),
            servable=products.servable,
        )

    @property
    def n_products(self) -> int:
        return int(self.price.size)

    def _known(self, field: str, values: tuple[str, ...], fields: tuple[Coded, ...]) -> set[str]:
        keys = {_key(v) for v in values}
        unknown = sorted(v for v in values if not any(_key(v) in f.lookup for f in fields))
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5])
            raise FilterError(f"{field}: no product of the served catalog has {shown}")
        return keys

    def validate(self, filters: SearchFilters) -> None:
        """Raise :class:`FilterError` when a value names nothing in this catalog."""
        self._known("category", filters.categories, self.levels)
        self._known("brand", filters.brands, (self.brand,))
        self._known("seller", filters.sellers, (self.seller,))

    def mask(self, filters: SearchFilters) -> BoolArray | None:
        """Rows that pass every filter and may be shown; None without any filter (everything
        servable is allowed, and retrieval runs exactly as an unfiltered search)."""
        if filters.is_empty:
            return None
        allowed = self.servable.copy()
        if filters.categories:
            keys = self._known("category", filters.categories, self.levels)
            any_level = np.zeros(self.n_products, dtype=bool)
            for level in self.levels:
                any_level |= level.rows_matching(keys)
            allowed &= any_level
        if filters.brands:
            allowed &= self.brand.rows_matching(self._known("brand", filters.brands, (self.brand,)))
        if filters.sellers:
            allowed &= self.seller.rows_matching(self._known("seller", filters.sellers, (self.seller,)))
        with np.errstate(invalid="ignore"):
            if filters.price_min is not None:
                allowed &= self.price >= filters.price_min
            if filters.price_max is not None:
                allowed &= self.price <= filters.price_max
        return allowed
