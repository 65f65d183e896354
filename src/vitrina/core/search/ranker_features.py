"""Features of (query, candidate product) pairs for the search ranker (docs/spec.md §4.5).

One function, :func:`candidate_features`, used by training, evaluation and serving alike, so
the ranker never sees a feature computed two ways. Text matching works on *analysed* tokens
(normalised and stemmed by query understanding's analyser): "celulares" matches "celular".

============================  ============================================================
feature                       meaning
============================  ============================================================
bm25, bm25_rank               BM25 score and log2(1 + rank) among BM25 hits (NaN: not a hit)
semantic, semantic_rank       cosine to the query and log2(1 + rank) (NaN: not a hit)
in_both                       found by both retrievers
exact_title                   the analysed title equals the analysed query
query_coverage                share of query tokens found in the title
title_coverage                share of title tokens found in the query
brand_match                   the product's brand appears in the query
category_match                a token of its L3 category name appears in the query or synonyms
synonym_match                 a synonym phrase's token appears in the title or category
query_tokens                  number of query tokens
log_views_7d … price_ratio_l3 product signals (:mod:`vitrina.core.search.signals`)
in_stock, sponsored           catalog flags
qp_log_clicks, qp_log_shown   clicks and impressions of this product for this very query
qp_ctr                        (clicks + 1) / (impressions + 10): smoothed query–product CTR
                              (qp_log_clicks and qp_log_shown are missing, like the product's
                              counts, for a product no one was shown: no query has history
                              with it; qp_ctr is then its prior, 0.1)
user_l2_affinity              the user's share of positive events in the product's L2
                              (NaN unless the user has enough history to personalise)
intent_*                      the query's past clicks on the product's category, brand and
                              both (:mod:`vitrina.core.search.query_intent`)
============================  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.search.products import ProductTable
from vitrina.core.search.query_intent import INTENT_FEATURES, QueryIntent
from vitrina.core.search.signals import PRODUCT_COLUMNS, SearchSignals, has_exposure
from vitrina.core.search.token_rows import TokenRows
from vitrina.core.search.types import Hits, Int64Array, ParsedQuery, positions_in

Analyse = Callable[[str], Sequence[str]]

FEATURES = (
    "bm25",
    "bm25_rank",
    "semantic",
    "semantic_rank",
    "in_both",
    "exact_title",
    "query_coverage",
    "title_coverage",
    "brand_match",
    "category_match",
    "synonym_match",
    "query_tokens",
    *PRODUCT_COLUMNS,
    "in_stock",
    "sponsored",
    "qp_log_clicks",
    "qp_log_shown",
    "qp_ctr",
    "user_l2_affinity",
    *INTENT_FEATURES,
)


@dataclass(frozen=True)
class RankingContext:
    """What features need besides the query, built once per index version and signals."""

    titles: TokenRows
    brands: TokenRows
    categories: TokenRows
    l2: list[str]
    product_signals: np.ndarray
    exposed: npt.NDArray[np.bool_]
    in_stock: np.ndarray
    sponsored: np.ndarray
    query_clicks: dict[tuple[str, int], tuple[float, float]]
    affinity: dict[str, dict[str, float]]
    intent: QueryIntent
    analyse: Analyse

    @classmethod
    def build(cls, products: ProductTable, signals: SearchSignals, analyse: Analyse) -> RankingContext:
        frame = products.frame
        if len(signals.product) != len(frame):
            raise ValueError("signals are not aligned to this product table (recompute them)")

        def token_sets(column: str) -> list[frozenset[str]]:
            cache: dict[str, frozenset[str]] = {}
            return [cache.setdefault(v, frozenset(analyse(v))) for v in frame[column].tolist()]

        return cls(
            titles=TokenRows(token_sets("title")),
            brands=TokenRows(token_sets("brand")),
            categories=TokenRows(token_sets("category_l3")),
            l2=frame["category_l2"].astype(str).tolist(),
            product_signals=signals.product[list(PRODUCT_COLUMNS)].to_numpy(dtype=np.float64),
            exposed=has_exposure(signals.product),
            in_stock=(frame["stock"].to_numpy() > 0).astype(np.float64),
            sponsored=frame["is_sponsored"].to_numpy(dtype=bool).astype(np.float64),
            query_clicks=signals.query_lookup(),
            affinity=signals.affinity_lookup(),
            intent=QueryIntent.build(frame, signals.query_clicks, analyse),
            analyse=analyse,
        )


def merge_hits(lexical: Hits, semantic: Hits) -> tuple[Int64Array, np.ndarray]:
    """Union of both retrievers' rows, de-duplicated (lexical order first, then new semantic
    rows), with a ``(n, 4)`` matrix: bm25, bm25_rank, semantic, semantic_rank (NaN = absent)."""
    rows = np.concatenate([lexical.rows, semantic.rows[~np.isin(semantic.rows, lexical.rows)]])
    scores = np.full((rows.size, 4), np.nan)
    for offset, hits in ((0, lexical), (2, semantic)):
        position = positions_in(rows, hits.rows)
        found = position >= 0
        scores[found, offset] = hits.scores[position[found]]
        scores[found, offset + 1] = np.log2(2.0 + position[found])
    return rows, scores


def exact_titles(context: RankingContext, query: ParsedQuery, rows: Int64Array) -> npt.NDArray[np.bool_]:
    """Which candidates ``rows`` have an analysed title with exactly the analysed query's tokens."""
    q_tokens = frozenset(context.analyse(query.corrected))
    common = context.titles.count(rows, q_tokens)
    return np.asarray((common == len(q_tokens)) & (context.titles.sizes[rows] == len(q_tokens)), dtype=bool)


def title_coverage(context: RankingContext, query: ParsedQuery, rows: Int64Array) -> npt.NDArray[np.float64]:
    """Share of the analysed query's distinct tokens each candidate's analysed title holds."""
    q_tokens = frozenset(context.analyse(query.corrected))
    if not q_tokens:
        return np.zeros(rows.size)
    return np.asarray(context.titles.count(rows, q_tokens), dtype=np.float64) / len(q_tokens)


def candidate_features(
    context: RankingContext,
    query: ParsedQuery,
    rows: Int64Array,
    retrieval: np.ndarray,
    *,
    user_id: str | None = None,
) -> pd.DataFrame:
    """Feature rows (columns :data:`FEATURES`, float32) for candidates ``rows`` of one query;
    ``retrieval`` is the ``(n, 4)`` matrix of :func:`merge_hits`."""
    n = rows.size
    out = np.full((n, len(FEATURES)), np.nan, dtype=np.float64)
    out[:, 0:4] = retrieval
    out[:, 4] = np.isfinite(retrieval[:, 0]) & np.isfinite(retrieval[:, 2])
    q_tokens = frozenset(context.analyse(query.corrected))
    syn_tokens = frozenset(t for phrase in query.synonyms for t in context.analyse(phrase))
    common = context.titles.count(rows, q_tokens)
    title_size = context.titles.sizes[rows]
    brand_size = context.brands.sizes[rows]
    out[:, 5] = (common == len(q_tokens)) & (title_size == len(q_tokens))  # same token set
    out[:, 6] = common / max(len(q_tokens), 1)
    out[:, 7] = common / np.maximum(title_size, 1)
    out[:, 8] = (brand_size > 0) & (context.brands.count(rows, q_tokens) == brand_size)
    out[:, 9] = context.categories.count(rows, q_tokens | syn_tokens) > 0
    out[:, 10] = (context.titles.count(rows, syn_tokens) + context.categories.count(rows, syn_tokens)) > 0
    out[:, 11] = len(q_tokens)
    n_signals = len(PRODUCT_COLUMNS)
    out[:, 12 : 12 + n_signals] = context.product_signals[rows]
    base = 12 + n_signals
    out[:, base] = context.in_stock[rows]
    out[:, base + 1] = context.sponsored[rows]
    history = np.array([context.query_clicks.get((query.normalised, r), (0.0, 0.0)) for r in rows.tolist()])
    history = history.reshape(n, 2)
    out[:, base + 2] = np.log1p(history[:, 0])
    out[:, base + 3] = np.log1p(history[:, 1])
    out[:, base + 4] = (history[:, 0] + 1.0) / (history[:, 1] + 10.0)
    out[~context.exposed[rows], base + 2 : base + 4] = np.nan
    shares = context.affinity.get(user_id or "")
    if shares is not None:
        out[:, base + 5] = [shares.get(context.l2[r], 0.0) for r in rows.tolist()]
    out[:, base + 6 :] = context.intent.features(query, rows)
    return pd.DataFrame(out.astype(np.float32), columns=list(FEATURES))
