"""Marketplace search on a small real-BM25 catalog: filters before the top-k cut, facets over
the matched pool, stable sorted pages, cursors, zero-result relaxation and the cache."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from support import marketplace_engine as shop

from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.adapters.search_cache.keys import search_cache_key
from vitrina.adapters.search_cache.sqlite import SQLiteResultCache
from vitrina.core.search.browse import search_pool
from vitrina.core.search.facets import band_step, facet_counts, price_bands
from vitrina.core.search.filters import FilterError, SearchFilters
from vitrina.core.search.pages import CursorError, Page, decode_cursor, encode_cursor, fingerprint
from vitrina.core.search.sorting import as_sort

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    built = shop.engine()
    yield built
    built.close()


def _brands(engine, rows) -> set[str]:  # type: ignore[no-untyped-def]
    return set(engine.products.frame["brand"].iloc[rows])


def test_a_brand_filter_applies_before_the_top_k_cut(engine) -> None:  # type: ignore[no-untyped-def]
    plain = search_pool(engine, "taladro")
    assert "Makita" not in _brands(engine, plain.rows)  # the unfiltered 100 best are all Bosch
    makita = search_pool(engine, "taladro", filters=SearchFilters(brands=("makita",)))
    servable = [i for i in shop.MAKITA if i % 17 != 0]
    assert sorted(makita.rows.tolist()) == servable  # every servable Makita drill, none other
    assert makita.filters.brands == ("makita",)
    assert makita.relaxation is None


def test_categories_match_at_any_level_folded_and_filters_combine(engine) -> None:  # type: ignore[no-untyped-def]
    frame = engine.products.frame
    for name in ("herramientas", "ELECTRICAS", "Taladros"):  # l1, l2 without its accent, l3
        pool = search_pool(engine, "taladro", filters=SearchFilters(categories=(name,)))
        assert set(frame["category_l3"].iloc[pool.rows]) == {"Taladros"}
    priced = SearchFilters(categories=("Taladros",), sellers=("s1",), price_min=20.0, price_max=30.0)
    pool = search_pool(engine, "taladro", filters=priced)
    chosen = frame.iloc[pool.rows]
    assert len(chosen) > 0
    assert set(chosen["seller_id"]) == {"s1"}
    assert chosen["price"].between(20.0, 30.0).all()
    assert (chosen["stock"] > 0).all()
    either = search_pool(engine, "taladro", filters=SearchFilters(brands=("Alba", "Makita")))
    assert _brands(engine, either.rows) == {"Alba", "Makita"}  # Makita by its words, Alba by meaning


def test_bad_filters_are_refused_with_the_reason() -> None:
    with pytest.raises(FilterError, match=r"price_min .* is above price_max"):
        SearchFilters(price_min=30, price_max=10)
    with pytest.raises(FilterError, match="finite number"):
        SearchFilters(price_min=float("nan"))
    with pytest.raises(FilterError, match="out-of-stock products are never shown"):
        SearchFilters(in_stock=False)
    with pytest.raises(FilterError, match="empty value"):
        SearchFilters(brands=(" ",))
    with pytest.raises(FilterError, match="sort must be one of relevance, price_asc"):
        as_sort("cheapest")


def test_an_unknown_value_is_refused_rather_than_answering_an_empty_page(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FilterError, match="brand: no product of the served catalog has 'Mikita'"):
        search_pool(engine, "taladro", filters=SearchFilters(brands=("Mikita",)))


def test_filter_keys_are_canonical() -> None:
    one = SearchFilters(brands=("Bosch", "Makita"), categories=("Taladros",))
    other = SearchFilters(brands=("makita", "BOSCH"), categories=("taladros",))
    assert one.key == other.key != SearchFilters(brands=("Bosch",)).key
    assert SearchFilters().key == ""


def test_facets_count_every_product_of_the_matched_pool(engine) -> None:  # type: ignore[no-untyped-def]
    pool = search_pool(engine, "taladro", filters=SearchFilters(price_max=40.0))
    facets = facet_counts(engine.catalog_filters, pool.rows)
    frame = engine.products.frame.iloc[pool.rows]
    for name in ("brand", "seller", "category_l1", "category_l2", "category_l3"):
        expected = Counter(frame[name if name != "seller" else "seller_id"])
        assert {v.value: v.count for v in facets.fields[name]} == dict(expected)
        counts = [v.count for v in facets.fields[name]]
        assert counts == sorted(counts, reverse=True)
    assert sum(b.count for b in facets.price_bands) == len(pool.rows)
    assert facets.price_min == frame["price"].min()
    assert facets.price_max == frame["price"].max()


def test_price_bands_have_round_edges_and_cover_every_price() -> None:
    prices = np.array([3.0, 12.5, 19.99, 48.0, 99.0])
    bands = price_bands(prices)
    step = band_step(3.0, 99.0)
    assert step == 20.0
    assert [(b.low, b.high) for b in bands] == [(0.0, 20.0), (40.0, 60.0), (80.0, 100.0)]
    assert [b.count for b in bands] == [3, 1, 1]
    assert [(b.low, b.high, b.count) for b in price_bands(np.array([5.0, 5.0]))] == [(5.0, None, 2)]


def test_pages_cut_a_stable_pool_without_overlap_or_gap(engine) -> None:  # type: ignore[no-untyped-def]
    pool = search_pool(engine, "taladro", sort="price_asc")
    again = search_pool(engine, "taladro", sort="price_asc")
    assert pool.rows.tolist() == again.rows.tolist()
    walked: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = Page(offset=offset, limit=7, total=int(pool.rows.size))
        walked += pool.rows[page.offset : page.stop].tolist()
        offset = page.next_offset
    assert walked == pool.rows.tolist()
    assert len(set(walked)) == len(walked)


def test_sorts_order_by_price_or_date_with_ties_by_product_id(engine) -> None:  # type: ignore[no-untyped-def]
    frame = engine.products.frame
    up = frame.iloc[search_pool(engine, "taladro", sort="price_asc").rows]
    assert list(zip(up["price"], up["product_id"], strict=True)) == sorted(
        zip(up["price"], up["product_id"], strict=True)
    )
    down = frame.iloc[search_pool(engine, "taladro", sort="price_desc").rows]
    assert list(zip(-down["price"], down["product_id"], strict=True)) == sorted(
        zip(-down["price"], down["product_id"], strict=True)
    )
    new = frame.iloc[search_pool(engine, "taladro", sort="newest").rows]
    stamps = new["updated_at"].astype("int64")
    assert list(zip(-stamps, new["product_id"], strict=True)) == sorted(
        zip(-stamps, new["product_id"], strict=True)
    )
    relevance = search_pool(engine, "taladro")
    assert sorted(up.index) == sorted(relevance.rows.tolist())  # the same pool, reordered


def test_a_relevance_pool_without_filters_continues_the_plain_first_page(engine) -> None:  # type: ignore[no-untyped-def]
    assert search_pool(engine, "taladro").rows[:20].tolist() == engine.search("taladro", k=20).rows.tolist()


def test_cursors_carry_the_offset_for_their_own_search_only() -> None:
    owner = fingerprint("products-v1", "m", "taladro", None, "", "relevance")
    assert decode_cursor(encode_cursor(20, owner), owner) == 20
    other = fingerprint("products-v2", "m", "taladro", None, "", "relevance")
    with pytest.raises(CursorError, match="belongs to another search"):
        decode_cursor(encode_cursor(20, owner), other)
    for junk in ("", "not-base64!", encode_cursor(5000, owner)):
        with pytest.raises(CursorError, match="not one this API issued"):
            decode_cursor(junk, owner)


def test_filters_that_leave_nothing_are_lifted_price_first_and_said(engine) -> None:  # type: ignore[no-untyped-def]
    narrow = SearchFilters(brands=("Alba",), price_min=1000.0)
    pool = search_pool(engine, "pintura", filters=narrow)
    assert pool.relaxation is not None
    assert pool.relaxation.steps == ("filters",)
    assert pool.relaxation.dropped_filters == ("price",)
    assert "without the price filter" in pool.relaxation.message
    assert pool.filters == SearchFilters(brands=("Alba",))
    assert _brands(engine, pool.rows) == {"Alba"}


def test_a_word_typed_half_way_is_completed_when_nothing_matched() -> None:
    bm25 = shop.engine(served_mode="bm25")
    assert bm25.search("percu").rows.size == 0  # no product has the word "percu"
    pool = search_pool(bm25, "percu")
    assert pool.relaxation is not None
    assert pool.relaxation.steps == ("completion",)
    assert pool.relaxation.query == "percutor"
    assert _brands(bm25, pool.rows) == {"Makita"}
    bm25.close()


def test_a_lexical_mode_that_matched_no_word_answers_with_the_semantic_branch() -> None:
    bm25 = shop.engine(served_mode="bm25")
    pool = search_pool(bm25, "zzzz qqqq")
    assert pool.relaxation is not None
    assert "semantic" in pool.relaxation.steps
    assert pool.relaxation.semantic
    assert _brands(bm25, pool.rows) == {"Alba"}  # what the stand-in semantic branch finds
    bm25.close()


def test_the_cache_keeps_pools_per_filters_and_sort(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = SQLiteResultCache(tmp_path / "cache.sqlite3")
    cached = CachedSearch(engine, cache)
    filters = SearchFilters(brands=("Makita",))
    first, hit = cached.pool("taladro", filters=filters, sort="price_desc")
    again, hit_again = cached.pool("Taladro ", filters=SearchFilters(brands=("makita",)), sort="price_desc")
    assert (hit, hit_again) == (False, True)
    assert again.rows.tolist() == first.rows.tolist()
    assert again.filters.key == filters.key
    assert not cached.pool("taladro", filters=filters, sort="price_asc")[1]
    assert not cached.pool("taladro", sort="price_desc")[1]
    relaxed, _ = cached.pool("pintura", filters=SearchFilters(brands=("Alba",), price_min=1000.0))
    stored, was_cached = cached.pool("pintura", filters=SearchFilters(brands=("Alba",), price_min=1000.0))
    assert was_cached
    assert stored.relaxation == relaxed.relaxation
    assert stored.filters == relaxed.filters == SearchFilters(brands=("Alba",))
    cache.close()


def test_a_variant_changes_the_key_and_no_variant_keeps_the_plain_key() -> None:
    plain = search_cache_key("taladro", None, 20, "products-v1", "m")
    assert search_cache_key("taladro", None, 20, "products-v1", "m", "") == plain
    assert search_cache_key("taladro", None, 20, "products-v1", "m", "brand") != plain
    assert search_cache_key("taladro", None, 20, "products-v1", "m", "a") != search_cache_key(
        "taladro", None, 20, "products-v1", "m", "b"
    )
