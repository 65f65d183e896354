"""The query parameters of a marketplace search, checked into a :class:`BrowseRequest`."""

from __future__ import annotations

from vitrina.core.search.filters import FilterError, SearchFilters
from vitrina.core.search.sorting import Sort, as_sort
from vitrina.serving.search.browse import BrowseRequest


def browse_request(
    category: list[str] | None,
    brand: list[str] | None,
    seller: list[str] | None,
    price_min: float | None,
    price_max: float | None,
    in_stock: bool,
    sort: Sort | str,
    offset: int,
    cursor: str | None,
    facets: bool,
) -> BrowseRequest:
    """Raises :class:`~vitrina.core.search.filters.FilterError` for a malformed combination
    (an empty value, price_min above price_max, in_stock=false, offset with cursor)."""
    filters = SearchFilters(
        categories=tuple(category or ()),
        brands=tuple(brand or ()),
        sellers=tuple(seller or ()),
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
    )
    if cursor is not None and offset:
        raise FilterError("give either offset or cursor, not both")
    return BrowseRequest(filters=filters, sort=as_sort(sort), offset=offset, cursor=cursor, facets=facets)
