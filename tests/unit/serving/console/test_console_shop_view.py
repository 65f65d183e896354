"""The Búsqueda page's shop panel: a page of the marketplace search with links that narrow,
widen, sort and turn pages, each keeping the page's other parameters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from support import marketplace_engine as shop

from vitrina.core.search.filters import FilterError, SearchFilters
from vitrina.serving.console.shop_view import ShopParams, shop_view

pytestmark = pytest.mark.unit
BASE = [("q", "taladro"), ("lang", "en")]


def _params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def test_the_panel_pages_narrows_widens_and_sorts_with_links() -> None:
    engine = shop.engine()
    first = shop_view(engine, "taladro", ShopParams(SearchFilters()), base=BASE)
    assert (first.first, first.last) == (1, 10)
    assert [i.rank for i in first.items] == list(range(1, 11))
    assert first.previous is None
    assert first.following is not None
    assert _params(first.following)["offset"] == ["10"]
    assert _params(first.following)["lang"] == ["en"]
    bosch = next(link for link in first.facets["brand"] if link.label == "Bosch")
    narrowed = _params(bosch.href)
    assert narrowed["brand"] == ["Bosch"]
    assert "offset" not in narrowed  # a new filter starts again from the first page
    second = shop_view(
        engine, "taladro", ShopParams(SearchFilters(brands=("Makita",)), "price_asc", 10), base=BASE
    )
    assert {i.brand for i in second.items} == {"Makita"}
    assert second.first == 11
    assert second.previous is not None
    assert _params(second.previous).get("offset") is None  # back to the first page
    prices = [i.price for i in second.items]
    assert prices == sorted(prices)
    (chip,) = second.chips
    assert chip.label == "Makita"
    assert "brand" not in _params(chip.href)
    assert _params(chip.href)["sort"] == ["price_asc"]
    assert [s.label for s in second.sorts if s.selected] == ["price_asc"]
    assert sum(b.count for b in second.price_bands) == second.total
    with pytest.raises(FilterError, match="brand"):
        shop_view(engine, "taladro", ShopParams(SearchFilters(brands=("Mikita",))), base=BASE)
    engine.close()
