"""A marketplace search: filters before the top-k cut, a sorted pool, zero-result recovery.

One search yields a *pool*: every servable candidate the engine ranked for the query within
the filters (each retriever's best :data:`~vitrina.core.search.engine.RETRIEVAL_K` among the
allowed products, merged, ranked in the engine's mode, business rules applied), in the order
the request sorts by. Facets count over the pool and pages are slices of it, so a page walk
is stable: the pool depends only on (index version, query, user, filters, sort), never on the
page asked for, and every order breaks its ties by product id.

Without filters the pool is ranked exactly as ``GET /search`` ranks (same candidates, same
mode, same rules), so relevance pages continue the plain answer's first page.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.core.search.engine import Mode, Ranked, SearchEngine
from vitrina.core.search.filters import SearchFilters
from vitrina.core.search.relax import Ladder, Relaxation
from vitrina.core.search.sorting import Sort, sort_order
from vitrina.core.search.types import Float32Array, Int64Array, ParsedQuery

POOL_LIMIT = 1000
"""More than the candidates two retrievers can return: the whole ranked list is kept."""


@dataclass(frozen=True)
class Pool:
    """One search's servable candidates in display order, and what answered it."""

    query: ParsedQuery
    rows: Int64Array
    scores: Float32Array
    n_candidates: int
    filters: SearchFilters
    sort: Sort
    relaxation: Relaxation | None = None


def _rank(
    engine: SearchEngine, query: ParsedQuery, filters: SearchFilters, user_id: str | None, mode: Mode | None
) -> Ranked:
    allowed = engine.catalog_filters.mask(filters)
    lexical, semantic = engine.retrieve(query, allowed=allowed)
    return engine.rank(query, lexical, semantic, user_id=user_id, k=POOL_LIMIT, mode=mode)


def search_pool(
    engine: SearchEngine,
    raw: str,
    *,
    user_id: str | None = None,
    filters: SearchFilters | None = None,
    sort: Sort = "relevance",
    mode: Mode | None = None,
) -> Pool:
    """The pool of ``raw`` (see the module docstring); an empty one is relaxed
    (:mod:`vitrina.core.search.relax`). Raises :class:`~vitrina.core.search.filters.FilterError`
    for a filter value the catalog does not have."""
    filters = filters or SearchFilters()
    index = engine.catalog_filters
    index.validate(filters)
    query = engine.understanding.parse(raw)
    ranked = _rank(engine, query, filters, user_id, mode)
    relaxation = None
    if ranked.rows.size == 0 and not query.is_empty:
        found: list[tuple[ParsedQuery, Ranked, SearchFilters]] = []

        def attempt(text: str, relaxed: SearchFilters, semantic: bool) -> int:
            parsed = engine.understanding.parse(text)
            answer = _rank(engine, parsed, relaxed, user_id, "semantic" if semantic else mode)
            found.append((parsed, answer, relaxed))
            return int(answer.rows.size)

        suggest = engine.suggest
        ladder = Ladder(
            complete=suggest.word_completion if suggest is not None else (lambda _: None),
            semantic_fallback=(mode or engine.default_mode) == "bm25",
        )
        relaxation = ladder.run(raw, list(query.tokens), filters, attempt)
        if relaxation is not None:
            query, ranked, filters = found[-1]
    order = sort_order(index, ranked.rows, sort)
    return Pool(
        query=query,
        rows=ranked.rows[order],
        scores=ranked.scores[order],
        n_candidates=ranked.n_candidates,
        filters=filters,
        sort=sort,
        relaxation=relaxation,
    )
