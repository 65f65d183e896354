"""Accuracy metrics of ranked lists against graded truth: NDCG, MAP, MRR, HitRate, P, R.

Every function takes a :class:`~vitrina.core.metrics.relevance.Judged` (see :func:`judge`) and a
cut-off ``k`` and returns ``float64 (n_queries,)``, one value per query, so that callers can
slice by segment, bootstrap confidence intervals or run paired tests; :func:`mean_over_queries`
and :func:`ranking_report` reduce them.

Shared rules:

* Positions are 1-based: rank ``i`` is column ``i - 1`` of the ranked matrix.
* ``k`` must be a positive integer (``ValueError`` otherwise). ``k`` larger than the lists is
  allowed: missing ranks count as non-relevant, exactly like padding, so a short list is not
  rewarded for being short (precision still divides by ``k``; AP and IDCG still use ``k``).
* Binary relevance (everything except NDCG) is ``gain > 0``.
* A query with **no relevant item** in its truth has no defined value for any metric here:
  its entry is ``NaN`` and :func:`mean_over_queries` leaves it out by default (the usual
  offline-evaluation protocol: only users/queries with held-out positives are scored).
  Pass ``no_relevant="zero"`` to count such queries as 0 instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from vitrina.core.metrics.relevance import FloatArray, Judged, check_k, transform_gains

Transform = Literal["exponential", "linear"]


def _top(judged: Judged, k: int) -> FloatArray:
    """Gains of the first ``min(k, k_max)`` ranks."""
    return judged.gains[:, : check_k(k)]


def _discounts(width: int) -> FloatArray:
    """``1 / log2(i + 1)`` for ranks ``i = 1..width``."""
    return 1.0 / np.log2(np.arange(2, width + 2, dtype=np.float64))


def _undefined_where_no_relevant(values: FloatArray, judged: Judged) -> FloatArray:
    values[judged.n_relevant == 0] = np.nan
    return values


def dcg(judged: Judged, k: int, transform: Transform = "exponential") -> FloatArray:
    """Discounted cumulative gain at ``k``, per query (defined for every query, 0 if none).

    ``DCG@k = Σ_{i=1..k} t(rel_i) / log2(i + 1)`` with ``t(g) = 2**g - 1`` (``exponential``,
    Burges et al. 2005, which rewards high grades more than proportionally) or ``t(g) = g``
    (``linear``, what ``sklearn.metrics.ndcg_score`` uses). Both coincide for binary gains.
    """
    top = _top(judged, k)
    return (transform_gains(top, transform) @ _discounts(top.shape[1])).astype(np.float64)


def ndcg(judged: Judged, k: int, transform: Transform = "exponential") -> FloatArray:
    """Normalised DCG at ``k`` with graded gains, per query, in ``[0, 1]``.

    ``NDCG@k = DCG@k / IDCG@k``, ``DCG@k = Σ_{i=1..k} (2**rel_i - 1) / log2(i + 1)`` (see
    :func:`dcg` for ``transform``). ``IDCG@k`` is the DCG@k of the ideal ordering of **all**
    judged items of the query, retrieved or not, so missing a relevant item is penalised
    (normalising by the retrieved items only would reward a ranker for not finding them).
    ``NaN`` for queries without relevant items (IDCG = 0).
    """
    ideal = judged.truth.ideal_dcg(k, transform)
    values = np.zeros(judged.n_queries, dtype=np.float64)
    np.divide(dcg(judged, k, transform), ideal, out=values, where=ideal > 0)
    return _undefined_where_no_relevant(values, judged)


def average_precision(judged: Judged, k: int) -> FloatArray:
    """Average precision at ``k`` per query; its mean over queries is MAP@k.

    ``AP@k = Σ_{i=1..k} P@i · rel_i / min(k, n_relevant)`` with ``rel_i ∈ {0, 1}``. Dividing by
    ``min(k, n_relevant)`` (not by the hits found) makes 1.0 reachable exactly when the first
    ``min(k, n_relevant)`` ranks are all relevant. ``NaN`` without relevant items.
    """
    k = check_k(k)
    hits = (_top(judged, k) > 0).astype(np.float64)
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    denominator = np.minimum(k, judged.n_relevant).astype(np.float64)
    values = np.zeros(judged.n_queries, dtype=np.float64)
    np.divide((precision_at_i * hits).sum(axis=1), denominator, out=values, where=denominator > 0)
    return _undefined_where_no_relevant(values, judged)


def reciprocal_rank(judged: Judged, k: int | None = None) -> FloatArray:
    """``1 / rank`` of the first relevant item within the top ``k`` (whole list if ``None``).

    0 when no relevant item is ranked within the cut-off; its mean over queries is MRR(@k).
    ``NaN`` without relevant items.
    """
    hits = (judged.gains if k is None else _top(judged, k)) > 0
    found = hits.any(axis=1)
    values = np.zeros(judged.n_queries, dtype=np.float64)
    if found.any():
        values[found] = 1.0 / (np.argmax(hits[found], axis=1) + 1.0)
    return _undefined_where_no_relevant(values, judged)


def hit_rate(judged: Judged, k: int) -> FloatArray:
    """1.0 if at least one relevant item is in the top ``k``, else 0.0. ``NaN`` without relevant items."""
    values: FloatArray = np.asarray((_top(judged, k) > 0).any(axis=1), dtype=np.float64)
    return _undefined_where_no_relevant(values, judged)


def precision(judged: Judged, k: int) -> FloatArray:
    """Relevant items in the top ``k`` divided by ``k`` (not by the list length).

    ``NaN`` without relevant items.
    """
    k = check_k(k)
    values = (_top(judged, k) > 0).sum(axis=1) / float(k)
    return _undefined_where_no_relevant(values.astype(np.float64), judged)


def recall(judged: Judged, k: int) -> FloatArray:
    """Relevant items in the top ``k`` divided by all relevant items of the query.

    ``NaN`` without relevant items.
    """
    found = (_top(judged, k) > 0).sum(axis=1).astype(np.float64)
    values = np.zeros(judged.n_queries, dtype=np.float64)
    np.divide(found, judged.n_relevant, out=values, where=judged.n_relevant > 0)
    return _undefined_where_no_relevant(values, judged)


def mean_over_queries(values: ArrayLike, *, no_relevant: Literal["exclude", "zero"] = "exclude") -> float:
    """Mean of per-query metric values.

    ``NaN`` entries mark queries without relevant items: ``"exclude"`` (default) leaves them
    out, ``"zero"`` counts them as 0. Returns ``NaN`` when nothing is left to average (no
    queries, or none with relevant items) — a gate comparing it to a floor then fails, as it
    should, instead of passing on an empty evaluation.
    """
    array = np.asarray(values, dtype=np.float64)
    if no_relevant == "zero":
        array = np.nan_to_num(array, nan=0.0)
    elif no_relevant == "exclude":
        array = array[~np.isnan(array)]
    else:
        raise ValueError(f"no_relevant must be 'exclude' or 'zero', got {no_relevant!r}")
    return float(array.mean()) if array.size else float("nan")


_PerQuery = Callable[[Judged, int], FloatArray]
_METRICS: dict[str, _PerQuery] = {
    "ndcg": ndcg,
    "map": average_precision,
    "mrr": reciprocal_rank,
    "hitrate": hit_rate,
    "precision": precision,
    "recall": recall,
}
_NAME = re.compile(r"^(?P<metric>[a-z]+)(?:@(?P<k>\d+))?$")


def ranking_report(
    judged: Judged,
    metrics: Sequence[str] = ("ndcg@10", "ndcg@20", "hitrate@10", "map@10", "mrr", "recall@100"),
    *,
    no_relevant: Literal["exclude", "zero"] = "exclude",
) -> dict[str, float]:
    """Mean of several metrics by name, e.g. ``{"ndcg@10": 0.41, "mrr": 0.37}``.

    Names are ``<metric>@<k>`` with metric in ``ndcg, map, hitrate, precision, recall, mrr``;
    ``mrr`` may omit ``@k`` (whole list). Unknown names raise ``ValueError`` before any work.
    The default set is the one the recommendation evaluation reports (docs/spec.md §3.8).
    """
    parsed: list[tuple[str, _PerQuery, int | None]] = []
    for name in metrics:
        match = _NAME.match(name.strip().lower())
        if match is None or match["metric"] not in _METRICS:
            raise ValueError(f"unknown metric {name!r}; expected e.g. 'ndcg@10', 'mrr', 'recall@100'")
        k = None if match["k"] is None else check_k(int(match["k"]))
        if k is None and match["metric"] != "mrr":
            raise ValueError(f"metric {name!r} needs a cut-off, e.g. '{match['metric']}@10'")
        parsed.append((name, _METRICS[match["metric"]], k))
    report: dict[str, float] = {}
    for name, function, k in parsed:
        values = reciprocal_rank(judged, None) if k is None else function(judged, k)
        report[name] = mean_over_queries(values, no_relevant=no_relevant)
    return report
