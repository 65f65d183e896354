"""Data of the Búsqueda page's shop panel: the search as a shopper gets it from ``GET /search``.

One page of the marketplace search (:func:`vitrina.core.search.browse.search_pool`: filters
applied before the top-k cut, sorted, relaxed when nothing matched) with its facet counts as
links that add a filter, the active filters as chips that remove one, and links to the
previous and next pages. Links carry every parameter of the page, so the panel works
without JavaScript; the search box's suggestions (``GET /suggest``) are the only script.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np

from vitrina.core.search.browse import search_pool
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.facets import facet_counts
from vitrina.core.search.filters import SearchFilters
from vitrina.core.search.pages import Page
from vitrina.core.search.sorting import SORTS, Sort

PAGE_SIZE = 10
FACET_FIELDS = (
    ("category_l1", "category"),
    ("category_l2", "category"),
    ("brand", "brand"),
    ("seller", "seller"),
)


@dataclass(frozen=True)
class ShopItem:
    rank: int
    product_id: str
    title: str
    brand: str
    category: str
    seller: str
    price: float | None


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    count: int = 0
    selected: bool = False


@dataclass(frozen=True)
class ShopView:
    total: int
    first: int
    last: int
    items: list[ShopItem]
    facets: dict[str, list[Link]]
    price_bands: list[Link]
    chips: list[Link]
    sorts: list[Link]
    previous: str | None = None
    following: str | None = None
    relaxed: str | None = None


@dataclass(frozen=True)
class ShopParams:
    """The panel's own query parameters (besides ``q``, ``user_id`` and ``lang``)."""

    filters: SearchFilters
    sort: Sort = "relevance"
    offset: int = 0

    def pairs(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = [("category", c) for c in self.filters.categories]
        out += [("brand", b) for b in self.filters.brands]
        out += [("seller", s) for s in self.filters.sellers]
        if self.filters.price_min is not None:
            out.append(("price_min", f"{self.filters.price_min:g}"))
        if self.filters.price_max is not None:
            out.append(("price_max", f"{self.filters.price_max:g}"))
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        if self.offset:
            out.append(("offset", str(self.offset)))
        return out


def _href(base: list[tuple[str, str]], params: ShopParams) -> str:
    return "/console/search?" + urlencode(base + params.pairs())


def shop_view(
    engine: SearchEngine,
    q: str,
    params: ShopParams,
    *,
    base: list[tuple[str, str]],
    user_id: str | None = None,
    limit: int = PAGE_SIZE,
) -> ShopView:
    """The panel for ``q`` (raises ``FilterError`` for a filter the catalog does not have);
    ``base``: the page's other parameters (``q``, ``user_id``, ``lang``) every link keeps."""
    filters = params.filters
    pool = search_pool(engine, q, user_id=user_id, filters=filters, sort=params.sort)
    page = Page(
        offset=min(params.offset, max(int(pool.rows.size) - 1, 0)), limit=limit, total=int(pool.rows.size)
    )
    frame = engine.products.frame
    rows = pool.rows[page.offset : page.stop]
    items = []
    for i, row in enumerate(rows.tolist()):
        product = frame.iloc[row]
        price = float(product["price"])
        items.append(
            ShopItem(
                rank=page.offset + i + 1,
                product_id=str(product["product_id"]),
                title=str(product["title"]),
                brand=str(product["brand"]),
                category=str(product["category_l3"]),
                seller=str(product["seller_id"]),
                price=price if np.isfinite(price) else None,
            )
        )
    facets = facet_counts(engine.catalog_filters, pool.rows)
    links: dict[str, list[Link]] = {}
    for name, kind in FACET_FIELDS:
        chosen = {"category": filters.categories, "brand": filters.brands, "seller": filters.sellers}[kind]
        out = []
        for value in facets.fields[name]:
            narrowed = _narrowed(filters, kind, value.value)
            out.append(
                Link(
                    value.value,
                    _href(base, ShopParams(narrowed, params.sort)),
                    value.count,
                    value.value in chosen,
                )
            )
        links[name] = out
    bands = [
        Link(
            f"{b.low:g}–{b.high:g}" if b.high is not None else f"{b.low:g}+",
            _href(base, ShopParams(_priced(filters, b.low, b.high), params.sort)),
            b.count,
        )
        for b in facets.price_bands
    ]
    chips = [Link(label, _href(base, ShopParams(lifted, params.sort))) for label, lifted in _chips(filters)]
    sorts = [Link(s, _href(base, ShopParams(filters, s)), selected=s == params.sort) for s in SORTS]
    previous = None
    if page.offset > 0:
        previous = _href(base, ShopParams(filters, params.sort, max(page.offset - limit, 0)))
    following = page.next_offset
    return ShopView(
        total=page.total,
        first=page.offset + 1 if page.total else 0,
        last=page.stop,
        items=items,
        facets=links,
        price_bands=bands,
        chips=chips,
        sorts=sorts,
        previous=previous,
        following=None if following is None else _href(base, ShopParams(filters, params.sort, following)),
        relaxed=None if pool.relaxation is None else pool.relaxation.message,
    )


def _narrowed(filters: SearchFilters, kind: str, value: str) -> SearchFilters:
    if kind == "category":
        return SearchFilters(
            (*filters.categories, value) if value not in filters.categories else filters.categories,
            filters.brands,
            filters.sellers,
            filters.price_min,
            filters.price_max,
        )
    if kind == "brand":
        brands = (*filters.brands, value) if value not in filters.brands else filters.brands
        return SearchFilters(
            filters.categories, brands, filters.sellers, filters.price_min, filters.price_max
        )
    sellers = (*filters.sellers, value) if value not in filters.sellers else filters.sellers
    return SearchFilters(filters.categories, filters.brands, sellers, filters.price_min, filters.price_max)


def _priced(filters: SearchFilters, low: float, high: float | None) -> SearchFilters:
    return SearchFilters(filters.categories, filters.brands, filters.sellers, low, high)


def _chips(filters: SearchFilters) -> list[tuple[str, SearchFilters]]:
    """One chip per active value, with the filters left when it is removed."""
    out = []
    for c in filters.categories:
        rest = tuple(v for v in filters.categories if v != c)
        out.append(
            (c, SearchFilters(rest, filters.brands, filters.sellers, filters.price_min, filters.price_max))
        )
    for b in filters.brands:
        rest = tuple(v for v in filters.brands if v != b)
        out.append(
            (
                b,
                SearchFilters(
                    filters.categories, rest, filters.sellers, filters.price_min, filters.price_max
                ),
            )
        )
    for s in filters.sellers:
        rest = tuple(v for v in filters.sellers if v != s)
        out.append(
            (s, SearchFilters(filters.categories, filters.brands, rest, filters.price_min, filters.price_max))
        )
    if filters.price_min is not None or filters.price_max is not None:
        low = "" if filters.price_min is None else f"{filters.price_min:g}"
        high = "" if filters.price_max is None else f"{filters.price_max:g}"
        out.append((f"{low}–{high}", filters.without("price")))
    return out
