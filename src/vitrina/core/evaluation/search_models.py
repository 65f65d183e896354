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
from vitrina.core.search.types import Hits, Int64Array, ParsedQuery

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
    listed_us: Int64Array | None = None,
) -> dict[str, dict[str, object]]:
    """Metrics per model (see the module docstring); ``base`` and the ranker are optional.

    ``listed_us``: when each product row was listed (µs since the epoch). With it, a query
    searched at a known time (``queries.searched_us``) ranks only the products listed before
    it, as the search ranker's training examples do: the engine holds today's catalog, and a
    held-out search of last week would otherwise have as candidates products that did not
    exist yet — unclicked, so irrelevant by its judgement, and never shown to a ranker that
    learnt from such searches."""
    parsed = [engine.understanding.parse(text) for text in queries.texts]
    as_typed = [ParsedQuery(raw=p.raw, normalised=p.normalised, corrected=p.normalised) for p in parsed]
    existed = _listed_before(listed_us, queries.searched_us)
    plain = existed([engine.lexical.search(p, k) if p.corrected else Hits.empty() for p in as_typed])
    lexical = existed([engine.lexical.search(p, k) for p in parsed])
    corrected = [p.corrected for p in parsed]
    semantic = {"semantic_tuned": existed(tuned(corrected))}
    if base is not None:
        semantic["semantic_base"] = existed(base(corrected))
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


def _listed_before(
    listed_us: Int64Array | None, searched_us: list[int] | None
) -> Callable[[list[Hits]], list[Hits]]:
    """Per query, its hits without the products listed after it was searched (every hit
    when either time is unknown)."""
    if listed_us is None or searched_us is None:
        return lambda hits: hits

    def keep(hits: list[Hits]) -> list[Hits]:
        out = []
        for found, searched in zip(hits, searched_us, strict=True):
            existed = listed_us[found.rows] < searched
            out.append(found if existed.all() else Hits(found.rows[existed], found.scores[existed]))
        return out

    return keep


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
