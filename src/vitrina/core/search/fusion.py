"""Score fusion of the un-learned hybrid: normalised BM25 and cosine, mixed by one weight.

Reciprocal-rank fusion throws the scores away: the 40th BM25 hit that matches one word of
four counts like the 40th that matches all four, and a product both retrievers rank
mid-list beats one BM25 is sure of. On an English catalog of long technical titles
(homedepot-search) RRF made the lexical branch *worse* (NDCG@10 0.345 → 0.330).

Here each branch's scores are rescaled per query to ``[0, 1]`` over the hits that branch
returned (min-max: the best hit 1, the last retrieved 0; a branch whose hits all tie gives
them 1), a candidate a branch did not return gets 0 from it, and the fused score is the
convex combination ``weight × bm25 + (1 − weight) × semantic``, plus ``coverage ×`` the share of
the query's words the product's title holds. BM25 on short titles lets one rare word carry a
product past others that match every word the shopper typed (*3/4 in. copper elbow*: a
title with *copper* three times beats the elbow); the coverage term is the coordination
BM25 lacks. ``weight = 1, coverage = 0`` is BM25's order, ``weight = 0, coverage = 0`` the encoder's.

The weight is what a shop's judgments can teach without any traffic: the search pipeline
learns it on the selection half of the judged queries (:mod:`vitrina.core.evaluation.fusion_weight`)
and records it in the index version. Without judgments, :data:`DEFAULT_WEIGHT` serves: lexical
evidence leads and the encoder breaks ties and fills in what words miss, which is where the
untuned MiniLM helps on a catalog it was not trained for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vitrina.core.search.types import Float32Array

FusionSource = Literal["default", "judgments"]
DEFAULT_WEIGHT = 0.7
"""Weight of the lexical branch when no judgments taught one."""
DEFAULT_COVERAGE = 1.0
"""Weight of the title's coverage of the query words when no judgments taught one."""
BM25_COLUMN, SEMANTIC_COLUMN = 0, 2
"""Score columns of the ``(n, 4)`` retrieval matrix of
:func:`~vitrina.core.search.ranker_features.merge_hits` (NaN: not retrieved by that branch)."""


def minmax(scores: np.ndarray) -> np.ndarray:
    """``scores`` rescaled to ``[0, 1]`` over its finite values (NaN → 0); all-equal finite
    values become 1 (the branch found them and cannot tell them apart)."""
    out = np.zeros(scores.shape, dtype=np.float64)
    found = np.isfinite(scores)
    if not found.any():
        return out
    low, high = float(scores[found].min()), float(scores[found].max())
    span = high - low
    out[found] = (scores[found] - low) / span if span > 0 else 1.0
    return out


@dataclass(frozen=True)
class Fusion:
    """How the hybrid mode mixes its two branches (see the module docstring).

    Attributes:
        weight: share of the lexical branch, in ``[0, 1]``.
        coverage: weight of the share of query words the title holds (``>= 0``).
        source: ``"judgments"`` when learnt from a shop's judgments, else ``"default"``.
        n_queries: judged queries it was learnt on (0 for the default).
    """

    weight: float = DEFAULT_WEIGHT
    coverage: float = DEFAULT_COVERAGE
    source: FusionSource = "default"
    n_queries: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and 0.0 <= self.weight <= 1.0):
            raise ValueError(f"the fusion weight is a share in [0, 1], got {self.weight}")
        if not (math.isfinite(self.coverage) and self.coverage >= 0.0):
            raise ValueError(f"the coverage weight must be finite and >= 0, got {self.coverage}")
        if self.source not in ("default", "judgments"):
            raise ValueError(f"unknown fusion source {self.source!r}")
        if self.n_queries < 0:
            raise ValueError(f"n_queries must be >= 0, got {self.n_queries}")

    def scores(self, retrieval: np.ndarray, coverage: np.ndarray | None = None) -> Float32Array:
        """Fused score of each candidate of a ``(n, 4)`` retrieval matrix; ``coverage[i]`` is
        the share of the query's words candidate ``i``'s title holds (None: not counted)."""
        lexical = minmax(retrieval[:, BM25_COLUMN])
        semantic = minmax(retrieval[:, SEMANTIC_COLUMN])
        fused = self.weight * lexical + (1.0 - self.weight) * semantic
        if coverage is not None and self.coverage > 0:
            fused = fused + self.coverage * np.asarray(coverage, dtype=np.float64)
        return fused.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "minmax",
            "weight": self.weight,
            "coverage": self.coverage,
            "source": self.source,
            "n_queries": self.n_queries,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any] | None) -> Fusion:
        """What :meth:`to_dict` wrote; None (a version written before fusion was recorded) →
        the default."""
        if payload is None:
            return cls()
        if payload.get("method", "minmax") != "minmax":
            raise ValueError(f"unknown fusion method {payload.get('method')!r}")
        return cls(
            float(payload["weight"]),
            float(payload.get("coverage", 0.0)),
            payload.get("source", "default"),
            int(payload.get("n_queries", 0)),
        )
