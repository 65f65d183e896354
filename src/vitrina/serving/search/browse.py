"""``GET /search`` with filters, facets, pages or a sort: a page cut from the cached pool.

The pool (:func:`vitrina.core.search.browse.search_pool`) is computed once per (query, user,
filters, sort) in the served engine's default mode and cached; every page and the facets are
cut from it. Pages walk with an ``offset`` or with the opaque ``next_cursor`` of the previous
page (:mod:`vitrina.core.search.pages`), which is refused once the query, filters, sort, user
or served versions changed.

Marketplace searches are answered by the champion: an experiment's arms compare the plain
first page (``GET /search?q=``), which keeps its own path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vitrina.core.search.browse import Pool
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.facets import Facets, facet_counts
from vitrina.core.search.filters import SearchFilters
from vitrina.core.search.pages import MAX_OFFSET, Page, decode_cursor, encode_cursor, fingerprint
from vitrina.core.search.sorting import Sort
from vitrina.serving.api_models import (
    FacetCount,
    PriceBandCount,
    Relaxed,
    SearchFacets,
    SearchItem,
    SearchResponse,
)
from vitrina.serving.experiment_config import CHAMPION
from vitrina.serving.search.answer import SearchService, SearchUnavailableError
from vitrina.serving.search.shown_items import shown_item


@dataclass(frozen=True)
class BrowseRequest:
    """What a marketplace search asks beyond the query (the plain search asks none of it)."""

    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: Sort = "relevance"
    offset: int = 0
    cursor: str | None = None
    facets: bool = False

    @property
    def is_plain(self) -> bool:
        """A first page by relevance without filters or facets: the plain search answers it."""
        return (
            self.filters.is_empty
            and self.sort == "relevance"
            and self.offset == 0
            and self.cursor is None
            and not self.facets
        )


def search_fingerprint(engine: SearchEngine, q: str, user_id: str | None, request: BrowseRequest) -> str:
    """What a cursor is bound to: served versions, query as typed, user, filters, sort."""
    return fingerprint(
        engine.index_version, engine.model_version, q, user_id, request.filters.key, request.sort
    )


def facets_out(facets: Facets) -> SearchFacets:
    def values(name: str) -> list[FacetCount]:
        return [FacetCount(value=v.value, count=v.count) for v in facets.fields[name]]

    return SearchFacets(
        category_l1=values("category_l1"),
        category_l2=values("category_l2"),
        category_l3=values("category_l3"),
        brand=values("brand"),
        seller=values("seller"),
        price=[PriceBandCount(low=b.low, high=b.high, count=b.count) for b in facets.price_bands],
        price_min=facets.price_min,
        price_max=facets.price_max,
    )


def page_items(engine: SearchEngine, pool: Pool, page: Page) -> list[SearchItem]:
    rows = pool.rows[page.offset : page.stop].tolist()
    scores = pool.scores[page.offset : page.stop].tolist()
    return [shown_item(engine, row, score) for row, score in zip(rows, scores, strict=True)]


def browse(
    service: SearchService, *, q: str, user_id: str | None, k: int, request: BrowseRequest, request_id: str
) -> SearchResponse:
    """One page of a marketplace search (raises ``FilterError`` for a bad filter or cursor)."""
    cached = service.cached
    if cached is None:
        raise SearchUnavailableError(
            service.unavailable
            or "no search index is loaded: run `vitrina train search`, then POST /admin/reload"
        )
    engine = cached.engine
    owner = search_fingerprint(engine, q, user_id, request)
    offset = request.offset if request.cursor is None else decode_cursor(request.cursor, owner)
    pool, was_cached = cached.pool(q, user_id=user_id, filters=request.filters, sort=request.sort)
    page = Page(offset=offset, limit=k, total=int(pool.rows.size))
    mode = engine.default_mode
    metrics = service.metrics
    metrics.cache_requests.labels(cache="search", result="hit" if was_cached else "miss").inc()
    if pool.rows.size == 0 and not request.is_plain:  # a plain search counted its own
        metrics.search_zero_results.labels(mode=mode).inc()
    following = page.next_offset
    relaxation = pool.relaxation
    return SearchResponse(
        request_id=request_id,
        model_version=engine.model_version,
        arm=CHAMPION,
        experiment=None,
        query=q,
        normalised=pool.query.normalised,
        corrected=pool.query.corrected,
        index_version=engine.index_version,
        mode=mode,
        cached=was_cached,
        n_candidates=pool.n_candidates,
        items=page_items(engine, pool, page),
        total=page.total,
        offset=offset,
        next_cursor=None if following is None or following > MAX_OFFSET else encode_cursor(following, owner),
        sort=request.sort,
        filters=pool.filters.as_dict(),
        facets=facets_out(facet_counts(engine.catalog_filters, pool.rows)) if request.facets else None,
        relaxed=None
        if relaxation is None
        else Relaxed(
            steps=list(relaxation.steps),
            query=relaxation.query,
            dropped_filters=list(relaxation.dropped_filters),
            message=relaxation.message,
        ),
    )
