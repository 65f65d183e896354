"""The evaluation join on Spark: predicted lists × held-out positives → per-user metrics → means.

Same definitions as :mod:`vitrina.core.metrics` (``ranking_report(judge(ranked, truth))``):

* an item counts at its best rank only (repeats lower in a list earn nothing), padding never;
* DCG@k = Σ (2**gain − 1) / log2(rank + 1) over the top k; IDCG@k from the truth's own items
  sorted by gain, retrieved or not; NDCG@k = DCG / IDCG;
* a hit is a listed item with gain > 0; HitRate@k, Recall@k (hits / relevant items),
  Precision@k (hits / k), AP@k = Σ P@rank over hits in the top k / min(k, relevant items),
  MRR = 1 / rank of the first hit (whole list unless ``mrr@k``);
* means over the users with at least one relevant item (NaN when there is none).

Spark sums in its own order, so the means agree with numpy's to float rounding (~1e-15
relative), not bit for bit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vitrina.core.metrics import PAD, Truth
from vitrina.core.ranking.interactions import IntArray

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_NAME = re.compile(r"^(?P<metric>ndcg|map|mrr|hitrate|precision|recall)(?:@(?P<k>\d+))?$")
_VIEWS = ("vitrina_eval_lists", "vitrina_eval_truth")


def _parsed(names: Sequence[str]) -> list[tuple[str, str, int | None]]:
    """(name, metric, cut-off) per name; unknown names fail before any Spark work."""
    parsed = []
    for name in names:
        match = _NAME.match(name.strip().lower())
        k = None if match is None or match["k"] is None else int(match["k"])
        if match is None or (k is None and match["metric"] != "mrr") or (k is not None and k <= 0):
            raise ValueError(f"unknown metric {name!r}; expected e.g. 'ndcg@10', 'mrr', 'recall@100'")
        parsed.append((name, match["metric"], k))
    return parsed


def _long_lists(ranked: IntArray) -> pd.DataFrame:
    """One (query, 0-based rank, item) row per listed cell."""
    matrix = np.asarray(ranked, dtype=np.int64)
    query, pos = np.nonzero(matrix != PAD)
    return pd.DataFrame(
        {"q": query.astype(np.int64), "pos": pos.astype(np.int64), "item": matrix[query, pos]}
    )


def _long_truth(truth: Truth) -> pd.DataFrame:
    """One (query, item, gain) row per judgement."""
    query = np.repeat(np.arange(truth.n_queries, dtype=np.int64), np.diff(truth.indptr))
    return pd.DataFrame({"q": query, "item": truth.items.astype(np.int64), "gain": truth.gains})


def _per_user_sql(parsed: list[tuple[str, str, int | None]], width: int) -> str:
    """One row per user with a relevant item; one column per metric."""
    cutoffs = sorted({width if k is None else k for _, _, k in parsed})
    gain = "(pow(2D, gain) - 1D)"
    idcg = ", ".join(
        f"sum(IF(irank < {k}, {gain} * (1D / log2(irank + 2D)), 0D)) AS idcg_{k}" for k in cutoffs
    )
    per_hit = ", ".join(
        f"sum(IF(pos < {k}, {gain} * (1D / log2(pos + 2D)), 0D)) AS dcg_{k}, "
        f"sum(IF(pos < {k}, 1D, 0D)) AS hits_{k}, "
        f"sum(IF(pos < {k}, hit_no / (pos + 1D), 0D)) AS ap_{k}"
        for k in cutoffs
    )
    metric = {
        "ndcg": "IF(i.idcg_{k} > 0, coalesce(h.dcg_{k}, 0D) / i.idcg_{k}, 0D)",
        "hitrate": "IF(coalesce(h.hits_{k}, 0D) > 0, 1D, 0D)",
        "recall": "coalesce(h.hits_{k}, 0D) / i.n_rel",
        "precision": "coalesce(h.hits_{k}, 0D) / {k}D",
        "map": "coalesce(h.ap_{k}, 0D) / least({k}D, i.n_rel)",
        "mrr": "IF(h.first_pos IS NOT NULL AND h.first_pos < {k}, 1D / (h.first_pos + 1D), 0D)",
    }
    columns = ", ".join(
        f"{metric[m].format(k=width if k is None else k)} AS m{j}" for j, (_, m, k) in enumerate(parsed)
    )
    lists, truth = _VIEWS
    return f"""
        WITH first AS (SELECT q, item, min(pos) AS pos FROM {lists} GROUP BY q, item),
        judged AS (
            SELECT f.q, f.pos, t.gain FROM first f JOIN {truth} t ON f.q = t.q AND f.item = t.item
            WHERE t.gain > 0
        ),
        hits AS (SELECT q, pos, gain, row_number() OVER (PARTITION BY q ORDER BY pos) AS hit_no FROM judged),
        ideal AS (
            SELECT q, gain, row_number() OVER (PARTITION BY q ORDER BY gain DESC) - 1 AS irank
            FROM {truth}
        ),
        idcg AS (SELECT q, sum(IF(gain > 0, 1D, 0D)) AS n_rel, {idcg} FROM ideal GROUP BY q),
        per_hit AS (SELECT q, min(pos) AS first_pos, {per_hit} FROM hits GROUP BY q)
        SELECT i.q, {columns} FROM idcg i LEFT JOIN per_hit h ON i.q = h.q WHERE i.n_rel > 0
    """


def accuracy_spark(
    spark: SparkSession, ranked: IntArray, truth: Truth, names: Sequence[str]
) -> dict[str, float]:
    """Mean of each metric in ``names`` over the users of ``truth`` (rows of ``ranked``)."""
    parsed = _parsed(names)
    matrix = np.asarray(ranked, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[0] != truth.n_queries:
        raise ValueError(f"ranked has shape {matrix.shape} but the truth judges {truth.n_queries} queries")
    frames = {
        _VIEWS[0]: (_long_lists(matrix), "q long, pos long, item long"),
        _VIEWS[1]: (_long_truth(truth), "q long, item long, gain double"),
    }
    for view, (frame, schema) in frames.items():
        spark.createDataFrame(frame, schema=schema).createOrReplaceTempView(view)
    per_user = spark.sql(_per_user_sql(parsed, max(1, matrix.shape[1])))
    means = per_user.selectExpr(*(f"avg(m{j}) AS m{j}" for j in range(len(parsed)))).collect()[0]
    return {
        name: float("nan") if means[j] is None else float(means[j]) for j, (name, _, _) in enumerate(parsed)
    }
