"""Ranking metrics for recommendations and search, pure numpy and vectorised over queries.

Typical use::

    from vitrina.core.metrics import Truth, judge, ndcg, mean_over_queries, ranking_report

    truth = Truth.from_pairs(query_index, item_ids, gains, n_queries=len(users))
    judged = judge(ranked, truth)              # ranked: int64 (n_queries, k_max), -1 padded
    per_query = ndcg(judged, 10)               # float64 (n_queries,), NaN if no relevant item
    mean_over_queries(per_query)               # NDCG@10 over queries with relevant items
    ranking_report(judged, ["ndcg@10", "mrr", "recall@100"])

Conventions (padding, repeated items, queries without relevant items, ``k``) are documented
in :mod:`vitrina.core.metrics.relevance` and :mod:`vitrina.core.metrics.ranking`.
"""

from vitrina.core.metrics.beyond_accuracy import (
    catalog_coverage,
    category_diversity,
    embedding_diversity,
    novelty,
    self_information,
)
from vitrina.core.metrics.ranking import (
    average_precision,
    dcg,
    hit_rate,
    mean_over_queries,
    ndcg,
    precision,
    ranking_report,
    recall,
    reciprocal_rank,
)
from vitrina.core.metrics.relevance import PAD, Judged, Truth, judge, to_ranked

__all__ = [
    "PAD",
    "Judged",
    "Truth",
    "average_precision",
    "catalog_coverage",
    "category_diversity",
    "dcg",
    "embedding_diversity",
    "hit_rate",
    "judge",
    "mean_over_queries",
    "ndcg",
    "novelty",
    "precision",
    "ranking_report",
    "recall",
    "reciprocal_rank",
    "self_information",
    "to_ranked",
]
