"""Run every search model of the evaluation over one query set (docs/spec.md §4.8).

The models share one engine: retrieval runs once per query and encoder, then each model
ranks the same hits its own way (:meth:`~vitrina.core.search.engine.SearchEngine.rank`), and the
business rules apply to all, so differences come from ranking alone:

``bm25`` (the baseline: BM25 on the normalised, stemmed query as typed) · ``bm25_qu`` (BM25
after query understanding: spelling correction and synonyms) · ``semantic_base`` (the
untuned MiniLM) · ``semantic_tuned`` · ``hybrid`` (RRF of understood BM25 and the tuned
encoder) · ``hybrid_ltr`` (the LambdaRank ranker over the same union).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings
from vitrina.core.search.engine import RETRIEVAL_K, Mode, SearchEngine
from vitrina.core.search.types import Hits, ParsedQuery

SemanticBatch = Callable[[Sequence[str]], list[Hits]]
"""Corrected query texts → semantic hits (``Hits.empty()`` for an empty text)."""
MODELS = ("bm25", "bm25_qu", "semantic_base", "semantic_tuned", "hybrid", "hybrid_ltr")


def evaluate_search_models(
    engine: SearchEngine,
    queries: JudgedQueries,
    *,
    tuned: SemanticBatch,
    base: SemanticBatch | None = None,
    k: int = RETRIEVAL_K,
) -> dict[str, dict[str, object]]:
    """Metrics per model (see the module docstring); ``base`` and the ranker are optional."""
    parsed = [engine.understanding.parse(text) for text in queries.texts]
    as_typed = [ParsedQuery(raw=p.raw, normalised=p.normalised, corrected=p.normalised) for p in parsed]
    plain = [engine.lexical.search(p, k) if p.corrected else Hits.empty() for p in as_typed]
    lexical = [engine.lexical.search(p, k) for p in parsed]
    corrected = [p.corrected for p in parsed]
    semantic = {"semantic_tuned": tuned(corrected)}
    if base is not None:
        semantic["semantic_base"] = base(corrected)
    empty = Hits.empty()

    def ranked(mode: Mode, lex: list[Hits] | None, sem: list[Hits] | None) -> list[np.ndarray]:
        return [
            engine.rank(p, lex[i] if lex else empty, sem[i] if sem else empty, user_id=u, k=k, mode=mode).rows
            for i, (p, u) in enumerate(zip(parsed, queries.user_ids, strict=True))
        ]

    rankings = {"bm25": ranked("bm25", plain, None), "bm25_qu": ranked("bm25", lexical, None)}
    if base is not None:
        rankings["semantic_base"] = ranked("semantic", None, semantic["semantic_base"])
    rankings["semantic_tuned"] = ranked("semantic", None, semantic["semantic_tuned"])
    rankings["hybrid"] = ranked("hybrid", lexical, semantic["semantic_tuned"])
    if engine.ranker is not None:
        rankings["hybrid_ltr"] = ranked("hybrid_ltr", lexical, semantic["semantic_tuned"])
    return {name: evaluate_rankings(queries, lists) for name, lists in rankings.items()}


def batch_semantic(
    encode: Callable[[list[str]], np.ndarray],
    search: Callable[[np.ndarray, int], list[Hits]],
    k: int = RETRIEVAL_K,
) -> SemanticBatch:
    """A :data:`SemanticBatch` from a batch encoder and an index's batch search."""

    def run(texts: Sequence[str]) -> list[Hits]:
        out: list[Hits] = [Hits.empty()] * len(texts)
        present = [i for i, t in enumerate(texts) if t]
        if present:
            vectors = encode([texts[i] for i in present])
            for i, hits in zip(present, search(vectors, k), strict=True):
                out[i] = hits
        return out

    return run
