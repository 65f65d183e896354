"""The hybrid's fusion weights, learnt from a shop's judgments (no traffic needed).

The un-learned hybrid mixes min-max-normalised BM25 and cosine scores by one weight and adds
the title's coverage of the query words by another (:mod:`vitrina.core.search.fusion`).
Which weights are right depends on the catalog and on how its shoppers type: long
technical titles searched by part names favour BM25, intents typed in words the titles
lack favour the encoder. A shop's judged queries can tell — on the
*selection* half only (:func:`vitrina.core.evaluation.served_mode.split_judged`), so the gate,
which reads the other half, never judges the weight on the queries it was chosen on.

Retrieval runs once per query; each pair of :data:`WEIGHTS` × :data:`COVERAGES` then only
re-ranks the same candidates. The best selection NDCG@10 wins; ties go to the pair nearest the
defaults, so a flat curve keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings
from vitrina.core.search.engine import RETRIEVAL_K, SearchEngine
from vitrina.core.search.fusion import DEFAULT_COVERAGE, DEFAULT_WEIGHT, Fusion
from vitrina.core.search.types import Hits

WEIGHTS: tuple[float, ...] = tuple(round(float(w), 2) for w in np.linspace(0.0, 1.0, 11))
"""Lexical shares tried: 0, 0.1, …, 1."""
COVERAGES: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
"""Coverage weights tried (0: BM25 and the encoder alone)."""
METRIC = "ndcg@10"
MIN_SCORED = 10
"""Fewer judged queries with a relevant product than this teach nothing: keep the default."""


@dataclass(frozen=True)
class FusionChoice:
    """The learnt :class:`Fusion` and the selection NDCG@10 of every (weight, coverage) tried."""

    fusion: Fusion
    curve: dict[tuple[float, float], float]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.fusion.to_dict(),
            "metric": METRIC,
            "curve": {f"{w:.2f}/{c:.2f}": v for (w, c), v in self.curve.items()},
        }

    @property
    def reason(self) -> str:
        fusion = self.fusion
        if fusion.source == "default":
            return (
                f"fusion weight {fusion.weight:.2f}, coverage {fusion.coverage:.2f} "
                "(defaults: too few judged queries to learn them)"
            )
        best = self.curve[(fusion.weight, fusion.coverage)]
        default = self.curve.get((DEFAULT_WEIGHT, DEFAULT_COVERAGE), float("nan"))
        return (
            f"fusion weight {fusion.weight:.2f}, coverage {fusion.coverage:.2f} learnt on "
            f"{fusion.n_queries:,} judged queries ({METRIC} {best:.4f}; defaults: {default:.4f})"
        )


def learn_fusion(
    engine: SearchEngine,
    selection: JudgedQueries,
    semantic: Callable[[Sequence[str]], list[Hits]],
    *,
    weights: Sequence[float] = WEIGHTS,
    coverages: Sequence[float] = COVERAGES,
    k: int = RETRIEVAL_K,
) -> FusionChoice:
    """The (weight, coverage) pair with the best ``hybrid`` NDCG@10 on ``selection`` (module
    docstring); ``semantic`` retrieves a batch of corrected query texts (as the evaluation does)."""
    if selection.n_scored < MIN_SCORED:
        return FusionChoice(Fusion(), {})
    parsed = [engine.understanding.parse(text) for text in selection.texts]
    lexical = [engine.lexical.search(p, k) if not p.is_empty else Hits.empty() for p in parsed]
    vectors = semantic([p.corrected for p in parsed])
    kept = engine.fusion
    curve: dict[tuple[float, float], float] = {}
    try:
        for weight in weights:
            for coverage in coverages:
                engine.fusion = Fusion(float(weight), float(coverage))
                rankings = [
                    engine.rank(p, lex, sem, user_id=u, k=k, mode="hybrid").rows
                    for p, lex, sem, u in zip(parsed, lexical, vectors, selection.user_ids, strict=True)
                ]
                metrics = evaluate_rankings(selection, rankings, by_type=False)
                curve[(float(weight), float(coverage))] = float(metrics[METRIC])  # type: ignore[arg-type]
    finally:
        engine.fusion = kept

    def preference(pair: tuple[float, float]) -> tuple[float, float]:
        return curve[pair], -(abs(pair[0] - DEFAULT_WEIGHT) + abs(pair[1] - DEFAULT_COVERAGE))

    weight, coverage = max(curve, key=preference)
    return FusionChoice(Fusion(weight, coverage, "judgments", selection.n_scored), curve)
