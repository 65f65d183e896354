"""Search through the result cache, and the warm-up of frequent queries (docs/spec.md §4.7).

A cached page stores the product rows and scores of one (understood query, user, k) under
the served index and model versions. Personalised searches (users the ranker personalises)
are cached per user, anonymous ones once for everybody. The API warms the cache with the
index version's most searched queries right after loading it
(:mod:`vitrina.serving.search.warmup`), so the head of the traffic hits the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from vitrina.adapters.search_cache import ResultCache, search_cache_key
from vitrina.core.search.browse import POOL_LIMIT, Pool, search_pool
from vitrina.core.search.engine import Ranked, SearchEngine
from vitrina.core.search.filters import SearchFilters
from vitrina.core.search.relax import Relaxation
from vitrina.core.search.signals import query_frequencies
from vitrina.core.search.sorting import Sort


@dataclass(frozen=True)
class CachedRanked:
    """A result page and whether it came from the cache."""

    ranked: Ranked
    cached: bool


class CachedSearch:
    """:meth:`SearchEngine.search` behind a :class:`ResultCache` (explanations are never cached)."""

    def __init__(self, engine: SearchEngine, cache: ResultCache) -> None:
        self.engine = engine
        self.cache = cache

    def _key(self, normalised: str, user_id: str | None, k: int) -> str:
        personal = user_id if user_id is not None and user_id in self.engine.context.affinity else None
        return search_cache_key(normalised, personal, k, self.engine.index_version, self.engine.model_version)

    def pool(
        self,
        raw: str,
        *,
        user_id: str | None = None,
        filters: SearchFilters | None = None,
        sort: Sort = "relevance",
    ) -> tuple[Pool, bool]:
        """A marketplace search's whole sorted pool (:func:`search_pool`, default mode), cached
        under its filters and sort; pages and facets are cut from it. Returns the pool and
        whether it came from the cache."""
        filters = filters or SearchFilters()
        self.engine.catalog_filters.validate(filters)
        query = self.engine.understanding.parse(raw)
        personal = user_id if user_id is not None and user_id in self.engine.context.affinity else None
        variant = json.dumps(["pool", filters.key, sort], separators=(",", ":"))
        key = search_cache_key(
            query.normalised,
            personal,
            POOL_LIMIT,
            self.engine.index_version,
            self.engine.model_version,
            variant,
        )
        payload = self.cache.get(key)
        if payload is not None:
            stored = json.loads(payload)
            relaxation = Relaxation.from_dict(stored["relaxation"])
            pool = Pool(
                query=query if relaxation is None else self.engine.understanding.parse(relaxation.query),
                rows=np.asarray(stored["rows"], dtype=np.int64),
                scores=np.asarray(stored["scores"], dtype=np.float32),
                n_candidates=int(stored["n_candidates"]),
                filters=filters if relaxation is None else relaxation.lift(filters),
                sort=sort,
                relaxation=relaxation,
            )
            return pool, True
        pool = search_pool(self.engine, raw, user_id=user_id, filters=filters, sort=sort)
        value = {
            "rows": pool.rows.tolist(),
            "scores": pool.scores.tolist(),
            "n_candidates": pool.n_candidates,
            "relaxation": None if pool.relaxation is None else asdict(pool.relaxation),
        }
        self.cache.set(key, json.dumps(value).encode())
        return pool, False

    def search(self, raw: str, *, user_id: str | None = None, k: int = 20) -> CachedRanked:
        query = self.engine.understanding.parse(raw)
        key = self._key(query.normalised, user_id, k)
        payload = self.cache.get(key)
        if payload is not None:
            stored = json.loads(payload)
            rows = np.asarray(stored["rows"], dtype=np.int64)
            scores = np.asarray(stored["scores"], dtype=np.float32)
            return CachedRanked(Ranked(query, rows, scores, int(stored["n_candidates"])), cached=True)
        ranked = self.engine.rank(query, *self.engine.retrieve(query), user_id=user_id, k=k)
        value = {
            "rows": ranked.rows.tolist(),
            "scores": ranked.scores.tolist(),
            "n_candidates": ranked.n_candidates,
        }
        self.cache.set(key, json.dumps(value).encode())
        return CachedRanked(ranked, cached=False)


def frequent_queries(logs: pd.DataFrame, normalise: Callable[[str], str], limit: int = 500) -> list[str]:
    """The ``limit`` most frequent queries of ``logs`` (one row per search, column ``query``),
    most frequent first, one typed form per normalised query."""
    return query_frequencies(logs[["query"]], normalise, limit)["query"].tolist()
