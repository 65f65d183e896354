"""``GET /search``: the served engine behind the result cache, with the experiment's arm.

The champion arm answers through
:class:`~vitrina.adapters.search_cache.cached_search.CachedSearch` (the engine's
default mode); the challenger arm ranks the same retrieval in the experiment's mode,
uncached. In shadow mode the challenger is computed and logged, and the champion shown. In an
interleaving experiment the challenger arm sees one team-draft list of both rankings, each item
labelled with its team; the draft's coin is seeded by (salt, user, query, request id), so a
logged request can be replayed exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.core.experiments.assignment import hash_unit
from vitrina.core.experiments.interleaving import team_draft
from vitrina.core.search.engine import Ranked, SearchEngine
from vitrina.serving.api_models import SearchItem, SearchResponse
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION, SearchExperiment

log = logging.getLogger(__name__)


class SearchUnavailableError(RuntimeError):
    """No index version is loaded (none built yet, or none could be loaded)."""


def default_mode(engine: SearchEngine) -> str:
    """The champion arm's mode: the index version's served mode (see :attr:`SearchEngine.default_mode`)."""
    return engine.default_mode


def verify_engine(engine: SearchEngine) -> None:
    """Smoke-test a freshly loaded engine before it may serve: a servable product's exact
    title must come back with results. Raises ``ValueError`` when it does not."""
    frame = engine.products.frame
    servable = np.flatnonzero(engine.products.servable)
    if servable.size == 0:
        raise ValueError(f"index {engine.index_version} has no servable product")
    title = str(frame["title"].iloc[int(servable[0])])
    ranked = engine.search(title, k=5)
    if ranked.rows.size == 0 or not np.all((ranked.rows >= 0) & (ranked.rows < len(frame))):
        raise ValueError(f"index {engine.index_version} returned no valid result for the title {title!r}")


@dataclass
class SearchService:
    """The loaded engine (None: no index) and the cached front of it."""

    cached: CachedSearch | None
    metrics: ServiceMetrics
    unavailable: str | None = None  # why no engine serves, when an index exists but was refused

    @property
    def engine(self) -> SearchEngine | None:
        return None if self.cached is None else self.cached.engine

    def _items(
        self, engine: SearchEngine, ranked: Ranked, teams: tuple[str, ...] | None = None
    ) -> list[SearchItem]:
        product_ids, titles, brands, categories, prices = engine.products.shown
        labels = teams if teams is not None else (None,) * ranked.rows.size
        return [
            SearchItem(
                product_id=product_ids[row],
                title=titles[row],
                brand=brands[row],
                category=categories[row],
                price=prices[row],
                score=score,
                team=team,
            )
            for row, score, team in zip(ranked.rows.tolist(), ranked.scores.tolist(), labels, strict=True)
        ]

    @staticmethod
    def _interleave(
        champion: Ranked, challenger: Ranked, k: int, seed: int
    ) -> tuple[Ranked, tuple[str, ...]]:
        """Team-draft of the two rankings (champion = team A); each item keeps its own score."""
        drafted = team_draft(champion.rows.tolist(), challenger.rows.tolist(), k, seed)
        scores = {
            **dict(zip(challenger.rows.tolist(), challenger.scores.tolist(), strict=True)),
            **dict(zip(champion.rows.tolist(), champion.scores.tolist(), strict=True)),
        }
        rows = np.asarray(drafted.items, dtype=champion.rows.dtype)
        values = np.asarray([scores[row] for row in drafted.items], dtype=champion.scores.dtype)
        ranked = replace(champion, rows=rows, scores=values, explanations=[])
        return ranked, tuple(CHAMPION if team == 0 else CHALLENGER for team in drafted.teams)

    def search(
        self, *, q: str, user_id: str | None, k: int, request_id: str, experiment: SearchExperiment
    ) -> SearchResponse:
        if self.cached is None:
            raise SearchUnavailableError(
                self.unavailable
                or "no search index is loaded: run `vitrina train search`, then POST /admin/reload"
            )
        engine = self.cached.engine
        assigned = experiment.arm(user_id)
        shadow = experiment.shadow and assigned == CHALLENGER
        arm = CHAMPION if shadow else assigned
        name = experiment.name if experiment.enabled else None
        if name is not None:
            self.metrics.experiment_exposures.labels(experiment=name, arm=arm).inc()
        mode: str
        teams: tuple[str, ...] | None = None
        if arm == CHALLENGER and experiment.kind == "interleave":
            mode = f"interleave:{default_mode(engine)}+{experiment.challenger}"
            champion = self.cached.search(q, user_id=user_id, k=k).ranked
            other = engine.search(q, user_id=user_id, k=k, mode=experiment.challenger)
            seed = int(hash_unit(experiment.salt, f"{user_id}\x1f{q}\x1f{request_id}") * 2**62)
            (ranked, teams), cached = self._interleave(champion, other, k, seed), False
        elif arm == CHALLENGER:
            mode = experiment.challenger
            ranked, cached = engine.search(q, user_id=user_id, k=k, mode=mode), False
        else:
            mode = default_mode(engine)
            answer = self.cached.search(q, user_id=user_id, k=k)
            ranked, cached = answer.ranked, answer.cached
            self.metrics.cache_requests.labels(cache="search", result="hit" if cached else "miss").inc()
        if shadow:
            hidden = engine.search(q, user_id=user_id, k=k, mode=experiment.challenger)
            ids = engine.products.frame["product_id"].iloc[hidden.rows].astype(str).tolist()
            log.info("shadow search", extra={"experiment": name, "query": q, "challenger_items": ids})
        if ranked.rows.size == 0:
            self.metrics.search_zero_results.labels(mode=mode).inc()
        return SearchResponse(
            request_id=request_id,
            model_version=engine.model_version,
            arm=arm,
            experiment=name,
            query=q,
            normalised=ranked.query.normalised,
            corrected=ranked.query.corrected,
            index_version=engine.index_version,
            mode=mode,
            cached=cached,
            n_candidates=ranked.n_candidates,
            items=self._items(engine, ranked, teams),
        )
