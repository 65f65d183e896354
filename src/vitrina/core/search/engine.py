"""The search engine as served: understanding → BM25 ∥ semantic → merge → LambdaRank → rules.

Everything is loaded once (:mod:`vitrina.adapters.models.search_index` builds an engine from an index
version, in the language that version was analysed in); a query then costs one parse,
two retrievals run in parallel threads (bm25s, onnxruntime and FAISS release the GIL for their
heavy parts), a feature frame of ~150 rows, a LightGBM predict and the business rules.

Ranking modes (the evaluation's models are the same engine in another mode):

* ``bm25`` — lexical hits in BM25 order;
* ``semantic`` — semantic hits in cosine order;
* ``hybrid`` — the union ranked by normalised-score fusion (:mod:`vitrina.core.search.fusion`:
  min-max per branch mixed by the engine's ``fusion`` weight, plus the title's coverage of the
  query words; a shop's judgments can teach both weights): the un-learned hybrid, what
  serves by default when no ranker has been trained yet (no search logs); exact-title
  matches are lifted as in ``hybrid_ltr``;
* ``hybrid_ltr`` — the union ranked by the LambdaRank model; products whose analysed title
  equals the analysed query are lifted above the rest (navigational queries).

The default mode is the index version's ``served_mode`` when it records one (without a ranker,
the search pipeline may choose ``bm25`` on the shop's judgments:
:mod:`vitrina.core.evaluation.served_mode`), else ``hybrid_ltr`` with a ranker, ``hybrid`` without.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.search.filters import BoolArray, FilterIndex
from vitrina.core.search.fusion import Fusion
from vitrina.core.search.languages import DEFAULT_LANGUAGE
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import (
    RankingContext,
    candidate_features,
    exact_titles,
    merge_hits,
    title_coverage,
)
from vitrina.core.search.restricted import search_within
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.suggest import SuggestIndex
from vitrina.core.search.types import Float32Array, Hits, Int64Array, ParsedQuery, positions_in

Mode = Literal["bm25", "semantic", "hybrid", "hybrid_ltr"]
MODES: tuple[Mode, ...] = ("bm25", "semantic", "hybrid", "hybrid_ltr")
RETRIEVAL_K = 100
RRF_K = 60.0
EXACT_TITLE_LIFT = 1.0
"""Score margin that puts exact-title matches above every other candidate (learned mode)."""


class Understanding(Protocol):
    def parse(self, raw: str) -> ParsedQuery: ...


class Retriever(Protocol):
    def search(self, query: ParsedQuery, k: int = RETRIEVAL_K) -> Hits: ...


@dataclass(frozen=True)
class Ranked:
    """One query's final list: product ``rows`` best first with the ``scores`` that ordered
    them, and (with ``explain``) one explanation per row."""

    query: ParsedQuery
    rows: Int64Array
    scores: Float32Array
    n_candidates: int
    explanations: list[dict[str, Any]] = field(default_factory=list)


def rrf(retrieval: np.ndarray) -> Float32Array:
    """Reciprocal-rank fusion of the ``(n, 4)`` retrieval matrix of :func:`merge_hits`
    (ranks stored as log2(1 + rank)): Σ 1 / (60 + rank) over the retrievers that found it.
    The hybrid ranked by it before score fusion; kept as the benchmarks' reference."""
    score = np.zeros(retrieval.shape[0])
    for column in (1, 3):
        rank = np.exp2(retrieval[:, column]) - 1.0
        score += np.where(np.isfinite(rank), 1.0 / (RRF_K + rank), 0.0)
    return score.astype(np.float32)


class SearchEngine:
    """A loaded search stack; :meth:`search` answers one query."""

    def __init__(
        self,
        *,
        understanding: Understanding,
        lexical: Retriever,
        semantic: Retriever,
        products: ProductTable,
        context: RankingContext,
        ranker: LambdaRanker | None,
        rules: SearchRules,
        index_version: str,
        model_version: str,
        frequent_queries: tuple[str, ...] = (),
        language: str = DEFAULT_LANGUAGE,
        served_mode: Mode | None = None,
        suggest: SuggestIndex | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        if served_mode is not None and served_mode not in MODES:
            raise ValueError(f"unknown served mode {served_mode!r}; expected one of {MODES}")
        if served_mode == "hybrid_ltr" and ranker is None:
            raise ValueError("served mode hybrid_ltr needs a trained ranker; this engine has none")
        self.understanding = understanding
        self.lexical = lexical
        self.semantic = semantic
        self.products = products
        self.context = context
        self.ranker = ranker
        self.rules = rules
        # The sponsored margin is in LambdaRank score units: other modes rank without a boost.
        self._plain_rules = replace(rules, config=replace(rules.config, sponsored_max_positions=0))
        self.index_version = index_version
        self.model_version = model_version
        self.frequent_queries = frequent_queries
        """The version's most searched queries, most first: what serving warms its cache with."""
        self.language = language
        """The language queries and products are analysed in (the index version's)."""
        self.served_mode = served_mode
        """The mode the index version was gated in (None: the ranker decides, as before)."""
        self.suggest = suggest
        """The version's autocomplete index (None: the version has none)."""
        self.fusion = fusion or Fusion()
        """How ``hybrid`` mixes BM25 and the encoder (the index version's, learnt or default)."""
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vitrina-search")

    @property
    def default_mode(self) -> Mode:
        """What ``mode=None`` ranks in: the served mode, else ``hybrid_ltr`` with a ranker,
        else ``hybrid``."""
        if self.served_mode is not None:
            return self.served_mode
        return "hybrid_ltr" if self.ranker is not None else "hybrid"

    def close(self) -> None:
        """Stop the retrieval pool and wait for a retrieval in flight: no thread of a closed
        engine outlives it (one still running at interpreter exit would run native code while
        Python finalizes). A request still answering with it goes on without the pool
        (:meth:`_in_parallel`)."""
        self._pool.shutdown(wait=True)

    def _in_parallel(self, function: Callable[..., Hits], *args: Any) -> Future[Hits]:
        """``function(*args)`` on the retrieval pool; once the engine is closed (a reload swapped
        it out while a request was still answering with it), in the calling thread: the request
        in flight is answered, only without the parallel retrieval."""
        try:
            return self._pool.submit(function, *args)
        except RuntimeError:  # cannot schedule new futures after shutdown
            done: Future[Hits] = Future()
            done.set_result(function(*args))
            return done

    @cached_property
    def catalog_filters(self) -> FilterIndex:
        """The product table's filterable fields, coded once (filters, facets, sorts)."""
        return FilterIndex.build(self.products)

    def retrieve(
        self, query: ParsedQuery, k: int = RETRIEVAL_K, allowed: BoolArray | None = None
    ) -> tuple[Hits, Hits]:
        """BM25 and semantic hits, computed in parallel; with ``allowed`` (a filter's mask
        over product rows), each retriever's best ``k`` among the allowed rows."""
        if query.is_empty:
            return Hits.empty(), Hits.empty()
        if allowed is not None:
            restricted = self._in_parallel(search_within, self.semantic, query, k, allowed)
            return search_within(self.lexical, query, k, allowed), restricted.result()
        semantic = self._in_parallel(self.semantic.search, query, k)
        lexical = self.lexical.search(query, k)
        return lexical, semantic.result()

    def search(
        self,
        raw: str,
        *,
        user_id: str | None = None,
        k: int = 20,
        mode: Mode | None = None,
        explain: bool = False,
        apply_rules: bool = True,
    ) -> Ranked:
        """Top ``k`` for ``raw`` (``mode`` default: :attr:`default_mode`); ``explain`` adds
        per-result reasons (LightGBM contributions, retrievers)."""
        query = self.understanding.parse(raw)
        return self.rank(
            query,
            *self.retrieve(query),
            user_id=user_id,
            k=k,
            mode=mode,
            explain=explain,
            apply_rules=apply_rules,
        )

    def rank(
        self,
        query: ParsedQuery,
        lexical: Hits,
        semantic: Hits,
        *,
        user_id: str | None = None,
        k: int = 20,
        mode: Mode | None = None,
        explain: bool = False,
        apply_rules: bool = True,
    ) -> Ranked:
        """Order already-retrieved hits (the evaluation retrieves once and ranks in every mode)."""
        mode = mode or self.default_mode
        if mode == "bm25":
            rows, retrieval = merge_hits(lexical, Hits.empty())
        elif mode == "semantic":
            rows, retrieval = merge_hits(Hits.empty(), semantic)
        else:
            rows, retrieval = merge_hits(lexical, semantic)
        features: pd.DataFrame | None = None
        if mode == "hybrid_ltr":
            if self.ranker is None:
                raise ValueError("mode hybrid_ltr needs a trained ranker; this engine has none")
            features = candidate_features(self.context, query, rows, retrieval, user_id=user_id)
            scores = self.ranker.predict(features, num_threads=1).astype(np.float32)
        elif mode == "hybrid":
            scores = self.fusion.scores(retrieval, title_coverage(self.context, query, rows))
        else:
            column = 0 if mode == "bm25" else 2
            scores = retrieval[:, column].astype(np.float32)
        if mode in ("hybrid", "hybrid_ltr"):
            # Navigational queries: a product whose whole title is the query goes first,
            # whatever the ranker learned (logs rarely teach it; shoppers expect it) or the
            # fusion made of it (a fusion lifts a crowd of products with a shorter title that
            # both retrievers rank fairly high above the few whose title is the query).
            exact = (
                features["exact_title"].to_numpy() > 0
                if features is not None
                else exact_titles(self.context, query, rows)
            )
            scores = np.where(exact, scores.max(initial=0.0) + EXACT_TITLE_LIFT + scores, scores)
            scores = scores.astype(np.float32)
        order = np.lexsort((rows, -scores))  # ties by row: the product id's order
        rows, scores, retrieval = rows[order], scores[order], retrieval[order]
        if features is not None and explain:  # only explanations read the features again
            features = features.iloc[order].reset_index(drop=True)
        n_candidates = int(rows.size)
        if apply_rules:
            rules = self.rules if mode == "hybrid_ltr" else self._plain_rules
            # The seller cap acts on the first page; a longer list (evaluation) keeps the rest.
            ruled = rules.apply(Hits(rows, scores), k=min(k, rules.config.k)).hits
            keep = positions_in(ruled.rows[:k], rows)
        else:
            keep = np.arange(min(k, rows.size), dtype=np.int64)
        rows, scores = rows[keep], scores[keep]
        explanations: list[dict[str, Any]] = []
        if explain:
            explanations = self._explain(query, rows, retrieval[keep], features, keep, user_id)
        return Ranked(query, rows, scores, n_candidates, explanations)

    def _explain(
        self,
        query: ParsedQuery,
        rows: Int64Array,
        retrieval: np.ndarray,
        features: pd.DataFrame | None,
        keep: Int64Array,
        user_id: str | None,
    ) -> list[dict[str, Any]]:
        contributions: np.ndarray | None = None
        names: list[str] = []
        if features is not None and self.ranker is not None and self.ranker.booster is not None:
            names = list(self.ranker.feature_names)
            picked = features.iloc[keep][names]
            contributions = np.asarray(self.ranker.booster.predict(picked, pred_contrib=True))
        out = []
        for i in range(rows.size):
            found_by = [n for n, col in (("bm25", 0), ("semantic", 2)) if np.isfinite(retrieval[i, col])]
            item: dict[str, Any] = {
                "found_by": found_by,
                "bm25": _finite(retrieval[i, 0]),
                "semantic": _finite(retrieval[i, 2]),
            }
            if contributions is not None:
                pairs = sorted(zip(names, contributions[i, :-1], strict=True), key=lambda p: -abs(p[1]))
                item["contributions"] = {name: round(float(v), 4) for name, v in pairs[:6]}
                item["base_value"] = round(float(contributions[i, -1]), 4)
            out.append(item)
        return out


def _finite(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None
