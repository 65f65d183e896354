"""Retrieval quality of a query encoder over a catalog: the "before and after" of fine-tuning.

A *ranker* turns query texts into ranked product rows; :func:`retrieval_report` scores it
against judgements with :mod:`vitrina.core.metrics` (the same NDCG / recall / MRR as everywhere).
Two rankers cover the semantic retriever:

* :func:`exact_ranker`: brute-force cosine over fp32 product vectors (the encoder alone);
* :func:`index_ranker`: through a :class:`~vitrina.core.search.semantic.index.SemanticIndex` (the encoder
  as served, with HNSW and 8-bit quantisation).

Judgements are a frame with ``query`` and ``product_id``, optionally ``relevance`` (graded
gain; binary without it), ``query_id`` (the unit of evaluation; default the query text keyed
by :func:`~vitrina.core.search.semantic.triples.query_key`) and any column to break results down by
(e.g. the simulator's ``query_type``). Held-out clicks
(:func:`~vitrina.core.search.semantic.triples.held_out_clicks`) and the simulator's qrels both fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.metrics.ranking import ranking_report
from vitrina.core.metrics.relevance import PAD, Truth, judge
from vitrina.core.ranking.top_k import top_k_rows
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.triples import query_key

Float32Array = npt.NDArray[np.float32]
Int64Array = npt.NDArray[np.int64]
Encode = Callable[[list[str]], Float32Array]
Ranker = Callable[[list[str], int], Int64Array]
"""``(query texts, depth) → (n, depth)`` product rows best first, padded with ``PAD``."""

DEFAULT_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr")
BLOCK = 1024  # queries scored at once by the exact ranker (bounds the score matrix)


def exact_ranker(encode_queries: Encode, product_vectors: npt.ArrayLike) -> Ranker:
    """Brute-force cosine ranking over ``(n_products, d)`` normalised vectors."""
    vectors = np.asarray(product_vectors, dtype=np.float64)

    def rank(queries: list[str], depth: int) -> Int64Array:
        query_vectors = np.asarray(encode_queries(queries), dtype=np.float64)
        blocks = [
            top_k_rows(query_vectors[i : i + BLOCK] @ vectors.T, depth)[0]
            for i in range(0, len(queries), BLOCK)
        ]
        return np.concatenate(blocks)

    return rank


def index_ranker(encode_queries: Encode, index: SemanticIndex) -> Ranker:
    """Ranking through the HNSW index (what serving returns)."""

    def rank(queries: list[str], depth: int) -> Int64Array:
        out = np.full((len(queries), depth), PAD, dtype=np.int64)
        for i, hits in enumerate(index.search_batch(encode_queries(queries), depth)):
            out[i, : len(hits)] = hits.rows
        return out

    return rank


@dataclass(frozen=True)
class RetrievalReport:
    """Mean metrics over the judged queries, and the same per group when asked."""

    metrics: dict[str, float]
    queries: int
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)


def retrieval_report(
    rank: Ranker,
    product_ids: Sequence[str],
    judgements: pd.DataFrame,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    by: str | None = None,
) -> RetrievalReport:
    """Score ``rank`` against ``judgements`` (see the module doc for the columns).

    ``product_ids[i]`` is the product of row ``i``; judged products outside the catalog are
    dropped, and queries left without any judged product are not evaluated.
    """
    catalog = pd.Index([str(p) for p in product_ids])
    rows = catalog.get_indexer(pd.Index(judgements["product_id"].astype(str)))
    judged = judgements.loc[rows >= 0].assign(row=rows[rows >= 0])
    judged["query"] = judged["query"].map(query_key)
    if "query_id" not in judged:
        judged["query_id"] = judged["query"]
    units = judged.drop_duplicates("query_id").sort_values("query_id").reset_index(drop=True)
    if units.empty:
        raise ValueError("no judged query names a product of this catalog")
    qindex = pd.Index(units["query_id"]).get_indexer(pd.Index(judged["query_id"]))
    gains = judged["relevance"].to_numpy(np.float64) if "relevance" in judged else None
    truth = Truth.from_pairs(qindex, judged["row"].to_numpy(), gains, n_queries=len(units), duplicates="max")
    cutoffs = [int(m.split("@")[1]) for m in metrics if "@" in m]
    ranked = rank(units["query"].tolist(), max(cutoffs, default=100))
    item_rows = judged["row"].to_numpy()
    groups: dict[str, dict[str, float]] = {}
    if by is not None:
        for value, members in units.groupby(by, sort=True).indices.items():
            inside = np.isin(qindex, members)
            local = pd.Index(members).get_indexer(pd.Index(qindex[inside]))  # renumber 0..len-1
            part = Truth.from_pairs(
                local,
                item_rows[inside],
                None if gains is None else gains[inside],
                n_queries=len(members),
                duplicates="max",
            )
            groups[str(value)] = ranking_report(judge(ranked[members], part), metrics)
    return RetrievalReport(ranking_report(judge(ranked, truth), metrics), len(units), groups)
